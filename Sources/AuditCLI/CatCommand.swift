import ArgumentParser
import AuditPlumbing
import AuditStore
import Foundation

struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cat", abstract: "Print a file of the store.")

    @OptionGroup var store: StoreArgument
    @Argument(help: "Path of the file inside the store.") var path: String

    func run() throws {
        let p = try parsePath(path)
        let s = try openStore(store.store, mode: .readOnly)
        guard let node = s.lookup(p) else { throw CommandFailure(StoreError.noSuchFile(p).description) }
        if node.isDirectory { throw CommandFailure(StoreError.isADirectory(p).description) }
        var offset: UInt64 = 0
        while offset < node.size {
            do {
                let chunk = try s.read(node.id, offset: offset, count: 1 << 20)
                FileHandle.standardOutput.write(Data(chunk))
                offset += UInt64(chunk.count)
            } catch {
                throw CommandFailure(error.description)
            }
        }
    }
}

struct LsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a directory of the store.")

    @OptionGroup var store: StoreArgument
    @Argument(help: "Directory inside the store.") var dir: String = "/"

    func run() throws {
        let p = try parsePath(dir)
        let s = try openStore(store.store, mode: .readOnly)
        guard let node = s.lookup(p) else { throw CommandFailure(StoreError.noSuchFile(p).description) }
        let entries = node.isDirectory ? s.children(of: node.id) : [node]
        for e in entries {
            let type = e.isDirectory ? "d" : "-"
            let name = TerminalText.escape(e.name) + (e.isDirectory ? "/" : "")
            print("\(type)\(String(e.mode, radix: 8).leftPadded(4)) \(String(e.uid).leftPadded(5, " ")) \(String(e.gid).leftPadded(5, " ")) \(String(e.size).leftPadded(12, " ")) \(Timestamps.rfc3339(e.mtime)) \(name)")
        }
    }
}
