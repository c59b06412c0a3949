import AuditPlumbing
import Foundation
import Glibc

/// Issues signed checkpoints of a store (README "Checkpoints"): signs the
/// tree head with the current epoch's key and stores the note as one block
/// of /.audit/checkpoints, synced, before `issue` returns. Starts a new key
/// epoch when the current one is older than `epochLength`.
///
/// Handing the note to witnesses is the caller's (AuditWitness: the mount
/// queues it, `auditfs checkpoint` delivers it at once), so nothing slow
/// runs under `lock`.
///
/// Lock order: `lock` is taken with the CheckpointSchedule's lock held (or
/// alone, by the CLI), and takes the Store's lock inside it (appendNote,
/// sync); it never calls out while held.
public final class Checkpointer: @unchecked Sendable {
    public struct Options: Sendable {
        /// Nanoseconds a key epoch lasts (default 15 minutes). The key's
        /// signed window is this long, and at least `minimumWindow` (0 starts
        /// a new epoch at every checkpoint).
        public var epochLength: Int64 = 15 * 60 * 1_000_000_000
        public var clock: @Sendable () -> Int64 = Clock.realtime.read
        public init() {}
    }

    public let store: Store
    public let keys: SigningKeys
    public let options: Options
    public let origin: String
    /// The long-lived key that signs every checkpoint besides the epoch key,
    /// for witnesses to pin (`LogKey`).
    public let logKey: LogKey
    private let writer: Provenance
    private let lock = NSLock()

    public init(store: Store, keysDirectory: String, options: Options = Options(), writer: Provenance = .current()) throws {
        self.store = store
        self.options = options
        self.writer = writer
        let origin = Self.origin(of: store)
        self.origin = origin
        self.keys = try SigningKeys.open(directory: keysDirectory, origin: origin) { epoch in
            store.lookup(AuditPaths.certificate(epoch: epoch)) != nil
        }
        self.logKey = try LogKey.openOrCreate(keysDirectory: keysDirectory, origin: origin, publish: LogKey.publicFile(of: store.path))
    }

    /// The origin of `store`'s checkpoints: the one its epoch 1 certificate
    /// names when that is a name of this store (`Checkpoint.names`), else
    /// the one of stores made before origins had a prefix, "auditfs/<id>".
    public static func origin(of store: Store) -> String {
        let legacy = Checkpoint.origin(of: store.identity)
        guard let bytes = try? store.blocks(of: AuditPaths.certificate(epoch: 1)).first,
              let text = try? SignedNote.parse(String(decoding: bytes, as: UTF8.self)).text,
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("origin ") }) else { return legacy }
        let origin = String(line.dropFirst(7))
        return Checkpoint.names(origin, store: store.identity) ? origin : legacy
    }

    /// The shortest window a key is certified for: time to sign once.
    public static let minimumWindow: Int64 = 1_000_000_000

    /// The default key directory of a store.
    public static func keysDirectory(of store: String) -> String { store + "/keys" }
    /// Where `auditfs init` writes the verifier key for copying off the host.
    public static func verifierKeyFile(of store: String) -> String { store + "/verifier-key" }

    /// Creates the signing keys of a new store (`auditfs init`): the root key
    /// certifies epoch 1 at the store's current head and is forgotten.
    /// Returns the verifier key (the root's public key) to keep off the host.
    /// `origin`: the checkpoints' origin (nil: "auditfs/<id>"; `auditfs init`
    /// gives "<name>/auditfs/<id>"). The log key is made too, and published
    /// in STORE/log-key.
    public static func createKeys(store: Store, keysDirectory: String, epochLength: Int64 = Options().epochLength,
                                  origin: String? = nil, writer: Provenance = .current()) throws -> SignedNote.Verifier {
        let now = max(store.options.clock(), store.treeHeadTime)
        let origin = origin ?? Checkpoint.origin(of: store.identity)
        guard Checkpoint.names(origin, store: store.identity) else { throw Failure(reason: "'\(origin)' is not an origin of store \(store.identity.idHex)") }
        let (_, verifier) = try SigningKeys.create(directory: keysDirectory, origin: origin, now: now,
                                                   window: max(epochLength, minimumWindow)) { certificate in
            try store.appendNote(to: AuditPaths.certificate(epoch: 1), by: writer, certificate)
            try store.syncWithTreeCache()
        }
        _ = try LogKey.openOrCreate(keysDirectory: keysDirectory, origin: origin, publish: LogKey.publicFile(of: store.path))
        return verifier
    }

    /// Why a checkpoint could not be signed.
    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Signs the current tree head and stores it; returns the note.
    @discardableResult
    public func issue() throws -> String { try issueCheckpoint().note }

    /// Signs the current tree head and stores it (synced); returns the note
    /// and the checkpoint it signs.
    ///
    /// The checkpoint's time is the latest of the clock and every record it
    /// covers, and lies in the current key's window: a key past its
    /// not-after (or without a window: a root or v1 key) never signs one —
    /// the next epoch starts first.
    public func issueCheckpoint() throws -> (note: String, checkpoint: Checkpoint) {
        lock.lock(); defer { lock.unlock() }
        var note = ""
        var signed: Checkpoint?
        for _ in 0..<3 {
            let now = max(options.clock(), store.treeHeadTime)
            // A key file is outside input: its not-before may be anything an Int64 holds.
            let (age, overflow) = now.subtractingReportingOverflow(keys.notBefore)
            if keys.notAfter.map({ now > $0 }) ?? true || overflow || age >= options.epochLength {
                try keys.advance(now: now, window: max(options.epochLength, Self.minimumWindow)) { certificate in
                    try store.appendNote(to: AuditPaths.certificate(epoch: keys.epoch + 1), by: writer, certificate)
                    try store.syncWithTreeCache()
                }
                try store.rotateCacheKey()
            }
            var late = false
            do {
                try store.appendNote(to: AuditPaths.checkpoints, by: writer) { size, root in
                    // Under the store's lock: no record can come between this time and the head.
                    let time = max(options.clock(), store.namespace.lastTime, keys.notBefore)
                    guard keys.mayCheckpoint(at: time) else { late = true; throw Failure(reason: "the epoch ended while signing") }
                    let checkpoint = Checkpoint(origin: origin, size: size, root: root, time: time)
                    // The epoch key's signature, then the log key's (for witnesses).
                    note = try keys.signer.sign(checkpoint.text) + logKey.signer.signatureLine(for: checkpoint.text)
                    signed = checkpoint
                    return Array(note.utf8)
                }
            } catch {
                if late { continue }
                throw error
            }
            try store.syncWithTreeCache()
            return (note, signed!)
        }
        throw Failure(reason: "epoch \(keys.epoch)'s key window ended three times while signing: is the clock jumping?")
    }

    /// The most recent stored checkpoint, if any.
    public func latest() -> String? {
        (try? store.blocks(of: AuditPaths.checkpoints))?.last.map { String(decoding: $0, as: UTF8.self) }
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
