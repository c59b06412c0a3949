/// The derived index in cache/index (FORMAT.md "Index snapshot"): the namespace and
/// every file's block list as of some record, so that opening a large store
/// replays only the records appended since. It is never trusted over the
/// segments: it is used only when its HMAC under the store's cache key
/// (`CacheKey`) matches — so only a holder of that key can make one — and its
/// last record hash is the segments' record at the position it names;
/// `verify` compares it with the segments whatever its MAC says, and any
/// mismatch means it is ignored and rebuilt.
enum IndexSnapshot {
    static let magic: [UInt8] = Array("AFSINDEX".utf8)
    static let version: UInt32 = 2
    static let fileName = "index"

    /// A node's flags byte (FORMAT.md "Index snapshot").
    enum NodeFlags {
        static let retired: UInt8 = 1
        static let renamed: UInt8 = 2
    }

    /// Where the snapshot ends in the segments.
    struct Position: Equatable {
        var segmentCount: Int
        var lastSegmentEnd: UInt64
    }

    struct Loaded {
        let namespace: Namespace
        /// The tree's compact range over the same records.
        let tree: CompactRange
        let position: Position
        let segmentFirstSeqs: [UInt64]
        let mapping: MappedFile
        /// Whether its MAC matched the store's cache key (always, unless
        /// loaded with `requireMAC` false, as `verify` does).
        let authentic: Bool
    }

    /// The index covers records the segments no longer hold: records were
    /// removed from the end of the store after they were indexed.
    struct Ahead: Error {
        let records: UInt64
        let segment: String
        let end: UInt64
    }

    struct Invalid: Error, CustomStringConvertible {
        enum Kind {
            /// No index yet.
            case absent
            /// It cannot be checked here (no cache key readable, another key's
            /// MAC, an older format): ignored, not wrong.
            case unverifiable
            /// Its bytes contradict themselves or the segments.
            case disagrees
        }
        let reason: String
        var kind: Kind = .disagrees
        var description: String { "index cache ignored: \(reason)" }
    }

    /// Writes the snapshot of `namespace` and `tree` (whose records end at
    /// `position`) atomically to `cache/index`.
    static func write(_ namespace: Namespace, tree: CompactRange, identity: StoreIdentity, segmentFirstSeqs: [UInt64],
                      position: Position, store: StoreDirectory, key: CacheKey) throws {
        let dir = store.cachePath
        if !FileSystem.exists(dir) { try FileSystem.makeDirectory(dir) }
        let nodes = namespace.nodes.values.sorted { $0.id < $1.id }
        let blockCount = nodes.reduce(0) { $0 + $1.blocks.count }
        var w = ByteWriter(capacity: 1 << 16)
        w.raw(magic); w.u32(version); w.u32(0)
        w.raw(identity.id)
        w.u64(namespace.nextSeq); w.hash(namespace.lastHash); w.i64(namespace.lastTime)
        w.u32(UInt32(segmentFirstSeqs.count)); w.u32(UInt32(position.segmentCount))
        w.u64(position.lastSegmentEnd)
        for s in segmentFirstSeqs { w.u64(s) }
        w.u32(UInt32(tree.hashes.count)); w.u32(0)
        for h in tree.hashes { w.hash(h) }
        w.u64(UInt64(nodes.count)); w.u64(UInt64(blockCount))
        var first: UInt64 = 0
        for n in nodes {
            let path = Array(n.path.utf8)
            w.u64(n.id); w.u64(n.parent); w.u8(n.kind.rawValue); w.u8((n.isRetired ? NodeFlags.retired : 0) | (n.isRenamed ? NodeFlags.renamed : 0)); w.u16(UInt16(path.count))
            w.u32(n.mode); w.u32(n.uid); w.u32(n.gid)
            w.u64(n.size); w.i64(n.ctime); w.i64(n.mtime); w.i64(n.atime)
            w.hash(n.lastHash)
            w.u64(first); w.u64(UInt64(n.blocks.count))
            w.raw(path)
            first += UInt64(n.blocks.count)
        }
        while w.bytes.count % 8 != 0 { w.u8(0) }
        try AtomicFile.replace(dir + "/" + fileName) { out in
            var hasher = CacheKey.MAC(key: key)
            func emit(_ bytes: UnsafeRawBufferPointer) throws {
                hasher.update(bytes)
                try out.write(bytes)
            }
            try w.bytes.withUnsafeBytes { try emit($0) }
            // Blocks, in node order, 32 bytes each, written in 1 MiB batches.
            var batch: [BlockRef] = []
            batch.reserveCapacity(1 << 15)
            for n in nodes {
                for i in 0..<n.blocks.count {
                    batch.append(n.blocks[i])
                    if batch.count == 1 << 15 { try batch.withUnsafeBytes { try emit($0) }; batch.removeAll(keepingCapacity: true) }
                }
            }
            try batch.withUnsafeBytes { try emit($0) }
            let digest = hasher.finalize()
            try digest.withBytes { try out.write($0) }
        }
    }

    /// Loads `cache/index` and checks it against its MAC under `key` and the
    /// segments' headers. The namespace's block lists point into the mapping.
    /// With `requireMAC` false (verify) it is parsed whatever its MAC.
    static func load(store: StoreDirectory, identity: StoreIdentity, segments: [Replay.Segment], key: CacheKey?,
                     requireMAC: Bool = true) throws -> Loaded {
        let path = store.cachePath + "/" + fileName
        guard FileSystem.exists(path) else { throw Invalid(reason: "none yet", kind: .absent) }
        let file = try RawFile.open(path, flags: O_RDONLY)
        let size = try file.size()
        guard size >= 32 else { throw Invalid(reason: "too short") }
        guard let key else {
            if requireMAC { throw Invalid(reason: "no cache key readable by this user (\(CacheKey.fileName)); the segments are replayed", kind: .unverifiable) }
            return try parse(file: file, identity: identity, segments: segments, authentic: false)
        }
        // The MAC over everything before the last 32 bytes, read in chunks
        // (through the page cache, not the mapping, to keep memory flat).
        var hasher = CacheKey.MAC(key: key)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var at: UInt64 = 0
        while at < size - 32 {
            let want = Int(min(UInt64(chunk.count), size - 32 - at))
            let n = try chunk.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), at: at) }
            guard n == want else { throw Invalid(reason: "short read") }
            chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            at += UInt64(n)
        }
        let stored = Hash(bytes: try file.read(count: 32, at: size - 32).withUnsafeBytes { UnsafeRawBufferPointer($0) })
        let authentic = stored == hasher.finalize()
        if !authentic && requireMAC {
            throw Invalid(reason: "its MAC does not match the store's cache key (written under an earlier key, or forged)",
                          kind: .unverifiable)
        }
        return try parse(file: file, identity: identity, segments: segments, authentic: authentic)
    }

    private static func parse(file: RawFile, identity: StoreIdentity, segments: [Replay.Segment], authentic: Bool) throws -> Loaded {
        let mapping = try file.map()
        var r = ByteReader(mapping.bytes)
        do {
            guard Array(try r.bytes(8)) == magic else { throw Invalid(reason: "bad magic") }
            guard try r.u32() == version, try r.u32() == 0 else { throw Invalid(reason: "another version", kind: .unverifiable) }
            guard Array(try r.bytes(16)) == identity.id else { throw Invalid(reason: "another store's index") }
            let nextSeq = try r.u64(), lastHash = try r.hash(), lastTime = try r.i64()
            guard nextSeq > 0 else { throw Invalid(reason: "it covers no record") }
            let segCount = Int(try r.u32()), covered = Int(try r.u32())
            let lastEnd = try r.u64()
            var firsts: [UInt64] = []
            for _ in 0..<segCount { firsts.append(try r.u64()) }
            guard covered >= 1, covered <= segCount, segCount <= segments.count,
                  firsts.map(SegmentHeader.fileName(firstSeq:)) == segments.prefix(segCount).map(\.name) else {
                throw Invalid(reason: "its segments are not the store's segments")
            }
            let rangeCount = Int(try r.u32()); _ = try r.u32()
            var hashes: [Hash] = []
            for _ in 0..<rangeCount { hashes.append(try r.hash()) }
            guard nextSeq >= 1, let tree = CompactRange(size: nextSeq, hashes: hashes) else { throw Invalid(reason: "bad tree state") }
            // Counts and block ranges are bounded by the file's length before
            // any arithmetic: `verify` parses an index whose MAC it could not check.
            guard let nodeCount = Int(exactly: try r.u64()), let blockCount = Int(exactly: try r.u64()),
                  nodeCount <= mapping.length, blockCount <= mapping.length / MemoryLayout<BlockRef>.stride else {
                throw Invalid(reason: "bad node or block count")
            }
            var nodes: [UInt64: Namespace.Node] = [:]
            var ranges: [(Namespace.Node, Int, Int)] = []
            for _ in 0..<nodeCount {
                let id = try r.u64(), parent = try r.u64()
                guard let kind = NodeKind(rawValue: try r.u8()) else { throw Invalid(reason: "bad node kind") }
                let flags = try r.u8()
                guard flags & ~(NodeFlags.retired | NodeFlags.renamed) == 0 else { throw Invalid(reason: "bad node flags") }
                let pathLength = Int(try r.u16())
                let mode = try r.u32(), uid = try r.u32(), gid = try r.u32()
                let size = try r.u64(), ctime = try r.i64(), mtime = try r.i64(), atime = try r.i64()
                let h = try r.hash()
                guard let first = Int(exactly: try r.u64()), let count = Int(exactly: try r.u64()) else { throw Invalid(reason: "bad block range") }
                let path = String(decoding: try r.bytes(pathLength), as: UTF8.self)
                let node = Namespace.Node(id: id, kind: kind, path: path, parent: parent, mode: mode, uid: uid, gid: gid, time: ctime, hash: h)
                node.size = size; node.mtime = mtime; node.atime = atime
                node.isRetired = flags & NodeFlags.retired != 0
                node.isRenamed = flags & NodeFlags.renamed != 0
                nodes[id] = node
                ranges.append((node, first, count))
            }
            while r.position % 8 != 0 { _ = try r.u8() }
            let blocksAt = r.position
            guard blocksAt + blockCount * MemoryLayout<BlockRef>.stride + 32 == mapping.length else {
                throw Invalid(reason: "its length does not match its block count")
            }
            let base = mapping.base!.advanced(by: blocksAt).assumingMemoryBound(to: BlockRef.self)
            for (node, first, count) in ranges {
                guard first <= blockCount, count <= blockCount - first else { throw Invalid(reason: "block range out of bounds") }
                node.blocks = BlockList(mapped: UnsafeBufferPointer(start: base + first, count: count))
            }
            let ns: Namespace
            do {
                ns = try Namespace(restoring: nodes, nextSeq: nextSeq, lastHash: lastHash, lastTime: lastTime, version: identity.version)
            } catch {
                throw Invalid(reason: "its files do not form a tree")
            }
            // The records the index claims to cover must end exactly where it
            // says, with the hash it names.
            let seg = segments[covered - 1]
            guard lastEnd >= UInt64(Format.segmentHeaderSize) + 32 else { throw Invalid(reason: "bad end position") }
            guard lastEnd <= (try seg.file.size()) else {
                throw Ahead(records: nextSeq, segment: seg.name, end: lastEnd)
            }
            let tail = try seg.file.read(count: 32, at: lastEnd - 32)
            guard tail.withUnsafeBytes({ Hash(bytes: $0) }) == lastHash else {
                throw Invalid(reason: "its last record hash is not the segments' record \(nextSeq - 1)")
            }
            return Loaded(namespace: ns, tree: tree, position: Position(segmentCount: covered, lastSegmentEnd: lastEnd),
                          segmentFirstSeqs: firsts, mapping: mapping, authentic: authentic)
        } catch is ByteReader.Short {
            throw Invalid(reason: "truncated")
        }
    }
}

import AuditPlumbing
import Crypto
import Glibc
