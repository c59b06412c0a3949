import AuditPolicy
import AuditStore
import FUSEInterface
import Glibc

/// Creating files and directories, opening, appending, syncing. Each
/// creation and open is decided by the policy (`Authorizer`); refusals by the
/// mount rules are recorded as tamper attempts.
extension AuditFileSystem {
    func create(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32,
                flags: Int32) -> Result<Created, Errno> {
        let place: NewName
        switch newName(context, name, in: parent, operation: "create") {
        case let .success(p): place = p
        case let .failure(e): return .failure(e)
        }
        let (dir, n, path, who, chain) = (place.directory, place.name, place.path, place.who, place.chain)
        // A new name needs write on the directory too.
        var node = store.lookup(parent: parent, name: n)
        if node == nil, let refused = checkBits(context, who, dir.modeBitsNode, nodePath: dir.path, .write,
                                                operation: "create", path: path) {
            return .failure(Errno(refused))
        }
        if Store.isAuditPath(path) {
            return .failure(Errno(authorizer.refuse(context, "create", path, rule: .auditNamespace,
                                                    errno: MountRules.auditNamespaceChange)))
        }
        var created = false
        if node == nil {
            // The creator's handle is opened with the caller's flags: its
            // access mode is decided like an open's, before anything is made
            // (a create-only user gets no handle that reads). Its mode bits
            // are not checked: the creator's handle is part of the create.
            if let refused = authorizer.check(context, .create, path) { return .failure(Errno(refused)) }
            if let refused = checkAccessMode(context, path, flags: flags) { return .failure(Errno(refused)) }
            let writer = Caller.provenance(of: context, fresh: true)
            do {
                node = try store.create(StorePath.join(dir.path, n), kind: .file, mode: mode & 0o7777,
                                        owner: writer.uid, group: Self.group(for: writer, in: dir), by: writer)
                created = true
            } catch .exists {
                // Another process created it between our lookup and create.
                node = store.lookup(parent: parent, name: n)
                if flags & O_EXCL != 0 { return .failure(Errno(EEXIST)) }
            } catch {
                if error.isFailure { Log.error("create \(dir.path)/\(n): \(error)") }
                return .failure(Errno(Self.nameErrno(error, n)))
            }
        } else if flags & O_EXCL != 0 {
            return .failure(Errno(EEXIST))
        }
        // O_CREAT without O_EXCL on an existing file is an open.
        guard let node else { return .failure(Errno(ENOENT)) }
        guard !node.isDirectory else { return .failure(Errno(EISDIR)) }
        if !created, let refused = checkOpen(context, node, flags: flags, who: who) { return .failure(Errno(refused)) }
        authorizer.metrics.openFiles.increment()
        return .success(Created(Self.cachesNames(chain) ? node.entry : node.uncachedEntry, OpenFile.opened(flags: flags)))
    }

    func mkdir(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32) -> Result<Entry, Errno> {
        // The kernel's order: search, an existing name, write on the directory.
        let place: NewName
        switch newName(context, name, in: parent, operation: "mkdir") {
        case let .success(p): place = p
        case let .failure(e): return .failure(e)
        }
        let (dir, n, path, caller, chain) = (place.directory, place.name, place.path, place.who, place.chain)
        // An existing name answers EEXIST before any decision (rsyslog's mkdir of a parent).
        if store.lookup(parent: parent, name: n) != nil { return .failure(Errno(EEXIST)) }
        if let refused = checkBits(context, caller, dir.modeBitsNode, nodePath: dir.path, .write, operation: "mkdir", path: path) {
            return .failure(Errno(refused))
        }
        if Store.isAuditPath(path) {
            return .failure(Errno(authorizer.refuse(context, "mkdir", path, rule: .auditNamespace,
                                                    errno: MountRules.auditNamespaceChange)))
        }
        if let refused = authorizer.check(context, .mkdir, path) { return .failure(Errno(refused)) }
        let who = Caller.provenance(of: context, fresh: true)
        var bits = mode & 0o7777
        if dir.mode & Self.setGroupID != 0 { bits |= Self.setGroupID }
        do {
            let node = try store.create(StorePath.join(dir.path, n), kind: .directory, mode: bits,
                                        owner: who.uid, group: Self.group(for: who, in: dir), by: who)
            return .success(Self.cachesNames(chain) ? node.entry : node.uncachedEntry)
        } catch {
            if error.isFailure { Log.error("mkdir \(dir.path)/\(n): \(error)") }
            return .failure(Errno(Self.nameErrno(error, n)))
        }
    }

    func open(_ context: RequestContext, ino: UInt64, flags: Int32) -> Result<Opened, Errno> {
        if ino == CheckpointView.inode {
            let who = credentials(context)
            guard let audit = store.lookup(AuditPaths.root) else { return .failure(Errno(ENOENT)) }
            if let refused = checkSearch(context, who, ancestry(audit), operation: "open", path: CheckpointView.path)
                ?? checkBits(context, who, checkpointView.modeBitsNode, nodePath: CheckpointView.path,
                             Self.access(forOpen: flags), operation: "open", path: CheckpointView.path) {
                return .failure(Errno(refused))
            }
            if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 {
                return .failure(Errno(authorizer.refuse(context, flags & O_TRUNC != 0 ? "truncate" : "open-write",
                                                        CheckpointView.path, rule: .auditNamespace,
                                                        errno: MountRules.auditNamespaceChange)))
            }
            if let refused = authorizer.check(context, .read, CheckpointView.path) { return .failure(Errno(refused)) }
            authorizer.metrics.openFiles.increment()
            return .success(Opened(handle: 0, directIO: true))   // never served from the page cache: it changes
        }
        guard let node = store.info(ino) else { return .failure(Errno(ENOENT)) }
        let who = credentials(context)
        if let refused = checkSearch(above: node, context, who, operation: "open")
            ?? checkOpen(context, node, flags: flags, who: who) {
            return .failure(Errno(refused))
        }
        authorizer.metrics.openFiles.increment()
        var opened = OpenFile.opened(flags: flags)
        // Read-only handles read through the page cache; it may outlive this open when the file has not grown since.
        if !opened.directIO { opened.keepCache = pageCache.mayKeep(ino, size: node.size) }
        return .success(opened)
    }

    /// The checks of opening an existing file: its mode bits (r to read, w
    /// to write or truncate); nothing under /.audit opens for writing;
    /// O_TRUNC only where it changes nothing; then the policy: `read` for
    /// reading, `append` for writing (both for O_RDWR).
    func checkOpen(_ context: RequestContext, _ node: NodeInfo, flags: Int32, who: ModeBits.Credentials) -> Int32? {
        if let refused = checkBits(context, who, node.modeBitsNode, nodePath: node.path, Self.access(forOpen: flags),
                                   operation: "open", path: node.path) {
            return refused
        }
        let access = flags & O_ACCMODE
        if Store.isAuditPath(node.path) && (access != O_RDONLY || flags & O_TRUNC != 0) {
            return authorizer.refuse(context, flags & O_TRUNC != 0 ? "truncate" : "open-write", node.path,
                                     rule: .auditNamespace, errno: MountRules.auditNamespaceChange)
        }
        if flags & O_TRUNC != 0, let refused = MountRules.checkTruncate(node.subject, to: 0) {
            return authorizer.refuse(context, "truncate", node.path, rule: .noTruncate, errno: refused)
        }
        return checkAccessMode(context, node.path, flags: flags)
    }

    /// The policy's decision on a handle's access mode, for an open and for
    /// the creator's handle of a create alike: `read` for reading, `append`
    /// for writing (both for O_RDWR).
    func checkAccessMode(_ context: RequestContext, _ path: String, flags: Int32) -> Int32? {
        let access = flags & O_ACCMODE
        if access != O_WRONLY, let refused = authorizer.check(context, .read, path) { return refused }
        if access != O_RDONLY, let refused = authorizer.check(context, .append, path) { return refused }
        return nil
    }

    /// One write() is one block. On an O_APPEND handle it lands at the true
    /// end whatever the kernel's offset; otherwise the store refuses any
    /// offset but the current size (EPERM), atomically under its lock.
    func write(_ context: RequestContext, ino: UInt64, data: UnsafeRawBufferPointer, offset: Int64,
               handle: UInt64) -> Result<Int, Errno> {
        let file = OpenFile(handle: handle)
        let who = Caller.provenance(of: context)
        let started = MountMetrics.monotonic()
        do {
            try store.append(ino, data, at: file.appends ? nil : UInt64(max(offset, 0)), by: who)
        } catch {
            if error.isFailure { Log.error("append to file \(ino): \(error)") }
            if case let .notAtEnd(path, _, _) = error {
                return .failure(Errno(authorizer.refuse(context, "write", path, rule: .appendOnly, errno: error.errno)))
            }
            // History mode: a descriptor kept open across an unlink or a replacing rename.
            if case let .retired(path) = error {
                return .failure(Errno(authorizer.refuse(context, "write", path, rule: .retired, errno: MountRules.retiredWrite)))
            }
            return .failure(Errno(error.errno))
        }
        authorizer.metrics.wrote(data.count, since: started)
        return .success(data.count)
    }

    func release(_ context: RequestContext, ino: UInt64, handle: UInt64, flags: Int32) -> Result<Void, Errno> {
        authorizer.metrics.openFiles.decrement()
        return .success(())
    }

    /// fsync, fdatasync: returns once the store has synced every record
    /// appended so far (concurrent callers share one sync).
    func fsync(_ context: RequestContext, ino: UInt64, dataOnly: Bool, handle: UInt64) -> Result<Void, Errno> {
        syncStore()
    }

    /// fsync on a directory: the same.
    func fsyncdir(_ context: RequestContext, ino: UInt64, dataOnly: Bool, handle: UInt64) -> Result<Void, Errno> {
        syncStore()
    }

    private func syncStore() -> Result<Void, Errno> {
        let started = MountMetrics.monotonic()
        do {
            try store.sync()
        } catch {
            if error.isFailure { Log.error("sync: \(error)") }
            return .failure(Errno(error.errno))
        }
        authorizer.metrics.synced(since: started)
        onFsync()
        return .success(())
    }

    // MARK: Helpers

    /// Where a create or mkdir puts its new name, once the name is one a
    /// store can hold, the parent a directory, and the caller may search it
    /// and every directory above (the mode bits first, as the kernel's; a
    /// refusal is recorded).
    struct NewName {
        let directory: NodeInfo
        let name: String
        let path: String
        let who: ModeBits.Credentials
        /// The directory and those above it, the root first.
        let chain: [NodeInfo]
    }

    func newName(_ context: RequestContext, _ name: [UInt8], in parent: UInt64, operation: String) -> Result<NewName, Errno> {
        guard let n = Self.name(name) else {
            return .failure(Errno(name.count > Format.maxNameSize ? ENAMETOOLONG : EINVAL))
        }
        guard let dir = store.info(parent) else { return .failure(Errno(ENOENT)) }
        guard dir.isDirectory else { return .failure(Errno(ENOTDIR)) }
        let path = StorePath.join(dir.path, n)
        let who = credentials(context)
        let chain = ancestry(dir)
        if let refused = checkSearch(context, who, chain, operation: operation, path: path) { return .failure(Errno(refused)) }
        return .success(NewName(directory: dir, name: n, path: path, who: who, chain: chain))
    }

    /// S_ISGID (Glibc's name is ambiguous in Swift).
    static let setGroupID: UInt32 = 0o2000

    /// A new node's group: the parent's when the parent is set-group-ID (as
    /// on ext4), else the caller's.
    static func group(for who: Provenance, in dir: NodeInfo) -> UInt32 {
        dir.mode & Self.setGroupID != 0 ? dir.gid : who.gid
    }

    static func nameErrno(_ error: StoreError, _ name: String) -> Int32 {
        if case .invalidPath = error, name.utf8.count > Format.maxNameSize { return ENAMETOOLONG }
        return error.errno
    }
}
