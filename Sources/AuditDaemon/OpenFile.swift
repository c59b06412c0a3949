import FUSEInterface
import Glibc

/// What the daemon remembers about an open file, packed into its handle
/// (`Opened.handle`, the kernel's `fi->fh`): only whether the handle appends
/// (O_APPEND). The file's size is never cached in a handle; the store's is
/// the truth.
struct OpenFile {
    let appends: Bool

    init(flags: Int32) { appends = flags & O_APPEND != 0 }

    init(handle: UInt64) { appends = handle & 1 != 0 }

    var handle: UInt64 { appends ? 1 : 0 }

    /// The answer to an open (or the creator's handle of a create) with `flags`.
    ///
    /// Handles that can write use direct I/O: the kernel then sends each
    /// write() (up to max_write, 1 MiB) as one WRITE request from the
    /// caller's buffer. Through the page cache it splits a write at a page
    /// boundary when the page is not cached whole, so one write() could
    /// become two blocks (and a crash between them would store half a line).
    /// Read-only handles read through the page cache; appends change mtime,
    /// and the kernel drops cached pages when it sees mtime or size change
    /// (auto_inval_data, libfuse's default). Whether an open keeps the pages
    /// of earlier opens is `PageCacheKeeper`'s decision (`open`).
    static func opened(flags: Int32) -> Opened {
        Opened(handle: OpenFile(flags: flags).handle, directIO: flags & O_ACCMODE != O_RDONLY)
    }
}
