/// The store's derived caches that it keeps itself: the index snapshot
/// (cache/index, written at close when enough was appended since the last
/// one) and the cache key the caches are MACed under (FORMAT.md "Cache key").
/// The tree cache is the `LogTree`'s.
extension Store {
    /// Writes cache/index when at least 100,000 records or a tenth of the
    /// store were appended since the last one. Caller holds `lock`.
    func refreshIndexLocked() {
        let total = namespace.nextSeq
        let since = total - indexedRecords
        if since > 0 && (since >= 100_000 || since * 10 >= total) { try? writeIndexLocked() }
    }

    /// Writes cache/index for the current state. Caller holds `lock`.
    private func writeIndexLocked() throws {
        guard let last = writer.segments.last, let cacheKey else { return }
        try IndexSnapshot.write(namespace, tree: tree.range, identity: identity, segmentFirstSeqs: writer.segments.map(\.firstSeq),
                                position: .init(segmentCount: writer.segments.count, lastSegmentEnd: last.end), store: directory,
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
}
