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
        var w = ByteWriter(capacity: 12)
        w.u32(Format.frameMagic); w.u32(headerLength); w.u32(payloadLength)
        let h = Hash.sha256(w.bytes)
        return UInt32(littleEndian: UInt32(truncatingIfNeeded: h.w0))
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
        precondition(buf.count >= Format.framePrefixSize)
        var r = ByteReader(buf)
        let magic = try! r.u32(), hl = try! r.u32(), pl = try! r.u32(), check = try! r.u32()
        guard magic == Format.frameMagic else { throw .badMagic(magic) }
        let expected = prefixCheck(headerLength: hl, payloadLength: pl)
        guard check == expected else { throw .badCheck(expected: expected, found: check) }
        guard hl >= UInt32(Format.headerFixedSize + 1), hl <= Format.maxHeaderSize, pl <= Format.maxPayloadSize else {
            throw .lengthOutOfRange(header: hl, payload: pl)
        }
        return Prefix(headerLength: hl, payloadLength: pl)
    }
}
