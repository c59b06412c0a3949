import Foundation
@testable import AuditStore

/// A temporary directory removed when the value goes away.
final class TempDir {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("auditfs-test-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum Fixture {
    static let storeID: [UInt8] = Array(0..<16)
    static let writer = Provenance(uid: 1000, gid: 1000, pid: 4242, command: "fixture")

    /// Options whose clock starts at 2026-01-01T00:00:00Z and ticks 1 ms per record.
    static func options(segmentSize: UInt64 = Format.defaultSegmentSize) -> Store.Options {
        var o = Store.Options()
        o.segmentSize = segmentSize
        let tick = Counter()
        o.clock = { 1_767_225_600_000_000_000 + tick.next() * 1_000_000 }
        o.newCacheKey = { Array(0..<32) }
        return o
    }

    /// The small deterministic store the golden and damage tests use:
    /// a directory, two files, appends to both, a chmod.
    @discardableResult
    static func build(at path: String, segmentSize: UInt64 = Format.defaultSegmentSize,
                      version: UInt32 = Format.version) throws -> Store {
        let s = try Store.create(at: path, options: options(segmentSize: segmentSize), by: writer, storeID: storeID,
                                 version: version)
        let dir = try s.create("/app", kind: .directory, mode: 0o755, owner: 0, group: 0, by: writer)
        let a = try s.create("/app/a.log", kind: .file, mode: 0o644, owner: 1000, group: 1000, by: writer)
        let b = try s.create("/b.log", kind: .file, mode: 0o640, owner: 0, group: 4, by: writer)
        try s.append(a.id, Array("first line of a\n".utf8), by: writer)
        try s.append(b.id, Array("b one\n".utf8), by: writer)
        try s.append(a.id, Array("second line of a\n".utf8), at: 16, by: writer)
        try s.setAttributes(b.id, AttributeChange(fields: [.mode], mode: 0o600), by: writer)
        try s.append(b.id, Array("b two, a little longer\n".utf8), by: writer)
        _ = dir
        try s.sync()
        return s
    }

    /// `build`, then what the mount's history mode records (format v2):
    /// 9 rename /b.log → /app/b.log; 10 append to it; 11–13 mkdir /.audit,
    /// /.audit/retired, /.audit/retired/app; 14 unlink /app/a.log (retired);
    /// 15 create /app/a.log anew, 16 append; 17 create /app/c.log, 18 append;
    /// 19 c.log replaces b.log: b.log retired (replaced); 20 rename c.log → b.log;
    /// 21 mkdir /tmp, 22 rmdir /tmp (retired).
    @discardableResult
    static func buildWithHistory(at path: String, segmentSize: UInt64 = Format.defaultSegmentSize) throws -> Store {
        let s = try build(at: path, segmentSize: segmentSize)
        let root = Namespace.rootID
        let app = s.lookup("/app")!.id
        try s.rename(parent: root, name: "b.log", newParent: app, newName: "b.log", by: writer)
        try s.append(s.lookup("/app/b.log")!.id, Array("b three, after its rename\n".utf8), by: writer)
        try s.retire(parent: app, name: "a.log", directory: false, by: writer)
        let a2 = try s.create("/app/a.log", kind: .file, mode: 0o644, owner: 1000, group: 1000, by: writer)
        try s.append(a2.id, Array("a, the next one\n".utf8), by: writer)
        let c = try s.create("/app/c.log", kind: .file, mode: 0o644, owner: 1000, group: 1000, by: writer)
        try s.append(c.id, Array("c one\n".utf8), by: writer)
        try s.rename(parent: app, name: "c.log", newParent: app, newName: "b.log", by: writer)
        try s.create("/tmp", kind: .directory, mode: 0o1777, owner: 0, group: 0, by: writer)
        try s.retire(parent: root, name: "tmp", directory: true, by: writer)
        try s.sync()
        return s
    }
}

final class Counter: @unchecked Sendable {
    private var value: Int64 = 0
    private let lock = NSLock()
    func next() -> Int64 { lock.lock(); defer { lock.unlock() }; value += 1; return value - 1 }
}

func readFile(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path)!) }
func writeFile(_ path: String, _ bytes: [UInt8]) { FileManager.default.createFile(atPath: path, contents: Data(bytes)) }

func copyStore(_ from: String, to: String) {
    try? FileManager.default.removeItem(atPath: to)
    try! FileManager.default.copyItem(atPath: from, toPath: to)
}

func segmentPaths(_ store: String) -> [String] {
    let dir = store + "/segments"
    return try! FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".seg") }.sorted().map { dir + "/" + $0 }
}

/// The frames of a segment: (offset, length, seq) in order.
func frames(ofSegment path: String) throws -> [(offset: UInt64, length: Int, seq: UInt64)] {
    var reader = try SegmentReader(file: try RawFile.open(path, flags: O_RDONLY), from: 0)
    _ = try reader.readHeader()
    var out: [(UInt64, Int, UInt64)] = []
    while case let .frame(f) = try reader.next() {
        let r = try Record.decodeHeader(f.header)
        out.append((f.offset, f.prefix.frameLength, r.seq))
    }
    return out
}
