import AuditPlumbing

/// The files and directories a sequence of records describes, and the rules a
/// record must obey to be applied (FORMAT.md "Rules"). The store and the
/// checker replay records through the same `Namespace`, so the two cannot
/// disagree about what a valid store is.
public final class Namespace: @unchecked Sendable {
    public final class Node: @unchecked Sendable {
        public let id: UInt64
        public let kind: NodeKind
        /// Where the node is now. A rename (format v2) changes it, and the
        /// paths of everything below a renamed directory.
        public internal(set) var path: String
        public internal(set) var parent: UInt64
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        @exclusivity(unchecked) public var size: UInt64 = 0
        public var ctime: Int64
        @exclusivity(unchecked) public var mtime: Int64
        public var atime: Int64
        /// Hash of this node's latest record (the head of its file chain).
        @exclusivity(unchecked) public var lastHash: Hash
        /// Moved into /.audit/retired by an unlink, rmdir or replacing
        /// rename: no record may name it, or create in it, again.
        @exclusivity(unchecked) public internal(set) var isRetired = false
        /// Some rename record (of any reason) names it: its first name is not
        /// its only one (a proof bundle then carries its renames).
        public internal(set) var isRenamed = false
        /// The directory's entries by name, bytewise (`ByteString`: names
        /// equal only by canonical equivalence are two entries).
        public private(set) var children: [ByteString: UInt64] = [:]
        /// The entries' ids in the order they were placed here; an entry
        /// that left (renamed or retired, format v2) leaves a 0 behind. So
        /// this list only grows and a position in it names the same entry
        /// for ever (readdir offsets are positions; 0 positions are skipped).
        public private(set) var childOrder: [UInt64] = []
        /// How many of the entries are directories (a directory's link count is 2 + this).
        public private(set) var subdirectoryCount = 0
        /// Blocks of a file, in offset order (kept only when the namespace is built to serve reads).
        @exclusivity(unchecked) public var blocks = BlockList()

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

        /// Takes the entry `name` (of node `id`) out; its position stays, as
        /// a 0. The search runs from the newest position back: the entries a
        /// log rotation moves are the recent ones.
        func removeChild(_ name: String, id: UInt64, isDirectory: Bool) {
            guard children.removeValue(forKey: ByteString(name)) != nil else { return }
            if let i = childOrder.lastIndex(of: id) { childOrder[i] = 0 }
            if isDirectory { subdirectoryCount -= 1 }
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

    // The properties an append changes are marked @exclusivity(unchecked):
    // the store changes them only under its lock, and the checker from one
    // thread; the runtime's access checks cost ~2k instructions an append
    // (callgrind, docs/MOUNT.md "Benchmark").
    @exclusivity(unchecked) public private(set) var nodes: [UInt64: Node] = [:]
    @exclusivity(unchecked) public private(set) var nextSeq: UInt64 = 0
    @exclusivity(unchecked) public private(set) var lastHash: Hash = .zero
    @exclusivity(unchecked) public private(set) var lastTime: Int64 = 0
    let keepBlocks: Bool
    /// The store's format version: rename records exist from v2 on.
    public let version: UInt32

    public init(keepBlocks: Bool, version: UInt32 = Format.version) {
        self.keepBlocks = keepBlocks
        self.version = version
    }

    struct InconsistentRestore: Error {}

    /// A namespace as an index snapshot saved it; the children maps and
    /// lists are rebuilt in id order (creation order). A node may sit in a
    /// directory made after it (a rename moved it there), so what makes the
    /// nodes a tree is checked by path: each node's path is its parent's
    /// path and its own name, which leaves no room for a cycle.
    init(restoring nodes: [UInt64: Node], nextSeq: UInt64, lastHash: Hash, lastTime: Int64, version: UInt32) throws {
        keepBlocks = true
        self.version = version
        self.nodes = nodes
        self.nextSeq = nextSeq
        self.lastHash = lastHash
        self.lastTime = lastTime
        guard let root = nodes[Namespace.rootID], root.isDirectory, root.path.sameBytes(as: "/"), !root.isRetired, !root.isRenamed else {
            throw InconsistentRestore()
        }
        for id in nodes.keys.sorted() where id != Namespace.rootID {
            let node = nodes[id]!
            guard let parent = nodes[node.parent], parent.isDirectory, !parent.isRetired, node.id <= nextSeq,
                  StorePath.isValid(node.path), node.path.sameBytes(as: StorePath.join(parent.path, node.name)),
                  version >= Format.renameVersion || (parent.id < node.id && !node.isRenamed),
                  node.isRenamed || !node.isRetired,
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
    /// `node`: the node `record.file` names, when the caller has looked it
    /// up already (the store's append: one lookup per record, not three).
    public func check(_ record: Record, node known: Node? = nil) throws(Violation) {
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
            try checkPlace(path)
        case let .append(offset):
            guard record.kind == .append else { throw mismatch(record) }
            let node = try existing(record, known)
            guard !node.isDirectory else { throw Violation(check: .fileKind, expected: "file", found: "directory \(node.path)") }
            guard offset == node.size else { throw Violation(check: .appendOffset, expected: "\(node.size)", found: "\(offset)") }
            guard record.payloadLength > 0 else { throw Violation(check: .payloadLength, expected: "> 0", found: "0") }
        case let .attributes(change):
            guard record.kind == .attributes else { throw mismatch(record) }
            _ = try existing(record)
            guard change.mode <= 0o7777 else { throw Violation(check: .mode, expected: "<= 07777", found: String(change.mode, radix: 8)) }
        case let .rename(change):
            guard record.kind == .rename else { throw mismatch(record) }
            guard version >= Format.renameVersion else {
                throw Violation(check: .recordKind, expected: "no rename in a format v\(version) store", found: "rename")
            }
            try checkRename(change, of: try existing(record))
        }
    }

    /// A new name's directory exists, is a directory, is not retired and
    /// does not hold the name (`path` is not "/").
    private func checkPlace(_ path: String) throws(Violation) {
        guard let parent = lookup(StorePath.parent(of: path)), parent.isDirectory else {
            throw Violation(check: .pathParent, expected: "directory \(StorePath.parent(of: path))", found: "none")
        }
        guard !parent.isRetired else {
            throw Violation(check: .retired, expected: "a directory that was not retired", found: "retired \(parent.path)")
        }
        guard parent.child(named: StorePath.name(of: path)) == nil else {
            throw Violation(check: .pathDuplicate, expected: "a new path", found: path)
        }
    }

    /// FORMAT.md "Rules" for a rename record (format v2): the node is where
    /// the record says, is not the root, moves to a new name in an existing
    /// directory that is not itself or below it; a rename stays out of
    /// /.audit and a retirement goes below /.audit/retired, a retired
    /// directory being empty. The target must be new, so no rename ever
    /// displaces a node: a replacing rename(2) retires the old one first.
    private func checkRename(_ change: RenameChange, of node: Node) throws(Violation) {
        guard node.id != Namespace.rootID else { throw Violation(check: .root, expected: "the root stays /", found: "rename of /") }
        guard change.from.sameBytes(as: node.path) else {
            throw Violation(check: .renameSource, expected: node.path, found: change.from)
        }
        switch change.reason {
        case .rename:
            guard !AuditPaths.contains(change.from), !AuditPaths.contains(change.to) else {
                throw Violation(check: .renameAudit, expected: "a rename outside /.audit", found: "\(change.from) -> \(change.to)")
            }
        case .unlink, .rmdir, .replaced:
            guard !AuditPaths.contains(change.from), AuditPaths.isRetired(change.to) else {
                throw Violation(check: .renameAudit, expected: "a retirement from outside /.audit to below \(AuditPaths.retired)",
                                found: "\(change.from) -> \(change.to)")
            }
            if change.reason == .unlink && node.isDirectory || change.reason == .rmdir && !node.isDirectory {
                throw Violation(check: .renameReason, expected: change.reason == .unlink ? "a file" : "a directory",
                                found: "\(node.isDirectory ? "directory" : "file") \(node.path)")
            }
            guard !node.isDirectory || node.children.isEmpty else {
                throw Violation(check: .retireEmpty, expected: "an empty directory", found: "\(node.children.count) entries in \(node.path)")
            }
        }
        guard !change.to.sameBytes(as: "/") else { throw Violation(check: .pathDuplicate, expected: "a new path", found: "/") }
        try checkPlace(change.to)
        if node.isDirectory {
            // The new parent must not be the directory itself or below it.
            var p = lookup(StorePath.parent(of: change.to))
            while let dir = p, dir.id != Namespace.rootID {
                guard dir.id != node.id else {
                    throw Violation(check: .renameCycle, expected: "a place outside \(node.path)", found: change.to)
                }
                p = nodes[dir.parent]
            }
        }
    }

    private func mismatch(_ record: Record) -> Violation {
        Violation(check: .recordKind, expected: "body of \(record.kind.name)", found: "\(record.body)")
    }

    private func existing(_ record: Record, _ known: Node? = nil) throws(Violation) -> Node {
        guard let node = known?.id == record.file ? known : nodes[record.file], record.file <= nextSeq else {
            throw Violation(check: .fileUnknown, expected: "an existing file id", found: "\(record.file)")
        }
        guard !node.isRetired else {
            throw Violation(check: .retired, expected: "a file that was not retired", found: "retired \(node.path)")
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
    /// once it is, so the rules run once per record. `node`: as for `check`.
    func commit(_ record: Record, hash: Hash, block: BlockRef? = nil, node known: Node? = nil) -> Node {
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
            node = known?.id == record.file ? known! : nodes[record.file]!
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
        case let .rename(change):
            node = nodes[record.file]!
            let oldParent = nodes[node.parent]!
            oldParent.removeChild(node.name, id: node.id, isDirectory: node.isDirectory)
            oldParent.mtime = record.time
            let newParent = lookup(StorePath.parent(of: change.to))!
            _ = newParent.addChild(StorePath.name(of: change.to), id: node.id, isDirectory: node.isDirectory)
            newParent.mtime = record.time
            node.parent = newParent.id
            relocate(node, to: change.to)
            if change.reason.retires { node.isRetired = true }
            node.isRenamed = true
            node.lastHash = hash
        }
        nextSeq += 1
        lastHash = hash
        lastTime = record.time
        return node
    }

    /// Gives `node` its new path, and every node below it theirs.
    private func relocate(_ node: Node, to path: String) {
        node.path = path
        for id in node.children.values { if let child = nodes[id] { relocate(child, to: StorePath.join(path, child.name)) } }
    }
}
