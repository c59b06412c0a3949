import AuditPlumbing
import AuditRecords
import AuditShip
import AuditStore
import AuditWitness
import Foundation

/// When the mount signs checkpoints (README "Checkpoints"): every
/// `interval` seconds when something was appended since the last one, on
/// every fsync when asked (`-o checkpoint=fsync`), and at unmount. Each
/// one is signed and stored in /.audit/checkpoints (synchronously: an fsync
/// returns with its checkpoint stored), shown at /.audit/checkpoint, and
/// queued for each witness (`WitnessQueue`: delivered from the queue's
/// thread, never from the FUSE thread that signed it). Each delivery's
/// outcome is a `witness-*` event in /.audit/events.jsonl; such an event is
/// covered by the next checkpoint but is not by itself a reason to sign one
/// (else every delivery would cause the next).
///
/// Lock order: `lock` (one checkpoint at a time) → Checkpointer's lock →
/// Store's lock; `lock` → a WitnessQueue's state (submit). A queue's thread
/// records an outcome holding its `recording` lock, then `lock`, then the
/// Store's (`recordOwn`); `lock` is never held while waiting for a queue.
/// `wake` only guards the timer.
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
    /// One queue per witness (`deliver(to:)`).
    private var witnesses: [WitnessQueue] = []
    /// The size of the newest checkpoint signed, and whether `stop` began.
    private var newestSize: UInt64?
    private var stopping = false
    var onFailure: (@Sendable (Failure) -> Void)?
    /// Gets every checkpoint signed, to ship the store up to its record (set before `start`).
    var shipper: Shipper?
    /// Called with every witness outcome (the metrics); set before `deliver(to:)`.
    var onWitnessOutcome: (@Sendable (WitnessDelivery) -> Void)?
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
        if let latest = checkpointer.latest() { view.update(latest) }
        coveredSize = checkpointer.store.treeHead.size
    }

    /// Signs a checkpoint if anything was appended since the last one.
    func checkpointIfChanged() {
        lock.lock(); defer { lock.unlock() }
        guard checkpointer.store.treeHead.size > coveredSize else { return }
        do {
            let (note, checkpoint) = try checkpointer.issueCheckpoint()
            view.update(note)
            onIssued?(checkpoint.time ?? 0, true)   // the Checkpointer always dates its own
            signed(checkpoint)
            hand(note, checkpoint)
            if failures > 0 {
                Log.error("checkpoint signed again after \(failures) failed attempt(s)")
                onFailure?(Failure(event: Failure.resumed, detail: "after \(failures) failed attempt(s)"))
                failures = 0
                // The event is a record after this checkpoint: sign it too.
                if let (again, checkpoint) = try? checkpointer.issueCheckpoint() {
                    view.update(again)
                    signed(checkpoint)
                    hand(again, checkpoint)
                }
            }
        } catch {
            failures += 1
            Log.error("checkpoint failed (writes go on unsigned): \(error)")
            if failures == 1 { onFailure?(Failure(event: Failure.failed, error: "\(error)")) }
        }
    }

    // MARK: Witnesses

    /// Hands every checkpoint signed from now on to `witnesses`, each on a
    /// queue of its own, and records each outcome as an event of `log`.
    func deliver(to witnesses: [any Witness], log: AuditLog, mountpoint: String, store: String) {
        self.witnesses = witnesses.map { w in
            WitnessQueue(w) { [weak self] d in
                self?.onWitnessOutcome?(d)
                if let why = d.outcome.reason { Log.error(why) }
                if d.outcome == .delivered, self?.isLast(d.checkpointSize) == true { return }
                let now = log.now
                var e = EventRecord(time: Timestamps.rfc3339(now), timeNs: now, event: d.outcome.event, daemon: log.daemon.pid,
                                    mountpoint: mountpoint, store: store)
                e.error = d.outcome.reason
                e.witness = d.witness
                e.checkpoint = d.checkpointSize
                self?.recordOwn { () throws(StoreError) in try log.eventPosition(e) }
            }
        }
    }

    /// Stores a witness's cosigned checkpoint in /.audit/cosignatures (from
    /// a queue's thread), a record of the daemon's own (`recordOwn`).
    func keepCosigned(_ note: String) {
        let store = checkpointer.store
        let writer = Provenance.current()
        recordOwn { () throws(StoreError) in try store.appendCosigned(note, by: writer) }
    }

    /// Queues a checkpoint for every witness (with `lock` held: in signing order).
    private func hand(_ note: String, _ checkpoint: Checkpoint) {
        for q in witnesses { q.submit(note, size: checkpoint.size) }
        shipper?.submit(through: checkpoint.size)   // the checkpoint's own record is record `size`
    }

    /// Appends a record of the daemon's own that does not by itself call for
    /// a checkpoint (a witness outcome; `append` returns its tree position),
    /// with `lock` held so that no checkpoint is decided between the append
    /// and this accounting: when nothing else came since the last
    /// checkpoint, it counts as covered. A record of anyone else's before or
    /// after it keeps the next check signing. (events.jsonl exists from the
    /// mount event on; were it created here, its creation would be a record
    /// in between, and the next check would sign once more: harmless.)
    private func recordOwn(_ append: () throws(StoreError) -> UInt64) {
        lock.lock(); defer { lock.unlock() }
        do {
            let position = try append()
            if position == coveredSize { coveredSize = position + 1 }
        } catch {
            Log.error("could not record a witness outcome: \(error)")
        }
    }

    /// Whether the checkpoint of tree size `size` is the last of the mount.
    private func isLast(_ size: UInt64) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return stopping && size == newestSize
    }

    /// After a checkpoint: it covers every record before its own, which is
    /// record `checkpoint.size`. (Not the tree size read afterwards: a write
    /// that came between would count as covered, and an fsync after it
    /// would sign nothing.)
    private func signed(_ checkpoint: Checkpoint) {
        coveredSize = checkpoint.size + 1
        newestSize = checkpoint.size
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

    /// At unmount: stops the timer, gives the witnesses what is left of
    /// `witnessTimeout` seconds (all at once) to take the checkpoints waiting
    /// for them — so that their outcomes are records the last checkpoint
    /// covers — then signs that last checkpoint and gives them the rest of
    /// the time (at least a second) for it (`WitnessQueue.drain`). Its
    /// delivery, when it succeeds, is only logged: a record after it would
    /// be the store's one unsigned record. A failure is recorded all the
    /// same, for the next mount's first checkpoint to cover.
    func stop(witnessTimeout: Double = 12) {
        wake.lock()
        stopped = true
        wake.broadcast()
        wake.unlock()
        let deadline = Date().addingTimeInterval(witnessTimeout)
        let queues = witnesses
        DispatchQueue.concurrentPerform(iterations: queues.count) { queues[$0].waitUntilIdle(timeout: witnessTimeout) }
        lock.lock()
        stopping = true
        lock.unlock()
        checkpointIfChanged()
        let rest = max(deadline.timeIntervalSinceNow, 1)
        DispatchQueue.concurrentPerform(iterations: queues.count) { queues[$0].drain(timeout: rest) }
    }
}
