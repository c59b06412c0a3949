import Glibc
import Testing
@testable import AuditDaemon

@Suite struct ModeBitsTests {
    static func who(_ uid: UInt32, _ gid: UInt32, groups: [UInt32] = [], asked: UnsafeMutablePointer<Int>? = nil)
        -> ModeBits.Credentials {
        ModeBits.Credentials(uid: uid, gid: gid, groups: { asked?.pointee += 1; return groups })
    }

    static func node(_ mode: UInt32, uid: UInt32 = 10, gid: UInt32 = 20, dir: Bool = false) -> ModeBits.Node {
        ModeBits.Node(mode: mode, uid: uid, gid: gid, isDirectory: dir)
    }

    @Test func theFirstClassThatAppliesDecides() {
        // The owner of a 0077 file is refused what everyone else may do.
        #expect(!ModeBits.allows(Self.node(0o077), .read, Self.who(10, 99)))
        #expect(ModeBits.allows(Self.node(0o077), .read, Self.who(11, 99)))
        // A group member without the group bit, while others have it.
        #expect(!ModeBits.allows(Self.node(0o704), .read, Self.who(11, 20)))
        #expect(ModeBits.allows(Self.node(0o704), .read, Self.who(11, 21)))
    }

    @Test func supplementaryGroupsCountAndAreReadOnlyWhenTheyMatter() {
        var asked = 0
        let member = Self.who(11, 99, groups: [20], asked: &asked)
        #expect(ModeBits.allows(Self.node(0o640), .read, member))
        #expect(asked == 1)
        #expect(!ModeBits.allows(Self.node(0o640), .read, Self.who(11, 99, groups: [21])))
        // Group and other bits agree: no need to ask.
        var none = 0
        #expect(ModeBits.allows(Self.node(0o644), .read, Self.who(11, 99, asked: &none)))
        #expect(none == 0)
    }

    @Test func rootPassesReadWriteAndSearchButExecutesOnlyWithAnXBit() {
        let root = Self.who(0, 0)
        #expect(ModeBits.allows(Self.node(0o000), [.read, .write], root))
        #expect(ModeBits.allows(Self.node(0o000, dir: true), .execute, root))
        #expect(!ModeBits.allows(Self.node(0o666), .execute, root))
        #expect(ModeBits.allows(Self.node(0o001), .execute, root))
    }

    @Test func namesAreCachedOnlyWhereEveryoneSearches() {
        #expect(ModeBits.everyoneSearches(0o755))
        #expect(ModeBits.everyoneSearches(0o711))
        #expect(!ModeBits.everyoneSearches(0o750))
        #expect(!ModeBits.everyoneSearches(0o701))   // group members may not search
    }

    @Test func chmodByOwnerOrRootAndSetgidDroppedOutsideTheGroup() {
        let file = Self.node(0o644)
        let change = ModeBits.Change(mode: 0o2755)
        #expect(ModeBits.checkChange(file, change, Self.who(11, 20)) == .failure(.init(errno: EPERM, needed: "owner")))
        #expect(ModeBits.checkChange(file, change, Self.who(10, 99)) == .success(0o755))
        #expect(ModeBits.checkChange(file, change, Self.who(10, 20)) == .success(0o2755))
        #expect(ModeBits.checkChange(file, change, Self.who(10, 99, groups: [20])) == .success(0o2755))
        #expect(ModeBits.checkChange(file, change, Self.who(0, 0)) == .success(0o2755))
    }

    @Test func chownToAnotherUserOnlyByRootAndChgrpByOwnerToItsGroups() {
        let file = Self.node(0o644)
        #expect(ModeBits.checkChange(file, .init(uid: 11), Self.who(10, 20)) == .failure(.init(errno: EPERM, needed: "root")))
        #expect(ModeBits.checkChange(file, .init(uid: 10), Self.who(10, 20)) == .success(nil))   // to itself
        #expect(ModeBits.checkChange(file, .init(uid: 10), Self.who(11, 20)) == .failure(.init(errno: EPERM, needed: "root")))
        #expect(ModeBits.checkChange(file, .init(uid: 11), Self.who(0, 0)) == .success(nil))
        #expect(ModeBits.checkChange(file, .init(gid: 30), Self.who(10, 20, groups: [30])) == .success(nil))
        #expect(ModeBits.checkChange(file, .init(gid: 31), Self.who(10, 20, groups: [30]))
                == .failure(.init(errno: EPERM, needed: "member of group 31")))
        #expect(ModeBits.checkChange(file, .init(gid: 30), Self.who(11, 30)) == .failure(.init(errno: EPERM, needed: "owner")))
    }

    @Test func explicitTimesByOwnerAndNowAlsoByAWriter() {
        let shared = Self.node(0o666), mine = Self.node(0o644)
        #expect(ModeBits.checkChange(shared, .init(setsTimes: true), Self.who(11, 99))
                == .failure(.init(errno: EPERM, needed: "owner")))
        #expect(ModeBits.checkChange(shared, .init(touches: true), Self.who(11, 99)) == .success(nil))
        #expect(ModeBits.checkChange(mine, .init(touches: true), Self.who(11, 99))
                == .failure(.init(errno: EACCES, needed: "owner or w")))
        #expect(ModeBits.checkChange(mine, .init(touches: true), Self.who(10, 99)) == .success(nil))
        #expect(ModeBits.checkChange(mine, .init(truncates: true), Self.who(11, 99))
                == .failure(.init(errno: EACCES, needed: "w")))
    }

    @Test func accessDescriptions() {
        #expect(ModeBits.Access([.read, .execute]).description == "rx")
        #expect(ModeBits.Access([.write, .execute]).description == "wx")
        #expect(AuditFileSystem.access(forOpen: O_WRONLY | O_TRUNC) == [.write])
        #expect(AuditFileSystem.access(forOpen: O_RDONLY | O_TRUNC) == [.read, .write])
        #expect(AuditFileSystem.access(forOpen: O_RDWR) == [.read, .write])
        #expect(AuditFileSystem.access(forOpen: O_RDONLY | AuditFileSystem.openForExec) == [.read, .execute])
    }

    @Test func octalModes() {
        #expect(Authorizer.octal(0o600) == "0600")
        #expect(Authorizer.octal(0o2775) == "2775")
        #expect(Authorizer.octal(0o100644) == "0644")
    }

    /// may_delete: w on the directory, then the sticky bit (owner of the node or the directory, or root).
    @Test func removingANameNeedsWriteOnTheDirectoryAndInAStickyOneOwnership() {
        let file = Self.node(0o644, uid: 10)
        let open = Self.node(0o777, uid: 30, dir: true)
        let sticky = Self.node(0o1777, uid: 30, dir: true)
        #expect(ModeBits.checkRemove(file, from: open, Self.who(11, 99)) == nil)
        #expect(ModeBits.checkRemove(file, from: Self.node(0o755, uid: 30, dir: true), Self.who(11, 99))
            == ModeBits.Refusal(errno: EACCES, needed: "w"))
        // The file's own bits do not matter: a 0444 file in a writable directory is removable.
        #expect(ModeBits.checkRemove(Self.node(0o444, uid: 10), from: open, Self.who(11, 99)) == nil)
        #expect(ModeBits.checkRemove(file, from: sticky, Self.who(10, 99)) == nil)   // the file's owner
        #expect(ModeBits.checkRemove(file, from: sticky, Self.who(30, 99)) == nil)   // the directory's owner
        #expect(ModeBits.checkRemove(file, from: sticky, Self.who(0, 0)) == nil)     // root
        #expect(ModeBits.checkRemove(file, from: sticky, Self.who(11, 99))
            == ModeBits.Refusal(errno: EPERM, needed: "owner (sticky directory)"))
        // Write is asked first: a sticky directory the caller cannot write is EACCES.
        #expect(ModeBits.checkRemove(file, from: Self.node(0o1755, uid: 30, dir: true), Self.who(11, 99))?.errno == EACCES)
        #expect(ModeBits.checkRemove(file, from: Self.node(0o555, uid: 30, dir: true), Self.who(0, 0)) == nil)
    }
}
