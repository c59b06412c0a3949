import AuditPlumbing
import AuditStore

/// Where to cut a segment's bytes into objects (FORMAT.md "Shipped
/// objects"): only at frame boundaries, so that a shipper resuming at the
/// end of what the bucket holds starts on a frame; each object about
/// `target` bytes at most (more only when one frame is larger).
///
/// Reads the segment through `SegmentReader` from a frame boundary, so every
/// frame it passes has a valid prefix and lies whole in the file; bytes it
/// cannot read as frames are never shipped.
public enum SegmentCuts {
    public struct Result: Sendable, Equatable {
        /// The ends of the objects to ship, ascending; the first starts at `from`.
        public var ends: [UInt64]
        /// With `through`: whether the record was found (the last end is its frame's).
        public var found: Bool
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The cuts of segment `file` (of store `storeID`, when given) from byte `from` (0,
    /// or the end of a frame) up to the end of record `through`'s frame, or
    /// — `through` nil — to the last whole frame of the file as it is now.
    /// None, found, when the frame at `from` is already past `through` (the
    /// bucket holds more than asked).
    public static func cuts(_ file: RawFile, segment: String, storeID: [UInt8]?, from: UInt64, through: UInt64?,
                            target: UInt64) throws(Failure) -> Result {
        do {
            var reader = try SegmentReader(file: file, from: 0, bufferSize: 1 << 20)
            if from == 0 {
                let header = try reader.readHeader()
                guard storeID.map({ header.storeID == $0 }) ?? true else {
                    throw Failure(description: "segment \(segment) belongs to another store (its header names \(Hex.encode(header.storeID)))")
                }
            } else {
                reader.seek(to: from)
            }
            var ends: [UInt64] = []
            var start = from
            var last = from
            while true {
                switch try reader.next() {
                case let .frame(f):
                    let seq: UInt64
                    do { seq = try Record.decodeHeader(f.header).seq } catch {
                        throw Failure(description: "segment \(segment) offset \(f.offset): a record header that does not decode (\(error)); not shipped")
                    }
                    // The bucket already holds record `through` and more: nothing to cut.
                    if let through, seq > through, f.offset == from, from > 0 { return Result(ends: [], found: true) }
                    last = f.end
                    if let through, seq > through {
                        throw Failure(description: "segment \(segment) has no record \(through) where expected (offset \(f.offset) holds record \(seq))")
                    }
                    if let through, seq == through {
                        ends.append(last)
                        return Result(ends: ends, found: true)
                    }
                    if last - start >= target {
                        ends.append(last)
                        start = last
                    }
                case .end, .torn:
                    if last > start { ends.append(last) }
                    return Result(ends: ends, found: false)
                }
            }
        } catch let f as Failure {
            throw f
        } catch let d as SegmentReader.Damage {
            throw Failure(description: "segment \(segment) offset \(d.offset): \(d.check.rawValue) (expected \(d.expected), found \(d.found)); not shipped")
        } catch {
            throw Failure(description: "segment \(segment): \(error)")
        }
    }
}
