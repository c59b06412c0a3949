/// The free space held back for the audit namespace (`Store.Options.reserve`):
/// a record outside /.audit that would leave less free on the store's file
/// system is refused with `noSpace` (ENOSPC through the mount). Free space
/// is measured (fstatvfs) at most every second or MiB appended — and before
/// every record once it is near the reserve, so that space freed elsewhere
/// is seen at once. Not thread-safe: the store uses it under its lock.
struct SpaceReserve {
    let bytes: UInt64
    /// Free bytes when last measured, less what was appended since; when,
    /// and how much was appended since.
    private var freeEstimate: UInt64 = 0
    private var measuredAt: Int64 = 0
    private var appendedSinceMeasure: UInt64 = 0

    init(bytes: UInt64) { self.bytes = bytes }

    /// Refuses a frame of `length` bytes for file `file` at time `now` when
    /// it would take the reserve. `measure` reads the free space (nil:
    /// unmeasurable, so no refusal; a full disk still fails the write
    /// itself); `path` names the file (nil: an id with no path), asked only
    /// when the frame would take the reserve, not on every append.
    mutating func check(_ length: UInt64, file: UInt64, now: Int64, measure: () -> UInt64?,
                        path: () -> String?) throws(StoreError) {
        guard bytes > 0 else { return }
        let margin = bytes + length
        if freeEstimate < margin + (16 << 20) || appendedSinceMeasure >= 1 << 20 || now &- measuredAt >= 1_000_000_000
            || now < measuredAt {
            freeEstimate = measure() ?? .max
            measuredAt = now
            appendedSinceMeasure = 0
        }
        guard freeEstimate < margin else { return }
        let path = path()
        if let path, Store.isAuditPath(path) { return }
        throw .noSpace("no space left for \(path ?? "#\(file)"): \(freeEstimate) bytes free, \(bytes) held back for the audit records")
    }

    /// Counts a frame of `length` bytes written.
    mutating func spent(_ length: UInt64) {
        guard bytes > 0 else { return }
        if freeEstimate != .max { freeEstimate -= min(freeEstimate, length) }
        appendedSinceMeasure += length
    }
}
