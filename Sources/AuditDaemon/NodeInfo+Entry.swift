import AuditStore
import FUSEInterface

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
    /// The attributes a caller sees: the file id is the inode number; mtime
    /// is the last append (or attribute change); ctime is the later of
    /// creation and mtime.
    var attributes: Attributes {
        Attributes(ino: id, kind: isDirectory ? .directory : .regularFile, permissions: mode & 0o7777,
                   // A directory's links: its entry, its ".", and each subdirectory's "..".
                   links: isDirectory ? UInt32(clamping: 2 + subdirectoryCount) : 1,
                   uid: uid, gid: gid, size: size,
                   blocks: size / 512 + (size % 512 == 0 ? 0 : 1), blockSize: 4096,
                   atime: atime, mtime: mtime, ctime: max(ctime, mtime))
    }

    var entry: Entry {
        Entry(attributes, attributeTimeout: CacheTimeout.attributes, entryTimeout: CacheTimeout.entry)
    }

    /// The entry with no entry timeout: the kernel asks again (LOOKUP) at
    /// every walk through the name, so the walker's own search permission is
    /// checked (for names below a directory not everyone may search).
    var uncachedEntry: Entry {
        var e = entry
        e.entryTimeout = 0
        return e
    }
}
