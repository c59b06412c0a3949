/// Lowercase hexadecimal, as every hash, MAC, key id and byte escape in
/// auditfs is written: two digits a byte, most significant nibble first.
/// Reading accepts either case.
public enum Hex {
    /// The digits, by value.
    public static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `bytes` as 2 × count lowercase digits.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes that `text` spells (an even number of hex digits, either
    /// case), or nil when it is anything else.
    public static func decode<Text: StringProtocol>(_ text: Text) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// The value of one hex digit, or nil.
    public static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A 32-bit value as exactly 8 digits: a signed-note key id ("0a1b2c3d").
    public static func uint32(_ v: UInt32) -> String { String(v, radix: 16).leftPadded(8) }

    /// A byte escaped as `\xHH`, the form of a byte that may not be printed as itself.
    public static func escaped(_ b: UInt8) -> String { "\\x" + encode(CollectionOfOne(b)) }
}
