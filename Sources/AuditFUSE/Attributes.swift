import CFuse3
import FUSEInterface
import Glibc

extension Attributes {
    /// The `struct stat` the kernel is answered with.
    var stat: stat {
        var st = Glibc.stat()
        st.st_ino = ino_t(ino)
        st.st_mode = (kind == .directory ? S_IFDIR : S_IFREG) | mode_t(permissions & 0o7777)
        st.st_nlink = nlink_t(links)
        st.st_uid = uid
        st.st_gid = gid
        st.st_size = off_t(clamping: size)
        st.st_blksize = blksize_t(blockSize)
        st.st_blocks = blkcnt_t(clamping: blocks)
        st.st_atim = Self.timespec(atime)
        st.st_mtim = Self.timespec(mtime)
        st.st_ctim = Self.timespec(ctime)
        return st
    }

    /// Nanoseconds since the epoch as a timespec (rounded down: a time
    /// before 1970 has tv_nsec in 0..<1e9 too).
    static func timespec(_ ns: Int64) -> timespec {
        var q = ns / 1_000_000_000, r = ns % 1_000_000_000
        if r < 0 { q -= 1; r += 1_000_000_000 }
        return Glibc.timespec(tv_sec: Int(q), tv_nsec: Int(r))
    }

    /// A timespec from the kernel (a setattr's times) as nanoseconds since
    /// the epoch. The kernel passes any 64-bit second count: a time past what
    /// nanoseconds in an Int64 hold (after 2262, before 1678) is the last or
    /// first one a store can hold, as the kernel clamps a time to a file
    /// system's range.
    static func nanoseconds(_ t: timespec) -> Int64 {
        let (s, o1) = Int64(t.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        let (ns, o2) = s.addingReportingOverflow(Int64(t.tv_nsec))
        if o1 || o2 { return t.tv_sec < 0 ? Int64.min : Int64.max }
        return ns
    }
}

extension Entry {
    /// The `fuse_entry_param` the kernel is answered with.
    var parameter: fuse_entry_param {
        var e = fuse_entry_param()
        e.ino = fuse_ino_t(attributes.ino)
        e.generation = generation
        e.attr = attributes.stat
        e.attr_timeout = attributeTimeout
        e.entry_timeout = entryTimeout
        return e
    }
}
