import Foundation

/// Standard base64 (RFC 4648 section 4, with padding), read strictly: the
/// one text that encodes the bytes, as C2SP signed notes and checkpoints
/// write it. Foundation's decoder also takes a last character whose unused
/// (padding) bits are not zero — "AB==" and "AA==" both decode to 0x00 — so
/// one note or hash would have several byte forms; `decode` refuses every
/// text that is not what `encode` writes for the bytes it spells.
public enum Base64 {
    /// `bytes` in standard base64 with padding.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        Data(bytes).base64EncodedString()
    }

    /// The bytes `text` spells when it is their canonical base64 (standard
    /// alphabet, padding present, unused bits zero, nothing else); nil otherwise.
    public static func decode<Text: StringProtocol>(_ text: Text) -> [UInt8]? {
        let s = String(text)
        guard let data = Data(base64Encoded: s) else { return nil }
        let bytes = Array(data)
        guard encode(bytes) == s else { return nil }
        return bytes
    }
}
