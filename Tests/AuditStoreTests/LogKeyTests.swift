import AuditPlumbing
import Foundation
import Testing
@testable import AuditStore

/// The long-lived log key (witnesses pin it) and the origin rule
/// (FORMAT.md "Keys"), for new stores and stores from before both.
@Suite struct LogKeyTests {
    @Test func everyCheckpointIsSignedByTheEpochKeyAndTheLogKey() throws {
        let tmp = TempDir()
        let (s, verifier) = try CheckpointTests.signedStore(tmp.path + "/s")
        let published = try String(contentsOfFile: LogKey.publicFile(of: s.path), encoding: .utf8)
        let c = try CheckpointTests.checkpointer(s)
        #expect(published == c.logKey.verifier.description + "\n")
        try CheckpointTests.write(s, "/a", ["x"])
        let note = try c.issue()
        let sigs = try SignedNote.parse(note).signatures
        #expect(sigs.count == 2 && sigs.allSatisfy { $0.name == c.origin } && sigs[1].keyID == c.logKey.verifier.keyID)
        #expect(try SignedNote.open(note, by: c.logKey.verifier) == SignedNote.parse(note).text)
        s.close()
        // The log key alone signs nothing `verify` takes: the chain from the verifier key does.
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier)).status == .intact)
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: c.logKey.verifier)).status == .damaged)
    }

    /// A store from before log keys: its first checkpointer makes one and publishes it; later ones read it.
    @Test func aStoreWithoutALogKeyGetsOneAndKeepsIt() throws {
        let tmp = TempDir()
        let (s, verifier) = try CheckpointTests.signedStore(tmp.path + "/s")
        let keys = Checkpointer.keysDirectory(of: s.path)
        FileSystem.remove(LogKey.path(in: keys))
        FileSystem.remove(LogKey.publicFile(of: s.path))
        let first = try CheckpointTests.checkpointer(s)
        #expect(FileSystem.exists(LogKey.path(in: keys)) && FileSystem.exists(LogKey.publicFile(of: s.path)))
        let second = try CheckpointTests.checkpointer(s)
        #expect(first.logKey.verifier == second.logKey.verifier)
        try second.issue()
        s.close()
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier)).status == .intact)
    }

    @Test(arguments: ["", "auditfs log key v1\n", "auditfs log key v1\nseed AAAA\n", "auditfs log key v2\nseed \(Base64.encode([UInt8](repeating: 1, count: 32)))\n",
                      "auditfs log key v1\nseed \(Base64.encode([UInt8](repeating: 1, count: 32)))\nextra\n"])
    func aLogKeyFileThatIsNotOneIsRefused(_ text: String) throws {
        let tmp = TempDir()
        let file = tmp.path + "/log.key"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: (any Error).self) { try LogKey.read(file, origin: "o.example/auditfs/00") }
    }

    @Test func originsNameTheirStore() throws {
        let id = StoreIdentity(id: [UInt8](repeating: 0xab, count: 16))
        let legacy = "auditfs/" + id.idHex
        #expect(Checkpoint.origin(of: id) == legacy)
        #expect(Checkpoint.origin(of: id, name: "log.example.com") == "log.example.com/" + legacy)
        #expect(Checkpoint.names(legacy, store: id) && Checkpoint.names("h/" + legacy, store: id) && Checkpoint.names("a.b/c/" + legacy, store: id))
        let other = "auditfs/" + StoreIdentity(id: [UInt8](repeating: 0xcd, count: 16)).idHex
        for bad in ["https://h/" + legacy, "/" + legacy, " h/" + legacy, "h h/" + legacy, "h+x/" + legacy, "h\u{1}/" + legacy,
                    "h" + legacy, "h/" + other, other, legacy + "/x", String(repeating: "h", count: 201) + "/" + legacy] {
            #expect(!Checkpoint.names(bad, store: id), "\(bad)")
        }
        #expect(Checkpoint.origin(of: id, name: "a b") == nil)
    }

    /// A new store's origin comes from its epoch 1 certificate; the checker takes it from the verifier key.
    @Test func aStoreWithAPrefixedOriginSignsAndVerifiesUnderIt() throws {
        let tmp = TempDir()
        let s = try Store.create(at: tmp.path + "/s")
        let origin = try #require(Checkpoint.origin(of: s.identity, name: "log.example.com"))
        let verifier = try Checkpointer.createKeys(store: s, keysDirectory: Checkpointer.keysDirectory(of: s.path), origin: origin)
        #expect(verifier.name == origin)
        let c = try CheckpointTests.checkpointer(s)
        #expect(c.origin == origin && Checkpointer.origin(of: s) == origin)
        try CheckpointTests.write(s, "/a", ["x"])
        #expect(try Checkpoint.parse(SignedNote.parse(try c.issue()).text).origin == origin)
        s.close()
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier)).status == .intact)
        #expect(try Checker.verify(at: s.path).status == .intact)   // without a key: the origin of epoch 1's certificate
        #expect(throws: (any Error).self) {
            try Checkpointer.createKeys(store: try Store.create(at: tmp.path + "/t"), keysDirectory: tmp.path + "/t/keys", origin: "x/auditfs/00")
        }
    }
}
