import AuditPolicy
import AuditStore
#if canImport(Glibc)
import Glibc
#endif

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
        if FileSystem.exists(path + "/" + Format.identityFile) { return .store(path) }
        guard isMountpoint(path) else { return nil }
        if let store = storeOfDaemon(mountpoint: path) ?? storeFromMountinfo(mountpoint: path),
           access(store + "/" + Format.identityFile, R_OK) == 0,
           access(store + "/" + Format.segmentsDirectory, R_OK | X_OK) == 0 {
            return .store(store)
        }
        return .mounted(path + "/.audit")
    }

    static func isMountpoint(_ path: String) -> Bool { mountSource(path) != nil }

    /// The source field of the mount at `path` in /proc/self/mountinfo.
    static func mountSource(_ path: String) -> String? {
        guard let text = try? RawFile.open("/proc/self/mountinfo", flags: O_RDONLY) else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var at: UInt64 = 0
        while let n = try? chunk.withUnsafeMutableBytes({ try text.read(into: $0, at: at) }), n > 0 {
            bytes += chunk[0..<n]; at += UInt64(n)
        }
        var found: String?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 6, unescape(f[4]) == path, let dash = f.firstIndex(of: "-"), dash + 2 < f.count else { continue }
            found = unescape(f[dash + 2])
        }
        return found
    }

    private static func unescape(_ s: Substring) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count, let v = UInt8(String(decoding: b[i + 1...i + 3], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func storeOfDaemon(mountpoint: String) -> String? {
        guard let pidText = try? RawFile.open(PolicyControl.pidPath(forMountpoint: mountpoint), flags: O_RDONLY).read(count: 64, at: 0),
              let pid = Int32(String(decoding: pidText, as: UTF8.self).split(separator: "\n").first ?? "") else { return nil }
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
        guard let source = mountSource(mountpoint), source.hasPrefix("/") else { return nil }
        return source
    }
}
