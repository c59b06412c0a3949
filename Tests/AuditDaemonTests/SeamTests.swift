import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// What the daemon answers the bridge beyond single refusals: the INIT
/// capabilities, entry caching, directory listings in pages, and ENOSYS for
/// what it does not implement.
@Suite struct SeamTests {
    /// A file system that implements nothing.
    final class Nothing: FileSystemOperations {}

    @Test func everyOperationNotImplementedAnswersENOSYS() {
        let n = Nothing()
        let who = RequestContext(uid: 1, gid: 1, tid: 1)
        #expect(n.lookup(who, parent: 1, name: [0x61]).failure == .notImplemented)
        #expect(n.getattr(who, ino: 1, handle: nil).failure == .notImplemented)
        #expect(n.write(who, ino: 1, data: UnsafeRawBufferPointer(start: nil, count: 0), offset: 0, handle: 0).failure
            == .notImplemented)
        #expect(n.readdir(who, ino: 1, size: 4096, offset: 0, handle: 0).failure == .notImplemented)
        #expect(n.initialize(offered: [.writebackCache]) == CapabilityRequest())
        #expect(Errno.notImplemented == Errno(ENOSYS))
    }

    /// The bridge's context reads the groups from the source it was given
    /// (the request's address), again on each call, and not before.
    @Test func aContextReadsItsGroupsFromItsSourceOnEachCall() {
        nonisolated(unsafe) var reads: [UInt] = []
        let who = RequestContext(uid: 5, gid: 6, tid: 7, groupsSource: 0xABC0,
                                 readGroupsOf: { source in reads.append(source); return [UInt32(reads.count)] })
        #expect(reads.isEmpty)
        #expect(who.groups() == [1])
        #expect(who.groups() == [2])
        #expect(reads == [0xABC0, 0xABC0])
        #expect(RequestContext(uid: 1, gid: 1, tid: 1, groups: { [9, 10] }).groups() == [9, 10])
    }

    /// Every operation the bridge's table wires, called through the protocol as
    /// the bridge calls it: none may fall back to the ENOSYS default (a
    /// handler whose signature drifted from the protocol's would, silently).
    @Test func everyOperationTheBridgeWiresIsTheDaemons() throws {
        let h = try DaemonHarness()
        let ops: any FileSystemOperations = h.fs
        let who = h.caller(uid: 1000)
        let w = try #require(h.ino(DaemonHarness.work))
        let name = Array("f".utf8), other = Array("g".utf8)
        let created = try ops.create(who, parent: w, name: name, mode: 0o644, flags: O_WRONLY | O_APPEND | O_CREAT).get()
        let f = created.entry.ino, fh = created.opened.handle
        let results: [(String, Errno?)] = [
            ("lookup", ops.lookup(who, parent: w, name: name).failure),
            ("getattr", ops.getattr(who, ino: f, handle: nil).failure),
            ("setattr", ops.setattr(who, ino: f, changes: AttributeChanges(), handle: nil).failure),
            ("access", ops.access(who, ino: f, mask: 0).failure),
            ("statfs", ops.statfs(who, ino: f).failure),
            ("mknod", ops.mknod(who, parent: w, name: other, mode: 0o644, device: 0).failure),
            ("mkdir", ops.mkdir(who, parent: w, name: Array("d".utf8), mode: 0o755).failure),
            ("unlink", ops.unlink(who, parent: w, name: name).failure),
            ("rmdir", ops.rmdir(who, parent: w, name: Array("d".utf8)).failure),
            ("symlink", ops.symlink(who, target: name, parent: w, name: other).failure),
            ("rename", ops.rename(who, parent: w, name: name, newParent: w, newName: other, flags: 0).failure),
            ("link", ops.link(who, ino: f, newParent: w, newName: other).failure),
            ("open", ops.open(who, ino: f, flags: O_RDONLY).failure),
            ("read", ops.read(who, ino: f, size: 10, offset: 0, handle: 0).failure),
            ("write", [UInt8]("x".utf8).withUnsafeBytes { ops.write(who, ino: f, data: $0, offset: 0, handle: fh).failure }),
            ("release", ops.release(who, ino: f, handle: fh, flags: 0).failure),
            ("fsync", ops.fsync(who, ino: f, dataOnly: false, handle: fh).failure),
            ("fallocate", ops.fallocate(who, ino: f, mode: 0, offset: 0, length: 1, handle: fh).failure),
            ("opendir", ops.opendir(who, ino: w, flags: O_RDONLY).failure),
            ("readdir", ops.readdir(who, ino: w, size: 4096, offset: 0, handle: 0).failure),
            ("releasedir", ops.releasedir(who, ino: w, handle: 0).failure),
            ("fsyncdir", ops.fsyncdir(who, ino: w, dataOnly: false, handle: 0).failure),
            ("setxattr", ops.setxattr(who, ino: f, name: Array("user.a".utf8), value: [], flags: 0).failure),
            ("listxattr", ops.listxattr(who, ino: f, size: 0).failure),
            ("removexattr", ops.removexattr(who, ino: f, name: Array("user.a".utf8)).failure),
        ]
        for (op, e) in results { #expect(e != .notImplemented, "\(op) answered ENOSYS") }
        #expect(ops.initialize(offered: [.writebackCache]).disable == .writebackCache)
    }

    @Test func theWritebackCacheIsAlwaysOffAndAtomicOTruncOnWhenOffered() throws {
        let h = try DaemonHarness()
        #expect(h.fs.initialize(offered: [.writebackCache, .atomicOpenTruncate])
            == CapabilityRequest(enable: .atomicOpenTruncate, disable: .writebackCache))
        #expect(h.fs.initialize(offered: []) == CapabilityRequest(enable: [], disable: .writebackCache))
    }

    @Test func namesAreCachedOnlyWhereEveryoneMaySearch() throws {
        let h = try DaemonHarness()
        let alice = h.caller(uid: 1000)
        try h.mkdir(alice, "/w/open", mode: 0o755)
        try h.mkdir(alice, "/w/closed", mode: 0o750)
        try h.create(alice, "/w/open/a")
        try h.create(alice, "/w/closed/b")
        let open = try h.fs.lookup(alice, parent: try #require(h.ino("/w/open")), name: Array("a".utf8)).get()
        let closed = try h.fs.lookup(alice, parent: try #require(h.ino("/w/closed")), name: Array("b".utf8)).get()
        #expect(open.entryTimeout == CacheTimeout.entry && open.attributeTimeout == CacheTimeout.attributes)
        #expect(closed.entryTimeout == 0)
        // Another user cannot walk into /closed, and the refusal is recorded.
        #expect(h.fs.lookup(h.caller(uid: 2000), parent: try #require(h.ino("/w/closed")), name: Array("b".utf8)).failure
            == Errno(EACCES))
        #expect(h.decisions(about: "/w/closed/b").first { $0.decision == "deny" }?.needed == "x")
    }

    @Test func aNameThatIsNotUTF8CannotExist() throws {
        let h = try DaemonHarness()
        let root = try #require(h.ino("/w"))
        let before = h.snapshot()
        #expect(h.fs.lookup(h.root, parent: root, name: [0xFF, 0xFE]).failure == Errno(ENOENT))
        #expect(h.fs.create(h.root, parent: root, name: [0xC3], mode: 0o644, flags: O_WRONLY | O_CREAT).failure == Errno(EINVAL))
        #expect(h.fs.mkdir(h.root, parent: root, name: [UInt8](repeating: 0xFF, count: 300), mode: 0o755).failure
            == Errno(ENAMETOOLONG))
        #expect(h.snapshot() == before)
    }

    @Test func aListingReadInSmallPagesNeitherSkipsNorRepeats() throws {
        let h = try DaemonHarness()
        let alice = h.caller(uid: 1000)
        let names = (0..<40).map { "file-\($0)-" + String(repeating: "n", count: $0) }
        for n in names { try h.create(alice, "/w/" + n) }
        let root = try #require(h.ino("/w"))
        var seen: [String] = []
        var offset: Int64 = 0
        while true {
            let page = try h.fs.readdir(alice, ino: root, size: 200, offset: offset, handle: 0).get()
            #expect(page.used <= 200)
            guard let last = page.items.last else { break }
            seen += page.items.map { String(decoding: $0.name, as: UTF8.self) }
            offset = last.nextOffset
        }
        // In creation order, after "." and "..".
        #expect(seen == [".", ".."] + names)
    }

    @Test func anEntryTheSizeOfTheKernelsDirent() {
        #expect(DirectoryEntries.size(nameLength: 1) == 32)
        #expect(DirectoryEntries.size(nameLength: 8) == 32)
        #expect(DirectoryEntries.size(nameLength: 9) == 40)
        var list = DirectoryEntries(capacity: 40)
        let first = list.add(Array("abc".utf8), ino: 2, kind: .regularFile, nextOffset: 1)
        let second = list.add(Array("abc".utf8), ino: 3, kind: .regularFile, nextOffset: 2)
        #expect(first && !second)
        #expect(list.items.count == 1 && list.remaining == 8)
    }

    @Test func statfsSaysTheLongestName() throws {
        let h = try DaemonHarness()
        let s = try h.fs.statfs(h.root, ino: 1).get()
        #expect(s.nameMax == UInt64(Format.maxNameSize) && s.blockSize > 0)
    }

    @Test func fsyncAnswersOnceTheStoreIsSynced() throws {
        let h = try DaemonHarness()
        let alice = h.caller(uid: 1000)
        let f = try h.create(alice, "/w/s.log")
        _ = try h.write(alice, f.entry.ino, "x\n", at: 0, handle: f.opened.handle).get()
        #expect(h.fs.fsync(alice, ino: f.entry.ino, dataOnly: false, handle: f.opened.handle).failure == nil)
        #expect(h.fs.fsyncdir(alice, ino: 1, dataOnly: true, handle: 0).failure == nil)
    }
}
