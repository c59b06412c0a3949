import AuditPlumbing
import Crypto
import Foundation

/// C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys:
///
///   text (UTF-8, ends with "\n")
///   "\n"
///   "— " name " " base64(key id (4 bytes) || signature) "\n"   (one or more)
///
/// key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key);
/// the verifier key is written "name+hex(key id)+base64(0x01 || public key)".
public enum SignedNote {
    public static let ed25519: UInt8 = 0x01
    public static let emDash = "\u{2014}"

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// A signature line's name, key id and signature bytes.
    public struct Signature: Equatable, Sendable {
        public var name: String
        public var keyID: UInt32
        public var bytes: [UInt8]
    }

    /// The public half of a signing key, as a note verifier.
    public struct Verifier: Equatable, Sendable, CustomStringConvertible {
        public let name: String
        public let publicKey: [UInt8]   // 32 bytes

        public init(name: String, publicKey: [UInt8]) throws(Invalid) {
            guard SignedNote.isValidName(name) else { throw Invalid(reason: "invalid key name '\(name)'") }
            guard publicKey.count == 32 else { throw Invalid(reason: "an Ed25519 public key is 32 bytes") }
            self.name = name; self.publicKey = publicKey
        }

        public var keyID: UInt32 { SignedNote.keyID(name: name, type: SignedNote.ed25519, publicKey: publicKey) }

        /// "name+hex(key id)+base64(0x01 || key)" (`VerifierKeyText`)
        public var description: String { VerifierKeyText.format(name: name, type: SignedNote.ed25519, publicKey: publicKey) }

        public init(parsing text: String) throws(Invalid) {
            guard let key = VerifierKeyText.parse(text, type: SignedNote.ed25519) else {
                throw Invalid(reason: "not a verifier key (expected name+keyid+base64 of an Ed25519 key)")
            }
            try self.init(name: key.name, publicKey: key.publicKey)
            guard keyID == key.keyID else { throw Invalid(reason: "verifier key id \(Hex.uint32(key.keyID)) does not match its key") }
        }

        /// Whether `signature` is this key's valid signature of `message`.
        public func verifies(_ signature: [UInt8], of message: [UInt8]) -> Bool {
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
            return key.isValidSignature(signature, for: message)
        }
    }

    /// A private signing key with its note name.
    public struct Signer: @unchecked Sendable {
        public let name: String
        let key: Curve25519.Signing.PrivateKey

        public init(name: String, seed: [UInt8]) throws {
            guard SignedNote.isValidName(name) else { throw Invalid(reason: "invalid key name '\(name)'") }
            self.name = name
            self.key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        }

        public static func generate(name: String) throws -> (Signer, seed: [UInt8]) {
            let k = Curve25519.Signing.PrivateKey()
            let seed = Array(k.rawRepresentation)
            return (try Signer(name: name, seed: seed), seed)
        }

        public var verifier: Verifier { try! Verifier(name: name, publicKey: Array(key.publicKey.rawRepresentation)) }

        public func signature(of message: [UInt8]) throws -> [UInt8] { Array(try key.signature(for: message)) }

        /// The signature line for `text`.
        public func signatureLine(for text: String) throws -> String {
            var id = verifier.keyID.bigEndian
            let idBytes = withUnsafeBytes(of: &id) { Array($0) }
            return "\(SignedNote.emDash) \(name) \(Base64.encode(idBytes + (try signature(of: Array(text.utf8)))))\n"
        }

        /// text + blank line + this key's signature line.
        public func sign(_ text: String) throws -> String {
            precondition(text.hasSuffix("\n"))
            return text + "\n" + (try signatureLine(for: text))
        }
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("+") && !name.unicodeScalars.contains { $0.properties.isWhitespace }
    }

    public static func keyID(name: String, type: UInt8, publicKey: [UInt8]) -> UInt32 {
        let h = Hash.sha256(Array(name.utf8) + [0x0A, type] + publicKey).bytes
        return UInt32(h[0]) << 24 | UInt32(h[1]) << 16 | UInt32(h[2]) << 8 | UInt32(h[3])
    }

    /// The most signatures a note may carry (the spec asks verifiers to
    /// accept at least 16).
    public static let maxSignatures = 64

    /// Splits a note into its text and its signatures. Refused: a note with
    /// an ASCII control character other than newline (signed-note "Format"),
    /// a signature whose base64 is not canonical (so one note has one byte
    /// form), two signatures of one key (name and key id), more than
    /// `maxSignatures`.
    public static func parse(_ note: String) throws(Invalid) -> (text: String, signatures: [Signature]) {
        if let bad = note.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\n" }) {
            throw Invalid(reason: "a signed note holds no control character but newline (found U+\(Hex.encode([UInt8(bad.value)]).uppercased().leftPadded(4)))")
        }
        guard let split = note.range(of: "\n\n", options: .backwards) else { throw Invalid(reason: "a signed note has a blank line before its signatures") }
        let text = String(note[..<split.lowerBound]) + "\n"
        let sigBlock = String(note[split.upperBound...])
        guard sigBlock.hasSuffix("\n"), !sigBlock.isEmpty else { throw Invalid(reason: "a signed note ends with a newline") }
        var sigs: [Signature] = []
        for line in sigBlock.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == Substring(emDash), isValidName(String(parts[1])),
                  let b = Base64.decode(parts[2]), b.count > 4 else {
                throw Invalid(reason: "malformed signature line '\(line)'")
            }
            let id = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
            let name = String(parts[1])
            guard !sigs.contains(where: { $0.name == name && $0.keyID == id }) else {
                throw Invalid(reason: "two signatures of key \(name)+\(Hex.uint32(id))")
            }
            guard sigs.count < maxSignatures else { throw Invalid(reason: "more than \(maxSignatures) signatures") }
            sigs.append(Signature(name: name, keyID: id, bytes: Array(b[4...])))
        }
        guard !sigs.isEmpty else { throw Invalid(reason: "a signed note has at least one signature") }
        return (text, sigs)
    }

    /// Parses `note` and checks that `verifier` signed it; returns the text.
    public static func open(_ note: String, by verifier: Verifier) throws(Invalid) -> String {
        let (text, sigs) = try parse(note)
        guard let sig = sigs.first(where: { $0.name == verifier.name && $0.keyID == verifier.keyID }) else {
            throw Invalid(reason: "not signed by key \(verifier.name)+\(Hex.uint32(verifier.keyID))")
        }
        guard verifier.verifies(sig.bytes, of: Array(text.utf8)) else {
            throw Invalid(reason: "the signature of key \(verifier.name)+\(Hex.uint32(verifier.keyID)) does not verify")
        }
        return text
    }
}
