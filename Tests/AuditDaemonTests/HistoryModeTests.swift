import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// History mode (`-o history`, docs/MOUNT.md "History mode") on the
/// daemon: rename, unlink and rmdir work as POSIX says and keep every byte —
/// a moved node keeps its id and blocks, a removed or replaced one moves
/// under /.audit/retired — each decided by the mode bits and the policy
/// (`rename`, `remove`) and recorded. What stays refused is refused as
/// without history, and after every refusal nothing changed.
@Suite struct HistoryModeTests {
    static let alice = UInt32(1000)

    static func harness(policy: String? = nil) throws -> (DaemonHarness, RequestContext) {
        let h = try DaemonHarness(policy: policy, history: true)
        return (h, h.caller(uid: alice))
    }

    /// The decision about `path` with `verb`, granted.
    static func granted(_ h: DaemonHarness, _ verb: String, _ path: String, target: String? = nil) -> Bool {
        h.decisions(verb, path).contains { $0.decision == "grant" && $0.target == target && $0.reason == "rule" }
    }

    // MARK: rename

    @Test func aRenameMovesTheNameAndTheFileKeepsItsIdBytesAndWriters() throws {
        let (h, alice) = try Self.harness()
        let (ino, handle) = try h.file(alice, "/w/app.log", "one\n")
        #expect(h.rename(alice, "/w/app.log", "/w/app.log.1").failure == nil)
        #expect(h.node("/w/app.log") == nil)
        let moved = try #require(h.node("/w/app.log.1"))
        #expect(moved.id == ino && !moved.isRetired && moved.uid == Self.alice)
        #expect(try h.contents("/w/app.log.1") == Array("one\n".utf8))
        // A writer that kept its descriptor writes on, under the new name.
        #expect(h.write(alice, ino, "two\n", at: 0, handle: handle) == .success(4))
        #expect(try h.contents("/w/app.log.1") == Array("one\ntwo\n".utf8))
        // Recorded: rename of the old name (target: the new), rename of the new name (target: the old).
        #expect(Self.granted(h, "rename", "/w/app.log", target: "/w/app.log.1"))
        #expect(Self.granted(h, "rename", "/w/app.log.1", target: "/w/app.log"))
        #expect(h.decisions("remove", "/w/app.log.1").isEmpty)   // nothing was replaced
        // The name is free again: a new file there is a new id.
        let fresh = try h.create(alice, "/w/app.log")
        #expect(fresh.entry.ino != ino)
    }

    @Test func aRenameOntoAnExistingNameRetiresTheReplacedFileWithItsBytes() throws {
        let (h, alice) = try Self.harness()
        let (oldIno, oldHandle) = try h.file(alice, "/w/app.log.1", "old\n")
        let (ino, _) = try h.file(alice, "/w/app.log", "new\n")
        #expect(h.rename(alice, "/w/app.log", "/w/app.log.1").failure == nil)
        #expect(h.node("/w/app.log") == nil)
        #expect(h.node("/w/app.log.1")?.id == ino)
        #expect(try h.contents("/w/app.log.1") == Array("new\n".utf8))
        let retired = try #require(h.store.info(oldIno))
        #expect(retired.isRetired)
        #expect(retired.path.hasPrefix("/.audit/retired/w/app.log.1@"), "\(retired.path)")
        #expect(try h.contents(retired.path) == Array("old\n".utf8))
        #expect(Self.granted(h, "rename", "/w/app.log", target: "/w/app.log.1"))
        #expect(Self.granted(h, "rename", "/w/app.log.1", target: "/w/app.log"))
        #expect(Self.granted(h, "remove", "/w/app.log.1", target: "/w/app.log"))
        // A writer that kept the replaced file open: EPERM, a refusal (not tamper), nothing stored.
        let before = h.historyState()
        #expect(h.write(alice, oldIno, "late\n", at: 4, handle: oldHandle).failure == Errno(EPERM))
        #expect(h.historyState() == before)
        let r = try #require(h.decisions("write", retired.path).first)
        #expect(r.decision == "deny" && r.mountRule == "retired" && !r.tamper && r.errno == EPERM)
    }

    @Test func noReplaceRefusesAnExistingNameWithEEXISTAndMovesANewOne() throws {
        let (h, alice) = try Self.harness()
        try h.file(alice, "/w/a", "a\n")
        try h.file(alice, "/w/b", "b\n")
        let before = h.historyState()
        #expect(h.rename(alice, "/w/a", "/w/b", flags: MountRules.renameNoReplace).failure == Errno(EEXIST))
        #expect(h.historyState() == before)
        #expect(h.rename(alice, "/w/a", "/w/c", flags: MountRules.renameNoReplace).failure == nil)
        #expect(try h.contents("/w/c") == Array("a\n".utf8))
    }

    /// RENAME_EXCHANGE (2), RENAME_WHITEOUT (4): not one name moved; EINVAL, recorded, not tamper.
    @Test(arguments: [UInt32(2), UInt32(4), UInt32(5), UInt32(8)])
    func exchangeAndWhiteoutAreRefusedAndRecordedNotTamper(flags: UInt32) throws {
        let (h, alice) = try Self.harness()
        try h.file(alice, "/w/a", "a\n")
        try h.file(alice, "/w/b", "b\n")
        let before = h.historyState()
        #expect(h.rename(alice, "/w/a", "/w/b", flags: flags).failure == Errno(EINVAL))
        #expect(h.historyState() == before)
        let r = try #require(h.decisions("rename", "/w/a").first)
        #expect(r.decision == "deny" && r.mountRule == "rename-flags" && !r.tamper && r.errno == EINVAL
                && r.target == "/w/b")
    }

    @Test func aRenameAcrossDirectories() throws {
        let (h, alice) = try Self.harness()
        try h.mkdir(alice, "/w/d1")
        try h.mkdir(alice, "/w/d2")
        let (ino, _) = try h.file(alice, "/w/d1/f", "f\n")
        #expect(h.rename(alice, "/w/d1/f", "/w/d2/g").failure == nil)
        #expect(h.node("/w/d1/f") == nil && h.node("/w/d2/g")?.id == ino)
        #expect(h.node("/w/d1")?.childCount == 0 && h.node("/w/d2")?.childCount == 1)
        #expect(try h.contents("/w/d2/g") == Array("f\n".utf8))
    }

    @Test func aDirectoryRenameTakesItsChildrenAlong() throws {
        let (h, alice) = try Self.harness()
        try h.mkdir(alice, "/w/d")
        try h.mkdir(alice, "/w/d/sub")
        let (ino, handle) = try h.file(alice, "/w/d/sub/f", "f\n")
        let dirIno = try #require(h.ino("/w/d"))
        try h.mkdir(alice, "/w/e-parent")
        #expect(h.rename(alice, "/w/d", "/w/e-parent/e").failure == nil)
        #expect(h.node("/w/d") == nil)
        #expect(h.ino("/w/e-parent/e") == dirIno)
        #expect(h.node("/w/e-parent/e/sub/f")?.id == ino)
        #expect(h.write(alice, ino, "g\n", at: 0, handle: handle) == .success(2))
        #expect(try h.contents("/w/e-parent/e/sub/f") == Array("f\ng\n".utf8))
        // The kernel's next lookup finds it by the new parent.
        let sub = try #require(h.ino("/w/e-parent/e/sub"))
        #expect(try h.fs.lookup(alice, parent: sub, name: Array("f".utf8)).get().ino == ino)
    }

    @Test func aDirectoryOntoAnEmptyDirectoryReplacesItAndOntoAFullOneIsENOTEMPTY() throws {
        let (h, alice) = try Self.harness()
        try h.mkdir(alice, "/w/src")
        try h.file(alice, "/w/src/f", "f\n")
        try h.mkdir(alice, "/w/full")
        try h.file(alice, "/w/full/g", "g\n")
        try h.mkdir(alice, "/w/empty")
        let emptyIno = try #require(h.ino("/w/empty"))
        let before = h.historyState()
        #expect(h.rename(alice, "/w/src", "/w/full").failure == Errno(ENOTEMPTY))
        #expect(h.historyState() == before)
        #expect(h.rename(alice, "/w/src", "/w/empty").failure == nil)
        #expect(h.node("/w/empty/f") != nil)
        #expect(h.store.info(emptyIno)?.isRetired == true)
    }

    @Test func aFileOntoADirectoryIsEISDIRAndADirectoryOntoAFileENOTDIR() throws {
        let (h, alice) = try Self.harness()
        try h.file(alice, "/w/f", "f\n")
        try h.mkdir(alice, "/w/d")
        let before = h.historyState()
        #expect(h.rename(alice, "/w/f", "/w/d").failure == Errno(EISDIR))
        #expect(h.rename(alice, "/w/d", "/w/f").failure == Errno(ENOTDIR))
        #expect(h.historyState() == before)
        #expect(h.decisions().filter { $0.verb == "rename" || $0.verb == "remove" }.isEmpty)   // no decision was needed
    }

    @Test func aDirectoryIntoItsOwnSubtreeIsEINVAL() throws {
        let (h, alice) = try Self.harness()
        try h.mkdir(alice, "/w/d")
        try h.mkdir(alice, "/w/d/sub")
        let before = h.historyState()
        #expect(h.rename(alice, "/w/d", "/w/d/sub/x").failure == Errno(EINVAL))
        #expect(h.rename(alice, "/w/d", "/w/d/x").failure == Errno(EINVAL))
        #expect(h.historyState() == before)
    }

    @Test func aNameOntoItselfChangesNothingAndRecordsNothing() throws {
        let (h, alice) = try Self.harness()
        try h.file(alice, "/w/a", "a\n")
        let before = h.historyState()
        let decisions = h.decisions().count
        #expect(h.rename(alice, "/w/a", "/w/a").failure == nil)
        #expect(h.historyState() == before)
        #expect(h.decisions().count == decisions)
    }

    @Test func aMissingNameIsENOENT() throws {
        let (h, alice) = try Self.harness()
        #expect(h.fs.rename(alice, parent: try #require(h.ino("/w")), name: Array("ghost".utf8),
                            newParent: try #require(h.ino("/w")), newName: Array("x".utf8), flags: 0).failure == Errno(ENOENT))
        #expect(h.fs.unlink(alice, parent: try #require(h.ino("/w")), name: Array("ghost".utf8)).failure == Errno(ENOENT))
    }

    // MARK: unlink, rmdir

    @Test func unlinkRetiresTheFileWithItsBytes() throws {
        let (h, alice) = try Self.harness()
        let (ino, handle) = try h.file(alice, "/w/app.log", "kept\n")
        #expect(h.unlink(alice, "/w/app.log").failure == nil)
        #expect(h.node("/w/app.log") == nil)
        let retired = try #require(h.store.info(ino))
        #expect(retired.isRetired && retired.path.hasPrefix("/.audit/retired/w/app.log@"))
        #expect(try h.contents(retired.path) == Array("kept\n".utf8))
        #expect(Self.granted(h, "remove", "/w/app.log"))
        // The descriptor kept open: writes refused, as a refusal.
        #expect(h.write(alice, ino, "more\n", at: 5, handle: handle).failure == Errno(EPERM))
        #expect(try h.contents(retired.path) == Array("kept\n".utf8))
        #expect(h.decisions("write", retired.path).first?.mountRule == "retired")
    }

    @Test func rmdirRetiresAnEmptyDirectoryAndRefusesAFullOne() throws {
        let (h, alice) = try Self.harness()
        try h.mkdir(alice, "/w/empty")
        try h.mkdir(alice, "/w/full")
        try h.file(alice, "/w/full/f", "f\n")
        let before = h.historyState()
        #expect(h.rmdir(alice, "/w/full").failure == Errno(ENOTEMPTY))
        #expect(h.rmdir(alice, "/w/full/f").failure == Errno(ENOTDIR))
        #expect(h.unlink(alice, "/w/full").failure == Errno(EISDIR))
        #expect(h.historyState() == before)
        let id = try #require(h.ino("/w/empty"))
        #expect(h.rmdir(alice, "/w/empty").failure == nil)
        #expect(h.node("/w/empty") == nil && h.store.info(id)?.isRetired == true)
        #expect(Self.granted(h, "remove", "/w/empty"))
    }

    // MARK: what stays refused

    @Test func theAuditNamespaceIsRefusedAsTamperAsWithoutHistory() throws {
        let (h, alice) = try Self.harness()
        try h.file(alice, "/w/app.log", "a\n")
        try h.unlink(alice, "/w/app.log").get()   // makes /.audit/retired
        try h.file(alice, "/w/b.log", "b\n")
        let mirror = try #require(h.ino("/.audit/retired/w"))
        let retired = try #require(h.store.children(of: mirror).first?.path)
        let before = h.historyState()
        for who in [alice, h.root] {
            #expect(h.rename(who, "/.audit/events.jsonl", "/w/x").failure == Errno(EPERM))
            #expect(h.rename(who, "/w/b.log", "/.audit/x").failure == Errno(EPERM))
            #expect(h.rename(who, "/w/b.log", "/.audit/events.jsonl").failure == Errno(EPERM))
            #expect(h.rename(who, retired, "/w/back").failure == Errno(EPERM))
            #expect(h.unlink(who, "/.audit/events.jsonl").failure == Errno(EPERM))
            #expect(h.unlink(who, retired).failure == Errno(EPERM))
            #expect(h.rmdir(who, "/.audit/retired").failure == Errno(EPERM))
            #expect(h.rename(who, "/.audit/events.jsonl", "/w/x", flags: 2).failure == Errno(EPERM))
        }
        #expect(h.historyState() == before)
        for (verb, path) in [("rename", "/.audit/events.jsonl"), ("rename", "/w/b.log"), ("rename", retired),
                             ("unlink", "/.audit/events.jsonl"), ("unlink", retired), ("rmdir", "/.audit/retired")] {
            let rs = h.decisions(verb, path).filter { $0.decision == "deny" }
            #expect(!rs.isEmpty && rs.allSatisfy { $0.mountRule == "audit-namespace" && $0.tamper }, "\(verb) \(path)")
        }
    }

    @Test func linkSymlinkMknodFallocateXattrsTruncateAndOverwriteStayRefused() throws {
        let (h, alice) = try Self.harness()
        let (ino, _) = try h.file(alice, "/w/app.log", "first\n")
        let dir = try #require(h.ino("/w"))
        let before = h.historyState()
        #expect(h.fs.link(alice, ino: ino, newParent: dir, newName: Array("again".utf8)).failure == Errno(EPERM))
        #expect(h.fs.symlink(alice, target: Array("app.log".utf8), parent: dir, name: Array("s".utf8)).failure == Errno(EPERM))
        #expect(h.fs.mknod(alice, parent: dir, name: Array("p".utf8), mode: UInt32(S_IFIFO) | 0o644, device: 0).failure
            == Errno(EPERM))
        #expect(h.fs.fallocate(alice, ino: ino, mode: 0, offset: 0, length: 10, handle: 0).failure == Errno(EOPNOTSUPP))
        #expect(h.fs.setxattr(alice, ino: ino, name: Array("user.x".utf8), value: [1], flags: 0).failure == Errno(ENOTSUP))
        #expect(h.fs.setattr(alice, ino: ino, changes: AttributeChanges(size: 2), handle: nil).failure == Errno(EPERM))
        #expect(h.fs.open(alice, ino: ino, flags: O_WRONLY | O_TRUNC).failure == Errno(EPERM))
        let plain = try h.fs.open(alice, ino: ino, flags: O_WRONLY).get()
        #expect(h.write(alice, ino, "X", at: 0, handle: plain.handle).failure == Errno(EPERM))
        #expect(h.historyState() == before)
        #expect(h.decisions("link", "/w/app.log").first?.mountRule == "no-hard-links")
        #expect(h.decisions("write", "/w/app.log").first?.mountRule == "append-only")
    }

    // MARK: attributes

    @Test func chmodChownAndUtimensOfANonEmptyFileAreRecorded() throws {
        let (h, alice) = try Self.harness()
        let (ino, _) = try h.file(alice, "/w/current", "line\n")
        try h.mkdir(alice, "/w/d")
        try h.file(alice, "/w/d/f", "f\n")
        let dir = try #require(h.ino("/w/d"))
        #expect(try h.fs.setattr(alice, ino: ino, changes: AttributeChanges(mode: 0o744), handle: nil).get()
            .attributes.permissions & 0o7777 == 0o744)
        #expect(try h.fs.setattr(alice, ino: ino, changes: AttributeChanges(mtime: .at(1_000_000_000)), handle: nil).get()
            .attributes.mtime == 1_000_000_000)
        #expect(try h.fs.setattr(h.root, ino: ino, changes: AttributeChanges(uid: 2000), handle: nil).get().attributes.uid == 2000)
        #expect(try h.fs.setattr(alice, ino: dir, changes: AttributeChanges(mode: 0o700), handle: nil).get()
            .attributes.permissions & 0o7777 == 0o700)
        #expect(h.node("/w/current")?.mode == 0o744 && h.node("/w/current")?.uid == 2000)
        #expect(try h.contents("/w/current") == Array("line\n".utf8))
        // alice's chmod and utimens (the second folded into the first as a repeat), root's chown.
        #expect(Set(h.decisions("setattr", "/w/current").filter { $0.decision == "grant" }.map(\.uid)) == [Self.alice, 0])
        // The mode bits still decide: alice no longer owns it.
        let r = h.fs.setattr(alice, ino: ino, changes: AttributeChanges(mode: 0o600), handle: nil)
        #expect(r.failure == Errno(EPERM))
        #expect(h.decisions("chmod", "/w/current").first?.reason == "mode-bits")
    }

    @Test func withoutTheSetattrGrantAnAttributeChangeIsDenied() throws {
        let policy = """
            apiVersion: auditfs/v1
            roles:
              - name: writer
                rules:
                  - paths: ["/w/**"]
                    verbs: [create, append, read, list, mkdir, rename, remove]
            bindings:
              - role: writer
                subjects: [{uid: 1000}]
            """
        let (h, alice) = try Self.harness(policy: policy)
        let (ino, _) = try h.file(alice, "/w/current", "line\n")
        let before = h.historyState()
        #expect(h.fs.setattr(alice, ino: ino, changes: AttributeChanges(mode: 0o600), handle: nil).failure == Errno(EACCES))
        #expect(h.historyState() == before)
        #expect(h.decisions("setattr", "/w/current").first?.reason == "default-deny")
    }
}
