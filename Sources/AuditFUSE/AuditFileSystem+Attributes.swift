import AuditStore
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// setattr: truncate, chmod, chown, utimens — all through `Policy`.
extension AuditFileSystem {
    func setattr(_ reply: consuming Reply<Answer.Attributes>, request: fuse_req_t, id: UInt64,
                 attr: UnsafeMutablePointer<stat>, toSet: Int32) {
        guard let node = store.info(id) else { reply.error(ENOENT); return }
        let a = attr.pointee
        // Check everything before recording anything: a refused part refuses the whole call.
        if toSet & FUSE_SET_ATTR_SIZE != 0, let refused = Policy.checkTruncate(node.subject, to: UInt64(max(a.st_size, 0))) {
            reply.error(refused); return
        }
        var wanted = Policy.AttributeRequest()
        if toSet & FUSE_SET_ATTR_MODE != 0 { wanted.mode = UInt32(a.st_mode) & 0o7777 }
        if toSet & FUSE_SET_ATTR_UID != 0 { wanted.uid = a.st_uid }
        if toSet & FUSE_SET_ATTR_GID != 0 { wanted.gid = a.st_gid }
        let now = store.options.clock()
        if toSet & FUSE_SET_ATTR_ATIME_NOW != 0 { wanted.atime = now }
        else if toSet & FUSE_SET_ATTR_ATIME != 0 { wanted.atime = Self.nanoseconds(a.st_atim) }
        if toSet & FUSE_SET_ATTR_MTIME_NOW != 0 { wanted.mtime = now }
        else if toSet & FUSE_SET_ATTR_MTIME != 0 { wanted.mtime = Self.nanoseconds(a.st_mtim) }
        switch Policy.checkAttributes(node.subject, wanted) {
        case let .failure(refusal):
            reply.error(refusal.errno)
        case .success(nil):
            reply.attributes(node.stat, timeout: CacheTimeout.attributes)
        case let .success(change?):
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

    static func nanoseconds(_ t: timespec) -> Int64 {
        Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }
}
