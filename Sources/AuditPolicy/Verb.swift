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
    /// (an empty file, or no change at all; with `-o history`, any file or
    /// directory).
    case setattr
    /// With `-o history`: rename a file or directory, asked of both the old
    /// and the new name.
    case rename
    /// With `-o history`: take a name out of the visible namespace — unlink,
    /// rmdir, or a rename onto an existing name (asked of the name
    /// replaced). Nothing is deleted: the node moves under /.audit/retired.
    case remove

    public static func < (a: Verb, b: Verb) -> Bool { a.rawValue < b.rawValue }

    /// The verb an unknown word most likely meant — the system call or
    /// command a policy author reaches for — or nil.
    public static func meant(by word: String) -> Verb? {
        switch word {
        case "delete", "unlink", "rmdir", "rm", "retire": .remove
        case "move", "mv": .rename
        case "write": .append
        case "chmod", "chown", "utimens", "utimes", "touch": .setattr
        default: nil
        }
    }

    /// The one-line error for a word that is no verb: every verb, and the
    /// one it likely meant.
    public static func unknown(_ word: String) -> String {
        let hint = meant(by: word).map { "; for \(word) the verb is '\($0.rawValue)'" } ?? ""
        return "unknown verb '\(word)' (expected one of \(allCases.map(\.rawValue).joined(separator: ", "))\(hint))"
    }
}
