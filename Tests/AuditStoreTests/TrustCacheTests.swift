import AuditPlumbing
import Foundation
import Testing
@testable import AuditStore
import Glibc

/// Readers of store files: a segment that grows or shrinks under a reader,
/// a store file that is not a regular file, an index forged without the key.
@Suite struct TrustCacheTests {
    static func frames(_ reader: inout SegmentReader) throws -> (frames: Int, last: SegmentReader.Step) {
        _ = try reader.readHeader()
        var n = 0
        var batch: [SegmentReader.Step] = []
        while true {
            try reader.nextBatch(&batch)
            for step in batch {
                if case .frame = step { n += 1 } else { return (n, step) }
            }
        }
    }

    @Test func aReaderStopsAtItsSizeSnapshotWhileTheSegmentGrows() throws {
        let tmp = TempDir()
        let s = try Fixture.build(at: tmp.path + "/s")
        let file = try RawFile.open(segmentPaths(s.path)[0], flags: O_RDONLY)
        var reader = try SegmentReader(file: file, from: 0)
        let before = s.treeHead.size
        let f = try s.create("/grow.log", kind: .file, mode: 0o644, owner: 0, group: 0, by: Fixture.writer)
        for i in 0..<50 { try s.append(f.id, Array("line \(i)\n".utf8), by: Fixture.writer) }
        let (n, last) = try Self.frames(&reader)
        #expect(UInt64(n) == before)
        guard case .end = last else { Issue.record("expected the end of the snapshot, got \(last)"); return }
    }

    @Test func aSegmentThatShrinksUnderAReaderIsATornTail() throws {
        let tmp = TempDir()
        let s = try Fixture.build(at: tmp.path + "/s")
        let path = segmentPaths(s.path)[0]
        let file = try RawFile.open(path, flags: O_RDONLY)
        var reader = try SegmentReader(file: file, from: 0)
        #expect(truncate(path, off_t(try file.size()) - 10) == 0)
        let (n, last) = try Self.frames(&reader)
        #expect(UInt64(n) == s.treeHead.size - 1)
        guard case .torn = last else { Issue.record("expected a torn tail, got \(last)"); return }
    }

    @Test(arguments: ["fifo", "symlink", "directory"])
    func aStoreFileThatIsNotARegularFileIsRefusedWithoutBlocking(kind: String) throws {
        let tmp = TempDir()
        let path = tmp.path + "/x"
        switch kind {
        case "fifo": #expect(mkfifo(path, 0o600) == 0)
        case "symlink": writeFile(tmp.path + "/target", [1]); #expect(symlink(tmp.path + "/target", path) == 0)
        default: #expect(mkdir(path, 0o700) == 0)
        }
        for flags in [O_RDONLY, O_WRONLY, O_RDWR] {
            #expect(throws: SystemError.self) { _ = try RawFile.open(path, flags: flags) }
        }
        do { _ = try RawFile.open(path, flags: O_RDONLY) } catch let e as SystemError {
            #expect(e.description.contains("not a regular file"), "\(e)")
        }
    }

    @Test func anIndexForgedWithoutTheCacheKeyIsIgnored() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        try Fixture.build(at: path).close()
        let indexPath = path + "/cache/index"
        var bytes = readFile(indexPath)
        // Re-checksum after a change, as anyone can with a plain SHA-256:
        // the reader must not believe it.
        bytes[bytes.count - 40] ^= 1
        let body = Array(bytes.dropLast(32))
        writeFile(indexPath, body + Hash.sha256(body).bytes)
        let s = try Store.open(at: path, mode: .readOnly)
        #expect(s.cacheNote?.contains("MAC") == true, "\(s.cacheNote ?? "no note")")
        #expect(try s.read(s.lookup("/b.log")!.id, offset: 0, count: 100) == Array("b one\nb two, a little longer\n".utf8))
    }

    @Test func anEpochAdvanceReplacesTheCacheKeySoACopyOfTheOldOneForgesNothing() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let (s, _) = try CheckpointTests.signedStore(path)
        try CheckpointTests.write(s, "/a.log", ["one", "two"])
        let old = readFile(path + "/cache-key")
        try CheckpointTests.checkpointer(s, epochLength: 0).issue()   // starts epoch 1
        let new = readFile(path + "/cache-key")
        #expect(new.count == 32 && new != old)
        s.close()   // the index is written again, under the new key
        #expect(try Store.open(at: path, mode: .readOnly).cacheNote == nil)
        // An index MACed under the old key (by someone who copied it) is ignored.
        let body = Array(readFile(path + "/cache/index").dropLast(32))
        writeFile(path + "/cache/index", body + CacheKey(bytes: old).mac(body).bytes)
        #expect(try Store.open(at: path, mode: .readOnly).cacheNote?.contains("MAC") == true)
    }
}
