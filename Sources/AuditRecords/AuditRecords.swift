import AuditPolicy

/// The JSON lines the daemon writes under `/.audit` (docs/POLICY.md "The
/// audit namespace", docs/QUERY.md "Alerts"). Encoded by the daemon's
/// `AuditLog` with Foundation's JSONEncoder, sorted keys, one object per
/// line; decoded by `auditfs query` and `watch`. A field that does not apply
/// is absent. No libfuse: the checker (`auditfs-check`) reads them too.

/// One line of `/.audit/decisions/YYYY-MM-DD.jsonl`: a decision of the
/// policy, or a refusal by a mount rule — or, with `count`, a count of
/// decisions the daemon folded into one line (docs/POLICY.md "Floods"):
/// repeats of the decision just before (`folded: "repeats"`, every other
/// field the same), a subject's decisions beyond its budget
/// (`"over-budget"`) or decisions that could not be written when the disk
/// was full (`"unrecorded"`). The sum of `decisions` over every line is the
/// number of decisions made.
public struct DecisionRecord: Codable, Sendable, Hashable {
    /// RFC 3339, UTC, nanoseconds; and the same instant in ns since the epoch.
    public var time: String
    public var timeNs: Int64
    public var uid: UInt32
    public var user: String?
    public var gid: UInt32
    public var group: String?
    /// Supplementary groups, when the policy needed them.
    public var groups: [UInt32]?
    /// The calling process (its thread group id) and the calling thread.
    public var pid: UInt32
    public var tid: UInt32?
    public var command: String
    /// A policy verb (create, append, mkdir, read, list, setattr) or, for a
    /// mount-rule refusal, the operation (write, truncate, unlink, rename, …).
    public var verb: String
    public var path: String
    /// The other path of a rename or link, the target of a symlink.
    public var target: String?
    /// "grant" or "deny".
    public var decision: String
    /// "rule" (a policy rule granted), "default-deny" (no rule granted),
    /// "mount-rule" (the mount refused, whatever the policy says),
    /// "mode-bits" (the POSIX permission bits or ownership refused, before
    /// the policy was asked).
    public var reason: String
    public var role: String?
    /// The binding that granted: 1-based position in the policy, and its line.
    public var binding: Int?
    public var bindingLine: Int?
    /// The line of the rule that granted, and the glob that matched.
    public var rule: Int?
    public var glob: String?
    /// The mount rule that refused (MountRules.Rule).
    public var mountRule: String?
    /// A refusal by the mode bits ("mode-bits"): the node whose bits or
    /// owner refused (the path itself or a directory above it), its mode
    /// (octal, "0700"), owner and group, and what was needed ("r", "w", "x",
    /// "wx", "owner", "root", "owner or w", "member of group N").
    public var modePath: String?
    public var mode: String?
    public var ownerUid: UInt32?
    public var ownerGid: UInt32?
    public var needed: String?
    /// The errno returned (0 for a grant) and its name.
    public var errno: Int32
    public var error: String?
    /// A tamper attempt: a refusal of a change to bytes already written (overwrite,
    /// truncate, fallocate, unlink/rmdir/rename/link, anything under /.audit).
    public var tamper: Bool
    /// SHA-256 of the policy in force.
    public var policy: String
    /// How many decisions this line stands for (absent: one, this one).
    public var count: Int?
    /// What kind of count it is: "repeats", "over-budget" or "unrecorded".
    public var folded: String?
    /// The first and last of the counted decisions (RFC 3339; ns since the epoch).
    public var first: String?
    public var firstNs: Int64?
    public var last: String?
    public var lastNs: Int64?
    /// A few of the counted decisions' paths (each cut to 256 bytes) when
    /// they differ (over-budget, unrecorded); `path` is then "".
    public var paths: [String]?

    /// The number of decisions this line records.
    public var decisions: Int { count ?? 1 }

    public init(time: String, timeNs: Int64, uid: UInt32, user: String?, gid: UInt32, group: String?, groups: [UInt32]?,
                pid: UInt32, command: String, verb: String, path: String, target: String? = nil, decision: String,
                reason: String, errno: Int32, tamper: Bool, policy: String) {
        self.time = time; self.timeNs = timeNs; self.uid = uid; self.user = user; self.gid = gid; self.group = group
        self.groups = groups; self.pid = pid; self.command = command; self.verb = verb; self.path = path
        self.target = target; self.decision = decision; self.reason = reason; self.errno = errno; self.tamper = tamper
        self.policy = policy
    }
}

/// Who made the daemon do something (a load, a reload).
public struct Actor: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var user: String?
    public var pid: UInt32
    public var command: String
    /// "mount", "SIGHUP" or "auditfs policy reload".
    public var via: String

    public init(uid: UInt32, user: String?, pid: UInt32, command: String, via: String) {
        self.uid = uid; self.user = user; self.pid = pid; self.command = command; self.via = via
    }
}

/// One line of `/.audit/policy/changes.jsonl`: a load or a reload.
public struct PolicyChangeRecord: Codable, Sendable {
    public var time: String
    public var timeNs: Int64
    /// "load" (at mount) or "reload".
    public var event: String
    /// "accepted", "unchanged" (same text as in force) or "rejected".
    public var outcome: String
    /// The policy file (absent for the built-in policy).
    public var file: String?
    public var by: Actor
    /// SHA-256 of the policy in force before, and of the one in force after
    /// (the same as `previous` when rejected).
    public var previous: String?
    public var new: String?
    /// Where the text of `new` is kept: /.audit/policy/SHA256.yaml.
    public var text: String?
    /// The parse error of a rejected file (FILE:LINE:COLUMN: message).
    public var error: String?
    public var changes: PolicyDiff?

    public init(time: String, timeNs: Int64, event: String, outcome: String, file: String?, by: Actor,
                previous: String?, new: String?, text: String? = nil, error: String? = nil, changes: PolicyDiff? = nil) {
        self.time = time; self.timeNs = timeNs; self.event = event; self.outcome = outcome; self.file = file
        self.by = by; self.previous = previous; self.new = new; self.text = text; self.error = error; self.changes = changes
    }
}

/// One line of `/.audit/events.jsonl`: the daemon's own events.
public struct EventRecord: Codable, Sendable {
    public var time: String
    public var timeNs: Int64
    /// "mount", "unmount", "torn-tail-recovered", "reload-accepted",
    /// "reload-unchanged", "reload-rejected", "verification-failed",
    /// "checkpoint-failed", "checkpoint-resumed", "witness-delivered",
    /// "witness-failed", "witness-timed-out", "witness-dropped", "ship-failed",
    /// "ship-resumed", "ship-stopped".
    public var event: String
    /// The daemon's pid.
    public var daemon: UInt32
    public var mountpoint: String?
    public var store: String?
    public var policy: String?
    public var policyFile: String?
    public var by: Actor?
    public var error: String?
    public var detail: String?
    /// The witness of a witness-* event ("witness command …", "witness directory …").
    public var witness: String?
    /// The tree size of the checkpoint a witness-* event is about.
    public var checkpoint: UInt64?
    /// On a mount event: true when the mount runs in history mode (renames
    /// and removals recorded, docs/MOUNT.md "History mode"); absent otherwise.
    public var history: Bool?
    /// On a ship-* event: the bucket location (s3://BUCKET/PREFIX/STORE-ID).
    public var bucket: String?
    /// On a ship-* event: bytes of the store not in the bucket yet.
    public var backlog: UInt64?

    public init(time: String, timeNs: Int64, event: String, daemon: UInt32, mountpoint: String? = nil, store: String? = nil,
                policy: String? = nil, policyFile: String? = nil, by: Actor? = nil, error: String? = nil, detail: String? = nil) {
        self.time = time; self.timeNs = timeNs; self.event = event; self.daemon = daemon; self.mountpoint = mountpoint
        self.store = store; self.policy = policy; self.policyFile = policyFile; self.by = by; self.error = error
        self.detail = detail
    }
}

/// One line of `/.audit/alerts.jsonl`: an alert the daemon sent, with what
/// each of its actions did.
public struct AlertRecord: Codable, Sendable {
    public struct Outcome: Codable, Sendable, Equatable {
        /// "syslog", "command" or "file".
        public var action: String
        /// "sent", "failed" or "timeout".
        public var outcome: String
        public var detail: String?
        public init(action: String, outcome: String, detail: String? = nil) {
            self.action = action; self.outcome = outcome; self.detail = detail
        }
    }

    public var time: String
    public var timeNs: Int64
    /// The rule's name in the policy.
    public var alert: String
    /// What matched: "deny", "tamper", "reload", "reload-rejected",
    /// "deny-rate", "verification-failure".
    public var event: String
    /// Syslog severity name: emerg, alert, crit, err, warning, notice, info, debug.
    public var severity: String
    /// One line for people (the syslog message).
    public var message: String
    /// The subject of a deny-rate alert, the number of denies seen and the window (ns).
    public var uid: UInt32?
    public var user: String?
    public var count: Int?
    public var windowNs: Int64?
    /// The record that triggered it.
    public var decision: DecisionRecord?
    public var change: PolicyChangeRecord?
    public var daemonEvent: EventRecord?
    /// What each action did (absent in the JSON given to a command: not yet known).
    public var actions: [Outcome]?

    public init(time: String, timeNs: Int64, alert: String, event: String, severity: String, message: String) {
        self.time = time; self.timeNs = timeNs; self.alert = alert; self.event = event; self.severity = severity
        self.message = message
    }
}
