import AuditPlumbing
import AuditRecords
import AuditStore
import Testing

/// The daemon's /.audit files (AuditLayout) are in the namespace the store
/// protects (AuditPaths), and are named as docs/POLICY.md lists them.
@Suite struct AuditLayoutTests {
    @Test func theLayoutIsInsideTheStoresAuditNamespace() {
        #expect(AuditLayout.root.sameBytes(as: AuditPaths.root))
        let files = [AuditLayout.changes, AuditLayout.events, AuditLayout.alerts, AuditLayout.decisions(day: "2026-11-26"),
                     AuditLayout.policy(sha256: String(repeating: "a", count: 64))] + AuditLayout.directories
        for f in files { #expect(Store.isAuditPath(f), "\(f)") }
        for f in files { #expect(!f.sameBytes(as: AuditPaths.checkpoints) && !f.hasBytePrefix(AuditPaths.keys), "\(f)") }
    }

    @Test func decisionsFilesAreRecognisedBytewise() {
        #expect(AuditLayout.decisions(day: "2026-11-26") == "/.audit/decisions/2026-11-26.jsonl")
        #expect(AuditLayout.isDecisions("/.audit/decisions/2026-11-26.jsonl"))
        #expect(!AuditLayout.isDecisions("/.audit/decisions\u{301}/2026-11-26.jsonl"))
        #expect(!AuditLayout.isDecisions("/.audit/events.jsonl"))
        #expect(AuditLayout.day(ofDecisionsFile: "2026-11-26.jsonl") == "2026-11-26")
        #expect(AuditLayout.day(ofDecisionsFile: ".jsonl") == nil && AuditLayout.day(ofDecisionsFile: "x.json") == nil)
        #expect(AuditLayout.path(AuditLayout.events, in: "/mnt/a/.audit") == "/mnt/a/.audit/events.jsonl")
    }
}
