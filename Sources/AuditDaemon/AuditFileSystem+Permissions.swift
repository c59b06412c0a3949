import AuditStore
import FUSEInterface
import Glibc

/// The POSIX permission checks, made here rather than by the kernel (the
/// mount has no `default_permissions`) so that each denial is recorded in
/// /.audit/decisions with reason "mode-bits" (docs/MOUNT.md "Permission
/// checks"). They come first, as the kernel's did: a request the mode bits
/// refuse is not asked of the mount rules or the policy.
///
/// Search permission is checked on every directory above the node at each
/// operation on a path (lookup, open, create, mkdir, opendir, setattr
/// without a handle, access; in history mode unlink, rmdir and rename).
/// Without history names are never removed or renamed, so a node's
/// ancestors are fixed; with it the ancestors are read at each check. The
/// kernel walks a cached name without asking
/// the daemon, so a name is cached only when every directory above it lets
/// everyone search (x for owner, group and other); below any other directory
/// the kernel asks again (LOOKUP) at every walk, and the caller's own search
/// permission is checked each time.
extension AuditFileSystem {
    /// The caller's credentials; the supplementary groups are read only if a
    /// check needs them.
    func credentials(_ context: RequestContext) -> ModeBits.Credentials {
        ModeBits.Credentials(uid: context.uid, gid: context.gid, groups: { context.groups() })
    }

    /// `dir` and every directory above it, the root first.
    func ancestry(_ dir: NodeInfo) -> [NodeInfo] {
        var chain = [dir]
        var d = dir
        while d.path != "/", let up = store.info(d.parent), up.id != d.id {
            chain.append(up)
            d = up
        }
        return chain.reversed()
    }

    /// Whether the kernel may cache names in the last directory of `chain`.
    static func cachesNames(_ chain: [NodeInfo]) -> Bool {
        chain.allSatisfy { ModeBits.everyoneSearches($0.mode) }
    }

    /// Search permission on every directory of `chain` (root first: the
    /// first one that refuses is the one recorded). nil, or the errno.
    func checkSearch(_ context: RequestContext, _ who: ModeBits.Credentials, _ chain: [NodeInfo],
                     operation: String, path: String) -> Int32? {
        if who.isRoot { return nil }
        for d in chain where !ModeBits.allows(d.modeBitsNode, .execute, who) {
            return authorizer.denyByModeBits(context, operation, path, node: d.modeBitsNode, nodePath: d.path,
                                             needed: "x", groups: who.groupsRead, errno: EACCES)
        }
        return nil
    }

    /// Search permission on every directory above `node` (none for the root).
    func checkSearch(above node: NodeInfo, _ context: RequestContext, _ who: ModeBits.Credentials,
                     operation: String) -> Int32? {
        guard !who.isRoot, node.path != "/", let parent = store.info(node.parent) else { return nil }
        return checkSearch(context, who, ancestry(parent), operation: operation, path: node.path)
    }

    /// `access` on `node` by its own mode bits. nil, or the errno (EACCES).
    func checkBits(_ context: RequestContext, _ who: ModeBits.Credentials, _ node: ModeBits.Node, nodePath: String,
                   _ access: ModeBits.Access, operation: String, path: String) -> Int32? {
        if access.isEmpty || ModeBits.allows(node, access, who) { return nil }
        return authorizer.denyByModeBits(context, operation, path, node: node, nodePath: nodePath,
                                         needed: access.description, groups: who.groupsRead, errno: EACCES)
    }

    /// What opening with `flags` needs of the file: r to read, w to write
    /// or truncate, x to execute (an exec open carries FMODE_EXEC).
    static func access(forOpen flags: Int32) -> ModeBits.Access {
        var a: ModeBits.Access = []
        let mode = flags & O_ACCMODE
        if mode != O_WRONLY { a.insert(.read) }
        if mode != O_RDONLY || flags & O_TRUNC != 0 { a.insert(.write) }
        if flags & Self.openForExec != 0 { a.insert(.execute) }
        return a
    }

    /// The kernel's __FMODE_EXEC in an open's flags (execve, uselib).
    static let openForExec: Int32 = 0o40

    /// access(2) and chdir: search above, then the bits asked for (F_OK:
    /// none). The same checks as the operations themselves; a refusal is
    /// recorded like theirs.
    func access(_ context: RequestContext, ino: UInt64, mask: Int32) -> Result<Void, Errno> {
        let who = credentials(context)
        let want = ModeBits.Access(rawValue: UInt32(mask & 7))
        if ino == CheckpointView.inode {
            guard let audit = store.lookup(AuditPaths.root) else { return .failure(Errno(ENOENT)) }
            if let refused = checkSearch(context, who, ancestry(audit), operation: "access", path: CheckpointView.path)
                ?? checkBits(context, who, checkpointView.modeBitsNode, nodePath: CheckpointView.path, want,
                             operation: "access", path: CheckpointView.path) {
                return .failure(Errno(refused))
            }
            return .success(())
        }
        guard let node = store.info(ino) else { return .failure(Errno(ENOENT)) }
        if let refused = checkSearch(above: node, context, who, operation: "access")
            ?? checkBits(context, who, node.modeBitsNode, nodePath: node.path, want, operation: "access", path: node.path) {
            return .failure(Errno(refused))
        }
        return .success(())
    }
}

extension NodeInfo {
    var modeBitsNode: ModeBits.Node {
        ModeBits.Node(mode: mode, uid: uid, gid: gid, isDirectory: isDirectory)
    }
}

extension CheckpointView {
    var modeBitsNode: ModeBits.Node {
        let a = attributes
        return ModeBits.Node(mode: a.permissions & 0o7777, uid: a.uid, gid: a.gid, isDirectory: false)
    }
}
