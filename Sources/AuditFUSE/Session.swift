import CAuditFUSEShim
import CFuse3
import FUSEInterface
import Glibc

/// The libfuse session ladder, as in libfuse's own examples:
/// new → signal handlers → mount → loop → unmount → remove
/// handlers → destroy. Each rung that fails undoes the ones before it.
///
/// SIGTERM and SIGINT end the loop (libfuse's handlers; SIGHUP is caught
/// before, by the daemon's ReloadControl, and reloads the policy); requests
/// in flight finish and are answered first (the loop's workers run with
/// cancellation disabled while they handle a request). An unmount by
/// `umount`/`fusermount3 -u` ends it the same way.
public struct Session: MountSession {
    /// Worker threads (CAuditFUSEShim's loop.c): one reads /dev/fuse at a
    /// time; one more is started when the reader passes the reading on and
    /// none is idle, up to this many, and none is ever stopped before the end.
    static let maxThreads: UInt32 = 10

    public init() {}

    public func serve(_ fileSystem: any FileSystemOperations, mountpoint: String, options: String,
                      echoLog: Bool) throws(SessionError) -> Int32 {
        auditfs_fuse_capture_log(echoLog ? 1 : 0)
        var ops = Operations.table()
        var argv: [UnsafeMutablePointer<CChar>?] = ["auditfs", "-o", options].map { (s: String) in strdup(s) }
        defer { argv.forEach { free($0) } }
        // The session's user data: the file system every request goes to (held until the session ends).
        let served = Served(fileSystem)
        let userdata = Unmanaged.passUnretained(served).toOpaque()
        defer { withExtendedLifetime(served) {} }

        let session: OpaquePointer? = argv.withUnsafeMutableBufferPointer { p in
            var args = fuse_args(argc: Int32(p.count), argv: p.baseAddress, allocated: 0)
            defer { fuse_opt_free_args(&args) }
            return fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, userdata)
        }
        guard let session else { throw SessionError(Self.lastLibfuseMessage() ?? "libfuse rejected the options '\(options)'") }
        defer { fuse_session_destroy(session) }

        guard fuse_set_signal_handlers(session) == 0 else { throw SessionError("could not install signal handlers") }
        defer { fuse_remove_signal_handlers(session) }

        guard fuse_session_mount(session, mountpoint) == 0 else {
            throw SessionError("mounting on '\(mountpoint)' failed: " + (Self.lastLibfuseMessage() ?? "unknown reason"))
        }
        defer { fuse_session_unmount(session) }

        // Hold no directory busy (a daemon's working directory pins its mount).
        _ = chdir("/")
        RequestThread.install(auditfs_fuse_may_block)
        return auditfs_fuse_session_loop(session, Self.maxThreads)
    }

    public func validate(options: String) throws(SessionError) {
        auditfs_fuse_capture_log(0)
        var ops = Operations.table()
        var argv: [UnsafeMutablePointer<CChar>?] = ["auditfs", "-o", options].map { (s: String) in strdup(s) }
        defer { argv.forEach { free($0) } }
        let session: OpaquePointer? = argv.withUnsafeMutableBufferPointer { p in
            var args = fuse_args(argc: Int32(p.count), argv: p.baseAddress, allocated: 0)
            defer { fuse_opt_free_args(&args) }
            return fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, nil)
        }
        guard let session else { throw SessionError(Self.lastLibfuseMessage() ?? "libfuse rejected the options '\(options)'") }
        fuse_session_destroy(session)
    }

    static func lastLibfuseMessage() -> String? {
        var buf = [CChar](repeating: 0, count: 512)
        let n = auditfs_fuse_last_log(&buf, Int32(buf.count))
        guard n > 0 else { return nil }
        var s = String(decoding: buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasPrefix("fuse: ") { s.removeFirst(6) }
        return "libfuse: " + s
    }
}

/// The file system a session serves, as one object the session's user data
/// can point to.
final class Served: Sendable {
    let fileSystem: any FileSystemOperations
    init(_ fileSystem: any FileSystemOperations) { self.fileSystem = fileSystem }
}
