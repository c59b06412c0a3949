import Foundation
import Testing
@testable import AuditStore

/// The checker's shortcuts compute exactly what the plain code does: the
/// memoised frame prefix checks, and the tree nodes `HashBatch` hashes on
/// several threads (FORMAT.md "Frame"; RFC 9162 via `CompactRange`).
@Suite struct HashBatchTests {
    @Test func prefixChecksAreThePrefixSHA256() {
        var memo = PrefixChecks(slots: 4)   // few slots: pairs evict each other
        var none = PrefixChecks(slots: 0)
        for round in 0..<2 {
            for h in UInt32(145)..<UInt32(170) {
                for p in [UInt32(0), 1, 150, 151, 4096, Format.maxPayloadSize] {
                    let want = Frame.prefixCheck(headerLength: h, payloadLength: p)
                    #expect(memo.check(headerLength: h, payloadLength: p) == want, "round \(round)")
                    #expect(none.check(headerLength: h, payloadLength: p) == want)
                }
            }
        }
    }

    @Test func aDamagedPrefixCheckIsStillRefusedOnceItsLengthsAreMemoised() throws {
        var memo = PrefixChecks()
        var good = Frame.encodePrefix(headerLength: 160, payloadLength: 150)
        _ = try good.withUnsafeBytes { try Frame.decodePrefix($0, &memo) }
        good[12] ^= 0x01
        #expect(throws: Frame.PrefixError.self) { try good.withUnsafeBytes { try Frame.decodePrefix($0, &memo) } }
    }

    /// A store of `records` appends of ~150 bytes.
    static func store(_ dir: TempDir, records: Int) throws -> Store {
        let s = try Store.create(at: dir.path + "/s", options: Fixture.options(), by: Fixture.writer, storeID: Fixture.storeID)
        let f = try s.create("/access.log", kind: .file, mode: 0o644, owner: 0, group: 0, by: Fixture.writer)
        for i in 0..<records {
            let line = "10.0.\(i % 256).\(i % 199) - - [07/Dec/2026:00:00:00 +0000] \"GET /api/v1/items/\(i) HTTP/1.1\" 200 \(i * 7 % 60000) \"-\" \"curl/7.88.1\"\n"
            try s.append(f.id, Array(line.utf8), by: Fixture.writer)
        }
        try s.sync()
        return s
    }

    @Test(arguments: [1, 2, 3, 7]) func batchNodesAreTheNodesTheTreeWouldHash(workers: Int) throws {
        let dir = TempDir()
        let s = try Self.store(dir, records: 3000)
        let head = s.treeHead
        s.close()
        let file = try RawFile.open(segmentPaths(dir.path + "/s")[0], flags: O_RDONLY)
        // Any tree size before the batch: the runs' subtrees depend on where the leaves fall.
        for firstLeaf: UInt64 in [0, 1, 6, 1023, (1 << 40) | 5] {
            var reader = try SegmentReader(file: file, from: 0)
            _ = try reader.readHeader()
            var frames: [SegmentReader.Frame] = []
            #expect(try reader.nextFrames(&frames) == nil)
            let batch = HashBatch()
            batch.compute(frames, payloads: true, firstLeaf: firstLeaf, workers: workers)
            // Both ranges at size firstLeaf, with arbitrary roots.
            let roots = (0..<firstLeaf.nonzeroBitCount).map { Hash.sha256([UInt8($0)]) }
            var plain = CompactRange(size: firstLeaf, hashes: roots)!
            var fast = plain
            var plainNodes: [[Hash]] = [], fastNodes: [[Hash]] = []
            for i in frames.indices {
                var a: [Hash] = [], b: [Hash] = []
                plain.append(leaf: batch.leaf[i]) { _, root in a.append(root) }
                fast.append(leaf: batch.leaf[i], completing: batch.completedNodes(i)) { _, root in b.append(root) }
                plainNodes.append(a); fastNodes.append(b)
            }
            #expect(plainNodes.count > 1000)
            #expect(frames.indices.contains { batch.completedNodes($0).count > 1 })
            #expect(plainNodes == fastNodes, "workers \(workers), first leaf \(firstLeaf)")
            #expect(plain == fast)
        }
        // And the checker, on as many threads as it likes, agrees with the writer.
        let report = try Checker.verify(at: dir.path + "/s")
        #expect(report.status == .intact)
        #expect(report.treeRoot == head.root.hex && report.treeSize == head.size)
    }

    /// Damage anywhere in a batch cut into runs hashed on several threads
    /// (the calling thread checking run after run in order while the others
    /// hash) is found at the same record, by the same check, as on one thread.
    @Test func damageInARunIsFoundAtItsRecordWhateverTheThreads() throws {
        let dir = TempDir()
        let s = try Self.store(dir, records: 3000)
        s.close()
        let store = dir.path + "/s"
        let seg = segmentPaths(store)[0]
        let original = readFile(seg)
        #expect(original.count > 512 << 10)
        let layout = try frames(ofSegment: seg)
        for workers in [1, 2, 3] {
            let report = try Checker.verify(at: store, anchors: .init(), workers: workers)
            #expect(report.status == .intact, "workers \(workers)")
        }
        for seq: UInt64 in [2, 640, 1501, 2400, 3000] {
            let frame = layout.first { $0.seq == seq }!
            // A header byte (the time), a payload byte, a byte of the stored record hash.
            let header = Int(frame.offset) + 16 + 12
            let payload = readFile(seg).withUnsafeBytes { b in
                Int(frame.offset) + 16 + Int(b.loadUnaligned(fromByteOffset: Int(frame.offset) + 4, as: UInt32.self)) + 3
            }
            let stored = Int(frame.offset) + frame.length - 5
            for (byte, check) in [(header, CheckName.recordHash), (payload, .payloadDigest), (stored, .recordHash)] {
                var damaged = original
                damaged[byte] ^= 0x10
                writeFile(seg, damaged)
                for workers in [1, 2, 3] {
                    let f = try Checker.verify(at: store, anchors: .init(), workers: workers).failure
                    #expect(f?.check == check && f?.seq == seq && f?.offset == frame.offset,
                            "record \(seq), byte \(byte), workers \(workers): \(String(describing: f))")
                }
            }
            writeFile(seg, original)
        }
    }
}
