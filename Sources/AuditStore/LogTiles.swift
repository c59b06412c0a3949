import AuditPlumbing
import Foundation

/// The store's Merkle tree as C2SP tlog-tiles (https://c2sp.org/tlog-tiles),
/// written to a directory a web server (or a bucket) can publish, so that a
/// monitor can read the log and recompute every proof from it
/// (FORMAT.md "Tiles"):
///
///     checkpoint                       the newest signed checkpoint, as stored
///     tile/<L>/<N>[.p/<W>]             hashes of tree level 8·L, indices [256·N, 256·N + W)
///     tile/entries/<N>[.p/<W>]         entries [256·N, 256·N + W): uint16 big-endian length || entry
///
/// A tile is 256 hashes of 32 bytes (a partial one, `.p/W`, the first W); <N>
/// is written in groups of three digits, all but the last prefixed with `x`
/// (1234067 → x001/x234/067). An entry is a record's hash — SHA-256 of its
/// header (FORMAT.md "Header") — so a leaf is SHA-256(0x00 || entry) as
/// RFC 6962 and tlog-tiles define it, and the header, when a monitor fetches
/// it from the store or its bucket, hashes to the entry.
///
/// Level 0 and 1 tiles are the bytes of the tree cache's level-00 and level-08
/// files (FORMAT.md "Tree cache"); every hash is read from it and every entry
/// from the segments, each checked against the other.
public enum LogTiles {
    public static let height = 8
    public static let width = 1 << height

    /// `tile/<L>/<N>[.p/<W>]`; `level` "entries" for an entry bundle.
    public static func path(level: String, index: UInt64, width: Int) -> String {
        var groups: [String] = []
        var n = index
        repeat {
            let g = String(n % 1000)
            groups.append(String(repeating: "0", count: 3 - g.count) + g)
            n /= 1000
        } while n > 0
        let digits = groups.reversed().enumerated().map { $0.offset < groups.count - 1 ? "x" + $0.element : $0.element }.joined(separator: "/")
        return "tile/\(level)/\(digits)" + (width < Self.width ? ".p/\(width)" : "")
    }

    /// What one `write` did.
    public struct Written: Sendable, Equatable {
        public var tiles = 0
        public var bundles = 0
        /// Full tiles and bundles already present (immutable: never rewritten).
        public var kept = 0
    }

    /// Writes the tiles and entry bundles of the tree of `size` records —
    /// the size `checkpoint` signs — into `directory`, then the checkpoint.
    /// Full tiles already there are kept (a full tile never changes); partial
    /// ones for this size are written. Each file is written whole (a
    /// temporary file renamed into place).
    public static func write(_ store: Store, checkpoint: String, size: UInt64, to directory: String) throws(StoreError) -> Written {
        var done = Written()
        /// A full tile or bundle already written (of its full length): kept.
        func present(_ relative: String, length: Int) -> Bool {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + relative)
            return (attributes?[.size] as? NSNumber)?.intValue == length
        }
        func put(_ relative: String, _ bytes: [UInt8]) throws(StoreError) {
            let path = directory + "/" + relative
            do {
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try AtomicFile.replace(path, bytes, mode: 0o644)
            } catch {
                throw .io("\(path): \(error)")
            }
        }
        // Hash tiles, level by level: level L holds the nodes of tree level 8·L.
        var level = 0
        while 8 * level < 64, size >> UInt64(8 * level) > 0 {
            let nodes = size >> UInt64(8 * level)
            for n in 0..<(nodes + UInt64(width) - 1) / UInt64(width) {
                let w = Int(min(UInt64(width), nodes - n * UInt64(width)))
                let relative = path(level: String(level), index: n, width: w)
                if w == width && present(relative, length: width * 32) { done.kept += 1; continue }
                try put(relative, try store.subtreeHashes(height: 8 * level, from: n * UInt64(width), count: w).flatMap(\.bytes))
                done.tiles += 1
            }
            level += 1
        }
        // Entry bundles.
        for n in 0..<(size + UInt64(width) - 1) / UInt64(width) {
            let w = Int(min(UInt64(width), size - n * UInt64(width)))
            let relative = path(level: "entries", index: n, width: w)
            if w == width && present(relative, length: width * 34) { done.kept += 1; continue }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(w * 34)
            for h in try store.recordHashes(from: n * UInt64(width), count: w) { bytes += [0, 32] + h.bytes }
            try put(relative, bytes)
            done.bundles += 1
        }
        do { try AtomicFile.replace(directory + "/checkpoint", Array(checkpoint.utf8), mode: 0o644) } catch {
            throw .io("\(directory)/checkpoint: \(error)")
        }
        return done
    }
}
