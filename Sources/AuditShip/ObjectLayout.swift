import AuditStore

/// The names of a store's objects in a bucket (FORMAT.md "Shipped objects"):
///
///     object   := base store-id "/" name
///     base     := "" | prefix "/"                (the PREFIX of s3://BUCKET/PREFIX)
///     store-id := 32 lowercase hex digits        (the identity file's id)
///     name     := "auditfs-store"                 the identity file, byte for byte
///               | "segments/" segment "/" from "-" to
///                                                 bytes [from, to) of segment file `segment`
///     segment  := 20 decimal digits ".seg"        (the segment file's name)
///     from, to := 20 decimal digits, from < to
///
/// Every name has exactly one spelling, so two objects never stand for the
/// same bytes under different names.
public struct ObjectLayout: Sendable, Equatable {
    /// The store's part of the bucket: `base` + store id + "/".
    public let storePrefix: String

    public init(prefix: String, storeID: String) {
        storePrefix = (prefix.isEmpty ? "" : prefix + "/") + storeID + "/"
    }

    /// The layout of the store whose own prefix (ending in "/") is `storePrefix`.
    public init(storePrefix: String) { self.storePrefix = storePrefix }

    public static let identityName = Format.identityFile
    static let segmentsPart = Format.segmentsDirectory + "/"

    public var identityKey: String { storePrefix + Self.identityName }

    /// The object of bytes [from, to) of segment `segment`.
    public func chunkKey(_ chunk: Chunk) -> String {
        storePrefix + Self.segmentsPart + chunk.segment + "/" + Self.digits(chunk.from) + "-" + Self.digits(chunk.to)
    }

    /// A range of one segment file's bytes: what one object holds.
    public struct Chunk: Sendable, Equatable, Hashable, CustomStringConvertible {
        public var segment: String
        public var from: UInt64
        public var to: UInt64
        public init(segment: String, from: UInt64, to: UInt64) { self.segment = segment; self.from = from; self.to = to }
        public var length: UInt64 { to - from }
        public var description: String { "\(segment) [\(from), \(to))" }
    }

    /// What a key under this store's prefix names.
    public enum Name: Equatable, Sendable {
        case identity
        case chunk(Chunk)
    }

    /// Parses `key` (the whole key); nil when it is not under this store's
    /// prefix or is not a name of the grammar in exactly its one spelling.
    public func parse(_ key: String) -> Name? {
        guard key.hasBytePrefix(storePrefix) else { return nil }
        let rest = Array(key.utf8.dropFirst(storePrefix.utf8.count))
        if rest == Array(Self.identityName.utf8) { return .identity }
        let part = Array(Self.segmentsPart.utf8)
        // "segments/" + 24 + "/" + 20 + "-" + 20
        guard rest.count == part.count + 24 + 1 + 20 + 1 + 20, Array(rest[0..<part.count]) == part else { return nil }
        let seg = Array(rest[part.count..<part.count + 24])
        let slash = part.count + 24
        guard SegmentName.isValid(seg), rest[slash] == UInt8(ascii: "/"), rest[slash + 21] == UInt8(ascii: "-"),
              let from = Self.number(rest[(slash + 1)..<(slash + 21)]),
              let to = Self.number(rest[(slash + 22)...]), from < to else { return nil }
        return .chunk(Chunk(segment: String(decoding: seg, as: UTF8.self), from: from, to: to))
    }

    /// The store id of a key of the form base + 32 hex + "/" + anything, with
    /// `base` = prefix + "/" (or "" for an empty prefix): how a reader finds
    /// the stores under a prefix.
    public static func storeID(of key: String, prefix: String) -> String? {
        let base = prefix.isEmpty ? "" : prefix + "/"
        guard key.hasBytePrefix(base) else { return nil }
        let rest = Array(key.utf8.dropFirst(base.utf8.count))
        guard rest.count > 33, rest[32] == UInt8(ascii: "/") else { return nil }
        let id = rest[0..<32]
        guard id.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    static func digits(_ n: UInt64) -> String {
        let s = String(n)
        return String(repeating: "0", count: 20 - s.utf8.count) + s
    }

    /// Exactly 20 ASCII digits to a UInt64 (nil if not, or if it overflows).
    static func number(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard bytes.count == 20 else { return nil }
        var v: UInt64 = 0
        for b in bytes {
            guard (0x30...0x39).contains(b) else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }
}

/// A segment file's name: 20 decimal digits + ".seg" (FORMAT.md "Store directory").
enum SegmentName {
    static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.count == 24 && ObjectLayout.number(bytes[0..<20]) != nil && Array(bytes[20...]) == Array(Format.segmentSuffix.utf8)
    }
    static func isValid(_ name: String) -> Bool { isValid(Array(name.utf8)) }
}
