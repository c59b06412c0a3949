import ArgumentParser
import AuditPlumbing
import AuditStore
import Foundation

/// How both executables run their command: like `ParsableCommand.main()`,
/// but an argument that does not parse (a number too large for its type, an
/// unknown option, a missing value) is one line, `auditfs: <what>`, with
/// ArgumentParser's exit status (64), as every other auditfs error is; help
/// and `--version` print as usual. Arguments that are not valid UTF-8 are
/// refused first (`ArgumentEncoding`). A command fails by throwing
/// (`CommandFailure`, or `ExitCode` after printing its own report); nothing
/// here exits: `run` returns the exit status and `main` exits with it.
public enum CommandLineMain {
    public static func run(_ root: any ParsableCommand.Type, arguments: [String]? = nil) -> Int32 {
        do {
            if arguments == nil { try ArgumentEncoding.requireUTF8() }   // before Swift repairs invalid UTF-8 into U+FFFD
            var command = try root.parseAsRoot(arguments)
            try command.run()
            return 0
        } catch {
            return report(root, error)
        }
    }

    /// Prints what `error` says (nothing for an `ExitCode` or a failure
    /// already reported) and returns the exit status.
    static func report(_ root: any ParsableCommand.Type, _ error: any Error) -> Int32 {
        if let failure = error as? CommandFailure {
            if let line = failure.line { ErrorLine.write(line: ErrorLine.prefix + line) }
            return failure.code
        }
        let code = root.exitCode(for: error)
        // Help, --version and ExitCode(n) thrown by a command: as ArgumentParser prints them.
        if error is CleanExit || error is ExitCode || code == .success {
            let text = root.fullMessage(for: error)
            if !text.isEmpty {
                if code == .success { print(text) } else { ErrorLine.write(line: text) }
            }
            return code.rawValue
        }
        let message = root.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        ErrorLine.write(message)
        return code.rawValue
    }
}
