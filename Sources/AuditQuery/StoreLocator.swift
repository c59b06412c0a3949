import AuditPlumbing
import AuditRecords
import AuditStore
import Glibc

/// What `auditfs query` and `watch` read: a store directory, or the store
/// behind a mount point, or — when that store cannot be read by this user —
/// the mount's own /.audit files.
public enum AuditSource: Equatable, Sendable {
    case store(String)
    /// A mounted /.audit directory, read through the mount.
    case mounted(String)

    /// Resolves a STORE or MOUNTPOINT argument.
    ///
    /// A mount point's store is found from its daemon (`/run/auditfs/KEY.pid`,
    /// then that process's arguments `mount STORE MOUNTPOINT`, relative to its
    /// working directory), or from the mount's source in /proc/self/mountinfo
    /// when that is a store (mount helpers set fsname to the store).
    public static func resolve(_ argument: String) -> AuditSource? {
        let path = PolicyControl.resolve(argument)
        if FileSystem.exists(StoreDirectory(path).identityPath) { return .store(path) }
        guard isMountpoint(path) else { return nil }
        if let store = storeOfDaemon(mountpoint: path) ?? storeFromMountinfo(mountpoint: path),
           case let directory = StoreDirectory(store),
           access(directory.identityPath, R_OK) == 0, access(directory.segmentsPath, R_OK | X_OK) == 0 {
            return .store(store)
        }
        return .mounted(path + AuditLayout.root)
    }

    static func isMountpoint(_ path: String) -> Bool { MountInfo.mount(at: path) != nil }

    static func storeOfDaemon(mountpoint: String) -> String? {
        storeOfDaemon(pidFile: PolicyControl.pidPath(forMountpoint: mountpoint))
    }

    /// The store of the daemon a pid file names. A pid file left by a daemon
    /// that was killed may name a process of another user by now (pids are
    /// reused): only a process of the pid file's owner counts, so that no
    /// other user's `x mount STORE MOUNTPOINT` can pass its store off as the
    /// mount's.
    static func storeOfDaemon(pidFile: String) -> String? {
        guard let file = try? RawFile.open(pidFile, flags: O_RDONLY),
              let pidText = try? file.read(count: 64, at: 0),
              let pid = Int32(String(decoding: pidText, as: UTF8.self).split(separator: "\n").first ?? "") else { return nil }
        var owner = stat(), process = stat()
        guard fstat(file.fd, &owner) == 0, stat("/proc/\(pid)", &process) == 0, process.st_uid == owner.st_uid else { return nil }
        guard let argv = try? RawFile.open("/proc/\(pid)/cmdline", flags: O_RDONLY).read(count: 65536, at: 0) else { return nil }
        let args = argv.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard let m = args.firstIndex(of: "mount"), m + 2 < args.count else { return nil }
        let store = args[m + 1]
        if store.hasBytePrefix("/") { return store }
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/cwd", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + store
    }

    static func storeFromMountinfo(mountpoint: String) -> String? {
        guard let source = MountInfo.mount(at: mountpoint)?.source, source.hasBytePrefix("/") else { return nil }
        return source
    }
}
