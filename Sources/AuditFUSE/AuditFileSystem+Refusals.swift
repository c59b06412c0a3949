import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// The operations the mount always refuses (or answers with nothing), by
/// `Policy`. None of them reaches the store, so the store stays byte-identical.
///
/// getxattr is deliberately not implemented: the kernel asks for
/// "security.capability" before every write() to a FUSE file (FUSE clears
/// SB_NOSEC), doubling the round trips of a small append. Its first ENOSYS
/// makes the kernel answer every getxattr with EOPNOTSUPP itself, at no cost.
extension AuditFileSystem {
    /// unlink, rmdir, rename, link, symlink, mknod.
    func refuseNamespaceChange(_ reply: consuming Reply<Answer.Status>) {
        reply.error(Policy.namespaceChange)
    }

    /// link and symlink answer with an entry on success; they never succeed.
    func refuseNamespaceChange(_ reply: consuming Reply<Answer.Entry>) {
        reply.error(Policy.namespaceChange)
    }

    func fallocate(_ reply: consuming Reply<Answer.Status>) {
        reply.error(Policy.fallocate)
    }

    func setxattr(_ reply: consuming Reply<Answer.Status>) {
        reply.error(Policy.setExtendedAttribute)
    }

    func removexattr(_ reply: consuming Reply<Answer.Status>) {
        reply.error(Policy.setExtendedAttribute)
    }

    /// An empty list: its size is 0.
    func listxattr(_ reply: consuming Reply<Answer.ExtendedAttribute>, size: Int) {
        if size == 0 { reply.size(0) } else { reply.empty() }
    }
}
