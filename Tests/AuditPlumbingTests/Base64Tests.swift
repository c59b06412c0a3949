import AuditPlumbing
import Testing

/// Strict base64: one text for one byte string.
@Suite struct Base64Tests {
    @Test func roundTrips() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.decode("") == [])
    }

    /// "AA==" is 0x00; "AB==" decodes to the same byte with a padding bit
    /// set, "AAE=" likewise for two bytes: refused.
    @Test(arguments: ["AB==", "AP==", "AAF=", "AAB=", "AA", "AA=", "AAA", " AA==", "AA==\n", "A===", "AA==AA==", "-_==", "AA=A"])
    func refusesNonCanonicalText(_ text: String) {
        #expect(Base64.decode(text) == nil, "\(text)")
    }

    @Test func thirtyTwoByteHashWithChangedPaddingBits() {
        let hash = [UInt8](repeating: 0xab, count: 32)
        let good = Base64.encode(hash)
        #expect(good.hasSuffix("="))
        // The last character before "=" carries 2 unused bits for 32 bytes.
        var chars = Array(good)
        let i = chars.count - 2
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let v = alphabet.firstIndex(of: chars[i])!
        chars[i] = alphabet[v | 1]
        let bad = String(chars)
        #expect(bad != good)
        #expect(Base64.decode(bad) == nil)
    }
}
