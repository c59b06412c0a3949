import Glibc

/// A task's command name, /proc/PID/comm (proc(5)): at most 15 bytes set by
/// exec or prctl, any bytes but NUL, followed by a newline the kernel adds.
/// Names are bytes here: a name that is not UTF-8 is kept as it is.
public enum CommandName {
    /// What a record carries when the task is gone before its name is read.
    public static let unknown: [UInt8] = Array("?".utf8)

    /// The most read of a comm file (the kernel's TASK_COMM_LEN is 16).
    static let capacity = 64

    /// The name of task `pid` (a process or a thread id), or nil when it is gone.
    public static func read(pid: UInt32) -> [UInt8]? {
        let fd = open("/proc/\(pid)/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return read(fd: fd)
    }

    /// The name in an open /proc/TID/comm, read from its start (so one
    /// descriptor can be read again and again: it follows renames and execs
    /// of its task, and fails once that task is gone); nil then.
    public static func read(fd: Int32) -> [UInt8]? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buf -> [UInt8]? in
            var n: Int
            repeat { n = pread(fd, buf.baseAddress, buf.count, 0) } while n < 0 && errno == EINTR
            guard n > 0 else { return nil }
            var end = n
            if buf[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            return Array(buf[0..<end])
        }
    }

    /// Names this process (what `ps`, /proc/PID/comm and so the records of
    /// its own writes show); the kernel keeps the first 15 bytes.
    public static func set(_ name: String) {
        let fd = open("/proc/self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = Array(name.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
