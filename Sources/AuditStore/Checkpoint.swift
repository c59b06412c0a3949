import AuditPlumbing
import Foundation

/// A C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) of the store's
/// Merkle tree: the body a signed note signs.
///
///   <origin>\n <tree size>\n <base64 root>\n [extension line\n]*
///
/// auditfs writes one extension line, `time <ns since the epoch>`, which
/// binds the checkpoint to its key's window (FORMAT.md "Signed notes in /.audit"). The
/// parser takes any number of non-empty extension lines, as the spec allows,
/// and at most one `time` line; a checkpoint without one parses, with
/// `time` nil (the `checkpoint-time` rule then fails it: `EpochBinding`).
public struct Checkpoint: Equatable, Sendable {
    public var origin: String
    public var size: UInt64
    public var root: Hash
    /// When it was issued (the `time` extension line), if it says.
    public var time: Int64?

    public init(origin: String, size: UInt64, root: Hash, time: Int64?) {
        self.origin = origin; self.size = size; self.root = root; self.time = time
    }

    /// The origin of the checkpoints of a store made before origins had a
    /// prefix: "auditfs/<store id>".
    public static func origin(of identity: StoreIdentity) -> String { "auditfs/" + identity.idHex }

    /// The origin `auditfs init` gives a new store: "<name>/auditfs/<store
    /// id>", a scheme-less URL-like name as C2SP tlog-checkpoint recommends
    /// (`name`: the host name, or one given), or nil when `name` cannot
    /// begin an origin (`names`).
    public static func origin(of identity: StoreIdentity, name: String) -> String? {
        let origin = name + "/" + Self.origin(of: identity)
        return names(origin, store: identity) ? origin : nil
    }

    /// Whether `origin` may name the store `identity`'s checkpoints:
    /// "auditfs/<id>" (stores made before prefixes; baked into their key
    /// certificates, so they keep it) or "<prefix>/auditfs/<id>", the prefix
    /// non-empty, without a scheme ("://"), white space, "+" or control
    /// characters, and no longer than 200 bytes.
    public static func names(_ origin: String, store identity: StoreIdentity) -> Bool {
        let legacy = Self.origin(of: identity)
        if origin == legacy { return true }
        guard origin.hasSuffix("/" + legacy) else { return false }
        let prefix = origin.dropLast(legacy.utf8.count + 1)
        return !prefix.isEmpty && prefix.utf8.count <= 200 && !prefix.contains("://") && !prefix.hasPrefix("/")
            && !prefix.unicodeScalars.contains { $0.properties.isWhitespace || $0 == "+" || $0.value < 0x20 || $0.value == 0x7f }
    }

    public var text: String {
        "\(origin)\n\(size)\n\(Base64.encode(root.bytes))\n" + (time.map { "time \($0)\n" } ?? "")
    }

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public static func parse(_ text: String) throws(Invalid) -> Checkpoint {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, lines.last == "", !lines[0].isEmpty,
              let size = UInt64(lines[1]), String(size) == lines[1],
              let raw = Base64.decode(lines[2]), raw.count == 32 else {
            throw Invalid(reason: "not a checkpoint (origin, size, base64 root)")
        }
        var time: Int64?
        for ext in lines[3..<(lines.count - 1)] {
            guard !ext.isEmpty else { throw Invalid(reason: "a checkpoint's extension line is not empty") }
            guard ext.hasPrefix("time ") else { continue }
            guard time == nil else { throw Invalid(reason: "a checkpoint has at most one time line") }
            guard let t = Int64(ext.dropFirst(5)), String(t) == ext.dropFirst(5) else {
                throw Invalid(reason: "a checkpoint's time line is 'time' and a decimal number of nanoseconds")
            }
            time = t
        }
        return Checkpoint(origin: String(lines[0]), size: size, root: raw.withUnsafeBytes { Hash(bytes: $0) }, time: time)
    }
}

/// C2SP tlog-cosignature/v1: a witness's signature over a checkpoint.
///
///   signature line: "— <name> base64(key id || timestamp u64 BE || Ed25519 signature)"
///   signed message: "cosignature/v1\ntime <timestamp>\n" || checkpoint body
///   key id = first 4 bytes of SHA-256(name || 0x0A || 0x04 || public key)
public enum Cosignature {
    public static let type: UInt8 = 0x04

    /// A witness key written "name+hex(key id)+base64(0x04 || public key)".
    public struct WitnessKey: Sendable, Equatable {
        public let name: String
        public let publicKey: [UInt8]
        public var keyID: UInt32 { SignedNote.keyID(name: name, type: Cosignature.type, publicKey: publicKey) }

        public init(name: String, publicKey: [UInt8]) { self.name = name; self.publicKey = publicKey }

        public init(parsing text: String) throws(SignedNote.Invalid) {
            guard let key = VerifierKeyText.parse(text, type: Cosignature.type) else {
                throw SignedNote.Invalid(reason: "not a witness key (expected name+keyid+base64 of 0x04 || Ed25519 key)")
            }
            self.init(name: key.name, publicKey: key.publicKey)
            guard keyID == key.keyID else { throw SignedNote.Invalid(reason: "witness key id does not match its key") }
        }

        public var description: String { VerifierKeyText.format(name: name, type: Cosignature.type, publicKey: publicKey) }
    }

    public static func message(checkpointText: String, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n".utf8) + Array(checkpointText.utf8)
    }

    /// The time the witness cosigned `note`, if its cosignature verifies.
    public static func verify(_ note: String, witness: WitnessKey) throws(SignedNote.Invalid) -> UInt64 {
        let (text, sigs) = try SignedNote.parse(note)
        guard let sig = sigs.first(where: { $0.name == witness.name && $0.keyID == witness.keyID }), sig.bytes.count == 72 else {
            throw SignedNote.Invalid(reason: "no cosignature by witness \(witness.name)")
        }
        let ts = sig.bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let verifier = try SignedNote.Verifier(name: witness.name, publicKey: witness.publicKey)
        guard verifier.verifies(Array(sig.bytes[8...]), of: message(checkpointText: text, timestamp: ts)) else {
            throw SignedNote.Invalid(reason: "the cosignature of witness \(witness.name) does not verify")
        }
        return ts
    }
}
