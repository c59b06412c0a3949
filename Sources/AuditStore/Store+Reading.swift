import AuditPlumbing

/// Reading a store: the namespace (attributes, lookups, directory listings,
/// the tree head) and file data, read from the segments through each
/// file's block list. Reads of data happen outside the store's lock.
extension Store {
    // MARK: The namespace

    public func info(_ id: UInt64) -> NodeInfo? {
        lock.lock(); defer { lock.unlock() }
        return namespace.node(id).map(NodeInfo.init)
    }

    public func lookup(_ path: String) -> NodeInfo? {
        lock.lock(); defer { lock.unlock() }
        return namespace.lookup(path).map(NodeInfo.init)
    }

    public func lookup(parent: UInt64, name: String) -> NodeInfo? {
        lock.lock(); defer { lock.unlock() }
        guard let p = namespace.node(parent), let id = p.child(named: name) else { return nil }
        return namespace.node(id).map(NodeInfo.init)
    }

    /// The entries of a directory, sorted by name bytewise.
    public func children(of id: UInt64) -> [NodeInfo] {
        lock.lock(); defer { lock.unlock() }
        guard let dir = namespace.node(id) else { return [] }
        return dir.childOrder.compactMap { namespace.node($0).map(NodeInfo.init) }.sorted { $0.name.bytesPrecede($1.name) }
    }

    /// An entry of a directory listing and its position.
    public struct DirectoryEntry: Sendable {
        /// Its place in the directory's order (`Namespace.Node.childOrder`).
        public var position: Int
        public var node: NodeInfo
    }

    /// At most `limit` entries of a directory in the order they were placed
    /// in it, from position `start` (0 is the first entry ever placed in it).
    /// Positions are never reused (an entry renamed away leaves its position
    /// empty, and is skipped), so a position always names the same entry:
    /// listing from where the previous page ended neither skips nor repeats
    /// a name that stays, however many are created meanwhile. Copies only
    /// the page, never the directory; empty positions are passed over
    /// without counting towards `limit`.
    public func children(of id: UInt64, from start: Int, limit: Int) -> [DirectoryEntry] {
        lock.lock(); defer { lock.unlock() }
        guard let dir = namespace.node(id), start >= 0, limit > 0 else { return [] }
        var page: [DirectoryEntry] = []
        var i = start
        while i < dir.childOrder.count && page.count < limit {
            if let node = namespace.node(dir.childOrder[i]) { page.append(DirectoryEntry(position: i, node: NodeInfo(node))) }
            i += 1
        }
        return page
    }

    /// The tree head over every record appended so far.
    public var treeHead: (size: UInt64, root: Hash) {
        lock.lock(); defer { lock.unlock() }
        return (tree.size, tree.root)
    }

    public var lastRecordHash: Hash {
        lock.lock(); defer { lock.unlock() }
        return namespace.lastHash
    }

    public var fileCount: Int {
        lock.lock(); defer { lock.unlock() }
        return namespace.fileCount
    }

    // MARK: Reading data

    /// Reads up to `count` bytes of file `id` from `offset`.
    public func read(_ id: UInt64, offset: UInt64, count: Int) throws(StoreError) -> [UInt8] {
        lock.lock()
        guard let node = namespace.node(id) else { lock.unlock(); throw .noSuchFile("#\(id)") }
        guard !node.isDirectory else { lock.unlock(); throw .isADirectory(node.path) }
        let size = node.size
        let blocks = node.blocks
        let files = writer.files
        lock.unlock()
        guard offset < size, count > 0 else { return [] }
        let want = Int(min(UInt64(count), size - offset))
        var out = [UInt8](repeating: 0, count: want)
        guard var i = blocks.index(containing: offset) else { throw .io("no block holds offset \(offset) of #\(id)") }
        var done = 0
        while done < want {
            // Block lists may come from the index cache: check each block before any arithmetic on it.
            let at = offset + UInt64(done)
            guard i < blocks.count, case let b = blocks[i], b.fileOffset <= at, at - b.fileOffset < UInt64(b.length),
                  Int(b.segment) < files.count, b.payloadPosition <= UInt64(Int64.max) else {
                throw .io("no block holds offset \(at) of #\(id)")
            }
            let inBlock = at - b.fileOffset
            let n = min(Int(UInt64(b.length) - inBlock), want - done)
            let got: Int
            do {
                got = try out.withUnsafeMutableBytes { (buf) throws -> Int in
                    try files[Int(b.segment)].read(into: UnsafeMutableRawBufferPointer(rebasing: buf[done..<done + n]),
                                                   at: b.payloadPosition + inBlock)
                }
            } catch { throw .wrap(error) }
            guard got == n else { throw .io("segment \(b.segment) ends inside block \(b.seq)") }
            done += n
            i += 1
        }
        return out
    }
}
