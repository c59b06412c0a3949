import AuditStore
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// Creating files and directories, opening for writing, appending, syncing.
extension AuditFileSystem {
    func create(_ reply: consuming Reply<Answer.Created>, request: fuse_req_t, parent: UInt64,
                name: UnsafePointer<CChar>, mode: mode_t, fi: UnsafeMutablePointer<fuse_file_info>) {
        let flags = fi.pointee.flags
        guard let n = Self.name(name) else { reply.error(strlen(name) > Format.maxNameSize ? ENAMETOOLONG : EINVAL); return }
        guard let dir = store.info(parent) else { reply.error(ENOENT); return }
        guard dir.isDirectory else { reply.error(ENOTDIR); return }
        var node = store.lookup(parent: parent, name: n)
        if node == nil {
            let who = Caller.provenance(of: request)
            do {
                node = try store.create(StorePath.join(dir.path, n), kind: .file, mode: UInt32(mode) & 0o7777,
                                        owner: who.uid, group: Self.group(for: who, in: dir), by: who)
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
        if flags & O_TRUNC != 0, let refused = Policy.checkTruncate(node.subject, to: 0) { reply.error(refused); return }
        OpenFile.prepare(fi, flags: flags)
        reply.created(node.entry, fi)
    }

    func mkdir(_ reply: consuming Reply<Answer.Entry>, request: fuse_req_t, parent: UInt64,
               name: UnsafePointer<CChar>, mode: mode_t) {
        guard let n = Self.name(name) else { reply.error(strlen(name) > Format.maxNameSize ? ENAMETOOLONG : EINVAL); return }
        guard let dir = store.info(parent) else { reply.error(ENOENT); return }
        guard dir.isDirectory else { reply.error(ENOTDIR); return }
        let who = Caller.provenance(of: request)
        var bits = UInt32(mode) & 0o7777
        if dir.mode & Self.setGroupID != 0 { bits |= Self.setGroupID }
        do {
            let node = try store.create(StorePath.join(dir.path, n), kind: .directory, mode: bits,
                                        owner: who.uid, group: Self.group(for: who, in: dir), by: who)
            reply.entry(node.entry)
        } catch {
            if error.isFailure { Log.error("mkdir \(dir.path)/\(n): \(error)") }
            reply.error(Self.nameErrno(error, n))
        }
    }

    func open(_ reply: consuming Reply<Answer.Opened>, id: UInt64, fi: UnsafeMutablePointer<fuse_file_info>) {
        guard let node = store.info(id) else { reply.error(ENOENT); return }
        let flags = fi.pointee.flags
        if flags & O_TRUNC != 0, let refused = Policy.checkTruncate(node.subject, to: 0) { reply.error(refused); return }
        OpenFile.prepare(fi, flags: flags)
        reply.opened(fi)
    }

    /// One write() is one block. On an O_APPEND handle it lands at the true
    /// end whatever the kernel's offset; otherwise the store refuses any
    /// offset but the current size (EPERM), atomically under its lock.
    func write(_ reply: consuming Reply<Answer.Written>, request: fuse_req_t, id: UInt64,
               data: UnsafeRawBufferPointer, offset: Int64, fi: UnsafeMutablePointer<fuse_file_info>) {
        let file = OpenFile(fh: fi.pointee.fh)
        let who = Caller.provenance(of: request)
        do {
            try store.append(id, data, at: file.appends ? nil : UInt64(max(offset, 0)), by: who)
        } catch {
            if error.isFailure { Log.error("append to file \(id): \(error)") }
            reply.error(error.errno)
            return
        }
        reply.written(data.count)
    }

    func flush(_ reply: consuming Reply<Answer.Status>) {
        // Every acknowledged write is already in the segment file.
        reply.ok()
    }

    func release(_ reply: consuming Reply<Answer.Status>) {
        reply.ok()
    }

    /// fsync, fdatasync, and fsync on a directory: returns once the store has
    /// synced every record appended so far (concurrent callers share one sync).
    func fsync(_ reply: consuming Reply<Answer.Status>) {
        do {
            try store.sync()
        } catch {
            Log.error("sync: \(error)")
            reply.error(EIO)
            return
        }
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
