import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// Every refusal of the semantics table (README "Semantics"), reached by
/// calling the file system as a kernel would, for an unprivileged writer:
/// the answer is the table's errno, the refusal is recorded with its mount
/// rule (tamper or not: TamperClassificationTests), and every byte already
/// stored is unchanged.
@Suite struct WriteOnceRefusalTests {
    /// A harness with /app.log holding "first\n", written by uid 1000 through an append handle.
    static func withLog() throws -> (DaemonHarness, RequestContext, UInt64) {
        let h = try DaemonHarness()
        let alice = h.caller(uid: 1000)
        let file = try h.create(alice, "/w/app.log")
        #expect(h.write(alice, file.entry.ino, "first\n", at: 0, handle: file.opened.handle) == .success(6))
        return (h, alice, file.entry.ino)
    }

    /// The one refusal recorded about `path` for `verb`.
    static func refusal(_ h: DaemonHarness, _ verb: String, _ path: String) -> DecisionRecord? {
        h.decisions(about: path).first { $0.verb == verb && $0.decision == "deny" }
    }

    @Test func anOverwriteAtOffsetZeroIsRefusedAndRecorded() throws {
        let (h, alice, ino) = try Self.withLog()
        let plain = try h.fs.open(alice, ino: ino, flags: O_WRONLY).get()
        #expect(plain.directIO)
        #expect(h.write(alice, ino, "XXXXX\n", at: 0, handle: plain.handle).failure == Errno(EPERM))
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
        let r = try #require(Self.refusal(h, "write", "/w/app.log"))
        #expect(r.mountRule == "append-only" && r.tamper && r.errno == EPERM && r.uid == 1000)
    }

    @Test func aWritePastTheEndIsRefused() throws {
        let (h, alice, ino) = try Self.withLog()
        let plain = try h.fs.open(alice, ino: ino, flags: O_WRONLY).get()
        #expect(h.write(alice, ino, "gap", at: 100, handle: plain.handle).failure == Errno(EPERM))
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
    }

    @Test func aWriteAtTheEndOfAPlainHandleAppends() throws {
        let (h, alice, ino) = try Self.withLog()
        let plain = try h.fs.open(alice, ino: ino, flags: O_WRONLY).get()
        #expect(h.write(alice, ino, "second\n", at: 6, handle: plain.handle) == .success(7))
        #expect(try h.contents("/w/app.log") == Array("first\nsecond\n".utf8))
    }

    @Test func anAppendHandleLandsAtTheTrueEndWhateverTheOffset() throws {
        let (h, alice, ino) = try Self.withLog()
        let appending = try h.fs.open(alice, ino: ino, flags: O_WRONLY | O_APPEND).get()
        #expect(h.write(alice, ino, "second\n", at: 0, handle: appending.handle) == .success(7))
        #expect(try h.contents("/w/app.log") == Array("first\nsecond\n".utf8))
        #expect(h.decisions(about: "/w/app.log").allSatisfy { $0.decision == "grant" })
    }

    @Test func aReadOnlyHandleKeepsThePageCache() throws {
        let (h, alice, ino) = try Self.withLog()
        let reading = try h.fs.open(alice, ino: ino, flags: O_RDONLY).get()
        #expect(!reading.directIO)
        #expect(h.fs.read(alice, ino: ino, size: 100, offset: 2, handle: reading.handle) == .success(.bytes(Array("rst\n".utf8))))
    }

    @Test func openWithOTruncOfAFileWithBytesIsRefused() throws {
        let (h, alice, ino) = try Self.withLog()
        #expect(h.fs.open(alice, ino: ino, flags: O_WRONLY | O_TRUNC).failure == Errno(EPERM))
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
        #expect(Self.refusal(h, "truncate", "/w/app.log")?.mountRule == "no-truncate")
    }

    @Test func createWithOTruncOverAFileWithBytesIsRefused() throws {
        let (h, alice, _) = try Self.withLog()
        #expect(throws: Errno(EPERM)) { try h.create(alice, "/w/app.log", flags: O_WRONLY | O_CREAT | O_TRUNC) }
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
    }

    @Test(arguments: [UInt64(0), 3, 7, 1 << 40])
    func truncateToAnotherSizeIsRefused(size: UInt64) throws {
        let (h, alice, ino) = try Self.withLog()
        #expect(h.fs.setattr(alice, ino: ino, changes: AttributeChanges(size: size), handle: nil).failure == Errno(EPERM))
        #expect(h.fs.setattr(alice, ino: ino, changes: AttributeChanges(size: size), handle: 1).failure == Errno(EPERM))
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
        #expect(Self.refusal(h, "truncate", "/w/app.log")?.mountRule == "no-truncate")
    }

    @Test func truncateToTheSameSizeChangesNothingAndIsAllowed() throws {
        let (h, alice, ino) = try Self.withLog()
        let a = try h.fs.setattr(alice, ino: ino, changes: AttributeChanges(size: 6), handle: nil).get()
        #expect(a.attributes.size == 6)
        #expect(Self.refusal(h, "truncate", "/w/app.log") == nil)
    }

    @Test func fallocateIsRefused() throws {
        let (h, alice, ino) = try Self.withLog()
        #expect(h.fs.fallocate(alice, ino: ino, mode: 0, offset: 0, length: 4096, handle: 0).failure == Errno(EOPNOTSUPP))
        #expect(Self.refusal(h, "fallocate", "/w/app.log")?.mountRule == "no-fallocate")
        #expect(h.node("/w/app.log")?.size == 6)
    }

    @Test func extendedAttributesAreRefusedAndListEmpty() throws {
        let (h, alice, ino) = try Self.withLog()
        #expect(h.fs.setxattr(alice, ino: ino, name: Array("user.x".utf8), value: [1], flags: 0).failure == Errno(ENOTSUP))
        #expect(h.fs.removexattr(alice, ino: ino, name: Array("user.x".utf8)).failure == Errno(ENOTSUP))
        #expect(Self.refusal(h, "setxattr", "/w/app.log")?.mountRule == "no-xattr")
        #expect(Self.refusal(h, "removexattr", "/w/app.log")?.mountRule == "no-xattr")
        #expect(h.fs.listxattr(alice, ino: ino, size: 0) == .success(.size(0)))
        #expect(h.fs.listxattr(alice, ino: ino, size: 100) == .success(.bytes([])))
    }

    @Test func unlinkRmdirRenameLinkSymlinkAndMknodAreRefusedAndChangeNothing() throws {
        let (h, alice, ino) = try Self.withLog()
        try h.mkdir(alice, "/w/dir")
        let before = h.snapshot()
        let root = try #require(h.ino("/w"))
        let name = Array("app.log".utf8)
        #expect(h.fs.unlink(alice, parent: root, name: name).failure == Errno(EPERM))
        #expect(h.fs.rmdir(alice, parent: root, name: Array("dir".utf8)).failure == Errno(EPERM))
        #expect(h.fs.rename(alice, parent: root, name: name, newParent: root, newName: Array("moved".utf8), flags: 0).failure
            == Errno(EPERM))
        #expect(h.fs.link(alice, ino: ino, newParent: root, newName: Array("second-name".utf8)).failure == Errno(EPERM))
        #expect(h.fs.symlink(alice, target: Array("app.log".utf8), parent: root, name: Array("sym".utf8)).failure == Errno(EPERM))
        #expect(h.fs.mknod(alice, parent: root, name: Array("fifo".utf8), mode: UInt32(S_IFIFO) | 0o644, device: 0).failure
            == Errno(EPERM))
        #expect(h.snapshot() == before)
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
        for (verb, path) in [("unlink", "/w/app.log"), ("rmdir", "/w/dir"), ("rename", "/w/app.log")] {
            let r = Self.refusal(h, verb, path)
            #expect(r?.mountRule == "permanent-names" && r?.tamper == true, "\(verb) \(path)")
        }
        // A second name hides nothing: a refusal, not tamper.
        let link = Self.refusal(h, "link", "/w/app.log")
        #expect(link?.mountRule == "no-hard-links" && link?.tamper == false)
        // A new symlink or device node changes no stored byte: a refusal, not tamper.
        for (verb, path) in [("symlink", "/w/sym"), ("mknod", "/w/fifo")] {
            let r = Self.refusal(h, verb, path)
            #expect(r?.mountRule == "no-special-files" && r?.tamper == false, "\(verb) \(path)")
        }
        #expect(Self.refusal(h, "rename", "/w/app.log")?.target == "/w/moved")
    }

    @Test func rootIsRefusedTheSame() throws {
        let (h, _, ino) = try Self.withLog()
        let root = h.root
        let plain = try h.fs.open(root, ino: ino, flags: O_WRONLY).get()
        #expect(h.write(root, ino, "X", at: 0, handle: plain.handle).failure == Errno(EPERM))
        #expect(h.fs.unlink(root, parent: try #require(h.ino("/w")), name: Array("app.log".utf8)).failure == Errno(EPERM))
        #expect(h.fs.setattr(root, ino: ino, changes: AttributeChanges(size: 0), handle: nil).failure == Errno(EPERM))
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
    }
}
