import AuditPlumbing
import Testing
@testable import AuditStore

/// Paths are byte strings (FORMAT.md "Paths"): Swift's String compares by
/// canonical equivalence and splits by grapheme cluster, so every path
/// operation works on UTF-8 bytes instead.
@Suite struct StorePathBytesTests {
    /// The marks the names are built from: combining acute, zero-width
    /// joiner and space, right-to-left mark and override, Cyrillic а.
    static let marks = ["\u{301}", "\u{200D}", "\u{200B}", "\u{200F}", "\u{202E}", "\u{430}"]

    /// Each mark at the start, middle and end of a name.
    static var names: [String] { marks.flatMap { ["\($0)ab", "a\($0)b", "ab\($0)"] } }

    @Test(arguments: names) func parentAndNameSplitAtTheLastSlashByte(name: String) {
        for dir in ["/", "/d", "/d/\u{301}e"] {
            let path = StorePath.join(dir, name)
            #expect(StorePath.parent(of: path).sameBytes(as: dir), "\(Array(path.utf8))")
            #expect(StorePath.name(of: path).sameBytes(as: name), "\(Array(path.utf8))")
            #expect(!StorePath.name(of: path).utf8.contains(UInt8(ascii: "/")))
            #expect((try? StorePath.components(of: path))?.last?.sameBytes(as: name) == true)
        }
    }

    @Test func aMarkRightAfterASlashStaysInTheName() {
        // "/\u{301}" is one grapheme cluster; the old code found no "/" in it.
        #expect(StorePath.parent(of: "/a/\u{301}b").sameBytes(as: "/a"))
        #expect(StorePath.name(of: "/a/\u{301}b").sameBytes(as: "\u{301}b"))
        #expect(StorePath.parent(of: "/\u{200D}").sameBytes(as: "/"))
        #expect(StorePath.parent(of: "/a\u{600}/b").sameBytes(as: "/a\u{600}"))   // U+0600 is a prepended mark
    }

    @Test func parseDropsOneTrailingSlashByte() throws {
        #expect(try StorePath.parse("a\u{600}/").sameBytes(as: "/a\u{600}"))
        #expect(try StorePath.parse("/\u{301}x").sameBytes(as: "/\u{301}x"))
        #expect(throws: StorePath.Invalid.self) { try StorePath.parse("/a/\u{301}/../b") }
    }

    @Test func canonicallyEquivalentNamesAreTwoFiles() throws {
        let dir = TempDir()
        let s = try Store.create(at: dir.path + "/s")
        let me = Fixture.writer
        let nfc = "/caf\u{E9}", nfd = "/cafe\u{301}"
        #expect(nfc == nfd)   // what Swift's String thinks
        let a = try s.create(nfc, kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        let b = try s.create(nfd, kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        #expect(a.id != b.id)
        #expect(s.lookup(nfc)?.id == a.id && s.lookup(nfd)?.id == b.id)
        #expect(s.lookup(parent: Namespace.rootID, name: "cafe\u{301}")?.id == b.id)
        #expect(s.children(of: Namespace.rootID).map { Array($0.name.utf8) } == [Array("cafe\u{301}".utf8), Array("caf\u{E9}".utf8)])
        s.close()
        // The same after a replay from the segments and from the index.
        for _ in 0..<2 {
            let r = try Store.open(at: dir.path + "/s", mode: .readWrite)
            #expect(r.lookup(nfc)?.id == a.id && r.lookup(nfd)?.id == b.id)
            #expect(r.children(of: Namespace.rootID).count == 2)
            r.close()
        }
    }

    @Test func everyMarkAfterEverySlashIsItsOwnEntry() throws {
        let dir = TempDir()
        let s = try Store.create(at: dir.path + "/s")
        let me = Fixture.writer
        let d = try s.create("/d", kind: .directory, mode: 0o755, owner: 0, group: 0, by: me)
        var made: [String] = []
        for m in Self.marks {
            for name in [m + "d", m, "d" + m] {
                made.append(name)
                try s.create("/d/" + name, kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
            }
        }
        let listed = s.children(of: d.id).map(\.name)
        #expect(Set(listed.map { Array($0.utf8) }) == Set(made.map { Array($0.utf8) }))
        #expect(listed.allSatisfy { !$0.utf8.contains(UInt8(ascii: "/")) })
        #expect(s.children(of: Namespace.rootID).map(\.name) == ["d"])
        s.close()
        #expect(try Checker.verify(at: dir.path + "/s").status == .intact)
    }

    @Test func auditPathsCompareBytes() {
        for p in ["/.audit", "/.audit/x", "/.audit/\u{200D}events.jsonl", "/.audit/\u{301}", "/.audit/decisions/\u{202E}x"] {
            #expect(Store.isAuditPath(p) && AuditPaths.contains(p), "\(Array(p.utf8))")
        }
        for p in ["/.audit\u{301}", "/.audit\u{200D}/x", "/\u{200B}.audit", "/.\u{430}udit", "/.audits", "/"] {
            #expect(!Store.isAuditPath(p), "\(Array(p.utf8))")
        }
        #expect(AuditPaths.epoch(ofCertificate: "/.audit/keys/epoch-3.cert") == 3)
        #expect(AuditPaths.epoch(ofCertificate: "/.audit/keys/epoch-3.cert\u{301}") == nil)
        #expect(AuditPaths.epoch(ofCertificate: "/.audit/keys/epoch-+3.cert") == nil)
    }

    @Test func byteStringKeysDistinguishWhatStringConflates() {
        var d: [ByteString: Int] = [:]
        d[ByteString("caf\u{E9}")] = 1
        d[ByteString("cafe\u{301}")] = 2
        #expect(d.count == 2)
        #expect(ByteString("a") < ByteString("b") && ByteString("Z") < ByteString("a"))
        #expect("x/\u{301}".hasBytePrefix("x/") && !"x/\u{301}".hasPrefix("x/"))
    }
}
