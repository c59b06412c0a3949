import ArgumentParser
import AuditStore
import Foundation

struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append standard input to a file in the store as one record.",
        discussion: "Creates the file, and its parent directories, when missing. Returns after the record is synced to disk.")

    @OptionGroup var store: StoreArgument
    @Argument(help: "Path of the file inside the store, e.g. /app/today.log.") var path: String

    func run() throws {
        let p = try parsePath(path)
        // As through the mount: /.audit is written only by auditfs itself.
        if Store.isAuditPath(p) { throw CommandFailure("'\(p)' is in the audit namespace (\(AuditPaths.root)), which only auditfs writes: append refused", code: 1) }
        var data = [UInt8]()
        while let chunk = try? FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
            data.append(contentsOf: chunk)
            if data.count > Int(Format.maxPayloadSize) { throw CommandFailure(StoreError.tooLarge(data.count).description) }
        }
        // Not closed, as before: close() writes cache/index, and an open
        // after it replays only the records that follow (verify reads all).
        let s = try openStore(store.store, mode: .readWrite)
        let me = Provenance.current()
        do {
            var id: UInt64
            if let node = s.lookup(p) {
                if node.isDirectory { throw StoreError.isADirectory(p) }
                id = node.id
            } else {
                var dir = "/"
                for part in try StorePath.components(of: StorePath.parent(of: p)) {
                    dir = StorePath.join(dir, part)
                    if let existing = s.lookup(dir) {
                        if !existing.isDirectory { throw StoreError.notADirectory(dir) }
                    } else {
                        try s.create(dir, kind: .directory, mode: 0o755, owner: me.uid, group: me.gid, by: me)
                    }
                }
                id = try s.create(p, kind: .file, mode: 0o644, owner: me.uid, group: me.gid, by: me).id
            }
            try s.append(id, data, by: me)
            try s.syncWithTreeCache()
        } catch let e as StoreError {
            throw CommandFailure(e.description)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
