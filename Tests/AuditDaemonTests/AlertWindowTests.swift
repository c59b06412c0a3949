import AuditRecords
import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// A deny-rate alert ("more than N denies by one uid within S seconds")
/// fires once when a user passes N within the window, not again while they
/// stay above it, and again after their denies fell back to N or fewer;
/// each user has a window of their own. Denials folded into count lines
/// count too.
@Suite struct AlertWindowTests {
    static let policy = """
        apiVersion: auditfs/v1
        roles:
          - name: writer
            rules:
              - paths: ["/w/**"]
                verbs: [create, append, read, list]
        bindings:
          - role: writer
            subjects: [{uid: 1000}, {uid: 1001}]
        alerts:
          - name: burst
            on: deny
            moreThan: 3
            within: 10s
            actions:
              - syslog: {socket: /nonexistent/auditfs-test.sock}
        """

    @Test func aBurstFiresOnceThenAgainAfterTheWindow() throws {
        let h = try DaemonHarness(policy: Self.policy)
        let w = try #require(h.ino(DaemonHarness.work))
        func deny(_ uid: UInt32) {
            // A mkdir in /w is not granted by the policy (create, append, read, list only).
            #expect(h.fs.mkdir(h.caller(uid: uid), parent: w, name: Array("d".utf8), mode: 0o755).failure == Errno(EACCES))
        }
        for _ in 0..<3 { deny(1000); h.clock.advance(seconds: 1) }
        #expect(h.alerts().isEmpty)
        deny(1000)                      // the 4th within 10 s
        var alerts = h.alerts()
        #expect(alerts.count == 1)
        #expect(alerts.first?.alert == "burst" && alerts.first?.uid == 1000 && alerts.first?.count == 4)
        #expect(alerts.first?.windowNs == 10_000_000_000)
        deny(1000)                      // still above: no second alert
        #expect(h.alerts().count == 1)
        for _ in 0..<3 { deny(1001) }   // another user: a window of their own, at 3
        #expect(h.alerts().count == 1)
        h.clock.advance(seconds: 30)    // the window empties
        for _ in 0..<3 { deny(1000) }
        #expect(h.alerts().count == 1)
        deny(1000)
        alerts = h.alerts()
        #expect(alerts.count == 2)
        #expect(alerts.last?.uid == 1000 && alerts.last?.count == 4)
        // The syslog socket does not exist: the alert is recorded with its failed outcome.
        #expect(alerts.last?.actions?.first?.outcome == "failed")
    }
}
