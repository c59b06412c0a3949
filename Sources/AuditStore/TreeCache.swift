/// Derived per-record data in cache/tree/ (FORMAT.md "Tree cache"), rebuilt
/// when missing:
///
/// - `positions`: for record seq, where its frame starts: segment index << 40 | byte offset;
/// - `level-NN`: level 0 holds the leaf hashes, level L the roots of the
///   aligned subtrees of 2^L leaves.
///
/// With it, any record is found, and any subtree hash — so any inclusion or
/// consistency proof — computed, in O(log n) reads. Not thread-safe: the
/// store calls it under its lock.
final class TreeCache {
    let directory: String
    private(set) var writable: Bool
    /// Under the store's lock only (no runtime access checks: Namespace.nodes says why).
    @exclusivity(unchecked) private var positions: CachedArray<UInt64>
    @exclusivity(unchecked) private var levels: [CachedArray<Hash>] = []

    var leafCount: UInt64 { min(positions.count, levels[0].count) }

    /// Opens the cache in `directory` read-only, cut back to at most
    /// `records` records (see `makeWritable`).
    init(directory: String, records: UInt64) throws {
        self.directory = directory
        self.writable = false
        positions = try CachedArray(path: directory + "/positions", writable: false)
        var level = 0
        while FileSystem.exists(Self.path(directory, level)) {
            levels.append(try CachedArray(path: Self.path(directory, level), writable: false))
            level += 1
        }
        if levels.isEmpty { levels.append(try CachedArray(path: Self.path(directory, 0), writable: false)) }
        // The files agree only up to the smallest leaf count they all imply.
        var leaves = min(positions.count, records)
        for (l, lv) in levels.enumerated() {
            let shift = UInt64(l)
            let most: UInt64 = (lv.count << shift) | ((1 << shift) - 1)
            leaves = min(leaves, most)
        }
        if levels.count < 64 { leaves = min(leaves, (1 << UInt64(levels.count)) - 1) }
        cut(to: leaves)
    }

    /// Forgets records from `n` on (in memory; the files follow at the next flush).
    func cut(to n: UInt64) {
        guard n < leafCount || positions.count != levels[0].count else { return }
        let n = min(n, leafCount)
        positions.cut(to: n)
        for (l, lv) in levels.enumerated() { lv.cut(to: n >> UInt64(l)) }
    }

    /// Starts writing the files: creates them as needed, drops what they hold
    /// beyond the cache's records, and writes what is pending. A store opens
    /// its cache read-only and calls this only once the open succeeded, so a
    /// refused open changes no byte.
    func makeWritable() throws {
        if !FileSystem.exists(directory) {
            let parent = StorePath.parent(of: directory)
            if !FileSystem.exists(parent) { try FileSystem.makeDirectory(parent) }
            try FileSystem.makeDirectory(directory)
        }
        try positions.makeWritable()
        for lv in levels { try lv.makeWritable() }
        writable = true
        try flush()
    }

    static func path(_ directory: String, _ level: Int) -> String {
        directory + "/level-" + String(level).leftPadded(2)
    }

    /// Where record `seq`'s frame starts.
    func position(of seq: UInt64) throws -> (segment: Int, offset: UInt64) {
        let p = try positions.element(seq)
        return (Int(p >> 40), p & ((1 << 40) - 1))
    }

    func hash(level: Int, index: UInt64) throws -> Hash { try levels[level].element(index) }

    /// Adds the next record: where its frame is, its leaf hash, and every
    /// subtree it completes.
    func append(leaf: Hash, segment: Int, offset: UInt64) throws {
        positions.append(UInt64(segment) << 40 | offset)
        var h = leaf
        var level = 0
        while true {
            if level == levels.count {
                let lv = try CachedArray<Hash>(path: Self.path(directory, level), writable: false, empty: true)
                if writable { try lv.makeWritable() }
                levels.append(lv)
            }
            let lv = levels[level]
            lv.append(h)
            guard lv.count % 2 == 0 else { break }
            h = MerkleTree.nodeHash(try lv.element(lv.count - 2), h)
            level += 1
        }
        // A flush that fails (a full disk) is tried again at the next one:
        // the values stay pending, and the cache is derived.
        if writable && positions.pendingCount >= 4096 { flushQuietly() }
    }

    /// Adds the next record's position and leaf only; its completed subtrees
    /// come through `addSubtree` from the tree that already hashed them.
    /// The store writes what is pending outside its lock once `flushDue`
    /// (`takeFlush`); only if that never happens (records that are not
    /// appends, and no sync) does the cache flush here, under the lock, at
    /// 16 times the usual count, to bound its memory.
    func appendLeaf(_ leaf: Hash, segment: Int, offset: UInt64) throws {
        positions.append(UInt64(segment) << 40 | offset)
        levels[0].append(leaf)
        if writable && positions.pendingCount >= 16 * Self.flushCount { flushQuietly() }
    }

    /// Values pending after which a flush is due (`flushDue`).
    static let flushCount = 4096

    /// Whether enough is pending to be written (outside the lock, `takeFlush`).
    var flushDue: Bool { writable && positions.pendingCount >= Self.flushCount }

    /// What is pending in every file, taken for writing outside the store's
    /// lock: `write` (no lock) then `finish` (under the lock). Until then
    /// the values stay readable (`hash`, `position`); a failed write puts
    /// them back as pending, to be tried again (the cache is derived). nil:
    /// nothing pending, or a flush already out. Caller holds the store's lock.
    func takeFlush() -> Flush? {
        guard writable else { return nil }
        let parts = ([positions.take()] + levels.map { $0.take() }).compactMap { $0 }
        return parts.isEmpty ? nil : Flush(parts: parts)
    }

    struct Flush {
        let parts: [CachedArrayWrite]
        /// Writes every part (no lock held); returns which succeeded.
        func write() -> [Bool] { parts.map { $0.write() } }
        /// Caller holds the store's lock.
        func finish(_ written: [Bool]) { for (part, ok) in zip(parts, written) { part.finish(ok) } }
    }

    /// A perfect subtree of 2^level leaves, completed by the last leaf.
    func addSubtree(level: Int, root: Hash) throws {
        if level == levels.count {
            let lv = try CachedArray<Hash>(path: Self.path(directory, level), writable: false, empty: true)
            if writable { try lv.makeWritable() }
            levels.append(lv)
        }
        levels[level].append(root)
    }

    /// Writes what is pending to the files (no fsync: the cache is derived).
    func flush() throws {
        guard writable else { return }
        try positions.flush()
        for lv in levels { try lv.flush() }
    }

    func flushQuietly() { try? flush() }

    /// MTH(D[start:end]) for end <= leafCount, from O(log n) stored hashes.
    func subtree(_ start: UInt64, _ end: UInt64) throws -> Hash {
        precondition(start < end && end <= leafCount)
        let n = end - start
        if n & (n - 1) == 0 && start % n == 0 {
            return try hash(level: n.trailingZeroBitCount, index: start / n)
        }
        let k = MerkleProof.split(n)
        return MerkleTree.nodeHash(try subtree(start, start + k), try subtree(start + k, end))
    }

    /// Whether the stored roots of the perfect subtrees that make up
    /// `range` (the tree the records replay to) are its hashes: O(log n)
    /// reads, made at every open. `verify` compares every stored hash.
    func agrees(with range: CompactRange) -> Bool {
        guard leafCount == range.size else { return false }
        var i = 0
        for level in stride(from: 63, through: 0, by: -1) where range.size >> UInt64(level) & 1 == 1 {
            guard i < range.hashes.count, level < levels.count,
                  (try? hash(level: level, index: (range.size >> UInt64(level)) - 1)) == range.hashes[i] else { return false }
            i += 1
        }
        return i == range.hashes.count
    }

    func root(size: UInt64) throws -> Hash { size == 0 ? MerkleTree.emptyRoot : try subtree(0, size) }

    /// Fills in records [leafCount, end) by reading their frames from the
    /// segments (after the cache was deleted or fell behind).
    func fill(from segments: [RawFile], upTo end: UInt64) throws {
        var seq: UInt64 = 0
        for (index, file) in segments.enumerated() where leafCount < end {
            var reader = try SegmentReader(file: file, from: 0)
            let header = try reader.readHeader()
            seq = header.firstSeq
            while leafCount < end, case let .frame(f) = try reader.next() {
                if seq == leafCount {
                    try append(leaf: MerkleTree.leafHash(Hash.sha256(f.header)), segment: index, offset: f.offset)
                }
                seq += 1
            }
        }
    }
}

/// One `CachedArray`'s pending values on their way to its file outside the
/// store's lock (`TreeCache.takeFlush`).
struct CachedArrayWrite {
    let write: () -> Bool
    let finish: (Bool) -> Void
}

/// An array of fixed-size values kept in a file, appended at the end, with
/// the newest values held in memory until `flush()` (or a `take()` written
/// outside the store's lock).
final class CachedArray<Element: BitwiseCopyable> {
    private(set) var file: RawFile?
    let path: String
    /// Values [0, flushed) are in the file; then `writing`, then `pending`.
    @exclusivity(unchecked) private(set) var flushed: UInt64
    @exclusivity(unchecked) private var pending: [Element] = []
    /// Values taken by `take()`, being written at `flushed` outside the lock.
    @exclusivity(unchecked) private var writing: [Element] = []
    private var writable = false
    static var stride: UInt64 { UInt64(MemoryLayout<Element>.stride) }

    var count: UInt64 { flushed + UInt64(writing.count) + UInt64(pending.count) }
    var pendingCount: Int { pending.count }

    /// Opens the file read-only (or none, when `empty` or missing).
    init(path: String, writable: Bool, empty: Bool = false) throws {
        self.path = path
        file = !empty && FileSystem.exists(path) ? try RawFile.open(path, flags: O_RDONLY) : nil
        flushed = (try file?.size() ?? 0) / Self.stride
        if writable { try makeWritable() }
    }

    func append(_ e: Element) { pending.append(e) }

    func element(_ i: UInt64) throws -> Element {
        if i >= flushed {
            let j = Int(i - flushed)
            return j < writing.count ? writing[j] : pending[j - writing.count]
        }
        let bytes = try file!.read(count: Int(Self.stride), at: i * Self.stride)
        guard bytes.count == Int(Self.stride) else { throw SystemError(call: "read", path: path, errno: EIO) }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: Element.self) }
    }

    /// Keeps the first `n` elements (in memory; the file follows on flush).
    /// Only at an open, before any write is taken.
    func cut(to n: UInt64) {
        precondition(writing.isEmpty)
        if n < flushed {
            pending.removeAll()
            flushed = n
        } else if n < count {
            pending.removeLast(Int(count - n))
        }
    }

    func makeWritable() throws {
        guard !writable else { return }
        let f = try RawFile.open(path, flags: O_RDWR | O_CREAT, mode: 0o600)
        if try f.size() != flushed * Self.stride { try f.truncate(to: flushed * Self.stride) }
        file = f
        writable = true
    }

    /// Writes what is pending, under the store's lock. With a `take()`
    /// still out, nothing is written now (the next flush writes it).
    func flush() throws {
        guard writable, let file, !pending.isEmpty, writing.isEmpty else { return }
        try pending.withUnsafeBytes { try file.write([$0], at: flushed * Self.stride) }
        flushed += UInt64(pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    /// Takes what is pending for a write outside the store's lock (see
    /// `TreeCache.takeFlush`); nil when nothing is pending or a take is out.
    func take() -> CachedArrayWrite? {
        guard writable, let file, !pending.isEmpty, writing.isEmpty else { return nil }
        writing = pending
        pending = []
        pending.reserveCapacity(writing.count)
        let values = writing, offset = flushed * Self.stride
        return CachedArrayWrite(
            write: { (try? values.withUnsafeBytes { try file.write([$0], at: offset) }) != nil },
            finish: { [self] ok in
                if ok { flushed += UInt64(writing.count) } else { pending = writing + pending }
                writing = []
            })
    }
}

import AuditPlumbing
import Glibc
