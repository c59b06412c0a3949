/// The answer to open and opendir (`fuse_reply_open`): the handle the kernel
/// hands back with every later request on the open file, and how the kernel
/// treats it.
public struct Opened: Sendable, Equatable {
    /// The file system's own value (`fuse_file_info.fh`).
    public var handle: UInt64
    /// Bypass the page cache: each read() and write() reaches the file
    /// system as it was made.
    public var directIO: Bool
    /// Keep the pages cached from an earlier open.
    public var keepCache: Bool
    /// The file cannot be seeked.
    public var nonSeekable: Bool

    public init(handle: UInt64 = 0, directIO: Bool = false, keepCache: Bool = false, nonSeekable: Bool = false) {
        self.handle = handle
        self.directIO = directIO
        self.keepCache = keepCache
        self.nonSeekable = nonSeekable
    }
}

/// The answer to create (`fuse_reply_create`): the new (or existing) name's
/// entry and its open handle.
public struct Created: Sendable, Equatable {
    public var entry: Entry
    public var opened: Opened

    public init(_ entry: Entry, _ opened: Opened) {
        self.entry = entry
        self.opened = opened
    }
}
