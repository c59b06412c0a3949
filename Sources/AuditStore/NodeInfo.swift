import AuditPlumbing

/// A snapshot of one file's or directory's attributes.
public struct NodeInfo: Equatable, Sendable {
    public var id: UInt64
    public var kind: NodeKind
    public var path: String
    public var parent: UInt64
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: UInt64
    public var ctime: Int64
    public var mtime: Int64
    public var atime: Int64
    public var childCount: Int
    /// How many entries are directories (for the link count: 2 + this).
    public var subdirectoryCount: Int
    /// Retired (format v2): unlinked, removed or replaced by a rename, and
    /// now below /.audit/retired; it takes no more records.
    public var isRetired: Bool
    /// Some rename record names it (its first name is not its only one).
    public var isRenamed: Bool

    public var isDirectory: Bool { kind == .directory }
    public var name: String { path.sameBytes(as: "/") ? "/" : StorePath.name(of: path) }

    init(_ n: Namespace.Node) {
        id = n.id; kind = n.kind; path = n.path; parent = n.parent; mode = n.mode; uid = n.uid; gid = n.gid
        size = n.size; ctime = n.ctime; mtime = n.mtime; atime = n.atime; childCount = n.children.count
        subdirectoryCount = n.subdirectoryCount
        isRetired = n.isRetired
        isRenamed = n.isRenamed
    }
}
