import AuditPlumbing
import Foundation
import Glibc

/// Creating a store, and opening one: replaying its segments (from the
/// index snapshot when it is sound) through every frame, hash, chain and
/// rule check, bringing the tree cache in line with the records, and — for
/// writing — cutting a torn tail left by a crash (saved under torn/ first).
extension Store {
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

    /// Everything an open found, for the store to start from.
    struct Opened {
        let identity: StoreIdentity
        let namespace: Namespace
        let tree: LogTree
        let segments: [SegmentWriter.Segment]
        let lockFile: RawFile?
        let recovery: Recovery?
        let index: IndexSnapshot.Loaded?
        let cacheKey: CacheKey?
        let cacheNote: String?
    }

    /// Creates a new store in `path` (missing, or an empty directory) with its
    /// root directory record, synced to disk.
    @discardableResult
    public static func create(at path: String, options: Options = Options(), by writer: Provenance = .current(),
                              storeID: [UInt8]? = nil, version: UInt32 = Format.version) throws(StoreError) -> Store {
        let directory = StoreDirectory(path)
        do {
            if FileSystem.exists(path) {
                guard FileSystem.isDirectory(path) else { throw StoreError.notEmpty(path) }
                guard try FileSystem.list(path).isEmpty else { throw StoreError.notEmpty(path) }
            } else {
                try FileSystem.makeDirectory(path, mode: 0o700)
            }
            guard FileSystem.isWritable(path) else { throw StoreError.notWritable(path) }
            guard Format.readableVersions.contains(version) else { throw StoreError.unsupportedVersion(path, found: "v\(version)") }
            let identity = StoreIdentity(id: storeID ?? FileSystem.randomBytes(16), version: version)
            try FileSystem.makeDirectory(directory.segmentsPath)
            let segmentName = SegmentHeader.fileName(firstSeq: 0)
            let file = try RawFile.open(directory.segmentPath(segmentName), flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
            try file.write(SegmentHeader(storeID: identity.id, firstSeq: 0, prevStoreHash: .zero, version: version).encode(), at: 0)
            let segment = SegmentWriter.Segment(name: segmentName, firstSeq: 0, file: file, end: UInt64(Format.segmentHeaderSize))
            let store = Store(directory: directory, mode: .readWrite, options: options, opened: Opened(
                identity: identity, namespace: Namespace(keepBlocks: true, version: version), tree: LogTree(), segments: [segment],
                lockFile: nil, recovery: nil, index: nil, cacheKey: nil, cacheNote: nil))
            _ = try store.appendRecord(kind: .directory, file: Namespace.rootID, body: .create(path: "/", mode: 0o755, owner: 0, group: 0),
                                       by: writer)
            try file.sync()
            try AtomicFile.syncDirectory(directory.segmentsPath)
            // The identity file is written last: a crash before it leaves a
            // directory that is plainly not a store yet.
            try AtomicFile.create(directory.identityPath, identity.encode())
            store.close()
            return try Store.open(at: path, mode: .readWrite, options: options)
        } catch {
            throw .wrap(error)
        }
    }

    /// Opens a store: replays its segments through every frame, hash and
    /// chain check (payload digests are left to `verify`). Opening for
    /// writing takes the store's lock and cuts a torn tail left by a crash.
    public static func open(at path: String, mode: Mode, options: Options = Options()) throws(StoreError) -> Store {
        let directory = StoreDirectory(path)
        do {
            return Store(directory: directory, mode: mode, options: options,
                         opened: try replayed(directory, mode: mode, options: options))
        } catch {
            throw .wrap(error)
        }
    }

    private static func replayed(_ directory: StoreDirectory, mode: Mode, options: Options) throws -> Opened {
        let path = directory.path
        let identity = try directory.readIdentity()
        var lockFile: RawFile?
        if mode == .readWrite {
            guard FileSystem.isWritable(path), FileSystem.isWritable(directory.segmentsPath) else {
                throw StoreError.notWritable(path)
            }
            let f = try RawFile.open(directory.identityPath, flags: O_RDONLY)
            guard try f.tryLockExclusive() else { throw StoreError.busy(path) }
            lockFile = f
        }
        var replaySegments = try directory.openSegments(writable: mode == .readWrite)
        // Start from the index snapshot when its MAC and its end are sound;
        // otherwise replay all.
        var cacheKey = CacheKey.read(store: path)
        var loaded: IndexSnapshot.Loaded?
        var cacheNote: String?
        do {
            loaded = try IndexSnapshot.load(store: directory, identity: identity, segments: replaySegments, key: cacheKey)
        } catch let e as IndexSnapshot.Ahead {
            throw StoreError.damaged(Finding(segment: e.segment, offset: e.end, seq: e.records - 1, check: .recordsMissing,
                                             expected: "\(e.records) records (cache/index)", found: "a shorter segment"))
        } catch let e as IndexSnapshot.Invalid {
            if e.kind != .absent { cacheNote = e.description }
        } catch {
            cacheNote = "index cache ignored: \(error)"
        }
        var namespace = loaded?.namespace ?? Namespace(keepBlocks: true, version: identity.version)
        var cache = try? TreeCache(directory: directory.treeCachePath, records: .max)
        if let c = cache, c.leafCount < namespace.nextSeq {
            // The tree cache is behind the index snapshot: read the missing records' hashes.
            do { try c.fill(from: replaySegments.map(\.file), upTo: namespace.nextSeq) } catch { cache = nil }
        }
        // The replay appends each record to the tree once; the cache takes
        // those it does not hold yet.
        var tree = LogTree(range: loaded?.tree ?? CompactRange(), cache: cache)
        var replay = Replay(identity: identity, namespace: namespace, tree: tree, checkPayloads: false)
        var outcome = replay.run(&replaySegments, resume: loaded?.position)
        if case .damaged = outcome, loaded != nil {
            // Judge damage on the segments alone, never with the index's help.
            cacheNote = "index cache ignored: the records after it do not follow from it"
            loaded = nil
            namespace = Namespace(keepBlocks: true, version: identity.version)
            tree = LogTree(cache: tree.cache)
            replay = Replay(identity: identity, namespace: namespace, tree: tree, checkPayloads: false)
            outcome = replay.run(&replaySegments)
        }
        // Records the tree cache holds beyond the store's end (a cut torn tail) go.
        if let c = tree.cache, c.leafCount != namespace.nextSeq {
            c.cut(to: namespace.nextSeq)
            if c.leafCount < namespace.nextSeq {
                do { try c.fill(from: replaySegments.map(\.file), upTo: namespace.nextSeq) } catch { tree.dropCache() }
            }
        }
        // A tree cache whose subtrees are not the tree's is rebuilt from the
        // segments (in memory until the store is writable).
        if let c = tree.cache, !c.agrees(with: tree.range) {
            cacheNote = (cacheNote.map { $0 + "; " } ?? "") + "tree cache rebuilt: its subtrees are not the segments' tree"
            c.cut(to: 0)
            do { try c.fill(from: replaySegments.map(\.file), upTo: namespace.nextSeq) } catch { tree.dropCache() }
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
                recovery = try cutTornTail(directory, segment: seg, at: offset, reason: reason)
                if offset == 0 {
                    // A segment whose header never completed: remove it.
                    FileSystem.remove(seg.file.path)
                    try AtomicFile.syncDirectory(directory.segmentsPath)
                    replaySegments.removeLast()
                }
            }
        }
        if mode == .readWrite, let c = tree.cache {
            do { try c.makeWritable() } catch { tree.dropCache() }
        }
        if mode == .readWrite && cacheKey == nil { cacheKey = try? CacheKey.readOrCreate(store: path, bytes: options.newCacheKey()) }
        var segments: [SegmentWriter.Segment] = []
        for (i, s) in replaySegments.enumerated() {
            guard let header = s.header else { continue }
            let end = i == replaySegments.count - 1 ? replay.validEnd : try s.file.size()
            segments.append(SegmentWriter.Segment(name: s.name, firstSeq: header.firstSeq, file: s.file, end: end))
        }
        if let last = segments.last, last.end == 0 { last.end = try last.file.size() }
        return Opened(identity: identity, namespace: namespace, tree: tree, segments: segments, lockFile: lockFile,
                      recovery: recovery, index: loaded, cacheKey: cacheKey, cacheNote: cacheNote)
    }

    /// How much of a torn tail is copied at once.
    static let tornCopyChunk: UInt64 = 1 << 20

    /// Saves the bytes of a torn tail under torn/ (for forensics), then cuts
    /// the segment back to its last complete record.
    private static func cutTornTail(_ directory: StoreDirectory, segment: Replay.Segment, at offset: UInt64,
                                    reason: String) throws -> Recovery {
        let size = try segment.file.size()
        let tornDir = directory.tornPath
        if !FileSystem.exists(tornDir) { try FileSystem.makeDirectory(tornDir) }
        let saved = tornDir + "/" + segment.name + "@" + String(offset) + "." + String(Clock.realtime.now)
        // Copied a chunk at a time: a tail is whatever follows the last whole
        // record, as long as whoever wrote the file made it, and must not
        // have to fit in memory.
        try AtomicFile.create(saved) { out in
            var at = offset
            while at < size {
                let chunk = try segment.file.read(count: Int(min(size - at, Self.tornCopyChunk)), at: at)
                guard !chunk.isEmpty else { break }
                try out.write(chunk)
                at += UInt64(chunk.count)
            }
        }
        try segment.file.truncate(to: offset)
        try segment.file.sync()
        return Recovery(segment: segment.name, offset: offset, bytesCut: size - offset, reason: reason,
                        savedAs: Format.tornDirectory + "/" + StorePath.name(of: saved))
    }
}
