import Testing
@testable import AuditPolicy

/// The `alerts:` section of the policy (docs/QUERY.md "Alerts").
@Suite struct AlertRuleTests {
    static let head = """
        apiVersion: auditfs/v1
        roles: []
        bindings: []

        """

    @Test func everyEventAndActionParses() throws {
        let r = try PolicyParser.parse(Self.head + """
            alerts:
              - name: tamper
                on: tamper
                actions:
                  - syslog: {facility: local3, socket: /run/test.sock}
                  - command: {run: ["/bin/cat", "-"], timeout: 500ms}
                  - file: /var/log/auditfs-alerts.jsonl
              - name: burst
                on: deny
                moreThan: 5
                within: 60s
                paths: ["/secure/**"]
                severity: alert
                actions: [{syslog: {}}]
              - name: reloads
                on: reload
                actions: [{syslog: {}}]
              - name: rejected
                on: reload-rejected
                actions: [{file: /tmp/a}]
              - name: broken
                on: verification-failure
                actions: [{syslog: {}}]

            """)
        let a = r.policy.alerts
        #expect(a.map(\.name) == ["tamper", "burst", "reloads", "rejected", "broken"])
        #expect(a.map(\.event) == [.tamper, .deny, .reload, .reloadRejected, .verificationFailure])
        #expect(a[0].actions == [.syslog(facility: 19, socket: "/run/test.sock"), .command(argv: ["/bin/cat", "-"], timeoutNs: 500_000_000),
                                 .file(path: "/var/log/auditfs-alerts.jsonl")])
        #expect(a[0].severity == .crit && a[0].line == 5)
        #expect(a[1].rate == AlertRule.Rate(moreThan: 5, withinNs: 60_000_000_000))
        #expect(a[1].severity == .alert && a[1].covers("/secure/x") && !a[1].covers("/open/x"))
        #expect(a[1].actions == [.syslog(facility: 4, socket: nil)])
        #expect(a[2].severity == .notice && a[3].severity == .err && a[4].severity == .emerg)
    }

    @Test func noAlertsIsEmpty() throws {
        #expect(try PolicyParser.parse(Self.head).policy.alerts.isEmpty)
        #expect(try PolicyParser.parse(Self.head + "alerts: []\n").policy.alerts.isEmpty)
    }

    /// Each bad alert names its line and column (line 5 is the first line after `alerts:`).
    static let bad: [(name: String, yaml: String, line: Int, column: Int, message: String)] = [
        ("unknown event", "  - name: a\n    on: delete\n    actions: [{syslog: {}}]\n", 6, 9, "unknown event 'delete'"),
        ("missing actions", "  - name: a\n    on: deny\n", 5, 5, "'actions' is missing"),
        ("unknown key", "  - name: a\n    on: deny\n    when: now\n    actions: [{syslog: {}}]\n", 7, 5, "unknown key 'when'"),
        ("rate without window", "  - name: a\n    on: deny\n    moreThan: 3\n    actions: [{syslog: {}}]\n", 7, 15, "moreThan needs within"),
        ("rate on tamper", "  - name: a\n    on: tamper\n    moreThan: 3\n    within: 1m\n    actions: [{syslog: {}}]\n", 7, 15, "on: deny' only"),
        ("bad window", "  - name: a\n    on: deny\n    moreThan: 3\n    within: soon\n    actions: [{syslog: {}}]\n", 8, 13, "within must be a duration"),
        ("negative count", "  - name: a\n    on: deny\n    moreThan: -1\n    within: 1m\n    actions: [{syslog: {}}]\n", 7, 15, "moreThan must be a number"),
        ("unknown severity", "  - name: a\n    on: deny\n    severity: loud\n    actions: [{syslog: {}}]\n", 7, 15, "unknown severity"),
        ("unknown action", "  - name: a\n    on: deny\n    actions: [{email: x}]\n", 7, 16, "unknown key 'email'"),
        ("two actions in one", "  - name: a\n    on: deny\n    actions: [{syslog: {}, file: /x}]\n", 7, 15, "exactly one of"),
        ("relative command", "  - name: a\n    on: deny\n    actions: [{command: {run: [notify]}}]\n", 7, 31, "absolute path"),
        ("bad timeout", "  - name: a\n    on: deny\n    actions: [{command: {run: [/bin/true], timeout: forever}}]\n", 7, 53, "timeout must be a duration"),
        ("relative file", "  - name: a\n    on: deny\n    actions: [{file: alerts.log}]\n", 7, 22, "absolute path"),
        ("unknown facility", "  - name: a\n    on: deny\n    actions: [{syslog: {facility: web}}]\n", 7, 35, "unknown syslog facility"),
        ("paths on reload", "  - name: a\n    on: reload\n    paths: [\"/x\"]\n    actions: [{syslog: {}}]\n", 7, 12, "paths apply to deny and tamper"),
        ("bad glob", "  - name: a\n    on: deny\n    paths: [\"x\"]\n    actions: [{syslog: {}}]\n", 7, 13, "must start with '/'"),
        ("duplicate name", "  - name: a\n    on: deny\n    actions: [{syslog: {}}]\n  - name: a\n    on: tamper\n    actions: [{syslog: {}}]\n", 8, 5, "defined twice"),
    ]

    @Test(arguments: bad.indices) func badAlertNamesLineAndColumn(i: Int) {
        let c = Self.bad[i]
        do {
            _ = try PolicyParser.parse(Self.head + "alerts:\n" + c.yaml)
            Issue.record("\(c.name): accepted")
        } catch {
            let first = error.errors[0]
            #expect(first.message.contains(c.message), "\(c.name): \(first)")
            #expect(first.line == c.line && first.column == c.column, "\(c.name): \(first)")
        }
    }
}
