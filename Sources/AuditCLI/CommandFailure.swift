import AuditPlumbing
import AuditStore

/// A command that cannot go on: the exit status and the one line that says
/// why. Commands and their helpers throw it instead of exiting, so that
/// every `defer` runs (a store is closed: synced, its index written, its lock
/// released) before `main` exits once (`CommandLineMain`). Printed as
/// `auditfs: <line>` on standard error.
public struct CommandFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The exit status: 2 usage or I/O (the default), 1 damage or a refusal
    /// a test of the input found.
    public let code: Int32
    /// What follows `auditfs: `, already escaped for the terminal
    /// (`TerminalText`): a name quoted in it stays on its line. Nil when the
    /// command has printed what went wrong itself (a policy's
    /// FILE:LINE:COLUMN errors).
    public let line: String?

    /// `message` escaped (`TerminalText.escape`).
    public init(_ message: String, code: Int32 = 2) {
        self.code = code
        line = TerminalText.escape(message)
    }

    /// A line printed as it is: escaped already, or one whose text has
    /// always been printed unescaped (the mount's startup errors).
    public init(verbatim line: String, code: Int32) {
        self.code = code
        self.line = line
    }

    private init(code: Int32) {
        self.code = code
        line = nil
    }

    /// The command has printed its errors; exit with `code`, print nothing more.
    public static func reported(code: Int32) -> CommandFailure { CommandFailure(code: code) }

    public var description: String { line ?? "exit status \(code)" }
}
