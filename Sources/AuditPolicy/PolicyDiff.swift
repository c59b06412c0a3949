/// What changed between two policies, spelled out for the audit record
/// (`/.audit/policy/changes.jsonl`, docs/POLICY.md):
///
/// - an **assignment** is a (role, subject) pair present in some binding of
///   the new policy and in none of the old one; a **revocation** the reverse.
///   Moving a subject from one binding of a role to another of the same role
///   changes nothing (the subject keeps the role).
/// - roles are compared by name; rules by their role, globs and verbs (a rule
///   whose globs or verbs changed is one rule removed and one added; a rule
///   that only moved to another line is not a change).
///
/// Every list is sorted, so equal changes encode to equal bytes.
public struct PolicyDiff: Sendable, Equatable, Codable {
    public struct Assignment: Sendable, Hashable, Codable, Comparable {
        public var role: String
        /// `user:NAME`, `group:NAME`, `uid:N`, `gid:N` or `everyone`.
        public var subject: String

        public init(role: String, subject: String) { self.role = role; self.subject = subject }

        public static func < (a: Self, b: Self) -> Bool { (a.role, a.subject) < (b.role, b.subject) }
    }

    public struct RuleChange: Sendable, Hashable, Codable, Comparable {
        public var role: String
        public var paths: [String]
        public var verbs: [String]

        public init(role: String, paths: [String], verbs: [String]) {
            self.role = role; self.paths = paths; self.verbs = verbs
        }

        public static func < (a: Self, b: Self) -> Bool {
            (a.role, a.paths.joined(separator: "\u{0}"), a.verbs.joined(separator: ",")) <
                (b.role, b.paths.joined(separator: "\u{0}"), b.verbs.joined(separator: ","))
        }
    }

    public var assigned: [Assignment]
    public var revoked: [Assignment]
    public var rolesAdded: [String]
    public var rolesRemoved: [String]
    public var rulesAdded: [RuleChange]
    public var rulesRemoved: [RuleChange]

    public var isEmpty: Bool {
        assigned.isEmpty && revoked.isEmpty && rolesAdded.isEmpty && rolesRemoved.isEmpty && rulesAdded.isEmpty
            && rulesRemoved.isEmpty
    }

    /// The change from `old` (nil: nothing was enforced before) to `new`.
    public init(from old: AccessPolicy?, to new: AccessPolicy) {
        let before = old.map(Self.assignments) ?? []
        let after = Self.assignments(new)
        assigned = after.subtracting(before).sorted()
        revoked = before.subtracting(after).sorted()
        let oldRoles = Set(old?.roles.map(\.name) ?? [])
        let newRoles = Set(new.roles.map(\.name))
        rolesAdded = newRoles.subtracting(oldRoles).sorted()
        rolesRemoved = oldRoles.subtracting(newRoles).sorted()
        let oldRules = old.map(Self.rules) ?? [:]
        let newRules = Self.rules(new)
        rulesAdded = Self.surplus(newRules, over: oldRules)
        rulesRemoved = Self.surplus(oldRules, over: newRules)
    }

    /// Every (role, subject) pair the bindings make.
    static func assignments(_ p: AccessPolicy) -> Set<Assignment> {
        var out: Set<Assignment> = []
        for b in p.bindings {
            for s in b.subjects { out.insert(Assignment(role: b.role, subject: s.description)) }
        }
        return out
    }

    /// Every rule with its role, counted (two identical rules count twice).
    static func rules(_ p: AccessPolicy) -> [RuleChange: Int] {
        var out: [RuleChange: Int] = [:]
        for role in p.roles {
            for r in role.rules {
                let key = RuleChange(role: role.name, paths: r.paths.map(\.text).sorted(),
                                     verbs: r.verbs.map(\.rawValue).sorted())
                out[key, default: 0] += 1
            }
        }
        return out
    }

    /// The rules of `a` that `b` does not have (as many times as `a` has more).
    static func surplus(_ a: [RuleChange: Int], over b: [RuleChange: Int]) -> [RuleChange] {
        var out: [RuleChange] = []
        for (rule, n) in a where n > b[rule, default: 0] {
            out += Array(repeating: rule, count: n - b[rule, default: 0])
        }
        return out.sorted()
    }
}
