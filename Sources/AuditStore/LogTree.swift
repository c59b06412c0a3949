/// The store's Merkle tree (RFC 9162) over its records, with one owner: the
/// compact range (the roots the tree head is folded from) and, when one is
/// kept, the tree cache (every record's position and every subtree, for
/// proofs). One `append` hashes a record's leaf and every subtree it
/// completes once, and gives them to both. Not thread-safe: the store calls
/// it under its lock; the checker and the history from one thread.
final class LogTree {
    /// Changed under the store's lock only (no runtime access checks: Namespace.nodes says why).
    @exclusivity(unchecked) private(set) var range: CompactRange
    /// The leaf hash of the last record appended.
    @exclusivity(unchecked) private(set) var lastLeaf: Hash = .zero
    /// cache/tree; nil when the store keeps none (a reader, the checker) or
    /// it failed (proofs then say it is unavailable).
    private(set) var cache: TreeCache?
    /// Sees every perfect subtree the tree completes, by level (the checker
    /// compares them with cache/tree).
    @exclusivity(unchecked) var completed: ((_ level: Int, _ root: Hash) -> Void)?

    init(range: CompactRange = CompactRange(), cache: TreeCache? = nil) {
        self.range = range
        self.cache = cache
    }

    var size: UInt64 { range.size }
    var root: Hash { range.root }

    /// Appends the record whose hash is `recordHash` (`leaf`, when the
    /// caller has hashed it already), whose frame starts at `offset` of
    /// segment `segment`. The cache takes it only when it holds every
    /// record before it (at an open it may be behind or ahead: the opener
    /// brings it in line).
    /// `completing`: the roots of the subtrees the leaf completes, smallest
    /// first, as far as the caller has hashed them from the same leaves
    /// (`HashBatch`); the rest are hashed here.
    func append(recordHash: Hash, leaf: Hash? = nil, completing: UnsafeBufferPointer<Hash> = UnsafeBufferPointer(start: nil, count: 0),
                segment: Int, offset: UInt64) {
        let leaf = leaf ?? MerkleTree.leafHash(recordHash)
        lastLeaf = leaf
        let cache = cache.flatMap { $0.leafCount == range.size ? $0 : nil }
        var failed = false
        range.append(leaf: leaf, completing: completing) { level, root in
            if let cache, !failed {
                do { try cache.addSubtree(level: level, root: root) } catch { failed = true }
            }
            completed?(level, root)
        }
        if let cache, !failed {
            do { try cache.appendLeaf(leaf, segment: segment, offset: offset) } catch { failed = true }
        }
        if failed { dropCache() }
    }

    /// Keeps `cache` from now on (nil: none).
    func keep(_ cache: TreeCache?) { self.cache = cache }

    /// Stops keeping the tree cache after a failure.
    func dropCache() { cache = nil }

    /// Writes what the cache holds pending (a failure is tried again at the next flush).
    func flush() { cache?.flushQuietly() }

    /// Whether the cache has enough pending to be written outside the lock (`takeFlush`).
    var flushDue: Bool { cache?.flushDue ?? false }

    /// The cache's pending values, taken for a write outside the store's lock.
    func takeFlush() -> TreeCache.Flush? { cache?.takeFlush() }

    // MARK: Proofs (from the cache)

    /// The tree cache, or the one-line error that it is unavailable.
    private func provingCache() throws(StoreError) -> TreeCache {
        guard let cache else {
            throw .io("the tree cache (cache/tree) is unavailable; delete it and open the store again to rebuild it")
        }
        return cache
    }

    private func covering(_ size: UInt64) throws(StoreError) -> TreeCache {
        let cache = try provingCache()
        guard size <= cache.leafCount else { throw .io("the store has fewer than \(size) records") }
        return cache
    }

    /// The root of the tree over the first `size` records.
    func root(size: UInt64) throws(StoreError) -> Hash {
        let cache = try covering(size)
        do { return try cache.root(size: size) } catch { throw .wrap(error) }
    }

    /// RFC 9162 inclusion proof of record `seq` in the tree of `size` records.
    func inclusionProof(seq: UInt64, size: UInt64) throws(StoreError) -> [Hash] {
        let cache = try covering(size)
        do { return try MerkleProof.inclusion(index: seq, size: size, subtree: cache.subtree) } catch { throw .wrap(error) }
    }

    /// RFC 9162 consistency proof from the tree of `old` records to `new`.
    func consistencyProof(old: UInt64, new: UInt64) throws(StoreError) -> [Hash] {
        let cache = try covering(new)
        do { return try MerkleProof.consistency(old: old, new: new, subtree: cache.subtree) } catch { throw .wrap(error) }
    }

    /// The hashes of the perfect subtrees of height `height` with indices
    /// [from, from + count): MTH of leaves [i·2^height, (i+1)·2^height) each.
    func subtreeHashes(height: Int, from: UInt64, count: Int) throws(StoreError) -> [Hash] {
        let cache = try provingCache()
        guard height < 64, (from + UInt64(count)) << UInt64(height) <= cache.leafCount else {
            throw .io("the store has fewer than \((from + UInt64(count)) << UInt64(height)) records")
        }
        do { return try (0..<UInt64(count)).map { try cache.hash(level: height, index: from + $0) } } catch { throw .wrap(error) }
    }

    /// Where record `seq`'s frame starts.
    func position(of seq: UInt64) throws(StoreError) -> (segment: Int, offset: UInt64) {
        let cache = try provingCache()
        guard seq < cache.leafCount else { throw .io("no record \(seq)") }
        do { return try cache.position(of: seq) } catch { throw .wrap(error) }
    }
}
