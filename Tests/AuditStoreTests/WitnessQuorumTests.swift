import AuditPlumbing
import Crypto
import Foundation
import Testing
@testable import AuditStore

/// N of M witness cosignatures (`verify --witness-key … --witness-quorum N`).
@Suite struct WitnessQuorumTests {
    struct TestWitness {
        let key = Curve25519.Signing.PrivateKey()
        let name: String
        var public_: Cosignature.WitnessKey { .init(name: name, publicKey: Array(key.publicKey.rawRepresentation)) }

        /// The cosignature line of `note` (tlog-cosignature/v1).
        func line(_ note: String, time: UInt64 = 1_795_000_000) throws -> String {
            let text = try SignedNote.parse(note).text
            let sig = try key.signature(for: Cosignature.message(checkpointText: text, timestamp: time))
            var id = public_.keyID.bigEndian, t = time.bigEndian
            let blob = withUnsafeBytes(of: &id) { Array($0) } + withUnsafeBytes(of: &t) { Array($0) } + Array(sig)
            return "\u{2014} \(name) \(Base64.encode(blob))\n"
        }
    }

    static func note() throws -> String {
        let (signer, _) = try SignedNote.Signer.generate(name: "example.com/auditfs/00")
        return try signer.sign(Checkpoint(origin: "example.com/auditfs/00", size: 3, root: .zero, time: 5).text)
    }

    @Test func nOfMCountsOnlyValidCosignaturesOfTheKeysGiven() throws {
        let a = TestWitness(name: "w.example/a"), b = TestWitness(name: "w.example/b"), c = TestWitness(name: "w.example/c")
        let note = try Self.note()
        let both = note + (try a.line(note)) + (try b.line(note))
        #expect(try WitnessQuorum(keys: [a.public_, b.public_]).check(both) == ["w.example/a", "w.example/b"])
        #expect(try WitnessQuorum(keys: [a.public_, b.public_, c.public_], required: 2).check(both).count == 2)
        // Neither meets a quorum it cannot: 3 of 3, or 2 of {a, c} with only a.
        #expect(throws: SignedNote.Invalid.self) { try WitnessQuorum(keys: [a.public_, b.public_, c.public_]).check(both) }
        #expect(throws: SignedNote.Invalid.self) { try WitnessQuorum(keys: [a.public_, c.public_], required: 2).check(both) }
        #expect(try WitnessQuorum(keys: [a.public_, c.public_], required: 1).check(both) == ["w.example/a"])
        // A cosignature of a key given that does not verify fails, even with the quorum met otherwise.
        let bLine = try b.line(note)
        let parts = bLine.dropLast().split(separator: " ")
        var raw = Base64.decode(parts[2])!
        raw[raw.count - 1] ^= 1
        let badB = "\(parts[0]) \(parts[1]) \(Base64.encode(raw))\n"
        #expect(throws: SignedNote.Invalid.self) { try WitnessQuorum(keys: [a.public_, b.public_], required: 1).check(note + (try a.line(note)) + badB) }
    }

    @Test func quorumsOutOfBoundsAreRefused() throws {
        let a = TestWitness(name: "w.example/a")
        #expect(throws: WitnessQuorum.Invalid.self) { try WitnessQuorum(keys: []) }
        #expect(throws: WitnessQuorum.Invalid.self) { try WitnessQuorum(keys: [a.public_], required: 0) }
        #expect(throws: WitnessQuorum.Invalid.self) { try WitnessQuorum(keys: [a.public_], required: 2) }
        #expect(throws: WitnessQuorum.Invalid.self) { try WitnessQuorum(keys: [a.public_, a.public_]) }
    }
}
