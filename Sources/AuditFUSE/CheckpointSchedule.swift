import AuditStore
import Foundation

/// When the mount signs checkpoints (README "Checkpoints"): every
/// `interval` seconds when something was appended since the last one, on
/// every fsync when asked (`-o checkpoint=fsync`), and at unmount. Each
/// one is stored in /.audit/checkpoints, handed to the witnesses, and shown
/// at /.audit/checkpoint.
final class CheckpointSchedule: @unchecked Sendable {
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
        } catch {
            Log.error("checkpoint failed: \(error)")
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
