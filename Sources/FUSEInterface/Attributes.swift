/// What a node is: FUSE answers only regular files and directories here.
public enum FileKind: Sendable, Equatable {
    case regularFile
    case directory
}

/// A node's attributes as the caller's stat() shows them. Times are
/// nanoseconds since the epoch; the bridge turns them into a `struct stat`.
public struct Attributes: Sendable, Equatable {
    /// The inode number.
    public var ino: UInt64
    public var kind: FileKind
    /// The permission bits (07777).
    public var permissions: UInt32
    public var links: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: UInt64
    /// 512-byte blocks.
    public var blocks: UInt64
    public var blockSize: UInt32
    public var atime: Int64
    public var mtime: Int64
    public var ctime: Int64

    public init(ino: UInt64, kind: FileKind, permissions: UInt32, links: UInt32, uid: UInt32, gid: UInt32,
                size: UInt64, blocks: UInt64, blockSize: UInt32, atime: Int64, mtime: Int64, ctime: Int64) {
        self.ino = ino
        self.kind = kind
        self.permissions = permissions
        self.links = links
        self.uid = uid
        self.gid = gid
        self.size = size
        self.blocks = blocks
        self.blockSize = blockSize
        self.atime = atime
        self.mtime = mtime
        self.ctime = ctime
    }
}

/// The answer to getattr and setattr: attributes and how long, in seconds,
/// the kernel may cache them (`fuse_reply_attr`).
public struct CachedAttributes: Sendable, Equatable {
    public var attributes: Attributes
    public var timeout: Double

    public init(_ attributes: Attributes, timeout: Double) {
        self.attributes = attributes
        self.timeout = timeout
    }
}
