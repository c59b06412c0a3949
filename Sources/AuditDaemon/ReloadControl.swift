import AuditPlumbing
import AuditPolicy
import AuditStore
import CAuditDaemonShim
import Foundation
import Glibc

/// The two ways to ask a running daemon for a policy reload, both handed to
/// `PolicyLoader.reload` on their own thread (never on a FUSE worker):
///
/// - SIGHUP: a C handler writes the sender's pid and uid (siginfo) to a
///   pipe; a thread reads them. (SIGHUP therefore no longer unmounts.)
/// - the control socket /run/auditfs/KEY.sock (PolicyControl): one request
///   per connection, answered with the outcome; the peer's pid and uid come
///   from SO_PEERCRED. A pid file /run/auditfs/KEY.pid names the daemon.
///
/// Raw socket and pipe calls for this live here.
final class ReloadControl: Sendable {
    let loader: PolicyLoader
    let socketPath: String
    let pidPath: String

    init(loader: PolicyLoader, mountpoint: String) {
        self.loader = loader
        self.socketPath = PolicyControl.socketPath(forMountpoint: mountpoint)
        self.pidPath = PolicyControl.pidPath(forMountpoint: mountpoint)
    }

    /// Installs the SIGHUP handler and opens the control socket. A socket that
    /// cannot be opened is reported and SIGHUP still works.
    func start() throws(MountError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw MountError("pipe: \(String(cString: strerror(errno)))") }
        let readEnd = fds[0]
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)   // the handler never blocks
        guard auditfs_catch_reload_signal(fds[1]) == 0 else {
            throw MountError("could not catch SIGHUP: \(String(cString: strerror(errno)))")
        }
        let loader = self.loader
        Thread.detachNewThread {
            var message: [Int32] = [0, 0]
            while true {
                let n = message.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, 8) }
                if n < 0 && errno == EINTR { continue }
                guard n == 8 else { return }
                let pid = UInt32(bitPattern: message[0]), uid = UInt32(bitPattern: message[1])
                _ = loader.reload(by: Self.actor(pid: pid, uid: uid, via: "SIGHUP"))
            }
        }
        do {
            let listener = try listen()
            Thread.detachNewThread { [self] in serve(listener) }
        } catch {
            Log.error("no control socket (auditfs policy reload will not reach this mount; SIGHUP works): \(error.message)")
        }
    }

    /// Removes the socket and the pid file.
    func stop() {
        unlink(socketPath)
        unlink(pidPath)
    }

    private func listen() throws(MountError) -> Int32 {
        _ = mkdir(PolicyControl.directory, 0o755)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MountError("socket: \(String(cString: strerror(errno)))") }
        let address: UnixSocketAddress
        do { address = try UnixSocketAddress(path: socketPath) } catch { close(fd); throw MountError(error.description) }
        unlink(socketPath)   // left by a daemon that was killed (the mount point was checked free)
        let old = umask(0o177)
        let rc = address.bind(fd)
        umask(old)
        guard rc == 0, Glibc.listen(fd, 8) == 0 else {
            let message = "\(socketPath): \(String(cString: strerror(errno)))"
            close(fd)
            throw MountError(message)
        }
        // Whole or not at all (a reader finding the store of a mount reads
        // it), and in place of whatever is at that name, never through it.
        try? AtomicFile.replace(pidPath, Array("\(getpid())\n".utf8), mode: 0o644)
        return fd
    }

    private func serve(_ listener: Int32) {
        while true {
            let c = accept(listener, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            handle(c)
            close(c)
        }
    }

    private func handle(_ c: Int32) {
        var peerPID: Int32 = 0
        var peerUID: UInt32 = 0
        guard auditfs_peer_credentials(c, &peerPID, &peerUID) == 0 else { return }
        var buf = [UInt8](repeating: 0, count: 256)
        var got = 0
        while got < buf.count, !buf[0..<got].contains(UInt8(ascii: "\n")) {
            let n = buf.withUnsafeMutableBytes { read(c, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        let request = String(decoding: buf[0..<got], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let reply: PolicyControl.ReloadReply
        if request == "reload" {
            reply = loader.reload(by: Self.actor(pid: UInt32(bitPattern: peerPID), uid: peerUID, via: "auditfs policy reload"))
        } else {
            reply = PolicyControl.ReloadReply(outcome: "rejected", previous: nil, new: nil,
                                              error: "unknown request '\(request)'", changes: nil)
        }
        let line = AuditLog.line(reply)
        _ = line.withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
    }

    static func actor(pid: UInt32, uid: UInt32, via: String) -> Actor {
        Actor(uid: uid, user: SystemUsers.userName(uid), pid: pid,
              command: String(decoding: Provenance.commandName(pid: pid), as: UTF8.self), via: via)
    }
}
