import Foundation
import Testing
@testable import AuditStore

/// The space held back for the audit records (Store.Options.reserve): a
/// record of any other file that would leave less free is refused with
/// `noSpace`; the audit namespace may still write; nothing partial is left.
@Suite struct StoreReserveTests {
    @Test func aUserAppendIntoTheReserveIsRefusedAnAuditAppendIsNot() throws {
        let dir = TempDir()
        let path = dir.path + "/s"
        try Store.create(at: path, by: Fixture.writer).close()
        var options = Store.Options()
        options.reserve = 1 << 60   // more than any disk has free: every user record is over it
        let s = try Store.open(at: path, mode: .readWrite, options: options)
        defer { s.close() }
        #expect(throws: StoreError.self) { try s.create("/u.log", kind: .file, mode: 0o644, owner: 0, group: 0, by: Fixture.writer) }
        do {
            _ = try s.create("/u.log", kind: .file, mode: 0o644, owner: 0, group: 0, by: Fixture.writer)
        } catch {
            guard case let .noSpace(message) = error else { Issue.record("expected noSpace, got \(error)"); return }
            #expect(message.contains("/u.log") && message.contains("held back"))
        }
        let before = s.treeHead.size
        try s.ensureAuditDirectories(by: Fixture.writer)
        let events = try s.ensureFile(Store.auditRoot + "/events.jsonl", by: Fixture.writer)
        try s.append(events.id, Array("{}\n".utf8), by: Fixture.writer)
        #expect(s.treeHead.size > before)
        #expect(s.lookup("/u.log") == nil)
    }

    @Test func enospcFromTheFileSystemIsNoSpace() {
        #expect(StoreError.wrap(SystemError(call: "pwritev", path: "/x", errno: ENOSPC)) == .noSpace("/x: pwritev failed: No space left on device"))
        if case .noSpace = StoreError.wrap(SystemError(call: "pwritev", path: "/x", errno: EDQUOT)) {} else { Issue.record("EDQUOT") }
        if case .io = StoreError.wrap(SystemError(call: "pwritev", path: "/x", errno: EIO)) {} else { Issue.record("EIO") }
    }
}
