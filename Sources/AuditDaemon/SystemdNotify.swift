import AuditPlumbing
import Glibc

/// The sd_notify(3) protocol without libsystemd: when systemd starts the
/// daemon as a `Type=notify` service it sets `NOTIFY_SOCKET` to a datagram
/// socket (a path, or `@name` for the abstract namespace); the daemon sends
/// newline-separated `KEY=VALUE` assignments to it in one datagram, e.g.
/// `READY=1` once the mount serves. Without `NOTIFY_SOCKET` nothing is sent.
/// Raw socket calls for this live here.
enum SystemdNotify {
    /// Sends `state` (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET;
    /// returns false when there is no socket or the send failed (systemd then
    /// times the start out, which is what it would do without a notification).
    @discardableResult
    static func send(_ state: String) -> Bool {
        guard let raw = getenv("NOTIFY_SOCKET") else { return false }
        let path = String(cString: raw)
        guard path.utf8.count >= 2, path.hasBytePrefix("/") || path.hasBytePrefix("@"),
              let address = try? UnixSocketAddress(pathOrAbstract: path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        return address.send(bytes, on: fd, flags: Int32(MSG_NOSIGNAL)) == bytes.count
    }
}
