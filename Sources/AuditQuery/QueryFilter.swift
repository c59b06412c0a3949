import AuditPlumbing
import AuditRecords
import AuditStore

/// The filters of `auditfs query` and `watch`: all given ones must match.
public struct QueryFilter: Sendable {
    public var since: Int64?
    /// Exclusive.
    public var until: Int64?
    public var user: String?
    public var uid: UInt32?
    public var path: PathGlob?
    public var verb: String?
    /// "grant" or "deny".
    public var decision: String?
    public var tamperOnly = false

    public init() {}

    /// The uid a `--user` name has on this host: a record written while the
    /// name was unknown (no `user` field) still matches by uid.
    var userUID: UInt32? { user.flatMap { SystemUsers.uid(ofUser: $0) } }

    public func matches(time: Int64) -> Bool {
        if let since, time < since { return false }
        if let until, time >= until { return false }
        return true
    }

    /// The whole filter on a decision record as stored: the final word,
    /// whatever the index said.
    public func matches(_ d: DecisionRecord) -> Bool {
        guard matches(time: d.timeNs) else { return false }
        if let user, d.user != user, !(d.user == nil && userUID == d.uid) { return false }
        if let uid, d.uid != uid { return false }
        if let verb, d.verb != verb { return false }
        if let decision, d.decision != decision { return false }
        if tamperOnly && !d.tamper { return false }
        if let path, !(path.matches(d.path) || (d.target.map(path.matches) ?? false)) { return false }
        return true
    }

    /// Whether only decisions can match (anything but the time is set): watch
    /// then leaves out policy changes, events and alerts.
    public var isDecisionsOnly: Bool {
        user != nil || uid != nil || path != nil || verb != nil || decision != nil || tamperOnly
    }
}
