import Foundation
import Testing
@testable import AuditStore

/// A node is a directory or a file, its own type (`NodeKind`): a record's
/// kind also names appends and attribute changes, which are never nodes.
@Suite struct NodeKindTests {
    @Test func onlyCreateRecordsMakeNodes() {
        #expect(NodeKind(creating: .directory) == .directory)
        #expect(NodeKind(creating: .file) == .file)
        #expect(NodeKind(creating: .append) == nil)
        #expect(NodeKind(creating: .attributes) == nil)
        for kind in NodeKind.allCases {
            #expect(NodeKind(creating: kind.creatingRecord) == kind)
            #expect(kind.rawValue == kind.creatingRecord.rawValue)   // the byte cache/index stores
        }
    }

    /// An index MACed by the key's holder whose node for /b.log says its kind
    /// is `append` (3): not a node kind, so the index is ignored and the
    /// segments replayed (it used to be loaded, a file of kind append).
    @Test func anIndexNamingAnAppendAsANodeIsIgnored() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let built = try Fixture.build(at: path)
        let b = built.lookup("/b.log")!
        built.close()   // writes cache/index
        let s0 = try Store.open(at: path, mode: .readOnly)
        #expect(s0.cacheNote == nil)
        let indexPath = path + "/cache/index"
        var bytes = readFile(indexPath)
        // The node's record: id u64, parent u64, kind u8 (FORMAT.md "Index snapshot").
        var le: [UInt8] = []
        for v in [b.id, Namespace.rootID] { for i in 0..<8 { le.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        le.append(NodeKind.file.rawValue)
        let at = (0...(bytes.count - le.count)).first { Array(bytes[$0..<$0 + le.count]) == le }!
        bytes[at + 16] = Record.Kind.append.rawValue
        let body = Array(bytes.dropLast(32))
        writeFile(indexPath, body + CacheKey(bytes: readFile(path + "/cache-key")).mac(body).bytes)
        let s = try Store.open(at: path, mode: .readOnly)
        #expect(s.cacheNote?.contains("bad node kind") == true, "\(s.cacheNote ?? "no note")")
        #expect(s.lookup("/b.log")?.kind == .file)
        #expect(try s.read(b.id, offset: 0, count: 100) == Array("b one\nb two, a little longer\n".utf8))
    }
}
