import AuditPolicy
import AuditStore
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// The mounted store: one method per FUSE operation, each answering its
/// request exactly once through its `Reply`. Reading the namespace and the
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
final class AuditFileSystem: @unchecked Sendable {
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

    init(store: Store, authorizer: Authorizer, checkpointView: CheckpointView = CheckpointView(),
         onReady: @escaping @Sendable () -> Void,
         onUnmount: @escaping @Sendable () -> Void = {}, onFsync: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.authorizer = authorizer
        self.checkpointView = checkpointView
        self.onReady = onReady
        self.onUnmount = onUnmount
        self.onFsync = onFsync
    }

    /// Whether (parent, name) is the /.audit/checkpoint view.
    func isCheckpointView(parent: UInt64, name: String) -> Bool {
        name.sameBytes(as: CheckpointView.name) && !checkpointView.isEmpty && store.lookup(AuditPaths.root)?.id == parent
    }

    // MARK: Session

    func initialize(_ conn: UnsafeMutablePointer<fuse_conn_info>) {
        // Write-through only: the writeback cache would re-send stored bytes,
        // handle O_APPEND in the kernel and strip the writer's identity
        // (docs/MOUNT.md "Why no writeback cache").
        conn.pointee.want &= ~UInt32(FUSE_CAP_WRITEBACK_CACHE)
        // O_TRUNC reaches open() (and create()), where the mount rules check it.
        if conn.pointee.capable & UInt32(FUSE_CAP_ATOMIC_O_TRUNC) != 0 {
            conn.pointee.want |= UInt32(FUSE_CAP_ATOMIC_O_TRUNC)
        }
        onReady()
    }

    func destroy() {
        onUnmount()
        do { try store.sync() } catch { Log.error("sync at unmount failed: \(error)") }
    }

    // MARK: Names and attributes

    /// Search permission on the directory and every one above it first
    /// (a refusal is recorded; a name found is not). The entry may be cached
    /// by the kernel only where everyone may search (AuditFileSystem+Permissions.swift).
    func lookup(_ reply: consuming Reply<Answer.Entry>, request: fuse_req_t, parent: UInt64, name: UnsafePointer<CChar>) {
        guard let dir = store.info(parent) else { reply.error(ENOENT); return }
        guard dir.isDirectory else { reply.error(ENOTDIR); return }
        let chain = ancestry(dir)
        if let refused = checkSearch(request, credentials(request), chain, operation: "lookup",
                                     path: StorePath.join(dir.path, Self.name(name) ?? "?")) {
            reply.error(refused); return
        }
        let cached = Self.cachesNames(chain)
        if let n = Self.name(name), isCheckpointView(parent: parent, name: n) {
            var e = checkpointView.entry
            if !cached { e.entry_timeout = 0 }
            reply.entry(e); return
        }
        guard let n = Self.name(name), let node = store.lookup(parent: parent, name: n) else {
            reply.error(ENOENT); return
        }
        reply.entry(cached ? node.entry : node.uncachedEntry)
    }

    func forget(_ reply: consuming Reply<Answer.Nothing>) {
        // File ids are never reused or removed: there is no lookup count to keep.
        reply.none()
    }

    func getattr(_ reply: consuming Reply<Answer.Attributes>, id: UInt64) {
        if id == CheckpointView.inode { reply.attributes(checkpointView.stat, timeout: 0); return }
        guard let node = store.info(id) else { reply.error(ENOENT); return }
        reply.attributes(node.stat, timeout: CacheTimeout.attributes)
    }

    func statfs(_ reply: consuming Reply<Answer.FileSystemStats>) {
        // fstatvfs: Swift cannot call statvfs() by name (the struct shares it).
        var st = statvfs()
        let fd = Glibc.open(store.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { reply.error(Glibc.errno); return }
        defer { Glibc.close(fd) }
        guard fstatvfs(fd, &st) == 0 else { reply.error(Glibc.errno); return }
        st.f_namemax = UInt(Format.maxNameSize)
        reply.stats(st)
    }

    // MARK: Reading

    func read(_ reply: consuming Reply<Answer.Bytes>, id: UInt64, size: Int, offset: Int64) {
        if id == CheckpointView.inode { reply.bytes(checkpointView.bytes(offset: Int(max(offset, 0)), count: size)); return }
        do {
            let bytes = try store.read(id, offset: UInt64(max(offset, 0)), count: size)
            reply.bytes(bytes)
        } catch {
            if error.isFailure { Log.error("read of file \(id) at \(offset): \(error)") }
            reply.error(error.errno)
        }
    }

    func opendir(_ reply: consuming Reply<Answer.Opened>, request: fuse_req_t, id: UInt64,
                 fi: UnsafeMutablePointer<fuse_file_info>) {
        guard let dir = store.info(id) else { reply.error(ENOENT); return }
        guard dir.isDirectory else { reply.error(ENOTDIR); return }
        let who = credentials(request)
        if let refused = checkSearch(above: dir, request, who, operation: "opendir")
            ?? checkBits(request, who, dir.modeBitsNode, nodePath: dir.path, .read, operation: "opendir", path: dir.path) {
            reply.error(refused); return
        }
        if let refused = authorizer.check(request, .list, dir.path) { reply.error(refused); return }
        // Nothing is kept per open directory: readdir offsets are positions
        // in the directory's creation order (`DirectoryOffset`).
        fi.pointee.fh = 0
        reply.opened(fi)
    }

    /// The entries from position `offset` that fit in `size` bytes. Only
    /// those are copied out of the store, never the whole directory.
    func readdir(_ reply: consuming Reply<Answer.Bytes>, request: fuse_req_t, id: UInt64, size: Int, offset: Int64) {
        guard let dir = store.info(id), dir.isDirectory else { reply.error(ENOTDIR); return }
        let showsCheckpoint = dir.path.sameBytes(as: AuditPaths.root) && !checkpointView.isEmpty
        var buffer = [UInt8](repeating: 0, count: size)
        var used = 0
        var position = Int(clamping: max(offset, 0))
        buffer.withUnsafeMutableBytes { out in
            /// Adds the entry at `position` (the next one's position is its offset); false when it does not fit.
            func add(_ name: String, _ ino: UInt64, directory: Bool) -> Bool {
                var st = Glibc.stat()
                st.st_ino = ino_t(ino)
                st.st_mode = directory ? S_IFDIR : S_IFREG
                let room = size - used
                let need = name.withCString { name in
                    fuse_add_direntry(request, out.baseAddress!.assumingMemoryBound(to: CChar.self) + used, room, name, &st,
                                      off_t(position + 1))
                }
                if need > room { return false }
                used += need
                position += 1
                return true
            }
            while position < DirectoryOffset.firstEntry {
                switch position {
                case DirectoryOffset.dot: guard add(".", dir.id, directory: true) else { return }
                case DirectoryOffset.dotDot: guard add("..", dir.parent, directory: true) else { return }
                case DirectoryOffset.checkpoint where showsCheckpoint:
                    guard add(CheckpointView.name, CheckpointView.inode, directory: false) else { return }
                default:
                    position += 1   // the checkpoint's position, outside /.audit
                }
            }
            while used < size {
                let page = store.children(of: id, from: position - DirectoryOffset.firstEntry,
                                          limit: DirectoryOffset.fitting(size - used))
                if page.isEmpty { return }
                for child in page { guard add(child.name, child.id, directory: child.isDirectory) else { return } }
            }
        }
        buffer.removeLast(size - used)
        reply.bytes(buffer)
    }

    func releasedir(_ reply: consuming Reply<Answer.Status>) {
        reply.ok()
    }

    // MARK: Helpers

    /// A name from the kernel as the store spells it: UTF-8, or nil (no such
    /// name can exist in a store).
    static func name(_ c: UnsafePointer<CChar>) -> String? {
        String(validatingCString: c)
    }
}
