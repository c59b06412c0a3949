import AuditStore
import Foundation
import FUSEInterface
import Glibc
import Synchronization
import Testing
@testable import AuditDaemon

/// O_CREAT|O_EXCL from two threads at once: exactly one creates the file,
/// the other gets EEXIST; without O_EXCL the loser opens the winner's file.
@Suite struct CreateRaceTests {
    static func race(_ flags: Int32, rounds: Int = 50) throws -> [(Result<Created, Errno>, Result<Created, Errno>)] {
        let h = try DaemonHarness()
        let root = try #require(h.ino("/w"))
        var outcomes: [(Result<Created, Errno>, Result<Created, Errno>)] = []
        for i in 0..<rounds {
            let name = Array("race-\(i).log".utf8)
            let results = Mutex<[Int: Result<Created, Errno>]>([:])
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            for t in 0..<2 {
                group.enter()
                Thread.detachNewThread {
                    let who = h.caller(uid: UInt32(1000 + t))
                    start.wait()
                    let r = h.fs.create(who, parent: root, name: name, mode: 0o666, flags: flags)
                    results.withLock { $0[t] = r }
                    group.leave()
                }
            }
            start.signal(); start.signal()
            group.wait()
            let r = results.withLock { $0 }
            outcomes.append((r[0]!, r[1]!))
            // One name, one node, whoever won.
            #expect(h.store.children(of: root).filter { $0.name == "race-\(i).log" }.count == 1)
        }
        return outcomes
    }

    @Test func withOExclExactlyOneCreatorWins() throws {
        for (a, b) in try Self.race(O_WRONLY | O_CREAT | O_EXCL) {
            let wins = [a, b].filter { if case .success = $0 { true } else { false } }
            #expect(wins.count == 1)
            #expect([a.failure, b.failure].compactMap { $0 } == [Errno(EEXIST)])
        }
    }

    @Test func withoutOExclBothGetTheSameFile() throws {
        for (a, b) in try Self.race(O_WRONLY | O_APPEND | O_CREAT) {
            let ea = try a.get(), eb = try b.get()
            #expect(ea.entry.ino == eb.entry.ino)
        }
    }
}
