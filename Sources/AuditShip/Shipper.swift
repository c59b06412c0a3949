import AuditS3
import Foundation

/// Ships a mounted store from a thread of its own (docs/SHIPPING.md): the
/// checkpoint schedule hands it each checkpoint's record number (`submit`,
/// which only notes it under a lock and returns), and the thread puts every
/// byte up to that record into the bucket (`Shipment`). So shipping never
/// runs on a FUSE thread and never slows or blocks a write.
///
/// When the bucket cannot be reached or answers with an error (or the
/// host's store cannot be read as shipping needs), the mount goes on writing
/// locally; the thread retries with backoff (1 s doubling to `maxBackoff`),
/// listing the bucket again before each retry, and each attempt's outcome
/// goes to `report`: the first failure of a run, every later one, the
/// success that ends the run. A divergence (the bucket holds bytes the
/// host's store does not) stops shipping for good: it is reported once and
/// nothing more is put.
///
/// Lock order: `state` is a leaf; `recording` is held while `report` runs
/// (which in the mount takes the Store's lock), from the shipper's thread
/// only, and never with `state` held.
public final class Shipper: @unchecked Sendable {
    public enum Outcome: Sendable {
        /// Objects put up to record `through`; `backlog` bytes remain local only.
        case shipped(objects: Int, bytes: UInt64, through: UInt64, backlog: UInt64)
        /// An attempt failed (`attempt` counts the run, from 1); retried after `retry` seconds.
        case failed(String, attempt: Int, backlog: UInt64, retry: Double)
        /// Caught up after `attempts` failed attempts.
        case resumed(attempts: Int, backlog: UInt64)
        /// The bucket disagrees with the host's store, or refuses to be shipped to: shipping stopped.
        case stopped(ShipError)
    }

    public let shipment: Shipment
    public var maxBackoff: Double = 60
    private let report: @Sendable (Outcome) -> Void
    private let state = NSCondition()
    private var target: UInt64?        // guarded by `state`: the newest checkpoint's record
    private var shipped: UInt64?       // guarded by `state`: every record up to this one is in the bucket
    private var stopping = false       // guarded by `state`
    private var finished = false       // guarded by `state`
    private var dead = false           // guarded by `state`: a divergence or refusal stopped it
    private var backoffUntil: Date?    // guarded by `state`
    private var thread: Thread?
    private let recording = NSLock()
    private var recordingOpen = true   // guarded by `recording`

    public init(_ shipment: Shipment, report: @escaping @Sendable (Outcome) -> Void) {
        self.shipment = shipment
        self.report = report
    }

    /// Starts the thread; `through` is the newest checkpoint already stored
    /// (its record is shipped first: a backlog from before a restart).
    public func start(through: UInt64?) {
        state.lock()
        target = through
        state.unlock()
        let t = Thread { [self] in work() }
        t.name = "auditfs-ship"
        thread = t
        t.start()
    }

    /// A checkpoint was signed and stored as record `through`.
    public func submit(through: UInt64) {
        state.lock(); defer { state.unlock() }
        if target.map({ through > $0 }) ?? true { target = through }
        state.signal()
    }

    /// Waits up to `timeout` seconds until everything submitted is in the
    /// bucket, then stops the thread; true when it got there. After it
    /// returns `report` is never called again (a put still in flight ends
    /// unreported). What is left is
    /// shipped by the next mount, or by `auditfs ship`.
    @discardableResult
    public func drain(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(max(timeout, 0))
        state.lock(); defer { state.unlock() }
        while !dead, let t = target, shipped.map({ $0 < t }) ?? true, state.wait(until: deadline) {}
        let caughtUp = target == nil || (shipped.map { $0 >= target! } ?? false)
        stopping = true
        state.broadcast()
        state.unlock()
        // An outcome being recorded finishes; none is recorded after this.
        recording.lock()
        recordingOpen = false
        recording.unlock()
        state.lock()
        return caughtUp
    }

    /// Whether everything submitted is in the bucket.
    public var caughtUp: Bool {
        state.lock(); defer { state.unlock() }
        guard let t = target else { return true }
        return shipped.map { $0 >= t } ?? false
    }

    private func work() {
        var failures = 0
        var delay = 1.0
        state.lock()
        while true {
            while !stopping && (target == nil || (shipped.map { $0 >= target! } ?? false) || backoffUntil.map { Date() < $0 } == true) {
                if let until = backoffUntil { _ = state.wait(until: until); if Date() >= until { backoffUntil = nil } } else { state.wait() }
            }
            if stopping { break }
            let through = target!
            state.unlock()
            var outcome: Outcome
            var stop = false
            do {
                let done = try shipment.ship(through: through)
                let backlog = shipment.backlog()
                outcome = failures > 0 ? .resumed(attempts: failures, backlog: backlog)
                    : .shipped(objects: done.objects, bytes: done.bytes, through: through, backlog: backlog)
                if failures > 0 { deliver(.shipped(objects: done.objects, bytes: done.bytes, through: through, backlog: backlog)) }
                failures = 0
                delay = 1
            } catch {
                switch error {
                case .diverged, .refused:
                    outcome = .stopped(error)
                    stop = true
                case .s3, .local:
                    failures += 1
                    outcome = .failed(error.description, attempt: failures, backlog: shipment.backlog(), retry: delay)
                }
            }
            deliver(outcome)
            state.lock()
            if stop { dead = true; state.broadcast(); break }
            if case .failed(_, _, _, let retry) = outcome {
                backoffUntil = Date().addingTimeInterval(retry)
                delay = min(delay * 2, maxBackoff)
            } else {
                shipped = max(shipped ?? 0, through)
                state.broadcast()
            }
        }
        finished = true
        state.broadcast()
        state.unlock()
    }

    private func deliver(_ outcome: Outcome) {
        recording.lock(); defer { recording.unlock() }
        if recordingOpen { report(outcome) }
    }
}
