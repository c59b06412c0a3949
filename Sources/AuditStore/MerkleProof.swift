/// RFC 9162 §2.1.3 inclusion proofs and §2.1.4 consistency proofs over the
/// store's Merkle tree (see MerkleTree.swift): generation from a source of
/// subtree hashes, and verification from the proof alone. Both are
/// O(log n) in size and in hashes computed.
public enum MerkleProof {
    /// MTH of the leaves [start, end): the tree cache answers it in O(log n).
    public typealias SubtreeHash = (_ start: UInt64, _ end: UInt64) throws -> Hash

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The largest power of two smaller than n (n > 1).
    static func split(_ n: UInt64) -> UInt64 {
        var k: UInt64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    // MARK: Generation

    /// PATH(m, D[start:end]) of RFC 9162 §2.1.3.1: the audit path of leaf
    /// `index` in the tree of size `size`.
    public static func inclusion(index: UInt64, size: UInt64, subtree: SubtreeHash) throws -> [Hash] {
        guard index < size else { throw Invalid(reason: "leaf \(index) is not in a tree of size \(size)") }
        return try path(index, 0, size, subtree)
    }

    private static func path(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ subtree: SubtreeHash) throws -> [Hash] {
        let n = end - start
        if n == 1 { return [] }
        let k = split(n)
        if m < k { return try path(m, start, start + k, subtree) + [subtree(start + k, end)] }
        return try path(m - k, start + k, end, subtree) + [subtree(start, start + k)]
    }

    /// PROOF(m, D[n]) of RFC 9162 §2.1.4.1: proves that the tree of size
    /// `old` is a prefix of the tree of size `new`.
    public static func consistency(old m: UInt64, new n: UInt64, subtree: SubtreeHash) throws -> [Hash] {
        guard m <= n else { throw Invalid(reason: "old size \(m) is larger than new size \(n)") }
        if m == 0 || m == n { return [] }
        return try subproof(m, 0, n, true, subtree)
    }

    private static func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ b: Bool, _ subtree: SubtreeHash) throws -> [Hash] {
        let n = end - start
        if m == n { return b ? [] : [try subtree(start, end)] }
        let k = split(n)
        if m <= k { return try subproof(m, start, start + k, b, subtree) + [subtree(start + k, end)] }
        return try subproof(m - k, start + k, end, false, subtree) + [subtree(start, start + k)]
    }

    // MARK: Verification

    /// The root that `proof` yields for `leafHash` at `index` in a tree of
    /// `size` (RFC 9162 §2.1.3.2).
    public static func rootFromInclusion(index: UInt64, size: UInt64, leafHash: Hash, proof: [Hash]) throws(Invalid) -> Hash {
        guard index < size else { throw Invalid(reason: "leaf \(index) is not in a tree of size \(size)") }
        var fn = index, sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw Invalid(reason: "inclusion proof is longer than the tree is deep") }
            if fn & 1 == 1 || fn == sn {
                r = MerkleTree.nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                r = MerkleTree.nodeHash(r, p)
            }
            fn >>= 1; sn >>= 1
        }
        guard sn == 0 else { throw Invalid(reason: "inclusion proof is shorter than the tree is deep") }
        return r
    }

    public static func verifyInclusion(index: UInt64, size: UInt64, leafHash: Hash, proof: [Hash], root: Hash) throws(Invalid) {
        let r = try rootFromInclusion(index: index, size: size, leafHash: leafHash, proof: proof)
        guard r == root else { throw Invalid(reason: "inclusion proof leads to root \(r.hex), not \(root.hex)") }
    }

    /// RFC 9162 §2.1.4.2: checks that `root1` (size `m`) and `root2` (size
    /// `n`) are heads of one append-only tree.
    public static func verifyConsistency(old m: UInt64, new n: UInt64, root1: Hash, root2: Hash, proof: [Hash]) throws(Invalid) {
        guard m <= n else { throw Invalid(reason: "old size \(m) is larger than new size \(n): the tree went back") }
        if m == n {
            guard proof.isEmpty else { throw Invalid(reason: "a consistency proof between equal sizes must be empty") }
            guard root1 == root2 else { throw Invalid(reason: "two different roots at size \(m): a fork") }
            return
        }
        if m == 0 {
            guard proof.isEmpty else { throw Invalid(reason: "a consistency proof from the empty tree must be empty") }
            return
        }
        guard !proof.isEmpty else { throw Invalid(reason: "empty consistency proof") }
        var p = proof[...]
        if m & (m - 1) == 0 { p = ArraySlice([root1] + p) }   // m is a power of two: the old root is a node of the new tree
        var fn = m - 1, sn = n - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = p.first!, sr = p.first!
        for c in p.dropFirst() {
            guard sn != 0 else { throw Invalid(reason: "consistency proof is too long") }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleTree.nodeHash(c, fr)
                sr = MerkleTree.nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                sr = MerkleTree.nodeHash(sr, c)
            }
            fn >>= 1; sn >>= 1
        }
        guard sn == 0 else { throw Invalid(reason: "consistency proof is too short") }
        guard fr == root1 else { throw Invalid(reason: "consistency proof does not lead to the old root \(root1.hex): the old tree is not a prefix") }
        guard sr == root2 else { throw Invalid(reason: "consistency proof does not lead to the new root \(root2.hex)") }
    }
}
