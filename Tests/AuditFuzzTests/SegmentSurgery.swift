import Foundation
@testable import AuditStore

/// Mutations of a segment that an attacker with write access makes so that
/// every hash still checks: change a record (header field or payload),
/// drop, duplicate, swap or forge one, then re-chain — fix every payload
/// digest, both chains, every record hash and frame prefix, and the segment
/// header's check. What is left for the reader to catch is the rules.
enum SegmentSurgery {
    struct Frame {
        var header: [UInt8]
        var payload: [UInt8]
    }

    /// The segment header and frames of a segment, or nil if it does not parse.
    static func split(_ segment: [UInt8]) -> ([UInt8], [Frame])? {
        guard segment.count >= Format.segmentHeaderSize else { return nil }
        var frames: [Frame] = []
        var at = Format.segmentHeaderSize
        func u32(_ i: Int) -> Int { Int(segment[i]) | Int(segment[i + 1]) << 8 | Int(segment[i + 2]) << 16 | Int(segment[i + 3]) << 24 }
        while at + Format.framePrefixSize <= segment.count {
            let hl = u32(at + 4), pl = u32(at + 8)
            let end = at + Format.framePrefixSize + hl + pl + Format.frameTrailerSize
            guard end <= segment.count else { break }
            let h = at + Format.framePrefixSize
            frames.append(Frame(header: Array(segment[h..<h + hl]), payload: Array(segment[h + hl..<h + hl + pl])))
            at = end
        }
        return (Array(segment[0..<Format.segmentHeaderSize]), frames)
    }

    /// Re-encodes frames with every hash and chain made consistent.
    static func join(_ segmentHeader: [UInt8], _ frames: [Frame]) -> [UInt8] {
        var head = Array(segmentHeader.prefix(Format.segmentHeaderSize - 32))
        head += Hash.sha256(head).bytes
        var out = head
        var last = Hash.zero
        var fileHeads: [UInt64: Hash] = [:]
        for f in frames {
            var header = f.header
            if var r = try? header.withUnsafeBytes({ try Record.decodeHeader($0) }) {
                r.prevStoreHash = last
                if case .create = r.body { r.prevFileHash = .zero } else if let h = fileHeads[r.file] { r.prevFileHash = h }
                r.payloadLength = UInt64(f.payload.count)
                r.payloadDigest = Hash.sha256(f.payload)
                header = r.encodeHeader()
            }
            let hash = Hash.sha256(header)
            if let r = try? header.withUnsafeBytes({ try Record.decodeHeader($0) }) {
                fileHeads[r.body.isCreate ? Record.fileID(createdBy: r.seq) : r.file] = hash
            }
            last = hash
            out += Frame.prefix(header.count, f.payload.count) + header + f.payload + hash.bytes
        }
        return out
    }

    /// One attacker's edit, re-chained; nil when the segment does not parse.
    static func mutate(_ segment: [UInt8], _ random: inout Mutator.Random) -> [UInt8]? {
        guard let (head, parsed) = split(segment), !parsed.isEmpty else { return nil }
        var frames = parsed
        let i = random.below(frames.count)
        var m = Mutator(seed: random.next(), dictionary: ["/", "/.audit", "..", "/app", "a.log"])
        switch random.below(9) {
        case 0, 1:   // a header field: overwrite with a boundary value at a field offset
            let offsets = [0, 4, 12, 20, 24, 28, 32, 104, 144, 145]
            var h = frames[i].header
            let at = offsets[random.below(offsets.count)] + (random.chance(4) ? random.below(8) : 0)
            let width = [1, 2, 4, 8][random.below(4)]
            let v = Mutator.boundaryValues[random.below(Mutator.boundaryValues.count)]
            for k in 0..<width where at + k < h.count { h[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            frames[i].header = h
        case 2:      // a header through the generic mutator (path bytes, command, body)
            frames[i].header = m.mutate(frames[i].header, other: frames[random.below(frames.count)].header)
        case 3:      // a payload changed, shortened or emptied
            frames[i].payload = random.chance(4) ? [] : m.mutate(frames[i].payload, other: [])
        case 4:      // a record dropped
            frames.remove(at: i)
        case 5:      // a record duplicated
            frames.insert(frames[i], at: random.below(frames.count + 1))
        case 6:      // two records swapped
            frames.swapAt(i, random.below(frames.count))
        case 7:      // a forged record appended or inserted: a create with a hostile path, or an append
            let seq = UInt64(frames.count)
            let paths = ["/", "/app", "/app/", "//x", "/.audit/x", "/app/a.log/x", "/\u{301}x", "/a\u{200D}/b", "/" + String(repeating: "n", count: 300),
                         "/" + String(repeating: "d/", count: 2100), "/x\0y", "/..", "relative"]
            let path = paths[random.below(paths.count)]
            let body: Record.Body = random.chance(2)
                ? .create(path: path, mode: UInt32(truncatingIfNeeded: random.next()) & (random.chance(2) ? 0o7777 : 0xFFFF_FFFF), owner: 0, group: 0)
                : .append(offset: random.chance(2) ? 0 : random.next())
            let kind: Record.Kind = if case .create = body { random.chance(2) ? .file : .directory } else { .append }
            let r = Record(kind: kind, seq: random.chance(3) ? random.next() : seq, time: Int64(bitPattern: random.next()),
                           writer: FuzzSeeds.writer, file: random.chance(2) ? UInt64(random.below(frames.count + 2)) : seq + 1,
                           prevFileHash: .zero, prevStoreHash: .zero, payloadLength: 0, payloadDigest: .zero, body: body)
            frames.insert(Frame(header: r.encodeHeader(), payload: kind == .append ? Array("forged\n".utf8) : []),
                          at: random.chance(2) ? frames.count : random.below(frames.count + 1))
        default:     // the segment header's fields (first seq, previous hash), check recomputed
            var h = head
            let at = [16, 24, 32, 40][random.below(4)]
            let v = Mutator.boundaryValues[random.below(Mutator.boundaryValues.count)]
            for k in 0..<8 { h[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            return join(h, frames)
        }
        return join(head, frames)
    }
}

extension SegmentSurgery.Frame {
    static func prefix(_ headerLength: Int, _ payloadLength: Int) -> [UInt8] {
        AuditStore.Frame.encodePrefix(headerLength: UInt32(truncatingIfNeeded: headerLength), payloadLength: UInt32(truncatingIfNeeded: payloadLength))
    }
}

extension Record.Body {
    var isCreate: Bool { if case .create = self { true } else { false } }
}
