import Foundation
import Testing
@testable import AuditStore

/// How the saved regression inputs in fixtures/fuzz/ were made: each is the
/// minimal form of a crash a campaign found, rebuilt from the seeds so its
/// bytes can be reviewed. `AUDITFS_FUZZ_WRITE_VECTORS=1 swift test --filter
/// FuzzVectors` writes the missing ones; FuzzRegressionTests runs them.
@Suite struct FuzzVectors {
    static var vectors: [(target: String, name: String, bytes: () -> [UInt8])] {
        [
            // Timestamps.rfc3339 overflowed on a time near Int64.min: a re-chained
            // last record with that time made `log`, `ls` and every reader trap.
            ("segment", "record-time-int64-min", { rechained(FuzzSeeds.goldenSegment, record: 8) { r in r.time = .min } }),
            // The same through a record's own time, as `log` prints it.
            ("frame", "record-time-int64-min", {
                let (_, frames) = SegmentSurgery.split(FuzzSeeds.goldenSegment)!
                var r = try! frames[1].header.withUnsafeBytes { try Record.decodeHeader($0) }
                r.time = .min
                let h = r.encodeHeader()
                return SegmentSurgery.Frame.prefix(h.count, 0) + h
            }),
            // cache/index (digest recomputed) with a node count above Int.max: Int(UInt64) trapped.
            ("index", "node-count-above-int-max", { indexField(at: nodeCountOffset, .max) }),
            // cache/index whose first block names segment 7 of a one-segment store: Store.read indexed past the list.
            ("index", "block-in-a-segment-that-does-not-exist", { indexField(at: blocksOffset + 24, 7, width: 4) }),
            // cache/index whose second block of /app/a.log starts far past the first one's end:
            // reading across them underflowed the offset arithmetic.
            ("index", "block-offsets-with-a-gap", { indexField(at: blocksOffset + 32, 1 << 40) }),
            // cache/query/state (digest recomputed) counting more entries than Int can size: entryCount * 56 overflowed.
            ("query-state", "entry-count-overflows", { queryState { $0["entryCount"] = Int.max / 2 } }),
            // cache/query/state whose string table lost the paths its entries name: a path filter indexed past it.
            ("query-state", "strings-shorter-than-the-entries", { queryState { $0["strings"] = [String]() } }),
            // Nine '**' against a path 41 components deep: matching backtracked through
            // every way to split the path (minutes for one decision) before globs became linear.
            ("glob", "many-any-depth-on-a-deep-path", { Array(("/a" + String(repeating: "/**/a", count: 9) + "/**/x").utf8) }),
            // Times and durations from outside (--since, within:, timeout:): each multiplied past Int64 and trapped
            // until numbers were parsed with bounds (issue 10 item 14; the time campaign found all three).
            ("time", "duration-in-days-past-int64", { Array("99999999999d".utf8) }),
            ("time", "relative-time-past-int64", { Array("-106752d".utf8) }),
            ("time", "rfc3339-year-9999", { Array("9999-12-31T23:59:59Z".utf8) }),
            // A time followed by 200,000 spaces: trimming them a Character at a time from the end
            // was quadratic (22 s for 53,000 spaces; a hang for these).
            ("time", "trailing-spaces", { Array(("  -2d" + String(repeating: " ", count: 200_000)).utf8) }),
            // A proof bundle whose range ends before it starts: end - start underflowed.
            ("bundle", "range-ends-before-start", {
                var b = try! JSONDecoder().decode(ProofBundle.self, from: Data(FuzzSeeds.signed.bundle))
                b.start = 14; b.end = 2
                return Array(try! JSONEncoder().encode(b))
            }),
        ]
    }

    @Test func savedInputsAreCurrent() throws {
        let dir = FuzzSeeds.repository + "/fixtures/fuzz/"
        for v in Self.vectors {
            let path = dir + v.target + "/" + v.name + ".bin"
            // Only missing ones are written: a bundle's later epoch keys are new at every run.
            if FuzzCampaign.environment["AUDITFS_FUZZ_WRITE_VECTORS"] != nil, !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createDirectory(atPath: dir + v.target, withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: path, contents: Data(v.bytes()))
            }
            #expect(FileManager.default.fileExists(atPath: path), "\(path) is missing: run with AUDITFS_FUZZ_WRITE_VECTORS=1")
        }
    }

    /// The golden segment with record `i` changed by `edit`, then re-chained.
    static func rechained(_ segment: [UInt8], record i: Int, _ edit: (inout Record) -> Void) -> [UInt8] {
        var (head, frames) = SegmentSurgery.split(segment)!
        var r = try! frames[i].header.withUnsafeBytes { try Record.decodeHeader($0) }
        edit(&r)
        frames[i].header = r.encodeHeader()
        return SegmentSurgery.join(head, frames)
    }

    static let goldenIndex = FuzzSeeds.fixture("golden/store/cache/index")
    /// Where the node count sits in the golden cache/index (FORMAT.md "Index snapshot").
    static var nodeCountOffset: Int {
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(goldenIndex[at + $1]) << (8 * $1) } }
        let rangeCountAt = 96 + 8 * u32(80)   // after the segment count (80), covered, last end and first seqs
        return rangeCountAt + 8 + 32 * u32(rangeCountAt)
    }
    /// Where the block list starts: after the nodes, 8-aligned; it ends 32 bytes before the digest.
    static var blocksOffset: Int {
        let count = (0..<8).reduce(0) { $0 | Int(goldenIndex[nodeCountOffset + 8 + $1]) << (8 * $1) }
        return goldenIndex.count - 32 - 32 * count
    }

    /// The seed's query state with one JSON value changed and its digest recomputed.
    static func queryState(_ edit: (inout [String: Any]) -> Void) -> [UInt8] {
        let state = QueryStateFuzz.seed.state
        var top = try! JSONSerialization.jsonObject(with: Data(state[..<state.lastIndex(of: 0x0A)!])) as! [String: Any]
        edit(&top)
        let json = Array(try! JSONSerialization.data(withJSONObject: top, options: .sortedKeys))
        return QueryStateFuzz.signed(json)
    }

    static func indexField(at offset: Int, _ value: UInt64, width: Int = 8) -> [UInt8] {
        var b = goldenIndex
        for k in 0..<width { b[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        return FuzzTarget.withDigest(b)
    }
}
