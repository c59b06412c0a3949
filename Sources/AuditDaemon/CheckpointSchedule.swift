import AuditStore
import Foundation

/// When the mount signs checkpoints (README "Checkpoints"): every
/// `interval` seconds when something was appended since the last one, on
/// every fsync when asked (`-o checkpoint=fsync`), and at unmount. Each
/// one is stored in /.audit/checkpoints, handed to the witnesses, and shown
/// at /.audit/checkpoint.
///
/// When signing fails (the key directory gone, a key that cannot be
/// rotated, the store refusing the note) writes go on, unsigned: the failure
/// is logged and counted every time, and the first of a run of failures —
/// and the first success after it — is handed to `onFailure` (an event in
/// /.audit/events.jsonl, an alert). Every later attempt retries; the first
/// that succeeds covers everything written meanwhile.
final class CheckpointSchedule: @unchecked Sendable {
    /// What `onFailure` gets: "checkpoint-failed" (error), or
    /// "checkpoint-resumed" (detail: how many attempts failed).
    struct Failure: Sendable {
        static let failed = "checkpoint-failed"
        static let resumed = "checkpoint-resumed"
        var event: String
        var error: String?
        var detail: String?
    }

    let checkpointer: Checkpointer
    let view: CheckpointView
    let interval: TimeInterval
    let onFsync: Bool
    private let lock = NSLock()
    private let wake = NSCondition()
    private var stopped = false
    private var thread: Thread?
    /// The tree size right after the last checkpoint's own record.
    private var coveredSize: UInt64 = 0
    /// Failed attempts since the last checkpoint signed.
    private var failures = 0
    var onFailure: (@Sendable (Failure) -> Void)?
    /// Called with the time (ns) of each checkpoint signed (the metrics), and
    /// once at start with the newest one already in the store.
    var onIssued: (@Sendable (Int64, _ new: Bool) -> Void)? {
        didSet { if let latest = checkpointer.latest(), let t = Self.time(of: latest) { onIssued?(t, false) } }
    }

    init(checkpointer: Checkpointer, view: CheckpointView, interval: TimeInterval, onFsync: Bool) {
        self.checkpointer = checkpointer
        self.view = view
        self.interval = interval
        self.onFsync = onFsync
        checkpointer.onWitnessFailure = { Log.error($0) }
        if let latest = checkpointer.latest() { view.update(latest) }
        coveredSize = checkpointer.store.treeHead.size
    }

    /// Signs a checkpoint if anything was appended since the last one.
    func checkpointIfChanged() {
        lock.lock(); defer { lock.unlock() }
        guard checkpointer.store.treeHead.size > coveredSize else { return }
        do {
            let note = try checkpointer.issue()
            view.update(note)
            onIssued?(Self.time(of: note) ?? checkpointer.store.options.clock(), true)
            coveredSize = checkpointer.store.treeHead.size
            if failures > 0 {
                Log.error("checkpoint signed again after \(failures) failed attempt(s)")
                onFailure?(Failure(event: Failure.resumed, detail: "after \(failures) failed attempt(s)"))
                failures = 0
                // The event is a record after this checkpoint: sign it too.
                if let again = try? checkpointer.issue() {
                    view.update(again)
                    coveredSize = checkpointer.store.treeHead.size
                }
            }
        } catch {
            failures += 1
            Log.error("checkpoint failed (writes go on unsigned): \(error)")
            if failures == 1 { onFailure?(Failure(event: Failure.failed, error: "\(error)")) }
        }
    }

    /// The `time <ns>` line of a checkpoint note.
    static func time(of note: String) -> Int64? {
        note.split(separator: "\n").first { $0.hasPrefix("time ") }.flatMap { Int64($0.dropFirst(5)) }
    }

    func start() {
        guard interval > 0 else { return }
        let t = Thread { [self] in
            wake.lock()
            while !stopped {
                _ = wake.wait(until: Date().addingTimeInterval(interval))
                if stopped { break }
                wake.unlock()
                checkpointIfChanged()
                wake.lock()
            }
            wake.unlock()
        }
        t.name = "auditfs-checkpoints"
        thread = t
        t.start()
    }

    /// After an fsync made the store durable.
    func fsynced() {
        if onFsync { checkpointIfChanged() }
    }

    /// Stops the timer and signs a last checkpoint (at unmount).
    func stop() {
        wake.lock()
        stopped = true
        wake.broadcast()
        wake.unlock()
        checkpointIfChanged()
    }
}
