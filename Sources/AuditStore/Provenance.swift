import AuditPlumbing
import Glibc

/// Who wrote a record: the calling process's uid, gid, pid and command name.
public struct Provenance: Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: UInt32
    /// The command name as raw bytes (at most 255; Linux's comm is 15).
    public var commandBytes: [UInt8]

    public init(uid: UInt32, gid: UInt32, pid: UInt32, commandBytes: [UInt8]) {
        self.uid = uid; self.gid = gid; self.pid = pid
        // Shares the caller's buffer when it fits (no copy on every write).
        self.commandBytes = commandBytes.count <= Format.maxCommandSize ? commandBytes : Array(commandBytes.prefix(Format.maxCommandSize))
    }

    public init(uid: UInt32, gid: UInt32, pid: UInt32, command: String) {
        self.init(uid: uid, gid: gid, pid: pid, commandBytes: Array(command.utf8))
    }

    public var command: String { String(decoding: commandBytes, as: UTF8.self) }

    /// The command name of process `pid` from /proc/PID/comm, or "?" when the
    /// process is gone.
    public static func commandName(pid: UInt32) -> [UInt8] { CommandName.read(pid: pid) ?? CommandName.unknown }

    /// The process running this code.
    public static func current() -> Provenance {
        let pid = UInt32(getpid())
        return Provenance(uid: getuid(), gid: getgid(), pid: pid, commandBytes: commandName(pid: pid))
    }
}
