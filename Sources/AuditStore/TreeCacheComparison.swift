import AuditPlumbing
import Glibc

/// Compares cache/tree with the records as the checker replays them: every
/// record's position, every leaf hash (level 0) and every subtree root the
/// replayed tree completes (level L, index i). Only what both hold is
/// compared: a cache behind the store is not wrong (the next open fills it),
/// nor are leaves beyond a torn tail (the next writer cuts them). The files
/// are read front to back in 1 MiB pieces, each up to the size it had when
/// verify started (a daemon may be appending).
final class TreeCacheComparison {
    /// What disagrees, with both values: the cache's and the segments'.
    enum Mismatch: CustomStringConvertible {
        /// A cache file that cannot be opened or read.
        case unreadable(any Error)
        /// Record `seq`'s position in the segments, and the one the cache holds.
        case position(seq: UInt64, segment: Int, offset: UInt64, cachedSegment: UInt64, cachedOffset: UInt64)
        /// Entry `index` of level `level`: the hash the cache holds, and the one the segments' tree has.
        case hash(level: Int, index: UInt64, cached: Hash, calculated: Hash)

        var description: String {
            switch self {
            case let .unreadable(error): "\(error)"
            case let .position(seq, segment, offset, cachedSegment, cachedOffset):
                "positions: record \(seq) is at segment \(segment) offset \(offset), the cache says segment \(cachedSegment) offset \(cachedOffset)"
            case let .hash(level, index, cached, calculated):
                "level-\(String(level).leftPadded(2)) entry \(index) is \(cached.hex), the segments' tree has \(calculated.hex)"
            }
        }
    }

    private let directory: String
    // Used from the checker's one thread: no run-time access checks (two a record otherwise).
    @exclusivity(unchecked) private var positions: ElementStream<UInt64>?
    @exclusivity(unchecked) private var levels: [ElementStream<Hash>] = []
    /// The same streams, read without a retain and release per element (`levels` keeps them).
    @exclusivity(unchecked) private var levelRefs: [Unmanaged<ElementStream<Hash>>] = []
    @exclusivity(unchecked) private var levelCounts: [UInt64] = []
    /// What disagrees, at most a few.
    @exclusivity(unchecked) private(set) var problems: [Mismatch] = []

    /// Nil when the store has no tree cache; a file that cannot be opened
    /// (not a regular file, unreadable) is a problem of its own.
    init?(store: String) {
        directory = StoreDirectory(store).treeCachePath
        guard FileSystem.exists(directory) else { return nil }
        do {
            positions = try ElementStream(path: directory + "/positions")
            var level = 0
            while true {
                let p = TreeCache.path(directory, level)
                guard FileSystem.exists(p) else { break }
                levels.append(try ElementStream(path: p))
                level += 1
            }
        } catch {
            problem(.unreadable(error))
        }
        levelCounts = [UInt64](repeating: 0, count: 64)
        levelRefs = levels.map { Unmanaged.passUnretained($0) }
    }

    private func problem(_ m: Mismatch) { if problems.count < 5 { problems.append(m) } }

    /// Record `seq` was read at `offset` of segment `segment`, with leaf hash `leaf`.
    func leaf(seq: UInt64, leaf: Hash, segment: Int, offset: UInt64) {
        guard problems.isEmpty else { return }
        if let stored = positions?.next(), stored != UInt64(segment) << 40 | offset {
            problem(.position(seq: seq, segment: segment, offset: offset, cachedSegment: stored >> 40, cachedOffset: stored & ((1 << 40) - 1)))
        }
        compare(level: 0, leaf)
    }

    /// The replayed tree completed a perfect subtree of 2^level leaves.
    func subtree(level: Int, root: Hash) { if problems.isEmpty { compare(level: level, root) } }

    private func compare(level: Int, _ h: Hash) {
        guard level < levelCounts.count else { return }
        let index = levelCounts[level]
        levelCounts[level] += 1
        // The stream without a retain and release per element (`levels` keeps it).
        guard level < levelRefs.count, let stored = levelRefs[level]._withUnsafeGuaranteedRef({ $0.next() }) else { return }
        if stored != h {
            problem(.hash(level: level, index: index, cached: stored, calculated: h))
        }
    }
}

/// Fixed-size values read from the front of a file in 1 MiB pieces, up to
/// the file's size when opened.
final class ElementStream<Element: BitwiseCopyable> {
    private let file: RawFile
    private let count: UInt64
    @exclusivity(unchecked) private var index: UInt64 = 0
    /// The elements of [bufferStart, bufferStart + buffered), read straight into place.
    private let buffer: UnsafeMutableBufferPointer<Element>
    @exclusivity(unchecked) private var buffered = 0
    @exclusivity(unchecked) private var bufferStart: UInt64 = 0
    private static var stride: Int { MemoryLayout<Element>.stride }

    init(path: String) throws {
        file = try RawFile.open(path, flags: O_RDONLY)
        count = try file.size() / UInt64(Self.stride)
        buffer = .allocate(capacity: (1 << 20) / Self.stride)
    }

    deinit { buffer.deallocate() }

    func next() -> Element? {
        guard index < count else { return nil }
        if index >= bufferStart + UInt64(buffered) {
            let n = Int(min(UInt64(buffer.count), count - index))
            let bytes = (try? file.read(into: UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[0..<n * Self.stride]),
                                        at: index * UInt64(Self.stride))) ?? 0
            buffered = bytes / Self.stride
            bufferStart = index
            guard buffered > 0 else { return nil }
        }
        defer { index += 1 }
        return buffer[Int(index - bufferStart)]
    }
}
