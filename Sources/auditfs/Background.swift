import AuditCLI
import AuditPlumbing
import Glibc

/// Starting the daemon in the background: `auditfs mount` (without -f) runs
/// itself again with `-f --ready-fd 3` as a detached child (new session,
/// stdio on /dev/null, the write end of a pipe as fd 3), relays the child's
/// `note:` lines, and returns when it reads `ready` (the mount command then
/// exits 0) or throws at `error:` (its one-line error, exit 1). Raw process
/// calls for this live here.
enum Background {
    static func start(arguments: [String]) throws(CommandFailure) {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw failure("could not create a pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (pipeFDs[0], pipeFDs[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)   // dup2 to fd 3 clears it for the child

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = (["auditfs"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv, environ)
        close(writeEnd)
        guard rc == 0 else { throw failure("could not start the mount daemon: \(String(cString: strerror(rc)))") }

        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending += buf[0..<n]
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                if line == "ready" { return }
                if line.hasPrefix("error: ") {
                    _ = waitpid(pid, nil, 0)
                    throw failure(String(line.dropFirst(7)))   // escaped by the daemon (Readiness)
                }
                if line.hasPrefix("note: ") { ErrorLine.write(line: ErrorLine.prefix + line.dropFirst(6)) }
            }
        }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        let how = status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
        throw failure("the mount daemon \(how) before the mount was ready")
    }

    /// The mount command's own one-line message (escaped: `ErrorLine`).
    static func say(_ message: String) { ErrorLine.write(message) }

    /// `auditfs: <message>` verbatim (text the daemon escaped, or plain), exit status 1.
    static func failure(_ message: String) -> CommandFailure { CommandFailure(verbatim: message, code: 1) }
}
