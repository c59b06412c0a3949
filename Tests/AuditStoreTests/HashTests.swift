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
        // FIPS 180-2, appendix B.2 (two blocks: the padding's length spills
        // into a block of its own) and B.3 (one million 'a').
        #expect(Hash.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hash.sha256([UInt8](repeating: 0x61, count: 1_000_000)).hex
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Where the CPU has SHA-NI the shim runs BoringSSL's SHA-NI block
    /// function itself and pads on the stack: the tests above check that path
    /// here, and this that it is the one taken (and at any alignment).
    @Test func theDirectPathRunsWhereTheCPUHasSHANI() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ").map(String.init) } ?? []
        if flags.contains("sha_ni") && flags.contains("ssse3") { #expect(Hash.usesSHAExtensions) }
        let bytes = (0..<400).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for start in 0..<8 {
            for length in [0, 55, 56, 63, 64, 65, 119, 120, 200] {
                let slice = Array(bytes[start..<start + length])
                let direct = bytes.withUnsafeBytes { Hash.sha256(UnsafeRawBufferPointer(rebasing: $0[start..<start + length])) }
                #expect(direct == Hash(SHA256.hash(data: slice)), "start \(start), length \(length)")
            }
        }
    }

    @Test func aLargeBufferToo() {
        let big = [UInt8](repeating: 0x61, count: 1 << 20)
        #expect(Hash.sha256(big) == Hash(SHA256.hash(data: big)))
    }
}
