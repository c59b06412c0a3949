import AuditPlumbing
import Foundation
import Testing
@testable import AuditStore

/// Item 9: with the verifier key, `verify` says which records a signed
/// checkpoint covers and fails when too much (or everything) is unsigned.
@Suite(.serialized) struct SigningCoverageTests {
    static let second: Int64 = 1_000_000_000

    /// A signed store on a hand-moved clock, checkpointed once after three lines.
    static func checkpointedStore(_ path: String, clock: EpochBindingTests.ManualClock) throws -> (Store, Checkpointer, SignedNote.Verifier) {
        let (s, c, verifier) = try EpochBindingTests.clockedStore(path, clock)
        try CheckpointTests.write(s, "/app.log", ["one", "two", "three"])
        try c.issue()
        return (s, c, verifier)
    }

    /// The attack: root, offline, drops every checkpoint and key certificate
    /// record, rewrites a payload, renumbers and re-chains every record
    /// correctly, and deletes the caches.
    @Test func droppingEverySignatureAndRechainingFailsVerifyWithTheKey() throws {
        let tmp = TempDir()
        let clock = EpochBindingTests.ManualClock()
        let (s, c, verifier) = try Self.checkpointedStore(tmp.path + "/s", clock: clock)
        try CheckpointTests.write(s, "/app.log", ["four"])
        try c.issue()
        s.close()
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: .standard)).status == .intact)
        let seg = segmentPaths(s.path)[0]
        var signed: Set<UInt64> = []   // file ids of /.audit/checkpoints, /.audit/keys and the certificates
        var kept: [FixtureGenerator.Item] = []
        for item in try FixtureGenerator.decodeItems(segment: seg) {
            if case let .create(path, _, _, _) = item.record.body, path == AuditPaths.checkpoints || path.hasPrefix(AuditPaths.keys) {
                signed.insert(Record.fileID(createdBy: item.record.seq)); continue
            }
            if signed.contains(item.record.file) { continue }
            kept.append(item)
        }
        var ids: [UInt64: UInt64] = [:]
        for i in kept.indices {
            let old = kept[i].record.seq
            kept[i].record.seq = UInt64(i)
            if case .create = kept[i].record.body {
                ids[Record.fileID(createdBy: old)] = Record.fileID(createdBy: UInt64(i))
                kept[i].record.file = Record.fileID(createdBy: UInt64(i))
            } else {
                kept[i].record.file = ids[kept[i].record.file]!
            }
        }
        let line = kept.firstIndex { $0.payload == Array("two\n".utf8) }!
        kept[line].payload = Array("TWO\n".utf8)
        let forged = FixtureGenerator.rechain(kept, renumber: false)
        writeFile(seg, SegmentHeader(storeID: s.identity.id, firstSeq: 0, prevStoreHash: .zero).encode() + forged.flatMap(FixtureGenerator.encodeFrame))
        try FileManager.default.removeItem(atPath: s.path + "/cache")
        // A well-formed store: without the key nothing is wrong, and the key alone (old rule) found nothing either.
        let plain = try Checker.verify(at: s.path)
        #expect(plain.status == .intact, "\(String(describing: plain.failure))")
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier)).status == .intact)
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: .standard))
        #expect(r.status == .unsigned)
        #expect(r.exitCode == 1)
        #expect(r.signing?.signedRecords == 0 && r.signing?.unsignedRecords == UInt64(forged.count))
        #expect(r.signing?.check == .unsigned)
        #expect(r.signing?.message?.hasPrefix("no record is covered") == true, "\(String(describing: r.signing?.message))")
    }

    @Test func aFreshStoreWithNoCheckpointFails() throws {
        let tmp = TempDir()
        let (s, verifier) = try CheckpointTests.signedStore(tmp.path + "/s")
        s.close()
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: .standard))
        #expect(r.status == .unsigned && r.signing?.signedRecords == 0 && r.signing?.unsignedRecords == 5)   // mkdir /, /.audit, /.audit/keys, epoch 1's certificate
    }

    @Test func aCheckpointedStoreReportsItsCoverageAndPasses() throws {
        let tmp = TempDir()
        let clock = EpochBindingTests.ManualClock()
        let (s, _, verifier) = try Self.checkpointedStore(tmp.path + "/s", clock: clock)
        let records = s.treeHead.size
        s.close()
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: Checker.UnsignedLimit(maxSpan: 0, maxRecords: 0)))
        #expect(r.status == .intact, "\(String(describing: r.signing))")
        // Everything but the checkpoint's own record (the signature itself) is covered.
        #expect(r.signing?.signedRecords == records - 1 && r.signing?.unsignedRecords == 0)
        #expect(r.signing?.epoch == 1 && r.signing?.checkpointSize == records - 1)
        #expect(r.signing?.signedFirstTime != nil && r.signing?.signedLastTime != nil)
    }

    @Test func manyUnsignedRecordsAfterTheCheckpointFailPastTheLimits() throws {
        let tmp = TempDir()
        let clock = EpochBindingTests.ManualClock()
        let (s, _, verifier) = try Self.checkpointedStore(tmp.path + "/s", clock: clock)
        for i in 0..<50 {
            clock.advance(seconds: 3)
            try CheckpointTests.write(s, "/app.log", ["unsigned \(i)"])
        }
        s.close()
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: .standard))
        #expect(r.status == .unsigned)
        #expect(r.signing?.unsignedRecords == 50 && r.signing?.unsignedSpanNs == 49 * 3 * Self.second)
        #expect(r.signing?.message?.contains("--max-unsigned") == true)
        let generous = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: .init(maxSpan: 3_600 * Self.second)))
        #expect(generous.status == .intact)
        let counted = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: .init(maxSpan: nil, maxRecords: 49)))
        #expect(counted.status == .unsigned && counted.signing?.message?.contains("--max-unsigned-records") == true)
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: .init(maxRecords: 50))).status == .intact)
    }
}
