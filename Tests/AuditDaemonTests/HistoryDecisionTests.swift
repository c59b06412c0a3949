import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// Who may rename and remove in history mode: the mode bits first, as the
/// kernel's (write and search on the directories, the sticky bit, w on a
/// directory that changes directory), then the policy's `rename` on both
/// names and `remove` on a name taken away — each refusal recorded, and
/// nothing changed after it. Without history every one is refused as
/// before (WriteOnceRefusalTests, TamperClassificationTests).
@Suite struct HistoryDecisionTests {
    static let alice = UInt32(1000), bob = UInt32(1001)

    /// uid 1000 may create, append, read, list, mkdir under /w, plus `extra`.
    static func policy(_ extra: [String]) -> String {
        """
        apiVersion: auditfs/v1
        roles:
          - name: writer
            rules:
              - paths: ["/w/**"]
                verbs: [\((["create", "append", "read", "list", "mkdir"] + extra).joined(separator: ", "))]
        bindings:
          - role: writer
            subjects: [{uid: 1000}]
        """
    }

    /// /w/a.log ("a\n") and /w/b.log ("b\n"), alice's, in a history mount with `policy`.
    static func setUp(_ extra: [String]) throws -> (DaemonHarness, RequestContext) {
        let h = try DaemonHarness(policy: policy(extra), history: true)
        let alice = h.caller(uid: alice)
        try h.file(alice, "/w/a.log", "a\n")
        try h.file(alice, "/w/b.log", "b\n")
        return (h, alice)
    }

    static func denied(_ h: DaemonHarness, _ verb: String, _ path: String) -> Bool {
        h.decisions(verb, path).contains { $0.decision == "deny" && $0.reason == "default-deny" && $0.errno == EACCES }
    }

    @Test func withoutRenameOrRemoveEverythingIsDeniedAndRecorded() throws {
        let (h, alice) = try Self.setUp([])
        let before = h.historyState()
        #expect(h.rename(alice, "/w/a.log", "/w/a.log.1").failure == Errno(EACCES))
        #expect(h.rename(alice, "/w/a.log", "/w/b.log").failure == Errno(EACCES))
        #expect(h.unlink(alice, "/w/a.log").failure == Errno(EACCES))
        try h.mkdir(alice, "/w/d")
        let withDir = h.historyState()
        #expect(h.rmdir(alice, "/w/d").failure == Errno(EACCES))
        #expect(h.historyState() == withDir)
        #expect(withDir.filter { $0.key != "/w/d" } == before)
        #expect(Self.denied(h, "rename", "/w/a.log"))
        #expect(h.decisions("rename", "/w/a.log").first?.target == "/w/a.log.1")
        #expect(Self.denied(h, "remove", "/w/a.log"))
        #expect(Self.denied(h, "remove", "/w/d"))
        #expect(h.decisions().allSatisfy { !$0.tamper })   // a policy denial is no tamper
    }

    @Test func renameAloneMovesToANewNameButReplacesNothingAndRemovesNothing() throws {
        let (h, alice) = try Self.setUp(["rename"])
        let before = h.historyState()
        #expect(h.rename(alice, "/w/a.log", "/w/b.log").failure == Errno(EACCES))   // b.log would be removed
        #expect(h.unlink(alice, "/w/a.log").failure == Errno(EACCES))
        #expect(h.historyState() == before)
        #expect(Self.denied(h, "remove", "/w/b.log"))
        #expect(h.decisions("remove", "/w/b.log").first?.target == "/w/a.log")
        #expect(h.rename(alice, "/w/a.log", "/w/a.log.1").failure == nil)
        #expect(try h.contents("/w/a.log.1") == Array("a\n".utf8))
    }

    @Test func removeAloneUnlinksButRenamesNothing() throws {
        let (h, alice) = try Self.setUp(["remove"])
        let before = h.historyState()
        #expect(h.rename(alice, "/w/a.log", "/w/a.log.1").failure == Errno(EACCES))
        #expect(h.rename(alice, "/w/a.log", "/w/b.log").failure == Errno(EACCES))
        #expect(h.historyState() == before)
        #expect(Self.denied(h, "rename", "/w/a.log"))
        #expect(h.unlink(alice, "/w/a.log").failure == nil)
        #expect(h.node("/w/a.log") == nil)
    }

    /// Both names are decided: a rename out of the granted tree, or into it, is denied.
    @Test func renameIsAskedOfTheNewNameToo() throws {
        let policy = """
            apiVersion: auditfs/v1
            roles:
              - name: rotator
                rules:
                  - paths: ["/w/logs/**"]
                    verbs: [create, append, mkdir, rename, remove]
            bindings:
              - role: rotator
                subjects: [{uid: 1000}]
            """
        let h = try DaemonHarness(policy: policy, history: true)
        let alice = h.caller(uid: Self.alice)
        try h.mkdir(alice, "/w/logs")
        try h.file(alice, "/w/logs/a.log", "a\n")
        let before = h.historyState()
        #expect(h.rename(alice, "/w/logs/a.log", "/w/elsewhere.log").failure == Errno(EACCES))
        #expect(h.historyState() == before)
        #expect(h.decisions("rename", "/w/logs/a.log").first?.decision == "grant")
        #expect(Self.denied(h, "rename", "/w/elsewhere.log"))
        #expect(h.decisions("rename", "/w/elsewhere.log").first?.target == "/w/logs/a.log")
    }

    // MARK: Mode bits

    @Test func aDirectoryTheCallerCannotWriteRefusesByModeBits() throws {
        let h = try DaemonHarness(history: true)
        let alice = h.caller(uid: Self.alice)
        try h.mkdir(h.root, "/w/ro", mode: 0o755)
        try h.file(h.root, "/w/ro/f", "f\n")
        try h.file(alice, "/w/mine", "m\n")
        let before = h.historyState()
        #expect(h.unlink(alice, "/w/ro/f").failure == Errno(EACCES))
        #expect(h.rename(alice, "/w/ro/f", "/w/g").failure == Errno(EACCES))      // taken from /w/ro
        #expect(h.rename(alice, "/w/mine", "/w/ro/mine").failure == Errno(EACCES)) // put into /w/ro
        #expect(h.historyState() == before)
        for (verb, path) in [("unlink", "/w/ro/f"), ("rename", "/w/ro/f"), ("rename", "/w/ro/mine")] {
            let r = h.decisions(verb, path).first
            #expect(r?.reason == "mode-bits" && r?.modePath == "/w/ro" && r?.needed == "w" && r?.errno == EACCES,
                    "\(verb) \(path)")
        }
        #expect(h.decisions().allSatisfy { $0.verb != "remove" && !($0.verb == "rename" && $0.decision == "grant") })
    }

    @Test func aDirectoryTheCallerCannotSearchRefusesByModeBits() throws {
        let h = try DaemonHarness(history: true)
        let alice = h.caller(uid: Self.alice)
        try h.mkdir(h.root, "/w/private", mode: 0o700)
        try h.file(h.root, "/w/private/f", "f\n")
        try h.file(alice, "/w/mine", "m\n")
        let before = h.historyState()
        #expect(h.unlink(alice, "/w/private/f").failure == Errno(EACCES))
        #expect(h.rename(alice, "/w/mine", "/w/private/mine").failure == Errno(EACCES))
        #expect(h.historyState() == before)
        #expect(h.decisions("unlink", "/w/private/f").first?.needed == "x")
        #expect(h.decisions("rename", "/w/private/mine").first?.needed == "x")
    }

    @Test func inAStickyDirectoryOnlyTheOwnersAndRootRemoveOrRenameAway() throws {
        let h = try DaemonHarness(history: true)
        let alice = h.caller(uid: Self.alice), bob = h.caller(uid: Self.bob)
        try h.mkdir(h.root, "/w/tmp", mode: 0o1777)
        try h.file(alice, "/w/tmp/alice.log", "a\n")
        try h.file(bob, "/w/tmp/bob.log", "b\n")
        let before = h.historyState()
        #expect(h.unlink(bob, "/w/tmp/alice.log").failure == Errno(EPERM))
        #expect(h.rename(bob, "/w/tmp/alice.log", "/w/tmp/x").failure == Errno(EPERM))
        #expect(h.rename(bob, "/w/tmp/bob.log", "/w/tmp/alice.log").failure == Errno(EPERM))   // would replace alice's
        #expect(h.historyState() == before)
        let r = try #require(h.decisions("unlink", "/w/tmp/alice.log").first)
        #expect(r.reason == "mode-bits" && r.needed == "owner (sticky directory)" && r.mode == "1777" && r.errno == EPERM)
        #expect(h.rename(bob, "/w/tmp/bob.log", "/w/tmp/bob.log.1").failure == nil)
        #expect(h.unlink(alice, "/w/tmp/alice.log").failure == nil)
        try h.file(alice, "/w/tmp/again.log", "c\n")
        #expect(h.unlink(h.root, "/w/tmp/again.log").failure == nil)
    }

    @Test func aDirectoryMovingToAnotherDirectoryNeedsWriteOnItself() throws {
        let h = try DaemonHarness(history: true)
        let alice = h.caller(uid: Self.alice)
        try h.mkdir(alice, "/w/d", mode: 0o555)
        try h.mkdir(alice, "/w/other")
        let before = h.historyState()
        #expect(h.rename(alice, "/w/d", "/w/other/d").failure == Errno(EACCES))
        #expect(h.historyState() == before)
        #expect(h.decisions("rename", "/w/d").first?.modePath == "/w/d")
        #expect(h.rename(alice, "/w/d", "/w/d2").failure == nil)   // same directory: its ".." stays
    }

    /// The kernel may still hold a moved name in its cache for a second
    /// (docs/MOUNT.md "History mode"), so every check by path reads the
    /// ancestors as they are now: a file moved under a directory bob may not
    /// search is closed to bob's open, access and opendir at once, by inode.
    @Test func aNameMovedUnderADirectoryOthersCannotSearchIsClosedToThemAtOnce() throws {
        let h = try DaemonHarness(history: true)
        let bob = h.caller(uid: Self.bob)
        try h.mkdir(h.root, "/w/open")
        try h.mkdir(h.root, "/w/open/sub")
        let (ino, _) = try h.file(h.root, "/w/open/sub/f", "f\n")
        let sub = try #require(h.ino("/w/open/sub"))
        #expect(h.fs.open(bob, ino: ino, flags: O_RDONLY).failure == nil)
        try h.mkdir(h.root, "/w/private", mode: 0o700)
        #expect(h.rename(h.root, "/w/open/sub", "/w/private/sub").failure == nil)
        #expect(h.fs.open(bob, ino: ino, flags: O_RDONLY).failure == Errno(EACCES))
        #expect(h.fs.access(bob, ino: ino, mask: R_OK).failure == Errno(EACCES))
        #expect(h.fs.opendir(bob, ino: sub, flags: 0).failure == Errno(EACCES))
        #expect(h.decisions("open", "/w/private/sub/f").first?.modePath == "/w/private")
    }

    // MARK: Without history

    @Test func withoutHistoryTheSameCallsAreRefusedAsTamperAndAttributesStayFrozen() throws {
        let h = try DaemonHarness(policy: Self.policy(["rename", "remove", "setattr"]))
        let alice = h.caller(uid: Self.alice)
        let (ino, _) = try h.file(alice, "/w/a.log", "a\n")
        try h.file(alice, "/w/b.log", "b\n")
        try h.mkdir(alice, "/w/d")
        let before = h.historyState()
        #expect(h.rename(alice, "/w/a.log", "/w/a.log.1").failure == Errno(EPERM))
        #expect(h.rename(alice, "/w/a.log", "/w/b.log", flags: 2).failure == Errno(EPERM))
        #expect(h.unlink(alice, "/w/a.log").failure == Errno(EPERM))
        #expect(h.rmdir(alice, "/w/d").failure == Errno(EPERM))
        #expect(h.fs.setattr(alice, ino: ino, changes: AttributeChanges(mode: 0o600), handle: nil).failure == Errno(EPERM))
        #expect(h.historyState() == before)
        let refusals = h.decisions().filter { $0.decision == "deny" }
        #expect(refusals.map(\.mountRule) == ["permanent-names", "permanent-names", "permanent-names", "permanent-names",
                                              "frozen-attributes"])
        #expect(h.decisions().allSatisfy { $0.verb != "remove" && !($0.verb == "rename" && $0.decision == "grant") })
    }
}
