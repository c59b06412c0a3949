import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// The kinds of answer a FUSE request can expect. `Reply<Kind>` offers only
/// the send methods of its kind, so a handler cannot answer a lookup with a
/// byte count. Every kind can also answer an error.
enum Answer {
    /// lookup, mkdir: `fuse_reply_entry`.
    enum Entry {}
    /// create: `fuse_reply_create`.
    enum Created {}
    /// getattr, setattr: `fuse_reply_attr`.
    enum Attributes {}
    /// open, opendir: `fuse_reply_open`.
    enum Opened {}
    /// write: `fuse_reply_write`.
    enum Written {}
    /// read, readdir: `fuse_reply_buf`.
    enum Bytes {}
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

    deinit {
        Log.error("internal: \(operation) request dropped without a reply; answered EIO")
        fuse_reply_err(request, EIO)
    }
}

extension Reply where Kind == Answer.Status {
    consuming func ok() {
        fuse_reply_err(request, 0)
        discard self
    }
}

extension Reply where Kind == Answer.Nothing {
    consuming func none() {
        fuse_reply_none(request)
        discard self
    }
}

extension Reply where Kind == Answer.Entry {
    consuming func entry(_ e: fuse_entry_param) {
        var e = e
        fuse_reply_entry(request, &e)
        discard self
    }
}

extension Reply where Kind == Answer.Created {
    consuming func created(_ e: fuse_entry_param, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        var e = e
        fuse_reply_create(request, &e, fi)
        discard self
    }
}

extension Reply where Kind == Answer.Attributes {
    consuming func attributes(_ st: stat, timeout: Double) {
        var st = st
        fuse_reply_attr(request, &st, timeout)
        discard self
    }
}

extension Reply where Kind == Answer.Opened {
    consuming func opened(_ fi: UnsafeMutablePointer<fuse_file_info>) {
        fuse_reply_open(request, fi)
        discard self
    }
}

extension Reply where Kind == Answer.Written {
    consuming func written(_ count: Int) {
        fuse_reply_write(request, count)
        discard self
    }
}

extension Reply where Kind == Answer.Bytes {
    consuming func bytes(_ buffer: UnsafeRawBufferPointer) {
        fuse_reply_buf(request, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        discard self
    }

    consuming func bytes(_ array: [UInt8]) {
        array.withUnsafeBytes { b in
            _ = fuse_reply_buf(request, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count)
        }
        discard self
    }
}

extension Reply where Kind == Answer.FileSystemStats {
    consuming func stats(_ st: statvfs) {
        var st = st
        fuse_reply_statfs(request, &st)
        discard self
    }
}

extension Reply where Kind == Answer.ExtendedAttribute {
    /// The size of an empty attribute list (the caller asked for the size).
    consuming func size(_ n: Int) {
        fuse_reply_xattr(request, n)
        discard self
    }

    consuming func empty() {
        fuse_reply_buf(request, nil, 0)
        discard self
    }
}
