import Crypto
import Testing
@testable import AuditStore

/// `Hash.sha256` (BoringSSL's one-shot through CAuditStoreShim) against
/// swift-crypto's `SHA256`, on every length that crosses a block boundary
/// for the store's inputs: the frame prefix (12 bytes), a Merkle leaf (33)
/// and node (65), headers and small payloads.
@Suite struct HashTests {
    @Test func agreesWithSwiftCryptoOnEveryLengthUpTo300() {
        var bytes = [UInt8]()
        var x: UInt32 = 2_463_534_242
        for length in 0...300 {
            #expect(Hash.sha256(bytes) == Hash(SHA256.hash(data: bytes)), "length \(length)")
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            bytes.append(UInt8(truncatingIfNeeded: x))
        }
    }

    @Test func knownValues() {
        #expect(Hash.sha256([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hash.sha256(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func aLargeBufferToo() {
        let big = [UInt8](repeating: 0x61, count: 1 << 20)
        #expect(Hash.sha256(big) == Hash(SHA256.hash(data: big)))
    }
}
