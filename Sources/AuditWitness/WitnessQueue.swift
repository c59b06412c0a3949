import Foundation

/// One delivery of a checkpoint to a witness, and what became of it.
public struct WitnessDelivery: Sendable {
    /// `Witness.name`.
    public var witness: String
    /// The tree size of the checkpoint (for `.dropped`: of the newest one dropped).
    public var checkpointSize: UInt64
    public var outcome: WitnessOutcome
}

/// Delivers checkpoints to one witness from a thread of its own, in the
/// order they were signed, so that signing (on a FUSE thread when
/// `-o checkpoint=fsync`) never waits for a witness: `submit` only appends
/// to a list under a lock and returns.
///
/// Bounded: at most `capacity` checkpoints wait. When one more comes, the
/// oldest waiting one is dropped — a newer checkpoint covers every record an
/// older one does — and the drops are reported as one `.dropped` outcome
/// before the next delivery. So a witness that never answers costs at most
/// `capacity` notes of memory and one delivery's time per checkpoint it
/// still gets.
///
/// Every outcome goes to `record` (an event in /.audit/events.jsonl), on
/// this queue's thread, one at a time. `drain` (unmount) waits a bounded
/// time for what is pending, then cancels the delivery in flight and
/// reports the rest as dropped; after it returns, `record` is never called
/// again.
///
/// Lock order: `state` is a leaf (nothing is called while holding it);
/// `recording` is held while `record` runs, which in the mount takes the
/// CheckpointSchedule's lock and then the Store's — so neither may be held
/// by a caller of `drain` or `waitUntilIdle`, and `submit` (which takes only
/// `state`) may be called with any of them held.
public final class WitnessQueue: @unchecked Sendable {
    public let witness: any Witness
    public let capacity: Int
    private let record: @Sendable (WitnessDelivery) -> Void

    private struct State {
        var pending: [(note: String, size: UInt64)] = []
        /// Dropped since the last report: how many, the newest one's size.
        var dropped: (count: Int, size: UInt64, why: String)?
        var draining = false
        var delivering = false
        var abandoned = false
        var finished = false
    }
    private let state = NSCondition()
    private var s = State()   // guarded by `state`
    private let recording = NSLock()
    private var recordingOpen = true   // guarded by `recording`

    public init(_ witness: any Witness, capacity: Int = 16, record: @escaping @Sendable (WitnessDelivery) -> Void) {
        self.witness = witness
        self.capacity = max(capacity, 1)
        self.record = record
        let t = Thread { [self] in work() }
        t.name = "auditfs-witness"
        t.start()
    }

    /// Queues a checkpoint (a signed note) of tree size `size`; never blocks
    /// on the witness. Ignored once `drain` began.
    public func submit(_ note: String, size: UInt64) {
        state.lock(); defer { state.unlock() }
        guard !s.draining else { return }
        if s.pending.count >= capacity {
            let oldest = s.pending.removeFirst()
            let count = (s.dropped?.count ?? 0) + 1
            s.dropped = (count, oldest.size, "\(count) checkpoint(s) not handed to \(witness.name): "
                + "it is slower than checkpoints are signed (\(capacity) wait at most; the newest are kept)")
        }
        s.pending.append((note, size))
        state.signal()
    }

    /// How many checkpoints wait (not counting one being delivered).
    public var waiting: Int { state.lock(); defer { state.unlock() }; return s.pending.count }

    /// Waits up to `timeout` seconds until nothing waits or is being
    /// delivered (every outcome so far recorded); true when that came.
    @discardableResult
    public func waitUntilIdle(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(max(timeout, 0))
        state.lock(); defer { state.unlock() }
        while !s.pending.isEmpty || s.dropped != nil || s.delivering {
            guard state.wait(until: deadline) else { return false }
        }
        return true
    }

    /// At unmount: waits up to `timeout` seconds for every waiting checkpoint
    /// to be delivered; then cancels the delivery in flight (a command is
    /// killed) and reports the ones still waiting as dropped, giving that
    /// `grace` more seconds. Afterwards no outcome is recorded any more (a
    /// directory write stuck in the kernel may still finish, unrecorded).
    public func drain(timeout: Double, grace: Double = 2) {
        let deadline = Date().addingTimeInterval(max(timeout, 0))
        state.lock()
        s.draining = true
        state.broadcast()
        while !s.finished && state.wait(until: deadline) {}
        if !s.finished {
            s.abandoned = true
            if !s.pending.isEmpty {
                let count = (s.dropped?.count ?? 0) + s.pending.count
                s.dropped = (count, s.pending.last!.size, "\(count) checkpoint(s) not handed to \(witness.name): "
                    + "the mount ended before their turn (\(Int(timeout)) s allowed)")
                s.pending.removeAll()
            }
            state.broadcast()
            let end = Date().addingTimeInterval(max(grace, 0))
            while !s.finished && state.wait(until: end) {}
        }
        state.unlock()
        recording.lock()
        recordingOpen = false
        recording.unlock()
    }

    private var abandoned: Bool { state.lock(); defer { state.unlock() }; return s.abandoned }

    private func work() {
        state.lock()
        while true {
            while s.pending.isEmpty && s.dropped == nil && !s.draining { state.wait() }
            if let d = s.dropped {
                s.dropped = nil
                s.delivering = true
                state.unlock()
                report(WitnessDelivery(witness: witness.name, checkpointSize: d.size, outcome: .dropped(d.why)))
                state.lock()
                s.delivering = false
                state.broadcast()
                continue
            }
            if s.pending.isEmpty { break }   // draining, nothing left
            let item = s.pending.removeFirst()
            s.delivering = true
            state.unlock()
            let outcome = witness.deliver(item.note, cancelled: { [self] in abandoned })
            report(WitnessDelivery(witness: witness.name, checkpointSize: item.size, outcome: outcome))
            state.lock()
            s.delivering = false
            state.broadcast()
        }
        s.finished = true
        state.broadcast()
        state.unlock()
    }

    private func report(_ d: WitnessDelivery) {
        recording.lock(); defer { recording.unlock() }
        if recordingOpen { record(d) }
    }
}
