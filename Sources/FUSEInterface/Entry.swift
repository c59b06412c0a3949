/// The answer to lookup, mkdir, create (and link, symlink, mknod, were they
/// to succeed): a name's node, its attributes, and how long, in seconds, the
/// kernel may cache each (`fuse_entry_param`). An entry timeout of 0 makes
/// the kernel ask again (LOOKUP) at every walk through the name.
public struct Entry: Sendable, Equatable {
    public var attributes: Attributes
    public var generation: UInt64
    public var attributeTimeout: Double
    public var entryTimeout: Double

    public init(_ attributes: Attributes, generation: UInt64 = 1, attributeTimeout: Double, entryTimeout: Double) {
        self.attributes = attributes
        self.generation = generation
        self.attributeTimeout = attributeTimeout
        self.entryTimeout = entryTimeout
    }

    /// The node's id (its inode number).
    public var ino: UInt64 { attributes.ino }
}
