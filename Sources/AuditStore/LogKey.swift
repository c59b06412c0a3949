import AuditPlumbing
import Foundation
import Glibc

/// The store's long-lived log key (FORMAT.md "Keys"): one Ed25519 note key,
/// named like the epoch keys by the store's origin, that signs every
/// checkpoint besides the epoch key. Its verifier key is published once
/// (`STORE/log-key`, `auditfs log-key`) for witnesses to pin: the epoch keys
/// change every epoch, and a witness pins one key per log. Verifiers that
/// do not know it ignore its signature (signed-note: unknown keys are
/// ignored), so it adds an identity and takes nothing away.
///
/// What it protects, and what it does not: the log key only lets a witness
/// recognise the log. A stolen log key can sign any checkpoint, but cannot
/// make one that `verify --key` or `verify-bundle` accept — those follow the
/// epoch chain from the verifier key — and a witness that pinned it still
/// cosigns only checkpoints consistent with what it cosigned before, so a
/// forked or rolled-back history signed with a stolen log key gets no
/// cosignature from a witness that saw the true one.
///
/// File (in the key directory, 0600): `log.key` := "auditfs log key v1\n" "seed " base64(32 bytes) "\n".
public struct LogKey: Sendable {
    public let signer: SignedNote.Signer
    public var verifier: SignedNote.Verifier { signer.verifier }

    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public static func path(in keysDirectory: String) -> String { keysDirectory + "/log.key" }
    /// Where the log key's verifier key is published: STORE/log-key.
    public static func publicFile(of store: String) -> String { store + "/log-key" }

    static let header = "auditfs log key v1\n"

    /// Reads the log key from `keysDirectory`, creating it (and its public
    /// file `publish`, when given) if the directory has none: a store made
    /// before log keys gets one at its first checkpoint.
    public static func openOrCreate(keysDirectory: String, origin: String, publish: String?) throws -> LogKey {
        let file = path(in: keysDirectory)
        let key: LogKey
        if FileSystem.exists(file) {
            key = try read(file, origin: origin)
        } else {
            let (signer, seed) = try SignedNote.Signer.generate(name: origin)
            let text = header + "seed " + Base64.encode(seed) + "\n"
            let f = try RawFile.open(file, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try f.write(Array(text.utf8), at: 0)
            try f.sync()
            try AtomicFile.syncDirectory(keysDirectory)
            key = LogKey(signer: signer)
        }
        if let publish {
            let text = key.verifier.description + "\n"
            let current = FileManager.default.contents(atPath: publish).map { String(decoding: $0, as: UTF8.self) }
            if current != text { try AtomicFile.replace(publish, Array(text.utf8), mode: 0o644) }
        }
        return key
    }

    /// The log key in `file`, refused unless it is exactly one.
    public static func read(_ file: String, origin: String) throws -> LogKey {
        let bytes = try RawFile.open(file, flags: O_RDONLY | O_NONBLOCK).read(count: 256, at: 0)
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard text.hasPrefix(header), lines.count == 3, lines[2] == "", lines[1].hasPrefix("seed "),
              let seed = Base64.decode(lines[1].dropFirst(5)), seed.count == 32 else {
            throw Failure(reason: "\(file) is not an auditfs log key")
        }
        return LogKey(signer: try SignedNote.Signer(name: origin, seed: seed))
    }
}
