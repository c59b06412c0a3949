import AuditPlumbing

/// Where the mount daemon keeps its records in the audit namespace (README
/// "The audit namespace", docs/POLICY.md): ordinary store files under
/// /.audit, written only by the daemon through the Store API.
///
///   /.audit/decisions/YYYY-MM-DD.jsonl   `DecisionRecord` lines (UTC day)
///   /.audit/policy/SHA256.yaml           every policy text enforced
///   /.audit/policy/changes.jsonl         `PolicyChangeRecord` lines: each load and reload
///   /.audit/events.jsonl                 `EventRecord` lines: mount, unmount, recovery, reloads
///   /.audit/alerts.jsonl                 `AlertRecord` lines: each alert sent
///
/// The store's own files there (checkpoints, key certificates) are the
/// store's (AuditStore's `AuditPaths`, which also owns the namespace's root
/// and the rule that only auditfs writes below it); `root` here is the same
/// path (a test checks it), so that readers of a mount can find the files
/// without the store.
public enum AuditLayout {
    public static let root = "/.audit"
    public static let decisionsDirectory = root + "/decisions"
    public static let policyDirectory = root + "/policy"
    public static let changes = policyDirectory + "/changes.jsonl"
    public static let events = root + "/events.jsonl"
    public static let alerts = root + "/alerts.jsonl"

    /// The directories the daemon makes (when missing) before it writes.
    public static let directories = [root, decisionsDirectory, policyDirectory]

    static let decisionsSuffix = ".jsonl"

    /// The decisions file of a UTC day (`Timestamps.day`, YYYY-MM-DD).
    public static func decisions(day: String) -> String { decisionsDirectory + "/" + day + decisionsSuffix }

    /// The kept text of the policy whose SHA-256 (hex) is `sha256`.
    public static func policy(sha256: String) -> String { policyDirectory + "/" + sha256 + ".yaml" }

    /// Whether `path` is a decisions file (/.audit/decisions/*.jsonl), bytewise.
    public static func isDecisions(_ path: String) -> Bool {
        path.hasBytePrefix(decisionsDirectory + "/") && path.hasByteSuffix(decisionsSuffix)
    }

    /// The day a decisions file NAME (not path) is for, or nil when it is
    /// not one ("2026-11-26.jsonl" → "2026-11-26").
    public static func day(ofDecisionsFile name: String) -> String? {
        guard name.hasByteSuffix(decisionsSuffix), name.utf8.count > decisionsSuffix.utf8.count else { return nil }
        return String(decoding: name.utf8.dropLast(decisionsSuffix.utf8.count), as: UTF8.self)
    }

    /// Where the /.audit file `path` is when /.audit itself is the directory
    /// `auditDirectory` (a mount's MOUNTPOINT/.audit, read through the mount).
    public static func path(_ path: String, in auditDirectory: String) -> String {
        auditDirectory + String(decoding: path.utf8.dropFirst(root.utf8.count), as: UTF8.self)
    }
}

