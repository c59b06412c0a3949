import Foundation
import Glibc
import Testing
@testable import AuditWitness

/// A witness directory may be shared (an NFS export other users write to):
/// what another user plants at the checkpoint file's name is never written
/// through.
@Suite struct WitnessDirectoryTests {
    @Test func aLinkOrFifoPlantedAtTheCheckpointFileIsRefusedNotFollowed() throws {
        let dir = NSTemporaryDirectory() + "witness-dir-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try #require(mkdir(dir, 0o700) == 0)
        defer { _ = try? FileManager.default.removeItem(atPath: dir) }
        let victim = dir + "/victim"
        try #require(FileManager.default.createFile(atPath: victim, contents: Data("keep\n".utf8)))
        let witness = WitnessDirectory(dir, origin: "host/store")

        try #require(symlink(victim, witness.file) == 0)
        guard case .failed = witness.deliver("checkpoint", cancelled: { false }) else {
            Issue.record("a planted link was written through"); return
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep\n")

        try #require(unlink(witness.file) == 0 && mkfifo(witness.file, 0o600) == 0)
        guard case .failed = witness.deliver("checkpoint", cancelled: { false }) else {   // no reader: would block without O_NONBLOCK
            Issue.record("a planted FIFO was written"); return
        }

        try #require(unlink(witness.file) == 0)
        #expect(witness.deliver("checkpoint", cancelled: { false }) == .delivered)
        #expect(try String(contentsOfFile: witness.file, encoding: .utf8) == "checkpoint\n")
    }
}
