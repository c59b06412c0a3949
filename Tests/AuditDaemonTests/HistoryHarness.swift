import AuditRecords
import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// What the history-mode tests share: calling rename, unlink and rmdir by
/// path as the kernel would, and the state a refusal must leave as it was.
extension DaemonHarness {
    /// rename(2) of `from` to `to` (both absolute), with the kernel's flags.
    func rename(_ who: RequestContext, _ from: String, _ to: String, flags: UInt32 = 0) -> Result<Void, Errno> {
        let (parent, name) = split(from)
        let (newParent, newName) = split(to)
        return fs.rename(who, parent: parent, name: name, newParent: newParent, newName: newName, flags: flags)
    }

    func unlink(_ who: RequestContext, _ path: String) -> Result<Void, Errno> {
        let (parent, name) = split(path)
        return fs.unlink(who, parent: parent, name: name)
    }

    func rmdir(_ who: RequestContext, _ path: String) -> Result<Void, Errno> {
        let (parent, name) = split(path)
        return fs.rmdir(who, parent: parent, name: name)
    }

    /// A file at `path` holding `text`, created and written by `who`; its id
    /// and the append handle (still open).
    @discardableResult
    func file(_ who: RequestContext, _ path: String, _ text: String) throws -> (ino: UInt64, handle: UInt64) {
        let f = try create(who, path)
        #expect(write(who, f.entry.ino, text, at: 0, handle: f.opened.handle) == .success(text.utf8.count))
        return (f.entry.ino, f.opened.handle)
    }

    /// Everything a refusal must leave as it was: every node outside the
    /// decision records — its id, size, mode, owner, group and whether it is
    /// retired — under every name, /.audit/retired included, and the bytes
    /// of every file.
    func historyState() -> [String: String] {
        var all: [String: String] = [:]
        func walk(_ n: NodeInfo) {
            if n.path == "/.audit" {
                for c in store.children(of: n.id) { walk(c) }
                return
            }
            if Store.isAuditPath(n.path) && !n.path.hasPrefix("/.audit/retired") { return }
            let bytes = n.isDirectory ? [] : ((try? store.read(n.id, offset: 0, count: Int(n.size))) ?? [])
            all[n.path] = "\(n.id) \(n.size) \(n.mode) \(n.uid) \(n.gid) \(n.isRetired) \(bytes)"
            if n.isDirectory { for c in store.children(of: n.id) { walk(c) } }
        }
        walk(store.lookup("/")!)
        return all
    }

    /// The decisions with this verb about `path` (as the record spells it).
    func decisions(_ verb: String, _ path: String) -> [DecisionRecord] {
        decisions(about: path).filter { $0.verb == verb }
    }
}
