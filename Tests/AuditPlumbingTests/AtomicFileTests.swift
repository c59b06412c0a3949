import AuditPlumbing
import Foundation
import Testing
import Glibc

/// Write-once and replacing writes (AtomicFile.swift), on a real directory.
@Suite struct AtomicFileTests {
    /// A fresh directory, removed after `body`.
    static func inTemporaryDirectory(_ body: (String) throws -> Void) throws {
        var template = Array((NSTemporaryDirectory() + "/atomicfile-XXXXXX").utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    static func bytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map(Array.init) }

    static func names(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    @Test func createWritesTheBytesOnceAndLeavesNoTemporaryFile() throws {
        try Self.inTemporaryDirectory { dir in
            let path = dir + "/identity"
            let outcome = try AtomicFile.create(path, Array("one\n".utf8), mode: 0o640)
            #expect(outcome == .created)
            #expect(Self.bytes(path) == Array("one\n".utf8))
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o640 & ~Self.umaskNow())
            #expect(Self.names(dir) == ["identity"])
        }
    }

    @Test func rewritingIdenticalBytesIsFine() throws {
        try Self.inTemporaryDirectory { dir in
            let path = dir + "/key"
            let key = [UInt8](repeating: 7, count: 32)
            try AtomicFile.create(path, key)
            var before = stat()
            stat(path, &before)
            let again = try AtomicFile.create(path, key)
            #expect(again == .identical)
            var after = stat()
            stat(path, &after)
            #expect(after.st_ino == before.st_ino)   // the same file, not a new one
            #expect(Self.names(dir) == ["key"])
        }
    }

    @Test(arguments: [[UInt8](repeating: 8, count: 32), [UInt8](repeating: 7, count: 31), [UInt8](repeating: 7, count: 33), []])
    func differentBytesAreRefusedAndTheFileIsKept(other: [UInt8]) throws {
        try Self.inTemporaryDirectory { dir in
            let path = dir + "/key"
            let key = [UInt8](repeating: 7, count: 32)
            try AtomicFile.create(path, key)
            do {
                try AtomicFile.create(path, other)
                Issue.record("different bytes were accepted")
            } catch let e as SystemError {
                #expect(e.errno == EEXIST)
                #expect(e.description == path + ": exists with different contents")
            }
            #expect(Self.bytes(path) == key)
            #expect(Self.names(dir) == ["key"])
        }
    }

    @Test func createNeverFollowsOrOverwritesALinkInTheWay() throws {
        try Self.inTemporaryDirectory { dir in
            let target = dir + "/target"
            try AtomicFile.create(target, Array("target".utf8))
            #expect(symlink(target, dir + "/link") == 0)
            #expect(throws: SystemError.self) { try AtomicFile.create(dir + "/link", Array("target".utf8)) }
            #expect(Self.bytes(target) == Array("target".utf8))
        }
    }

    @Test func replaceChangesTheBytesWholly() throws {
        try Self.inTemporaryDirectory { dir in
            let path = dir + "/state"
            try AtomicFile.replace(path, Array("old".utf8))
            try AtomicFile.replace(path, Array("new, longer".utf8))
            #expect(Self.bytes(path) == Array("new, longer".utf8))
            try AtomicFile.replace(path) { w in
                try w.write(Array("a".utf8))
                try Array("bc".utf8).withUnsafeBytes { try w.write($0) }
                #expect(w.offset == 3)
            }
            #expect(Self.bytes(path) == Array("abc".utf8))
            #expect(Self.names(dir) == ["state"])
        }
    }

    struct Stop: Error {}

    @Test func aWriterThatFailsLeavesTheOldFileAndNoTemporary() throws {
        try Self.inTemporaryDirectory { dir in
            let path = dir + "/state"
            try AtomicFile.replace(path, Array("old".utf8))
            #expect(throws: Stop.self) {
                try AtomicFile.replace(path) { w in try w.write(Array("half".utf8)); throw Stop() }
            }
            #expect(Self.bytes(path) == Array("old".utf8))
            #expect(Self.names(dir) == ["state"])
        }
    }

    @Test func aMissingDirectoryIsAnErrnoNotACrash() {
        #expect {
            try AtomicFile.create("/nonexistent-auditfs-dir/x", [1])
        } throws: { ($0 as? SystemError)?.errno == ENOENT }
        #expect {
            try AtomicFile.syncDirectory("/nonexistent-auditfs-dir")
        } throws: { ($0 as? SystemError)?.errno == ENOENT }
    }

    @Test(arguments: [("/a/b/c", "/a/b"), ("/c", "/"), ("c", "."), ("a/c", "a")])
    func theDirectoryThatIsSynced(path: String, directory: String) {
        #expect(AtomicFile.directory(of: path) == directory)
    }

    @Test func theDirectoryOfANewFileIsSyncable() throws {
        try Self.inTemporaryDirectory { dir in
            try AtomicFile.syncDirectory(of: dir + "/new")
            #expect(throws: SystemError.self) { try AtomicFile.syncDirectory(of: dir + "/not-a-dir/new") }
        }
    }

    static func umaskNow() -> mode_t {
        let m = umask(0o022)
        umask(m)
        return m
    }
}
