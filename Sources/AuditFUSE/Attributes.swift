import AuditStore
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// How long the kernel may cache attributes and names, in seconds.
///
/// Every change to a mounted store comes through this kernel: the daemon
/// holds the store's writer lock, so no other process appends behind the
/// kernel's back. The kernel sets i_size itself after each write it forwards
/// (and invalidates its cached size and mtime), so sizes stay true however
/// many processes and fds append, and a cached entry never goes stale (names
/// are never removed). One second still bounds any surprise.
enum CacheTimeout {
    static let attributes: Double = 1.0
    static let entry: Double = 1.0
}

extension NodeInfo {
    /// The stat a caller sees: the file id is the inode number; mtime is the
    /// last append (or attribute change); ctime is the later of creation and
    /// mtime.
    var stat: stat {
        var st = Glibc.stat()
        st.st_ino = ino_t(id)
        st.st_mode = (isDirectory ? S_IFDIR : S_IFREG) | mode_t(mode & 0o7777)
        // A directory's links: its entry, its ".", and each subdirectory's "..".
        st.st_nlink = isDirectory ? nlink_t(2 + subdirectoryCount) : 1
        st.st_uid = uid
        st.st_gid = gid
        st.st_size = off_t(clamping: size)
        st.st_blksize = 4096
        st.st_blocks = blkcnt_t(clamping: (size + 511) / 512)
        st.st_atim = Self.timespec(atime)
        st.st_mtim = Self.timespec(mtime)
        st.st_ctim = Self.timespec(max(ctime, mtime))
        return st
    }

    var entry: fuse_entry_param {
        var e = fuse_entry_param()
        e.ino = fuse_ino_t(id)
        e.generation = 1
        e.attr = stat
        e.attr_timeout = CacheTimeout.attributes
        e.entry_timeout = CacheTimeout.entry
        return e
    }

    /// The entry with no entry timeout: the kernel asks again (LOOKUP) at
    /// every walk through the name, so the walker's own search permission is
    /// checked (for names below a directory not everyone may search).
    var uncachedEntry: fuse_entry_param {
        var e = entry
        e.entry_timeout = 0
        return e
    }

    static func timespec(_ ns: Int64) -> timespec {
        var q = ns / 1_000_000_000, r = ns % 1_000_000_000
        if r < 0 { q -= 1; r += 1_000_000_000 }
        return Glibc.timespec(tv_sec: Int(q), tv_nsec: Int(r))
    }
}
