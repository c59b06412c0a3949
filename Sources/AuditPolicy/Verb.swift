/// What a policy rule can grant (README "Policy").
public enum Verb: String, CaseIterable, Sendable, Codable, Comparable {
    /// Create a file.
    case create
    /// Open an existing file for writing, and append to it.
    case append
    /// Create a directory.
    case mkdir
    /// Open a file for reading.
    case read
    /// Open and list a directory.
    case list
    /// chmod, chown or utimes beyond the mount's built-in allowance
    /// (an empty file, or no change at all).
    case setattr

    public static func < (a: Verb, b: Verb) -> Bool { a.rawValue < b.rawValue }
}
