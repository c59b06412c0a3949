import AuditStore
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// The operations the mount always refuses (or answers with nothing), by
/// `MountRules`. None of them reaches the store's user files, so they stay
/// byte-identical; each refusal is recorded in /.audit/decisions as a
/// tamper attempt (`Authorizer.refuse`).
///
/// getxattr is deliberately not implemented: the kernel asks for
/// "security.capability" before every write() to a FUSE file (FUSE clears
/// SB_NOSEC), doubling the round trips of a small append. Its first ENOSYS
/// makes the kernel answer every getxattr with EOPNOTSUPP itself, at no cost.
extension AuditFileSystem {
    /// A name in a directory the request named, as a path ("?" parts when
    /// the directory or name cannot exist in a store).
    func path(parent: UInt64, name: UnsafePointer<CChar>?) -> String {
        let dir = store.info(parent)?.path ?? "#\(parent)"
        return StorePath.join(dir, name.flatMap(Self.name) ?? "?")
    }

    func path(of id: UInt64) -> String { store.info(id)?.path ?? "#\(id)" }

    /// unlink, rmdir, rename, link, symlink, mknod: `path` is the name
    /// removed, renamed, linked or made; `target` the new name of a rename or
    /// link, the contents of a symlink.
    func refuseNamespaceChange(_ reply: consuming Reply<Answer.Status>, request: fuse_req_t, _ operation: String,
                               path: String, target: String? = nil) {
        reply.error(recordNamespaceChange(request, operation, path: path, target: target))
    }

    /// link, symlink and mknod answer with an entry on success; they never succeed.
    func refuseNamespaceChange(_ reply: consuming Reply<Answer.Entry>, request: fuse_req_t, _ operation: String,
                               path: String, target: String? = nil) {
        reply.error(recordNamespaceChange(request, operation, path: path, target: target))
    }

    private func recordNamespaceChange(_ request: fuse_req_t, _ operation: String, path: String, target: String?) -> Int32 {
        let audit = Store.isAuditPath(path) || (operation != "symlink" && target.map(Store.isAuditPath) == true)
        return authorizer.refuse(request, operation, path, target: target,
                                 rule: audit ? .auditNamespace : .permanentNames, errno: MountRules.namespaceChange)
    }

    func fallocate(_ reply: consuming Reply<Answer.Status>, request: fuse_req_t, id: UInt64) {
        reply.error(authorizer.refuse(request, "fallocate", path(of: id), rule: .noFallocate, errno: MountRules.fallocate))
    }

    func setxattr(_ reply: consuming Reply<Answer.Status>, request: fuse_req_t, id: UInt64) {
        reply.error(authorizer.refuse(request, "setxattr", path(of: id), rule: .noExtendedAttributes,
                                      errno: MountRules.setExtendedAttribute))
    }

    func removexattr(_ reply: consuming Reply<Answer.Status>, request: fuse_req_t, id: UInt64) {
        reply.error(authorizer.refuse(request, "removexattr", path(of: id), rule: .noExtendedAttributes,
                                      errno: MountRules.setExtendedAttribute))
    }

    /// An empty list: its size is 0.
    func listxattr(_ reply: consuming Reply<Answer.ExtendedAttribute>, size: Int) {
        if size == 0 { reply.size(0) } else { reply.empty() }
    }
}
