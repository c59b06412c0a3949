import Crypto
import Foundation
import Testing
@testable import AuditStore

/// Signed checkpoints and the attacks they exist to catch.
@Suite(.serialized) struct CheckpointTests {
    /// A store as `auditfs init` makes it, with its verifier key.
    static func signedStore(_ path: String) throws -> (Store, SignedNote.Verifier) {
        let s = try Store.create(at: path)
        return (s, try Checkpointer.createKeys(store: s, keysDirectory: Checkpointer.keysDirectory(of: path)))
    }

    static func checkpointer(_ s: Store, epochLength: Int64 = 3_600_000_000_000) throws -> Checkpointer {
        var o = Checkpointer.Options()
        o.epochLength = epochLength
        return try Checkpointer(store: s, keysDirectory: Checkpointer.keysDirectory(of: s.path), options: o)
    }

    static func write(_ s: Store, _ path: String, _ lines: [String]) throws {
        let me = Provenance.current()
        let id = try s.lookup(path)?.id ?? s.create(path, kind: .file, mode: 0o644, owner: 0, group: 0, by: me).id
        for l in lines { try s.append(id, Array((l + "\n").utf8), by: me) }
    }

    static func failures(_ r: Checker.Report) -> [String] { r.checkpoints.compactMap(\.check?.rawValue) }

    @Test func keyChainAndStoredCheckpointsVerify() throws {
        let tmp = TempDir()
        let (s, verifier) = try Self.signedStore(tmp.path + "/s")
        let c = try Self.checkpointer(s, epochLength: 0)   // every checkpoint starts a new epoch
        for i in 0..<4 {
            try Self.write(s, "/app.log", ["line \(i)"])
            try c.issue()
        }
        #expect(c.keys.epoch == 5)   // epoch 1 began at init
        // Only the current epoch's private key is left on disk.
        #expect(try FileSystem.list(Checkpointer.keysDirectory(of: s.path)) == ["epoch-5.key", "log.key"])
        s.close()
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier))
        #expect(r.status == .intact, "\(String(describing: r.failure))")
        #expect(Self.failures(r).isEmpty)
        #expect(r.checkpoints.filter { $0.source.hasPrefix("/.audit/keys/") }.count == 5)
        #expect(r.checkpoints.filter { $0.source.hasPrefix("/.audit/checkpoints") }.count == 4)
        // Another store's key certifies nothing here.
        let other = try Self.signedStore(tmp.path + "/other").1
        let bad = try Checker.verify(at: s.path, anchors: .init(verifier: other))
        #expect(bad.status == .damaged)
        #expect(Self.failures(bad).contains("key-certificate"))
    }

    @Test func rollbackToAnOlderCopyIsCaught() throws {
        let tmp = TempDir()
        let (s, verifier) = try Self.signedStore(tmp.path + "/s")
        let c = try Self.checkpointer(s)
        try Self.write(s, "/app.log", ["one", "two"])
        try c.issue()
        s.close()
        copyStore(s.path, to: tmp.path + "/old-copy")
        let s2 = try Store.open(at: s.path, mode: .readWrite)
        try Self.write(s2, "/app.log", ["three"])
        let witnessed = try Self.checkpointer(s2).issue()
        s2.close()
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier, checkpoints: [("witness", witnessed)])).status == .intact)
        // The attacker puts the older copy back.
        try FileManager.default.removeItem(atPath: s.path)
        copyStore(tmp.path + "/old-copy", to: s.path)
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier)).status == .intact)   // alone it looks fine
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, checkpoints: [("witness", witnessed)]))
        #expect(r.status == .damaged)
        #expect(r.failure?.check == .checkpointRollback)
    }

    /// A store copied after one line, the copy and the original each given
    /// another line and a checkpoint: the original's checkpoint (`witnessed`),
    /// the fork at `fork` with its own checkpoint of the same size (`own`).
    static func forkAtTheSameSize(_ tmp: TempDir) throws -> (verifier: SignedNote.Verifier, witnessed: String, fork: String, own: String) {
        let (s, verifier) = try Self.signedStore(tmp.path + "/s")
        try Self.write(s, "/app.log", ["base"])
        s.close()
        copyStore(s.path, to: tmp.path + "/fork")
        let a = try Store.open(at: s.path, mode: .readWrite)
        try Self.write(a, "/app.log", ["the real line"])
        let note = try Self.checkpointer(a).issue()
        a.close()
        let b = try Store.open(at: tmp.path + "/fork", mode: .readWrite)
        try Self.write(b, "/app.log", ["a forged line"])
        let own = try Self.checkpointer(b).issue()   // signed with the same (copied) key
        b.close()
        return (verifier, note, b.path, own)
    }

    @Test func aForkAtTheSameSizeIsCaught() throws {
        let tmp = TempDir()
        let (verifier, note, fork, _) = try Self.forkAtTheSameSize(tmp)
        #expect(try Checker.verify(at: fork, anchors: .init(verifier: verifier)).status == .intact)
        let r = try Checker.verify(at: fork, anchors: .init(verifier: verifier, checkpoints: [("witness", note)]))
        #expect(r.failure?.check == .checkpointFork)
    }

    /// journald CVE-2023-31438: cut the log and keep writing past the old size.
    @Test func truncateAndKeepWritingIsCaught() throws {
        let tmp = TempDir()
        let (s, verifier) = try Self.signedStore(tmp.path + "/s")
        try Self.write(s, "/app.log", ["1", "2", "3", "4"])
        let witnessed = try Self.checkpointer(s).issue()
        s.close()
        let size = try Checkpoint.parse(SignedNote.parse(witnessed).text).size
        // Cut everything from the third log line on, at a frame boundary, drop the cache, write on.
        let seg = segmentPaths(s.path).last!
        let cut = try frames(ofSegment: seg).first { $0.seq == 6 }!
        writeFile(seg, Array(readFile(seg)[0..<Int(cut.offset)]))
        try FileManager.default.removeItem(atPath: s.path + "/cache")
        let t = try Store.open(at: s.path, mode: .readWrite)
        try Self.write(t, "/app.log", ["x", "y", "z", "w", "v", "u"])
        t.close()
        #expect(try Checker.verify(at: s.path).records > size)
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, checkpoints: [("witness", witnessed)]))
        #expect(r.failure?.check == .checkpointFork)
    }

    /// journald CVE-2023-31439: rewrite history, strip the signatures and
    /// re-sign everything with the key the attacker stole now.
    @Test func reSigningWithTheCurrentKeyIsCaught() throws {
        let tmp = TempDir()
        let (s, verifier) = try Self.signedStore(tmp.path + "/s")
        let c = try Self.checkpointer(s, epochLength: 0)
        for i in 0..<3 {
            try Self.write(s, "/app.log", ["entry \(i)"])
            try c.issue()
        }
        s.close()
        let stolen = try SigningKeys.open(directory: Checkpointer.keysDirectory(of: s.path), origin: c.origin) { _ in true }
        #expect(stolen.epoch == 4)
        let stolenLog = try LogKey.read(LogKey.path(in: Checkpointer.keysDirectory(of: s.path)), origin: c.origin)
        // Rewrite the first log line, recompute every chain and re-sign every checkpoint.
        let seg = segmentPaths(s.path)[0]
        var items = try FixtureGenerator.decodeItems(segment: seg)
        let first = items.firstIndex { $0.record.kind == .append }!
        items[first].payload = Array("ENTRY 0\n".utf8)   // same length as "entry 0\n"
        let checkpointsFile = items.first { if case let .create(p, _, _, _) = $0.record.body { p == AuditPaths.checkpoints } else { false } }!.record.seq + 1
        var tree = CompactRange()
        var last = Hash.zero
        var lastOfFile: [UInt64: Hash] = [:]
        for i in items.indices {
            if items[i].record.file == checkpointsFile, case .append = items[i].record.body {
                let old = try Checkpoint.parse(SignedNote.parse(String(decoding: items[i].payload, as: UTF8.self)).text)
                let forged = Checkpoint(origin: old.origin, size: tree.size, root: tree.root, time: old.time)
                // The log key is on the host too: the note keeps both signatures (and its length).
                items[i].payload = Array((try stolen.signer.sign(forged.text) + stolenLog.signer.signatureLine(for: forged.text)).utf8)
            }
            items[i].record.payloadDigest = Hash.sha256(items[i].payload)
            items[i].record.payloadLength = UInt64(items[i].payload.count)
            items[i].record.prevStoreHash = last
            if case .create = items[i].record.body {} else { items[i].record.prevFileHash = lastOfFile[items[i].record.file] ?? .zero }
            let h = Hash.sha256(items[i].record.encodeHeader())
            last = h; lastOfFile[items[i].record.file] = h
            tree.append(recordHash: h)
        }
        // Offsets of later appends to the changed files shift: keep lengths equal so they do not.
        writeFile(seg, SegmentHeader(storeID: s.identity.id, firstSeq: 0, prevStoreHash: .zero).encode() + items.flatMap(FixtureGenerator.encodeFrame))
        try FileManager.default.removeItem(atPath: s.path + "/cache")
        let plain = try Checker.verify(at: s.path)
        #expect(plain.status == .intact, "the rewrite is a well-formed store: \(String(describing: plain.failure)) \(plain.checkpoints.map(\.message))")
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier))
        #expect(r.status == .damaged)
        #expect(Self.failures(r).contains("key-certificate"), "\(r.checkpoints.map(\.message))")
    }

    @Test func aCheckpointOfAnotherStoreIsRefused() throws {
        let tmp = TempDir()
        let (a, verifier) = try Self.signedStore(tmp.path + "/a")
        try Self.write(a, "/x", ["x"])
        try Self.checkpointer(a).issue()
        a.close()
        let (b, _) = try Self.signedStore(tmp.path + "/b")
        try Self.write(b, "/x", ["x"])
        let foreign = try Self.checkpointer(b).issue()
        b.close()
        let r = try Checker.verify(at: a.path, anchors: .init(verifier: verifier, checkpoints: [("foreign", foreign)]))
        #expect(r.failure?.check == .checkpointOrigin)
    }

    @Test func witnessCosignaturesAreChecked() throws {
        let tmp = TempDir()
        let (s, verifier) = try Self.signedStore(tmp.path + "/s")
        try Self.write(s, "/x", ["x"])
        let note = try Self.checkpointer(s).issue()
        s.close()
        // A witness cosigns (C2SP tlog-cosignature/v1).
        let wkey = Curve25519.Signing.PrivateKey()
        let witness = Cosignature.WitnessKey(name: "witness.example/w1", publicKey: Array(wkey.publicKey.rawRepresentation))
        let text = try SignedNote.parse(note).text
        let ts: UInt64 = 1_795_000_000
        let sig = try wkey.signature(for: Cosignature.message(checkpointText: text, timestamp: ts))
        var id = witness.keyID.bigEndian, t = ts.bigEndian
        let blob = withUnsafeBytes(of: &id) { Array($0) } + withUnsafeBytes(of: &t) { Array($0) } + Array(sig)
        let cosigned = note + "\u{2014} \(witness.name) \(Data(blob).base64EncodedString())\n"
        #expect(try Cosignature.verify(cosigned, witness: witness) == ts)
        #expect(try Checker.verify(at: s.path, anchors: .init(verifier: verifier, checkpoints: [("w", cosigned)], witnesses: .init(keys: [witness]))).status == .intact)
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, checkpoints: [("w", note)], witnesses: .init(keys: [witness])))
        #expect(r.failure?.check == .checkpointCosignature)
        #expect(try Cosignature.WitnessKey(parsing: witness.description) == witness)
    }

    @Test func bundlesVerifyAndEveryTamperingFails() throws {
        let tmp = TempDir()
        let (s, verifier) = try Self.signedStore(tmp.path + "/s")
        let c = try Self.checkpointer(s, epochLength: 0)
        try s.create("/app", kind: .directory, mode: 0o755, owner: 0, group: 0, by: .current())
        try Self.write(s, "/app/a.log", ["alpha", "beta"])
        try c.issue()
        try Self.write(s, "/app/a.log", ["gamma", "delta"])
        try Self.write(s, "/other.log", ["noise"])
        try c.issue()
        let bundle = try ProofBundle.make(store: s, path: "/app/a.log", start: 3, end: 15)
        // Widened to the blocks the range touches: "alpha\n" "beta\n" "gamma\n".
        #expect(bundle.start == 0 && bundle.end == 17)
        let proven = try bundle.verify(with: verifier)
        #expect(String(decoding: proven.bytes, as: UTF8.self) == "alpha\nbeta\ngamma\n")
        #expect(proven.writers.count == 3 && proven.epoch == 3)
        s.close()
        func refused(_ name: String, _ mutate: (inout ProofBundle) -> Void) {
            var b = bundle
            mutate(&b)
            #expect(throws: (any Error).self, "\(name) verified") { try b.verify(with: verifier) }
        }
        func flip(_ s: String) -> String {
            var d = Array(Data(base64Encoded: s)!); d[d.count / 2] ^= 1; return Data(d).base64EncodedString()
        }
        refused("payload-bit") { $0.records[1].payload = flip($0.records[1].payload) }
        refused("header-bit") { $0.records[2].header = flip($0.records[2].header) }
        refused("proof-bit") { $0.records[1].inclusion[0] = flip($0.records[1].inclusion[0]) }
        refused("proof-truncated") { $0.records[1].inclusion.removeLast() }
        refused("record-dropped") { $0.records.remove(at: 2) }
        refused("create-dropped") { $0.records.removeFirst() }
        refused("range-beyond-the-records") { $0.end = 1000 }
        refused("range-reversed") { $0.start = 15; $0.end = 3 }   // hostile numbers: refused, never a trap
        // start and end are bound to the proven blocks: a block cannot be cut short.
        refused("range-start-moved") { $0.start = 3 }
        refused("range-end-moved") { $0.end = 15 }
        refused("range-empty") { $0.start = 0; $0.end = 0 }
        refused("signature-padding-bits") { b in
            // The checkpoint's signature with its base64's unused bits changed: one note, one byte form.
            let lines = b.checkpoint.split(separator: "\n", omittingEmptySubsequences: false)
            let sig = lines[lines.count - 2]
            let b64 = sig.split(separator: " ")[2]
            var chars = Array(b64)
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
            let i = chars.lastIndex { $0 != "=" }!
            chars[i] = alphabet[alphabet.firstIndex(of: chars[i])! ^ 1]
            b.checkpoint = b.checkpoint.replacingOccurrences(of: String(b64), with: String(chars))
        }
        refused("path-changed") { $0.path = "/app/b.log" }
        refused("checkpoint-size") { $0.checkpoint = $0.checkpoint.replacingOccurrences(of: "\n\(try! Checkpoint.parse(SignedNote.parse(bundle.checkpoint).text).size)\n", with: "\n3\n") }
        refused("checkpoint-signature") { $0.checkpoint = $0.checkpoint.replacingOccurrences(of: "time ", with: "time 1") }
        refused("certificate-dropped") { $0.certificates.removeFirst() }
        refused("certificates-swapped") { $0.certificates.swapAt(0, 1) }
        refused("certificate-consistency") { $0.certificates[1].consistency[0] = flip($0.certificates[1].consistency[0]) }
        refused("wrong-verifier-format") { $0.format = "auditfs-bundle/v0" }
        #expect(throws: (any Error).self) { try bundle.verify(with: try Self.signedStore(tmp.path + "/o").1) }
    }

    /// A renamed, then retired file (history mode) is proven under its
    /// retired name: the bundle carries its renames, and the verifier
    /// follows them from the name it was created under.
    @Test func bundlesOfARenamedAndRetiredFileFollowItsNames() throws {
        let tmp = TempDir()
        let (s, verifier) = try Self.signedStore(tmp.path + "/s")
        let c = try Self.checkpointer(s, epochLength: 0)
        try Self.write(s, "/a.log", ["alpha", "beta"])
        let a = try #require(s.lookup("/a.log"))
        try s.rename(parent: Namespace.rootID, name: "a.log", newParent: Namespace.rootID, newName: "a.log.1", by: .current())
        try Self.write(s, "/a.log.1", ["gamma"])
        let retired = try s.retire(parent: Namespace.rootID, name: "a.log.1", directory: false, by: .current())
        try c.issue()
        let bundle = try ProofBundle.make(store: s, path: retired.path, start: nil, end: nil)
        #expect(bundle.records.count == 6)   // create, 3 appends, 2 renames
        let proven = try bundle.verify(with: verifier)
        #expect(String(decoding: proven.bytes, as: UTF8.self) == "alpha\nbeta\ngamma\n" && retired.id == a.id)
        s.close()
        let renames = bundle.records.indices.filter { i in
            let h = Array(Data(base64Encoded: bundle.records[i].header)!)
            return (try? h.withUnsafeBytes { try Record.decodeHeader($0) })?.kind == .rename
        }
        #expect(renames.count == 2)
        func refused(_ name: String, _ mutate: (inout ProofBundle) -> Void) {
            var b = bundle
            mutate(&b)
            #expect(throws: (any Error).self, "\(name) verified") { try b.verify(with: verifier) }
        }
        refused("last-rename-dropped") { $0.records.remove(at: renames[1]) }
        refused("first-rename-dropped") { $0.records.remove(at: renames[0]) }
        refused("renames-swapped") { $0.records.swapAt(renames[0], renames[1]) }
        refused("path-is-the-first-name") { $0.path = "/a.log" }
    }
}
