import ArgumentParser
import AuditStore
import Foundation
import Glibc

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an empty store and its signing key; print the verifier key to keep off the host.")

    @OptionGroup var store: StoreArgument
    @Option(help: "The name that begins the checkpoints' origin, NAME/auditfs/<store id> (a host or domain name, no scheme); default this host's name.")
    var origin: String?

    /// This host's name (gethostname), lowercased; nil when there is none.
    static func hostName() -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return nil }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased()
        return name.isEmpty ? nil : name
    }

    func run() throws {
        if let origin, origin.isEmpty || origin.contains("://") || origin.contains(where: { $0.isWhitespace || $0 == "+" }) {
            throw CommandFailure("--origin '\(origin)': expected a name without a scheme, white space or '+' (like log.example.com)")
        }
        let s: Store
        do { s = try Store.create(at: store.store) } catch { throw CommandFailure(error.description) }
        defer { s.close() }
        do {
            // The root key certifies epoch 1 and is forgotten: its public half is the verifier key.
            // "<name>/auditfs/<id>"; a host name that cannot begin one leaves the old form, "auditfs/<id>".
            let name = origin ?? Self.hostName()
            let verifier = try Checkpointer.createKeys(store: s, keysDirectory: Checkpointer.keysDirectory(of: store.store),
                                                       origin: name.flatMap { Checkpoint.origin(of: s.identity, name: $0) }).description
            let file = Checkpointer.verifierKeyFile(of: store.store)
            try Data((verifier + "\n").utf8).write(to: URL(fileURLWithPath: file))
            print("created store \(store.store) (id \(s.identity.idHex))")
            print("verifier key (copy it off this host; `auditfs verify --key` and `verify-bundle --key` need it):")
            print(verifier)
            print("also written to \(file)")
            print("log key (for witnesses to pin; `auditfs log-key STORE` prints it again):")
            print(try String(contentsOfFile: LogKey.publicFile(of: store.store), encoding: .utf8), terminator: "")
        } catch {
            throw CommandFailure("store created, but its signing key could not be: \(error)")
        }
    }
}
