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
    public func decide(_ caller: Principal, _ verb: Verb, _ path: String) -> Decision {
        for (i, binding) in bindings.enumerated() where binding.subjects.contains(where: { $0.includes(caller) }) {
            guard let r = roleIndex[binding.role] else { continue }
            let role = roles[r]
            for rule in role.rules where rule.verbs.contains(verb) {
                if let glob = rule.paths.first(where: { $0.matches(path) }) {
                    return Decision(granted: true, role: role.name, binding: i, bindingLine: binding.line,
                                    ruleLine: rule.line, glob: glob.text)
                }
            }
        }
        return .denied
    }
}
