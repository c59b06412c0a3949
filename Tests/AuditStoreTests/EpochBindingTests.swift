import AuditPlumbing
import Foundation
import Synchronization
import Testing
@testable import AuditStore

/// Item 10: a key signs only what its own epoch could have signed.
@Suite(.serialized) struct EpochBindingTests {
    /// A clock the test moves by hand (ns since the epoch).
    final class ManualClock: Sendable {
        let now = Atomic<Int64>(1_796_000_000_000_000_000)
        func advance(seconds: Int64) { now.add(seconds * 1_000_000_000, ordering: .relaxed) }
        var read: @Sendable () -> Int64 { { self.now.load(ordering: .relaxed) } }
    }

    static let second: Int64 = 1_000_000_000

    /// A new signed store whose records and checkpoints take their time from
    /// `clock`; epoch 1 is certified for `keyWindow`.
    static func clockedStore(_ path: String, _ clock: ManualClock, keyWindow: Int64 = Checkpointer.Options().epochLength,
                             epochLength: Int64 = Checkpointer.Options().epochLength) throws -> (Store, Checkpointer, SignedNote.Verifier) {
        var so = Store.Options()
        so.clock = clock.read
        let s = try Store.create(at: path, options: so)
        let verifier = try Checkpointer.createKeys(store: s, keysDirectory: Checkpointer.keysDirectory(of: path), epochLength: keyWindow)
        var o = Checkpointer.Options()
        o.epochLength = epochLength
        o.clock = clock.read
        return (s, try Checkpointer(store: s, keysDirectory: Checkpointer.keysDirectory(of: path), options: o), verifier)
    }

    static func certificate(notBefore: Int64, notAfter: Int64?, size: UInt64) throws -> KeyCertificate {
        let (signer, _) = try SignedNote.Signer.generate(name: "auditfs/test")
        return KeyCertificate(origin: "auditfs/test", epoch: 2, notBefore: notBefore, notAfter: notAfter, size: size, root: .zero, key: signer.verifier)
    }

    static func checkpoint(size: UInt64, time: Int64) -> Checkpoint { Checkpoint(origin: "auditfs/test", size: size, root: .zero, time: time) }

    @Test func theWindowIncludesBothEdgesAndNothingOutside() throws {
        let nb: Int64 = 1_000 * Self.second, na = nb + 900 * Self.second
        let cert = try Self.certificate(notBefore: nb, notAfter: na, size: 10)
        func check(_ time: Int64, size: UInt64 = 20, next: UInt64? = nil, newest: Int64? = nil) -> String? {
            EpochBinding.violation(of: Self.checkpoint(size: size, time: time), epoch: 2, certificate: cert,
                                   nextCertifiedAt: next, newestRecord: newest)?.check.rawValue
        }
        #expect(check(nb) == nil)
        #expect(check(na) == nil)
        #expect(check(nb - 1) == "checkpoint-window")
        #expect(check(na + 1) == "checkpoint-window")
        #expect(check(.min) == "checkpoint-window")
        #expect(check(.max) == "checkpoint-window")
        // Sizes: from the epoch's certified size up to the next epoch's.
        #expect(check(nb, size: 10) == nil)
        #expect(check(nb, size: 9) == "checkpoint-epoch")
        #expect(check(nb, size: 30, next: 30) == nil)
        #expect(check(nb, size: 31, next: 30) == "checkpoint-epoch")
        // No earlier than the records it covers.
        #expect(check(nb + 5, newest: nb + 5) == nil)
        #expect(check(nb + 5, newest: nb + 6) == "checkpoint-time")
        // The root key and a v1 certificate's key have no window.
        #expect(EpochBinding.violation(of: Self.checkpoint(size: 20, time: nb), epoch: 0, certificate: nil,
                                       nextCertifiedAt: nil, newestRecord: nil)?.check == .checkpointWindow)
        let v1 = try Self.certificate(notBefore: nb, notAfter: nil, size: 10)
        #expect(EpochBinding.violation(of: Self.checkpoint(size: 20, time: nb), epoch: 2, certificate: v1,
                                       nextCertifiedAt: nil, newestRecord: nil)?.check == .checkpointWindow)
        #expect(cert.covers(time: nb) && cert.covers(time: na) && !cert.covers(time: na + 1))
    }

    @Test func certificatesWithHostileNumbersAreRefusedNotTrapped() throws {
        let (root, _) = try SignedNote.Signer.generate(name: "auditfs/test")
        let (next, _) = try SignedNote.Signer.generate(name: "auditfs/test")
        func open(_ text: String) -> KeyCertificate? { try? KeyCertificate.open(try! root.sign(text), signedBy: root.verifier) }
        let good = SigningKeys.certificateText(origin: "auditfs/test", epoch: 1, notBefore: 5, notAfter: 9, size: 3, root: .zero, key: next.verifier)
        #expect(open(good)?.notAfter == 9)
        #expect(open(good.replacingOccurrences(of: "not-after 9", with: "not-after 4")) == nil)   // ends before it begins
        #expect(open(good.replacingOccurrences(of: "not-after 9", with: "not-after 99999999999999999999")) == nil)
        #expect(open(good.replacingOccurrences(of: "not-before 5", with: "not-before -9223372036854775808"))?.windowText.isEmpty == false)
        #expect(open(good.replacingOccurrences(of: "epoch 1", with: "epoch -1")) == nil)
        #expect(open(good.replacingOccurrences(of: "tree 3", with: "tree 18446744073709551616")) == nil)
        #expect(open(good.replacingOccurrences(of: "key certificate v2", with: "key certificate v3")) == nil)
    }

    @Test func initCertifiesEpochOneAndKeepsNoRootKey() throws {
        let tmp = TempDir()
        let (s, verifier) = try CheckpointTests.signedStore(tmp.path + "/s")
        #expect(try FileSystem.list(Checkpointer.keysDirectory(of: s.path)) == ["epoch-1.key", "log.key"])
        let note = String(decoding: try s.blocks(of: AuditPaths.certificate(epoch: 1))[0], as: UTF8.self)
        let cert = try KeyCertificate.open(note, signedBy: verifier)
        // Records 1-3 make /.audit, /.audit/keys and the certificate file: it certifies the head at size 4.
        #expect(cert.epoch == 1 && cert.size == 4 && cert.notAfter! - cert.notBefore == Checkpointer.Options().epochLength)
        s.close()
    }

    /// The attack: a copy of epoch 2's key, taken while it was current and
    /// long erased on the host, signs a checkpoint over a record of epoch 6.
    @Test func aKeyCopiedInEpochTwoCannotSignARecordOfEpochSix() throws {
        let tmp = TempDir()
        let clock = ManualClock()
        let (s, c, verifier) = try Self.clockedStore(tmp.path + "/s", clock, keyWindow: 60 * Self.second, epochLength: 60 * Self.second)
        let stolenDir = tmp.path + "/stolen"
        var genuine: [ProofBundle] = []
        for epoch in 1...6 {
            try CheckpointTests.write(s, "/app.log", ["written in epoch \(epoch)"])
            clock.advance(seconds: 1)
            try c.issue()
            #expect(c.keys.epoch == epoch)
            if epoch == 2 {   // the thief copies the key directory
                try FileManager.default.copyItem(atPath: Checkpointer.keysDirectory(of: s.path), toPath: stolenDir)
            }
            genuine.append(try ProofBundle.make(store: s, path: "/app.log", start: nil, end: nil))
            clock.advance(seconds: 60)
        }
        #expect(!FileSystem.exists(Checkpointer.keysDirectory(of: s.path) + "/epoch-2.key"))   // erased on the host
        let stolen = try SigningKeys.open(directory: stolenDir, origin: c.origin) { _ in true }
        #expect(stolen.epoch == 2)
        // Every genuine bundle, from every epoch, verifies.
        for (i, b) in genuine.enumerated() { #expect(try b.verify(with: verifier).epoch == i + 1) }
        let real = genuine[5]
        let head = try Checkpoint.parse(SignedNote.parse(real.checkpoint).text)
        func forged(time: Int64, chainTo epochs: Int) throws -> ProofBundle {
            var b = real
            b.checkpoint = try stolen.signer.sign(Checkpoint(origin: head.origin, size: head.size, root: head.root, time: time).text)
            b.certificates = Array(b.certificates.prefix(epochs))
            return b
        }
        func refusal(_ b: ProofBundle) -> String {
            do { _ = try b.verify(with: verifier); return "VALID" } catch { return "\(error)" }
        }
        // Dated now: outside epoch 2's window.
        #expect(refusal(try forged(time: clock.read(), chainTo: 2)).hasPrefix("checkpoint-window"))
        // Dated inside epoch 2's window: earlier than the epoch-6 record it covers.
        #expect(refusal(try forged(time: stolen.notAfter!, chainTo: 2)).hasPrefix("checkpoint-time"))
        // With the whole chain: epoch 3 began before this size.
        #expect(refusal(try forged(time: stolen.notAfter!, chainTo: 6)).hasPrefix("checkpoint-epoch"))
        // The same forgery stored in the store, for `verify --key`.
        try s.appendNote(to: AuditPaths.checkpoints, by: .current()) { size, root in
            Array(try! stolen.signer.sign(Checkpoint(origin: c.origin, size: size, root: root, time: stolen.notAfter!).text).utf8)
        }
        s.close()
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier))
        #expect(r.status == .damaged)
        #expect(r.failure?.check == .checkpointEpoch, "\(String(describing: r.failure))")
    }

    /// A key past its not-after never signs: the checkpointer starts the next epoch first.
    @Test func theCheckpointerNeverSignsPastNotAfter() throws {
        let tmp = TempDir()
        let clock = ManualClock()
        // Epoch 1's window is 10 s; the checkpointer's epochs would last an hour.
        let (s, c, verifier) = try Self.clockedStore(tmp.path + "/s", clock, keyWindow: 10 * Self.second, epochLength: 3_600 * Self.second)
        try CheckpointTests.write(s, "/a", ["a"])
        clock.advance(seconds: 10)   // exactly not-after: still epoch 1
        try c.issue()
        #expect(c.keys.epoch == 1)
        clock.advance(seconds: 1)
        try CheckpointTests.write(s, "/a", ["b"])
        try c.issue()
        #expect(c.keys.epoch == 2)
        s.close()
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: verifier, unsigned: .standard))
        #expect(r.status == .intact, "\(String(describing: r.failure)) \(r.checkpoints.map(\.message))")
    }

    /// A store made before keys had windows: an epoch 0 key file (v1) on
    /// disk, a checkpoint it signed. The first checkpoint now certifies
    /// epoch 1 (v2) first; the old checkpoint fails checkpoint-window.
    @Test func aStoreFromBeforeKeyWindowsMovesToWindowedKeys() throws {
        let tmp = TempDir()
        let s = try Store.create(at: tmp.path + "/s")
        let dir = Checkpointer.keysDirectory(of: s.path)
        let (root, seed) = try SignedNote.Signer.generate(name: Checkpoint.origin(of: s.identity))
        try FileSystem.makeDirectory(dir, mode: 0o700)
        writeFile(dir + "/epoch-0.key", Array("auditfs signing key v1\nepoch 0\nnot-before 1\nseed \(Data(seed).base64EncodedString())\n".utf8))
        try CheckpointTests.write(s, "/a", ["old"])
        try s.appendNote(to: AuditPaths.checkpoints, by: .current()) { size, head in   // as the old daemon signed
            Array(try! root.sign(Checkpoint(origin: root.name, size: size, root: head, time: Clock.realtime.now).text).utf8)
        }
        let c = try CheckpointTests.checkpointer(s)
        #expect(c.keys.epoch == 0 && c.keys.notAfter == nil)
        try CheckpointTests.write(s, "/a", ["new"])
        try c.issue()
        #expect(c.keys.epoch == 1 && c.keys.notAfter != nil)
        #expect(try FileSystem.list(dir) == ["epoch-1.key", "log.key"])   // the root key is erased; a log key made
        s.close()
        let r = try Checker.verify(at: s.path, anchors: .init(verifier: root.verifier))
        #expect(CheckpointTests.failures(r) == ["checkpoint-window"], "\(r.checkpoints.map(\.message))")
        #expect(r.checkpoints.last?.check == nil && r.signing?.epoch == 1)
    }
}
