/// The fuzzers' input mutator: seeded, so a run is the same on every machine
/// and a failing iteration can be replayed from its seed and number.
///
/// Mutations (stacked 1 to 4 deep on a seed input): bit flips, random bytes,
/// byte inserts and deletes, splices with another seed, boundary integers
/// (1, 2, 4, 8 bytes, both byte orders, and as decimal text), long repeats,
/// invalid UTF-8 sequences, dictionary tokens, cuts.
struct Mutator {
    /// SplitMix64: small, fast, and identical everywhere.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
        mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }
    }

    /// The largest input a mutation may produce.
    static let maxSize = 256 << 10

    static let boundaryValues: [UInt64] = [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFE,
        104, 144, 8192, 8193, 4096, 4097, 255, 256, 64 << 20, (64 << 20) + 1,
    ]

    static let boundaryTexts: [String] = [
        "0", "-0", "1", "-1", "255", "256", "65535", "65536", "2147483647", "2147483648", "-2147483649", "4294967295",
        "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "99999999999", "106752", "1e309", "0x10", "00000000000000",
        "9999-12-31", "0000-01-01", "2262-04-12", "1677-09-21", "60", "24", "12", "31", "32",
    ]

    static let invalidUTF8: [[UInt8]] = [
        [0xFF], [0xFE], [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80],
        [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0x00],
        // Valid but awkward: combining mark, zero-width joiner and space, RTL override, BOM, em dash.
        [0xCC, 0x81], [0xE2, 0x80, 0x8D], [0xE2, 0x80, 0x8B], [0xE2, 0x80, 0xAE], [0xEF, 0xBB, 0xBF], [0xE2, 0x80, 0x94],
    ]

    var random: Random
    /// Target-specific tokens (keywords, separators) to insert or overwrite with.
    let dictionary: [[UInt8]]

    init(seed: UInt64, dictionary: [String] = []) {
        random = Random(seed: seed)
        self.dictionary = dictionary.map { Array($0.utf8) } + Self.boundaryTexts.map { Array($0.utf8) }
    }

    /// A mutant of `input`; `other` is another seed, for splices.
    mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + random.below(4)) { step(&b, other) }
        if b.count > Self.maxSize { b.removeLast(b.count - Self.maxSize) }
        return b
    }

    private mutating func position(_ b: [UInt8], inclusive: Bool = false) -> Int { random.below(b.count + (inclusive ? 1 : 0)) }

    private mutating func step(_ b: inout [UInt8], _ other: [UInt8]) {
        switch random.below(12) {
        case 0 where !b.isEmpty:   // flip one bit
            let i = position(b); b[i] ^= 1 << UInt8(random.below(8))
        case 1 where !b.isEmpty:   // random byte
            b[position(b)] = UInt8(truncatingIfNeeded: random.next())
        case 2:                    // insert random bytes
            let n = 1 + random.below(random.chance(8) ? 64 : 4)
            b.insert(contentsOf: (0..<n).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: position(b, inclusive: true))
        case 3 where !b.isEmpty:   // delete a run
            let i = position(b), n = 1 + random.below(min(b.count - i, random.chance(4) ? 256 : 8))
            b.removeSubrange(i..<min(b.count, i + n))
        case 4 where !other.isEmpty:   // splice: our head, another seed's tail (or a chunk of it inserted)
            let j = random.below(other.count)
            if random.chance(2) {
                b = Array(b.prefix(position(b, inclusive: true))) + other[j...]
            } else {
                let n = 1 + random.below(min(other.count - j, 512))
                b.insert(contentsOf: other[j..<j + n], at: position(b, inclusive: true))
            }
        case 5 where !b.isEmpty:   // boundary integer, binary, overwriting
            let width = [1, 2, 4, 8][random.below(4)]
            var v = Self.boundaryValues[random.below(Self.boundaryValues.count)]
            if random.chance(4) { v = v &+ UInt64(bitPattern: Int64(random.below(5) - 2)) }
            var bytes = (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
            if random.chance(3) { bytes.reverse() }
            let i = position(b)
            for (k, x) in bytes.enumerated() where i + k < b.count { b[i + k] = x }
        case 6:                    // boundary number or token as text, inserted or overwriting
            let t = dictionary[random.below(dictionary.count)]
            let i = position(b, inclusive: true)
            if random.chance(2) || i + t.count > b.count {
                b.insert(contentsOf: t, at: i)
            } else {
                b.replaceSubrange(i..<i + t.count, with: t)
            }
        case 7 where !b.isEmpty:   // long repeat of a chunk
            let i = position(b), n = 1 + random.below(min(b.count - i, 16))
            let times = [2, 16, 256, 4096][random.below(4)]
            let chunk = Array(b[i..<i + n])
            var rep: [UInt8] = []
            rep.reserveCapacity(n * times)
            for _ in 0..<times { rep += chunk }
            b.insert(contentsOf: rep, at: i)
        case 8:                    // invalid (or awkward) UTF-8
            b.insert(contentsOf: Self.invalidUTF8[random.below(Self.invalidUTF8.count)], at: position(b, inclusive: true))
        case 9 where !b.isEmpty:   // cut the end off
            b.removeLast(1 + random.below(b.count))
        case 10 where b.count > 1: // duplicate or swap two chunks
            let i = position(b), j = position(b), n = 1 + random.below(min(b.count - max(i, j), 64))
            if random.chance(2) {
                b.insert(contentsOf: b[i..<i + n], at: j)
            } else {
                let x = Array(b[i..<i + n]), y = Array(b[j..<j + n])
                b.replaceSubrange(i..<i + n, with: y)
                b.replaceSubrange(j..<j + n, with: x)
            }
        default:                   // arithmetic on one byte
            if !b.isEmpty { let i = position(b); b[i] = b[i] &+ UInt8(truncatingIfNeeded: random.below(35) - 17) }
        }
    }
}
