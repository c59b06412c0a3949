/// A path pattern of a policy rule, compiled once when the policy loads.
///
/// Patterns are absolute ("/nginx/*.log"). `*` matches any run of characters
/// within one component, `?` one character, and a component that is exactly
/// `**` matches zero or more whole components — so "/nginx/**" covers the
/// directory /nginx itself and everything below it.
public struct PathGlob: Sendable, Equatable, CustomStringConvertible {
    enum Part: Sendable, Equatable {
        case literal(String)
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
        guard text.hasPrefix("/") else { throw Invalid(reason: "path glob '\(text)' must start with '/'") }
        if text == "/" { parts = []; return }
        var parts: [Part] = []
        for component in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let c = String(component)
            if c.isEmpty { throw Invalid(reason: "path glob '\(text)' has an empty component") }
            if c == "." || c == ".." { throw Invalid(reason: "path glob '\(text)' has a '\(c)' component") }
            if c == "**" {
                if parts.last != .anyDepth { parts.append(.anyDepth) }
            } else if c.contains("**") {
                throw Invalid(reason: "path glob '\(text)': '**' must be a whole component")
            } else if c.contains("[") || c.contains("]") || c.contains("{") || c.contains("}") || c.contains("\\") {
                throw Invalid(reason: "path glob '\(text)': only '*', '?' and '**' are special; '[', ']', '{', '}' and '\\' are not allowed")
            } else if c.contains("*") || c.contains("?") {
                parts.append(.pattern(Array(c.utf8)))
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

    /// The components of an absolute, normalised path, split once so that a
    /// decision tries many globs without splitting again.
    public static func components(of path: String) -> [Substring] {
        path == "/" ? [] : path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    }

    /// Whether the path split by `components(of:)` matches.
    public func matches(components: [Substring]) -> Bool {
        match(parts[...], components[...])
    }

    private func match(_ p: ArraySlice<Part>, _ c: ArraySlice<Substring>) -> Bool {
        guard let first = p.first else { return c.isEmpty }
        switch first {
        case .anyDepth:
            let rest = p.dropFirst()
            if rest.isEmpty { return true }
            var i = c.startIndex
            while true {
                if match(rest, c[i...]) { return true }
                if i == c.endIndex { return false }
                i += 1
            }
        case let .literal(s):
            guard let head = c.first, head == s else { return false }
            return match(p.dropFirst(), c.dropFirst())
        case let .pattern(pat):
            guard let head = c.first, PathGlob.wildcard(pat[...], Array(head.utf8)[...]) else { return false }
            return match(p.dropFirst(), c.dropFirst())
        }
    }

    /// `*` and `?` within one component (bytes; `?` is one byte).
    static func wildcard(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
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
}
