import Foundation
import Synchronization

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
    /// How many threads hash (nil: one a core for a large batch; the tests set it).
    var workers: Int?
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
        var batch: [SegmentReader.Frame] = []
        let hashes = HashBatch()
        var lastNode: Namespace.Node?
        // The command bytes of the record before (one array for a run of records by one writer).
        var command: [UInt8] = []
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
            segmentLoop: while true {
                let last: SegmentReader.Step?
                do {
                    last = try reader.nextFrames(&batch)
                } catch let d as SegmentReader.Damage {
                    return finding(d.offset, namespace.nextSeq, d.check, d.expected, d.found)
                } catch {
                    return finding(reader.position, namespace.nextSeq, .read, "readable bytes", "\(error)")
                }
                switch last {
                case nil, .frame?: break
                case .end?:
                    if isLast { validEnd = reader.position }
                    if framesInSegment == 0 && !isLast {
                        return finding(reader.position, nil, .segmentEmpty, "at least one record", "none")
                    }
                    break segmentLoop
                case let .torn(offset, reason)?:
                    guard isLast else { return finding(offset, namespace.nextSeq, .segmentTruncated, "a complete frame", reason) }
                    validEnd = offset
                    return .torn(segment: index, offset: offset, reason: reason)
                }
                hashes.start(batch, payloads: checkPayloads, firstLeaf: tree.size, workers: workers)
                // The workers read the batch's views until this: before a return, a break, the next batch.
                defer { hashes.finish() }
                for run in 0..<hashes.runs {
                  for i in hashes.ready(run) {
                        let frame = batch[i]
                        let seq = namespace.nextSeq
                        let hash = hashes.header[i]
                        guard hash == frame.storedHash else {
                            return finding(frame.offset, seq, .recordHash, hash.hex, frame.storedHash.hex)
                        }
                        let record: Record
                        do {
                            record = try Record.decodeHeader(frame.header, reusing: &command)
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
                        // The node an append names: the last one's again, most often (one lookup per file, not two per record).
                        var known: Namespace.Node?
                        if case let .append(offset) = record.body {
                            block = BlockRef(fileOffset: offset, payloadPosition: frame.payloadPosition, seq: record.seq,
                                             segment: UInt32(index), length: UInt32(record.payloadLength))
                            known = lastNode?.id == record.file ? lastNode : namespace.node(record.file)
                        }
                        willApply(record)
                        do {
                            try namespace.check(record, node: known)
                        } catch {
                            return finding(frame.offset, seq, error.check, error.expected, error.found)
                        }
                        let node = namespace.commit(record, hash: hash, block: block, node: known)
                        if known != nil { lastNode = node }
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
/// on all cores while the calling thread takes the frames in order: hashing
/// is most of a check's work, and frames hash independently; everything that
/// depends on order stays on one thread, and overlaps the hashing of the
/// frames after it.
///
/// The batch is cut into runs (up to 16 a worker, at most 64). Workers take
/// the next unhashed run; the calling thread takes run after run in order
/// (`ready`), hashing one itself while the next it needs is not done. Each
/// run's perfect subtrees that lie whole inside it are built exactly as
/// `CompactRange.append` would from the same leaves; the replay hands them
/// to the tree, which hashes only the nodes that reach outside a run. Every
/// value here is used only if the frame's computed hash proves to be its
/// stored hash. Nothing is allocated per frame: the outputs are buffers
/// kept from batch to batch. (Decoding the headers in the workers too was
/// measured slower: moving each decoded `Record` to the calling thread cost
/// more than decoding it there.)
final class HashBatch {
    @exclusivity(unchecked) private(set) var header = UnsafeMutableBufferPointer<Hash>(start: nil, count: 0)
    @exclusivity(unchecked) private(set) var leaf = UnsafeMutableBufferPointer<Hash>(start: nil, count: 0)
    @exclusivity(unchecked) private(set) var payload = UnsafeMutableBufferPointer<Hash>(start: nil, count: 0)
    /// The subtree roots frame i's leaf completes inside its run, smallest
    /// first: `nodes[nodeStart[i] ..< nodeStart[i] + nodeCount[i]]`.
    @exclusivity(unchecked) private var nodes = UnsafeMutableBufferPointer<Hash>(start: nil, count: 0)
    @exclusivity(unchecked) private var nodeStart = UnsafeMutableBufferPointer<Int32>(start: nil, count: 0)
    @exclusivity(unchecked) private var nodeCount = UnsafeMutableBufferPointer<Int32>(start: nil, count: 0)
    @exclusivity(unchecked) private var frameCount = 0
    /// How many runs the current batch is cut into.
    @exclusivity(unchecked) private(set) var runs = 0
    @exclusivity(unchecked) private var board: Board?
    @exclusivity(unchecked) private var hashRun: (@Sendable (Int) -> Void)?
    private let group = DispatchGroup()

    init() {}

    deinit {
        finish()
        for b in [header, leaf, payload, nodes] { b.deallocate() }
        nodeStart.deallocate()
        nodeCount.deallocate()
    }

    /// The nodes frame `i`'s leaf completes inside its run, smallest first.
    func completedNodes(_ i: Int) -> UnsafeBufferPointer<Hash> {
        let start = Int(nodeStart[i])
        return UnsafeBufferPointer(rebasing: nodes[start..<start + Int(nodeCount[i])])
    }

    /// The frames of run `r`.
    func range(_ r: Int) -> Range<Int> { frameCount * r / runs..<frameCount * (r + 1) / runs }

    private func reserve(_ n: Int) {
        guard n > header.count else { return }
        for b in [header, leaf, payload, nodes] { b.deallocate() }
        nodeStart.deallocate()
        nodeCount.deallocate()
        let size = max(n, 1024)
        header = .allocate(capacity: size); leaf = .allocate(capacity: size); payload = .allocate(capacity: size)
        nodes = .allocate(capacity: size)
        nodeStart = .allocate(capacity: size); nodeCount = .allocate(capacity: size)
    }

    /// Hashes the whole batch before returning (the tests; no overlap).
    func compute(_ frames: [SegmentReader.Frame], payloads: Bool, firstLeaf: UInt64, workers: Int? = nil) {
        start(frames, payloads: payloads, firstLeaf: firstLeaf, workers: workers)
        for r in 0..<runs { _ = ready(r) }
        finish()
    }

    /// Starts hashing `frames` (views valid until `finish`).
    /// `firstLeaf`: the tree's size before the batch's first frame.
    /// `workers`: how many threads hash, the calling one included (default:
    /// one a core for a batch of 256 KiB or more).
    func start(_ frames: [SegmentReader.Frame], payloads: Bool, firstLeaf: UInt64, workers: Int? = nil) {
        finish()
        let n = frames.count
        reserve(n)
        frameCount = n
        var bytes = 0
        for f in frames { bytes += f.prefix.frameLength }
        let workers = max(1, workers ?? (bytes >= 256 << 10 && n > 1 ? min(ProcessInfo.processInfo.activeProcessorCount, 8) : 1))
        runs = workers == 1 ? 1 : max(1, min(n, 64, workers * 16))
        let runs = self.runs
        let out = Outputs(header: header, leaf: leaf, payload: payload, nodes: nodes, nodeStart: nodeStart, nodeCount: nodeCount)
        let frames = Frames(frames: frames)
        let hashRun: @Sendable (Int) -> Void = { r in
            let run = n * r / runs..<n * (r + 1) / runs
            // The run's compact range: (level, root) of each perfect subtree, the largest first.
            var stack: [(level: Int, root: Hash)] = []
            stack.reserveCapacity(64)
            var slot = run.lowerBound
            for i in run {
                let f = frames.frames[i]
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
        if runs == 1 {
            hashRun(0)
            return
        }
        let board = Board()
        self.board = board
        self.hashRun = hashRun
        for _ in 1..<workers {
            DispatchQueue.global().async(group: group) {
                while true {
                    let r = board.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard r < runs else { return }
                    hashRun(r)
                    board.done.bitwiseOr(1 << UInt64(r), ordering: .releasing)
                }
            }
        }
    }

    /// The frames of run `r`, hashed: waits for the worker hashing it, and
    /// meanwhile hashes a run no one has taken yet.
    func ready(_ r: Int) -> Range<Int> {
        guard let board, let hashRun else { return range(r) }
        let bit: UInt64 = 1 << UInt64(r)
        while board.done.load(ordering: .acquiring) & bit == 0 {
            let next = board.next.wrappingAdd(1, ordering: .relaxed).oldValue
            if next < runs {
                hashRun(next)
                board.done.bitwiseOr(1 << UInt64(next), ordering: .releasing)
            } else {
                sched_yield()
            }
        }
        return range(r)
    }

    /// Waits for the workers (their views of the batch must not outlive
    /// it); runs not taken yet are left unhashed.
    func finish() {
        guard let board else { return }
        board.next.store(64, ordering: .relaxed)
        group.wait()
        self.board = nil
        hashRun = nil
    }

    /// Which runs are taken and which are hashed, shared with the workers.
    private final class Board: Sendable {
        let next = Atomic<Int>(0)
        let done = Atomic<UInt64>(0)
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
        let frames: [SegmentReader.Frame]
    }
}
