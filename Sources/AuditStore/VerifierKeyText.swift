import AuditPlumbing
import Foundation

/// A note verifier key as text (C2SP signed-note "Verifier keys"):
///
///   name "+" hex(key id, 8 lowercase digits) "+" base64(type || public key)
///
/// with key id = the first 4 bytes of SHA-256(name || 0x0A || type || public
/// key) (`SignedNote.keyID`). The checkpoint's signer writes it with type
/// 0x01 (`SignedNote.Verifier`, an Ed25519 note key), a witness with type
/// 0x04 (`Cosignature.WitnessKey`, a tlog-cosignature key); this is the one
/// place its text is written and split.
public enum VerifierKeyText {
    /// The text of the key `name` of `type` with the 32-byte `publicKey`.
    public static func format(name: String, type: UInt8, publicKey: [UInt8]) -> String {
        name + "+" + Hex.uint32(SignedNote.keyID(name: name, type: type, publicKey: publicKey)) + "+"
            + Base64.encode([type] + publicKey)
    }

    /// The parts of `text` (surrounding white space ignored) when it has the
    /// shape of a key of `type`: three parts, an 8-digit hex key id, and
    /// base64 of `type` followed by 32 key bytes; nil otherwise. The key id is
    /// returned as written: the caller checks that it matches the key.
    public static func parse(_ text: String, type: UInt8) -> (name: String, keyID: UInt32, publicKey: [UInt8])? {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 8, let id = UInt32(parts[1], radix: 16),
              let raw = Base64.decode(parts[2]), raw.count == 33, raw.first == type else { return nil }
        return (String(parts[0]), id, Array(raw.dropFirst()))
    }
}
