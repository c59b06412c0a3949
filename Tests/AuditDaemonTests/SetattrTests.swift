import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// chmod, chown, utimens and size changes on empty and non-empty files, as
/// setattr reaches the daemon: the mode bits and ownership first (as the
/// kernel's), then the mount rules (attributes freeze once a file has
/// bytes), then the policy; a call that changes nothing records nothing.
@Suite struct SetattrTests {
    static let alice: UInt32 = 1000, bob: UInt32 = 1001

    /// /empty and /full (with bytes), both created by alice, mode 0644.
    static func setUp() throws -> (DaemonHarness, empty: UInt64, full: UInt64) {
        let h = try DaemonHarness()
        let a = h.caller(uid: alice)
        let empty = try h.create(a, "/w/empty")
        let full = try h.create(a, "/w/full")
        _ = try h.write(a, full.entry.ino, "bytes\n", at: 0, handle: full.opened.handle).get()
        return (h, empty.entry.ino, full.entry.ino)
    }

    static func set(_ h: DaemonHarness, _ who: UInt32, _ ino: UInt64, _ c: AttributeChanges,
                    handle: UInt64? = nil) -> Result<CachedAttributes, Errno> {
        h.fs.setattr(h.caller(uid: who), ino: ino, changes: c, handle: handle)
    }

    @Test func theOwnerMayChmodAnEmptyFileAndItIsRecorded() throws {
        let (h, empty, _) = try Self.setUp()
        let a = try Self.set(h, Self.alice, empty, AttributeChanges(mode: 0o600)).get()
        #expect(a.attributes.permissions == 0o600 && a.timeout == CacheTimeout.attributes)
        #expect(h.node("/w/empty")?.mode == 0o600)
        #expect(h.decisions(about: "/w/empty").contains { $0.verb == "setattr" && $0.decision == "grant" })
    }

    @Test func chmodOfAFileWithBytesIsRefusedAsFrozen() throws {
        let (h, _, full) = try Self.setUp()
        #expect(Self.set(h, Self.alice, full, AttributeChanges(mode: 0o600)).failure == Errno(EPERM))
        #expect(h.node("/w/full")?.mode == 0o644)
        #expect(h.decisions(about: "/w/full").contains { $0.verb == "chmod" && $0.mountRule == "frozen-attributes" })
    }

    @Test func aChmodThatChangesNothingIsAnsweredAndNotRecorded() throws {
        let (h, _, full) = try Self.setUp()
        let before = h.decisions().count
        #expect(try Self.set(h, Self.alice, full, AttributeChanges(mode: 0o644)).get().attributes.permissions == 0o644)
        #expect(h.decisions().count == before)
    }

    @Test func anotherUserCannotChmodEvenAnEmptyFile() throws {
        let (h, empty, _) = try Self.setUp()
        #expect(Self.set(h, Self.bob, empty, AttributeChanges(mode: 0o666)).failure == Errno(EPERM))
        let r = try #require(h.decisions(about: "/w/empty").first { $0.verb == "chmod" })
        #expect(r.reason == "mode-bits" && r.needed == "owner")
        #expect(h.node("/w/empty")?.mode == 0o644)
    }

    @Test func chownToAnotherUserIsRootsAloneAndRootMayOnAnEmptyFile() throws {
        let (h, empty, full) = try Self.setUp()
        #expect(Self.set(h, Self.alice, empty, AttributeChanges(uid: Self.bob)).failure == Errno(EPERM))
        #expect(h.decisions(about: "/w/empty").first { $0.verb == "chown" }?.needed == "root")
        #expect(try Self.set(h, 0, empty, AttributeChanges(uid: Self.bob)).get().attributes.uid == Self.bob)
        #expect(Self.set(h, 0, full, AttributeChanges(uid: Self.bob)).failure == Errno(EPERM))
        #expect(h.node("/w/full")?.uid == Self.alice)
    }

    @Test func chgrpByTheOwnerOnlyToItsOwnGroups() throws {
        let (h, empty, _) = try Self.setUp()
        let member = h.caller(uid: Self.alice, gid: Self.alice, groups: [50])
        #expect(try h.fs.setattr(member, ino: empty, changes: AttributeChanges(gid: 50), handle: nil).get().attributes.gid == 50)
        #expect(h.fs.setattr(member, ino: empty, changes: AttributeChanges(gid: 51), handle: nil).failure == Errno(EPERM))
    }

    @Test func explicitTimesAreTheOwnersAndFrozenOnceAFileHasBytes() throws {
        let (h, empty, full) = try Self.setUp()
        let t: Int64 = 1_000_000_000_123
        #expect(Self.set(h, Self.bob, empty, AttributeChanges(atime: .at(t), mtime: .at(t))).failure == Errno(EPERM))
        let a = try Self.set(h, Self.alice, empty, AttributeChanges(atime: .at(t), mtime: .at(t))).get()
        #expect(a.attributes.mtime == t && a.attributes.atime == t)
        #expect(Self.set(h, Self.alice, full, AttributeChanges(mtime: .at(t))).failure == Errno(EPERM))
        #expect(h.decisions(about: "/w/full").contains { $0.verb == "utimens" && $0.mountRule == "frozen-attributes" })
    }

    @Test func touchingToNowNeedsOwnerOrWriteBits() throws {
        let (h, empty, _) = try Self.setUp()
        // bob is "other" on a 0644 file: no w, not the owner.
        #expect(Self.set(h, Self.bob, empty, AttributeChanges(atime: .now, mtime: .now)).failure == Errno(EACCES))
        #expect(h.decisions(about: "/w/empty").first { $0.verb == "utimens" }?.needed == "owner or w")
        _ = try Self.set(h, Self.alice, empty, AttributeChanges(mode: 0o666)).get()
        #expect(Self.set(h, Self.bob, empty, AttributeChanges(atime: .now, mtime: .now)).failure == nil)
    }

    @Test func growingAnEmptyFileByTruncateIsRefused() throws {
        let (h, empty, _) = try Self.setUp()
        #expect(Self.set(h, Self.alice, empty, AttributeChanges(size: 5)).failure == Errno(EPERM))
        #expect(h.node("/w/empty")?.size == 0)
        #expect(h.decisions(about: "/w/empty").contains { $0.verb == "truncate" && $0.mountRule == "no-truncate" })
        // Truncating an empty file to 0 (O_TRUNC of a new log) changes nothing.
        #expect(try Self.set(h, Self.alice, empty, AttributeChanges(size: 0)).get().attributes.size == 0)
    }

    @Test func truncateByPathNeedsWriteButThroughAHandleDoesNot() throws {
        let (h, empty, _) = try Self.setUp()
        #expect(Self.set(h, Self.bob, empty, AttributeChanges(size: 0)).failure == Errno(EACCES))
        #expect(Self.set(h, Self.bob, empty, AttributeChanges(size: 0), handle: 1).failure == nil)
    }

    @Test func aRefusedPartRefusesTheWholeCall() throws {
        let (h, empty, _) = try Self.setUp()
        // chmod is allowed on an empty file, the size change is not: neither happens.
        #expect(Self.set(h, Self.alice, empty, AttributeChanges(mode: 0o600, size: 3)).failure == Errno(EPERM))
        #expect(h.node("/w/empty")?.mode == 0o644)
    }

    @Test func aDirectoryWithEntriesIsFrozenAnEmptyOneIsNot() throws {
        let (h, _, _) = try Self.setUp()
        let a = h.caller(uid: Self.alice)
        let dir = try h.mkdir(a, "/w/d")
        let busy = try h.mkdir(a, "/w/busy")
        try h.create(a, "/w/busy/x")
        #expect(try h.fs.setattr(a, ino: dir.ino, changes: AttributeChanges(mode: 0o700), handle: nil).get()
            .attributes.permissions == 0o700)
        #expect(h.fs.setattr(a, ino: busy.ino, changes: AttributeChanges(mode: 0o700), handle: nil).failure == Errno(EPERM))
        #expect(h.fs.setattr(a, ino: busy.ino, changes: AttributeChanges(size: 0), handle: nil).failure == Errno(EISDIR))
    }
}
