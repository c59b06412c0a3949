/// Names and command names as the text output of `log`, `ls`, `query`,
/// `watch` and `verify-bundle` prints them, so that no name can forge a
/// line or drive the terminal (README "Text output"). JSON output is not
/// escaped this way: it is exact, with JSON's own escaping.
///
/// One escaping, unambiguous (every escape starts with a backslash, and a
/// backslash itself is escaped):
///
///   `\`                                   → `\\`
///   newline, tab, carriage return         → `\n`, `\t`, `\r`
///   any other C0 byte (0x00–0x1F), DEL    → `\xHH` (two lowercase hex digits: ESC is `\x1b`)
///   a byte that is not part of valid UTF-8 → `\xHH` (the byte itself)
///   C1 controls U+0080–U+009F             → `\u{HHHH}` (the code point: `\u{009b}`)
///   bidirectional controls U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069,
///   and the line and paragraph separators U+2028, U+2029 → `\u{HHHH}`
///
/// Every other character, including U+FFFD and zero-width joiners, is printed
/// as itself.
public enum TerminalText {
    /// `s` with every character above escaped.
    public static func escape(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: needsEscape) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for u in s.unicodeScalars { append(u, to: &out) }
        return out
    }

    /// Bytes that should be UTF-8, escaped the same way; an invalid sequence
    /// is escaped byte by byte.
    public static func escape<Bytes: Collection>(bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = ""
        var rest = Array(bytes)[...]
        while !rest.isEmpty {
            let n = validPrefixLength(rest)
            if n > 0 {
                let valid = String(decoding: rest.prefix(n), as: UTF8.self)
                for u in valid.unicodeScalars { append(u, to: &out) }
                rest = rest.dropFirst(n)
            } else {
                out += Hex.escaped(rest.first!)
                rest = rest.dropFirst()
            }
        }
        return out
    }

    /// Whether `u` is printed as an escape.
    public static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x00...0x1F, 0x5C, 0x7F, 0x80...0x9F: true
        case 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func append(_ u: Unicode.Scalar, to out: inout String) {
        guard needsEscape(u) else { out.unicodeScalars.append(u); return }
        switch u.value {
        case 0x5C: out += "\\\\"
        case 0x0A: out += "\\n"
        case 0x09: out += "\\t"
        case 0x0D: out += "\\r"
        case 0x00...0x1F, 0x7F: out += Hex.escaped(UInt8(u.value))
        default:
            out += "\\u{" + String(u.value, radix: 16).leftPadded(4) + "}"
        }
    }


    /// The length of the longest prefix of `b` that is valid UTF-8 and ends
    /// on a scalar boundary.
    private static func validPrefixLength(_ b: ArraySlice<UInt8>) -> Int {
        var i = b.startIndex
        while i < b.endIndex {
            let n = scalarLength(b[i...])
            if n == 0 { break }
            i += n
        }
        return i - b.startIndex
    }

    /// The length of the valid UTF-8 scalar at the start of `b`, or 0.
    private static func scalarLength(_ b: ArraySlice<UInt8>) -> Int {
        let s = b.startIndex
        let c0 = b[s]
        func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            s + k < b.endIndex && b[s + k] >= lo && b[s + k] <= hi
        }
        switch c0 {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1, 0xA0) && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xED: return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xF0: return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }
}
