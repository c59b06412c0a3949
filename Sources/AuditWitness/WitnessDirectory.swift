import AuditPlumbing
import AuditStore
import Foundation
import Glibc

/// A witness that is a directory on another file system (`--witness-dir`,
/// an NFS share): each checkpoint is appended to
/// `DIR/<origin with / as _>.checkpoints` (O_APPEND, created 0644) and
/// fsynced; `verify --checkpoint FILE` reads that file back
/// (`Checkpointer.splitNotes`). A write that hangs (a hard NFS mount) cannot
/// be cancelled: the mount's queue gives up waiting for it at unmount.
public struct WitnessDirectory: Witness {
    public let path: String
    public let origin: String

    public init(_ path: String, origin: String) {
        self.path = path
        self.origin = origin
    }

    public var name: String { "witness directory \(path)" }

    /// The file of this store's checkpoints in the directory.
    public var file: String { path + "/" + origin.replacingOccurrences(of: "/", with: "_") + ".checkpoints" }

    public func deliver(_ checkpoint: String, cancelled: @escaping @Sendable () -> Bool) -> WitnessOutcome {
        do {
            let f = try RawFile.open(file, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
            try f.write(Array((checkpoint + "\n").utf8), at: try f.size())
            try f.sync()
            return .delivered
        } catch {
            return .failed("witness directory \(path): \(error)")
        }
    }

    /// Throws unless `path` is an existing directory in which this process
    /// can create a file: proven by creating and removing a probe file
    /// (`.auditfs-probe-PID`), so a read-only mount or a directory of
    /// /proc fails before a mount or `auditfs checkpoint` starts, rather
    /// than a witness that silently never gets one.
    public static func check(_ path: String) throws(StoreError) {
        guard FileSystem.exists(path) else { throw .io("witness directory '\(path)' does not exist") }
        guard FileSystem.isDirectory(path) else { throw .io("witness directory '\(path)' is not a directory") }
        let probe = path + "/.auditfs-probe-\(getpid())"
        do {
            _ = try RawFile.open(probe, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        } catch {
            let why = (error as? SystemError).map { String(cString: strerror($0.errno)) } ?? "\(error)"
            throw .io("witness directory '\(path)' is not writable: \(why)")
        }
        FileSystem.remove(probe)
    }
}
