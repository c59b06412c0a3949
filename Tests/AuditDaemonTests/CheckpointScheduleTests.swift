import AuditRecords
import AuditStore
import AuditWitness
import Foundation
import Synchronization
import Testing
@testable import AuditDaemon

/// The checkpoint schedule's witness side, on a temp store without a
/// kernel: signing on "fsync" hands the note to the witness queue and
/// returns; each outcome is an event that calls for no checkpoint by itself.
@Suite struct CheckpointScheduleTests {
    /// A witness that takes every checkpoint at once, or blocks until told.
    final class Witness: AuditWitness.Witness, @unchecked Sendable {
        let name = "witness test"
        let blocking: Bool
        let release = DispatchSemaphore(value: 0)
        let got = Mutex<[String]>([])
        init(blocking: Bool = false) { self.blocking = blocking }
        func deliver(_ checkpoint: String, cancelled: @escaping @Sendable () -> Bool) -> WitnessOutcome {
            if blocking {
                while release.wait(timeout: .now() + .milliseconds(10)) == .timedOut {
                    if cancelled() { return .timedOut("killed at unmount") }
                }
            }
            got.withLock { $0.append(checkpoint) }
            return .delivered
        }
    }

    final class Mount {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auditfs-schedule-\(UUID().uuidString)").path
        let store: Store
        let log: AuditLog
        let schedule: CheckpointSchedule
        let me = Provenance.current()

        init(_ witness: Witness) throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            store = try Store.create(at: dir + "/s")
            _ = try Checkpointer.createKeys(store: store, keysDirectory: Checkpointer.keysDirectory(of: store.path))
            let checkpointer = try Checkpointer(store: store, keysDirectory: Checkpointer.keysDirectory(of: store.path))
            log = try AuditLog(store: store)
            // As the mount does before anything else (and events.jsonl exists from then on).
            try log.event(EventRecord(time: "", timeNs: 0, event: "mount", daemon: 1))
            schedule = CheckpointSchedule(checkpointer: checkpointer, view: CheckpointView(), interval: 0, onFsync: true)
            schedule.deliver(to: [witness], log: log, mountpoint: "/m", store: store.path)
        }
        deinit {
            store.close()
            try? FileManager.default.removeItem(atPath: dir)
        }

        func write(_ line: String) throws {
            let id = try store.lookup("/app.log")?.id ?? store.create("/app.log", kind: .file, mode: 0o644, owner: 0, group: 0, by: me).id
            _ = try store.append(id, Array(line.utf8), by: me)
        }
        var checkpoints: Int { (try? store.blocks(of: AuditPaths.checkpoints).count) ?? 0 }
        var witnessEvents: [EventRecord] {
            let bytes = (try? store.contents(of: AuditLayout.events)).flatMap { $0 } ?? []
            return bytes.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(EventRecord.self, from: Data($0)) }
                .filter { $0.event.hasPrefix("witness-") }
        }
        func waitFor(events n: Int) -> Bool {
            for _ in 0..<3000 { if witnessEvents.count >= n { return true }; usleep(10_000) }
            return false
        }
    }

    @Test func anFsyncReturnsWhileTheWitnessHangs() throws {
        let witness = Witness(blocking: true)
        let m = try Mount(witness)
        try m.write("one\n")
        m.schedule.fsynced()   // signs and stores, hands over, returns: the witness has not taken it
        #expect(m.checkpoints == 1)
        #expect(witness.got.withLock { $0.isEmpty })
        for _ in 0..<8 { witness.release.signal() }
        #expect(m.waitFor(events: 1))
        #expect(witness.got.withLock { $0.count } == 1)
        m.schedule.stop(witnessTimeout: 30)
    }

    @Test func anOutcomeIsAnEventButNoReasonToSignAgain() throws {
        let witness = Witness()
        let m = try Mount(witness)
        try m.write("one\n")
        m.schedule.fsynced()
        #expect(m.waitFor(events: 1))
        let e = try #require(m.witnessEvents.first)
        #expect(e.event == "witness-delivered" && e.witness == "witness test" && e.error == nil)
        let signed = try Checkpoint.parse(SignedNote.parse(witness.got.withLock { $0[0] }).text)
        #expect(e.checkpoint == signed.size)
        // Only the event came since: no new checkpoint.
        m.schedule.fsynced()
        #expect(m.checkpoints == 1)
        // A write after it is signed (and the checkpoint covers the event).
        try m.write("two\n")
        m.schedule.fsynced()
        #expect(m.checkpoints == 2)
        #expect(m.waitFor(events: 2))
        // At unmount: nothing new but the outcome, so no last checkpoint is needed; nothing is lost either.
        m.schedule.stop(witnessTimeout: 30)
        #expect(m.checkpoints == 2)
        #expect(m.store.treeHead.size == signedSize(m) + 1 + 1)   // the last checkpoint, then its one outcome event
    }

    private func signedSize(_ m: Mount) -> UInt64 {
        let notes = (try? m.store.blocks(of: AuditPaths.checkpoints)) ?? []
        return (try? Checkpoint.parse(SignedNote.parse(String(decoding: notes.last ?? [], as: UTF8.self)).text).size) ?? 0
    }
}
