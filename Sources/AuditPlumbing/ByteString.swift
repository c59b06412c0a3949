/// A string that is its UTF-8 bytes: equal, hashed and ordered byte by byte.
///
/// Swift's `String` compares by canonical equivalence and splits by grapheme
/// cluster, so NFC "é" (C3 A9) and NFD "e\u{301}" (65 CC 81) are one
/// dictionary key to it, and "/" followed by a combining mark is one
/// `Character` that is not "/". Names and paths in a store are byte strings
/// (FORMAT.md "Paths"): two names that differ in a byte are two files. Every
/// map keyed by a name or path uses this key; every comparison uses the
/// bytewise methods below.
public struct ByteString: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (a: ByteString, b: ByteString) -> Bool { a.string.sameBytes(as: b.string) }

    public static func < (a: ByteString, b: ByteString) -> Bool { a.string.bytesPrecede(b.string) }

    public func hash(into hasher: inout Hasher) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { for b in string.utf8 { hasher.combine(b) } }
        hasher.combine(string.utf8.count)
    }

    public var description: String { string }
}

extension String {
    /// Whether the UTF-8 bytes are the same (never canonical equivalence).
    /// Two Strings compare their contiguous bytes directly: the generic
    /// version below, called from another module, walks both through the
    /// UTF-8 views' witness tables, ~1,000 instructions for a short path
    /// (measured with callgrind: 30k per open, in the repeat folding of
    /// decisions; docs/MOUNT.md "Benchmark").
    public func sameBytes(as other: String) -> Bool {
        var a = self, b = other
        let n = a.utf8.count
        guard n == b.utf8.count else { return false }
        return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }
}

extension StringProtocol {
    /// Whether the UTF-8 bytes are the same (never canonical equivalence).
    public func sameBytes<Other: StringProtocol>(as other: Other) -> Bool {
        utf8.count == other.utf8.count && utf8.elementsEqual(other.utf8)
    }

    /// Whether the UTF-8 bytes start with those of `prefix`.
    public func hasBytePrefix<Prefix: StringProtocol>(_ prefix: Prefix) -> Bool { utf8.starts(with: prefix.utf8) }

    /// Whether the UTF-8 bytes end with those of `suffix`.
    public func hasByteSuffix<Suffix: StringProtocol>(_ suffix: Suffix) -> Bool {
        let n = suffix.utf8.count
        return utf8.count >= n && utf8.suffix(n).elementsEqual(suffix.utf8)
    }

    /// Whether the UTF-8 bytes sort before those of `other` (unsigned, like memcmp).
    public func bytesPrecede<Other: StringProtocol>(_ other: Other) -> Bool { utf8.lexicographicallyPrecedes(other.utf8) }
}
