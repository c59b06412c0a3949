/// Paths inside a store: absolute, "/"-separated, normalised (FORMAT.md "Paths").
/// No empty, "." or ".." component, no NUL, components of at most 255 bytes,
/// at most 4096 bytes in all. "/" is the root directory.
public enum StorePath {
    public struct Invalid: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "invalid path '\(path)': \(reason)" }
    }

    /// Checks a path as stored in a record.
    public static func isValid(_ path: String) -> Bool { (try? components(of: path)) != nil }

    /// Splits and checks a normalised absolute path.
    public static func components(of path: String) throws(Invalid) -> [String] {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else { throw Invalid(path: path, reason: "not absolute") }
        guard bytes.count <= Format.maxPathSize else { throw Invalid(path: path, reason: "longer than \(Format.maxPathSize) bytes") }
        guard !bytes.contains(0) else { throw Invalid(path: path, reason: "contains NUL") }
        if bytes.count == 1 { return [] }
        var result: [String] = []
        for part in bytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            try checkName(String(decoding: part, as: UTF8.self), in: path)
            result.append(String(decoding: part, as: UTF8.self))
        }
        return result
    }

    /// Accepts a user-supplied path: adds a leading "/" if missing; rejects
    /// "..", ".", empty components (other than a trailing "/"), NUL.
    public static func parse(_ input: String) throws(Invalid) -> String {
        var p = input
        if !p.hasPrefix("/") { p = "/" + p }
        if p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        _ = try components(of: p)
        return p
    }

    public static func checkName(_ name: String, in path: String? = nil) throws(Invalid) {
        let b = Array(name.utf8)
        let where_ = path ?? name
        if b.isEmpty { throw Invalid(path: where_, reason: "empty component") }
        if name == "." || name == ".." { throw Invalid(path: where_, reason: "'\(name)' component") }
        if b.count > Format.maxNameSize { throw Invalid(path: where_, reason: "component longer than \(Format.maxNameSize) bytes") }
        if b.contains(0) { throw Invalid(path: where_, reason: "contains NUL") }
        if b.contains(UInt8(ascii: "/")) { throw Invalid(path: where_, reason: "'/' in a name") }
        if String(validating: b, as: UTF8.self) == nil { throw Invalid(path: where_, reason: "not UTF-8") }
    }

    public static func normalize(_ components: [String]) -> String { "/" + components.joined(separator: "/") }

    public static func join(_ dir: String, _ name: String) -> String { dir == "/" ? "/" + name : dir + "/" + name }

    public static func parent(of path: String) -> String {
        guard let i = path.lastIndex(of: "/"), i != path.startIndex else { return "/" }
        return String(path[..<i])
    }

    public static func name(of path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: i)...])
    }
}
