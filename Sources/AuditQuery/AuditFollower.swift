import AuditPlumbing
import AuditRecords
import AuditStore

/// Follows the JSON lines of the `/.audit` files of a store as they are
/// appended, straight from the segments (`RecordFollower`): which file each
/// record belongs to comes from the create records it has seen, so no
/// namespace replay is needed. The daemon writes one line per record; a
/// record holding several lines yields each, and a record without a final
/// newline yields its text as a line too.
public final class AuditFollower {
    /// A line of an /.audit file and where its bytes are in the segments.
    public struct Line {
        public let path: String
        public let seq: UInt64
        public let bytes: UnsafeRawBufferPointer
        /// Index into `segmentNames`, and the line's byte offset in that segment.
        public let segment: Int
        public let position: UInt64
    }

    public let records: RecordFollower
    /// File id → path of every file under /.audit created so far.
    public private(set) var auditFiles: [UInt64: String]

    public init(store: String, from position: StorePosition? = nil, segments: [String] = [],
                auditFiles: [UInt64: String] = [:]) throws {
        records = try RecordFollower(store: store, from: position, knownSegments: segments)
        self.auditFiles = position == nil ? [:] : auditFiles
    }

    public var position: StorePosition { records.position }
    public var segmentNames: [String] { records.segmentNames }

    /// Delivers the lines appended since the last call.
    public func poll(_ body: (Line) throws -> Void) throws {
        try records.poll { item in
            let r = item.record
            switch r.body {
            case let .create(path, _, _, _):
                if r.kind == .file && path.hasBytePrefix(AuditPaths.root + "/") { auditFiles[r.file] = path }
            case .append:
                guard let path = auditFiles[r.file], item.payload.count > 0 else { return }
                // Checked here, where the bytes are read: a derived index only
                // ever holds lines whose bytes matched their chained digest.
                let digest = Hash.sha256(item.payload)
                guard digest == r.payloadDigest else {
                    throw StoreError.damaged(Finding(segment: records.segmentNames[item.segment], offset: item.payloadPosition,
                                                     seq: r.seq, check: .payloadDigest, expected: r.payloadDigest.hex,
                                                     found: digest.hex))
                }
                var start = 0
                let n = item.payload.count
                while start < n {
                    var end = start
                    while end < n && item.payload[end] != 0x0A { end += 1 }
                    if end > start {
                        try body(Line(path: path, seq: r.seq, bytes: UnsafeRawBufferPointer(rebasing: item.payload[start..<end]),
                                      segment: item.segment, position: item.payloadPosition + UInt64(start)))
                    }
                    start = end + 1
                }
            case .attributes, .rename:
                // A rename never moves a file into a followed /.audit file's
                // place, and a retired file takes no append.
                return
            }
        }
    }
}
