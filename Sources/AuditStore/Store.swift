import AuditPlumbing
import Foundation

/// A snapshot of one file's or directory's attributes.
public struct NodeInfo: Equatable, Sendable {
    public var id: UInt64
    public var kind: Record.Kind
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

    public var isDirectory: Bool { kind == .directory }
    public var name: String { path.sameBytes(as: "/") ? "/" : StorePath.name(of: path) }

    init(_ n: Namespace.Node) {
        id = n.id; kind = n.kind; path = n.path; parent = n.parent; mode = n.mode; uid = n.uid; gid = n.gid
        size = n.size; ctime = n.ctime; mtime = n.mtime; atime = n.atime; childCount = n.children.count
        subdirectoryCount = n.subdirectoryCount
    }
}

/// A store: a directory of append-only segment files (FORMAT.md).
///
/// Thread safety: every method may be called from any thread. One lock
/// guards the namespace and the segment tail; payload hashing and reads
/// happen outside it; `sync()` shares one fdatasync among concurrent callers.
public final class Store: @unchecked Sendable {
    public enum Mode: Sendable { case readOnly, readWrite }

    public struct Options: Sendable {
        public var segmentSize: UInt64 = Format.defaultSegmentSize
        /// The wall clock, in ns since the epoch (replaceable for golden fixtures).
        public var clock: @Sendable () -> Int64 = { FileSystem.nowNanoseconds() }
        /// Bytes of free space on the store's file system held back for the
        /// audit namespace (/.audit): a record of any other file that would
        /// leave less free is refused with `noSpace` (ENOSPC through the
        /// mount). 0: none (the mount sets it, `SpaceReserve`).
        public var reserve: UInt64 = 0
        /// The bytes of a new cache key (replaceable for golden fixtures).
        public var newCacheKey: @Sendable () -> [UInt8] = { FileSystem.randomBytes(32) }
        public init() {}
    }

    /// What opening for writing found and did about a torn tail.
    public struct Recovery: Sendable, CustomStringConvertible {
        public let segment: String
        public let offset: UInt64
        public let bytesCut: UInt64
        public let reason: String
        public let savedAs: String
        public var description: String {
            "cut a torn tail left by a crash: \(bytesCut) bytes at \(segment) offset \(offset) (\(reason)); kept in \(savedAs)"
        }
    }

    final class Segment {
        let name: String
        let firstSeq: UInt64
        let file: RawFile
        var end: UInt64
        init(name: String, firstSeq: UInt64, file: RawFile, end: UInt64) {
            self.name = name; self.firstSeq = firstSeq; self.file = file; self.end = end
        }
    }

    public let path: String
    public let identity: StoreIdentity
    public let mode: Mode
    public let options: Options
    public let recovery: Recovery?

    /// Guards the namespace, the segments and the caches. Innermost of the
    /// mount's locks (docs/MOUNT.md "Nothing slow under a lock on a FUSE
    /// thread"): taken with the CheckpointSchedule's or the Checkpointer's
    /// held, never the other way round; nothing is called while it is held
    /// but `appendNote`'s closure (the Checkpointer signing, no lock taken).
    /// `syncCondition` is never taken with it held.
    let lock = NSLock()
    let namespace: Namespace
    private var segments: [Segment]
    private let lockFile: RawFile?
    private var failed: String?
    /// The index snapshot the block lists point into, and how many records it covers.
    private var indexMapping: MappedFile?
    private var indexedRecords: UInt64 = 0
    /// Leaf positions and subtree hashes for proofs; nil when unavailable.
    private var tree: TreeCache?
    /// The key the caches are MACed under; nil when this user cannot read it.
    private var cacheKey: CacheKey?
    /// Why the index cache was not used, when that is worth reporting.
    public private(set) var cacheNote: String?

    /// Free bytes on the store's file system (as an unprivileged writer may
    /// use them) when last measured, less what was appended since; when and
    /// how much was appended since. Only kept when `options.reserve` > 0.
    private var freeEstimate: UInt64 = 0
    private var freeMeasuredAt: Int64 = 0
    private var appendedSinceMeasure: UInt64 = 0

    private let syncCondition = NSCondition()
    private var durableSeq: UInt64 = 0
    private var syncing = false

    private var segmentsPath: String { path + "/" + Format.segmentsDirectory }

    private init(path: String, identity: StoreIdentity, mode: Mode, options: Options, namespace: Namespace,
                 segments: [Segment], lockFile: RawFile?, recovery: Recovery?) {
        self.path = path; self.identity = identity; self.mode = mode; self.options = options
        self.namespace = namespace; self.segments = segments; self.lockFile = lockFile; self.recovery = recovery
        self.durableSeq = namespace.nextSeq
    }

    // MARK: Creating and opening

    /// Creates a new store in `path` (missing, or an empty directory) with its
    /// root directory record, synced to disk.
    @discardableResult
    public static func create(at path: String, options: Options = Options(), by writer: Provenance = .current(),
                              storeID: [UInt8]? = nil) throws(StoreError) -> Store {
        do {
            if FileSystem.exists(path) {
                guard FileSystem.isDirectory(path) else { throw StoreError.notEmpty(path) }
                guard try FileSystem.list(path).isEmpty else { throw StoreError.notEmpty(path) }
            } else {
                try FileSystem.makeDirectory(path, mode: 0o700)
            }
            guard FileSystem.isWritable(path) else { throw StoreError.notWritable(path) }
            let identity = StoreIdentity(id: storeID ?? FileSystem.randomBytes(16))
            try FileSystem.makeDirectory(path + "/" + Format.segmentsDirectory)
            let segmentName = SegmentHeader.fileName(firstSeq: 0)
            let segmentPath = path + "/" + Format.segmentsDirectory + "/" + segmentName
            let file = try RawFile.open(segmentPath, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
            try file.write(SegmentHeader(storeID: identity.id, firstSeq: 0, prevStoreHash: .zero).encode(), at: 0)
            let ns = Namespace(keepBlocks: true)
            let segment = Segment(name: segmentName, firstSeq: 0, file: file, end: UInt64(Format.segmentHeaderSize))
            let store = Store(path: path, identity: identity, mode: .readWrite, options: options, namespace: ns,
                              segments: [segment], lockFile: nil, recovery: nil)
            _ = try store.appendRecord(kind: .directory, file: Namespace.rootID, body: .create(path: "/", mode: 0o755, owner: 0, group: 0),
                                       payload: nil, by: writer)
            try file.sync()
            try FileSystem.syncDirectory(path + "/" + Format.segmentsDirectory)
            // The identity file is written last: a crash before it leaves a
            // directory that is plainly not a store yet.
            try FileSystem.writeAtomically(path + "/" + Format.identityFile, identity.encode(), directory: path)
            store.close()
            return try Store.open(at: path, mode: .readWrite, options: options)
        } catch let e as StoreError {
            throw e
        } catch let e as SystemError {
            throw StoreError.wrap(e)
        } catch {
            throw StoreError.io("\(error)")
        }
    }

    /// Opens a store: replays its segments through every frame, hash and
    /// chain check (payload digests are left to `verify`). Opening for
    /// writing takes the store's lock and cuts a torn tail left by a crash.
    public static func open(at path: String, mode: Mode, options: Options = Options()) throws(StoreError) -> Store {
        do {
            return try openUnchecked(at: path, mode: mode, options: options)
        } catch let e as StoreError {
            throw e
        } catch let e as SystemError {
            throw StoreError.wrap(e)
        } catch {
            throw StoreError.io("\(error)")
        }
    }

    /// Reads the identity file of the store at `path`.
    static func readIdentity(at path: String) throws -> StoreIdentity {
        guard FileSystem.exists(path) else {
            throw errno == EACCES ? StoreError.permissionDenied(path) : StoreError.missing(path)
        }
        guard FileSystem.isDirectory(path) else { throw StoreError.notAStore(path) }
        let idPath = path + "/" + Format.identityFile
        guard FileSystem.exists(idPath) else { throw StoreError.notAStore(path) }
        let file: RawFile
        do { file = try RawFile.open(idPath, flags: O_RDONLY) } catch let e as SystemError where e.errno == EACCES {
            throw StoreError.permissionDenied(path)
        }
        let bytes = try file.read(count: 4096, at: 0)
        return try StoreIdentity.decode(bytes, store: path)
    }

    /// Lists and opens the segment files in sequence order.
    static func openSegments(at path: String, writable: Bool) throws -> [Replay.Segment] {
        let dir = path + "/" + Format.segmentsDirectory
        guard FileSystem.isDirectory(dir) else { throw StoreError.notAStore(path) }
        var result: [Replay.Segment] = []
        for name in try FileSystem.list(dir) where name.hasSuffix(Format.segmentSuffix) {
            let file = try RawFile.open(dir + "/" + name, flags: writable ? O_RDWR : O_RDONLY)
            result.append(Replay.Segment(name: name, file: file, header: nil))
        }
        return result
    }

    private static func openUnchecked(at path: String, mode: Mode, options: Options) throws -> Store {
        let identity = try readIdentity(at: path)
        var lockFile: RawFile?
        if mode == .readWrite {
            guard FileSystem.isWritable(path), FileSystem.isWritable(path + "/" + Format.segmentsDirectory) else {
                throw StoreError.notWritable(path)
            }
            let f = try RawFile.open(path + "/" + Format.identityFile, flags: O_RDONLY)
            guard try f.tryLockExclusive() else { throw StoreError.busy(path) }
            lockFile = f
        }
        var replaySegments = try openSegments(at: path, writable: mode == .readWrite)
        // Start from the index snapshot when its MAC and its end are sound;
        // otherwise replay all.
        var cacheKey = CacheKey.read(store: path)
        var loaded: IndexSnapshot.Loaded?
        var cacheNote: String?
        do {
            loaded = try IndexSnapshot.load(store: path, identity: identity, segments: replaySegments, key: cacheKey)
        } catch let e as IndexSnapshot.Ahead {
            throw StoreError.damaged(Finding(segment: e.segment, offset: e.end, seq: e.records - 1, check: .recordsMissing,
                                             expected: "\(e.records) records (cache/index)", found: "a shorter segment"))
        } catch let e as IndexSnapshot.Invalid {
            if e.kind != .absent { cacheNote = e.description }
        } catch {
            cacheNote = "index cache ignored: \(error)"
        }
        var namespace = loaded?.namespace ?? Namespace(keepBlocks: true)
        let treeDir = path + "/" + Format.cacheDirectory + "/tree"
        var tree = try? TreeCache(directory: treeDir, records: .max)
        if let t = tree, t.leafCount < namespace.nextSeq {
            // The tree cache is behind the index snapshot: read the missing records' hashes.
            do { try t.fill(from: replaySegments.map(\.file), upTo: namespace.nextSeq) } catch { tree = nil }
        }
        func feed(_ record: Record, _ hash: Hash, _ frame: SegmentReader.Frame, _ index: Int) {
            guard let t = tree, record.seq == t.leafCount else { return }
            do { try t.append(leaf: MerkleTree.leafHash(hash), segment: index, offset: frame.offset) } catch { tree = nil }
        }
        var replay = Replay(identity: identity, namespace: namespace, checkPayloads: false)
        var outcome = replay.run(&replaySegments, resume: loaded?.position, onRecord: feed)
        if case .damaged = outcome, loaded != nil {
            // Judge damage on the segments alone, never with the index's help.
            cacheNote = "index cache ignored: the records after it do not follow from it"
            loaded = nil
            namespace = Namespace(keepBlocks: true)
            replay = Replay(identity: identity, namespace: namespace, checkPayloads: false)
            outcome = replay.run(&replaySegments, onRecord: feed)
        }
        // Records the tree cache holds beyond the store's end (a cut torn tail) go.
        if let t = tree, t.leafCount != namespace.nextSeq {
            t.cut(to: namespace.nextSeq)
            if t.leafCount < namespace.nextSeq {
                do { try t.fill(from: replaySegments.map(\.file), upTo: namespace.nextSeq) } catch { tree = nil }
            }
        }
        // A tree cache whose subtrees are not the tree's is rebuilt from the
        // segments (in memory until the store is writable).
        if let t = tree, !t.agrees(with: namespace.tree) {
            cacheNote = (cacheNote.map { $0 + "; " } ?? "") + "tree cache rebuilt: its subtrees are not the segments' tree"
            t.cut(to: 0)
            do { try t.fill(from: replaySegments.map(\.file), upTo: namespace.nextSeq) } catch { tree = nil }
        }
        var recovery: Recovery?
        switch outcome {
        case .intact:
            break
        case let .damaged(finding):
            throw StoreError.damaged(finding)
        case let .torn(index, offset, reason):
            let seg = replaySegments[index]
            if mode == .readWrite {
                recovery = try cutTornTail(store: path, segment: seg, at: offset, reason: reason)
                if offset == 0 {
                    // A segment whose header never completed: remove it.
                    unlink(seg.file.path)
                    try FileSystem.syncDirectory(path + "/" + Format.segmentsDirectory)
                    replaySegments.removeLast()
                }
            }
        }
        if mode == .readWrite, let t = tree {
            do { try t.makeWritable() } catch { tree = nil }
        }
        if mode == .readWrite && cacheKey == nil { cacheKey = try? CacheKey.readOrCreate(store: path, bytes: options.newCacheKey()) }
        var segments: [Segment] = []
        for (i, s) in replaySegments.enumerated() {
            guard let header = s.header else { continue }
            let end = i == replaySegments.count - 1 ? replay.validEnd : try s.file.size()
            segments.append(Segment(name: s.name, firstSeq: header.firstSeq, file: s.file, end: end))
        }
        if let last = segments.last, last.end == 0 { last.end = try last.file.size() }
        let store = Store(path: path, identity: identity, mode: mode, options: options, namespace: namespace,
                          segments: segments, lockFile: lockFile, recovery: recovery)
        store.indexMapping = loaded?.mapping
        store.indexedRecords = loaded?.namespace.nextSeq ?? 0
        store.cacheNote = cacheNote
        store.tree = tree
        store.cacheKey = cacheKey
        store.attachTree()
        return store
    }

    /// Saves the bytes of a torn tail under torn/ (for forensics), then cuts
    /// the segment back to its last complete record.
    private static func cutTornTail(store: String, segment: Replay.Segment, at offset: UInt64, reason: String) throws -> Recovery {
        let size = try segment.file.size()
        let tail = try segment.file.read(count: Int(size - offset), at: offset)
        let tornDir = store + "/" + Format.tornDirectory
        if !FileSystem.exists(tornDir) { try FileSystem.makeDirectory(tornDir) }
        let saved = tornDir + "/" + segment.name + "@" + String(offset) + "." + String(FileSystem.nowNanoseconds())
        let out = try RawFile.open(saved, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        try out.write(tail, at: 0)
        try out.sync()
        try FileSystem.syncDirectory(tornDir)
        try segment.file.truncate(to: offset)
        try segment.file.sync()
        return Recovery(segment: segment.name, offset: offset, bytesCut: size - offset, reason: reason,
                        savedAs: Format.tornDirectory + "/" + StorePath.name(of: saved))
    }

    /// Syncs the store, refreshes the index snapshot when enough was
    /// appended since the last one, and releases the store. Further writes fail.
    public func close() {
        try? sync()
        lock.lock()
        defer { lock.unlock() }
        tree?.flushQuietly()
        if mode == .readWrite && failed == nil {
            let total = namespace.nextSeq
            let since = total - indexedRecords
            if since > 0 && (since >= 100_000 || since * 10 >= total) { try? writeIndexLocked() }
        }
        failed = failed ?? "store is closed"
        lockFile?.unlock()
    }

    /// Writes cache/index for the current state. Caller holds `lock`.
    private func writeIndexLocked() throws {
        guard let last = segments.last, let cacheKey else { return }
        try IndexSnapshot.write(namespace, identity: identity, segmentFirstSeqs: segments.map(\.firstSeq),
                                position: .init(segmentCount: segments.count, lastSegmentEnd: last.end), store: path,
                                key: cacheKey)
        indexedRecords = namespace.nextSeq
    }

    /// Replaces the cache key (when the signing key's epoch advances), so a
    /// copy of the old one forges no cache from now on. Caches MACed under
    /// the old key are ignored by readers from now on: the index is written
    /// again at `close()`, the query index rebuilt by the next query.
    public func rotateCacheKey() throws(StoreError) {
        guard mode == .readWrite else { throw .readOnly }
        lock.lock(); defer { lock.unlock() }
        do { cacheKey = try CacheKey.replace(store: path, bytes: options.newCacheKey()) } catch { throw .wrap(error) }
        indexedRecords = 0
    }

    // MARK: Reading the namespace

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

    /// At most `limit` entries of a directory in creation order, from
    /// position `start` (0 is the first entry ever created in it). A
    /// directory only gains entries, so a position always names the same
    /// entry: listing from where the previous page ended neither skips nor
    /// repeats a name, however many are created meanwhile. Copies only the
    /// page, never the directory.
    public func children(of id: UInt64, from start: Int, limit: Int) -> [NodeInfo] {
        lock.lock(); defer { lock.unlock() }
        guard let dir = namespace.node(id), start >= 0, limit > 0, start < dir.childOrder.count else { return [] }
        return dir.childOrder[start..<min(dir.childOrder.count, start + limit)].compactMap { namespace.node($0).map(NodeInfo.init) }
    }

    /// The tree head over every record appended so far.
    public var treeHead: (size: UInt64, root: Hash) {
        lock.lock(); defer { lock.unlock() }
        return (namespace.tree.size, namespace.tree.root)
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
        let files = segments.map(\.file)
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

    // MARK: Appending records

    /// Creates a file or directory at `path`; its parent must exist.
    @discardableResult
    public func create(_ path: String, kind: Record.Kind, mode: UInt32, owner: UInt32, group: UInt32,
                       by writer: Provenance) throws(StoreError) -> NodeInfo {
        precondition(kind == .file || kind == .directory)
        let p: String
        do { p = try StorePath.parse(path) } catch { throw .invalidPath(error.description) }
        lock.lock(); defer { lock.unlock() }
        guard !p.sameBytes(as: "/"), namespace.lookup(p) == nil else { throw .exists(p) }
        guard let parent = namespace.lookup(StorePath.parent(of: p)) else { throw .noSuchFile(StorePath.parent(of: p)) }
        guard parent.isDirectory else { throw .notADirectory(parent.path) }
        let node = try appendLocked(kind: kind, file: Record.fileID(createdBy: namespace.nextSeq),
                                    body: .create(path: p, mode: mode & 0o7777, owner: owner, group: group),
                                    payload: nil, digest: nil, by: writer)
        return NodeInfo(node)
    }

    /// Appends `data` to file `id` as one block. With `at`, the write is
    /// refused unless `at` is the file's current size (an overwrite).
    /// Returns the offset the block starts at.
    @discardableResult
    public func append(_ id: UInt64, _ data: UnsafeRawBufferPointer, at expected: UInt64? = nil,
                       by writer: Provenance) throws(StoreError) -> UInt64 {
        guard data.count <= Int(Format.maxPayloadSize) else { throw .tooLarge(data.count) }
        let digest = Hash.sha256(data)   // outside the lock: writers to different files hash in parallel
        lock.lock(); defer { lock.unlock() }
        guard let node = namespace.node(id) else { throw .noSuchFile("#\(id)") }
        guard !node.isDirectory else { throw .isADirectory(node.path) }
        let offset = node.size
        if let expected, expected != offset { throw .notAtEnd(path: node.path, size: offset, offset: expected) }
        if data.isEmpty { return offset }
        _ = try appendLocked(kind: .append, file: id, body: .append(offset: offset), payload: data, digest: digest, by: writer)
        return offset
    }

    public func append(_ id: UInt64, _ data: [UInt8], at expected: UInt64? = nil, by writer: Provenance) throws(StoreError) -> UInt64 {
        do {
            return try data.withUnsafeBytes { b in try append(id, b, at: expected, by: writer) }
        } catch { throw .wrap(error) }
    }

    /// Records a change of attributes.
    public func setAttributes(_ id: UInt64, _ change: AttributeChange, by writer: Provenance) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        guard namespace.node(id) != nil else { throw .noSuchFile("#\(id)") }
        _ = try appendLocked(kind: .attributes, file: id, body: .attributes(change), payload: nil, digest: nil, by: writer)
    }

    private func appendRecord(kind: Record.Kind, file: UInt64, body: Record.Body, payload: UnsafeRawBufferPointer?,
                              by writer: Provenance) throws(StoreError) -> Namespace.Node {
        lock.lock(); defer { lock.unlock() }
        return try appendLocked(kind: kind, file: file, body: body, payload: payload, digest: nil, by: writer)
    }

    /// Encodes, writes and applies one record. Caller holds `lock`. On any
    /// failure the segment is cut back to where it was and nothing changes.
    func appendLocked(kind: Record.Kind, file: UInt64, body: Record.Body, payload: UnsafeRawBufferPointer?,
                              digest: Hash?, by writer: Provenance) throws(StoreError) -> Namespace.Node {
        if let failed { throw .io(failed) }
        guard mode == .readWrite else { throw .readOnly }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let data = payload ?? empty
        let prevFile: Hash
        switch body {
        case .create: prevFile = .zero
        default: prevFile = namespace.node(file)?.lastHash ?? .zero
        }
        let record = Record(kind: kind, seq: namespace.nextSeq, time: max(options.clock(), namespace.lastTime, 0), writer: writer, file: file,
                            prevFileHash: prevFile, prevStoreHash: namespace.lastHash,
                            payloadLength: UInt64(data.count), payloadDigest: digest ?? Hash.sha256(data), body: body)
        do { try namespace.check(record) } catch {
            throw .io("internal: record \(record.seq) breaks rule \(error.check): expected \(error.expected), found \(error.found)")
        }
        let header = record.encodeHeader()
        let hash = Hash.sha256(header)
        let prefix = Frame.encodePrefix(headerLength: UInt32(header.count), payloadLength: UInt32(data.count))
        let frameLength = UInt64(prefix.count + header.count + data.count + 32)
        if options.reserve > 0 { try checkSpaceLocked(frameLength, file: file, body: body, now: record.time) }
        var segment = segments[segments.count - 1]
        if segment.end + frameLength > options.segmentSize && segment.end > UInt64(Format.segmentHeaderSize) {
            segment = try startSegment()
        }
        let start = segment.end
        do {
            try prefix.withUnsafeBytes { (p) throws in
                try header.withUnsafeBytes { (h) throws in
                    try hash.withBytes { (t) throws in
                        try segment.file.write([p, h, data, t], at: start)
                    }
                }
            }
        } catch {
            do { try segment.file.truncate(to: start) } catch {
                failed = "segment \(segment.name) could not be cut back after a failed write: \(error)"
            }
            throw .wrap(error)
        }
        segment.end = start + frameLength
        if freeEstimate != .max { freeEstimate -= min(freeEstimate, frameLength) }
        appendedSinceMeasure += frameLength
        var block: BlockRef?
        if case let .append(offset) = body {
            block = BlockRef(fileOffset: offset, payloadPosition: start + UInt64(prefix.count + header.count), seq: record.seq,
                             segment: UInt32(segments.count - 1), length: UInt32(data.count))
        }
        let node: Namespace.Node
        do {
            node = try namespace.apply(record, hash: hash, block: block)
        } catch {
            fatalError("record \(record.seq) passed check() but not apply(): \(error)")
        }
        if let t = tree {
            do { try t.appendLeaf(namespace.lastLeaf, segment: segments.count - 1, offset: start) } catch { dropTree() }
        }
        return node
    }

    /// Refuses a record outside the audit namespace that would leave less
    /// free space than the reserve. Free space is measured (fstatvfs) at
    /// most every second or MiB appended — and on every record when it is
    /// near the reserve, so that space freed elsewhere is seen at once.
    /// Caller holds `lock`.
    private func checkSpaceLocked(_ length: UInt64, file: UInt64, body: Record.Body, now: Int64) throws(StoreError) {
        let margin = options.reserve + length
        if freeEstimate < margin + (16 << 20) || appendedSinceMeasure >= 1 << 20 || now &- freeMeasuredAt >= 1_000_000_000
            || now < freeMeasuredAt {
            // Unmeasurable (fstatvfs failing): no refusal; a full disk still fails the write itself.
            freeEstimate = (try? segments[segments.count - 1].file.freeSpace()) ?? .max
            freeMeasuredAt = now
            appendedSinceMeasure = 0
        }
        guard freeEstimate < margin else { return }
        let path: String?
        if case let .create(p, _, _, _) = body { path = p } else { path = namespace.node(file)?.path }
        if let path, Store.isAuditPath(path) { return }
        throw .noSpace("no space left for \(path ?? "#\(file)"): \(freeEstimate) bytes free, \(options.reserve) held back for the audit records")
    }

    /// Starts a new segment after syncing the current one, so that only the
    /// last segment can ever hold a torn tail. Caller holds `lock`.
    private func startSegment() throws(StoreError) -> Segment {
        do {
            try segments[segments.count - 1].file.dataSync()
            let first = namespace.nextSeq
            let name = SegmentHeader.fileName(firstSeq: first)
            let file = try RawFile.open(segmentsPath + "/" + name, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
            do {
                try file.write(SegmentHeader(storeID: identity.id, firstSeq: first, prevStoreHash: namespace.lastHash).encode(), at: 0)
                try file.sync()
                try FileSystem.syncDirectory(segmentsPath)
            } catch {
                // A header that could not be written whole (a full disk): the
                // file goes, so that the next record can start it again.
                unlink(file.path)
                throw error
            }
            let segment = Segment(name: name, firstSeq: first, file: file, end: UInt64(Format.segmentHeaderSize))
            segments.append(segment)
            return segment
        } catch {
            throw .wrap(error)
        }
    }

    // MARK: Proofs

    /// The root of the tree over the first `size` records.
    public func root(size: UInt64) throws(StoreError) -> Hash {
        try withTree { t in
            guard size <= t.leafCount else { throw StoreError.io("the store has fewer than \(size) records") }
            return try t.root(size: size)
        }
    }

    /// RFC 9162 inclusion proof of record `seq` in the tree of `size` records.
    public func inclusionProof(seq: UInt64, size: UInt64) throws(StoreError) -> [Hash] {
        try withTree { t in
            guard size <= t.leafCount else { throw StoreError.io("the store has fewer than \(size) records") }
            return try MerkleProof.inclusion(index: seq, size: size, subtree: t.subtree)
        }
    }

    /// RFC 9162 consistency proof from the tree of `old` records to `new`.
    public func consistencyProof(old: UInt64, new: UInt64) throws(StoreError) -> [Hash] {
        try withTree { t in
            guard new <= t.leafCount else { throw StoreError.io("the store has fewer than \(new) records") }
            return try MerkleProof.consistency(old: old, new: new, subtree: t.subtree)
        }
    }

    /// The stored frame of record `seq`: its header bytes, payload and hash,
    /// read from the segment (the hash is recomputed and checked).
    public func record(_ seq: UInt64) throws(StoreError) -> (record: Record, header: [UInt8], payload: [UInt8], hash: Hash) {
        let (segment, offset): (Int, UInt64) = try withTree { t in
            guard seq < t.leafCount else { throw StoreError.io("no record \(seq)") }
            return try t.position(of: seq)
        }
        lock.lock()
        let file = segment < segments.count ? segments[segment].file : nil
        lock.unlock()
        guard let file else { throw .io("record \(seq): no segment \(segment)") }
        do {
            let prefixBytes = try file.read(count: Format.framePrefixSize, at: offset)
            guard prefixBytes.count == Format.framePrefixSize else { throw StoreError.io("record \(seq): short read") }
            let prefix = try prefixBytes.withUnsafeBytes { try Frame.decodePrefix($0) }
            let rest = try file.read(count: prefix.frameLength - Format.framePrefixSize, at: offset + UInt64(Format.framePrefixSize))
            guard rest.count == prefix.frameLength - Format.framePrefixSize else { throw StoreError.io("record \(seq): short read") }
            let header = Array(rest[0..<Int(prefix.headerLength)])
            let payload = Array(rest[Int(prefix.headerLength)..<Int(prefix.headerLength) + Int(prefix.payloadLength)])
            let hash = Hash.sha256(header)
            let stored = rest.suffix(32).withUnsafeBytes { Hash(bytes: $0) }
            guard hash == stored else { throw StoreError.io("record \(seq): stored hash does not match its header") }
            let record = try header.withUnsafeBytes { try Record.decodeHeader($0) }
            guard record.seq == seq else { throw StoreError.io("tree cache points record \(seq) at record \(record.seq)") }
            return (record, header, payload, hash)
        } catch {
            throw .wrap(error)
        }
    }

    /// From now on the tree cache takes the subtrees the namespace's tree
    /// completes, and the store adds each record's leaf: nothing is hashed twice.
    private func attachTree() {
        guard let t = tree else { return }
        namespace.subtrees = { [weak self] level, root in
            do { try t.addSubtree(level: level, root: root) } catch { self?.dropTree() }
        }
    }

    /// Stops keeping the tree cache after a failure (proofs then say it is unavailable).
    private func dropTree() {
        tree = nil
        namespace.subtrees = nil
    }

    private func withTree<T>(_ body: (TreeCache) throws -> T) throws(StoreError) -> T {
        lock.lock(); defer { lock.unlock() }
        guard let t = tree else { throw .io("the tree cache (cache/tree) is unavailable; delete it and open the store again to rebuild it") }
        do { return try body(t) } catch { throw .wrap(error) }
    }

    // MARK: Durability

    /// Returns once every record appended before the call is on disk.
    /// Concurrent callers share one fdatasync (group commit).
    public func sync() throws(StoreError) {
        lock.lock()
        let target = namespace.nextSeq
        let open = !segments.isEmpty
        tree?.flushQuietly()
        lock.unlock()
        guard open, mode == .readWrite else { return }
        syncCondition.lock()
        while true {
            if durableSeq >= target { syncCondition.unlock(); return }
            if !syncing { break }
            syncCondition.wait()
        }
        syncing = true
        syncCondition.unlock()
        // Everything up to `latest` is written; one fdatasync of the current
        // segment makes it all durable (a segment is synced before the next
        // one starts).
        lock.lock()
        let latest = namespace.nextSeq
        let current = segments.last!.file
        lock.unlock()
        var failure: (any Error)?
        do { try current.dataSync() } catch { failure = error }
        syncCondition.lock()
        syncing = false
        if failure == nil { durableSeq = max(durableSeq, latest) }
        syncCondition.broadcast()
        syncCondition.unlock()
        if let failure { throw .wrap(failure) }
    }
}
