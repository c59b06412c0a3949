import AuditPlumbing
import Foundation

/// A store: a directory of append-only segment files (FORMAT.md). `Store`
/// is the facade over its layers and holds the one lock they share:
///
/// - `StoreDirectory`: where the identity, segments and caches are;
/// - `Namespace`: the files and directories, and the rules a record obeys;
/// - `SegmentWriter`: frames at the end of the last segment, roll-over, sync;
/// - `LogTree`: the Merkle tree (compact range and tree cache) for heads and proofs;
/// - opening and recovery (StoreOpening.swift), reading, proofs, the audit namespace.
///
/// One append passes each layer once, under the lock: the namespace checks
/// the record, the reserve is checked, the writer writes its frame, the
/// namespace commits it, the tree appends its leaf.
///
/// Thread safety: every method may be called from any thread. One lock
/// guards the namespace, the tree and the segment tail; payload hashing and
/// reads happen outside it; `sync()` shares one fdatasync among concurrent callers.
public final class Store: @unchecked Sendable {
    public enum Mode: Sendable { case readOnly, readWrite }

    public struct Options: Sendable {
        public var segmentSize: UInt64 = Format.defaultSegmentSize
        /// The wall clock, in ns since the epoch (replaceable for golden fixtures).
        public var clock: @Sendable () -> Int64 = Clock.realtime.read
        /// Bytes of free space on the store's file system held back for the
        /// audit namespace (/.audit): a record of any other file that would
        /// leave less free is refused with `noSpace` (ENOSPC through the
        /// mount). 0: none (the mount sets it, `SpaceReserve`).
        public var reserve: UInt64 = 0
        /// The bytes of a new cache key (replaceable for golden fixtures).
        public var newCacheKey: @Sendable () -> [UInt8] = { FileSystem.randomBytes(32) }
        public init() {}
    }

    public let path: String
    public let identity: StoreIdentity
    public let mode: Mode
    public let options: Options
    public let recovery: Recovery?
    /// Why the index cache was not used, when that is worth reporting.
    public let cacheNote: String?

    /// Guards the namespace, the tree, the segment writer (which shares it)
    /// and the caches. Innermost of the
    /// mount's locks (docs/MOUNT.md "Nothing slow under a lock on a FUSE
    /// thread"): taken with the CheckpointSchedule's or the Checkpointer's
    /// held, never the other way round; nothing is called while it is held
    /// but `appendNote`'s closure (the Checkpointer signing, no lock taken).
    /// The writer's `syncCondition` is never taken with it held.
    let lock = NSLock()
    /// Serialises writing the tree cache outside `lock` (`flushTreeCache`).
    /// Lock order: taken before `lock`, never while holding it.
    private let treeFlushLock = NSLock()
    let directory: StoreDirectory
    let namespace: Namespace
    let tree: LogTree
    let writer: SegmentWriter
    private let lockFile: RawFile?
    private var reserve: SpaceReserve
    /// The index snapshot the block lists point into, and how many records it covers.
    private let indexMapping: MappedFile?
    var indexedRecords: UInt64
    /// The key the caches are MACed under; nil when this user cannot read it.
    var cacheKey: CacheKey?
    /// The buffer every record's header is encoded into (under `lock`).
    private var headerWriter = ByteWriter(capacity: 1024)

    init(directory: StoreDirectory, mode: Mode, options: Options, opened: Opened) {
        self.directory = directory
        path = directory.path
        identity = opened.identity
        self.mode = mode
        self.options = options
        recovery = opened.recovery
        cacheNote = opened.cacheNote
        namespace = opened.namespace
        tree = opened.tree
        writer = SegmentWriter(directory: directory, storeID: opened.identity.id, version: opened.identity.version, segmentSize: options.segmentSize,
                               segments: opened.segments, nextSeq: opened.namespace.nextSeq, lock: lock)
        lockFile = opened.lockFile
        reserve = SpaceReserve(bytes: options.reserve)
        indexMapping = opened.index?.mapping
        indexedRecords = opened.index?.namespace.nextSeq ?? 0
        cacheKey = opened.cacheKey
    }

    /// Syncs the store, refreshes the index snapshot when enough was
    /// appended since the last one, and releases the store. Further writes fail.
    public func close() {
        try? syncWithTreeCache()
        treeFlushLock.lock()
        defer { treeFlushLock.unlock() }
        lock.lock()
        defer { lock.unlock() }
        tree.flush()
        if mode == .readWrite && writer.failed == nil { refreshIndexLocked() }
        writer.close()
        lockFile?.unlock()
    }

    // MARK: Appending records

    /// Creates a file or directory at `path`; its parent must exist.
    @discardableResult
    public func create(_ path: String, kind: NodeKind, mode: UInt32, owner: UInt32, group: UInt32,
                       by writer: Provenance) throws(StoreError) -> NodeInfo {
        let p: String
        do { p = try StorePath.parse(path) } catch { throw .invalidPath(error.description) }
        lock.lock(); defer { lock.unlock() }
        guard !p.sameBytes(as: "/"), namespace.lookup(p) == nil else { throw .exists(p) }
        guard let parent = namespace.lookup(StorePath.parent(of: p)) else { throw .noSuchFile(StorePath.parent(of: p)) }
        guard parent.isDirectory else { throw .notADirectory(parent.path) }
        guard !parent.isRetired else { throw .retired(parent.path) }
        let node = try appendLocked(kind: kind.creatingRecord, file: Record.fileID(createdBy: namespace.nextSeq),
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
        let (offset, flushDue) = try appendHashed(id, data, digest: digest, at: expected, by: writer)
        if flushDue { flushTreeCache(waiting: false) }
        return offset
    }

    /// `append` once its payload is hashed: under the lock. Returns the
    /// block's offset and whether the tree cache has enough pending to be
    /// written (outside the lock, by the caller).
    private func appendHashed(_ id: UInt64, _ data: UnsafeRawBufferPointer, digest: Hash, at expected: UInt64?,
                              by writer: Provenance) throws(StoreError) -> (UInt64, Bool) {
        lock.lock(); defer { lock.unlock() }
        guard let node = namespace.node(id) else { throw .noSuchFile("#\(id)") }
        guard !node.isDirectory else { throw .isADirectory(node.path) }
        guard !node.isRetired else { throw .retired(node.path) }
        let offset = node.size
        if let expected, expected != offset { throw .notAtEnd(path: node.path, size: offset, offset: expected) }
        if data.isEmpty { return (offset, false) }
        _ = try appendLocked(kind: .append, file: id, body: .append(offset: offset), payload: data, digest: digest, by: writer,
                             node: node)
        return (offset, tree.flushDue)
    }

    /// Writes the tree cache's pending values (cache/tree, every 4,096
    /// records) outside the store's lock, so that appenders do not wait for
    /// some 30 file writes: taken under the lock, written without it,
    /// finished under it. `waiting`: wait for a flush another thread has
    /// out (sync, close); else leave it to that one.
    func flushTreeCache(waiting: Bool) {
        if waiting { treeFlushLock.lock() } else if !treeFlushLock.try() { return }
        defer { treeFlushLock.unlock() }
        lock.lock()
        let flush = tree.takeFlush()
        lock.unlock()
        guard let flush else { return }
        let written = flush.write()
        lock.lock()
        flush.finish(written)
        lock.unlock()
    }

    public func append(_ id: UInt64, _ data: [UInt8], at expected: UInt64? = nil, by writer: Provenance) throws(StoreError) -> UInt64 {
        do {
            return try data.withUnsafeBytes { b in try append(id, b, at: expected, by: writer) }
        } catch { throw .wrap(error) }
    }

    /// Records a change of attributes.
    public func setAttributes(_ id: UInt64, _ change: AttributeChange, by writer: Provenance) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        guard let node = namespace.node(id) else { throw .noSuchFile("#\(id)") }
        guard !node.isRetired else { throw .retired(node.path) }
        _ = try appendLocked(kind: .attributes, file: id, body: .attributes(change), payload: nil, digest: nil, by: writer)
    }

    func appendRecord(kind: Record.Kind, file: UInt64, body: Record.Body, by writer: Provenance) throws(StoreError) -> Namespace.Node {
        lock.lock(); defer { lock.unlock() }
        return try appendLocked(kind: kind, file: file, body: body, payload: nil, digest: nil, by: writer)
    }

    /// Encodes, writes and applies one record, passing each layer once: the
    /// namespace checks it (FORMAT.md "Rules"), the reserve is checked, the
    /// writer writes its frame, the namespace commits it, the tree appends
    /// its leaf. Caller holds `lock`. On any failure nothing changes (the
    /// writer cuts its segment back).
    /// `time`: the time to stamp (never before the previous record's);
    /// nil: the clock's.
    func appendLocked(kind: Record.Kind, file: UInt64, body: Record.Body, payload: UnsafeRawBufferPointer?,
                      digest: Hash?, by provenance: Provenance, at time: Int64? = nil,
                      node known: Namespace.Node? = nil) throws(StoreError) -> Namespace.Node {
        if let failed = writer.failed { throw .io(failed) }
        guard mode == .readWrite else { throw .readOnly }
        let data = payload ?? UnsafeRawBufferPointer(start: nil, count: 0)
        // `known`: the node `file` names, looked up once by the caller.
        let target: Namespace.Node?
        switch body {
        case .create: target = nil
        default: target = known?.id == file ? known : namespace.node(file)
        }
        let record = Record(kind: kind, seq: namespace.nextSeq, time: max(time ?? options.clock(), namespace.lastTime, 0), writer: provenance,
                            file: file, prevFileHash: target?.lastHash ?? .zero, prevStoreHash: namespace.lastHash,
                            payloadLength: UInt64(data.count), payloadDigest: digest ?? Hash.sha256(data), body: body)
        do { try namespace.check(record, node: target) } catch {
            throw .io("internal: record \(record.seq) breaks rule \(error.check): expected \(error.expected), found \(error.found)")
        }
        // The header is encoded into the store's one buffer (under the lock: no allocation per record).
        headerWriter.reset()
        record.encodeHeader(into: &headerWriter)
        let written = headerWriter.bytes.withUnsafeBytes { header in
            Result { () throws(StoreError) in
                let hash = Hash.sha256(header)
                let frameLength = SegmentWriter.frameLength(header: header.count, payload: data.count)
                try reserve.check(frameLength, file: file, now: record.time, measure: writer.freeSpace) {
                    if case let .create(p, _, _, _) = body { return p }
                    return target?.path
                }
                let (segment, offset) = try writer.write(seq: record.seq, header: header, payload: data, hash: hash,
                                                         prevStoreHash: namespace.lastHash)
                reserve.spent(frameLength)
                return (hash, segment, offset, header.count)
            }
        }
        let (hash, segment, offset, headerLength) = try written.get()
        var block: BlockRef?
        if case let .append(fileOffset) = body {
            block = BlockRef(fileOffset: fileOffset, payloadPosition: offset + UInt64(Format.framePrefixSize + headerLength),
                             seq: record.seq, segment: UInt32(segment), length: UInt32(data.count))
        }
        let node = namespace.commit(record, hash: hash, block: block, node: target)
        tree.append(recordHash: hash, segment: segment, offset: offset)
        return node
    }

    // MARK: Durability

    /// Returns once every record appended before the call is on disk.
    /// Concurrent callers share one fdatasync. cache/tree is not written:
    /// it is derived, and every open brings it in line with the segments
    /// (an fsync on the mount pays only for the records' durability).
    public func sync() throws(StoreError) {
        guard mode == .readWrite else { return }
        try writer.sync()
    }

    /// `sync()`, after writing cache/tree's pending values, so that the
    /// cache on disk covers every record so far: a checkpoint's, for the
    /// tools that read the store while it is mounted (`tiles`, `prove`).
    public func syncWithTreeCache() throws(StoreError) {
        flushTreeCache(waiting: true)
        try sync()
    }
}
