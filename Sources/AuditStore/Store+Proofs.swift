/// Proofs from a store (RFC 9162): tree roots at any size, inclusion and
/// consistency proofs, and the stored frame of any record — computed from
/// the tree cache (`LogTree`), in O(log n) reads.
extension Store {
    /// The root of the tree over the first `size` records.
    public func root(size: UInt64) throws(StoreError) -> Hash {
        lock.lock(); defer { lock.unlock() }
        return try tree.root(size: size)
    }

    /// RFC 9162 inclusion proof of record `seq` in the tree of `size` records.
    public func inclusionProof(seq: UInt64, size: UInt64) throws(StoreError) -> [Hash] {
        lock.lock(); defer { lock.unlock() }
        return try tree.inclusionProof(seq: seq, size: size)
    }

    /// RFC 9162 consistency proof from the tree of `old` records to `new`.
    public func consistencyProof(old: UInt64, new: UInt64) throws(StoreError) -> [Hash] {
        lock.lock(); defer { lock.unlock() }
        return try tree.consistencyProof(old: old, new: new)
    }

    /// The hashes of the perfect subtrees of height `height` (2^height
    /// leaves each) with indices [from, from + count), from the tree cache:
    /// the hashes of a tlog tile (`LogTiles`).
    public func subtreeHashes(height: Int, from: UInt64, count: Int) throws(StoreError) -> [Hash] {
        lock.lock(); defer { lock.unlock() }
        return try tree.subtreeHashes(height: height, from: from, count: count)
    }

    /// The record hashes of records [from, from + count), read in order from
    /// their frames (each checked: the SHA-256 of its header, the leaf the
    /// tree holds for it): the entries of a tlog entry bundle (`LogTiles`).
    public func recordHashes(from: UInt64, count: Int) throws(StoreError) -> [Hash] {
        guard count > 0 else { return [] }
        lock.lock()
        let position: (segment: Int, offset: UInt64)
        do { position = try tree.position(of: from) } catch { lock.unlock(); throw error }
        let files = writer.files
        lock.unlock()
        let leaves = try subtreeHashes(height: 0, from: from, count: count)
        var hashes: [Hash] = []
        hashes.reserveCapacity(count)
        var segment = position.segment
        var offset = position.offset
        do {
            while hashes.count < count {
                guard segment < files.count else { throw StoreError.io("record \(from + UInt64(hashes.count)): no segment \(segment)") }
                var reader = try SegmentReader(file: files[segment], from: offset)
                reader.seek(to: offset)
                scan: while hashes.count < count {
                    switch try reader.next() {
                    case let .frame(f):
                        let hash = Hash.sha256(f.header)
                        let seq = from + UInt64(hashes.count)
                        guard hash == f.storedHash, MerkleTree.leafHash(hash) == leaves[hashes.count] else {
                            throw StoreError.io("record \(seq): its frame's hash is not the tree's leaf (verify the store)")
                        }
                        hashes.append(hash)
                    case .end, .torn:
                        segment += 1
                        offset = UInt64(Format.segmentHeaderSize)
                        break scan
                    }
                }
            }
        } catch {
            throw .wrap(error)
        }
        return hashes
    }

    /// The stored frame of record `seq`: its header bytes, payload and hash,
    /// read from the segment (the hash is recomputed and checked).
    public func record(_ seq: UInt64) throws(StoreError) -> (record: Record, header: [UInt8], payload: [UInt8], hash: Hash) {
        lock.lock()
        let position: (segment: Int, offset: UInt64)
        do { position = try tree.position(of: seq) } catch { lock.unlock(); throw error }
        let files = writer.files
        lock.unlock()
        let (segment, offset) = position
        guard segment < files.count else { throw .io("record \(seq): no segment \(segment)") }
        let file = files[segment]
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
}
