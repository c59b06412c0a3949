import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command with bytes on its standard input and gives it a deadline:
/// the witness command of checkpoints and the command action of alerts. A
/// command that does not read its input, fails or hangs never harms the
/// caller (SIGPIPE is ignored; a late command is killed).
public enum ChildCommand {
    public enum Outcome: Equatable, Sendable {
        case succeeded
        /// Exited with a non-zero status.
        case exited(Int32)
        /// Could not be started (the reason).
        case notStarted(String)
        /// Still running at the deadline: killed.
        case timedOut
    }

    /// `argv[0]` is an absolute path (no shell unless it is one).
    public static func run(_ argv: [String], input: [UInt8], timeoutNs: Int64) -> Outcome {
        _ = ignoreBrokenPipes
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        p.standardInput = pipe
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return .notStarted("\(argv[0]): \(error.localizedDescription)") }
        let fd = pipe.fileHandleForWriting.fileDescriptor
        var done = 0
        while done < input.count {
            let n = input[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }   // the command stopped reading
            done += n
        }
        try? pipe.fileHandleForWriting.close()
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(timeoutNs, 0))
        while p.isRunning && DispatchTime.now().uptimeNanoseconds < deadline { usleep(5_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            return .timedOut
        }
        return p.terminationStatus == 0 ? .succeeded : .exited(p.terminationStatus)
    }

    /// SIGPIPE ignored, once per process: writing to a command that exited fails with EPIPE instead.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}
