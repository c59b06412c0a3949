import Foundation
import Testing
@testable import AuditStore

@Suite struct StoreTests {
    @Test func createAppendReadReopen() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let s = try Store.create(at: path)
        let me = Provenance.current()
        let f = try s.create("/x.log", kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        #expect(try s.append(f.id, Array("hello ".utf8), by: me) == 0)
        #expect(try s.append(f.id, Array("world".utf8), at: 6, by: me) == 6)
        #expect(throws: StoreError.notAtEnd(path: "/x.log", size: 11, offset: 3)) {
            try s.append(f.id, Array("X".utf8), at: 3, by: me)
        }
        #expect(String(decoding: try s.read(f.id, offset: 0, count: 100), as: UTF8.self) == "hello world")
        #expect(String(decoding: try s.read(f.id, offset: 4, count: 4), as: UTF8.self) == "o wo")
        let head = s.treeHead
        s.close()
        let r = try Store.open(at: path, mode: .readOnly)
        #expect(r.treeHead == head)
        #expect(r.lookup("/x.log")?.size == 11)
        #expect(String(decoding: try r.read(f.id, offset: 6, count: 5), as: UTF8.self) == "world")
        #expect(try Checker.verify(at: path).status == .intact)
    }

    @Test func refusesBadInput() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let s = try Store.create(at: path)
        let me = Provenance.current()
        for bad in ["/a/../b", "/a/./b", "/a//b", "/a\u{0}b", "/" + String(repeating: "x", count: 256)] {
            #expect(throws: (any Error).self) { try s.create(bad, kind: .file, mode: 0o644, owner: 0, group: 0, by: me) }
        }
        #expect(throws: StoreError.noSuchFile("/nodir")) { try s.create("/nodir/f", kind: .file, mode: 0o644, owner: 0, group: 0, by: me) }
        try s.create("/f", kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        #expect(throws: StoreError.exists("/f")) { try s.create("/f", kind: .directory, mode: 0o755, owner: 0, group: 0, by: me) }
        #expect(throws: StoreError.notADirectory("/f")) { try s.create("/f/g", kind: .file, mode: 0o644, owner: 0, group: 0, by: me) }
        #expect(throws: StoreError.notEmpty(path)) { try Store.create(at: path) }
        #expect(throws: StoreError.busy(path)) { try Store.open(at: path, mode: .readWrite) }
        #expect(throws: StoreError.missing(tmp.path + "/nope")) { try Store.open(at: tmp.path + "/nope", mode: .readOnly) }
        #expect(throws: StoreError.notAStore(tmp.path)) { try Store.open(at: tmp.path, mode: .readOnly) }
    }

    @Test func unknownVersionIsNamed() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        try Store.create(at: path).close()
        let id = path + "/auditfs-store"
        let text = String(decoding: readFile(id), as: UTF8.self).replacingOccurrences(of: " v2\n", with: " v3\n")
        writeFile(id, Array(text.utf8))
        #expect(throws: StoreError.unsupportedVersion(path, found: "auditfs-store v3")) { try Store.open(at: path, mode: .readOnly) }
    }

    @Test func segmentsRollOverAndChainAcross() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let s = try Fixture.build(at: path, segmentSize: 400)
        let me = Fixture.writer
        let f = try #require(s.lookup("/app/a.log"))
        var expected = Array("first line of a\nsecond line of a\n".utf8)
        for i in 0..<20 {
            let line = Array("line \(i) \(String(repeating: "z", count: i))\n".utf8)
            try s.append(f.id, line, by: me)
            expected += line
        }
        s.close()
        #expect(segmentPaths(path).count > 5)
        let report = try Checker.verify(at: path)
        #expect(report.status == .intact)
        let r = try Store.open(at: path, mode: .readOnly)
        #expect(try r.read(f.id, offset: 0, count: 1 << 20) == expected)
        // A read spanning many blocks and segments, starting mid-block.
        #expect(try r.read(f.id, offset: 20, count: 300) == Array(expected[20..<min(320, expected.count)]))
    }

    @Test func concurrentAppendersAndGroupCommit() throws {
        let tmp = TempDir()
        let s = try Store.create(at: tmp.path + "/s")
        let me = Provenance.current()
        let ids = try (0..<4).map { try s.create("/f\($0)", kind: .file, mode: 0o644, owner: 0, group: 0, by: me).id }
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<200 {
                _ = try! s.append(ids[t % 4], Array("t\(t) i\(i)\n".utf8), by: me)
                if i % 10 == 0 { try! s.sync() }
            }
        }
        try s.sync()
        s.close()
        let report = try Checker.verify(at: tmp.path + "/s")
        #expect(report.status == .intact)
        #expect(report.records == 1 + 4 + 8 * 200)
    }
}

@Suite struct TreeCacheTests {
    /// cache/tree is written outside the store's lock every 4,096 records
    /// while writers go on appending and proofs are read: what is being
    /// written stays readable, and the files end up exactly what the
    /// segments say (verify compares every position and level).
    @Test func flushedOutsideTheLockWhileWritersAppend() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let me = Provenance.current()
        let s = try Store.create(at: path)
        let ids = try (0..<3).map { try s.create("/f\($0)", kind: .file, mode: 0o644, owner: 0, group: 0, by: me).id }
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            if t == 3 {
                // A reader of the tree while the flushes run.
                for _ in 0..<300 {
                    let (n, root) = s.treeHead
                    #expect(try! s.root(size: n) == root)
                    if n > 1 {
                        let proof = try! s.inclusionProof(seq: n / 2, size: n)
                        let r = try! s.record(n / 2)
                        #expect((try? MerkleProof.verifyInclusion(index: n / 2, size: n, leafHash: MerkleTree.leafHash(r.hash),
                                                                 proof: proof, root: root)) != nil)
                    }
                }
                return
            }
            for i in 0..<4000 { _ = try! s.append(ids[t], Array("t\(t) i\(i)\n".utf8), by: me) }
        }
        s.close()
        let report = try Checker.verify(at: path)
        #expect(report.status == .intact)
        #expect(report.records == 1 + 3 + 3 * 4000)
        let r = try Store.open(at: path, mode: .readOnly)
        let (n, root) = r.treeHead
        #expect(try r.root(size: n) == root)
        #expect(try r.root(size: 5000) == MerkleTree.root(leaves: ArraySlice(try (0..<5000).map { MerkleTree.leafHash(try r.record($0).hash) })))
    }

    /// Proofs from the tree cache verify against the store's own tree head,
    /// across reopening, a deleted cache and a cut torn tail.
    @Test func proofsFromTheStoreVerify() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let me = Provenance.current()
        var s = try Store.create(at: path, options: Fixture.options(segmentSize: 2000))
        let f = try s.create("/f", kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        for i in 0..<60 { try s.append(f.id, Array("line \(i)\n".utf8), by: me) }
        func check(_ s: Store) throws {
            let (n, root) = s.treeHead
            #expect(try s.root(size: n) == root)
            for seq in stride(from: UInt64(0), to: n, by: 7) {
                let r = try s.record(seq)
                #expect(r.record.seq == seq)
                let proof = try s.inclusionProof(seq: seq, size: n)
                try MerkleProof.verifyInclusion(index: seq, size: n, leafHash: MerkleTree.leafHash(r.hash), proof: proof, root: root)
            }
            for m in stride(from: UInt64(0), through: n, by: 11) {
                try MerkleProof.verifyConsistency(old: m, new: n, root1: try s.root(size: m), root2: root,
                                                  proof: try s.consistencyProof(old: m, new: n))
            }
        }
        try check(s)
        s.close()
        s = try Store.open(at: path, mode: .readOnly)
        try check(s)
        try FileManager.default.removeItem(atPath: path + "/cache/tree")
        s = try Store.open(at: path, mode: .readWrite)
        try check(s)
        try s.append(f.id, Array("after\n".utf8), by: me)
        try check(s)
        s.close()
        // A torn tail is cut; the cache, which had the cut record, follows.
        let seg = segmentPaths(path).last!
        let last = try frames(ofSegment: seg).last!
        writeFile(seg, Array(readFile(seg)[0..<Int(last.offset) + 10]))
        s = try Store.open(at: path, mode: .readWrite)
        #expect(s.recovery != nil)
        try check(s)
        s.close()
        #expect(try Checker.verify(at: path).status == .intact)
    }
}
