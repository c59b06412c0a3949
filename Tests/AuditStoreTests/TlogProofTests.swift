import Foundation
import Testing
@testable import AuditStore

/// C2SP tlog-proof text: one byte form per proof, strict parsing, and a
/// proof that leads from the header's leaf to the root.
@Suite struct TlogProofTests {
    static let note = "auditfs/00112233445566778899aabbccddeeff\n3\nq6pLYhuRb0x3DlC3xEhOiS0qJ0QAbjvjQu4dPL4DsA0=\n\n— auditfs/00112233445566778899aabbccddeeff AAAAAAAA\n"

    func leaves(_ n: Int) -> [[UInt8]] { (0..<n).map { Array("header \($0)".utf8) } }

    @Test func aProofRoundTripsAndLeadsToTheRoot() throws {
        let headers = leaves(5)
        let leafHashes = headers.map { MerkleTree.leafHash(Hash.sha256($0)) }
        let root = MerkleTree.root(leaves: leafHashes[...])
        for i in 0..<5 {
            let path = try MerkleProof.inclusion(index: UInt64(i), size: 5) { a, b in MerkleTree.root(leaves: leafHashes[Int(a)..<Int(b)]) }
            let proof = TlogProof(header: headers[i], index: UInt64(i), proof: path, checkpoint: Self.note)
            let parsed = try TlogProof.parse(proof.text)
            #expect(parsed == proof)
            #expect(parsed.text == proof.text)
            try MerkleProof.verifyInclusion(index: UInt64(i), size: 5, leafHash: parsed.leafHash, proof: parsed.proof, root: root)
        }
    }

    @Test func badTextsAreRefused() throws {
        let good = TlogProof(header: [1, 2, 3], index: 10, proof: [Hash.sha256([9])], checkpoint: Self.note).text
        let hash = Data(Hash.sha256([9]).bytes).base64EncodedString()
        // The same 32 bytes with a padding bit set: the last character's low 2 bits are padding (32 bytes: 2 bytes in the last 3 characters).
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let last = Array(hash)[42]
        let padded = String(hash.prefix(42)) + String(alphabet[(alphabet.firstIndex(of: last)! & ~0x3) | 1]) + "="
        #expect(Data(base64Encoded: padded).map(Array.init) == Hash.sha256([9]).bytes, "Foundation accepts it: the parser must not")
        var bad = [
            good.replacingOccurrences(of: "c2sp.org/tlog-proof@v1", with: "c2sp.org/tlog-proof@v2"),
            good.replacingOccurrences(of: "index 10", with: "index 010"),
            good.replacingOccurrences(of: "index 10", with: "index -1"),
            good.replacingOccurrences(of: "index 10", with: "index 18446744073709551616"),
            good.replacingOccurrences(of: "index 10", with: "index"),
            good.replacingOccurrences(of: "extra AQID\n", with: ""),
            good.replacingOccurrences(of: "extra AQID", with: "extra AQIE=="),        // not base64 of its length
            good.replacingOccurrences(of: hash, with: padded),                      // changed padding bits
            good.replacingOccurrences(of: hash, with: "AAAA"),                      // not 32 bytes
            good.replacingOccurrences(of: "\n\n", with: "\n"),                      // no empty line before the checkpoint
            "c2sp.org/tlog-proof@v1\nextra AQID\nindex 1\n",
            "",
        ]
        bad.append(String(repeating: "x", count: (1 << 20) + 1))
        for text in bad {
            #expect(throws: TlogProof.Invalid.self, "\(text.prefix(80))") { try TlogProof.parse(text) }
        }
        #expect(try TlogProof.parse(good).index == 10)
    }
}

/// Witness answers for one checkpoint, one note each, merge onto one note;
/// answers for other checkpoints stay apart; a note that does not parse is
/// passed on as it is.
@Suite struct CosignedNotesTests {
    @Test func answersForOneCheckpointMerge() {
        func line(_ name: String, _ id: UInt8) -> String {
            "— \(name) " + Data([0, 0, 0, id] + [UInt8](repeating: id, count: 64)).base64EncodedString() + "\n"
        }
        let root = Data(repeating: 0, count: 32).base64EncodedString()
        let text = "example/log\n5\n\(root)\n"
        let other = "example/log\n6\n\(root)\n"
        let log = line("example/log", 1), a = line("w.a", 2), b = line("w.b", 3)
        let merged = CosignedNotes.merge([("one", text + "\n" + log + a), ("two", other + "\n" + log + a), ("three", text + "\n" + log + b),
                                          ("bad", "not a note")])
        #expect(merged.map(\.0) == ["one + three", "two", "bad"])
        #expect(merged[0].1 == text + "\n" + log + a + b)
        #expect(merged[1].1 == other + "\n" + log + a)
        #expect(merged[2].1 == "not a note")
        #expect(CosignedNotes.size(of: merged[0].1) == 5)
    }

    /// A witness that cosigned one checkpoint twice (a retry: another
    /// timestamp, so another line of the same key) adds one line: a note with
    /// two signatures of one key does not parse.
    @Test func oneLinePerKey() throws {
        func line(_ name: String, _ id: UInt8, _ fill: UInt8) -> String {
            "— \(name) " + Data([0, 0, 0, id] + [UInt8](repeating: fill, count: 64)).base64EncodedString() + "\n"
        }
        let text = "example/log\n5\n\(Data(repeating: 0, count: 32).base64EncodedString())\n"
        let merged = CosignedNotes.merge([("one", text + "\n" + line("example/log", 1, 1) + line("w.a", 2, 2)),
                                          ("two", text + "\n" + line("example/log", 1, 1) + line("w.a", 2, 9))])
        #expect(merged.count == 1)
        #expect(merged[0].1 == text + "\n" + line("example/log", 1, 1) + line("w.a", 2, 2))
        #expect(try SignedNote.parse(merged[0].1).signatures.count == 2)
    }
}
