import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Issues signed checkpoints of a store (README "Checkpoints"): signs the
/// tree head with the current epoch's key, stores the note as one block of
/// /.audit/checkpoints, and hands it to the witnesses. Starts a new key
/// epoch when the current one is older than `epochLength`.
public final class Checkpointer: @unchecked Sendable {
    public struct Options: Sendable {
        /// Nanoseconds a key epoch lasts (default 15 minutes).
        public var epochLength: Int64 = 15 * 60 * 1_000_000_000
        /// A directory (another filesystem, an NFS share) where every
        /// checkpoint is also appended, to `<origin with / as _>.checkpoints`.
        public var witnessDirectory: String?
        /// A shell command that gets every checkpoint on standard input.
        public var witnessCommand: String?
        public var witnessTimeout: TimeInterval = 10
        public var clock: @Sendable () -> Int64 = { FileSystem.nowNanoseconds() }
        public init() {}
    }

    public let store: Store
    public let keys: SigningKeys
    public let options: Options
    public let origin: String
    private let writer: Provenance
    private let lock = NSLock()
    /// Where witness problems go (the daemon's log); never fatal.
    public var onWitnessFailure: @Sendable (String) -> Void = { _ in }

    public init(store: Store, keysDirectory: String, options: Options = Options(), writer: Provenance = .current()) throws {
        self.store = store
        self.options = options
        self.writer = writer
        self.origin = Checkpoint.origin(of: store.identity)
        self.keys = try SigningKeys.open(directory: keysDirectory, origin: origin) { epoch in
            store.lookup(AuditPaths.certificate(epoch: epoch)) != nil
        }
    }

    /// The default key directory of a store.
    public static func keysDirectory(of store: String) -> String { store + "/keys" }
    /// Where `auditfs init` writes the verifier key for copying off the host.
    public static func verifierKeyFile(of store: String) -> String { store + "/verifier-key" }

    /// Signs the current tree head, stores and witnesses it; returns the note.
    @discardableResult
    public func issue() throws -> String {
        lock.lock(); defer { lock.unlock() }
        let now = options.clock()
        if now - keys.notBefore >= options.epochLength {
            try keys.advance(now: now) { certificate in
                try store.appendNote(to: AuditPaths.certificate(epoch: keys.epoch + 1), by: writer, certificate)
                try store.sync()
            }
        }
        var note = ""
        try store.appendNote(to: AuditPaths.checkpoints, by: writer) { size, root in
            note = try keys.signer.sign(Checkpoint(origin: origin, size: size, root: root, time: now).text)
            return Array(note.utf8)
        }
        try store.sync()
        witness(note)
        return note
    }

    /// The most recent stored checkpoint, if any.
    public func latest() -> String? {
        (try? store.blocks(of: AuditPaths.checkpoints))?.last.map { String(decoding: $0, as: UTF8.self) }
    }

    private func witness(_ note: String) {
        if let dir = options.witnessDirectory {
            do {
                let path = dir + "/" + origin.replacingOccurrences(of: "/", with: "_") + ".checkpoints"
                let f = try RawFile.open(path, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
                try f.write(Array((note + "\n").utf8), at: try f.size())
                try f.sync()
            } catch {
                onWitnessFailure("witness directory \(dir): \(error)")
            }
        }
        if let command = options.witnessCommand {
            switch ChildCommand.run(["/bin/sh", "-c", command], input: Array(note.utf8),
                                    timeoutNs: Int64(options.witnessTimeout * 1e9)) {
            case .succeeded: break
            case .timedOut: onWitnessFailure("witness command timed out after \(Int(options.witnessTimeout)) s: \(command)")
            case let .exited(code): onWitnessFailure("witness command exited \(code): \(command)")
            case let .notStarted(why): onWitnessFailure("witness command could not start (\(why)): \(command)")
            }
        }
    }

    /// Splits a file of checkpoints (one or more signed notes, each followed
    /// by a blank line, as the witness directory holds them) into notes.
    public static func splitNotes(_ text: String) -> [String] {
        let parts = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        var notes: [String] = []
        var i = 0
        while i + 1 < parts.count {
            notes.append(parts[i] + "\n\n" + parts[i + 1] + (parts[i + 1].hasSuffix("\n") ? "" : "\n"))
            i += 2
        }
        return notes
    }
}
