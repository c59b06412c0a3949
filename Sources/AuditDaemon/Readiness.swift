import AuditPlumbing
import Synchronization
import Glibc

/// The line protocol from a background daemon to the `auditfs mount` that
/// started it, over a pipe: zero or more `note: TEXT` lines, then exactly one
/// of `ready` (the mount serves) or `error: TEXT`. The starter returns once it
/// reads either; EOF before them means the daemon died. TEXT is escaped
/// (`TerminalText`): a name with a newline in it cannot end a line early and
/// forge `ready` or another line; the starter prints it as it is.
public final class Readiness: Sendable {
    private let fd: Mutex<Int32?>

    public init(fd: Int32?) { self.fd = Mutex(fd) }

    public func note(_ text: String) { send("note: " + TerminalText.escape(text), last: false) }

    public func ready() { send("ready", last: true) }

    public func failed(_ text: String) { send("error: " + TerminalText.escape(text), last: true) }

    private func send(_ line: String, last: Bool) {
        fd.withLock { fd in
            guard let open = fd else { return }
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(open, $0.baseAddress, $0.count) }
            if last { close(open); fd = nil }
        }
    }
}
