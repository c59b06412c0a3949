import ArgumentParser
import AuditPlumbing
import AuditStore

/// `auditfs tiles STORE DIR`: the store's tree as C2SP tlog-tiles, at its
/// newest checkpoint (FORMAT.md "Tiles"), for a web server to publish.
struct TilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiles",
        abstract: "Write the store's Merkle tree as C2SP tlog-tiles (checkpoint, tiles, entry bundles) into a directory.",
        discussion: """
            Writes DIR/checkpoint (the newest stored checkpoint), DIR/tile/<L>/<N>[.p/<W>] and \
            DIR/tile/entries/<N>[.p/<W>] for the tree that checkpoint signs; an entry is a record's hash. \
            Run it again after each checkpoint: full tiles already written are kept, as they never change. \
            Serve DIR with any web server; a tlog-tiles client recomputes every proof from it.
            """)

    @OptionGroup var store: StoreArgument
    @Argument(help: "The directory to write into (made if missing).")
    var directory: String

    func run() throws {
        let s = try openStore(store.store, mode: .readOnly)
        defer { s.close() }
        let note: String
        do {
            guard let last = try s.blocks(of: AuditPaths.checkpoints).last else {
                throw CommandFailure("the store holds no checkpoint yet (a mount, or `auditfs checkpoint`, signs one)")
            }
            note = String(decoding: last, as: UTF8.self)
        } catch let e as CommandFailure { throw e } catch { throw CommandFailure("\(error)") }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.parse(try SignedNote.parse(note).text) } catch {
            throw CommandFailure("the newest stored checkpoint does not parse: \(error)", code: 1)
        }
        do {
            let done = try LogTiles.write(s, checkpoint: note, size: checkpoint.size, to: directory)
            print("tree size \(checkpoint.size): \(done.tiles) tile(s) and \(done.bundles) entry bundle(s) written, "
                + "\(done.kept) full one(s) kept, checkpoint at \(directory)/checkpoint")
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
