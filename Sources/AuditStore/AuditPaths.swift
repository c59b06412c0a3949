/// Where the store keeps its own records, as ordinary files under /.audit
/// (README "The audit namespace"): covered by the same chains and checks as
/// every other file, and written only by auditfs itself.
public enum AuditPaths {
    public static let root = "/.audit"
    /// Every signed checkpoint, one per block (each block is one signed note).
    public static let checkpoints = "/.audit/checkpoints"
    /// Key certificates: epoch N's public key, signed by epoch N-1's key.
    public static let keys = "/.audit/keys"

    public static func certificate(epoch: Int) -> String { keys + "/epoch-\(epoch).cert" }

    /// The epoch a certificate path names, or nil.
    public static func epoch(ofCertificate path: String) -> Int? {
        guard path.hasPrefix(keys + "/epoch-"), path.hasSuffix(".cert") else { return nil }
        return Int(path.dropFirst((keys + "/epoch-").count).dropLast(".cert".count))
    }

    /// Whether `path` is inside /.audit (or is /.audit).
    public static func contains(_ path: String) -> Bool { path == root || path.hasPrefix(root + "/") }
}
