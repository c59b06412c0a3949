import AuditPlumbing

/// An `alerts:` rule of the policy (docs/QUERY.md "Alerts"): which events
/// it matches and what to do when one happens.
///
/// ```yaml
/// alerts:
///   - name: tamper
///     on: tamper                    # deny, tamper, reload, reload-rejected, verification-failure, checkpoint-failure, ship-failure
///     severity: crit                # optional; syslog severity, default by event
///     actions:
///       - syslog: {facility: auth}  # or syslog: {}
///       - command: {run: ["/usr/local/bin/page-oncall"], timeout: 5s}
///       - file: /var/log/auditfs-alerts.jsonl
///   - name: deny-burst
///     on: deny
///     moreThan: 5                   # more than 5 denies by one subject (uid)
///     within: 60s                   # in any 60 s: fires once at the 6th
///     paths: ["/secure/**"]         # optional, for deny and tamper
///     actions: [{syslog: {}}]
/// ```
public struct AlertRule: Sendable, Equatable {
    public enum Event: String, Sendable, CaseIterable {
        case deny
        case tamper
        case reload
        case reloadRejected = "reload-rejected"
        case verificationFailure = "verification-failure"
        /// The mount could not sign a checkpoint (its writes go on, unsigned).
        case checkpointFailure = "checkpoint-failure"
        /// The mount could not ship to its bucket (its writes go on, kept locally), or stopped
        /// shipping because the bucket disagrees with the store.
        case shipFailure = "ship-failure"
    }

    /// Syslog severities (RFC 5424 numbers).
    public enum Severity: String, Sendable, CaseIterable {
        case emerg, alert, crit, err, warning, notice, info, debug
        public var code: Int { Self.allCases.firstIndex(of: self)! }

        public static func defaultFor(_ event: Event, rate: Bool) -> Severity {
            switch event {
            case .deny: rate ? .alert : .warning
            case .tamper: .crit
            case .reload: .notice
            case .reloadRejected: .err
            case .verificationFailure: .emerg
            case .checkpointFailure, .shipFailure: .crit
            }
        }
    }

    /// Syslog facilities by name (RFC 5424 numbers).
    public static let facilities: [String: Int] = [
        "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7, "uucp": 8, "cron": 9,
        "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21,
        "local6": 22, "local7": 23,
    ]

    public enum Action: Sendable, Equatable {
        /// To the local syslog socket (/dev/log, or `socket` for tests), with a facility number.
        case syslog(facility: Int, socket: String?)
        /// A command (argv, no shell) given the alert as JSON on standard input; killed after `timeoutNs`.
        case command(argv: [String], timeoutNs: Int64)
        /// One JSON line appended to a file outside the mount.
        case file(path: String)
    }

    /// `moreThan` denies within `withinNs`: at most `maxMoreThan` and
    /// `Timestamps.maxDuration` (365 days), so a window's memory is bounded.
    public struct Rate: Sendable, Equatable {
        public var moreThan: Int
        public var withinNs: Int64
        public static let maxMoreThan = 100_000
    }

    public var name: String
    public var event: Event
    public var severity: Severity
    public var rate: Rate?
    public var paths: [PathGlob]
    public var actions: [Action]
    public var line: Int

    public static let defaultCommandTimeoutNs: Int64 = 5_000_000_000

    public init(name: String, event: Event, severity: Severity, rate: Rate?, paths: [PathGlob], actions: [Action], line: Int) {
        self.name = name; self.event = event; self.severity = severity; self.rate = rate; self.paths = paths
        self.actions = actions; self.line = line
    }

    /// Whether the rule's paths (if any) cover `path` (or the rename target).
    public func covers(_ path: String, target: String? = nil) -> Bool {
        paths.isEmpty || paths.contains { $0.matches(path) || (target.map($0.matches) ?? false) }
    }
}
