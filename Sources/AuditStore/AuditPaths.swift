import AuditPlumbing

/// Where the store keeps its own records, as ordinary files under /.audit
/// (README "The audit namespace"): covered by the same chains and checks as
/// every other file, and written only by auditfs itself.
public enum AuditPaths {
    public static let root = "/.audit"
    /// Every signed checkpoint, one per block (each block is one signed note).
    public static let checkpoints = "/.audit/checkpoints"
    /// Witness cosignatures (C2SP tlog-witness answers), one block each: a
    /// stored checkpoint with one witness's cosignature lines added, and a
    /// blank line (FORMAT.md "Signed notes in /.audit").
    public static let cosignatures = "/.audit/cosignatures"
    /// Key certificates: epoch N's public key, signed by epoch N-1's key.
    public static let keys = "/.audit/keys"

    /// Where retired files and directories go (history mode): a rename
    /// record moves a node here when it is unlinked, removed or replaced
    /// (FORMAT.md "Retired paths"), and it takes no record after that.
    public static let retired = "/.audit/retired"

    /// Whether `path` is strictly below /.audit/retired, bytewise.
    public static func isRetired(_ path: String) -> Bool { path.hasBytePrefix(retired + "/") }

    public static func certificate(epoch: Int) -> String { keys + "/epoch-\(epoch).cert" }

    /// The epoch a certificate path names, or nil.
    public static func epoch(ofCertificate path: String) -> Int? {
        let prefix = keys + "/epoch-", suffix = ".cert"
        guard path.hasBytePrefix(prefix), path.hasByteSuffix(suffix), path.utf8.count > prefix.utf8.count + suffix.utf8.count else { return nil }
        let digits = path.utf8.dropFirst(prefix.utf8.count).dropLast(suffix.utf8.count)
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(String(Substring(digits)))
    }

    /// Whether `path` is inside /.audit (or is /.audit), bytewise.
    public static func contains(_ path: String) -> Bool {
        path.sameBytes(as: root) || path.hasBytePrefix(root + "/")
    }
}
