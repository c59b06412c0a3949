import Foundation
import Testing
@testable import AuditStore

/// Exhaustive damage on the small fixture store (split over several segments):
/// every single-bit flip and every truncation of every segment.
@Suite struct DamageTests {
    /// The fixture, spread over segments of at most 450 bytes so that segment
    /// headers and cross-segment chaining are damaged too.
    /// With `history`, the fixture with its renames and retirements
    /// (`Fixture.buildWithHistory`, format v2).
    static func pristine(_ tmp: TempDir, history: Bool = false) throws -> String {
        let path = tmp.path + "/pristine"
        if history { try Fixture.buildWithHistory(at: path, segmentSize: 450).close() } else {
            try Fixture.build(at: path, segmentSize: 450).close()
        }
        #expect(segmentPaths(path).count >= 3)
        #expect(try Checker.verify(at: path).status == .intact)
        return path
    }

    /// With `history`, the flips are made in the records from 9 on (the
    /// renames and retirements, and the segments that hold them), one bit
    /// per byte (bit byte % 8, so every bit position is hit across a
    /// field): the records before are the plain run's, and every bit of
    /// every byte there would cost minutes of CI on a store 2.5× larger.
    @Test(arguments: [false, true]) func everyBitFlipIsCaughtAndNamesTheRecord(history: Bool) throws {
        let firstSeq: UInt64 = history ? 9 : 0
        let tmp = TempDir()
        let pristine = try Self.pristine(tmp, history: history)
        let work = tmp.path + "/work"
        copyStore(pristine, to: work)
        var flips = 0
        for (segIndex, seg) in segmentPaths(work).enumerated() {
            let original = readFile(seg)
            let layout = try frames(ofSegment: seg)
            if (layout.last?.seq ?? 0) < firstSeq { continue }
            for byte in 0..<original.count {
                // The record whose frame holds this byte (nil: the segment header).
                let owner = layout.first { UInt64(byte) >= $0.offset && UInt64(byte) < $0.offset + UInt64($0.length) }
                if let owner, owner.seq < firstSeq { continue }
                for bit in history ? [byte % 8] : Array(0..<8) {
                    var damaged = original
                    damaged[byte] ^= 1 << bit
                    writeFile(seg, damaged)
                    let report = try Checker.verify(at: work)
                    flips += 1
                    let at = "segment \(segIndex) byte \(byte) bit \(bit)"
                    #expect(report.status == .damaged, "\(at): \(report.status)")
                    guard let f = report.failure else { continue }
                    if let owner {
                        #expect(f.seq == owner.seq, "\(at): named record \(String(describing: f.seq)), expected \(owner.seq): \(f)")
                        #expect(f.offset == owner.offset, "\(at): \(f)")
                    } else {
                        #expect(f.check.rawValue.hasPrefix("segment-"), "\(at): \(f)")
                    }
                    #expect(f.segment == StorePath.name(of: seg), "\(at): \(f)")
                }
            }
            writeFile(seg, original)
        }
        #expect(flips > (history ? 2_000 : 10_000))
    }

    @Test(arguments: [false, true]) func everyTruncationIsTornTailOrFailure(history: Bool) throws {
        let tmp = TempDir()
        let pristine = try Self.pristine(tmp, history: history)
        let work = tmp.path + "/work"
        copyStore(pristine, to: work)
        let segs = segmentPaths(work)
        let total = try Checker.verify(at: work).records
        for (segIndex, seg) in segs.enumerated() {
            let original = readFile(seg)
            let layout = try frames(ofSegment: seg)
            let isLast = segIndex == segs.count - 1
            for length in 0..<original.count {
                writeFile(seg, Array(original[0..<length]))
                let report = try Checker.verify(at: work)
                let at = "segment \(segIndex) cut at \(length)"
                let boundary = length == Format.segmentHeaderSize || layout.contains { $0.offset + UInt64($0.length) == UInt64(length) }
                if !isLast {
                    #expect(report.status == .damaged, "\(at): \(report.status)")
                } else if boundary {
                    // Whole records cut off the end: the index cache still remembers them.
                    #expect(report.status == .damaged, "\(at)")
                    #expect(report.failure?.check == .recordsMissing, "\(at)")
                    #expect(report.records < total)
                } else {
                    #expect(report.status == .tornTail || report.status == .damaged, "\(at): \(report.status)")
                    if report.status == .tornTail {
                        // Only the last, incomplete record is missing.
                        let partial = layout.first { $0.offset < UInt64(length) && UInt64(length) < $0.offset + UInt64($0.length) }
                        #expect(partial != nil || length < Format.segmentHeaderSize, "\(at)")
                        if let partial { #expect(report.records == partial.seq, "\(at)") }
                    }
                }
            }
            writeFile(seg, original)
        }
    }

    /// Without the index cache (deleted), a store cut exactly at a record
    /// boundary looks like a shorter store: only an outside anchor (a signed
    /// checkpoint) can tell. Everything else is still a torn tail or damage.
    @Test func truncationAtABoundaryWithoutTheCache() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        try Fixture.build(at: path).close()
        try FileManager.default.removeItem(atPath: path + "/cache")
        let seg = segmentPaths(path).last!
        let layout = try frames(ofSegment: seg)
        writeFile(seg, Array(readFile(seg)[0..<Int(layout[5].offset)]))
        let report = try Checker.verify(at: path)
        #expect(report.status == .intact)
        #expect(report.records == 5)
    }

    @Test func openingForWritingCutsATornTailAndKeepsIt() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        try Fixture.build(at: path).close()
        let seg = segmentPaths(path).last!
        let original = readFile(seg)
        // The first 60 bytes of a frame (a copy of the last one): what a crash mid-append leaves.
        let last = try frames(ofSegment: seg).last!
        let partial = Array(original[Int(last.offset)..<Int(last.offset) + 60])
        writeFile(seg, original + partial)
        #expect(try Checker.verify(at: path).status == .tornTail)
        let s = try Store.open(at: path, mode: .readWrite)
        let recovery = try #require(s.recovery)
        #expect(recovery.bytesCut == 60)
        #expect(readFile(path + "/" + recovery.savedAs) == partial)
        #expect(readFile(seg) == original)
        try s.append(s.lookup("/b.log")!.id, Array("after the crash\n".utf8), by: Fixture.writer)
        s.close()
        #expect(try Checker.verify(at: path).status == .intact)
    }

    /// A tail is as long as whoever wrote the segment made it (root with the
    /// daemon stopped can append gigabytes): it is saved a chunk at a time,
    /// whole, never read into memory at once.
    @Test func aTornTailLongerThanOneCopyChunkIsSavedWhole() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        try Fixture.build(at: path).close()
        let seg = segmentPaths(path).last!
        let original = readFile(seg)
        let tail = [UInt8](repeating: 0, count: Int(Store.tornCopyChunk) * 2 + 12_345)
        writeFile(seg, original + tail)
        let s = try Store.open(at: path, mode: .readWrite)
        let recovery = try #require(s.recovery)
        #expect(recovery.bytesCut == UInt64(tail.count))
        #expect(readFile(path + "/" + recovery.savedAs) == tail)
        #expect(readFile(seg) == original)
        s.close()
        #expect(try Checker.verify(at: path).status == .intact)
    }

    @Test func zeroFilledTailIsTorn() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        try Fixture.build(at: path).close()
        let seg = segmentPaths(path).last!
        writeFile(seg, readFile(seg) + [UInt8](repeating: 0, count: 4096))
        let report = try Checker.verify(at: path)
        #expect(report.status == .tornTail)
    }

    @Test func openRefusesADamagedStore() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        try Fixture.build(at: path).close()
        let seg = segmentPaths(path).last!
        var bytes = readFile(seg)
        bytes[300] ^= 0x10
        writeFile(seg, bytes)
        // With the index cache, open checks only what follows it; verify checks all.
        #expect(try Checker.verify(at: path).status == .damaged)
        try FileManager.default.removeItem(atPath: path + "/cache")
        #expect {
            try Store.open(at: path, mode: .readWrite)
        } throws: { error in
            if case .damaged = error as? StoreError { return true }
            return false
        }
    }
}
