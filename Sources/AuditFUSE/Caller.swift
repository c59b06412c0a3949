import AuditStore
import CFuse3

/// Who sent a request: uid, gid and pid from `fuse_req_ctx`, and the command
/// name from /proc/PID/comm. The pid is the calling thread's id (what the
/// kernel puts in the FUSE request), so the name is that thread's name.
enum Caller {
    static func provenance(of request: fuse_req_t) -> Provenance {
        let ctx = fuse_req_ctx(request)!.pointee
        let pid = UInt32(bitPattern: ctx.pid)
        return Provenance(uid: ctx.uid, gid: ctx.gid, pid: pid, commandBytes: Provenance.commandName(pid: pid))
    }

    /// uid, gid and umask only (for requests that record nothing).
    static func identity(of request: fuse_req_t) -> (uid: UInt32, gid: UInt32) {
        let ctx = fuse_req_ctx(request)!.pointee
        return (ctx.uid, ctx.gid)
    }
}
