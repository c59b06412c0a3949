import ArgumentParser
import AuditStore

/// The STORE argument shared by every subcommand that works on a store.
struct StoreArgument: ParsableArguments {
    @Argument(help: "The store directory.")
    var store: String
}

/// Prints a one-line error and exits with `code` (2: usage or I/O). The
/// message is escaped (`TerminalText`): a name quoted in it stays on its line.
func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data(("auditfs: " + TerminalText.escape(message) + "\n").utf8))
    exit(code)
}

func openStore(_ path: String, mode: Store.Mode) -> Store {
    do {
        let store = try Store.open(at: path, mode: mode)
        if let r = store.recovery {
            FileHandle.standardError.write(("auditfs: " + r.description + "\n").data(using: .utf8)!)
        }
        return store
    } catch {
        fail(error.description, code: error.isDamage ? 1 : 2)
    }
}

extension StoreError {
    var isDamage: Bool { if case .damaged = self { true } else { false } }
}

/// A time option (`--since`, `--until`): `Timestamps.time`, or a one-line
/// error naming the forms or the bounds.
func cliTime(_ option: String, _ text: String, now: Int64) -> Int64 {
    do { return try Timestamps.time(text, now: now) } catch { fail("\(option) '\(text)': \(error)") }
}

func parsePath(_ p: String) -> String {
    do { return try StorePath.parse(p) } catch { fail(error.description) }
}

import Foundation
