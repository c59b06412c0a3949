import Foundation
import Testing
@testable import AuditWitness
import Glibc

/// The subprocess runner: one deadline for the whole run, input included;
/// no SIGPIPE; nothing of the caller's leaks into the child.
@Suite struct ChildCommandTests {
    static let mebibyte = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    final class Dir {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("auditfs-child-\(UUID().uuidString)").path
        init() { try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// The attack: a witness that reads nothing and sleeps. Before, all the
    /// input was written before the deadline counted, so the caller blocked
    /// in write() until the child ended (30 s) and then called it a success.
    @Test func aChildThatNeverReadsCannotHoldTheCallerPastTheDeadline() {
        let start = DispatchTime.now()
        let outcome = ChildCommand.run(["/bin/sleep", "30"], input: Self.mebibyte, timeoutNs: 1_000_000_000)
        #expect(outcome == .timedOut)
        // Generous (the machine is loaded): well before the child would have ended by itself.
        #expect(Self.seconds(since: start) < 20)
    }

    @Test func aChildGetsEveryByteOfItsInput() throws {
        let d = Dir()
        let out = d.path + "/got"
        let input = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(ChildCommand.run(["/bin/sh", "-c", "cat > '\(out)'"], input: input, timeoutNs: 60_000_000_000) == .succeeded)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(input))
    }

    /// A child that exits without reading makes the write fail with EPIPE;
    /// this test process, which ignores no signal, would die of SIGPIPE.
    @Test func aChildThatExitsWithoutReadingRaisesNoSigpipe() {
        var old = sigaction()
        sigaction(SIGPIPE, nil, &old)
        #expect(old.__sigaction_handler.sa_handler == nil)   // SIG_DFL: nobody set it to ignore
        #expect(ChildCommand.run(["/bin/true"], input: Self.mebibyte, timeoutNs: 30_000_000_000) == .succeeded)
        #expect(ChildCommand.run(["/bin/sh", "-c", "exit 3"], input: Self.mebibyte, timeoutNs: 30_000_000_000) == .exited(3))
        var now = sigaction()
        sigaction(SIGPIPE, nil, &now)
        #expect(now.__sigaction_handler.sa_handler == nil)   // and the runner did not either
    }

    @Test func exitCodesSignalsAndCommandsThatCannotStart() {
        #expect(ChildCommand.run(["/bin/sh", "-c", "exit 7"], input: [], timeoutNs: 30_000_000_000) == .exited(7))
        #expect(ChildCommand.run(["/bin/sh", "-c", "kill -TERM $$"], input: [], timeoutNs: 30_000_000_000) == .exited(128 + SIGTERM))
        if case .notStarted = ChildCommand.run(["/nonexistent/witness"], input: [1], timeoutNs: 1_000_000_000) {} else {
            Issue.record("a missing program should not start")
        }
        if case .notStarted = ChildCommand.run(["sh", "-c", "true"], input: [], timeoutNs: 1_000_000_000) {} else {
            Issue.record("a relative program should not start")
        }
    }

    /// At the deadline the child's whole process group is killed: a shell's
    /// own child does not linger.
    @Test func theDeadlineKillsWhatTheCommandStarted() throws {
        let d = Dir()
        let pidFile = d.path + "/pid"
        let outcome = ChildCommand.run(["/bin/sh", "-c", "sleep 30 & echo $! > '\(pidFile)'; wait"], input: [],
                                       timeoutNs: 1_000_000_000)
        #expect(outcome == .timedOut)
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let pid = try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        // Killed at once; reaped by init soon after (a zombie still answers kill 0).
        var gone = false
        for _ in 0..<200 where !gone {
            gone = kill(pid, 0) != 0 || (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z ") == true
            if !gone { usleep(25_000) }
        }
        #expect(gone)
    }

    @Test func cancellingEndsTheRunAsTheDeadlineWould() {
        let start = DispatchTime.now()
        let outcome = ChildCommand.run(["/bin/sleep", "30"], input: [], timeoutNs: 60_000_000_000,
                                       cancelled: { Self.seconds(since: start) > 0.5 })
        #expect(outcome == .timedOut)
        #expect(Self.seconds(since: start) < 20)
    }

    /// The caller's descriptors (a store's segment, /dev/fuse) stay its own.
    @Test func theChildInheritsNoDescriptorButItsStdio() throws {
        let d = Dir()
        let fd = open(d.path + "/held", O_WRONLY | O_CREAT, 0o600)   // no O_CLOEXEC on purpose
        #expect(fd > 2)
        defer { close(fd) }
        #expect(ChildCommand.run(["/bin/sh", "-c", "[ ! -e /proc/$$/fd/\(fd) ]"], input: [], timeoutNs: 30_000_000_000) == .succeeded)
        #expect(ChildCommand.run(["/bin/sh", "-c", "[ -e /proc/$$/fd/0 ]"], input: [], timeoutNs: 30_000_000_000) == .succeeded)
    }
}
