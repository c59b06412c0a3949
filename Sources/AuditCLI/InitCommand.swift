import ArgumentParser
import AuditStore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create an empty store.")

    @OptionGroup var store: StoreArgument

    func run() throws {
        do {
            let s = try Store.create(at: store.store)
            print("created store \(store.store) (id \(s.identity.idHex))")
        } catch {
            fail(error.description)
        }
    }
}
