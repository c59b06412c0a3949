import Testing
@testable import AuditStore

/// The published RFC 6962 inclusion and consistency vectors (as carried in
/// transparency-dev/merkle's proof tests), and negative probes named after
/// the mutation.
@Suite struct MerkleProofTests {
    static let leaves = MerkleTreeTests.leaves.map { MerkleTree.leafHash(data: MerkleTreeTests.bytes($0)) }
    static let roots = MerkleTreeTests.roots.map { Hash(hex: $0)! }
    static func h(_ s: String) -> Hash { Hash(hex: s)! }

    static func subtree(_ a: UInt64, _ b: UInt64) -> Hash { MerkleTree.root(leaves: leaves[Int(a)..<Int(b)]) }

    /// (leaf index, tree size, proof)
    static let inclusion: [(UInt64, UInt64, [String])] = [
        (0, 1, []),
        (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    ]

    /// (old size, new size, proof)
    static let consistency: [(UInt64, UInt64, [String])] = [
        (1, 1, []),
        (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
        (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    ]

    @Test(arguments: inclusion.indices) func publishedInclusionProofs(i: Int) throws {
        let (index, size, expected) = Self.inclusion[i]
        let proof = try MerkleProof.inclusion(index: index, size: size, subtree: Self.subtree)
        #expect(proof.map(\.hex) == expected)
        try MerkleProof.verifyInclusion(index: index, size: size, leafHash: Self.leaves[Int(index)], proof: proof, root: Self.roots[Int(size) - 1])
        // Negative probes, named after the mutation: every one must fail.
        let root = Self.roots[Int(size) - 1], leaf = Self.leaves[Int(index)]
        let some = Self.h("abacaba000000000000000000000000000000000000000000060061e00123456")
        var probes: [(String, UInt64, UInt64, Hash, [Hash], Hash)] = [
            ("leaf-index-plus-1", index + 1, size, leaf, proof, root),
            ("leaf-index-xor-2", index ^ 2, size, leaf, proof, root),
            ("tree-size-times-2", index, size * 2, leaf, proof, root),
            ("tree-size-half", index, size / 2, leaf, proof, root),
            ("wrong-leaf", index, size, Hash.sha256(Array("WrongLeaf".utf8)), proof, root),
            ("empty-root", index, size, leaf, proof, MerkleTree.emptyRoot),
            ("random-root", index, size, leaf, proof, some),
            ("trailing-root", index, size, leaf, proof + [root], root),
            ("preceding-root", index, size, leaf, [root] + proof, root),
        ]
        if index > 0 { probes.append(("leaf-index-minus-1", index - 1, size, leaf, proof, root)) }
        for j in proof.indices {
            var wrong = proof
            var bytes = wrong[j].bytes; bytes[0] ^= 8
            wrong[j] = bytes.withUnsafeBytes { Hash(bytes: $0) }
            probes.append(("modified-proof@\(j)-bit-3", index, size, leaf, wrong, root))
        }
        if !proof.isEmpty { probes.append(("removed-component", index, size, leaf, Array(proof.dropLast()), root)) }
        if proof.count > 1 { probes.append(("inserted-component", index, size, leaf, [proof[0], some] + proof.dropFirst(), root)) }
        for (name, i2, s2, l2, p2, r2) in probes {
            #expect(throws: MerkleProof.Invalid.self, "\(name) verified") {
                try MerkleProof.verifyInclusion(index: i2, size: s2, leafHash: l2, proof: p2, root: r2)
            }
        }
    }

    @Test(arguments: consistency.indices) func publishedConsistencyProofs(i: Int) throws {
        let (m, n, expected) = Self.consistency[i]
        let proof = try MerkleProof.consistency(old: m, new: n, subtree: Self.subtree)
        #expect(proof.map(\.hex) == expected)
        let r1 = Self.roots[Int(m) - 1], r2 = Self.roots[Int(n) - 1]
        try MerkleProof.verifyConsistency(old: m, new: n, root1: r1, root2: r2, proof: proof)
        guard !proof.isEmpty else { return }
        var probes: [(String, UInt64, UInt64, Hash, Hash, [Hash])] = [
            ("size1-minus-1", m - 1, n, r1, r2, proof), ("size1-plus-1", m + 1, n, r1, r2, proof),
            ("size1-xor-2", m ^ 2, n, r1, r2, proof), ("size2-times-2", m, n * 2, r1, r2, proof),
            ("size2-half", m, n / 2, r1, r2, proof),
            ("wrong-root1", m, n, Hash.sha256(Array("WrongRoot".utf8)), r2, proof),
            ("wrong-root2", m, n, r1, Hash.sha256(Array("WrongRoot".utf8)), proof),
            ("swapped-roots", m, n, r2, r1, proof), ("empty-proof", m, n, r1, r2, []),
            ("trailing-root1", m, n, r1, r2, proof + [r1]), ("trailing-root2", m, n, r1, r2, proof + [r2]),
            ("preceding-root1", m, n, r1, r2, [r1] + proof), ("preceding-root2", m, n, r1, r2, [r2] + proof),
            ("preceding-proof0", m, n, r1, r2, [proof[0]] + proof),
            ("truncated-proof", m, n, r1, r2, Array(proof.dropLast())),
        ]
        for j in proof.indices {
            var wrong = proof
            var bytes = wrong[j].bytes; bytes[0] ^= 16
            wrong[j] = bytes.withUnsafeBytes { Hash(bytes: $0) }
            probes.append(("modified-proof@\(j)-bit-4", m, n, r1, r2, wrong))
        }
        for (name, a, b, x, y, p) in probes {
            #expect(throws: MerkleProof.Invalid.self, "\(name) verified") {
                try MerkleProof.verifyConsistency(old: a, new: b, root1: x, root2: y, proof: p)
            }
        }
    }

    /// Every (index, size) and (old, new) pair up to 40 leaves round-trips.
    @Test func allSmallTreesRoundTrip() throws {
        let leaves = (0..<40).map { MerkleTree.leafHash(data: Array("leaf \($0)".utf8)) }
        func subtree(_ a: UInt64, _ b: UInt64) -> Hash { MerkleTree.root(leaves: leaves[Int(a)..<Int(b)]) }
        for n in 1...UInt64(leaves.count) {
            let root = subtree(0, n)
            for i in 0..<n {
                let p = try MerkleProof.inclusion(index: i, size: n, subtree: subtree)
                #expect(p.count <= 64 - n.leadingZeroBitCount)
                try MerkleProof.verifyInclusion(index: i, size: n, leafHash: leaves[Int(i)], proof: p, root: root)
            }
            for m in 0...n {
                let p = try MerkleProof.consistency(old: m, new: n, subtree: subtree)
                try MerkleProof.verifyConsistency(old: m, new: n, root1: subtree(0, m), root2: root, proof: p)
            }
        }
    }
}
