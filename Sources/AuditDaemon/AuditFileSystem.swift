import AuditPlumbing
import AuditPolicy
import AuditStore
import FUSEInterface
import Glibc

/// The mounted store: one method per FUSE operation (`FileSystemOperations`),
/// each returning its answer; the bridge (AuditFUSE) sends it as the
/// request's one reply. Reading the namespace and the
/// data is here; creating, writing, attributes and the refusals have their
/// own files.
///
/// Every access is decided by the permission policy and recorded under
/// /.audit (`Authorizer`); the mount's own rules (`MountRules`) refuse what
/// no policy can grant.
///
/// Thread safety: the handlers run on libfuse's worker threads at once; the
/// store and the authorizer are thread-safe and the handlers keep no other
/// mutable state.
final class AuditFileSystem: FileSystemOperations, @unchecked Sendable {
    let store: Store
    let authorizer: Authorizer
    /// Called once, when the kernel's INIT has been answered: the mount serves.
    let onReady: @Sendable () -> Void
    /// Called at unmount, before the store is synced (records the event).
    let onUnmount: @Sendable () -> Void
    /// /.audit/checkpoint, the newest signed checkpoint.
    let checkpointView: CheckpointView
    /// Called after an fsync made the store durable (checkpoint=fsync).
    let onFsync: @Sendable () -> Void
    /// History mode (`-o history`): rename, unlink and rmdir are recorded
    /// and keep every byte (AuditFileSystem+History.swift), and attribute
    /// changes of non-empty nodes are allowed. Off: refused (+Refusals).
    let history: Bool
    /// Which read-only opens keep the kernel's cached pages (FOPEN_KEEP_CACHE).
    let pageCache = PageCacheKeeper()

    init(store: Store, authorizer: Authorizer, checkpointView: CheckpointView = CheckpointView(), history: Bool = false,
         onReady: @escaping @Sendable () -> Void,
         onUnmount: @escaping @Sendable () -> Void = {}, onFsync: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.authorizer = authorizer
        self.checkpointView = checkpointView
        self.onReady = onReady
        self.onUnmount = onUnmount
        self.onFsync = onFsync
        self.history = history
    }

    /// Whether (parent, name) is the /.audit/checkpoint view.
    func isCheckpointView(parent: UInt64, name: String) -> Bool {
        name.sameBytes(as: CheckpointView.name) && !checkpointView.isEmpty && store.lookup(AuditPaths.root)?.id == parent
    }

    // MARK: Session

    func initialize(offered: Capabilities) -> CapabilityRequest {
        // Write-through only: the writeback cache would re-send stored bytes,
        // handle O_APPEND in the kernel and strip the writer's identity
        // (docs/MOUNT.md "Why no writeback cache").
        // O_TRUNC reaches open() (and create()), where the mount rules check it.
        let asked = CapabilityRequest(enable: offered.intersection(.atomicOpenTruncate), disable: .writebackCache)
        onReady()
        return asked
    }

    func destroy() {
        onUnmount()
        do { try store.syncWithTreeCache() } catch { Log.error("sync at unmount failed: \(error)") }
    }

    // MARK: Names and attributes

    /// Search permission on the directory and every one above it first
    /// (a refusal is recorded; a name found is not). The entry may be cached
    /// by the kernel only where everyone may search (AuditFileSystem+Permissions.swift).
    func lookup(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Entry, Errno> {
        guard let dir = store.info(parent) else { return .failure(Errno(ENOENT)) }
        guard dir.isDirectory else { return .failure(Errno(ENOTDIR)) }
        let chain = ancestry(dir)
        if let refused = checkSearch(context, credentials(context), chain, operation: "lookup",
                                     path: StorePath.join(dir.path, Self.name(name) ?? "?")) {
            return .failure(Errno(refused))
        }
        let cached = Self.cachesNames(chain)
        if let n = Self.name(name), isCheckpointView(parent: parent, name: n) {
            var e = checkpointView.entry
            if !cached { e.entryTimeout = 0 }
            return .success(e)
        }
        guard let n = Self.name(name), let node = store.lookup(parent: parent, name: n) else {
            return .failure(Errno(ENOENT))
        }
        return .success(cached ? node.entry : node.uncachedEntry)
    }

    /// File ids are never reused or removed: there is no lookup count to keep.
    func forget(ino: UInt64, lookups: UInt64) {}

    func getattr(_ context: RequestContext, ino: UInt64, handle: UInt64?) -> Result<CachedAttributes, Errno> {
        if ino == CheckpointView.inode { return .success(CachedAttributes(checkpointView.attributes, timeout: 0)) }
        guard let node = store.info(ino) else { return .failure(Errno(ENOENT)) }
        return .success(CachedAttributes(node.attributes, timeout: CacheTimeout.attributes))
    }

    func statfs(_ context: RequestContext, ino: UInt64) -> Result<FileSystemStatistics, Errno> {
        // fstatvfs: Swift cannot call statvfs() by name (the struct shares it).
        var st = statvfs()
        let fd = Glibc.open(store.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Errno(Glibc.errno)) }
        defer { Glibc.close(fd) }
        guard fstatvfs(fd, &st) == 0 else { return .failure(Errno(Glibc.errno)) }
        return .success(FileSystemStatistics(
            blockSize: UInt64(st.f_bsize), fragmentSize: UInt64(st.f_frsize), blocks: UInt64(st.f_blocks),
            blocksFree: UInt64(st.f_bfree), blocksAvailable: UInt64(st.f_bavail), files: UInt64(st.f_files),
            filesFree: UInt64(st.f_ffree), filesAvailable: UInt64(st.f_favail), fileSystemID: UInt64(st.f_fsid),
            flags: UInt64(st.f_flag), nameMax: UInt64(Format.maxNameSize)))
    }

    // MARK: Reading

    func read(_ context: RequestContext, ino: UInt64, size: Int, offset: Int64, handle: UInt64) -> Result<ReadData, Errno> {
        if ino == CheckpointView.inode { return .success(.bytes(checkpointView.bytes(offset: Int(max(offset, 0)), count: size))) }
        pageCache.willRead(ino) { store.info(ino)?.size }
        do {
            return .success(.bytes(try store.read(ino, offset: UInt64(max(offset, 0)), count: size)))
        } catch {
            if error.isFailure { Log.error("read of file \(ino) at \(offset): \(error)") }
            return .failure(Errno(error.errno))
        }
    }

    func opendir(_ context: RequestContext, ino: UInt64, flags: Int32) -> Result<Opened, Errno> {
        guard let dir = store.info(ino) else { return .failure(Errno(ENOENT)) }
        guard dir.isDirectory else { return .failure(Errno(ENOTDIR)) }
        let who = credentials(context)
        if let refused = checkSearch(above: dir, context, who, operation: "opendir")
            ?? checkBits(context, who, dir.modeBitsNode, nodePath: dir.path, .read, operation: "opendir", path: dir.path) {
            return .failure(Errno(refused))
        }
        if let refused = authorizer.check(context, .list, dir.path) { return .failure(Errno(refused)) }
        // Nothing is kept per open directory: readdir offsets are positions
        // in the directory's creation order (`DirectoryOffset`).
        return .success(Opened(handle: 0))
    }

    /// The entries from position `offset` that fit in `size` bytes. Only
    /// those are copied out of the store, never the whole directory.
    func readdir(_ context: RequestContext, ino: UInt64, size: Int, offset: Int64,
                 handle: UInt64) -> Result<DirectoryEntries, Errno> {
        guard let dir = store.info(ino), dir.isDirectory else { return .failure(Errno(ENOTDIR)) }
        let showsCheckpoint = dir.path.sameBytes(as: AuditPaths.root) && !checkpointView.isEmpty
        var list = DirectoryEntries(capacity: size)
        var position = Int(clamping: max(offset, 0))
        /// Adds the entry at `position` (the next one's position is its offset); false when it does not fit.
        func add(_ name: String, _ id: UInt64, directory: Bool) -> Bool {
            guard list.add(Array(name.utf8), ino: id, kind: directory ? .directory : .regularFile,
                           nextOffset: Int64(position + 1)) else { return false }
            position += 1
            return true
        }
        fill: do {
            while position < DirectoryOffset.firstEntry {
                switch position {
                case DirectoryOffset.dot: guard add(".", dir.id, directory: true) else { break fill }
                case DirectoryOffset.dotDot: guard add("..", dir.parent, directory: true) else { break fill }
                case DirectoryOffset.checkpoint where showsCheckpoint:
                    guard add(CheckpointView.name, CheckpointView.inode, directory: false) else { break fill }
                default:
                    position += 1   // the checkpoint's position, outside /.audit
                }
            }
            while list.remaining > 0 {
                let page = store.children(of: ino, from: position - DirectoryOffset.firstEntry,
                                          limit: DirectoryOffset.fitting(list.remaining))
                if page.isEmpty { break fill }
                for entry in page {
                    // Positions left empty by a rename (history mode) are passed over.
                    position = DirectoryOffset.firstEntry + entry.position
                    guard add(entry.node.name, entry.node.id, directory: entry.node.isDirectory) else { break fill }
                }
            }
        }
        return .success(list)
    }

    func releasedir(_ context: RequestContext, ino: UInt64, handle: UInt64) -> Result<Void, Errno> {
        .success(())
    }

    // MARK: Helpers

    /// A name from the kernel as the store spells it: UTF-8, or nil (no such
    /// name can exist in a store).
    static func name(_ bytes: [UInt8]) -> String? {
        String(validating: bytes, as: UTF8.self)
    }
}
