import AuditPlumbing

/// Paths inside a store: absolute, "/"-separated, normalised (FORMAT.md "Paths").
/// No empty, "." or ".." component, no NUL, components of at most 255 bytes,
/// at most 4096 bytes in all. "/" is the root directory.
///
/// A path is a byte string: every operation here splits, joins and compares
/// UTF-8 code units (the byte 0x2F is the only separator), never grapheme
/// clusters or canonical equivalents (`ByteString`).
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
        var bytes = Array(input.utf8)
        if bytes.first != slash { bytes.insert(slash, at: 0) }
        if bytes.count > 1 && bytes.last == slash { bytes.removeLast() }
        let p = String(decoding: bytes, as: UTF8.self)
        _ = try components(of: p)
        return p
    }

    public static func checkName(_ name: String, in path: String? = nil) throws(Invalid) {
        let b = Array(name.utf8)
        let where_ = path ?? name
        if b.isEmpty { throw Invalid(path: where_, reason: "empty component") }
        if b == [UInt8(ascii: ".")] || b == [UInt8(ascii: "."), UInt8(ascii: ".")] { throw Invalid(path: where_, reason: "'\(name)' component") }
        if b.count > Format.maxNameSize { throw Invalid(path: where_, reason: "component longer than \(Format.maxNameSize) bytes") }
        if b.contains(0) { throw Invalid(path: where_, reason: "contains NUL") }
        if b.contains(UInt8(ascii: "/")) { throw Invalid(path: where_, reason: "'/' in a name") }
        if String(validating: b, as: UTF8.self) == nil { throw Invalid(path: where_, reason: "not UTF-8") }
    }

    public static func normalize(_ components: [String]) -> String { "/" + components.joined(separator: "/") }

    public static func join(_ dir: String, _ name: String) -> String { dir.sameBytes(as: "/") ? "/" + name : dir + "/" + name }

    /// Everything before the last "/" byte ("/" for a top-level name).
    public static func parent(of path: String) -> String {
        let u = path.utf8
        guard let i = u.lastIndex(of: slash), i != u.startIndex else { return "/" }
        return String(Substring(u[..<i]))
    }

    /// Everything after the last "/" byte.
    public static func name(of path: String) -> String {
        let u = path.utf8
        guard let i = u.lastIndex(of: slash) else { return path }
        return String(Substring(u[u.index(after: i)...]))
    }

    private static let slash = UInt8(ascii: "/")
}
