import AuditPlumbing
import Testing
@testable import AuditStore

/// A directory's entries in creation order (`Namespace.Node.childOrder`),
/// the order and positions readdir lists by (docs/MOUNT.md "Listing").
@Suite struct DirectoryOrderTests {
    /// A directory's entries in creation order, read in pages: every name
    /// exactly once, however many pages, and names created between pages
    /// come after the ones already read.
    @Test func pagesListEveryEntryOnceInCreationOrder() throws {
        let dir = TempDir()
        let s = try Store.create(at: dir.path + "/s")
        let me = Fixture.writer
        for i in 0..<50 { try s.create("/f\(i)", kind: .file, mode: 0o644, owner: 0, group: 0, by: me) }
        var seen: [String] = []
        var at = 0
        while true {
            let page = s.children(of: Namespace.rootID, from: at, limit: 7).map(\.node)
            if page.isEmpty { break }
            seen += page.map(\.name)
            at += page.count
            if at == 14 { try s.create("/late", kind: .file, mode: 0o644, owner: 0, group: 0, by: me) }
        }
        #expect(seen == (0..<50).map { "f\($0)" } + ["late"])
        #expect(s.children(of: Namespace.rootID, from: 1 << 40, limit: 10).isEmpty)
        #expect(s.children(of: Namespace.rootID, from: -1, limit: 10).isEmpty)
        s.close()
        let r = try Store.open(at: dir.path + "/s", mode: .readOnly)   // from the index snapshot
        #expect(r.children(of: Namespace.rootID, from: 0, limit: 100).map(\.node.name) == (0..<50).map { "f\($0)" } + ["late"])
    }

    @Test func aRestoredNamespaceKeepsCreationOrder() throws {
        let dir = TempDir()
        let s = try Store.create(at: dir.path + "/s")
        let names = (0..<300).map { "n\(($0 * 7919) % 300)" }   // creation order is not name order
        for n in names { try s.create("/" + n, kind: .file, mode: 0o644, owner: 0, group: 0, by: Fixture.writer) }
        s.close()   // writes the index snapshot
        let r = try Store.open(at: dir.path + "/s", mode: .readOnly)
        #expect(r.cacheNote == nil)
        #expect(r.children(of: Namespace.rootID, from: 0, limit: 1000).map(\.node.name) == names)
        #expect(r.children(of: Namespace.rootID).map(\.name) == names.sorted { $0.bytesPrecede($1) })
    }
}
