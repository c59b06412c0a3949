import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// What the daemon remembers about an open file, packed into `fi->fh`: only
/// whether the handle appends (O_APPEND). The file's size is never cached in
/// a handle; the store's is the truth.
struct OpenFile {
    let appends: Bool

    init(flags: Int32) { appends = flags & O_APPEND != 0 }

    init(fh: UInt64) { appends = fh & 1 != 0 }

    var fh: UInt64 { appends ? 1 : 0 }

    /// Fills `fi` for a new handle opened with `flags`.
    ///
    /// Handles that can write use direct I/O: the kernel then sends each
    /// write() (up to max_write, 1 MiB) as one WRITE request from the
    /// caller's buffer. Through the page cache it splits a write at a page
    /// boundary when the page is not cached whole, so one write() could
    /// become two blocks (and a crash between them would store half a line).
    /// Read-only handles keep the page cache; appends change mtime, and the
    /// kernel drops cached pages when it sees mtime or size change
    /// (auto_inval_data, libfuse's default).
    static func prepare(_ fi: UnsafeMutablePointer<fuse_file_info>, flags: Int32) {
        fi.pointee.fh = OpenFile(flags: flags).fh
        if flags & O_ACCMODE != O_RDONLY { fi.pointee.direct_io = 1 }
    }
}
