import Glibc

/// Where a reader of the segments stopped: just after the frame of record
/// `nextSeq - 1`, whose record hash is `lastHash`. Derived caches (the query
/// index) keep one, and trust it only after `RecordFollower` has checked that
/// the store still has that record hash just before that offset.
public struct StorePosition: Codable, Sendable, Equatable {
    public var segment: String
    public var offset: UInt64
    public var nextSeq: UInt64
    public var lastHash: String

    public init(segment: String, offset: UInt64, nextSeq: UInt64, lastHash: Hash) {
        self.segment = segment; self.offset = offset; self.nextSeq = nextSeq; self.lastHash = lastHash.hex
    }
}

/// Reads the records of a store after a position, as they are appended, with
/// no lock: a reader beside the daemon. Each frame is checked (frame check,
/// record hash = SHA-256(header), sequence, store chain, segment continuity);
/// a frame not yet complete (the writer is mid-append) ends a poll and is read
/// by the next. The namespace is not replayed: a reader that needs paths
/// tracks the create records it sees (their header names the path).
public final class RecordFollower {
    /// A record, its payload (valid during the callback) and where its payload is.
    public struct Item {
        public let record: Record
        public let hash: Hash
        public let payload: UnsafeRawBufferPointer
        /// Index into `segmentNames`, and the payload's byte offset in that segment.
        public let segment: Int
        public let payloadPosition: UInt64
    }

    /// Why a saved position cannot be resumed: the cache that kept it is stale
    /// and must be rebuilt from the start.
    public struct PositionMismatch: Error, CustomStringConvertible {
        public let description: String
    }

    public let storePath: String
    public let directory: StoreDirectory
    public let identity: StoreIdentity
    public private(set) var position: StorePosition
    /// The segments read so far, in order; `Item.segment` indexes this.
    public private(set) var segmentNames: [String]
    private var file: RawFile
    private var lastHash: Hash

    /// From the start of the store (`from` nil) or from a saved position,
    /// which is checked against the segment first.
    public init(store path: String, from saved: StorePosition? = nil, knownSegments: [String] = []) throws {
        storePath = path
        directory = StoreDirectory(path)
        identity = try directory.readIdentity()
        if let saved {
            guard let hash = Hash(hex: saved.lastHash), FileSystem.exists(directory.segmentPath(saved.segment)) else {
                throw PositionMismatch(description: "segment \(saved.segment) is gone")
            }
            file = try directory.openSegment(saved.segment)
            let size = try file.size()
            if saved.nextSeq > 0 {
                guard saved.offset >= 32 + UInt64(Format.segmentHeaderSize), saved.offset <= size else {
                    throw PositionMismatch(description: "segment \(saved.segment) is shorter than \(saved.offset) bytes")
                }
                let stored = try file.read(count: 32, at: saved.offset - 32)
                guard stored == hash.bytes else {
                    throw PositionMismatch(description: "segment \(saved.segment) does not hold record \(saved.nextSeq - 1)'s hash at \(saved.offset - 32)")
                }
            }
            position = saved
            lastHash = hash
            segmentNames = knownSegments.last == saved.segment ? knownSegments : [saved.segment]
        } else {
            let first = SegmentHeader.fileName(firstSeq: 0)
            file = try directory.openSegment(first)
            let header = try Self.header(of: file)
            guard header.storeID == identity.id, header.firstSeq == 0 else {
                throw StoreError.damaged(Finding(segment: first, offset: 16, seq: nil, check: .segmentStoreID,
                                                 expected: identity.idHex, found: StoreIdentity(id: header.storeID).idHex))
            }
            position = StorePosition(segment: first, offset: UInt64(Format.segmentHeaderSize), nextSeq: 0, lastHash: .zero)
            lastHash = .zero
            segmentNames = [first]
        }
    }

    private static func header(of file: RawFile) throws -> SegmentHeader {
        let bytes = try file.read(count: Format.segmentHeaderSize, at: 0)
        return try bytes.withUnsafeBytes { try SegmentHeader.decode($0) }
    }

    /// Delivers every complete record after the position, in order, and
    /// moves the position past them. Damage throws `StoreError.damaged`
    /// after the records before it were delivered.
    public func poll(_ body: (Item) throws -> Void) throws {
        while true {
            var reader = try SegmentReader(file: file, from: position.offset)
            var torn = false
            loop: while true {
                let step: SegmentReader.Step
                do { step = try reader.next() } catch let d as SegmentReader.Damage {
                    throw StoreError.damaged(Finding(segment: position.segment, offset: d.offset, seq: position.nextSeq,
                                                     check: d.check, expected: d.expected, found: d.found))
                }
                switch step {
                case .end: break loop
                case .torn: torn = true; break loop
                case let .frame(frame):
                    let hash = Hash.sha256(frame.header)
                    func damage(_ check: CheckName, _ expected: String, _ found: String) -> StoreError {
                        .damaged(Finding(segment: position.segment, offset: frame.offset, seq: position.nextSeq, check: check,
                                         expected: expected, found: found))
                    }
                    guard hash == frame.storedHash else { throw damage(.recordHash, hash.hex, frame.storedHash.hex) }
                    let record: Record
                    do { record = try Record.decodeHeader(frame.header) } catch {
                        throw damage(.headerParse, "a valid header", "\(error)")
                    }
                    guard record.seq == position.nextSeq else { throw damage(.sequence, "\(position.nextSeq)", "\(record.seq)") }
                    guard record.prevStoreHash == lastHash else { throw damage(.storeChain, lastHash.hex, record.prevStoreHash.hex) }
                    try body(Item(record: record, hash: hash, payload: frame.payload, segment: segmentNames.count - 1,
                                  payloadPosition: frame.payloadPosition))
                    lastHash = hash
                    position.offset = frame.end
                    position.nextSeq += 1
                    position.lastHash = hash.hex
                }
            }
            // The segment ends here (for now): a next segment starts at nextSeq.
            let next = SegmentHeader.fileName(firstSeq: position.nextSeq)
            guard !torn, next != position.segment, FileSystem.exists(directory.segmentPath(next)) else { return }
            let f = try directory.openSegment(next)
            guard try f.size() >= UInt64(Format.segmentHeaderSize) else { return }   // being started
            let header = try Self.header(of: f)
            guard header.storeID == identity.id, header.prevStoreHash == lastHash else {
                throw StoreError.damaged(Finding(segment: next, offset: 40, seq: position.nextSeq, check: .segmentPrevHash,
                                                 expected: lastHash.hex, found: header.prevStoreHash.hex))
            }
            file = f
            segmentNames.append(next)
            position = StorePosition(segment: next, offset: UInt64(Format.segmentHeaderSize), nextSeq: position.nextSeq,
                                     lastHash: lastHash)
        }
    }

    /// Opens segment `name` of the store for reading payloads.
    public func openSegment(_ name: String) throws -> RawFile { try directory.openSegment(name) }
}
