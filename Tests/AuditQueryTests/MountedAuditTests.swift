import AuditRecords
import Foundation
import Testing
@testable import AuditQuery

/// Reading a mount's /.audit without the store: which decisions files a
/// time range needs (MountedAudit.decisionFiles).
@Suite struct MountedAuditTests {
    @Test func onlyTheDaysOfTheRangeAndOnlyDecisionsFilesAreRead() throws {
        let base = NSTemporaryDirectory() + "/mounted-audit-\(getpid())"
        let audit = base + AuditLayout.root
        let decisions = AuditLayout.path(AuditLayout.decisionsDirectory, in: audit)
        try FileManager.default.createDirectory(atPath: decisions, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        for name in ["2026-11-25.jsonl", "2026-11-26.jsonl", "2026-11-27.jsonl", ".jsonl", "notes.txt", "2026-11-26.jsonl.tmp"] {
            FileManager.default.createFile(atPath: decisions + "/" + name, contents: Data())
        }
        var filter = QueryFilter()
        filter.since = 1_795_651_200_000_000_000   // 2026-11-26T00:00:00Z
        filter.until = filter.since! + 86_400_000_000_000 - 1
        #expect(try MountedAudit.decisionFiles(audit, filter) == [decisions + "/2026-11-26.jsonl"])
        #expect(try MountedAudit.decisionFiles(audit, QueryFilter()).count == 3)
    }
}
