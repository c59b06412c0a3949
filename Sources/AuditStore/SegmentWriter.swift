import AuditPlumbing
import Foundation
import Glibc

/// Writes frames at the end of a store's last segment (FORMAT.md "Frame",
/// "Segment header"): starts a new segment when the current one is full,
/// cuts a segment back when a write fails, so no frame is ever half-stored,
/// and makes what was written durable (`sync`).
///
/// Thread safety: `write` and the segment list are used under the store's
/// lock (`lock`, shared with the store); `sync` takes it itself.
final class SegmentWriter {
    final class Segment {
        let name: String
        let firstSeq: UInt64
        let file: RawFile
        var end: UInt64
        init(name: String, firstSeq: UInt64, file: RawFile, end: UInt64) {
            self.name = name; self.firstSeq = firstSeq; self.file = file; self.end = end
        }
    }

    let directory: StoreDirectory
    let storeID: [UInt8]
    /// The store's format version, repeated in every segment header.
    let version: UInt32
    let segmentSize: UInt64
    private let lock: NSLock
    /// Under the store's lock only (no runtime access checks: Namespace.nodes says why).
    @exclusivity(unchecked) private(set) var segments: [Segment]
    /// Set when a segment could not be cut back after a failed write (or the
    /// store closed): every later write fails with it.
    private(set) var failed: String?
    /// The sequence number the next frame written will hold.
    @exclusivity(unchecked) private var nextSeq: UInt64
    /// The lengths of the last frame written and their prefix check.
    private var lastPrefixLengths: (UInt32, UInt32) = (0, 0)
    private var lastPrefixCheck: UInt32 = Frame.prefixCheck(headerLength: 0, payloadLength: 0)

    private let syncCondition = NSCondition()
    /// Every frame before it is on disk. Guarded by `syncCondition`.
    private var durableSeq: UInt64
    /// The fdatasyncs running, each by the sequence number it makes durable
    /// every frame before (at most one per caller of `sync`). Guarded by `syncCondition`.
    private var running: [UInt64] = []

    init(directory: StoreDirectory, storeID: [UInt8], version: UInt32, segmentSize: UInt64, segments: [Segment], nextSeq: UInt64,
         lock: NSLock) {
        self.directory = directory; self.storeID = storeID; self.version = version; self.segmentSize = segmentSize
        self.segments = segments; self.nextSeq = nextSeq; self.durableSeq = nextSeq; self.lock = lock
    }

    /// The segment files, indexed as block references and tree positions index them.
    var files: [RawFile] { segments.map(\.file) }

    /// The bytes a frame of `header` and `payload` bytes takes on disk.
    static func frameLength(header: Int, payload: Int) -> UInt64 {
        UInt64(Format.framePrefixSize + header + payload + Format.frameTrailerSize)
    }

    /// Writes the frame of record `seq` — prefix, `header`, `payload`, the
    /// record hash `hash` — at the end of the last segment, first starting a
    /// new segment (headed by `prevStoreHash`, the hash of record seq - 1)
    /// when the frame would take the current one past its size. Returns the
    /// segment index and offset the frame starts at. On failure the segment
    /// is cut back to where it was: nothing is written. Caller holds `lock`.
    ///
    /// Group commit (issue 13) goes here: frames of concurrent appenders
    /// queued and written by one of them with one pwritev (and one
    /// fdatasync with `sync`), each appender waiting for its own frame.
    func write(seq: UInt64, header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, hash: Hash,
               prevStoreHash: Hash) throws(StoreError) -> (segment: Int, offset: UInt64) {
        if let failed { throw .io(failed) }
        let frameLength = Self.frameLength(header: header.count, payload: payload.count)
        var segment = segments[segments.count - 1]
        if segment.end + frameLength > segmentSize && segment.end > UInt64(Format.segmentHeaderSize) {
            segment = try startSegment(firstSeq: seq, prevStoreHash: prevStoreHash)
        }
        let start = segment.end
        // Prefix and hash as values, the four parts as iovecs on the stack:
        // nothing is allocated. A writer's frames mostly repeat their
        // lengths, so the prefix check (a SHA-256) is kept for the last pair.
        let lengths = (UInt32(header.count), UInt32(payload.count))
        if lengths != lastPrefixLengths {
            lastPrefixCheck = Frame.prefixCheck(headerLength: lengths.0, payloadLength: lengths.1)
            lastPrefixLengths = lengths
        }
        var prefix = Frame.prefix(headerLength: lengths.0, payloadLength: lengths.1, check: lastPrefixCheck)
        var trailer = hash
        do {
            try withUnsafeBytes(of: &prefix) { (p) throws in
                try withUnsafeBytes(of: &trailer) { (t) throws in
                    try withUnsafeTemporaryAllocation(of: iovec.self, capacity: 4) { (iov) throws in
                        func part(_ b: UnsafeRawBufferPointer) -> iovec {
                            iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress), iov_len: b.count)
                        }
                        iov[0] = part(p); iov[1] = part(header); iov[2] = part(payload); iov[3] = part(t)
                        try segment.file.write(iov.baseAddress!, count: 4, at: start)
                    }
                }
            }
        } catch {
            do { try segment.file.truncate(to: start) } catch {
                failed = "segment \(segment.name) could not be cut back after a failed write: \(error)"
            }
            throw .wrap(error)
        }
        segment.end = start + frameLength
        nextSeq = seq + 1
        return (segments.count - 1, start)
    }

    /// Starts a new segment after syncing the current one, so that only the
    /// last segment can ever hold a torn tail. Caller holds `lock`.
    private func startSegment(firstSeq: UInt64, prevStoreHash: Hash) throws(StoreError) -> Segment {
        do {
            try segments[segments.count - 1].file.dataSync()
            let name = SegmentHeader.fileName(firstSeq: firstSeq)
            let file = try RawFile.open(directory.segmentPath(name), flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
            do {
                try file.write(SegmentHeader(storeID: storeID, firstSeq: firstSeq, prevStoreHash: prevStoreHash, version: version).encode(), at: 0)
                try file.sync()
                try AtomicFile.syncDirectory(directory.segmentsPath)
            } catch {
                // A header that could not be written whole (a full disk): the
                // file goes, so that the next record can start it again.
                FileSystem.remove(file.path)
                throw error
            }
            let segment = Segment(name: name, firstSeq: firstSeq, file: file, end: UInt64(Format.segmentHeaderSize))
            segments.append(segment)
            return segment
        } catch {
            throw .wrap(error)
        }
    }

    /// Free bytes on the segments' file system (as an unprivileged writer
    /// may use them); nil when they cannot be measured.
    func freeSpace() -> UInt64? { try? segments[segments.count - 1].file.freeSpace() }

    /// Refuses every write from now on. Caller holds `lock`.
    func close() { failed = failed ?? "store is closed" }

    // MARK: Durability

    /// Returns once every frame written before the call is on disk.
    ///
    /// Group commit: an fdatasync makes durable every frame written before
    /// it started (a segment is synced before the next one starts, so the
    /// current segment is the only one that can hold frames not yet on
    /// disk). A caller whose frames are covered by an fdatasync already
    /// running — one that started after they were written — waits for it;
    /// otherwise it starts its own at once, beside any that are running, and
    /// the file system merges the concurrent ones into one journal commit.
    /// So each writer waits for at most one fdatasync that started after its
    /// write: N writers that each sync after every write share the syncs
    /// (issue 13's P3), where one sync at a time made every writer wait for
    /// two (the running one, which started before its write, then its own).
    func sync() throws(StoreError) {
        lock.lock()
        let target = nextSeq
        let open = !segments.isEmpty
        lock.unlock()
        guard open else { return }
        syncCondition.lock()
        while true {
            if durableSeq >= target { syncCondition.unlock(); return }
            if !running.contains(where: { $0 >= target }) { break }
            syncCondition.wait()
        }
        // Everything up to `latest` is written; one fdatasync of the current
        // segment makes it all durable.
        lock.lock()
        let latest = nextSeq
        let current = segments[segments.count - 1].file
        lock.unlock()
        running.append(latest)
        syncCondition.unlock()
        var failure: (any Error)?
        do { try current.dataSync() } catch { failure = error }
        syncCondition.lock()
        running.remove(at: running.firstIndex(of: latest)!)
        if failure == nil { durableSeq = max(durableSeq, latest) }
        syncCondition.broadcast()
        syncCondition.unlock()
        if let failure { throw .wrap(failure) }
    }
}
