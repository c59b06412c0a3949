/// The RFC 9162 (RFC 6962 §2.1) Merkle tree over record hashes.
///
///   leaf = SHA-256(0x00 || record hash)
///   node = SHA-256(0x01 || left || right)
///   root of the empty tree = SHA-256("")
///
/// `CompactRange` keeps the roots of the perfect subtrees covering [0, size):
/// O(log n) hashes, amortised O(1) hashing per appended leaf.
public enum MerkleTree {
    public static let leafPrefix: UInt8 = 0x00
    public static let nodePrefix: UInt8 = 0x01

    public static var emptyRoot: Hash { Hash.sha256([]) }

    public static func leafHash(_ recordHash: Hash) -> Hash {
        withUnsafeTemporaryAllocation(byteCount: 33, alignment: 8) { buf in
            buf[0] = leafPrefix
            recordHash.withBytes { buf.baseAddress!.advanced(by: 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            return Hash.sha256(UnsafeRawBufferPointer(buf))
        }
    }

    /// Leaf hash of arbitrary leaf data (used by the RFC 6962 test vectors).
    public static func leafHash(data: [UInt8]) -> Hash { Hash.sha256([leafPrefix] + data) }

    public static func nodeHash(_ left: Hash, _ right: Hash) -> Hash {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buf in
            buf[0] = nodePrefix
            left.withBytes { buf.baseAddress!.advanced(by: 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            right.withBytes { buf.baseAddress!.advanced(by: 33).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            return Hash.sha256(UnsafeRawBufferPointer(buf))
        }
    }

    /// Root of the tree over the given leaf hashes, computed directly (for tests).
    public static func root(leaves: ArraySlice<Hash>) -> Hash {
        switch leaves.count {
        case 0: return emptyRoot
        case 1: return leaves.first!
        default:
            var k = 1
            while k << 1 < leaves.count { k <<= 1 }
            let mid = leaves.startIndex + k
            return nodeHash(root(leaves: leaves[..<mid]), root(leaves: leaves[mid...]))
        }
    }
}

/// The compact range [0, size) of a Merkle tree: one hash per set bit of `size`,
/// largest subtree first.
public struct CompactRange: Equatable, Sendable {
    public private(set) var size: UInt64 = 0
    public private(set) var hashes: [Hash] = []

    public init() {}

    public init?(size: UInt64, hashes: [Hash]) {
        guard size.nonzeroBitCount == hashes.count else { return nil }
        self.size = size
        self.hashes = hashes
    }

    /// Appends a leaf (already leaf-hashed).
    public mutating func append(leaf: Hash) { append(leaf: leaf) { _, _ in } }

    /// Appends a leaf; `completed` sees each perfect subtree the leaf
    /// completes, by level (1: two leaves, 2: four, …), smallest first.
    public mutating func append(leaf: Hash, completed: (_ level: Int, _ root: Hash) -> Void) {
        append(leaf: leaf, completing: UnsafeBufferPointer(start: nil, count: 0), completed: completed)
    }

    /// Appends a leaf whose first `completing.count` completed subtrees
    /// the caller has hashed already, from the same leaves (the checker's
    /// `HashBatch`, on all cores); the others are hashed here.
    mutating func append(leaf: Hash, completing: UnsafeBufferPointer<Hash>, completed: (_ level: Int, _ root: Hash) -> Void) {
        var h = leaf
        var s = size
        var level = 0
        while s & 1 == 1 {
            let left = hashes.removeLast()
            h = level < completing.count ? completing[level] : MerkleTree.nodeHash(left, h)
            s >>= 1
            level += 1
            completed(level, h)
        }
        hashes.append(h)
        size += 1
    }

    public mutating func append(recordHash: Hash) { append(leaf: MerkleTree.leafHash(recordHash)) }

    /// The tree root: the subtrees folded right to left.
    public var root: Hash {
        guard var h = hashes.last else { return MerkleTree.emptyRoot }
        for left in hashes.dropLast().reversed() { h = MerkleTree.nodeHash(left, h) }
        return h
    }
}
