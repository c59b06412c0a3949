import ArgumentParser
import AuditStore

/// `auditfs log-key STORE`: prints the store's log key — the long-lived key
/// every checkpoint is also signed with, for witnesses to pin (FORMAT.md
/// "Keys") — making it first if the store has none (a store from before log
/// keys), and publishing it in STORE/log-key.
struct LogKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-key",
        abstract: "Print the store's log key (the key witnesses pin), making it if the store has none.")

    @OptionGroup var store: StoreArgument
    @Option(help: "The signing key directory (default: STORE/keys).") var keys: String?

    func run() throws {
        let s = try openStore(store.store, mode: .readOnly)
        defer { s.close() }
        do {
            let key = try LogKey.openOrCreate(keysDirectory: keys ?? Checkpointer.keysDirectory(of: store.store),
                                              origin: Checkpointer.origin(of: s), publish: LogKey.publicFile(of: store.store))
            print(key.verifier.description)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
