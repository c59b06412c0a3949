import AuditPlumbing
import AuditStore
import Testing
@testable import AuditPolicy

/// Numbers in a policy are bounded: a value that does not fit is a parse
/// error with line and column, never an arithmetic overflow in the parser or
/// later in the daemon.
@Suite struct PolicyNumberBoundsTests {
    static func alert(_ fields: String) -> String {
        AlertRuleTests.head + "alerts:\n  - name: a\n    on: deny\n" + fields + "    actions: [{syslog: {}}]\n"
    }

    static let refused: [(name: String, yaml: String, message: String)] = [
        ("within 99999999999d", alert("    moreThan: 3\n    within: 99999999999d\n"), "at most 365d"),
        ("within 366d", alert("    moreThan: 3\n    within: 366d\n"), "at most 365d"),
        ("within Int64.max s", alert("    moreThan: 3\n    within: 9223372036854775807s\n"), "within must be a duration"),
        ("within 2^64 ms", alert("    moreThan: 3\n    within: 18446744073709551616ms\n"), "within must be a duration"),
        ("moreThan past the maximum", alert("    moreThan: 100001\n    within: 1m\n"), "moreThan must be a number from 0 to 100000"),
        ("moreThan 2^63", alert("    moreThan: 9223372036854775808\n    within: 1m\n"), "moreThan must be a number"),
        ("timeout 99999999999d", AlertRuleTests.head + "alerts:\n  - name: a\n    on: deny\n    actions: [{command: {run: [/bin/true], timeout: 99999999999d}}]\n", "at most 365d"),
        ("timeout 2^63 ms", AlertRuleTests.head + "alerts:\n  - name: a\n    on: deny\n    actions: [{command: {run: [/bin/true], timeout: 9223372036854775808ms}}]\n", "timeout must be a duration"),
        ("uid past 2^32", AlertRuleTests.head.replacingOccurrences(of: "bindings: []", with: "bindings:\n  - {role: r, subjects: [{uid: 4294967296}]}"), "uid must be a number"),
    ]

    @Test(arguments: refused.indices) func outOfRangeNumberIsAParseError(i: Int) {
        let c = Self.refused[i]
        do {
            _ = try PolicyParser.parse(c.yaml)
            Issue.record("\(c.name): accepted")
        } catch {
            #expect(error.errors.contains { $0.message.contains(c.message) }, "\(c.name): \(error.errors)")
        }
    }

    @Test func theMaximumsThemselvesParse() throws {
        let r = try PolicyParser.parse(Self.alert("    moreThan: 100000\n    within: 365d\n"))
        #expect(r.policy.alerts[0].rate == AlertRule.Rate(moreThan: 100_000, withinNs: Timestamps.maxDuration))
    }
}
