import Foundation
import Synchronization
import Testing
@testable import AuditWitness

/// The delivery queue: submitting never waits for the witness, memory is
/// bounded, order is kept, unmount waits a bounded time.
@Suite struct WitnessQueueTests {
    /// A witness that takes checkpoints only when the test lets it (or is cancelled).
    final class Gate: Witness, @unchecked Sendable {
        let name = "witness gate"
        let open = DispatchSemaphore(value: 0)
        let got = Mutex<[String]>([])
        func deliver(_ checkpoint: String, cancelled: @escaping @Sendable () -> Bool) -> WitnessOutcome {
            while open.wait(timeout: .now() + .milliseconds(10)) == .timedOut {
                if cancelled() { return .timedOut("cancelled") }
            }
            got.withLock { $0.append(checkpoint) }
            return .delivered
        }
    }

    final class Outcomes: Sendable {
        let all = Mutex<[WitnessDelivery]>([])
        func add(_ d: WitnessDelivery) { all.withLock { $0.append(d) } }
        var list: [WitnessDelivery] { all.withLock { $0 } }
        func wait(until done: ([WitnessDelivery]) -> Bool) -> Bool {
            for _ in 0..<2000 { if done(list) { return true }; usleep(10_000) }
            return false
        }
    }

    @Test func aWitnessThatNeverAnswersDelaysNoSubmitAndHoldsAtMostTheCapacity() {
        let gate = Gate(), outcomes = Outcomes()
        let q = WitnessQueue(gate, capacity: 4, record: outcomes.add)
        q.submit("note 1\n", size: 1)
        #expect(outcomes.wait { _ in q.waiting == 0 })   // in flight, blocked
        for i in 2...100 { q.submit("note \(i)\n", size: UInt64(i)) }   // returns although nothing is delivered
        #expect(q.waiting <= 4)
        for _ in 0..<200 { gate.open.signal() }
        #expect(outcomes.wait { $0.filter { $0.outcome == .delivered }.count == 5 })
        q.drain(timeout: 30)
        let list = outcomes.list
        // The first one (taken before the flood) and the newest four are delivered, in order.
        #expect(gate.got.withLock { $0 } == ["note 1\n", "note 97\n", "note 98\n", "note 99\n", "note 100\n"])
        // Every one of the others is reported dropped, up to the newest dropped.
        let drops = list.compactMap { d -> Int? in if case let .dropped(why) = d.outcome { Int(why.prefix { $0.isNumber }) } else { nil } }
        #expect(drops == [95])
        #expect(list.last { if case .dropped = $0.outcome { true } else { false } }?.checkpointSize == 96)
    }

    @Test func drainGivesUpOnAHungWitnessAndRecordsNothingAfterwards() {
        let gate = Gate(), outcomes = Outcomes()
        let q = WitnessQueue(gate, capacity: 8, record: outcomes.add)
        for i in 1...3 { q.submit("note \(i)\n", size: UInt64(i)) }
        #expect(outcomes.wait { _ in q.waiting == 2 })   // the first is in flight, blocked
        q.drain(timeout: 0.3)
        let list = outcomes.list
        #expect(list.map(\.outcome.event) == ["witness-timed-out", "witness-dropped"])
        #expect(list.map(\.checkpointSize) == [1, 3])
        #expect(list[1].outcome.reason?.hasPrefix("2 checkpoint(s) not handed to witness gate: the mount ended") == true)
        q.submit("late\n", size: 9)
        gate.open.signal()
        usleep(100_000)
        #expect(outcomes.list.count == 2)
    }

    @Test func commandOutcomesAreNamedForTheEvents() {
        let ok = WitnessCommand("cat > /dev/null").deliver("n\n", cancelled: { false })
        #expect(ok == .delivered)
        let failed = WitnessCommand("exit 3").deliver("n\n", cancelled: { false })
        #expect(failed == .failed("witness command exited 3: exit 3"))
        let slow = WitnessCommand("sleep 30", timeout: 0.5).deliver("n\n", cancelled: { false })
        #expect(slow == .timedOut("witness command timed out after 0.5 s: sleep 30"))
        #expect(slow.event == "witness-timed-out")
    }
}
