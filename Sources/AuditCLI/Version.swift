/// The version of auditfs and auditfs-check: the one place it is written.
/// `--version` prints it, and `scripts/package` reads it from the built
/// binary for the Debian packages' version, so a package and the binary in
/// it cannot disagree.
public enum AuditFSVersion {
    public static let string = "0.1.0"
}
