/// A path pattern of a policy rule, compiled once when the policy loads.
///
/// Patterns are absolute ("/nginx/*.log"). `*` matches any run of bytes
/// within one component, `?` one byte, and a component that is exactly
/// `**` matches zero or more whole components — so "/nginx/**" covers the
/// directory /nginx itself and everything below it.
///
/// Patterns and paths are byte strings (FORMAT.md "Paths"): components are
/// split at the byte "/" only, literals compare bytewise (NFC "é" is not NFD
/// "e\u{301}"), so no wildcard ever spans a "/", whatever follows it.
///
/// Matching is a set-of-states simulation: state i means "the first i parts
/// match the components read so far"; each component moves every state at
/// most once. Time is O(components × parts × component length), never
/// exponential in the number of `**`.
public struct PathGlob: Sendable, Equatable, CustomStringConvertible {
    enum Part: Sendable, Equatable {
        case literal([UInt8])
        case pattern([UInt8])
        case anyDepth
    }

    public let text: String
    let parts: [Part]

    public struct Invalid: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public init(_ text: String) throws(Invalid) {
        self.text = text
        let bytes = Array(text.utf8)
        guard bytes.first == Self.slash else { throw Invalid(reason: "path glob '\(text)' must start with '/'") }
        if bytes.count == 1 { parts = []; return }
        let star = UInt8(ascii: "*"), question = UInt8(ascii: "?"), dot = UInt8(ascii: ".")
        let refused: Set<UInt8> = Set("[]{}\\".utf8)
        var parts: [Part] = []
        for component in bytes.dropFirst().split(separator: Self.slash, omittingEmptySubsequences: false) {
            let c = Array(component)
            if c.isEmpty { throw Invalid(reason: "path glob '\(text)' has an empty component") }
            if c == [dot] || c == [dot, dot] { throw Invalid(reason: "path glob '\(text)' has a '\(String(decoding: c, as: UTF8.self))' component") }
            if c == [star, star] {
                if parts.last != .anyDepth { parts.append(.anyDepth) }
            } else if zip(c, c.dropFirst()).contains(where: { $0 == star && $1 == star }) {
                throw Invalid(reason: "path glob '\(text)': '**' must be a whole component")
            } else if c.contains(where: refused.contains) {
                throw Invalid(reason: "path glob '\(text)': only '*', '?' and '**' are special; '[', ']', '{', '}' and '\\' are not allowed")
            } else if c.contains(star) || c.contains(question) {
                parts.append(.pattern(c))
            } else {
                parts.append(.literal(c))
            }
        }
        self.parts = parts
    }

    public var description: String { text }

    /// Whether the absolute, normalised `path` matches.
    public func matches(_ path: String) -> Bool {
        matches(components: Self.components(of: path))
    }

    /// The components of an absolute, normalised path, split at each "/"
    /// byte once, so that a decision tries many globs without splitting again.
    public static func components(of path: String) -> [Substring] {
        let u = path.utf8
        if u.count == 1 && u.first == slash { return [] }
        return u.dropFirst().split(separator: slash, omittingEmptySubsequences: false).map { Substring($0) }
    }

    /// Whether the path split by `components(of:)` matches.
    public func matches(components: [Substring]) -> Bool {
        var steps = 0
        return match(components, steps: &steps)
    }

    /// The simulation; `steps` counts the (state, component) pairs tried,
    /// at most components × parts.
    func match(_ components: [Substring], steps: inout Int) -> Bool {
        let n = parts.count
        var current = [Bool](repeating: false, count: n + 1)
        var next = current
        current[0] = true
        close(&current)
        for component in components {
            for i in 0..<next.count { next[i] = false }
            var alive = false
            for i in 0..<n where current[i] {
                steps += 1
                switch parts[i] {
                case .anyDepth:
                    // `**` swallows this component and may swallow more.
                    next[i] = true
                    if i + 1 == n { return true }   // a trailing `**` matches whatever follows
                case let .literal(bytes):
                    if component.utf8.elementsEqual(bytes) { next[i + 1] = true }
                case let .pattern(pattern):
                    if Self.wildcard(pattern, component) { next[i + 1] = true }
                }
                alive = alive || next[i] || next[i + 1]
            }
            if !alive { return false }
            close(&next)
            swap(&current, &next)
        }
        return current[n]
    }

    /// Adds the states reachable without reading a component: past each
    /// `**` that matches zero components.
    private func close(_ states: inout [Bool]) {
        for i in 0..<parts.count where states[i] && parts[i] == .anyDepth { states[i + 1] = true }
    }

    static func wildcard(_ pattern: [UInt8], _ component: Substring) -> Bool {
        if let r = component.utf8.withContiguousStorageIfAvailable({ wildcard(pattern[...], $0[...]) }) { return r }
        return wildcard(pattern[...], Array(component.utf8)[...])
    }

    /// `*` and `?` within one component (bytes; `?` is one byte). Greedy with
    /// one backtrack point (the last `*`): O(pattern × component) at worst.
    static func wildcard<S: Collection<UInt8>>(_ p: ArraySlice<UInt8>, _ s: S) -> Bool where S.Index == Int {
        var pi = p.startIndex, si = s.startIndex
        var star: Int? = nil, mark = s.startIndex
        while si < s.endIndex {
            if pi < p.endIndex && (p[pi] == UInt8(ascii: "?") || p[pi] == s[si]) {
                pi += 1; si += 1
            } else if pi < p.endIndex && p[pi] == UInt8(ascii: "*") {
                star = pi; mark = si; pi += 1
            } else if let st = star {
                pi = st + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.endIndex && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.endIndex
    }

    private static let slash = UInt8(ascii: "/")
}
