/// Little-endian encoding into a growing byte buffer. Every integer on disk is
/// little-endian (FORMAT.md, "Conventions").
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its storage (a writer reused without allocating).
    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func hash(_ h: Hash) { h.withBytes { bytes.append(contentsOf: $0) } }
    mutating func raw<C: Collection>(_ c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }
}

/// Little-endian decoding that never reads out of bounds: every accessor
/// throws `ByteReader.Short` instead.
struct ByteReader {
    struct Short: Error {}

    let buffer: UnsafeRawBufferPointer
    private(set) var position: Int = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    var remaining: Int { buffer.count - position }

    @inline(__always) private mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, remaining >= n else { throw Short() }
        defer { position += n }
        return position
    }

    mutating func u8() throws -> UInt8 { buffer[try take(1)] }
    mutating func u16() throws -> UInt16 { UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self)) }
    mutating func u32() throws -> UInt32 { UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self)) }
    mutating func u64() throws -> UInt64 { UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self)) }
    mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    @inline(__always) mutating func hash() throws -> Hash { let at = try take(32); return Hash(bytes: UnsafeRawBufferPointer(rebasing: buffer[at..<at + 32])) }
    mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer { let at = try take(n); return UnsafeRawBufferPointer(rebasing: buffer[at..<at + n]) }
}
