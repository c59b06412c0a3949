import AuditPlumbing
import Testing

/// The one escaping of names in text output (TerminalText.swift).
@Suite struct TerminalTextTests {
    @Test(arguments: [
        ("plain/name.log", "plain/name.log"),
        ("x\n2026-12-01T00:00:00Z root", "x\\n2026-12-01T00:00:00Z root"),
        ("tab\there\rcr", "tab\\there\\rcr"),
        ("\u{1b}[2J\u{1b}]0;owned\u{07}", "\\x1b[2J\\x1b]0;owned\\x07"),
        ("nul\u{0}del\u{7f}", "nul\\x00del\\x7f"),
        ("back\\slash", "back\\\\slash"),
        ("\\x1b", "\\\\x1b"),
        ("csi\u{9b}31m nel\u{85}", "csi\\u{009b}31m nel\\u{0085}"),
        ("evil\u{202e}gol.txt", "evil\\u{202e}gol.txt"),
        ("\u{2066}\u{2067}\u{2068}\u{2069}\u{202a}\u{202b}\u{202c}\u{202d}", "\\u{2066}\\u{2067}\\u{2068}\\u{2069}\\u{202a}\\u{202b}\\u{202c}\\u{202d}"),
        ("\u{200e}\u{200f}\u{61c}", "\\u{200e}\\u{200f}\\u{061c}"),
        ("line\u{2028}sep\u{2029}", "line\\u{2028}sep\\u{2029}"),
        ("caf\u{e9} \u{1f469}\u{200d}\u{1f4bb} \u{fffd} \u{301}", "caf\u{e9} \u{1f469}\u{200d}\u{1f4bb} \u{fffd} \u{301}"),
    ])
    func escapesControlsAndBidi(input: String, expected: String) {
        #expect(TerminalText.escape(input) == expected)
        #expect(TerminalText.escape(bytes: Array(input.utf8)) == expected)
    }

    @Test(arguments: [
        ([0x2F, 0xFF], "/\\xff"),
        ([0xC3], "\\xc3"),                          // truncated 2-byte sequence
        ([0xC0, 0xAF], "\\xc0\\xaf"),               // overlong '/'
        ([0xED, 0xA0, 0x80], "\\xed\\xa0\\x80"),    // a UTF-16 surrogate
        ([0xF4, 0x90, 0x80, 0x80], "\\xf4\\x90\\x80\\x80"),   // above U+10FFFF
        ([0x61, 0xE2, 0x82, 0x62], "a\\xe2\\x82b"),
        ([0xC3, 0xA9, 0x1B], "\u{e9}\\x1b"),
        ([0xC2, 0x9B], "\\u{009b}"),                // C1 encoded correctly is a code point
    ] as [([UInt8], String)])
    func escapesInvalidUTF8ByteByByte(bytes: [UInt8], expected: String) {
        #expect(TerminalText.escape(bytes: bytes) == expected)
    }

    /// Whatever the input, the output is one line of printable text: no byte
    /// below 0x20, no DEL, no C1 and no bidi control, and distinct inputs
    /// stay distinct (the escaping is unambiguous).
    @Test func outputIsAlwaysOnePrintableLineAndInjective() {
        var rng = SystemRandomNumberGenerator()
        var seen: [String: [UInt8]] = [:]
        let interesting: [UInt8] = [0x00, 0x0A, 0x0D, 0x1B, 0x5C, 0x78, 0x7F, 0x80, 0x9B, 0xC2, 0xE2, 0x80, 0xAE, 0xFF, 0x61]
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...6, using: &rng)
            let bytes = (0..<n).map { _ in interesting.randomElement(using: &rng)! }
            let out = TerminalText.escape(bytes: bytes)
            #expect(!out.utf8.contains { $0 < 0x20 || $0 == 0x7F })
            #expect(!out.unicodeScalars.contains { (0x80...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value) })
            if let other = seen[out] { #expect(other == bytes, "\(bytes) and \(other) both print as \(out)") }
            seen[out] = bytes
        }
    }

    @Test func cleanTextIsReturnedUnchanged() {
        let s = "/var/log/nginx/access.log"
        #expect(TerminalText.escape(s) == s)
    }
}
