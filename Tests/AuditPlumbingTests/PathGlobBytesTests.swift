import Testing
@testable import AuditPlumbing

/// Globs match bytes (docs/POLICY.md "Globs"), and in time linear in the
/// path: the old recursive matcher backtracked over every `**`.
@Suite struct PathGlobBytesTests {
    /// The old matcher's answers: the cases of PathGlobTests and more, all ASCII.
    static let oldSemantics: [(glob: String, path: String, match: Bool)] = [
        ("/**", "/", true), ("/**", "/a", true), ("/**/**", "/a/b", true), ("/a/**/**/b", "/a/b", true),
        ("/**/x.log", "/x.log", true), ("/**/x.log", "/a/b/x.log", true), ("/**/x.log", "/a/b/x.log/c", false),
        ("/**/a/**/a/**/x.log", "/a/a/x.log", true), ("/**/a/**/a/**/x.log", "/b/a/c/a/d/x.log", true),
        ("/**/a/**/a/**/x.log", "/a/x.log", false), ("/**/a/**/a/**/x.log", "/a/a/a/y.log", false),
        ("/a/**", "/a", true), ("/a/**", "/b", false), ("/a/*/c", "/a/b/c", true), ("/a/*/c", "/a/c", false),
        ("/a/*", "/a/b/c", false), ("/*", "/", false), ("/*", "/x", true), ("/?", "/xy", false),
        ("/a/**/b/*.log", "/a/b/x.log", true), ("/a/**/b/*.log", "/a/q/b/b/x.log", true), ("/a/**/b/*.log", "/a/b", false),
        ("/x/**/y/**", "/x/y", true), ("/x/**/y/**", "/x/z", false), ("/*/**", "/", false), ("/*/**", "/q", true),
    ]

    @Test(arguments: oldSemantics.indices) func keepsTheOldAnswers(i: Int) throws {
        let c = Self.oldSemantics[i]
        #expect(try PathGlob(c.glob).matches(c.path) == c.match, "\(c.glob) vs \(c.path)")
    }

    /// Names that differ in a byte are different names; "/" is the byte 0x2F
    /// wherever it is, even right before a combining mark or a joiner.
    static let bytewise: [(glob: String, path: String, match: Bool)] = [
        // NFC "é" (C3 A9) is not NFD "e\u{301}" (65 CC 81), either way round.
        ("/caf\u{E9}/**", "/cafe\u{301}/x", false), ("/cafe\u{301}/**", "/caf\u{E9}/x", false),
        ("/caf\u{E9}/**", "/caf\u{E9}/x", true), ("/cafe\u{301}", "/cafe\u{301}", true),
        // `*` never crosses a "/", even one a combining mark or joiner follows.
        ("/*.log", "/app/\u{301}x.log", false), ("/*", "/app/\u{200D}x", false), ("/*", "/a/\u{200B}", false),
        ("/*/*", "/app/\u{301}x.log", true), ("/app/*.log", "/app/\u{301}x.log", true),
        ("/app/*", "/app\u{301}/x", false), ("/app/*", "/app/\u{200F}x", true),
        // `?` is one byte: a two-byte "é" needs two.
        ("/?", "/\u{E9}", false), ("/??", "/\u{E9}", true), ("/x?", "/xe\u{301}", false),
        // Look-alikes are other bytes: Cyrillic а (D0 B0) is not Latin a.
        ("/\u{430}pp/**", "/app/x", false), ("/app/**", "/\u{430}pp/x", false),
        // Marks before, inside and after a literal make it another literal.
        ("/app", "/\u{202E}app", false), ("/app", "/a\u{200D}pp", false), ("/app", "/app\u{200F}", false),
        ("/.audit/**", "/.audit/\u{200D}events.jsonl", true), ("/.audit/**", "/.audit\u{301}/x", false),
    ]

    @Test(arguments: bytewise.indices) func matchesBytes(i: Int) throws {
        let c = Self.bytewise[i]
        #expect(try PathGlob(c.glob).matches(c.path) == c.match, "\(Array(c.glob.utf8)) vs \(Array(c.path.utf8))")
    }

    @Test func splitsOnlyAtTheSlashByte() {
        #expect(PathGlob.components(of: "/a/\u{301}b/\u{200D}").map { Array($0.utf8) }
                == [Array("a".utf8), [0xCC, 0x81, 0x62], [0xE2, 0x80, 0x8D]])
        #expect(PathGlob.components(of: "/").isEmpty)
    }

    /// 4 × `**`, alternating a/**/a, on a path of 2000 components
    /// (4000 bytes) that almost matches: the old matcher took seconds per
    /// decision and grows exponentially with the number of `**`; this one
    /// tries each (state, component) pair at most once.
    @Test(arguments: ["/**/a/**/a/**/a/**/x.log", "/**/a/**/a/**/x.log", "/**/**/**/**/y", "/a/**/a/**/a/**/a/**/a/*"])
    func adversarialGlobsTakeLinearSteps(glob: String) throws {
        let g = try PathGlob(glob)
        let path = "/" + Array(repeating: "a", count: 2000).joined(separator: "/")
        #expect(path.utf8.count < 4096)
        let components = PathGlob.components(of: path)
        var steps = 0
        let matched = g.match(components, steps: &steps)
        #expect(matched == (glob == "/a/**/a/**/a/**/a/**/a/*"))
        #expect(steps <= components.count * (g.parts.count + 1), "\(steps) steps")
    }

    @Test func aLongComponentWithManyStarsIsQuadraticAtWorst() throws {
        let g = try PathGlob("/" + String(repeating: "*a", count: 100) + "b")
        #expect(!g.matches("/" + String(repeating: "a", count: 255)))
    }
}
