/// The offline checker: streams every segment with constant memory (per
/// file, not per block) and recomputes every payload digest, record hash,
/// both chains and the Merkle tree (FORMAT.md "Rules").
public enum Checker {
    public struct Report: Codable, Sendable {
        public enum Status: String, Codable, Sendable { case intact, tornTail = "torn-tail", damaged }
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

        /// The exit code `auditfs verify` uses: 0 intact, 1 damaged, 3 torn tail only.
        public var exitCode: Int32 {
            switch status { case .intact: 0; case .damaged: 1; case .tornTail: 3 }
        }
    }

    /// Verifies the store at `path`. Throws only when the store cannot be
    /// read at all (missing, not a store, unknown version, I/O error);
    /// damage is reported in the returned report.
    public static func verify(at path: String) throws(StoreError) -> Report {
        let identity: StoreIdentity
        var segments: [Replay.Segment]
        do {
            identity = try Store.readIdentity(at: path)
            segments = try Store.openSegments(at: path, writable: false)
        } catch { throw .wrap(error) }
        let namespace = Namespace(keepBlocks: false)
        var replay = Replay(identity: identity, namespace: namespace, checkPayloads: true)
        let outcome = replay.run(&segments)
        var report = Report(status: .intact, store: path, records: replay.records, files: namespace.fileCount,
                            segments: segments.count, segmentBytes: replay.segmentBytes, payloadBytes: replay.payloadBytes,
                            treeSize: namespace.tree.size, treeRoot: namespace.tree.root.hex,
                            lastRecordHash: namespace.lastHash.hex, failure: nil, tornTail: nil)
        switch outcome {
        case .intact: break
        case let .damaged(f):
            report.status = .damaged
            report.failure = f
        case let .torn(index, offset, reason):
            report.status = .tornTail
            report.tornTail = .init(segment: segments[index].name, offset: offset, reason: reason)
        }
        return report
    }
}
