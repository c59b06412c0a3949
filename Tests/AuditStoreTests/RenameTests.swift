import AuditPlumbing
import Foundation
import Testing
@testable import AuditStore

/// Renames and retirements (format v2, the mount's history mode): a name
/// changes or goes, the node and every byte of it stay, and the checker
/// agrees with the writer at every step.
@Suite struct RenameTests {
    let me = Fixture.writer
    let root = Namespace.rootID

    /// The store's state as everything a reader can see: every node's path,
    /// kind, retirement, size and contents.
    static func state(_ s: Store) throws -> [String] {
        var out: [String] = []
        func walk(_ n: NodeInfo) throws {
            let data = n.isDirectory ? "" : String(decoding: try s.read(n.id, offset: 0, count: Int(n.size)), as: UTF8.self)
            out.append("\(n.id) \(n.path) \(n.isDirectory ? "d" : "f") \(n.isRetired ? "retired" : "-") \(n.size) \(data)")
            if n.isDirectory { for c in s.children(of: n.id) { try walk(c) } }
        }
        try walk(s.info(Namespace.rootID)!)
        return out.sorted()
    }

    @Test func aRenamedFileKeepsItsIdBytesAndChainAndTheCheckerAgrees() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let s = try Fixture.build(at: path)
        let before = try #require(s.lookup("/b.log"))
        let app = try #require(s.lookup("/app"))
        let out = try s.rename(parent: root, name: "b.log", newParent: app.id, newName: "moved.log", by: me)
        #expect(out.moved.id == before.id && out.moved.path == "/app/moved.log" && out.retired == nil)
        #expect(s.lookup("/b.log") == nil)
        #expect(try s.read(before.id, offset: 0, count: 100) == Array("b one\nb two, a little longer\n".utf8))
        try s.append(before.id, Array("after\n".utf8), by: me)
        let state = try Self.state(s)
        s.close()
        #expect(try Checker.verify(at: path).status == .intact)
        // Opened from the index snapshot and from the segments alone: the same namespace.
        let fromIndex = try Store.open(at: path, mode: .readOnly)
        #expect(try Self.state(fromIndex) == state)
        try FileManager.default.removeItem(atPath: path + "/cache")
        let replayed = try Store.open(at: path, mode: .readOnly)
        #expect(try Self.state(replayed) == state)
    }

    @Test func unlinkRetiresIntoTheMirrorAndNothingWritesItAgain() throws {
        let tmp = TempDir()
        let s = try Fixture.build(at: tmp.path + "/s")
        let app = try #require(s.lookup("/app"))
        try s.setAttributes(app.id, AttributeChange(fields: [.mode, .owner], mode: 0o750, owner: 1000), by: me)
        let a = try #require(s.lookup("/app/a.log"))
        let seq = s.treeHead.size
        let retired = try s.retire(parent: app.id, name: "a.log", directory: false, by: me)
        // mkdir /.audit, /.audit/retired, /.audit/retired/app, then the rename record.
        let time = Timestamps.rfc3339Seconds(try #require(s.info(retired.parent)).ctime)
        #expect(retired.id == a.id && retired.isRetired)
        #expect(retired.path == "/.audit/retired/app/a.log@\(time)#\(seq + 3)")
        let mirror = try #require(s.lookup("/.audit/retired/app"))
        #expect(mirror.mode == 0o750 && mirror.uid == 1000, "the mirror keeps the directory's mode and owner")
        #expect(s.lookup("/app/a.log") == nil)
        #expect(try s.contents(of: retired.path) == Array("first line of a\nsecond line of a\n".utf8))
        #expect(throws: StoreError.retired(retired.path)) { try s.append(a.id, Array("x".utf8), by: me) }
        #expect(throws: StoreError.retired(retired.path)) {
            try s.setAttributes(a.id, AttributeChange(fields: [.mode], mode: 0o600), by: me)
        }
        // The name is free again: a new file, a new id.
        let again = try s.create("/app/a.log", kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        #expect(again.id != a.id)
        s.close()
        #expect(try Checker.verify(at: tmp.path + "/s").status == .intact)
    }

    @Test func aReplacingRenameRetiresTheOldFileFirst() throws {
        let tmp = TempDir()
        let s = try Fixture.build(at: tmp.path + "/s")
        let app = try #require(s.lookup("/app")).id
        let a = try #require(s.lookup("/app/a.log"))
        let b = try #require(s.lookup("/b.log"))
        #expect(throws: StoreError.exists("/app/a.log")) {
            try s.rename(parent: root, name: "b.log", newParent: app, newName: "a.log", replace: false, by: me)
        }
        let out = try s.rename(parent: root, name: "b.log", newParent: app, newName: "a.log", by: me)
        #expect(out.moved.id == b.id && out.moved.path == "/app/a.log")
        #expect(out.retired?.id == a.id && out.retired?.isRetired == true)
        #expect(try s.contents(of: out.retired!.path) == Array("first line of a\nsecond line of a\n".utf8))
        var reasons: [String] = []
        s.close()
        try History.read(at: tmp.path + "/s") { e in if let r = e.reason { reasons.append("\(r) \(e.from!) -> \(e.to!)") } }
        #expect(reasons == ["replaced /app/a.log -> \(out.retired!.path)", "rename /b.log -> /app/a.log"])
        #expect(try Checker.verify(at: tmp.path + "/s").status == .intact)
    }

    @Test func posixRefusalsChangeNoByte() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let s = try Fixture.build(at: path)
        let app = try #require(s.lookup("/app")).id
        let sub = try s.create("/app/sub", kind: .directory, mode: 0o755, owner: 0, group: 0, by: me)
        try s.create("/app/sub/x", kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        let empty = try s.create("/empty", kind: .directory, mode: 0o755, owner: 0, group: 0, by: me)
        try s.ensureDirectory("/.audit", by: me)
        try s.sync()
        let before = segmentPaths(path).map(readFile)
        let head = s.treeHead
        #expect(throws: StoreError.noSuchFile("/nope")) { try s.rename(parent: root, name: "nope", newParent: root, newName: "x", by: me) }
        #expect(throws: StoreError.isADirectory("/empty")) { try s.rename(parent: root, name: "b.log", newParent: root, newName: "empty", by: me) }
        #expect(throws: StoreError.notADirectory("/b.log")) { try s.rename(parent: root, name: "empty", newParent: root, newName: "b.log", by: me) }
        #expect(throws: StoreError.directoryNotEmpty("/app")) { try s.rename(parent: root, name: "empty", newParent: root, newName: "app", by: me) }
        #expect(throws: StoreError.invalidMove("'/app' cannot move into itself ('/app/sub/app')")) {
            try s.rename(parent: root, name: "app", newParent: sub.id, newName: "app", by: me)
        }
        for (from, name, to) in [(root, ".audit", "x"), (root, "b.log", ".audit")] {
            let target = try #require(s.lookup("/")).id
            #expect(throws: (any Error).self) { try s.rename(parent: from, name: name, newParent: target, newName: to, by: me) }
        }
        #expect(throws: StoreError.isADirectory("/empty")) { try s.retire(parent: root, name: "empty", directory: false, by: me) }
        #expect(throws: StoreError.notADirectory("/b.log")) { try s.retire(parent: root, name: "b.log", directory: true, by: me) }
        #expect(throws: StoreError.directoryNotEmpty("/app/sub")) { try s.retire(parent: app, name: "sub", directory: true, by: me) }
        #expect(throws: (any Error).self) { try s.retire(parent: root, name: ".audit", directory: true, by: me) }
        #expect(throws: StoreError.invalidPath("invalid path '..': '..' component")) {
            try s.rename(parent: root, name: "b.log", newParent: root, newName: "..", by: me)
        }
        // A rename onto itself is answered and writes nothing.
        #expect(try s.rename(parent: root, name: "b.log", newParent: root, newName: "b.log", by: me).moved.path == "/b.log")
        #expect(s.treeHead == head)
        try s.sync()
        #expect(segmentPaths(path).map(readFile) == before)
        _ = empty
        s.close()
    }

    @Test func aRenamedDirectoryTakesItsTreeAlongAndListingsSkipEmptyPositions() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let s = try Fixture.build(at: path)
        try s.create("/app/deep", kind: .directory, mode: 0o755, owner: 0, group: 0, by: me)
        let f = try s.create("/app/deep/f.log", kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        try s.append(f.id, Array("deep\n".utf8), by: me)
        try s.create("/z", kind: .directory, mode: 0o755, owner: 0, group: 0, by: me)
        let z = try #require(s.lookup("/z")).id
        try s.rename(parent: root, name: "app", newParent: z, newName: "app2", by: me)
        #expect(s.info(f.id)?.path == "/z/app2/deep/f.log")
        #expect(try s.contents(of: "/z/app2/deep/f.log") == Array("deep\n".utf8))
        // The root's positions: app (empty now), b.log, z.
        let page = s.children(of: root, from: 0, limit: 10)
        #expect(page.map(\.node.name) == ["b.log", "z"] && page.map(\.position) == [1, 2])
        #expect(s.children(of: root, from: 0, limit: 1).map(\.node.name) == ["b.log"])
        let state = try Self.state(s)
        s.close()
        #expect(try Checker.verify(at: path).status == .intact)
        #expect(try Self.state(Store.open(at: path, mode: .readOnly)) == state)
    }

    @Test func aVersion1StoreTakesNoRename() throws {
        let tmp = TempDir()
        let path = tmp.path + "/s"
        let s = try Fixture.build(at: path, version: 1)
        #expect(s.formatVersion == 1)
        try s.sync()
        let before = segmentPaths(path).map(readFile)
        #expect(throws: StoreError.formatTooOld(path, version: 1)) {
            try s.rename(parent: root, name: "b.log", newParent: root, newName: "c.log", by: me)
        }
        #expect(throws: StoreError.formatTooOld(path, version: 1)) { try s.retire(parent: root, name: "b.log", directory: false, by: me) }
        // Written on as v1: a new segment of a v1 store says v1.
        try s.append(s.lookup("/b.log")!.id, Array("more\n".utf8), by: me)
        s.close()
        #expect(Array(segmentPaths(path).map(readFile)[0].prefix(before[0].count)) == before[0])
        #expect(String(decoding: readFile(path + "/auditfs-store"), as: UTF8.self).hasPrefix("auditfs-store v1\n"))
        #expect(try Checker.verify(at: path).status == .intact)
    }

    @Test func aRetiredNameThatIsTakenGetsASuffix() throws {
        let tmp = TempDir()
        let s = try Fixture.build(at: tmp.path + "/s")
        // Someone made a file with the very name the next retirement would
        // take (the fixture's clock stays within its first second).
        try s.ensureDirectory("/.audit/retired", by: me)
        let next = s.treeHead.size + 1
        let taken = "/.audit/retired/b.log@2026-01-01T00:00:00Z#\(next)"
        try s.create(taken, kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        let retired = try s.retire(parent: root, name: "b.log", directory: false, by: me)
        #expect(retired.path == taken + "~2")
        // A name of 254 bytes is cut, at a character, to leave room for the suffix.
        let long = String(repeating: "é", count: 127)
        let f = try s.create("/" + long, kind: .file, mode: 0o644, owner: 0, group: 0, by: me)
        let r = try s.retire(parent: root, name: long, directory: false, by: me)
        #expect(r.id == f.id && StorePath.name(of: r.path).utf8.count <= Format.maxNameSize)
        #expect(StorePath.name(of: r.path).hasPrefix("éé"))
        s.close()
        #expect(try Checker.verify(at: tmp.path + "/s").status == .intact)
    }
}
