import AuditPlumbing
import CFuse3
import FUSEInterface
import Glibc

/// The kinds of answer a FUSE request can expect. `Reply<Kind>` offers only
/// the send methods of its kind, so a handler cannot answer a lookup with a
/// byte count. Every kind can also answer an error.
enum Answer {
    /// lookup, mkdir, link, symlink, mknod: `fuse_reply_entry`.
    enum Entry {}
    /// create: `fuse_reply_create`.
    enum Created {}
    /// getattr, setattr: `fuse_reply_attr`.
    enum Attributes {}
    /// open, opendir: `fuse_reply_open`.
    enum Opened {}
    /// write: `fuse_reply_write`.
    enum Written {}
    /// read: `fuse_reply_buf`.
    enum Bytes {}
    /// readdir: directory entries packed with `fuse_add_direntry`, then `fuse_reply_buf`.
    enum Directory {}
    /// statfs: `fuse_reply_statfs`.
    enum FileSystemStats {}
    /// getxattr, listxattr: `fuse_reply_xattr` or `fuse_reply_buf`.
    enum ExtendedAttribute {}
    /// Everything answered by an error code alone (0 is success).
    enum Status {}
    /// forget: `fuse_reply_none`.
    enum Nothing {}
}

/// The one answer a FUSE request gets.
///
/// `~Copyable` with `consuming` send methods: a reply cannot be copied, and
/// sending consumes it, so the compiler rejects a second answer. A reply
/// dropped without being sent (a bug) answers EIO from its deinit and says so
/// on stderr, so the caller never hangs.
struct Reply<Kind>: ~Copyable {
    let request: fuse_req_t
    let operation: StaticString

    init(_ request: fuse_req_t, _ operation: StaticString) {
        self.request = request
        self.operation = operation
    }

    /// Answers `code` (an errno, positive).
    consuming func error(_ code: Int32) {
        fuse_reply_err(request, code)
        discard self
    }

    consuming func error(_ e: Errno) {
        fuse_reply_err(request, e.code)
        discard self
    }

    deinit {
        ErrorLine.write("internal: \(operation) request dropped without a reply; answered EIO")
        fuse_reply_err(request, EIO)
    }
}

extension Reply where Kind == Answer.Status {
    consuming func ok() {
        fuse_reply_err(request, 0)
        discard self
    }

    consuming func answer(_ result: Result<Void, Errno>) {
        switch result {
        case .success: ok()
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.Nothing {
    consuming func none() {
        fuse_reply_none(request)
        discard self
    }
}

extension Reply where Kind == Answer.Entry {
    consuming func entry(_ e: FUSEInterface.Entry) {
        var p = e.parameter
        fuse_reply_entry(request, &p)
        discard self
    }

    consuming func answer(_ result: Result<FUSEInterface.Entry, Errno>) {
        switch result {
        case let .success(e): entry(e)
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.Created {
    consuming func created(_ c: FUSEInterface.Created, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        var p = c.entry.parameter
        c.opened.fill(fi)
        fuse_reply_create(request, &p, fi)
        discard self
    }

    consuming func answer(_ result: Result<FUSEInterface.Created, Errno>, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        switch result {
        case let .success(c): created(c, fi)
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.Attributes {
    consuming func attributes(_ a: CachedAttributes) {
        var st = a.attributes.stat
        fuse_reply_attr(request, &st, a.timeout)
        discard self
    }

    consuming func answer(_ result: Result<CachedAttributes, Errno>) {
        switch result {
        case let .success(a): attributes(a)
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.Opened {
    consuming func opened(_ o: FUSEInterface.Opened, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        o.fill(fi)
        fuse_reply_open(request, fi)
        discard self
    }

    consuming func answer(_ result: Result<FUSEInterface.Opened, Errno>, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        switch result {
        case let .success(o): opened(o, fi)
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.Written {
    consuming func written(_ count: Int) {
        fuse_reply_write(request, count)
        discard self
    }

    consuming func answer(_ result: Result<Int, Errno>) {
        switch result {
        case let .success(n): written(n)
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.Bytes {
    consuming func bytes(_ array: [UInt8]) {
        array.withUnsafeBytes { b in
            _ = fuse_reply_buf(request, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count)
        }
        discard self
    }

    consuming func answer(_ result: Result<ReadData, Errno>) {
        switch result {
        case let .success(.bytes(b)): bytes(b)
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.Directory {
    /// The entries packed as the kernel reads them (`fuse_add_direntry`:
    /// each one's inode number and type, and the offset of the next).
    consuming func entries(_ list: DirectoryEntries) {
        var buffer = [UInt8](repeating: 0, count: list.capacity)
        var used = 0
        buffer.withUnsafeMutableBytes { out in
            for item in list.items {
                var st = Glibc.stat()
                st.st_ino = ino_t(item.ino)
                st.st_mode = item.kind == .directory ? S_IFDIR : S_IFREG
                let room = list.capacity - used
                let need = (item.name + [0]).withUnsafeBufferPointer { name in
                    name.withMemoryRebound(to: CChar.self) { name in
                        fuse_add_direntry(request, out.baseAddress!.assumingMemoryBound(to: CChar.self) + used, room,
                                          name.baseAddress, &st, off_t(item.nextOffset))
                    }
                }
                if need > room { break }
                used += need
            }
        }
        buffer.removeLast(list.capacity - used)
        buffer.withUnsafeBytes { b in
            _ = fuse_reply_buf(request, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count)
        }
        discard self
    }

    consuming func answer(_ result: Result<DirectoryEntries, Errno>) {
        switch result {
        case let .success(list): entries(list)
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.FileSystemStats {
    consuming func stats(_ s: FileSystemStatistics) {
        var st = statvfs()
        st.f_bsize = UInt(s.blockSize)
        st.f_frsize = UInt(s.fragmentSize)
        st.f_blocks = fsblkcnt_t(s.blocks)
        st.f_bfree = fsblkcnt_t(s.blocksFree)
        st.f_bavail = fsblkcnt_t(s.blocksAvailable)
        st.f_files = fsfilcnt_t(s.files)
        st.f_ffree = fsfilcnt_t(s.filesFree)
        st.f_favail = fsfilcnt_t(s.filesAvailable)
        st.f_fsid = UInt(s.fileSystemID)
        st.f_flag = UInt(s.flags)
        st.f_namemax = UInt(s.nameMax)
        fuse_reply_statfs(request, &st)
        discard self
    }

    consuming func answer(_ result: Result<FileSystemStatistics, Errno>) {
        switch result {
        case let .success(s): stats(s)
        case let .failure(e): error(e)
        }
    }
}

extension Reply where Kind == Answer.ExtendedAttribute {
    consuming func answer(_ result: Result<ExtendedAttributeData, Errno>) {
        switch result {
        case let .success(.size(n)):
            fuse_reply_xattr(request, n)
            discard self
        case let .success(.bytes(b)):
            b.withUnsafeBytes { b in
                _ = fuse_reply_buf(request, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count)
            }
            discard self
        case let .failure(e):
            error(e)
        }
    }
}
