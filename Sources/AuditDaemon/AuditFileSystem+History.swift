import AuditPolicy
import AuditStore
import FUSEInterface
import Glibc

/// History mode (`-o history`, docs/MOUNT.md "History mode"): rename,
/// unlink and rmdir change the namespace and keep every byte. A rename is a
/// record of the moved node (its id, chain and blocks go with it); a name
/// removed — by unlink, rmdir or a rename onto it — moves with its bytes
/// under /.audit/retired (`Store.rename`, `Store.retire`). Without history
/// the same calls are refused (AuditFileSystem+Refusals.swift).
///
/// The checks, in the kernel's order where the kernel would make them:
/// 1. anything naming /.audit: refused as in strict mode (rule
///    audit-namespace, tamper), before any other check;
/// 2. rename flags: RENAME_NOREPLACE is kept, RENAME_EXCHANGE and
///    RENAME_WHITEOUT are refused with EINVAL (rule rename-flags, not tamper);
/// 3. the mode bits (`ModeBits`): search on every directory above each
///    name, then the kernel's may_delete on the name taken away (w on its
///    directory, the sticky bit) and may_delete or may_create on the new
///    name; a directory moving to another directory needs w on itself;
/// 4. POSIX errors that need no decision: ENOENT, EEXIST (NOREPLACE),
///    EISDIR, ENOTDIR, ENOTEMPTY, EINVAL (a directory into its own subtree);
/// 5. the policy: `rename` on the old and on the new name, `remove` on a
///    name replaced; `remove` for unlink and rmdir — each decision recorded;
/// 6. the store, which checks again under its lock.
extension AuditFileSystem {
    /// rename(2) in history mode.
    func renameRecorded(_ context: RequestContext, parent: UInt64, name: [UInt8], newParent: UInt64,
                        newName: [UInt8], flags: UInt32) -> Result<Void, Errno> {
        guard let n = Self.name(name) else { return .failure(Errno(ENOENT)) }   // no such name can exist
        guard let nn = Self.name(newName) else {
            return .failure(Errno(newName.count > Format.maxNameSize ? ENAMETOOLONG : EINVAL))
        }
        guard let dir = store.info(parent), let newDir = store.info(newParent) else { return .failure(Errno(ENOENT)) }
        guard dir.isDirectory, newDir.isDirectory else { return .failure(Errno(ENOTDIR)) }
        let path = StorePath.join(dir.path, n), target = StorePath.join(newDir.path, nn)
        if Store.isAuditPath(path) || Store.isAuditPath(target) {
            return .failure(Errno(authorizer.refuse(context, "rename", path, target: target, rule: .auditNamespace,
                                                    errno: MountRules.auditNamespaceChange)))
        }
        if flags & ~MountRules.renameNoReplace != 0 {
            return .failure(Errno(authorizer.refuse(context, "rename", path, target: target, rule: .renameFlags,
                                                    errno: MountRules.renameFlagsRefused)))
        }
        let who = credentials(context)
        let newChain = ancestry(newDir)
        if let refused = checkSearch(context, who, ancestry(dir), operation: "rename", path: path)
            ?? checkSearch(context, who, newChain, operation: "rename", path: target) {
            return .failure(Errno(refused))
        }
        guard let node = store.lookup(parent: parent, name: n) else { return .failure(Errno(ENOENT)) }
        let replaced = store.lookup(parent: newParent, name: nn)
        // A name onto itself: the kernel answers it without asking; nothing changes.
        if replaced?.id == node.id { return .success(()) }
        if flags & MountRules.renameNoReplace != 0 && replaced != nil { return .failure(Errno(EEXIST)) }
        if let refused = checkRemove(context, who, node, from: dir, operation: "rename", path: path) {
            return .failure(Errno(refused))
        }
        if let replaced {
            if let refused = checkRemove(context, who, replaced, from: newDir, operation: "rename", path: target) {
                return .failure(Errno(refused))
            }
        } else if let refused = checkBits(context, who, newDir.modeBitsNode, nodePath: newDir.path, .write,
                                          operation: "rename", path: target) {
            return .failure(Errno(refused))
        }
        // A directory that changes directory rewrites its "..": w on itself.
        if node.isDirectory && newDir.id != dir.id,
           let refused = checkBits(context, who, node.modeBitsNode, nodePath: node.path, .write,
                                   operation: "rename", path: path) {
            return .failure(Errno(refused))
        }
        if let refused = Self.renameError(node, onto: replaced, into: newChain) { return .failure(Errno(refused)) }
        if let refused = authorizer.check(context, .rename, path, target: target)
            ?? authorizer.check(context, .rename, target, target: path)
            ?? (replaced != nil ? authorizer.check(context, .remove, target, target: path) : nil) {
            return .failure(Errno(refused))
        }
        do {
            _ = try store.rename(parent: parent, name: n, newParent: newParent, newName: nn,
                                 replace: flags & MountRules.renameNoReplace == 0,
                                 by: Caller.provenance(of: context, fresh: true))
        } catch {
            if error.isFailure { Log.error("rename \(path) to \(target): \(error)") }
            return .failure(Errno(Self.nameErrno(error, nn)))
        }
        return .success(())
    }

    /// unlink(2) (`directory` false) and rmdir(2) in history mode: the node
    /// leaves the visible namespace for /.audit/retired, with its bytes.
    func retireRecorded(_ context: RequestContext, parent: UInt64, name: [UInt8], directory: Bool) -> Result<Void, Errno> {
        let operation = directory ? "rmdir" : "unlink"
        guard let n = Self.name(name) else { return .failure(Errno(ENOENT)) }
        guard let dir = store.info(parent) else { return .failure(Errno(ENOENT)) }
        guard dir.isDirectory else { return .failure(Errno(ENOTDIR)) }
        let path = StorePath.join(dir.path, n)
        if Store.isAuditPath(path) {
            return .failure(Errno(authorizer.refuse(context, operation, path, rule: .auditNamespace,
                                                    errno: MountRules.auditNamespaceChange)))
        }
        let who = credentials(context)
        if let refused = checkSearch(context, who, ancestry(dir), operation: operation, path: path) {
            return .failure(Errno(refused))
        }
        guard let node = store.lookup(parent: parent, name: n) else { return .failure(Errno(ENOENT)) }
        if let refused = checkRemove(context, who, node, from: dir, operation: operation, path: path) {
            return .failure(Errno(refused))
        }
        if directory && !node.isDirectory { return .failure(Errno(ENOTDIR)) }
        if !directory && node.isDirectory { return .failure(Errno(EISDIR)) }
        if directory && node.childCount > 0 { return .failure(Errno(ENOTEMPTY)) }
        if let refused = authorizer.check(context, .remove, path) { return .failure(Errno(refused)) }
        do {
            _ = try store.retire(parent: parent, name: n, directory: directory, by: Caller.provenance(of: context, fresh: true))
        } catch {
            if error.isFailure { Log.error("\(operation) \(path): \(error)") }
            return .failure(Errno(error.errno))
        }
        return .success(())
    }

    /// The kernel's may_delete by the mode bits (`ModeBits.checkRemove`),
    /// recorded when it refuses: the directory's bits are what refused.
    func checkRemove(_ context: RequestContext, _ who: ModeBits.Credentials, _ node: NodeInfo, from dir: NodeInfo,
                     operation: String, path: String) -> Int32? {
        guard let refusal = ModeBits.checkRemove(node.modeBitsNode, from: dir.modeBitsNode, who) else { return nil }
        return authorizer.denyByModeBits(context, operation, path, node: dir.modeBitsNode, nodePath: dir.path,
                                         needed: refusal.needed, groups: who.groupsRead, errno: refusal.errno)
    }

    /// What POSIX answers a rename of `node` onto `replaced` (nil: a new
    /// name) in the directory whose chain, root first, is `newChain`, before
    /// any decision: a directory onto a file ENOTDIR, a file onto a
    /// directory EISDIR, onto a directory with entries ENOTEMPTY, a
    /// directory into itself or below EINVAL. nil: none of these.
    static func renameError(_ node: NodeInfo, onto replaced: NodeInfo?, into newChain: [NodeInfo]) -> Int32? {
        if let replaced {
            if node.isDirectory && !replaced.isDirectory { return ENOTDIR }
            if !node.isDirectory && replaced.isDirectory { return EISDIR }
            if replaced.isDirectory && replaced.childCount > 0 { return ENOTEMPTY }
        }
        if node.isDirectory && newChain.contains(where: { $0.id == node.id }) { return EINVAL }
        return nil
    }
}
