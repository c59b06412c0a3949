import ArgumentParser
import AuditPlumbing
import AuditStore
import Glibc

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
        try Self.checkOwnDirectory(directory)
        do {
            let done = try LogTiles.write(s, checkpoint: note, size: checkpoint.size, to: directory)
            print("tree size \(checkpoint.size): \(done.tiles) tile(s) and \(done.bundles) entry bundle(s) written, "
                + "\(done.kept) full one(s) kept, checkpoint at \(directory)/checkpoint")
        } catch {
            throw CommandFailure(error.description)
        }
    }

    /// DIR (made when missing) must be a directory of the user running this
    /// (not a symbolic link) that no one else may write to: the tiles are
    /// written below it (as root, often), and whoever else could write there
    /// could put a symbolic link where a tile directory goes and have them
    /// written anywhere.
    static func checkOwnDirectory(_ path: String) throws(CommandFailure) {
        // Made here when missing, so that what is checked is what was made (or someone else's, refused).
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw CommandFailure("'\(path)': \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw CommandFailure("'\(path)': \(String(cString: strerror(errno)))") }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw CommandFailure("'\(path)' is not a directory (a symbolic link is refused)") }
        guard st.st_uid == geteuid(), st.st_mode & 0o022 == 0 else {
            throw CommandFailure("'\(path)' must be owned by this user and writable by no one else: the tiles are written below it")
        }
    }
}
