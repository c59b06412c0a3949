import AuditPlumbing

/// The files and directories a sequence of records describes, and the rules a
/// record must obey to be applied (FORMAT.md "Rules"). The store and the
/// checker replay records through the same `Namespace`, so the two cannot
/// disagree about what a valid store is.
public final class Namespace: @unchecked Sendable {
    public final class Node: @unchecked Sendable {
        public let id: UInt64
        public let kind: NodeKind
        public let path: String
        public let parent: UInt64
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var size: UInt64 = 0
        public var ctime: Int64
        public var mtime: Int64
        public var atime: Int64
        /// Hash of this node's latest record (the head of its file chain).
        public var lastHash: Hash
        /// The directory's entries by name, bytewise (`ByteString`: names
        /// equal only by canonical equivalence are two entries).
        public private(set) var children: [ByteString: UInt64] = [:]
        /// The same entries' ids in creation order. Names are never removed
        /// or renamed, so this list only grows and a position in it names
        /// the same entry for ever (readdir offsets are positions).
        public private(set) var childOrder: [UInt64] = []
        /// How many of the entries are directories (a directory's link count is 2 + this).
        public private(set) var subdirectoryCount = 0
        /// Blocks of a file, in offset order (kept only when the namespace is built to serve reads).
        public var blocks = BlockList()

        init(id: UInt64, kind: NodeKind, path: String, parent: UInt64, mode: UInt32, uid: UInt32, gid: UInt32, time: Int64, hash: Hash) {
            self.id = id; self.kind = kind; self.path = path; self.parent = parent
            self.mode = mode; self.uid = uid; self.gid = gid
            self.ctime = time; self.mtime = time; self.atime = time; self.lastHash = hash
        }

        public var isDirectory: Bool { kind == .directory }
        public var name: String { StorePath.name(of: path) }

        /// The id of the entry `name`, compared bytewise.
        public func child(named name: String) -> UInt64? { children[ByteString(name)] }

        /// Adds an entry; false (and nothing changes) when the name exists.
        func addChild(_ name: String, id: UInt64, isDirectory: Bool) -> Bool {
            guard children.updateValue(id, forKey: ByteString(name)) == nil else { return false }
            childOrder.append(id)
            if isDirectory { subdirectoryCount += 1 }
            return true
        }
    }

    /// Why a record cannot be applied: the check's name (FORMAT.md "Rules")
    /// with the expected and found values.
    public struct Violation: Error, Equatable, Sendable {
        public let check: CheckName
        public let expected: String
        public let found: String
    }

    public static let rootID: UInt64 = 1

    public private(set) var nodes: [UInt64: Node] = [:]
    public private(set) var nextSeq: UInt64 = 0
    public private(set) var lastHash: Hash = .zero
    public private(set) var lastTime: Int64 = 0
    let keepBlocks: Bool

    public init(keepBlocks: Bool) { self.keepBlocks = keepBlocks }

    struct InconsistentRestore: Error {}

    /// A namespace as an index snapshot saved it; the children maps and
    /// lists are rebuilt in id order, which is creation order.
    init(restoring nodes: [UInt64: Node], nextSeq: UInt64, lastHash: Hash, lastTime: Int64) throws {
        keepBlocks = true
        self.nodes = nodes
        self.nextSeq = nextSeq
        self.lastHash = lastHash
        self.lastTime = lastTime
        guard nodes[Namespace.rootID]?.isDirectory == true else { throw InconsistentRestore() }
        for id in nodes.keys.sorted() where id != Namespace.rootID {
            let node = nodes[id]!
            guard let parent = nodes[node.parent], parent.isDirectory, node.id <= nextSeq, parent.id < node.id,
                  parent.addChild(node.name, id: node.id, isDirectory: node.isDirectory) else { throw InconsistentRestore() }
        }
    }

    public var fileCount: Int { nodes.count }

    public func node(_ id: UInt64) -> Node? { nodes[id] }

    public func lookup(_ path: String) -> Node? {
        guard let parts = try? StorePath.components(of: path), var node = nodes[Namespace.rootID] else { return nil }
        for part in parts {
            guard let child = node.child(named: part), let next = nodes[child] else { return nil }
            node = next
        }
        return node
    }

    /// Checks `record` against the current state without changing anything.
    public func check(_ record: Record) throws(Violation) {
        guard record.seq == nextSeq else { throw Violation(check: .sequence, expected: "\(nextSeq)", found: "\(record.seq)") }
        guard record.prevStoreHash == lastHash else {
            throw Violation(check: .storeChain, expected: lastHash.hex, found: record.prevStoreHash.hex)
        }
        switch record.body {
        case let .create(path, mode, _, _):
            guard NodeKind(creating: record.kind) != nil else { throw mismatch(record) }
            let id = Record.fileID(createdBy: record.seq)
            guard record.file == id else { throw Violation(check: .fileID, expected: "\(id)", found: "\(record.file)") }
            guard record.prevFileHash == .zero else { throw Violation(check: .fileChain, expected: Hash.zero.hex, found: record.prevFileHash.hex) }
            guard mode <= 0o7777 else { throw Violation(check: .mode, expected: "<= 07777", found: String(mode, radix: 8)) }
            if record.seq == 0 {
                guard record.kind == .directory, path.sameBytes(as: "/") else { throw Violation(check: .root, expected: "mkdir /", found: "\(record.kind.name) \(path)") }
                return
            }
            guard !path.sameBytes(as: "/") else { throw Violation(check: .pathDuplicate, expected: "a new path", found: path) }
            guard let parent = lookup(StorePath.parent(of: path)), parent.isDirectory else {
                throw Violation(check: .pathParent, expected: "directory \(StorePath.parent(of: path))", found: "none")
            }
            guard parent.child(named: StorePath.name(of: path)) == nil else {
                throw Violation(check: .pathDuplicate, expected: "a new path", found: path)
            }
        case let .append(offset):
            guard record.kind == .append else { throw mismatch(record) }
            let node = try existing(record)
            guard !node.isDirectory else { throw Violation(check: .fileKind, expected: "file", found: "directory \(node.path)") }
            guard offset == node.size else { throw Violation(check: .appendOffset, expected: "\(node.size)", found: "\(offset)") }
            guard record.payloadLength > 0 else { throw Violation(check: .payloadLength, expected: "> 0", found: "0") }
        case let .attributes(change):
            guard record.kind == .attributes else { throw mismatch(record) }
            _ = try existing(record)
            guard change.mode <= 0o7777 else { throw Violation(check: .mode, expected: "<= 07777", found: String(change.mode, radix: 8)) }
        }
    }

    private func mismatch(_ record: Record) -> Violation {
        Violation(check: .recordKind, expected: "body of \(record.kind.name)", found: "\(record.body)")
    }

    private func existing(_ record: Record) throws(Violation) -> Node {
        guard let node = nodes[record.file], record.file <= nextSeq else {
            throw Violation(check: .fileUnknown, expected: "an existing file id", found: "\(record.file)")
        }
        guard record.prevFileHash == node.lastHash else {
            throw Violation(check: .fileChain, expected: node.lastHash.hex, found: record.prevFileHash.hex)
        }
        return node
    }

    /// Checks and applies a record whose hash is `hash`. `block` locates the
    /// payload of an append for reads.
    @discardableResult
    public func apply(_ record: Record, hash: Hash, block: BlockRef? = nil) throws(Violation) -> Node {
        try check(record)
        return commit(record, hash: hash, block: block)
    }

    /// Applies a record that `check` has passed, with nothing since: the
    /// store checks a record before its frame is written, and commits it
    /// once it is, so the rules run once per record.
    func commit(_ record: Record, hash: Hash, block: BlockRef? = nil) -> Node {
        let node: Node
        switch record.body {
        case let .create(path, mode, owner, group):
            let id = Record.fileID(createdBy: record.seq)
            let parentID = record.seq == 0 ? id : lookup(StorePath.parent(of: path))!.id
            node = Node(id: id, kind: NodeKind(creating: record.kind)!, path: path, parent: parentID, mode: mode, uid: owner, gid: group, time: record.time, hash: hash)
            nodes[id] = node
            if record.seq != 0 {
                let parent = nodes[parentID]!
                _ = parent.addChild(StorePath.name(of: path), id: id, isDirectory: node.isDirectory)
                parent.mtime = record.time
            }
        case .append:
            node = nodes[record.file]!
            if keepBlocks, let block { node.blocks.append(block) }
            node.size += record.payloadLength
            node.mtime = record.time
            node.lastHash = hash
        case let .attributes(change):
            node = nodes[record.file]!
            if change.fields.contains(.mode) { node.mode = change.mode }
            if change.fields.contains(.owner) { node.uid = change.owner }
            if change.fields.contains(.group) { node.gid = change.group }
            if change.fields.contains(.atime) { node.atime = change.atime }
            if change.fields.contains(.mtime) { node.mtime = change.mtime }
            node.lastHash = hash
        }
        nextSeq += 1
        lastHash = hash
        lastTime = record.time
        return node
    }
}
