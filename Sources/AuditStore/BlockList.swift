/// Where one appended block's payload lives (FORMAT.md "Index snapshot"): 32 bytes.
public struct BlockRef: Equatable, Sendable {
    /// Offset of the block's first byte in its file.
    public var fileOffset: UInt64
    /// Byte position of the payload inside its segment file.
    public var payloadPosition: UInt64
    public var seq: UInt64
    /// Index of the segment in the store's segment list.
    public var segment: UInt32
    public var length: UInt32

    public init(fileOffset: UInt64, payloadPosition: UInt64, seq: UInt64, segment: UInt32, length: UInt32) {
        self.fileOffset = fileOffset; self.payloadPosition = payloadPosition; self.seq = seq
        self.segment = segment; self.length = length
    }
}

/// A file's blocks in offset order: a read-only run mapped from the index
/// snapshot, followed by the blocks appended since, held in memory.
public struct BlockList: @unchecked Sendable {
    var mapped: UnsafeBufferPointer<BlockRef> = UnsafeBufferPointer(start: nil, count: 0)
    var recent: [BlockRef] = []

    public init() {}

    init(mapped: UnsafeBufferPointer<BlockRef>) { self.mapped = mapped }

    public var count: Int { mapped.count + recent.count }

    public subscript(i: Int) -> BlockRef { i < mapped.count ? mapped[i] : recent[i - mapped.count] }

    public mutating func append(_ block: BlockRef) { recent.append(block) }

    /// Index of the block holding byte `offset`, or nil past the end.
    public func index(containing offset: UInt64) -> Int? {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self[mid].fileOffset <= offset { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let b = self[lo - 1]
        return offset < b.fileOffset + UInt64(b.length) ? lo - 1 : nil
    }
}
