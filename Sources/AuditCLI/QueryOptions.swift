import ArgumentParser
import AuditPlumbing
import AuditPolicy
import AuditQuery
import AuditStore

/// The filters `auditfs query` and `auditfs watch` share.
struct QueryOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Only records at or after this time: RFC 3339 (2026-11-26T21:00:00Z), a date, or relative (-1h, -30m, -2d).")
    var since: String?
    @Option(parsing: .unconditional, help: "Only records before this time (same forms as --since).")
    var until: String?
    @Option(help: "Only this user (by name; a record without a name matches by the name's uid).")
    var user: String?
    @Option(help: "Only this uid.")
    var uid: UInt32?
    @Option(help: "Only paths (or rename/link targets) matching this glob (* ? **, as in the policy).")
    var path: String?
    @Option(help: "Only this verb or operation (create, append, read, list, mkdir, setattr, rename, remove, unlink, write, …).")
    var verb: String?
    @Option(help: "Only grants or only denials.")
    var decision: DecisionKind?
    @Flag(help: "Only tamper attempts (refused changes to stored bytes).")
    var tamper = false

    enum DecisionKind: String, ExpressibleByArgument, CaseIterable { case grant, deny }

    func filter(now: Int64) throws -> QueryFilter {
        var f = QueryFilter()
        f.since = try since.map { try cliTime("--since", $0, now: now) }
        f.until = try until.map { try cliTime("--until", $0, now: now) }
        f.user = user
        f.uid = uid
        if let path {
            do { f.path = try PathGlob(path) } catch { throw CommandFailure("--path '\(path)': \(error.reason)") }
        }
        f.verb = verb
        f.decision = decision?.rawValue
        f.tamperOnly = tamper
        return f
    }
}
