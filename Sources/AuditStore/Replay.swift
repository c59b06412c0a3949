import Foundation

/// Reads a store's segments front to back, checks every frame, record and
/// rule, and applies the records to a `Namespace` and a `LogTree`. The store
/// replays to open; the checker replays (with payload digests) to verify.
struct Replay {
    enum Outcome: Equatable {
        case intact
        /// The last segment ends inside a frame.
        case torn(segment: Int, offset: UInt64, reason: String)
        case damaged(Finding)
    }

    struct Segment {
        let name: String
        let file: RawFile
        var header: SegmentHeader?
    }

    let identity: StoreIdentity
    let namespace: Namespace
    let tree: LogTree
    /// Recompute each payload's SHA-256 against the digest in its header.
    let checkPayloads: Bool
    private(set) var records: UInt64 = 0
    private(set) var payloadBytes: UInt64 = 0
    private(set) var segmentBytes: UInt64 = 0
    /// Where the last good frame of the last segment ends.
    private(set) var validEnd: UInt64 = 0

    init(identity: StoreIdentity, namespace: Namespace, tree: LogTree, checkPayloads: Bool) {
        self.identity = identity; self.namespace = namespace; self.tree = tree; self.checkPayloads = checkPayloads
    }

    /// Replays `segments` in order. `onRecord` sees each applied record.
    mutating func run(_ segments: inout [Segment], resume: IndexSnapshot.Position? = nil,
                      willApply: (Record) -> Void = { _ in },
                      onRecord: (Record, Hash, SegmentReader.Frame, Int) -> Void = { _, _, _, _ in }) -> Outcome {
        if segments.isEmpty {
            return .damaged(Finding(segment: Format.segmentsDirectory, offset: 0, seq: nil, check: .segments, expected: "at least one segment", found: "none"))
        }
        for index in segments.indices {
            let isLast = index == segments.count - 1
            let name = segments[index].name
            func finding(_ offset: UInt64, _ seq: UInt64?, _ check: CheckName, _ expected: String, _ found: String) -> Outcome {
                .damaged(Finding(segment: name, offset: offset, seq: seq, check: check, expected: expected, found: found))
            }
            var reader: SegmentReader
            do {
                reader = try SegmentReader(file: segments[index].file, from: 0)
            } catch {
                return finding(0, nil, .read, "a readable segment", "\(error)")
            }
            segmentBytes += reader.fileSize
            let header: SegmentHeader
            do {
                header = try reader.readHeader()
            } catch let e as SegmentHeader.DecodeError {
                switch e {
                case .short:
                    if isLast && index > 0 && reader.fileSize < UInt64(Format.segmentHeaderSize) {
                        // A crash while starting a new segment.
                        validEnd = 0
                        return .torn(segment: index, offset: 0, reason: "segment header of \(reader.fileSize) bytes")
                    }
                    return finding(0, nil, .segmentHeader, "\(Format.segmentHeaderSize) bytes", "\(reader.fileSize) bytes")
                case .badMagic: return finding(0, nil, .segmentMagic, "AUDITSEG", "other bytes")
                case let .unsupportedVersion(v): return finding(8, nil, .segmentVersion, "\(identity.version)", "\(v)")
                case .nonzeroReserved: return finding(12, nil, .segmentReserved, "0", "non-zero")
                case let .badCheck(expected, found): return finding(72, nil, .segmentHeaderCheck, expected.hex, found.hex)
                }
            } catch {
                return finding(0, nil, .read, "a readable segment", "\(error)")
            }
            segments[index].header = header
            guard header.version == identity.version else {
                return finding(8, nil, .segmentVersion, "\(identity.version)", "\(header.version)")
            }
            guard header.storeID == identity.id else {
                return finding(16, nil, .segmentStoreID, identity.idHex, StoreIdentity(id: header.storeID).idHex)
            }
            // Segments an index snapshot covers: only their headers are checked here.
            let covered = resume.map { index < $0.segmentCount } ?? false
            if covered {
                if index < resume!.segmentCount - 1 { continue }
                reader.seek(to: resume!.lastSegmentEnd)
            }
            guard covered || header.firstSeq == namespace.nextSeq else {
                return finding(32, nil, .segmentFirstSeq, "\(namespace.nextSeq)", "\(header.firstSeq)")
            }
            guard name == SegmentHeader.fileName(firstSeq: header.firstSeq) else {
                return finding(32, nil, .segmentName, SegmentHeader.fileName(firstSeq: header.firstSeq), name)
            }
            guard covered || header.prevStoreHash == namespace.lastHash else {
                return finding(40, nil, .segmentPrevHash, namespace.lastHash.hex, header.prevStoreHash.hex)
            }
            var framesInSegment = covered ? 1 : 0
            var batch: [SegmentReader.Step] = []
            var hashes = HashBatch()
            segmentLoop: while true {
                do {
                    try reader.nextBatch(&batch)
                } catch let d as SegmentReader.Damage {
                    return finding(d.offset, namespace.nextSeq, d.check, d.expected, d.found)
                } catch {
                    return finding(reader.position, namespace.nextSeq, .read, "readable bytes", "\(error)")
                }
                hashes.compute(batch, payloads: checkPayloads, firstLeaf: tree.size)
                for (i, step) in batch.enumerated() {
                    switch step {
                    case .end:
                        if isLast { validEnd = reader.position }
                        if framesInSegment == 0 && !isLast {
                            return finding(reader.position, nil, .segmentEmpty, "at least one record", "none")
                        }
                        break segmentLoop
                    case let .torn(offset, reason):
                        guard isLast else { return finding(offset, namespace.nextSeq, .segmentTruncated, "a complete frame", reason) }
                        validEnd = offset
                        return .torn(segment: index, offset: offset, reason: reason)
                    case let .frame(frame):
                        let seq = namespace.nextSeq
                        let hash = hashes.header[i]
                        guard hash == frame.storedHash else {
                            return finding(frame.offset, seq, .recordHash, hash.hex, frame.storedHash.hex)
                        }
                        let record: Record
                        do {
                            record = try Record.decodeHeader(frame.header)
                        } catch {
                            return finding(frame.offset, seq, .headerParse, "a valid header", "\(error)")
                        }
                        guard record.payloadLength == UInt64(frame.prefix.payloadLength) else {
                            return finding(frame.offset, seq, .payloadLength, "\(record.payloadLength)", "\(frame.prefix.payloadLength)")
                        }
                        if checkPayloads {
                            let digest = hashes.payload[i]
                            guard digest == record.payloadDigest else {
                                return finding(frame.offset, seq, .payloadDigest, record.payloadDigest.hex, digest.hex)
                            }
                        }
                        var block: BlockRef?
                        if case let .append(offset) = record.body {
                            block = BlockRef(fileOffset: offset, payloadPosition: frame.payloadPosition, seq: record.seq,
                                             segment: UInt32(index), length: UInt32(record.payloadLength))
                        }
                        willApply(record)
                        do {
                            try namespace.apply(record, hash: hash, block: block)
                        } catch {
                            return finding(frame.offset, seq, error.check, error.expected, error.found)
                        }
                        tree.append(recordHash: hash, leaf: hashes.leaf[i], completing: hashes.completedNodes(i),
                                    segment: index, offset: frame.offset)
                        onRecord(record, hash, frame, index)
                        records += 1
                        payloadBytes += record.payloadLength
                        framesInSegment += 1
                    }
                }
            }
        }
        return .intact
    }
}

/// The SHA-256 of every header (and payload) in a batch of frames, and the
/// Merkle tree nodes the batch's leaves complete among themselves, computed
/// on all cores: hashing is most of a check's work, and frames hash
/// independently; everything that depends on order stays on one thread.
///
/// Each worker takes a contiguous run of the batch and builds the perfect
/// subtrees that lie whole inside its run, exactly as `CompactRange.append`
/// would from the same leaves; the replay hands them to the tree, which
/// hashes only the nodes that reach outside a run. Every value here is used
/// only if the frame's computed hash proves to be its stored hash.
struct HashBatch {
    private(set) var header: [Hash] = []
    private(set) var leaf: [Hash] = []
    private(set) var payload: [Hash] = []
    /// The subtree roots frame i's leaf completes inside its worker's run,
    /// smallest first: `nodes[nodeRange[i]]`.
    private var nodes: [Hash] = []
    private var nodeStart: [Int32] = []
    private var nodeCount: [Int32] = []

    /// The nodes frame `i`'s leaf completes inside its run, smallest first.
    func completedNodes(_ i: Int) -> ArraySlice<Hash> {
        let start = Int(nodeStart[i])
        return nodes[start..<start + Int(nodeCount[i])]
    }

    /// `firstLeaf`: the tree's size before the batch's first frame.
    /// `workers`: how many runs (default: one a core for a batch of 256 KiB or more).
    mutating func compute(_ steps: [SegmentReader.Step], payloads: Bool, firstLeaf: UInt64, workers: Int? = nil) {
        let n = steps.count
        header = [Hash](repeating: .zero, count: n)
        leaf = [Hash](repeating: .zero, count: n)
        payload = [Hash](repeating: .zero, count: payloads ? n : 0)
        nodes = [Hash](repeating: .zero, count: n)
        nodeStart = [Int32](repeating: 0, count: n)
        nodeCount = [Int32](repeating: 0, count: n)
        let bytes = steps.reduce(0) { if case let .frame(f) = $1 { $0 + f.prefix.frameLength } else { $0 } }
        let workers = max(1, workers ?? (bytes >= 256 << 10 && n > 1 ? min(ProcessInfo.processInfo.activeProcessorCount, 8) : 1))
        header.withUnsafeMutableBufferPointer { h in
          leaf.withUnsafeMutableBufferPointer { l in
            payload.withUnsafeMutableBufferPointer { p in
              nodes.withUnsafeMutableBufferPointer { nd in
                nodeStart.withUnsafeMutableBufferPointer { ns in
                  nodeCount.withUnsafeMutableBufferPointer { nc in
                    let out = Outputs(header: h, leaf: l, payload: p, nodes: nd, nodeStart: ns, nodeCount: nc)
                    let frames = Frames(steps: steps)
                    let work: @Sendable (Int) -> Void = { w in
                        let run = n * w / workers..<n * (w + 1) / workers
                        // The run's compact range: (level, root) of each perfect subtree, the largest first.
                        var stack: [(level: Int, root: Hash)] = []
                        stack.reserveCapacity(64)
                        var slot = run.lowerBound
                        for i in run {
                            guard case let .frame(f) = frames.steps[i] else { break }
                            let h = Hash.sha256(f.header)
                            out.header[i] = h
                            var root = MerkleTree.leafHash(h)
                            out.leaf[i] = root
                            if payloads { out.payload[i] = Hash.sha256(f.payload) }
                            let x = firstLeaf + UInt64(i)
                            var level = 0
                            out.nodeStart[i] = Int32(slot)
                            // Leaf x completes the subtree of 2^(level+1) leaves ending at it while it is a
                            // right child at `level` and the left sibling lies in this run (the top of the stack).
                            while level < 63, (x >> UInt64(level)) & 1 == 1, let top = stack.last, top.level == level {
                                stack.removeLast()
                                root = MerkleTree.nodeHash(top.root, root)
                                level += 1
                                out.nodes[slot] = root
                                slot += 1
                            }
                            out.nodeCount[i] = Int32(slot) - out.nodeStart[i]
                            stack.append((level, root))
                        }
                    }
                    if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
                  }
                }
              }
            }
          }
        }
    }

    /// Disjoint slots written by the workers (each index by one worker).
    private struct Outputs: @unchecked Sendable {
        let header: UnsafeMutableBufferPointer<Hash>
        let leaf: UnsafeMutableBufferPointer<Hash>
        let payload: UnsafeMutableBufferPointer<Hash>
        let nodes: UnsafeMutableBufferPointer<Hash>
        let nodeStart: UnsafeMutableBufferPointer<Int32>
        let nodeCount: UnsafeMutableBufferPointer<Int32>
    }

    /// The frames' buffer views, read by all workers while no one writes them.
    private struct Frames: @unchecked Sendable {
        let steps: [SegmentReader.Step]
    }
}
