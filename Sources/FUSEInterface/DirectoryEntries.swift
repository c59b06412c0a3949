/// The answer to readdir: entries that fit in the size the kernel asked for,
/// each with the offset of the entry after it (the offset a later readdir
/// starts from).
///
/// The size of an entry is the kernel's (`struct fuse_dirent`, 24 bytes,
/// then the name, padded to 8 bytes), so a file system knows while it adds
/// whether the next one fits; the bridge packs them with `fuse_add_direntry`.
public struct DirectoryEntries: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var name: [UInt8]
        public var ino: UInt64
        public var kind: FileKind
        public var nextOffset: Int64
    }

    /// The bytes the kernel asked for.
    public let capacity: Int
    public private(set) var items: [Item] = []
    /// The bytes the entries added take.
    public private(set) var used = 0

    public init(capacity: Int) { self.capacity = max(0, capacity) }

    /// The bytes one entry with a name of `nameLength` bytes takes.
    public static func size(nameLength: Int) -> Int {
        (headerSize + nameLength + 7) & ~7
    }

    /// `struct fuse_dirent` without its name.
    public static let headerSize = 24

    /// Adds an entry if it fits; false (nothing added) when it does not.
    public mutating func add(_ name: [UInt8], ino: UInt64, kind: FileKind, nextOffset: Int64) -> Bool {
        let need = Self.size(nameLength: name.count)
        guard need <= capacity - used else { return false }
        items.append(Item(name: name, ino: ino, kind: kind, nextOffset: nextOffset))
        used += need
        return true
    }

    /// Room left, in bytes.
    public var remaining: Int { capacity - used }
}
