import AuditPlumbing
import Glibc

/// Runs a command with bytes on its standard input under one deadline: the
/// witness command of checkpoints (`WitnessCommand`) and the command action
/// of alerts. The deadline covers the whole run, the writing of the input
/// included: a command that never reads its input, fails or hangs costs the
/// caller at most `timeoutNs` (and the few milliseconds of killing it).
///
/// How, with no process-wide side effect:
/// - standard input is one end of a Unix stream socket pair, written without
///   blocking (`poll`, then `send` with MSG_DONTWAIT | MSG_NOSIGNAL): a
///   command that exited or closed its input makes `send` fail with EPIPE
///   instead of raising SIGPIPE, so no `signal(SIGPIPE, SIG_IGN)` is needed
///   (the mount ignores SIGPIPE anyway, through libfuse's
///   `fuse_set_signal_handlers`; the CLI does not);
/// - the child is started with `posix_spawn` in a process group of its own,
///   with SIGPIPE and the other terminating signals at their defaults, an
///   empty signal mask, standard output and error on /dev/null and no other
///   descriptor of the caller's (closefrom 3); at the deadline the whole group
///   is killed (SIGKILL), so `sh -c 'sleep 30'` leaves no sleeping child;
/// - it is reaped by pid (`waitpid(pid, WNOHANG)`), never by `wait()`.
public enum ChildCommand {
    public enum Outcome: Equatable, Sendable {
        case succeeded
        /// Exited with a non-zero status (128 + N when killed by signal N).
        case exited(Int32)
        /// Could not be started (the reason).
        case notStarted(String)
        /// Still running at the deadline (or when cancelled): its process group was killed.
        case timedOut
    }

    /// Runs `argv` (`argv[0]` an absolute path; no shell unless it is one)
    /// with `input` on standard input. `cancelled` is asked every few
    /// milliseconds: true ends the run as at the deadline (an unmount
    /// that cannot wait any longer).
    public static func run(_ argv: [String], input: [UInt8], timeoutNs: Int64,
                           cancelled: () -> Bool = { false }) -> Outcome {
        guard let path = argv.first, path.hasPrefix("/") else {
            return .notStarted("\(argv.first ?? "(none)"): not an absolute path")
        }
        let clock = Clock.monotonic
        let (deadline, overflow) = clock.now.addingReportingOverflow(max(timeoutNs, 0))
        let end = overflow ? Int64.max : deadline
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            return .notStarted("\(path): socketpair: \(String(cString: strerror(errno)))")
        }
        var ours: Int32 = ends[0]
        let theirs = ends[1]
        _ = shutdown(ours, Int32(SHUT_RD))
        _ = shutdown(theirs, Int32(SHUT_WR))
        let pid: pid_t
        switch spawn(argv, stdin: theirs) {
        case let .success(p): pid = p
        case let .failure(why):
            close(ours); close(theirs)
            return .notStarted("\(path): \(why)")
        }
        close(theirs)
        defer { if ours >= 0 { close(ours) } }

        var written = 0
        if input.isEmpty { close(ours); ours = -1 }
        var tick: Int32 = 1   // ms between looks at the child once the input is written: 1, 2, 4 … 20
        while true {
            if let status = reap(pid, block: false) { return status }
            let current = clock.now
            if current >= end || cancelled() { break }
            let remainingMs = Int32(min((end - current) / 1_000_000 + 1, 20))
            if ours >= 0 {
                var p = pollfd(fd: ours, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&p, 1, remainingMs)
                if ready < 0 && errno != EINTR { close(ours); ours = -1; continue }
                guard ready > 0 else { continue }
                if p.revents & Int16(POLLOUT) != 0 {
                    let n = input[written...].withUnsafeBytes {
                        send(ours, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
                    }
                    if n > 0 { written += n }
                    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) || written == input.count {
                        close(ours); ours = -1   // all written (end of input), or the command stopped reading (EPIPE)
                    }
                } else if p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                    close(ours); ours = -1
                }
            } else {
                _ = poll(nil, 0, min(tick, remainingMs))
                tick = min(tick * 2, 20)
            }
        }
        _ = kill(-pid, SIGKILL)   // the group: the command and whatever it started
        _ = kill(pid, SIGKILL)
        _ = reap(pid, block: true)
        return .timedOut
    }

    /// The outcome once `pid` has ended (nil while it runs, without `block`).
    private static func reap(_ pid: pid_t, block: Bool) -> Outcome? {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, block ? 0 : WNOHANG)
            if r == pid { break }
            if r == 0 { return nil }
            if errno == EINTR { continue }
            return .exited(-1)   // ECHILD: reaped elsewhere (SIGCHLD ignored by the process); its status is lost
        }
        // <sys/wait.h>'s macros: WIFEXITED is (status & 0x7f) == 0, WEXITSTATUS (status >> 8) & 0xff, WTERMSIG status & 0x7f.
        let signal = status & 0x7f
        if signal == 0 {
            let code = (status >> 8) & 0xff
            return code == 0 ? .succeeded : .exited(code)
        }
        return .exited(128 + signal)
    }

    private static func spawn(_ argv: [String], stdin: Int32) -> Result<pid_t, SpawnFailure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)   // dup2 clears FD_CLOEXEC for the child's 0
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        _ = closeFrom3?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD] { sigaddset(&defaults, s) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, environ)
        guard rc == 0 else { return .failure(SpawnFailure(description: String(cString: strerror(rc)))) }
        return .success(pid)
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which Swift's
    /// Glibc module does not declare: found at run time (nil on an older libc,
    /// where only descriptors opened with O_CLOEXEC stay out of the child).
    private static let closeFrom3: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private struct SpawnFailure: Error, CustomStringConvertible { let description: String }
}
