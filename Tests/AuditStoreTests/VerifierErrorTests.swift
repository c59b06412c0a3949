import AuditPlumbing
import Foundation
import Testing
@testable import AuditStore

/// Verifier errors carry the values they compared, as typed cases: a root
/// mismatch has the expected root and the one the proof (or the store) gives.
@Suite(.serialized) struct VerifierErrorTests {
    static let leaves = MerkleProofTests.leaves
    static let roots = MerkleProofTests.roots

    @Test func anInclusionProofAgainstAnotherRootNamesTheRootItLeadsTo() throws {
        let (index, size, proof) = MerkleProofTests.inclusion[2]
        let wrong = Self.roots[0]
        #expect(throws: MerkleProof.Invalid.rootMismatch(expected: wrong, calculated: Self.roots[Int(size) - 1])) {
            try MerkleProof.verifyInclusion(index: index, size: size, leafHash: Self.leaves[Int(index)],
                                            proof: proof.map(MerkleProofTests.h), root: wrong)
        }
    }

    @Test(arguments: MerkleProofTests.consistency.indices.filter { MerkleProofTests.consistency[$0].0 != MerkleProofTests.consistency[$0].1 })
    func aConsistencyProofAgainstAnotherOldRootNamesTheRootItRebuilds(i: Int) throws {
        let (m, n, proof) = MerkleProofTests.consistency[i]
        let realOld = Self.roots[Int(m) - 1], wrong = Self.roots[Int(n) - 1]
        // A power-of-two old size is its own proof element: the old root is taken as given, the new one then differs.
        if m & (m - 1) == 0 {
            #expect(throws: MerkleProof.Invalid.self) {
                try MerkleProof.verifyConsistency(old: m, new: n, root1: wrong, root2: Self.roots[Int(n) - 1], proof: proof.map(MerkleProofTests.h))
            }
            return
        }
        #expect(throws: MerkleProof.Invalid.oldRootMismatch(expected: wrong, calculated: realOld)) {
            try MerkleProof.verifyConsistency(old: m, new: n, root1: wrong, root2: Self.roots[Int(n) - 1], proof: proof.map(MerkleProofTests.h))
        }
        #expect(throws: MerkleProof.Invalid.newRootMismatch(expected: realOld, calculated: Self.roots[Int(n) - 1])) {
            try MerkleProof.verifyConsistency(old: m, new: n, root1: realOld, root2: realOld, proof: proof.map(MerkleProofTests.h))
        }
    }

    @Test func theTextOfEachCaseSaysBothValues() {
        let a = Self.roots[0], b = Self.roots[1]
        #expect(MerkleProof.Invalid.rootMismatch(expected: a, calculated: b).description == "inclusion proof leads to root \(b.hex), not \(a.hex)")
        #expect(MerkleProof.Invalid.fork(size: 3, old: a, new: b).description == "two different roots at size 3: a fork (\(a.hex) and \(b.hex))")
        #expect(MerkleProof.Invalid.tooShort(.inclusion).description == "inclusion proof is shorter than the tree is deep")
        #expect(MerkleProof.Invalid.tooShort(.consistency).description == "consistency proof is too short")
    }

    /// The epoch rule says which part failed, with the sizes and times compared.
    @Test func anEpochViolationCarriesTheSizesAndTimesCompared() throws {
        let s = EpochBindingTests.second
        let nb: Int64 = 1_000 * s, na = nb + 900 * s
        let cert = try EpochBindingTests.certificate(notBefore: nb, notAfter: na, size: 10)
        func violation(size: UInt64, time: Int64, next: UInt64? = nil, newest: Int64? = nil) -> EpochBinding.Violation? {
            EpochBinding.violation(of: EpochBindingTests.checkpoint(size: size, time: time), epoch: 2, certificate: cert,
                                   nextCertifiedAt: next, newestRecord: newest)
        }
        #expect(violation(size: 9, time: nb) == .beforeEpoch(epoch: 2, size: 9, epochBegan: 10))
        #expect(violation(size: 31, time: nb, next: 30) == .afterEpoch(epoch: 2, size: 31, nextBegan: 30))
        #expect(violation(size: 20, time: na + 1) == .outsideWindow(epoch: 2, time: na + 1, notBefore: nb, notAfter: na))
        #expect(violation(size: 20, time: nb, newest: nb + 1) == .beforeRecord(time: nb, newestRecord: nb + 1))
        #expect(violation(size: 20, time: na + 1)?.description
                == "checkpoint-window: dated \(Timestamps.rfc3339(na + 1)), outside epoch 2's window \(cert.windowText): a key used outside its epoch")
    }

    /// A witness's checkpoint of a forked store: the failure carries the root
    /// the checkpoint signs and the root the store has at its size.
    @Test func aForkCarriesTheSignedRootAndTheStoresRoot() throws {
        let tmp = TempDir()
        let (verifier, note, fork, ownNote) = try CheckpointTests.forkAtTheSameSize(tmp)
        let own = try Checkpoint.parse(SignedNote.parse(ownNote).text)
        let signed = try Checkpoint.parse(SignedNote.parse(note).text)
        let r = try Checker.verify(at: fork, anchors: .init(verifier: verifier, checkpoints: [("witness", note)]))
        let result = try #require(r.checkpoints.first { $0.source == "witness" })
        guard case let .fork(size, signedRoot, storeRoot) = result.failure else {
            Issue.record("not a fork: \(String(describing: result.failure))"); return
        }
        #expect(own.size == signed.size)   // the fork's own checkpoint: its root at that size
        #expect(size == signed.size && signedRoot == signed.root && storeRoot == own.root && storeRoot != signed.root)
        #expect(result.check == .checkpointFork && result.message == result.failure?.description)
        // The JSON report is as before: check and message, not the typed failure.
        let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        #expect(!json.contains("failure") && json.contains(#""check":"checkpoint-fork""#))
    }
}
