/// Where auditfs keeps its store in S3: `s3://BUCKET` or `s3://BUCKET/PREFIX`.
///
/// The bucket follows S3's naming rules (3–63 characters of `a-z 0-9 . -`,
/// starting and ending with a letter or digit, no `..`, not an IPv4 address).
/// The prefix is the rest after the first `/`, with trailing slashes removed;
/// it may be empty. It is refused when it holds a control character (bytes
/// 0x00–0x1f, 0x7f), a backslash, an empty segment (`a//b`, or a leading `/`),
/// a `.` or `..` segment (HTTP stacks rewrite those paths, so the signed path
/// would not be the path sent), or more than 900 bytes of UTF-8 (S3 keys are at
/// most 1,024; the rest is left for the names under it).
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    public var prefix: String

    public init(bucket: String, prefix: String) throws(S3Error) {
        try Self.checkBucket(bucket)
        try Self.checkPrefix(prefix, in: "s3://\(bucket)/\(prefix)")
        self.bucket = bucket
        self.prefix = prefix
    }

    public init(parsing url: String) throws(S3Error) {
        let shown = S3Error.printable(url)
        guard url.hasPrefix("s3://") else { throw .usage("\(shown): not an S3 location (expected s3://BUCKET/PREFIX)") }
        let rest = url.dropFirst(5)
        let bucket: Substring
        var prefix: Substring
        if let slash = rest.firstIndex(of: "/") {
            bucket = rest[..<slash]
            prefix = rest[rest.index(after: slash)...]
        } else {
            bucket = rest
            prefix = ""
        }
        while prefix.hasSuffix("/") { prefix = prefix.dropLast() }
        do {
            try Self.checkBucket(String(bucket))
            try Self.checkPrefix(String(prefix), in: url)
        } catch {
            throw .usage("\(shown): \(error.description)")
        }
        self.bucket = String(bucket)
        self.prefix = String(prefix)
    }

    /// `s3://bucket/prefix`, or `s3://bucket` when the prefix is empty.
    public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    /// The key of `name` under the prefix: `prefix/name`, or `name` when the prefix is empty.
    public func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "/" + name }

    /// Refuses a bucket name S3 would refuse (the message says which rule).
    public static func checkBucket(_ name: String) throws(S3Error) {
        let b = Array(name.utf8)
        if b.isEmpty { throw .usage("empty bucket name") }
        if b.count < 3 || b.count > 63 { throw .usage("bucket name must be 3 to 63 characters, not \(b.count)") }
        for c in b {
            let ok = (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
            if !ok { throw .usage("bucket name may hold only a-z, 0-9, '.' and '-'") }
        }
        func alnum(_ c: UInt8) -> Bool { c != UInt8(ascii: ".") && c != UInt8(ascii: "-") }
        if !alnum(b[0]) || !alnum(b[b.count - 1]) { throw .usage("bucket name must start and end with a letter or digit") }
        if name.contains("..") { throw .usage("bucket name may not contain '..'") }
        if name.contains(".-") || name.contains("-.") { throw .usage("bucket name may not contain '.-' or '-.'") }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4 && parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }) {
            throw .usage("bucket name may not be an IP address")
        }
    }

    /// Refuses a prefix (or key) as the type's doc says. `context` is unused but
    /// kept for messages' sake by callers.
    static func checkPrefix(_ prefix: String, in context: String) throws(S3Error) {
        if prefix.isEmpty { return }
        if prefix.utf8.count > 900 { throw .usage("prefix is longer than 900 bytes") }
        try checkKeyBytes(prefix, what: "prefix")
    }

    /// The rules a key or prefix shares: no control characters or backslash,
    /// no empty, `.` or `..` segment.
    static func checkKeyBytes(_ key: String, what: String) throws(S3Error) {
        for c in key.utf8 where c < 0x20 || c == 0x7f || c == UInt8(ascii: "\\") {
            throw .usage("\(what) holds a control character or backslash")
        }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { throw .usage("\(what) has an empty segment ('//' or a leading '/')") }
            if segment == "." || segment == ".." { throw .usage("\(what) has a '.' or '..' segment") }
        }
    }
}
