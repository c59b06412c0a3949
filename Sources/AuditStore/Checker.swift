import AuditPlumbing

/// The offline checker: streams every segment with constant memory (per
/// file, not per block) and recomputes every payload digest, record hash,
/// both chains and the Merkle tree (FORMAT.md "Rules").
public enum Checker {
    public struct Report: Codable, Sendable {
        /// `unsigned`: the bytes are consistent, but too few of them are
        /// covered by a checkpoint signed through the verifier key's chain
        /// (`Anchors.unsigned`, `signing`).
        public enum Status: String, Codable, Sendable { case intact, tornTail = "torn-tail", damaged, unsigned }
        public struct TornTail: Codable, Sendable { public var segment: String; public var offset: UInt64; public var reason: String }

        public var status: Status
        public var store: String
        public var records: UInt64
        public var files: Int
        public var segments: Int
        public var segmentBytes: UInt64
        public var payloadBytes: UInt64
        public var treeSize: UInt64
        public var treeRoot: String
        public var lastRecordHash: String
        public var failure: Finding?
        public var tornTail: TornTail?
        /// One line per key certificate and checkpoint checked.
        public struct CheckpointResult: Codable, Sendable {
            public var source: String
            public var size: UInt64?
            /// The failed check, or nil when it passed.
            public var check: CheckName?
            public var message: String
            /// Why it failed, with the values compared (not in the JSON report:
            /// `check` and `message` say it there).
            public var failure: CheckpointFailure?

            private enum CodingKeys: String, CodingKey { case source, size, check, message }

            init(source: String, size: UInt64?, passed message: String) {
                self.source = source; self.size = size; self.message = message
            }

            init(source: String, size: UInt64?, failure: CheckpointFailure) {
                self.source = source; self.size = size; self.failure = failure
                check = failure.check
                message = failure.description
            }
        }
        public var checkpoints: [CheckpointResult] = []
        /// With a verifier key: the records the newest valid checkpoint
        /// (stored, or given from outside) covers, and those after it that
        /// no signature covers. Times in ns since the epoch. The record
        /// holding a stored checkpoint is its signature and is in neither.
        public struct Signing: Codable, Sendable, Equatable {
            public var checkpoint: String?
            public var checkpointSize: UInt64?
            public var checkpointTime: Int64?
            public var epoch: Int?
            public var signedRecords: UInt64 = 0
            public var signedFirstTime: Int64?
            public var signedLastTime: Int64?
            public var unsignedRecords: UInt64 = 0
            public var unsignedFirstTime: Int64?
            public var unsignedLastTime: Int64?
            /// unsignedLastTime - unsignedFirstTime (0 with one record or none).
            public var unsignedSpanNs: Int64 = 0
            /// The limits checked (nil: not checked) and the one exceeded.
            public var maxUnsignedNs: Int64?
            public var maxUnsignedRecords: UInt64?
            public var check: CheckName?
            public var message: String?
        }
        public var signing: Signing?
        /// What the derived index cache said, when it disagrees with the
        /// segments or could not be used. Never trusted; rebuilt by the next writer.
        public var cache: [String] = []
        /// A derived cache (cache/index, cache/tree, cache/query) that
        /// disagrees with the segments: the check fails, naming it. The
        /// segments are what `status` says. Deleted, such a cache is rebuilt
        /// from the segments by the next open (or query).
        public struct CacheFailure: Codable, Sendable, Equatable {
            public var cache: String
            public var message: String
            public init(cache: String, message: String) { self.cache = cache; self.message = message }
        }
        public var cacheFailures: [CacheFailure] = []

        /// The exit code `auditfs verify` uses: 0 intact, 1 damaged (or a
        /// cache that disagrees with the segments), 3 torn tail only.
        public var exitCode: Int32 {
            if !cacheFailures.isEmpty { return 1 }
            switch status { case .intact: return 0; case .damaged, .unsigned: return 1; case .tornTail: return 3 }
        }
    }

    /// Verifies the store at `path`. Throws only when the store cannot be
    /// read at all (missing, not a store, unknown version, I/O error);
    /// damage is reported in the returned report.
    /// What to check checkpoints against (all optional).
    public struct Anchors: Sendable {
        /// Epoch 0's public key, kept off the host.
        public var verifier: SignedNote.Verifier?
        /// Checkpoints from outside the store (witness copies): (source, note).
        public var checkpoints: [(String, String)] = []
        /// The witnesses whose cosignatures every outside checkpoint must carry (N of M).
        public var witnesses: WitnessQuorum?
        /// With a verifier: fail (status `unsigned`) when no record is
        /// covered by a valid checkpoint, or the unsigned records after the
        /// newest one exceed these limits. nil: report coverage only.
        public var unsigned: UnsignedLimit?
        public init(verifier: SignedNote.Verifier? = nil, checkpoints: [(String, String)] = [], witnesses: WitnessQuorum? = nil,
                    unsigned: UnsignedLimit? = nil) {
            self.verifier = verifier; self.checkpoints = checkpoints; self.witnesses = witnesses; self.unsigned = unsigned
        }
    }

    /// How much may follow the newest valid checkpoint unsigned.
    public struct UnsignedLimit: Sendable, Equatable {
        /// The longest time span (ns) from the first to the last unsigned record.
        public var maxSpan: Int64?
        /// The most unsigned records.
        public var maxRecords: UInt64?
        public init(maxSpan: Int64? = nil, maxRecords: UInt64? = nil) { self.maxSpan = maxSpan; self.maxRecords = maxRecords }
        /// The default of `verify --key`: 60 s, six times the mount's default
        /// checkpoint interval (10 s); any number of records.
        public static let standard = UnsignedLimit(maxSpan: 60_000_000_000)
    }

    public static func verify(at path: String, anchors: Anchors = Anchors()) throws(StoreError) -> Report {
        try verify(at: path, anchors: anchors, workers: nil)
    }

    /// `workers`: how many threads hash (nil: one a core for a large batch).
    static func verify(at path: String, anchors: Anchors, workers: Int?) throws(StoreError) -> Report {
        let directory = StoreDirectory(path)
        let identity = try directory.readIdentity()
        var segments = try directory.openSegments(writable: false)
        var aheadFinding: Finding?
        var cacheNotes: [String] = []
        var cacheFailures: [Report.CacheFailure] = []
        func indexFailure(_ m: String) { cacheFailures.append(.init(cache: "cache/index", message: m)) }
        var snapshot: IndexSnapshot.Loaded?
        do {
            // Compared whatever its MAC says: a cache is checked, never believed.
            snapshot = try IndexSnapshot.load(store: directory, identity: identity, segments: segments,
                                              key: CacheKey.read(store: path), requireMAC: false)
        } catch let e as IndexSnapshot.Ahead {
            cacheNotes.append("cache/index covers \(e.records) records; the segments hold fewer")
            aheadFinding = Finding(segment: e.segment, offset: e.end, seq: e.records - 1, check: .recordsMissing,
                                   expected: "\(e.records) records (as cache/index recorded)", found: "fewer")
        } catch let e as IndexSnapshot.Invalid {
            switch e.kind {
            case .absent: break
            case .unverifiable: cacheNotes.append(e.description)
            case .disagrees: indexFailure(e.reason)
            }
        } catch {
            indexFailure("\(error)")
        }
        if let s = snapshot, !s.authentic {
            cacheNotes.append("cache/index is not MACed under the store's cache key (readers ignore it until it is written again)")
        }
        let namespace = Namespace(keepBlocks: false, version: identity.version)
        let tree = LogTree()
        var replay = Replay(identity: identity, namespace: namespace, tree: tree, checkPayloads: true)
        replay.workers = workers
        var comparison = snapshot.map { IndexComparison(snapshot: $0.namespace, tree: $0.tree) }
        let treeComparison = TreeCacheComparison(store: path)
        if let t = treeComparison { tree.completed = { level, root in t.subtree(level: level, root: root) } }
        // What the replay's closures change, in a class: a variable they captured would be boxed and its
        // every access checked at run time, twice a record (callgrind, docs/MOUNT.md "Benchmark").
        let pass = Pass(audit: CheckpointAudit(identity: identity, verifier: anchors.verifier,
                                               external: anchors.checkpoints, witnesses: anchors.witnesses),
                        comparison: comparison)
        let outcome = replay.run(&segments, willApply: { record in
            pass.audit.willApply(record, tree: tree)
        }, onRecord: { record, hash, frame, index in
            if pass.comparison != nil {
                pass.comparison!.check(record: record, frame: frame, segment: index, replayed: namespace, tree: tree)
            }
            treeComparison?.leaf(seq: record.seq, leaf: tree.lastLeaf, segment: index, offset: frame.offset)
            pass.audit.didApply(record, payload: frame.payload)
        })
        comparison = pass.comparison
        var audit = pass.audit
        if let c = comparison {
            for n in c.notes { indexFailure(n) }
            if namespace.nextSeq < c.snapshot.nextSeq, aheadFinding == nil {
                indexFailure("it covers \(c.snapshot.nextSeq) records; the segments hold \(namespace.nextSeq)")
            }
        }
        for p in treeComparison?.problems ?? [] { cacheFailures.append(.init(cache: "cache/tree", message: p.description)) }
        var report = Report(status: .intact, store: path, records: replay.records, files: namespace.fileCount,
                            segments: segments.count, segmentBytes: replay.segmentBytes, payloadBytes: replay.payloadBytes,
                            treeSize: tree.size, treeRoot: tree.root.hex,
                            lastRecordHash: namespace.lastHash.hex, failure: nil, tornTail: nil, cache: cacheNotes,
                            cacheFailures: cacheFailures)
        switch outcome {
        case .intact: break
        case let .damaged(f):
            report.status = .damaged
            report.failure = f
        case let .torn(index, offset, reason):
            report.status = .tornTail
            report.tornTail = .init(segment: segments[index].name, offset: offset, reason: reason)
        }
        (report.checkpoints, report.signing) = audit.finish(records: namespace.nextSeq, root: tree.root)
        if report.status != .damaged, let bad = report.checkpoints.first(where: { $0.check != nil }) {
            report.status = .damaged
            report.failure = Finding(segment: "-", offset: 0, seq: bad.size, check: bad.check!, expected: "a checkpoint the store matches",
                                     found: "\(bad.source): \(bad.message)")
        }
        if report.status != .damaged, let aheadFinding {
            // Records that were written and indexed are gone from the end.
            report.status = .damaged
            report.failure = aheadFinding
        }
        if let limit = anchors.unsigned, var signing = report.signing {
            signing.maxUnsignedNs = limit.maxSpan
            signing.maxUnsignedRecords = limit.maxRecords
            signing.message = unsignedFailure(signing, limit)
            signing.check = signing.message == nil ? nil : .unsigned
            report.signing = signing
            if report.status != .damaged, signing.check != nil { report.status = .unsigned }
        }
        return report
    }

    /// The checker's state the replay's closures change, used from one thread.
    private final class Pass {
        @exclusivity(unchecked) var audit: CheckpointAudit
        @exclusivity(unchecked) var comparison: IndexComparison?
        init(audit: CheckpointAudit, comparison: IndexComparison?) { self.audit = audit; self.comparison = comparison }
    }

    /// Why `signing` exceeds `limit`, or nil.
    static func unsignedFailure(_ signing: Report.Signing, _ limit: UnsignedLimit) -> String? {
        if signing.signedRecords == 0 {
            return "no record is covered by a checkpoint signed through the verifier key's chain (\(signing.unsignedRecords) records unsigned)"
        }
        if let max = limit.maxRecords, signing.unsignedRecords > max {
            return "\(signing.unsignedRecords) records after the last signed checkpoint are unsigned; at most \(max) allowed (--max-unsigned-records)"
        }
        if let max = limit.maxSpan, signing.unsignedSpanNs > max {
            return "the \(signing.unsignedRecords) unsigned records after the last signed checkpoint span \(Timestamps.durationText(signing.unsignedSpanNs)); at most \(Timestamps.durationText(max)) allowed (--max-unsigned)"
        }
        return nil
    }
}

/// Compares an index snapshot with the records as the checker replays them:
/// every block location, and at the snapshot's record count the tree, the
/// chain heads and every node's attributes. Memory: one counter per file.
struct IndexComparison {
    let snapshot: Namespace
    let snapshotTree: CompactRange
    private var blocksSeen: [UInt64: Int] = [:]
    /// The file of the last append compared, its blocks seen (not yet in
    /// `blocksSeen`) and its node in the snapshot: consecutive appends to one
    /// file cost no lookup.
    private var currentFile: UInt64 = 0
    private var currentSeen = 0
    private var currentNode: Namespace.Node?
    private(set) var notes: [String] = []

    init(snapshot: Namespace, tree: CompactRange) { self.snapshot = snapshot; self.snapshotTree = tree }

    private mutating func note(_ s: String) { if notes.count < 20 { notes.append("disagrees with the segments: " + s) } }

    /// Puts the current file's count into `blocksSeen`.
    private mutating func settle() {
        if currentFile != 0 { blocksSeen[currentFile] = currentSeen }
        currentFile = 0
    }

    mutating func check(record: Record, frame: SegmentReader.Frame, segment: Int, replayed: Namespace, tree: LogTree) {
        guard record.seq < snapshot.nextSeq else { return }
        if case let .append(offset) = record.body {
            if record.file != currentFile {
                settle()
                currentFile = record.file
                currentSeen = blocksSeen[record.file, default: 0]
                currentNode = snapshot.node(record.file)
            }
            let k = currentSeen
            currentSeen = k + 1
            let expected = BlockRef(fileOffset: offset, payloadPosition: frame.payloadPosition, seq: record.seq,
                                    segment: UInt32(segment), length: UInt32(record.payloadLength))
            if let node = currentNode, k < node.blocks.count, node.blocks[k] == expected {} else {
                note("block of record \(record.seq)")
            }
        }
        if replayed.nextSeq == snapshot.nextSeq {
            settle()
            if tree.range != snapshotTree { note("tree at size \(snapshot.nextSeq)") }
            if replayed.lastHash != snapshot.lastHash { note("last record hash") }
            if replayed.fileCount != snapshot.fileCount { note("\(snapshot.fileCount) files, segments have \(replayed.fileCount)") }
            for (id, n) in replayed.nodes {
                guard let m = snapshot.node(id) else { note("file \(id) missing"); continue }
                if !n.path.sameBytes(as: m.path) || n.kind != m.kind || n.size != m.size || n.mode != m.mode || n.uid != m.uid || n.gid != m.gid
                    || n.lastHash != m.lastHash || n.mtime != m.mtime || n.atime != m.atime || n.ctime != m.ctime
                    || n.parent != m.parent || n.isRetired != m.isRetired || n.isRenamed != m.isRenamed || m.blocks.count != (blocksSeen[id] ?? 0) {
                    note("attributes of \(n.path)")
                }
            }
        }
    }
}
