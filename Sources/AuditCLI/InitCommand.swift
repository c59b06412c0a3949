import ArgumentParser
import AuditStore
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an empty store and its signing key; print the verifier key to keep off the host.")

    @OptionGroup var store: StoreArgument

    func run() throws {
        let s: Store
        do { s = try Store.create(at: store.store) } catch { throw CommandFailure(error.description) }
        defer { s.close() }
        do {
            // The root key certifies epoch 1 and is forgotten: its public half is the verifier key.
            let verifier = try Checkpointer.createKeys(store: s, keysDirectory: Checkpointer.keysDirectory(of: store.store)).description
            let file = Checkpointer.verifierKeyFile(of: store.store)
            try Data((verifier + "\n").utf8).write(to: URL(fileURLWithPath: file))
            print("created store \(store.store) (id \(s.identity.idHex))")
            print("verifier key (copy it off this host; `auditfs verify --key` and `verify-bundle --key` need it):")
            print(verifier)
            print("also written to \(file)")
        } catch {
            throw CommandFailure("store created, but its signing key could not be: \(error)")
        }
    }
}
