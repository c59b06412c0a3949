import AuditPlumbing

/// The answer of the policy for one request, with what made it.
public struct Decision: Sendable, Equatable {
    public var granted: Bool
    /// The role, the binding (index in the file, 0-based, and its line) and
    /// the rule (line) that granted; nil when denied.
    public var role: String?
    public var binding: Int?
    public var bindingLine: Int?
    public var ruleLine: Int?
    public var glob: String?

    public static let denied = Decision(granted: false)

    public init(granted: Bool, role: String? = nil, binding: Int? = nil, bindingLine: Int? = nil, ruleLine: Int? = nil, glob: String? = nil) {
        self.granted = granted; self.role = role; self.binding = binding; self.bindingLine = bindingLine
        self.ruleLine = ruleLine; self.glob = glob
    }
}

extension AccessPolicy {
    /// Decides whether `caller` may do `verb` on `path` (absolute,
    /// normalised). Default deny; the first grant in file order is named.
    ///
    /// Cost: the path is split once; only the (binding, rule, glob) entries
    /// compiled for `verb` are tried, and each binding's subjects are matched
    /// at most once.
    public func decide(_ caller: Principal, _ verb: Verb, _ path: String) -> Decision {
        guard let candidates = grants[verb] else { return .denied }
        let components = PathGlob.components(of: path)
        var subjectMatch = [Int8](repeating: -1, count: bindings.count)   // -1 unknown, 0 no, 1 yes
        for g in candidates {
            if subjectMatch[g.binding] < 0 {
                subjectMatch[g.binding] = bindings[g.binding].subjects.contains(where: { $0.includes(caller) }) ? 1 : 0
            }
            guard subjectMatch[g.binding] == 1 else { continue }
            let rule = roles[g.role].rules[g.rule]
            let glob = rule.paths[g.glob]
            if glob.matches(components: components) {
                return Decision(granted: true, role: roles[g.role].name, binding: g.binding,
                                bindingLine: bindings[g.binding].line, ruleLine: rule.line, glob: glob.text)
            }
        }
        return .denied
    }
}
