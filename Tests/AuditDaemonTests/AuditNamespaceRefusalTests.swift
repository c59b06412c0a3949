import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// Nobody, root included, changes anything under /.audit through the mount:
/// each attempt answers EPERM and is recorded with the rule
/// "audit-namespace"; the audit files keep their bytes.
@Suite struct AuditNamespaceRefusalTests {
    static func setUp() throws -> (DaemonHarness, UInt64) {
        let h = try DaemonHarness()
        // The first decision makes today's decisions file.
        _ = try h.create(h.caller(uid: 1000), "/w/seed.log")
        return (h, try #require(h.ino(AuditPaths.root)))
    }

    static func recorded(_ h: DaemonHarness, _ verb: String, _ path: String) -> Bool {
        h.decisions(about: path).contains { $0.verb == verb && $0.mountRule == "audit-namespace" && $0.tamper }
    }

    @Test func rootCannotCreateAFileInTheAuditDirectory() throws {
        let (h, _) = try Self.setUp()
        #expect(throws: Errno(EPERM)) { try h.create(h.root, "/.audit/forged.jsonl") }
        #expect(h.ino("/.audit/forged.jsonl") == nil)
        #expect(Self.recorded(h, "create", "/.audit/forged.jsonl"))
    }

    @Test func aUserIsRefusedByTheAuditDirectorysModeBitsFirst() throws {
        let (h, _) = try Self.setUp()
        #expect(throws: Errno(EACCES)) { try h.create(h.caller(uid: 1000), "/.audit/forged.jsonl") }
        #expect(h.ino("/.audit/forged.jsonl") == nil)
        let r = try #require(h.decisions(about: "/.audit/forged.jsonl").first)
        #expect(r.reason == "mode-bits" && r.needed == "w" && r.modePath == AuditPaths.root)
    }

    @Test func rootCannotMakeADirectoryThere() throws {
        let (h, _) = try Self.setUp()
        #expect(throws: Errno(EPERM)) { try h.mkdir(h.root, "/.audit/sub") }
        #expect(Self.recorded(h, "mkdir", "/.audit/sub"))
    }

    @Test func rootCannotOpenAnAuditFileForWritingOrTruncateIt() throws {
        let (h, _) = try Self.setUp()
        let dir = try #require(h.node(AuditLayout.decisionsDirectory))
        let day = try #require(h.store.children(of: dir.id).first)
        let before = try h.contents(day.path)
        #expect(h.fs.open(h.root, ino: day.id, flags: O_WRONLY | O_APPEND).failure == Errno(EPERM))
        #expect(h.fs.open(h.root, ino: day.id, flags: O_RDWR).failure == Errno(EPERM))
        #expect(h.fs.open(h.root, ino: day.id, flags: O_RDONLY | O_TRUNC).failure == Errno(EPERM))
        #expect(Self.recorded(h, "open-write", day.path))
        #expect(Self.recorded(h, "truncate", day.path))
        // The refusals were appended after what was there; nothing before changed.
        #expect(Array(try h.contents(day.path).prefix(before.count)) == before)
    }

    @Test func rootCannotChmodOrTouchAnAuditFile() throws {
        let (h, _) = try Self.setUp()
        let dir = try #require(h.node(AuditLayout.decisionsDirectory))
        let day = try #require(h.store.children(of: dir.id).first)
        #expect(h.fs.setattr(h.root, ino: day.id, changes: AttributeChanges(mode: 0o666), handle: nil).failure == Errno(EPERM))
        #expect(h.fs.setattr(h.root, ino: day.id, changes: AttributeChanges(mtime: .at(0)), handle: nil).failure == Errno(EPERM))
        #expect(Self.recorded(h, "chmod", day.path))
        #expect(Self.recorded(h, "utimens", day.path))
        #expect(h.node(day.path)?.mode == day.mode)
    }

    @Test func removingOrRenamingIntoTheAuditDirectoryIsRecordedAsAnAuditRefusal() throws {
        let (h, audit) = try Self.setUp()
        let root = try #require(h.ino("/w"))
        #expect(h.fs.unlink(h.root, parent: audit, name: Array("events.jsonl".utf8)).failure == Errno(EPERM))
        #expect(Self.recorded(h, "unlink", "/.audit/events.jsonl"))
        #expect(h.fs.rename(h.root, parent: root, name: Array("seed.log".utf8), newParent: audit,
                            newName: Array("events.jsonl".utf8), flags: 0).failure == Errno(EPERM))
        #expect(Self.recorded(h, "rename", "/w/seed.log"))
        // A symlink's contents are not a name in the store: pointing one at /.audit is a plain
        // refusal of a special file, not tamper.
        #expect(h.fs.symlink(h.root, target: Array("/.audit/events.jsonl".utf8), parent: root, name: Array("l".utf8)).failure
            == Errno(EPERM))
        #expect(h.decisions(about: "/w/l").first?.mountRule == "no-special-files")
        #expect(h.decisions(about: "/w/l").first?.tamper == false)
    }

    @Test func theCheckpointViewCannotBeWrittenOrChanged() throws {
        let view = CheckpointView()
        let h = try DaemonHarness(checkpointView: view)
        view.update("not a checkpoint\n")
        let audit = try #require(h.ino(AuditPaths.root))
        let e = try h.fs.lookup(h.root, parent: audit, name: Array("checkpoint".utf8)).get()
        #expect(e.ino == CheckpointView.inode && e.entryTimeout == 0 && e.attributeTimeout == 0)
        #expect(e.attributes.permissions == 0o444)
        #expect(h.fs.open(h.root, ino: CheckpointView.inode, flags: O_WRONLY).failure == Errno(EPERM))
        #expect(h.fs.open(h.root, ino: CheckpointView.inode, flags: O_RDONLY | O_TRUNC).failure == Errno(EPERM))
        #expect(h.fs.setattr(h.root, ino: CheckpointView.inode, changes: AttributeChanges(mode: 0o666), handle: nil).failure
            == Errno(EPERM))
        #expect(Self.recorded(h, "open-write", CheckpointView.path))
        #expect(Self.recorded(h, "truncate", CheckpointView.path))
        #expect(Self.recorded(h, "chmod", CheckpointView.path))
        let reading = try h.fs.open(h.root, ino: CheckpointView.inode, flags: O_RDONLY).get()
        #expect(reading.directIO)
        #expect(h.fs.read(h.root, ino: CheckpointView.inode, size: 3, offset: 4, handle: 0) == .success(.bytes(Array("a c".utf8))))
    }

    @Test func readingTheAuditFilesIsNotRecorded() throws {
        let (h, audit) = try Self.setUp()
        let before = h.decisions().count
        _ = try h.fs.opendir(h.root, ino: audit, flags: O_RDONLY).get()
        let dir = try #require(h.node(AuditLayout.decisionsDirectory))
        let day = try #require(h.store.children(of: dir.id).first)
        _ = try h.fs.opendir(h.caller(uid: 1000), ino: dir.id, flags: O_RDONLY).get()
        _ = try h.fs.open(h.caller(uid: 1000), ino: day.id, flags: O_RDONLY).get()
        #expect(h.decisions().count == before)
    }
}
