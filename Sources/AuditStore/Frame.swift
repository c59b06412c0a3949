/// The frame around a record on disk (FORMAT.md "Frame"):
///
///   prefix (16 bytes): magic u32 | header-length u32 | payload-length u32 | prefix-check u32
///   header, payload, record hash (32 bytes)
///
/// The prefix check covers the two lengths, so a damaged length is caught as
/// damage instead of being followed (or mistaken for a torn tail).
public enum Frame {
    public struct Prefix: Equatable, Sendable {
        public var headerLength: UInt32
        public var payloadLength: UInt32

        public var frameLength: Int {
            Format.framePrefixSize + Int(headerLength) + Int(payloadLength) + Format.frameTrailerSize
        }
    }

    /// First 4 bytes of SHA-256(magic || header-length || payload-length), as stored.
    static func prefixCheck(headerLength: UInt32, payloadLength: UInt32) -> UInt32 {
        // The 12 bytes as stored, on the stack (a homogeneous tuple is contiguous).
        var words = (Format.frameMagic.littleEndian, headerLength.littleEndian, payloadLength.littleEndian)
        let h = withUnsafeBytes(of: &words) { Hash.sha256($0) }
        return UInt32(littleEndian: UInt32(truncatingIfNeeded: h.w0))
    }

    /// The 16 prefix bytes, as a value (no allocation): the writer stores
    /// them with `withUnsafeBytes(of:)`.
    public typealias EncodedPrefix = (UInt32, UInt32, UInt32, UInt32)

    public static func prefix(headerLength: UInt32, payloadLength: UInt32, check: UInt32) -> EncodedPrefix {
        (Format.frameMagic.littleEndian, headerLength.littleEndian, payloadLength.littleEndian, check.littleEndian)
    }

    public static func encodePrefix(headerLength: UInt32, payloadLength: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.u32(Format.frameMagic); w.u32(headerLength); w.u32(payloadLength)
        w.u32(prefixCheck(headerLength: headerLength, payloadLength: payloadLength))
        return w.bytes
    }

    public enum PrefixError: Error, Equatable {
        case badMagic(UInt32)
        case badCheck(expected: UInt32, found: UInt32)
        case lengthOutOfRange(header: UInt32, payload: UInt32)
    }

    /// Decodes and checks a 16-byte prefix.
    public static func decodePrefix(_ buf: UnsafeRawBufferPointer) throws(PrefixError) -> Prefix {
        var checks = PrefixChecks(slots: 0)
        return try decodePrefix(buf, &checks)
    }

    /// Decodes and checks a 16-byte prefix, taking the check of lengths
    /// seen before from `checks`.
    static func decodePrefix(_ buf: UnsafeRawBufferPointer, _ checks: inout PrefixChecks) throws(PrefixError) -> Prefix {
        precondition(buf.count >= Format.framePrefixSize)
        let magic = UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let hl = UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let pl = UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let check = UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard magic == Format.frameMagic else { throw .badMagic(magic) }
        let expected = checks.check(headerLength: hl, payloadLength: pl)
        guard check == expected else { throw .badCheck(expected: expected, found: check) }
        guard hl >= UInt32(Format.headerFixedSize + 1), hl <= Format.maxHeaderSize, pl <= Format.maxPayloadSize else {
            throw .lengthOutOfRange(header: hl, payload: pl)
        }
        return Prefix(headerLength: hl, payloadLength: pl)
    }
}

/// The prefix checks of the length pairs a reader met last. The check is a
/// function of the two lengths alone, and a segment's frames repeat a few
/// of them (one header length per command name, payloads of similar
/// lines), so a reader hashes each pair once instead of once per frame;
/// every prefix is still compared with its check.
struct PrefixChecks {
    /// (header-length << 32 | payload-length, check) by slot; UInt64.max is
    /// no pair (a header length is at most 8192).
    private var keys: [UInt64]
    private var values: [UInt32]
    private let mask: Int

    /// `slots`: a power of two, or 0 for none (every check computed).
    init(slots: Int = 256) {
        precondition(slots == 0 || slots & (slots - 1) == 0)
        keys = [UInt64](repeating: .max, count: slots)
        values = [UInt32](repeating: 0, count: slots)
        mask = slots - 1
    }

    mutating func check(headerLength: UInt32, payloadLength: UInt32) -> UInt32 {
        guard mask >= 0 else { return Frame.prefixCheck(headerLength: headerLength, payloadLength: payloadLength) }
        let key = UInt64(headerLength) << 32 | UInt64(payloadLength)
        let slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        if keys[slot] == key { return values[slot] }
        let check = Frame.prefixCheck(headerLength: headerLength, payloadLength: payloadLength)
        keys[slot] = key
        values[slot] = check
        return check
    }
}
