import ArgumentParser
import AuditPlumbing
import AuditStore

/// The STORE argument shared by every subcommand that works on a store.
struct StoreArgument: ParsableArguments {
    @Argument(help: "The store directory.")
    var store: String
}

/// Opens the store, printing what its recovery did; a store that cannot be
/// opened fails with status 1 when damaged, 2 otherwise.
func openStore(_ path: String, mode: Store.Mode) throws(CommandFailure) -> Store {
    do {
        let store = try Store.open(at: path, mode: mode)
        if let r = store.recovery {
            ErrorLine.write(line: "auditfs: " + r.description)
        }
        return store
    } catch {
        throw CommandFailure(error.description, code: error.isDamage ? 1 : 2)
    }
}

extension StoreError {
    var isDamage: Bool { if case .damaged = self { true } else { false } }
}

/// A time option (`--since`, `--until`): `Timestamps.time`, or a one-line
/// error naming the forms or the bounds.
func cliTime(_ option: String, _ text: String, now: Int64) throws(CommandFailure) -> Int64 {
    do { return try Timestamps.time(text, now: now) } catch { throw CommandFailure("\(option) '\(text)': \(error)") }
}

func parsePath(_ p: String) throws(CommandFailure) -> String {
    do { return try StorePath.parse(p) } catch { throw CommandFailure(error.description) }
}
