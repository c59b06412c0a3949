import AuditPlumbing
import Testing

/// `sameBytes`: two Strings (the direct comparison of their bytes) and the
/// generic form (a Substring) answer alike, never by canonical equivalence.
@Suite struct ByteStringTests {
    @Test(arguments: [
        ("", "", true),
        ("/a/b.log", "/a/b.log", true),
        ("/a/b.log", "/a/b.lo", false),
        ("/a/b.log", "/a/c.log", false),
        ("caf\u{E9}", "cafe\u{301}", false),   // NFC and NFD: equal as Strings, two names as bytes
        ("\u{200D}x", "\u{200D}x", true),
        (String(repeating: "x", count: 300) + "a", String(repeating: "x", count: 300) + "b", false),
    ])
    func sameBytesComparesBytes(a: String, b: String, same: Bool) {
        #expect(a.sameBytes(as: b) == same)
        #expect(a.sameBytes(as: Substring(b)) == same)
        #expect(Substring(a).sameBytes(as: b) == same)
        #expect((ByteString(a) == ByteString(b)) == same)
    }

    @Test func bridgedAndSlicedStringsToo() {
        let whole = "prefix/name.log"
        let name = String(whole.split(separator: "/").last!)
        #expect(name.sameBytes(as: "name.log"))
        #expect(!name.sameBytes(as: "name.lo"))
    }
}
