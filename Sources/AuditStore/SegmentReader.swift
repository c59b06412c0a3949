/// Streams the frames of one segment file front to back through a fixed
/// buffer, so memory stays constant whatever the segment's size
/// (FORMAT.md "Segment file", "Torn tail").
public struct SegmentReader {
    /// One frame, with views into the reader's buffer that stay valid until
    /// the next call to `next()`.
    public struct Frame {
        public let offset: UInt64
        public let prefix: AuditStore.Frame.Prefix
        public let header: UnsafeRawBufferPointer
        public let payload: UnsafeRawBufferPointer
        public let storedHash: Hash
        public var payloadPosition: UInt64 { offset + UInt64(Format.framePrefixSize) + UInt64(prefix.headerLength) }
        public var end: UInt64 { offset + UInt64(prefix.frameLength) }
    }

    public enum Step {
        case frame(Frame)
        /// End of the file exactly after a frame.
        case end
        /// The file ends inside a frame, or with zero bytes where a frame
        /// would start: what a crash mid-append leaves.
        case torn(offset: UInt64, reason: String)
    }

    public struct Damage: Error {
        public let offset: UInt64
        public let check: CheckName
        public let expected: String
        public let found: String
    }

    public let file: RawFile
    /// The file's size when the reader was made: one snapshot per pass. The
    /// reader never reads past it, so a segment that grows meanwhile (a writer
    /// appending) is read up to this size, and a frame cut by it is a torn
    /// tail of that moment; one that shrinks reads short, which is torn too.
    public let fileSize: UInt64
    private let buffer: ScanBuffer
    private var bufferStart: UInt64 = 0   // file position of buffer[0]
    private var bufferCount = 0
    public private(set) var position: UInt64
    private var prefixChecks = PrefixChecks()

    public init(file: RawFile, from position: UInt64, bufferSize: Int = 4 << 20) throws {
        self.file = file
        self.fileSize = try file.size()
        self.buffer = ScanBuffer(size: bufferSize)
        self.position = position
        self.bufferStart = position
    }

    /// Bytes from `position` to the size snapshot (0 past it).
    private var remaining: UInt64 { position < fileSize ? fileSize - position : 0 }

    /// Makes [position, position+count) available in the buffer; returns the
    /// number of bytes available (less only at the end of the snapshot, or
    /// when the file shrank).
    private mutating func fill(_ count: Int) throws -> Int {
        let have = Int(bufferStart + UInt64(bufferCount) - position)
        if have >= count { return count }
        // Slide the unread bytes to the front, grow if needed, read more.
        let skip = Int(position - bufferStart)
        if skip > 0 { buffer.bytes.baseAddress!.copyMemory(from: buffer.bytes.baseAddress! + skip, byteCount: have) }
        bufferStart = position
        bufferCount = have
        if buffer.bytes.count < count { buffer.grow(to: count, keeping: have) }
        let end = bufferStart + UInt64(bufferCount)
        let want = Int(min(UInt64(buffer.bytes.count - bufferCount), end < fileSize ? fileSize - end : 0))
        let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[bufferCount..<bufferCount + want]),
                              at: bufferStart + UInt64(bufferCount))
        bufferCount += n
        return min(count, bufferCount)
    }

    private func view(_ from: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer.bytes[from..<from + count])
    }

    /// True when every byte from `position` to the end of the file is zero.
    private mutating func restIsZero() throws -> Bool {
        var at = position
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while at < fileSize {
            let want = Int(min(UInt64(chunk.count), fileSize - at))
            let n = try chunk.withUnsafeMutableBytes { (b) throws -> Int in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: b[0..<want]), at: at)
            }
            if n == 0 { break }
            if chunk[0..<n].contains(where: { $0 != 0 }) { return false }
            at += UInt64(n)
        }
        return true
    }

    /// Continues reading at `offset` (a frame boundary).
    public mutating func seek(to offset: UInt64) {
        position = offset
        bufferStart = offset
        bufferCount = 0
    }

    /// Reads the segment header at the start of the file.
    public mutating func readHeader() throws -> SegmentHeader {
        let n = try fill(Format.segmentHeaderSize)
        let header = try SegmentHeader.decode(view(Int(position - bufferStart), n))
        position += UInt64(Format.segmentHeaderSize)
        return header
    }

    /// The next frames that lie whole in one buffer window (at most
    /// `maxBytes`), so a caller can hash them in parallel: their views stay
    /// valid until the next call to `nextBatch` or `next`. Ends with the
    /// step `next()` returns where a frame does not fit, is damaged, torn,
    /// or the file ends — alone, when it is the first.
    public mutating func nextBatch(_ out: inout [Step], maxBytes: Int = 4 << 20) throws {
        var frames: [Frame] = []
        let last = try nextFrames(&frames, maxBytes: maxBytes)
        out.removeAll(keepingCapacity: true)
        if let last { out.append(last) } else { out.append(contentsOf: frames.lazy.map { .frame($0) }) }
    }

    /// As `nextBatch`, the frames alone (a `Frame` is copied inline, a
    /// `Step` by a call: it may hold a String): at least one, and nil; or
    /// none, and the step that ends the segment (`end` or `torn`).
    mutating func nextFrames(_ out: inout [Frame], maxBytes: Int = 4 << 20) throws -> Step? {
        out.removeAll(keepingCapacity: true)
        let window = Int(min(UInt64(maxBytes), remaining))
        if window > 0 { _ = try fill(window) }
        let limit = bufferStart + UInt64(bufferCount)
        while position + UInt64(Format.framePrefixSize) <= limit {
            let base = Int(position - bufferStart)
            guard let prefix = try? AuditStore.Frame.decodePrefix(view(base, Format.framePrefixSize), &prefixChecks),
                  position + UInt64(prefix.frameLength) <= limit else { break }
            let headerAt = base + Format.framePrefixSize
            let payloadAt = headerAt + Int(prefix.headerLength)
            let hashAt = payloadAt + Int(prefix.payloadLength)
            out.append(Frame(offset: position, prefix: prefix,
                             header: view(headerAt, Int(prefix.headerLength)),
                             payload: view(payloadAt, Int(prefix.payloadLength)),
                             storedHash: Hash(bytes: view(hashAt, 32))))
            position += UInt64(prefix.frameLength)
        }
        if !out.isEmpty { return nil }
        let step = try next()
        if case let .frame(f) = step { out.append(f); return nil }
        return step
    }

    /// The next frame. The buffer views it returns (header, payload) are
    /// valid until the next call; the caller does the hashing.
    public mutating func next() throws -> Step {
        let remaining = self.remaining
        if remaining == 0 { return .end }
        if remaining < UInt64(Format.framePrefixSize) {
            return .torn(offset: position, reason: "\(remaining) bytes, less than a frame prefix")
        }
        let got = try fill(Format.framePrefixSize)
        if got < Format.framePrefixSize { return .torn(offset: position, reason: "the file ends \(got) bytes into a frame prefix") }
        let prefix: AuditStore.Frame.Prefix
        do {
            prefix = try AuditStore.Frame.decodePrefix(view(Int(position - bufferStart), Format.framePrefixSize), &prefixChecks)
        } catch {
            if try restIsZero() { return .torn(offset: position, reason: "\(remaining) zero bytes") }
            switch error {
            case let .badMagic(found):
                throw Damage(offset: position, check: .frameMagic, expected: hex32(Format.frameMagic), found: hex32(found))
            case let .badCheck(expected, found):
                throw Damage(offset: position, check: .frameCheck, expected: hex32(expected), found: hex32(found))
            case let .lengthOutOfRange(h, p):
                throw Damage(offset: position, check: .frameLength, expected: "header <= \(Format.maxHeaderSize), payload <= \(Format.maxPayloadSize)", found: "header \(h), payload \(p)")
            }
        }
        let length = prefix.frameLength
        if UInt64(length) > remaining {
            return .torn(offset: position, reason: "frame of \(length) bytes, \(remaining) present")
        }
        let present = try fill(length)
        if present < length { return .torn(offset: position, reason: "frame of \(length) bytes, \(present) present") }
        let base = Int(position - bufferStart)
        let headerAt = base + Format.framePrefixSize
        let payloadAt = headerAt + Int(prefix.headerLength)
        let hashAt = payloadAt + Int(prefix.payloadLength)
        let frame = Frame(offset: position, prefix: prefix,
                          header: view(headerAt, Int(prefix.headerLength)),
                          payload: view(payloadAt, Int(prefix.payloadLength)),
                          storedHash: Hash(bytes: view(hashAt, 32)))
        position += UInt64(length)
        return .frame(frame)
    }
}

func hex32(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

/// The reader's buffer: one allocation that only grows, so the views handed
/// out stay valid until the next read.
final class ScanBuffer {
    /// Read by every frame's views (no run-time access checks: one reader owns it, on one thread).
    @exclusivity(unchecked) private(set) var bytes: UnsafeMutableRawBufferPointer

    init(size: Int) { bytes = .allocate(byteCount: size, alignment: 16) }
    deinit { bytes.deallocate() }

    func grow(to size: Int, keeping count: Int) {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        bigger.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: count)
        bytes.deallocate()
        bytes = bigger
    }
}
