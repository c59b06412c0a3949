import AuditPlumbing

/// The 104-byte header that opens every segment file (FORMAT.md "Segment header").
public struct SegmentHeader: Equatable, Sendable {
    public var storeID: [UInt8]      // 16 bytes
    public var firstSeq: UInt64
    /// Hash of the last record of the previous segment (the global chain
    /// crosses segment boundaries); zero for the first segment.
    public var prevStoreHash: Hash
    /// The store's format version (its identity file's).
    public var version: UInt32

    public init(storeID: [UInt8], firstSeq: UInt64, prevStoreHash: Hash, version: UInt32 = Format.version) {
        precondition(storeID.count == 16)
        self.storeID = storeID; self.firstSeq = firstSeq; self.prevStoreHash = prevStoreHash; self.version = version
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Format.segmentHeaderSize)
        w.raw(Format.segmentMagic)
        w.u32(version)
        w.u32(0)
        w.raw(storeID)
        w.u64(firstSeq)
        w.hash(prevStoreHash)
        w.hash(Hash.sha256(w.bytes))
        assert(w.bytes.count == Format.segmentHeaderSize)
        return w.bytes
    }

    public enum DecodeError: Error, Equatable {
        case short
        case badMagic
        case unsupportedVersion(UInt32)
        case nonzeroReserved
        case badCheck(expected: Hash, found: Hash)
    }

    public static func decode(_ buf: UnsafeRawBufferPointer) throws(DecodeError) -> SegmentHeader {
        guard buf.count >= Format.segmentHeaderSize else { throw .short }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: buf[0..<Format.segmentHeaderSize]))
        guard Array(try! r.bytes(8)) == Format.segmentMagic else { throw .badMagic }
        let version = try! r.u32()
        guard Format.readableVersions.contains(version) else { throw .unsupportedVersion(version) }
        guard try! r.u32() == 0 else { throw .nonzeroReserved }
        let id = Array(try! r.bytes(16))
        let first = try! r.u64()
        let prev = try! r.hash()
        let check = try! r.hash()
        let expected = Hash.sha256(UnsafeRawBufferPointer(rebasing: buf[0..<Format.segmentHeaderSize - 32]))
        guard check == expected else { throw .badCheck(expected: expected, found: check) }
        return SegmentHeader(storeID: id, firstSeq: first, prevStoreHash: prev, version: version)
    }

    public static func fileName(firstSeq: UInt64) -> String {
        String(firstSeq).leftPadded(20) + Format.segmentSuffix
    }
}
