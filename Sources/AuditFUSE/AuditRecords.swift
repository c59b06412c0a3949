import AuditPolicy
import Foundation

/// The JSON lines the daemon writes under `/.audit` (docs/POLICY.md "The
/// audit namespace"). Encoded by `AuditLog` with Foundation's JSONEncoder,
/// sorted keys, one object per line; a field that does not apply is absent.

/// One line of `/.audit/decisions/YYYY-MM-DD.jsonl`: a decision of the
/// policy, or a refusal by a mount rule.
struct DecisionRecord: Encodable, Sendable {
    /// RFC 3339, UTC, nanoseconds; and the same instant in ns since the epoch.
    var time: String
    var timeNs: Int64
    var uid: UInt32
    var user: String?
    var gid: UInt32
    var group: String?
    /// Supplementary groups, when the policy needed them.
    var groups: [UInt32]?
    var pid: UInt32
    var command: String
    /// A policy verb (create, append, mkdir, read, list, setattr) or, for a
    /// mount-rule refusal, the operation (write, truncate, unlink, rename, …).
    var verb: String
    var path: String
    /// The other path of a rename or link, the target of a symlink.
    var target: String?
    /// "grant" or "deny".
    var decision: String
    /// "rule" (a policy rule granted), "default-deny" (no rule granted),
    /// "mount-rule" (the mount refused, whatever the policy says).
    var reason: String
    var role: String?
    /// The binding that granted: 1-based position in the policy, and its line.
    var binding: Int?
    var bindingLine: Int?
    /// The line of the rule that granted, and the glob that matched.
    var rule: Int?
    var glob: String?
    /// The mount rule that refused (MountRules.Rule).
    var mountRule: String?
    /// The errno returned (0 for a grant) and its name.
    var errno: Int32
    var error: String?
    /// A refused mutation: an attempt to change what the mount keeps unchangeable.
    var tamper: Bool
    /// SHA-256 of the policy in force.
    var policy: String
}

/// Who made the daemon do something (a load, a reload).
struct Actor: Codable, Sendable, Equatable {
    var uid: UInt32
    var user: String?
    var pid: UInt32
    var command: String
    /// "mount", "SIGHUP" or "auditfs policy reload".
    var via: String
}

/// One line of `/.audit/policy/changes.jsonl`: a load or a reload.
struct PolicyChangeRecord: Codable, Sendable {
    var time: String
    var timeNs: Int64
    /// "load" (at mount) or "reload".
    var event: String
    /// "accepted", "unchanged" (same text as in force) or "rejected".
    var outcome: String
    /// The policy file (absent for the built-in policy).
    var file: String?
    var by: Actor
    /// SHA-256 of the policy in force before, and of the one in force after
    /// (the same as `previous` when rejected).
    var previous: String?
    var new: String?
    /// Where the text of `new` is kept: /.audit/policy/SHA256.yaml.
    var text: String?
    /// The parse error of a rejected file (FILE:LINE:COLUMN: message).
    var error: String?
    var changes: PolicyDiff?
}

/// One line of `/.audit/events.jsonl`: the daemon's own events.
struct EventRecord: Encodable, Sendable {
    var time: String
    var timeNs: Int64
    /// "mount", "unmount", "torn-tail-recovered", "reload-accepted",
    /// "reload-unchanged", "reload-rejected".
    var event: String
    /// The daemon's pid.
    var daemon: UInt32
    var mountpoint: String?
    var store: String?
    var policy: String?
    var policyFile: String?
    var by: Actor?
    var error: String?
    var detail: String?
}

enum AuditTime {
    /// RFC 3339 in UTC with nanoseconds, e.g. 2026-11-26T21:57:03.123456789Z.
    static func rfc3339(_ ns: Int64) -> String {
        let (tm, frac) = broken(ns)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, frac)
    }

    /// The UTC day, YYYY-MM-DD: the name of a decisions file.
    static func day(_ ns: Int64) -> String {
        let (tm, _) = broken(ns)
        return String(format: "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday)
    }

    private static func broken(_ ns: Int64) -> (tm, Int64) {
        let seconds = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
        var t = time_t(seconds)
        var out = tm()
        gmtime_r(&t, &out)
        return (out, ns - seconds * 1_000_000_000)
    }
}
