import AuditStore
import FUSEInterface
import Glibc

/// The operations the mount refuses (or answers with nothing), by
/// `MountRules`: always link, symlink, mknod, fallocate and the xattrs;
/// unlink, rmdir and rename unless the mount runs in history mode
/// (AuditFileSystem+History.swift). None of them reaches the store's user
/// files, so they stay byte-identical; each refusal is recorded in
/// /.audit/decisions (`Authorizer.refuse`), as tamper or not by its rule
/// (`MountRules.Rule.isTamper`).
///
/// getxattr is deliberately not implemented: the kernel asks for
/// "security.capability" before every write() to a FUSE file (FUSE clears
/// SB_NOSEC), doubling the round trips of a small append. Its first ENOSYS
/// makes the kernel answer every getxattr with EOPNOTSUPP itself, at no cost.
extension AuditFileSystem {
    /// A name in a directory the request named, as a path ("?" parts when
    /// the directory or name cannot exist in a store).
    func path(parent: UInt64, name: [UInt8]) -> String {
        let dir = store.info(parent)?.path ?? "#\(parent)"
        return StorePath.join(dir, Self.name(name) ?? "?")
    }

    func path(of id: UInt64) -> String { store.info(id)?.path ?? "#\(id)" }

    // unlink, rmdir, rename: allowed only in history mode. link, symlink,
    // mknod: never allowed; they would answer an entry and never succeed.

    func unlink(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Void, Errno> {
        if history { return retireRecorded(context, parent: parent, name: name, directory: false) }
        return .failure(refuseNamespaceChange(context, "unlink", path: path(parent: parent, name: name)))
    }

    func rmdir(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Void, Errno> {
        if history { return retireRecorded(context, parent: parent, name: name, directory: true) }
        return .failure(refuseNamespaceChange(context, "rmdir", path: path(parent: parent, name: name)))
    }

    func rename(_ context: RequestContext, parent: UInt64, name: [UInt8], newParent: UInt64, newName: [UInt8],
                flags: UInt32) -> Result<Void, Errno> {
        if history {
            return renameRecorded(context, parent: parent, name: name, newParent: newParent, newName: newName, flags: flags)
        }
        return .failure(refuseNamespaceChange(context, "rename", path: path(parent: parent, name: name),
                                              target: path(parent: newParent, name: newName)))
    }

    func link(_ context: RequestContext, ino: UInt64, newParent: UInt64, newName: [UInt8]) -> Result<Entry, Errno> {
        .failure(refuseNamespaceChange(context, "link", path: path(of: ino), target: path(parent: newParent, name: newName)))
    }

    func symlink(_ context: RequestContext, target: [UInt8], parent: UInt64, name: [UInt8]) -> Result<Entry, Errno> {
        .failure(refuseNamespaceChange(context, "symlink", path: path(parent: parent, name: name),
                                       target: String(decoding: target, as: UTF8.self)))
    }

    func mknod(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32, device: UInt64) -> Result<Entry, Errno> {
        .failure(refuseNamespaceChange(context, "mknod", path: path(parent: parent, name: name)))
    }

    /// `path` is the name removed, renamed, linked or made; `target` the new
    /// name of a rename or link, the contents of a symlink.
    private func refuseNamespaceChange(_ context: RequestContext, _ operation: String, path: String,
                                       target: String? = nil) -> Errno {
        let audit = Store.isAuditPath(path) || (operation != "symlink" && target.map(Store.isAuditPath) == true)
        let newNode = operation == "symlink" || operation == "mknod"
        return Errno(authorizer.refuse(context, operation, path, target: target,
                                       rule: audit ? .auditNamespace : newNode ? .noSpecialFiles
                                           : operation == "link" ? .noHardLinks : .permanentNames,
                                       errno: MountRules.namespaceChange))
    }

    func fallocate(_ context: RequestContext, ino: UInt64, mode: Int32, offset: Int64, length: Int64,
                   handle: UInt64) -> Result<Void, Errno> {
        .failure(Errno(authorizer.refuse(context, "fallocate", path(of: ino), rule: .noFallocate, errno: MountRules.fallocate)))
    }

    func setxattr(_ context: RequestContext, ino: UInt64, name: [UInt8], value: [UInt8], flags: Int32) -> Result<Void, Errno> {
        .failure(Errno(authorizer.refuse(context, "setxattr", path(of: ino), rule: .noExtendedAttributes,
                                         errno: MountRules.setExtendedAttribute)))
    }

    func removexattr(_ context: RequestContext, ino: UInt64, name: [UInt8]) -> Result<Void, Errno> {
        .failure(Errno(authorizer.refuse(context, "removexattr", path(of: ino), rule: .noExtendedAttributes,
                                         errno: MountRules.setExtendedAttribute)))
    }

    /// An empty list: its size is 0.
    func listxattr(_ context: RequestContext, ino: UInt64, size: Int) -> Result<ExtendedAttributeData, Errno> {
        .success(size == 0 ? .size(0) : .bytes([]))
    }
}
