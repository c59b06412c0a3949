import ArgumentParser
import AuditStore
import Foundation

/// How both executables run their command: like `ParsableCommand.main()`,
/// but an argument that does not parse (a number too large for its type, an
/// unknown option, a missing value) is one line, `auditfs: <what>`, with
/// ArgumentParser's exit status (64), as every other auditfs error is; help
/// and `--version` print as usual. Arguments that are not valid UTF-8 are
/// refused first (`ArgumentEncoding`).
public enum CommandLineMain {
    public static func run(_ root: any ParsableCommand.Type) -> Never {
        ArgumentEncoding.requireUTF8()   // before Swift repairs invalid UTF-8 into U+FFFD
        var command: any ParsableCommand
        do {
            command = try root.parseAsRoot()
        } catch {
            exitOneLine(root, error)
        }
        do {
            try command.run()
            exit(0)
        } catch {
            exitOneLine(root, error)
        }
    }

    private static func exitOneLine(_ root: any ParsableCommand.Type, _ error: any Error) -> Never {
        let code = root.exitCode(for: error)
        // Help, --version and ExitCode(n) thrown by a command: as ArgumentParser does it.
        if error is CleanExit || error is ExitCode || code == .success { root.exit(withError: error) }
        let message = root.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        FileHandle.standardError.write(Data(("auditfs: " + TerminalText.escape(message) + "\n").utf8))
        exit(code.rawValue)
    }
}
