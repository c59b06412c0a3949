/// RFC 9162 §2.1.3 inclusion proofs and §2.1.4 consistency proofs over the
/// store's Merkle tree (see MerkleTree.swift): generation from a source of
/// subtree hashes, and verification from the proof alone. Both are
/// O(log n) in size and in hashes computed.
public enum MerkleProof {
    /// MTH of the leaves [start, end): the tree cache answers it in O(log n).
    public typealias SubtreeHash = (_ start: UInt64, _ end: UInt64) throws -> Hash

    /// Why a proof does not prove what it claims, with the values compared
    /// (in the manner of transparency-dev/merkle's RootMismatchError
    /// {ExpectedRoot, CalculatedRoot}).
    public enum Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public enum Proof: String, Sendable { case inclusion, consistency }
        /// The leaf index is not below the tree size.
        case leafOutsideTree(index: UInt64, size: UInt64)
        /// A consistency proof from a larger tree to a smaller one.
        case sizeDecreased(old: UInt64, new: UInt64)
        /// The proof has more hashes than the path through the tree.
        case tooLong(Proof)
        /// The proof has fewer hashes than the path through the tree.
        case tooShort(Proof)
        /// An inclusion proof that leads to another root than the tree head's.
        case rootMismatch(expected: Hash, calculated: Hash)
        /// A consistency proof between equal sizes (or from the empty tree) that is not empty.
        case notEmpty(old: UInt64, new: UInt64)
        /// Two tree heads of one size with different roots.
        case fork(size: UInt64, old: Hash, new: Hash)
        /// An empty consistency proof between two sizes that need one.
        case empty
        /// The consistency proof does not rebuild the old tree head: the old tree is not a prefix.
        case oldRootMismatch(expected: Hash, calculated: Hash)
        /// The consistency proof does not lead to the new tree head.
        case newRootMismatch(expected: Hash, calculated: Hash)

        public var description: String {
            switch self {
            case let .leafOutsideTree(index, size): "leaf \(index) is not in a tree of size \(size)"
            case let .sizeDecreased(old, new): "old size \(old) is larger than new size \(new): the tree went back"
            case .tooLong(.inclusion): "inclusion proof is longer than the tree is deep"
            case .tooShort(.inclusion): "inclusion proof is shorter than the tree is deep"
            case let .tooLong(kind): "\(kind.rawValue) proof is too long"
            case let .tooShort(kind): "\(kind.rawValue) proof is too short"
            case let .rootMismatch(expected, calculated): "inclusion proof leads to root \(calculated.hex), not \(expected.hex)"
            case let .notEmpty(old, _) where old == 0: "a consistency proof from the empty tree must be empty"
            case .notEmpty: "a consistency proof between equal sizes must be empty"
            case let .fork(size, old, new): "two different roots at size \(size): a fork (\(old.hex) and \(new.hex))"
            case .empty: "empty consistency proof"
            case let .oldRootMismatch(expected, calculated):
                "consistency proof does not lead to the old root \(expected.hex) (it leads to \(calculated.hex)): the old tree is not a prefix"
            case let .newRootMismatch(expected, calculated):
                "consistency proof does not lead to the new root \(expected.hex) (it leads to \(calculated.hex))"
            }
        }
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
        guard index < size else { throw Invalid.leafOutsideTree(index: index, size: size) }
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
        guard m <= n else { throw Invalid.sizeDecreased(old: m, new: n) }
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
        guard index < size else { throw .leafOutsideTree(index: index, size: size) }
        var fn = index, sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw .tooLong(.inclusion) }
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
        guard sn == 0 else { throw .tooShort(.inclusion) }
        return r
    }

    public static func verifyInclusion(index: UInt64, size: UInt64, leafHash: Hash, proof: [Hash], root: Hash) throws(Invalid) {
        let r = try rootFromInclusion(index: index, size: size, leafHash: leafHash, proof: proof)
        guard r == root else { throw .rootMismatch(expected: root, calculated: r) }
    }

    /// RFC 9162 §2.1.4.2: checks that `root1` (size `m`) and `root2` (size
    /// `n`) are heads of one append-only tree.
    public static func verifyConsistency(old m: UInt64, new n: UInt64, root1: Hash, root2: Hash, proof: [Hash]) throws(Invalid) {
        guard m <= n else { throw .sizeDecreased(old: m, new: n) }
        if m == n {
            guard proof.isEmpty else { throw .notEmpty(old: m, new: n) }
            guard root1 == root2 else { throw .fork(size: m, old: root1, new: root2) }
            return
        }
        if m == 0 {
            guard proof.isEmpty else { throw .notEmpty(old: m, new: n) }
            return
        }
        guard !proof.isEmpty else { throw .empty }
        var p = proof[...]
        if m & (m - 1) == 0 { p = ArraySlice([root1] + p) }   // m is a power of two: the old root is a node of the new tree
        var fn = m - 1, sn = n - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = p.first!, sr = p.first!
        for c in p.dropFirst() {
            guard sn != 0 else { throw .tooLong(.consistency) }
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
        guard sn == 0 else { throw .tooShort(.consistency) }
        guard fr == root1 else { throw .oldRootMismatch(expected: root1, calculated: fr) }
        guard sr == root2 else { throw .newRootMismatch(expected: root2, calculated: sr) }
    }
}
