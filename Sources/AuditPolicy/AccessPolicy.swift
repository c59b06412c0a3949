import AuditPlumbing
import Crypto

/// A permission policy (README "Policy"): roles hold rules (verbs on path
/// globs), bindings give roles to subjects. Default deny; grants are a union.
public struct AccessPolicy: Sendable {
    public struct Rule: Sendable {
        public var paths: [PathGlob]
        public var verbs: Set<Verb>
        /// Where the rule starts in the policy file (1-based).
        public var line: Int
    }

    public struct Role: Sendable {
        public var name: String
        public var rules: [Rule]
        public var line: Int
    }

    public struct Binding: Sendable {
        public var role: String
        public var subjects: [Subject]
        public var line: Int
    }

    public var roles: [Role]
    public var bindings: [Binding]
    /// The `alerts:` rules (docs/QUERY.md "Alerts"), in file order.
    public var alerts: [AlertRule]
    /// The policy text as loaded, and its SHA-256 (hex).
    public var text: String
    public var sha256: String
    /// Role index by name, for decisions.
    let roleIndex: [String: Int]
    /// For each verb, every (binding, rule, glob) that can grant it, in the
    /// order `decide` tries them: compiled once, when the policy loads.
    let grants: [Verb: [Grant]]
    /// Whether some subject names a group (the caller's supplementary
    /// groups are then needed for a decision).
    public let namesGroups: Bool

    struct Grant: Sendable {
        var binding: Int
        var role: Int
        var rule: Int
        var glob: Int
    }

    public init(roles: [Role], bindings: [Binding], text: String, alerts: [AlertRule] = []) {
        self.roles = roles
        self.bindings = bindings
        self.alerts = alerts
        var index: [String: Int] = [:]
        for (i, r) in roles.enumerated() where index[r.name] == nil { index[r.name] = i }
        self.roleIndex = index
        var grants: [Verb: [Grant]] = [:]
        for (b, binding) in bindings.enumerated() {
            guard let r = index[binding.role] else { continue }
            for (n, rule) in roles[r].rules.enumerated() {
                for verb in rule.verbs {
                    for g in rule.paths.indices { grants[verb, default: []].append(Grant(binding: b, role: r, rule: n, glob: g)) }
                }
            }
        }
        self.grants = grants
        self.namesGroups = bindings.contains { $0.subjects.contains { s in
            switch s { case .group, .gid: true; default: false }
        } }
        self.text = text
        self.sha256 = Hex.encode(SHA256.hash(data: Array(text.utf8)))
    }

    /// The built-in policy of a mount started without --policy: every user
    /// may do everything the mount itself allows (`rename` and `remove`
    /// too: without -o history the mount refuses them whatever the policy says).
    public static let builtin: AccessPolicy = {
        let text = """
            apiVersion: auditfs/v1
            # built-in: every user may do what the mount allows
            roles:
              - name: everything
                rules:
                  - paths: ["/**"]
                    verbs: [create, append, mkdir, read, list, setattr, rename, remove]
            bindings:
              - role: everything
                subjects: [{everyone: true}]

            """
        return try! PolicyParser.parse(text).policy
    }()
}

/// Who a binding names. Users and groups are resolved through the system's
/// user database when the policy loads.
public enum Subject: Sendable, Equatable, Hashable, CustomStringConvertible {
    case user(name: String, uid: UInt32?)
    case group(name: String, gid: UInt32?)
    case uid(UInt32)
    case gid(UInt32)
    case everyone

    public var description: String {
        switch self {
        case let .user(name, _): "user:\(name)"
        case let .group(name, _): "group:\(name)"
        case let .uid(u): "uid:\(u)"
        case let .gid(g): "gid:\(g)"
        case .everyone: "everyone"
        }
    }

    /// Whether the caller is this subject.
    public func includes(_ caller: Principal) -> Bool {
        switch self {
        case let .user(_, uid): uid.map { $0 == caller.uid } ?? false
        case let .group(_, gid): gid.map { caller.isMember(of: $0) } ?? false
        case let .uid(u): u == caller.uid
        case let .gid(g): caller.isMember(of: g)
        case .everyone: true
        }
    }
}

/// The identity a decision is made for: the calling process's uid, primary
/// gid and supplementary groups.
public struct Principal: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]

    public init(uid: UInt32, gid: UInt32, groups: [UInt32]) {
        self.uid = uid; self.gid = gid; self.groups = groups
    }

    public func isMember(of gid: UInt32) -> Bool { self.gid == gid || groups.contains(gid) }
}
