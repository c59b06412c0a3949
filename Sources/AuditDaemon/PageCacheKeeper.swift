import Synchronization

/// Which read-only opens may keep the kernel's page cache of a file from
/// earlier opens (FOPEN_KEEP_CACHE), so that a warm file is read from
/// memory instead of through the daemon.
///
/// Bytes once stored never change, so every cached page holds the file's
/// bytes — except past the end the file had when the page was read: the
/// kernel fills the rest of a file's last page with zeros. Once the file
/// has grown, those zeros stand where its new bytes are. An open may
/// therefore keep the cache only when every READ answered since the cache
/// was last dropped saw the size the file has now; otherwise the open drops
/// it (the kernel invalidates the file's pages at an open without
/// FOPEN_KEEP_CACHE) and the record starts again. The size is taken before
/// the READ reads, so a READ that sees more is still covered.
///
/// The kernel drops a file's pages itself when it sees a new size or mtime
/// (auto_inval_data), which covers growth in the usual case; but after a
/// write through this mount it has the new size already and goes by mtime
/// alone, and a store stamps max(clock, last time): with a clock stepped
/// back, the mtime does not change. Without FOPEN_KEEP_CACHE every open
/// dropped the pages, so this keeps that guarantee where it matters.
///
/// A reader that keeps one descriptor open while the file grows (tail -f)
/// is not affected: its pages are refreshed as before, when the kernel sees
/// the new size or mtime (auto_inval_data). Memory: one entry per file read
/// since its last dropping open.
final class PageCacheKeeper: Sendable {
    /// The smallest file size a READ of each file saw since its cache was last dropped.
    private let readAt = Mutex<[UInt64: UInt64]>([:])

    init() {}

    /// Whether a read-only open of file `ino`, whose size is `size` now, may
    /// keep the kernel's cached pages. When not, the open drops them.
    func mayKeep(_ ino: UInt64, size: UInt64) -> Bool {
        readAt.withLock { sizes in
            guard let seen = sizes[ino] else { return true }
            if seen == size { return true }
            sizes[ino] = nil
            return false
        }
    }

    /// Before a READ of file `ino` reads: records the file's size (`size()`,
    /// asked only when nothing is recorded) as one its cached pages may
    /// have been read at.
    func willRead(_ ino: UInt64, size: () -> UInt64?) {
        guard readAt.withLock({ $0[ino] == nil }) else { return }
        guard let now = size() else { return }
        readAt.withLock { sizes in sizes[ino] = min(sizes[ino] ?? now, now) }
    }
}
