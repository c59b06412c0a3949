import AuditPlumbing
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
        try s.ensureDirectory(AuditPaths.root, by: Fixture.writer)
        let events = try s.ensureFile(AuditPaths.root + "/events.jsonl", by: Fixture.writer)
        try s.append(events.id, Array("{}\n".utf8), by: Fixture.writer)
        #expect(s.treeHead.size > before)
        #expect(s.lookup("/u.log") == nil)
    }

    /// A failed system call stays itself: its errno and its cause (call,
    /// path). Only the reserve is `noSpace`.
    @Test func systemErrorsKeepTheirErrnoAndCause() {
        let enospc = SystemError(call: "pwritev", path: "/x", errno: ENOSPC)
        #expect(StoreError.wrap(enospc) == .system(enospc))
        #expect(StoreError.wrap(enospc).description == "/x: pwritev failed: No space left on device")
        for (e, full) in [(ENOSPC, true), (EDQUOT, true), (EROFS, false), (EIO, false)] {
            let error = StoreError.wrap(SystemError(call: "pwritev", path: "/x", errno: e))
            #expect(error.systemErrno == e)
            #expect(error.isOutOfSpace == full)
        }
        #expect(StoreError.noSpace("held back").isOutOfSpace)
        #expect(StoreError.noSpace("held back").systemErrno == nil)
        #expect(StoreError.io("internal").systemErrno == nil && !StoreError.io("internal").isOutOfSpace)
    }
}
