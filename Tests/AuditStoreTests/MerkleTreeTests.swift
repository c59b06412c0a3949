import Testing
@testable import AuditStore

/// RFC 6962 / RFC 9162 test vectors: the leaves and roots published with
/// Certificate Transparency (also in transparency-dev/merkle's testonly data).
@Suite struct MerkleTreeTests {
    static let leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test func emptyTree() {
        #expect(CompactRange().root.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test(arguments: 1...8) func publishedRoots(size: Int) {
        var range = CompactRange()
        for leaf in Self.leaves.prefix(size) { range.append(leaf: MerkleTree.leafHash(data: Self.bytes(leaf))) }
        #expect(range.size == UInt64(size))
        #expect(range.root.hex == Self.roots[size - 1])
        #expect(range.hashes.count == size.nonzeroBitCount)
    }

    @Test func compactRangeMatchesDirectComputation() {
        var range = CompactRange()
        var leaves: [Hash] = []
        for i in 0..<300 {
            let leaf = MerkleTree.leafHash(data: Array("leaf \(i)".utf8))
            leaves.append(leaf)
            range.append(leaf: leaf)
            #expect(range.root == MerkleTree.root(leaves: leaves[...]), "size \(i + 1)")
        }
    }

    @Test func leafHashOfRecordHashIsDomainSeparated() {
        let h = Hash.sha256(Array("record".utf8))
        #expect(MerkleTree.leafHash(h) == Hash.sha256([0] + h.bytes))
        #expect(MerkleTree.nodeHash(h, h) == Hash.sha256([1] + h.bytes + h.bytes))
    }
}
