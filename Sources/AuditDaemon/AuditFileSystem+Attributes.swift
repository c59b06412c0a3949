import AuditStore
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// setattr: truncate, chmod, chown, utimens — through `MountRules` first
/// (refusals are recorded as tamper attempts), then a change the mount
/// allows (on an empty file or directory) needs the policy's `setattr`. A
/// call that changes nothing needs no decision and records nothing.
extension AuditFileSystem {
    func setattr(_ reply: consuming Reply<Answer.Attributes>, request: fuse_req_t, id: UInt64,
                 attr: UnsafeMutablePointer<stat>, toSet: Int32, throughHandle: Bool = false) {
        if id == CheckpointView.inode {
            reply.error(authorizer.refuse(request, Self.operationName(toSet), CheckpointView.path, rule: .auditNamespace,
                                          errno: MountRules.auditNamespaceChange))
            return
        }
        guard let node = store.info(id) else { reply.error(ENOENT); return }
        let a = attr.pointee
        let operation = Self.operationName(toSet)
        // The mode bits and ownership first, as the kernel's (ModeBits); a
        // call through an open handle (ftruncate) walks no path.
        let who = credentials(request)
        if !throughHandle, let refused = checkSearch(above: node, request, who, operation: operation) {
            reply.error(refused); return
        }
        var mode: UInt32?
        switch ModeBits.checkChange(node.modeBitsNode, Self.permissionChange(a, toSet, throughHandle: throughHandle), who) {
        case let .failure(refusal):
            reply.error(authorizer.denyByModeBits(request, operation, node.path, node: node.modeBitsNode, nodePath: node.path,
                                                  needed: refusal.needed, groups: who.groupsRead, errno: refusal.errno))
            return
        case let .success(m):
            mode = m
        }
        if Store.isAuditPath(node.path) {
            reply.error(authorizer.refuse(request, operation, node.path, rule: .auditNamespace,
                                          errno: MountRules.auditNamespaceChange))
            return
        }
        // Check everything before recording anything: a refused part refuses the whole call.
        if toSet & FUSE_SET_ATTR_SIZE != 0, let refused = MountRules.checkTruncate(node.subject, to: UInt64(max(a.st_size, 0))) {
            reply.error(authorizer.refuse(request, "truncate", node.path, rule: .noTruncate, errno: refused)); return
        }
        var wanted = MountRules.AttributeRequest()
        wanted.mode = mode
        if toSet & FUSE_SET_ATTR_UID != 0 { wanted.uid = a.st_uid }
        if toSet & FUSE_SET_ATTR_GID != 0 { wanted.gid = a.st_gid }
        let now = store.options.clock()
        if toSet & FUSE_SET_ATTR_ATIME_NOW != 0 { wanted.atime = now }
        else if toSet & FUSE_SET_ATTR_ATIME != 0 { wanted.atime = Self.nanoseconds(a.st_atim) }
        if toSet & FUSE_SET_ATTR_MTIME_NOW != 0 { wanted.mtime = now }
        else if toSet & FUSE_SET_ATTR_MTIME != 0 { wanted.mtime = Self.nanoseconds(a.st_mtim) }
        switch MountRules.checkAttributes(node.subject, wanted) {
        case let .failure(refusal):
            reply.error(authorizer.refuse(request, operation, node.path, rule: .frozenAttributes, errno: refusal.errno))
        case .success(nil):
            reply.attributes(node.stat, timeout: CacheTimeout.attributes)
        case let .success(change?):
            if let refused = authorizer.check(request, .setattr, node.path) { reply.error(refused); return }
            do {
                try store.setAttributes(id, change, by: Caller.provenance(of: request))
            } catch {
                if error.isFailure { Log.error("set attributes of file \(id): \(error)") }
                reply.error(error.errno)
                return
            }
            guard let updated = store.info(id) else { reply.error(ENOENT); return }
            reply.attributes(updated.stat, timeout: CacheTimeout.attributes)
        }
    }

    /// What a setattr asks of the permission checks.
    static func permissionChange(_ a: stat, _ toSet: Int32, throughHandle: Bool) -> ModeBits.Change {
        var c = ModeBits.Change()
        if toSet & FUSE_SET_ATTR_MODE != 0 { c.mode = UInt32(a.st_mode) & 0o7777 }
        if toSet & FUSE_SET_ATTR_UID != 0 { c.uid = a.st_uid }
        if toSet & FUSE_SET_ATTR_GID != 0 { c.gid = a.st_gid }
        c.setsTimes = (toSet & FUSE_SET_ATTR_ATIME != 0 && toSet & FUSE_SET_ATTR_ATIME_NOW == 0)
            || (toSet & FUSE_SET_ATTR_MTIME != 0 && toSet & FUSE_SET_ATTR_MTIME_NOW == 0)
        c.touches = !c.setsTimes && toSet & (FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW) != 0
        c.truncates = toSet & FUSE_SET_ATTR_SIZE != 0 && !throughHandle
        return c
    }

    /// The name a setattr is recorded under: truncate, chmod, chown or utimens.
    static func operationName(_ toSet: Int32) -> String {
        if toSet & FUSE_SET_ATTR_SIZE != 0 { return "truncate" }
        if toSet & FUSE_SET_ATTR_MODE != 0 { return "chmod" }
        if toSet & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID) != 0 { return "chown" }
        return "utimens"
    }

    static func nanoseconds(_ t: timespec) -> Int64 {
        Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }
}
