import AuditPlumbing
internal import CAuditStoreShim
import Crypto
import Foundation

/// A SHA-256 value held inline (no heap allocation), used for record hashes,
/// payload digests and Merkle tree nodes. The bytes are kept in on-disk order.
public struct Hash: Hashable, Sendable, CustomStringConvertible, BitwiseCopyable {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let zero = Hash(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// Reads 32 bytes; `bytes.count` must be at least 32.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 32)
        w0 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        w1 = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        w2 = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        w3 = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    public init(_ digest: SHA256Digest) {
        self = digest.withUnsafeBytes { Hash(bytes: $0) }
    }

    public init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
        self = bytes.withUnsafeBytes { Hash(bytes: $0) }
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        withBytes { src in out.withUnsafeMutableBytes { $0.copyMemory(from: src) } }
        return out
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = self
        return try withUnsafeBytes(of: &copy) { try body($0) }
    }

    public var hex: String { withBytes { Hex.encode($0) } }

    public var description: String { hex }

    /// SHA-256 of the given bytes: BoringSSL's, the same as swift-crypto's
    /// `SHA256.hash(data:)`, without the digest-context object that costs
    /// more than the hashing of a short input, and with SHA-NI without
    /// BoringSSL's per-call set-up either (CAuditStoreShim).
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> Hash {
        var h = Hash.zero
        withUnsafeMutableBytes(of: &h) { auditfs_store_sha256(bytes.baseAddress, bytes.count, $0.baseAddress) }
        return h
    }

    /// Whether `sha256` runs BoringSSL's SHA-NI block function directly (CAuditStoreShim).
    static var usesSHAExtensions: Bool { auditfs_store_sha256_direct() != 0 }

    public static func sha256(_ bytes: [UInt8]) -> Hash {
        bytes.withUnsafeBytes { sha256($0) }
    }
}
