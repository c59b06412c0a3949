#if canImport(Glibc)
import Glibc
#endif

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
        let path = Array(String(cString: raw).utf8)
        guard path.count >= 2, path[0] == UInt8(ascii: "/") || path[0] == UInt8(ascii: "@") else { return false }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { dst in
            for (i, b) in path.enumerated() { dst[i] = b }
            if path[0] == UInt8(ascii: "@") { dst[0] = 0 }   // abstract namespace: leading NUL, no terminator
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path[0] == UInt8(ascii: "@") ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        let sent = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        return sent == bytes.count
    }
}
