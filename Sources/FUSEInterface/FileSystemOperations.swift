/// A file system served through FUSE: one method per low-level operation
/// (libfuse's `fuse_lowlevel_ops`), each returning its answer; the bridge
/// (AuditFUSE) turns the answer into exactly one reply. Every method has a
/// default that answers ENOSYS, so a file system implements only what it
/// serves (the shape of fuser's `trait Filesystem`).
///
/// The operations libfuse would only answer ENOSYS for are not here: the
/// bridge leaves them out of its table (see its Operations.swift for which,
/// and why), and libfuse answers ENOSYS for them itself.
///
/// Names, link targets and attribute names are bytes, as the kernel sent
/// them (without the terminating NUL). Methods run on libfuse's worker
/// threads, many at once.
public protocol FileSystemOperations: AnyObject, Sendable {
    /// INIT: the capabilities the kernel offers; answers which to turn on or off.
    func initialize(offered: Capabilities) -> CapabilityRequest
    /// The session ends (unmount); no request follows.
    func destroy()

    func lookup(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Entry, Errno>
    /// The kernel forgets `lookups` lookups of `ino`; answered with nothing.
    func forget(ino: UInt64, lookups: UInt64)
    /// `handle`: the open file's, when the call came through one (fstat).
    func getattr(_ context: RequestContext, ino: UInt64, handle: UInt64?) -> Result<CachedAttributes, Errno>
    /// `handle`: the open file's, when the call came through one (ftruncate, fchmod…).
    func setattr(_ context: RequestContext, ino: UInt64, changes: AttributeChanges,
                 handle: UInt64?) -> Result<CachedAttributes, Errno>
    func access(_ context: RequestContext, ino: UInt64, mask: Int32) -> Result<Void, Errno>
    func statfs(_ context: RequestContext, ino: UInt64) -> Result<FileSystemStatistics, Errno>

    func mknod(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32, device: UInt64) -> Result<Entry, Errno>
    func mkdir(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32) -> Result<Entry, Errno>
    func unlink(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Void, Errno>
    func rmdir(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Void, Errno>
    /// `target`: the link's contents.
    func symlink(_ context: RequestContext, target: [UInt8], parent: UInt64, name: [UInt8]) -> Result<Entry, Errno>
    func rename(_ context: RequestContext, parent: UInt64, name: [UInt8], newParent: UInt64, newName: [UInt8],
                flags: UInt32) -> Result<Void, Errno>
    func link(_ context: RequestContext, ino: UInt64, newParent: UInt64, newName: [UInt8]) -> Result<Entry, Errno>

    /// `flags`: the open's (O_ACCMODE, O_APPEND, O_TRUNC, …).
    func open(_ context: RequestContext, ino: UInt64, flags: Int32) -> Result<Opened, Errno>
    func create(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32, flags: Int32) -> Result<Created, Errno>
    func read(_ context: RequestContext, ino: UInt64, size: Int, offset: Int64, handle: UInt64) -> Result<ReadData, Errno>
    /// `data` is valid only during the call. Answers the bytes written.
    func write(_ context: RequestContext, ino: UInt64, data: UnsafeRawBufferPointer, offset: Int64,
               handle: UInt64) -> Result<Int, Errno>
    func release(_ context: RequestContext, ino: UInt64, handle: UInt64, flags: Int32) -> Result<Void, Errno>
    /// `dataOnly`: fdatasync.
    func fsync(_ context: RequestContext, ino: UInt64, dataOnly: Bool, handle: UInt64) -> Result<Void, Errno>
    func fallocate(_ context: RequestContext, ino: UInt64, mode: Int32, offset: Int64, length: Int64,
                   handle: UInt64) -> Result<Void, Errno>

    func opendir(_ context: RequestContext, ino: UInt64, flags: Int32) -> Result<Opened, Errno>
    /// The entries from `offset` that fit in `size` bytes.
    func readdir(_ context: RequestContext, ino: UInt64, size: Int, offset: Int64, handle: UInt64) -> Result<DirectoryEntries, Errno>
    func releasedir(_ context: RequestContext, ino: UInt64, handle: UInt64) -> Result<Void, Errno>
    func fsyncdir(_ context: RequestContext, ino: UInt64, dataOnly: Bool, handle: UInt64) -> Result<Void, Errno>

    func setxattr(_ context: RequestContext, ino: UInt64, name: [UInt8], value: [UInt8], flags: Int32) -> Result<Void, Errno>
    /// `size` 0 asks for the size of the list.
    func listxattr(_ context: RequestContext, ino: UInt64, size: Int) -> Result<ExtendedAttributeData, Errno>
    func removexattr(_ context: RequestContext, ino: UInt64, name: [UInt8]) -> Result<Void, Errno>
}

/// ENOSYS for everything a file system does not implement.
public extension FileSystemOperations {
    func initialize(offered: Capabilities) -> CapabilityRequest { CapabilityRequest() }
    func destroy() {}

    func lookup(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Entry, Errno> { .failure(.notImplemented) }
    func forget(ino: UInt64, lookups: UInt64) {}
    func getattr(_ context: RequestContext, ino: UInt64, handle: UInt64?) -> Result<CachedAttributes, Errno> {
        .failure(.notImplemented)
    }
    func setattr(_ context: RequestContext, ino: UInt64, changes: AttributeChanges,
                 handle: UInt64?) -> Result<CachedAttributes, Errno> { .failure(.notImplemented) }
    func access(_ context: RequestContext, ino: UInt64, mask: Int32) -> Result<Void, Errno> { .failure(.notImplemented) }
    func statfs(_ context: RequestContext, ino: UInt64) -> Result<FileSystemStatistics, Errno> { .failure(.notImplemented) }

    func mknod(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32, device: UInt64) -> Result<Entry, Errno> {
        .failure(.notImplemented)
    }
    func mkdir(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32) -> Result<Entry, Errno> {
        .failure(.notImplemented)
    }
    func unlink(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Void, Errno> { .failure(.notImplemented) }
    func rmdir(_ context: RequestContext, parent: UInt64, name: [UInt8]) -> Result<Void, Errno> { .failure(.notImplemented) }
    func symlink(_ context: RequestContext, target: [UInt8], parent: UInt64, name: [UInt8]) -> Result<Entry, Errno> {
        .failure(.notImplemented)
    }
    func rename(_ context: RequestContext, parent: UInt64, name: [UInt8], newParent: UInt64, newName: [UInt8],
                flags: UInt32) -> Result<Void, Errno> { .failure(.notImplemented) }
    func link(_ context: RequestContext, ino: UInt64, newParent: UInt64, newName: [UInt8]) -> Result<Entry, Errno> {
        .failure(.notImplemented)
    }

    func open(_ context: RequestContext, ino: UInt64, flags: Int32) -> Result<Opened, Errno> { .failure(.notImplemented) }
    func create(_ context: RequestContext, parent: UInt64, name: [UInt8], mode: UInt32, flags: Int32) -> Result<Created, Errno> {
        .failure(.notImplemented)
    }
    func read(_ context: RequestContext, ino: UInt64, size: Int, offset: Int64, handle: UInt64) -> Result<ReadData, Errno> {
        .failure(.notImplemented)
    }
    func write(_ context: RequestContext, ino: UInt64, data: UnsafeRawBufferPointer, offset: Int64,
               handle: UInt64) -> Result<Int, Errno> { .failure(.notImplemented) }
    func release(_ context: RequestContext, ino: UInt64, handle: UInt64, flags: Int32) -> Result<Void, Errno> {
        .failure(.notImplemented)
    }
    func fsync(_ context: RequestContext, ino: UInt64, dataOnly: Bool, handle: UInt64) -> Result<Void, Errno> {
        .failure(.notImplemented)
    }
    func fallocate(_ context: RequestContext, ino: UInt64, mode: Int32, offset: Int64, length: Int64,
                   handle: UInt64) -> Result<Void, Errno> { .failure(.notImplemented) }

    func opendir(_ context: RequestContext, ino: UInt64, flags: Int32) -> Result<Opened, Errno> { .failure(.notImplemented) }
    func readdir(_ context: RequestContext, ino: UInt64, size: Int, offset: Int64, handle: UInt64) -> Result<DirectoryEntries, Errno> {
        .failure(.notImplemented)
    }
    func releasedir(_ context: RequestContext, ino: UInt64, handle: UInt64) -> Result<Void, Errno> { .failure(.notImplemented) }
    func fsyncdir(_ context: RequestContext, ino: UInt64, dataOnly: Bool, handle: UInt64) -> Result<Void, Errno> {
        .failure(.notImplemented)
    }

    func setxattr(_ context: RequestContext, ino: UInt64, name: [UInt8], value: [UInt8], flags: Int32) -> Result<Void, Errno> {
        .failure(.notImplemented)
    }
    func listxattr(_ context: RequestContext, ino: UInt64, size: Int) -> Result<ExtendedAttributeData, Errno> {
        .failure(.notImplemented)
    }
    func removexattr(_ context: RequestContext, ino: UInt64, name: [UInt8]) -> Result<Void, Errno> { .failure(.notImplemented) }
}
