import AuditPolicy
import AuditStore
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// Creating files and directories, opening, appending, syncing. Each
/// creation and open is decided by the policy (`Authorizer`); refusals by the
/// mount rules are recorded as tamper attempts.
extension AuditFileSystem {
    func create(_ reply: consuming Reply<Answer.Created>, request: fuse_req_t, parent: UInt64,
                name: UnsafePointer<CChar>, mode: mode_t, fi: UnsafeMutablePointer<fuse_file_info>) {
        let flags = fi.pointee.flags
        guard let n = Self.name(name) else { reply.error(strlen(name) > Format.maxNameSize ? ENAMETOOLONG : EINVAL); return }
        guard let dir = store.info(parent) else { reply.error(ENOENT); return }
        guard dir.isDirectory else { reply.error(ENOTDIR); return }
        let path = StorePath.join(dir.path, n)
        // The mode bits first, as the kernel's: search above and in the
        // directory; a new name needs write on the directory too.
        let who = credentials(request)
        let chain = ancestry(dir)
        if let refused = checkSearch(request, who, chain, operation: "create", path: path) { reply.error(refused); return }
        var node = store.lookup(parent: parent, name: n)
        if node == nil, let refused = checkBits(request, who, dir.modeBitsNode, nodePath: dir.path, .write,
                                                operation: "create", path: path) {
            reply.error(refused); return
        }
        if Store.isAuditPath(path) {
            reply.error(authorizer.refuse(request, "create", path, rule: .auditNamespace, errno: MountRules.auditNamespaceChange))
            return
        }
        var created = false
        if node == nil {
            // The creator's handle is opened with the caller's flags: its
            // access mode is decided like an open's, before anything is made
            // (a create-only user gets no handle that reads). Its mode bits
            // are not checked: the creator's handle is part of the create.
            if let refused = authorizer.check(request, .create, path) { reply.error(refused); return }
            if let refused = checkAccessMode(request, path, flags: flags) { reply.error(refused); return }
            let writer = Caller.provenance(of: request, fresh: true)
            do {
                node = try store.create(StorePath.join(dir.path, n), kind: .file, mode: UInt32(mode) & 0o7777,
                                        owner: writer.uid, group: Self.group(for: writer, in: dir), by: writer)
                created = true
            } catch .exists {
                // Another process created it between our lookup and create.
                node = store.lookup(parent: parent, name: n)
                if flags & O_EXCL != 0 { reply.error(EEXIST); return }
            } catch {
                if error.isFailure { Log.error("create \(dir.path)/\(n): \(error)") }
                reply.error(Self.nameErrno(error, n)); return
            }
        } else if flags & O_EXCL != 0 {
            reply.error(EEXIST); return
        }
        // O_CREAT without O_EXCL on an existing file is an open.
        guard let node else { reply.error(ENOENT); return }
        guard !node.isDirectory else { reply.error(EISDIR); return }
        if !created, let refused = checkOpen(request, node, flags: flags, who: who) { reply.error(refused); return }
        OpenFile.prepare(fi, flags: flags)
        authorizer.metrics.openFiles.increment()
        reply.created(Self.cachesNames(chain) ? node.entry : node.uncachedEntry, fi)
    }

    func mkdir(_ reply: consuming Reply<Answer.Entry>, request: fuse_req_t, parent: UInt64,
               name: UnsafePointer<CChar>, mode: mode_t) {
        guard let n = Self.name(name) else { reply.error(strlen(name) > Format.maxNameSize ? ENAMETOOLONG : EINVAL); return }
        guard let dir = store.info(parent) else { reply.error(ENOENT); return }
        guard dir.isDirectory else { reply.error(ENOTDIR); return }
        let path = StorePath.join(dir.path, n)
        // The kernel's order: search, an existing name, write on the directory.
        let caller = credentials(request)
        let chain = ancestry(dir)
        if let refused = checkSearch(request, caller, chain, operation: "mkdir", path: path) { reply.error(refused); return }
        // An existing name answers EEXIST before any decision (rsyslog's mkdir of a parent).
        if store.lookup(parent: parent, name: n) != nil { reply.error(EEXIST); return }
        if let refused = checkBits(request, caller, dir.modeBitsNode, nodePath: dir.path, .write, operation: "mkdir", path: path) {
            reply.error(refused); return
        }
        if Store.isAuditPath(path) {
            reply.error(authorizer.refuse(request, "mkdir", path, rule: .auditNamespace, errno: MountRules.auditNamespaceChange))
            return
        }
        if let refused = authorizer.check(request, .mkdir, path) { reply.error(refused); return }
        let who = Caller.provenance(of: request, fresh: true)
        var bits = UInt32(mode) & 0o7777
        if dir.mode & Self.setGroupID != 0 { bits |= Self.setGroupID }
        do {
            let node = try store.create(StorePath.join(dir.path, n), kind: .directory, mode: bits,
                                        owner: who.uid, group: Self.group(for: who, in: dir), by: who)
            reply.entry(Self.cachesNames(chain) ? node.entry : node.uncachedEntry)
        } catch {
            if error.isFailure { Log.error("mkdir \(dir.path)/\(n): \(error)") }
            reply.error(Self.nameErrno(error, n))
        }
    }

    func open(_ reply: consuming Reply<Answer.Opened>, request: fuse_req_t, id: UInt64, fi: UnsafeMutablePointer<fuse_file_info>) {
        if id == CheckpointView.inode {
            let flags = fi.pointee.flags
            let who = credentials(request)
            guard let audit = store.lookup(AuditPaths.root) else { reply.error(ENOENT); return }
            if let refused = checkSearch(request, who, ancestry(audit), operation: "open", path: CheckpointView.path)
                ?? checkBits(request, who, checkpointView.modeBitsNode, nodePath: CheckpointView.path,
                             Self.access(forOpen: flags), operation: "open", path: CheckpointView.path) {
                reply.error(refused); return
            }
            if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 {
                reply.error(authorizer.refuse(request, flags & O_TRUNC != 0 ? "truncate" : "open-write", CheckpointView.path,
                                              rule: .auditNamespace, errno: MountRules.auditNamespaceChange))
                return
            }
            if let refused = authorizer.check(request, .read, CheckpointView.path) { reply.error(refused); return }
            fi.pointee.direct_io = 1   // never served from the page cache: it changes
            authorizer.metrics.openFiles.increment()
            reply.opened(fi)
            return
        }
        guard let node = store.info(id) else { reply.error(ENOENT); return }
        let flags = fi.pointee.flags
        let who = credentials(request)
        if let refused = checkSearch(above: node, request, who, operation: "open")
            ?? checkOpen(request, node, flags: flags, who: who) {
            reply.error(refused); return
        }
        OpenFile.prepare(fi, flags: flags)
        authorizer.metrics.openFiles.increment()
        reply.opened(fi)
    }

    /// The checks of opening an existing file: its mode bits (r to read, w
    /// to write or truncate); nothing under /.audit opens for writing;
    /// O_TRUNC only where it changes nothing; then the policy: `read` for
    /// reading, `append` for writing (both for O_RDWR).
    func checkOpen(_ request: fuse_req_t, _ node: NodeInfo, flags: Int32, who: ModeBits.Credentials) -> Int32? {
        if let refused = checkBits(request, who, node.modeBitsNode, nodePath: node.path, Self.access(forOpen: flags),
                                   operation: "open", path: node.path) {
            return refused
        }
        let access = flags & O_ACCMODE
        if Store.isAuditPath(node.path) && (access != O_RDONLY || flags & O_TRUNC != 0) {
            return authorizer.refuse(request, flags & O_TRUNC != 0 ? "truncate" : "open-write", node.path,
                                     rule: .auditNamespace, errno: MountRules.auditNamespaceChange)
        }
        if flags & O_TRUNC != 0, let refused = MountRules.checkTruncate(node.subject, to: 0) {
            return authorizer.refuse(request, "truncate", node.path, rule: .noTruncate, errno: refused)
        }
        return checkAccessMode(request, node.path, flags: flags)
    }

    /// The policy's decision on a handle's access mode, for an open and for
    /// the creator's handle of a create alike: `read` for reading, `append`
    /// for writing (both for O_RDWR).
    func checkAccessMode(_ request: fuse_req_t, _ path: String, flags: Int32) -> Int32? {
        let access = flags & O_ACCMODE
        if access != O_WRONLY, let refused = authorizer.check(request, .read, path) { return refused }
        if access != O_RDONLY, let refused = authorizer.check(request, .append, path) { return refused }
        return nil
    }

    /// One write() is one block. On an O_APPEND handle it lands at the true
    /// end whatever the kernel's offset; otherwise the store refuses any
    /// offset but the current size (EPERM), atomically under its lock.
    func write(_ reply: consuming Reply<Answer.Written>, request: fuse_req_t, id: UInt64,
               data: UnsafeRawBufferPointer, offset: Int64, fi: UnsafeMutablePointer<fuse_file_info>) {
        let file = OpenFile(fh: fi.pointee.fh)
        let who = Caller.provenance(of: request)
        let started = MountMetrics.monotonic()
        do {
            try store.append(id, data, at: file.appends ? nil : UInt64(max(offset, 0)), by: who)
        } catch {
            if error.isFailure { Log.error("append to file \(id): \(error)") }
            if case let .notAtEnd(path, _, _) = error {
                reply.error(authorizer.refuse(request, "write", path, rule: .appendOnly, errno: error.errno))
                return
            }
            reply.error(error.errno)
            return
        }
        authorizer.metrics.wrote(data.count, since: started)
        reply.written(data.count)
    }

    func flush(_ reply: consuming Reply<Answer.Status>) {
        // Every acknowledged write is already in the segment file.
        reply.ok()
    }

    func release(_ reply: consuming Reply<Answer.Status>) {
        authorizer.metrics.openFiles.decrement()
        reply.ok()
    }

    /// fsync, fdatasync, and fsync on a directory: returns once the store has
    /// synced every record appended so far (concurrent callers share one sync).
    func fsync(_ reply: consuming Reply<Answer.Status>) {
        let started = MountMetrics.monotonic()
        do {
            try store.sync()
        } catch {
            if error.isFailure { Log.error("sync: \(error)") }
            reply.error(error.errno)
            return
        }
        authorizer.metrics.synced(since: started)
        onFsync()
        reply.ok()
    }

    // MARK: Helpers

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
