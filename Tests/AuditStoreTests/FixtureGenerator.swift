import Foundation
@testable import AuditStore

/// Generates the checked-in fixtures under fixtures/: the golden store and
/// the named tamper mutations of it. `FixtureTests` regenerates them and
/// compares with the checked-in bytes; run with AUDITFS_REGENERATE_FIXTURES=1
/// to rewrite them after a deliberate format change.
enum FixtureGenerator {
    static let fixturesDirectory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures").path
    }()

    /// A tamper fixture: a store directory plus what the checker must say.
    struct Tamper: Codable, Equatable {
        let name: String
        let desc: String
        let wantStatus: String
        let wantCheck: String?
        let wantSeq: UInt64?
    }

    /// One decoded record of a segment, with its payload.
    struct Item {
        var record: Record
        var payload: [UInt8]
    }

    static func decodeItems(segment path: String) throws -> [Item] {
        var reader = try SegmentReader(file: try RawFile.open(path, flags: O_RDONLY), from: 0)
        _ = try reader.readHeader()
        var out: [Item] = []
        while case let .frame(f) = try reader.next() {
            out.append(Item(record: try Record.decodeHeader(f.header), payload: Array(f.payload)))
        }
        return out
    }

    static func encodeFrame(_ item: Item) -> [UInt8] {
        let header = item.record.encodeHeader()
        return Frame.encodePrefix(headerLength: UInt32(header.count), payloadLength: UInt32(item.payload.count))
            + header + item.payload + Hash.sha256(header).bytes
    }

    /// Rewrites `items` as an attacker who recomputes what a plain hash chain
    /// would need: sequence numbers, payload digests, both chains and every
    /// record hash, from the first record on.
    static func rechain(_ items: [Item], renumber: Bool) -> [Item] {
        var out: [Item] = []
        var last = Hash.zero
        var lastOfFile: [UInt64: Hash] = [:]
        var newID: [UInt64: UInt64] = [:]   // file ids follow their creating record's new number
        for (i, var item) in items.enumerated() {
            if renumber {
                item.record.seq = UInt64(i)
                if case .create = item.record.body {
                    newID[item.record.file] = Record.fileID(createdBy: item.record.seq)
                    item.record.file = Record.fileID(createdBy: item.record.seq)
                } else if let id = newID[item.record.file] {
                    item.record.file = id
                }
            }
            item.record.payloadDigest = Hash.sha256(item.payload)
            item.record.payloadLength = UInt64(item.payload.count)
            item.record.prevStoreHash = last
            if case .create = item.record.body { item.record.prevFileHash = .zero } else {
                item.record.prevFileHash = lastOfFile[item.record.file] ?? .zero
            }
            let h = Hash.sha256(item.record.encodeHeader())
            last = h
            lastOfFile[item.record.file] = h
            out.append(item)
        }
        return out
    }

    static func writeStore(at path: String, items: [Item], version: UInt32 = Format.version) throws {
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path + "/segments", withIntermediateDirectories: true)
        writeFile(path + "/auditfs-store", StoreIdentity(id: Fixture.storeID, version: version).encode())
        let header = SegmentHeader(storeID: Fixture.storeID, firstSeq: 0, prevStoreHash: .zero, version: version).encode()
        writeFile(path + "/segments/" + SegmentHeader.fileName(firstSeq: 0), header + items.flatMap(encodeFrame))
    }

    /// The golden store (format v2): the fixture in one segment. Records:
    /// 0 mkdir /, 1 mkdir /app, 2 create /app/a.log, 3 create /b.log,
    /// 4 append a.log@0, 5 append b.log@0, 6 append a.log@16, 7 setattr b.log, 8 append b.log@6,
    /// then the renames and retirements of `Fixture.buildWithHistory` (records 9–22).
    static func golden(at path: String) throws {
        try Fixture.buildWithHistory(at: path).close()
    }

    /// The golden store of format v1 (records 0–8 above): what a store made
    /// before renames existed holds, read by this auditfs as it was.
    static func goldenV1(at path: String) throws {
        try Fixture.build(at: path, version: 1).close()
    }

    /// Builds every tamper fixture from the golden store into `directory`.
    static func tampers(into directory: String) throws -> [Tamper] {
        let tmp = TempDir()
        let base = tmp.path + "/golden"
        try golden(at: base)
        let items = try decodeItems(segment: segmentPaths(base)[0])
        var made: [Tamper] = []
        func make(_ name: String, _ desc: String, status: String = "damaged", check: String?, seq: UInt64?, _ mutated: [Item],
                  version: UInt32 = Format.version) throws {
            try writeStore(at: directory + "/" + name + "/store", items: mutated, version: version)
            made.append(Tamper(name: name, desc: desc, wantStatus: status, wantCheck: check, wantSeq: seq))
        }
        var v = items; v.remove(at: 5)
        try make("delete-record", "record 5 removed", check: "sequence", seq: 5, v)
        try make("delete-record-rechained", "record 5 removed, later chains and hashes recomputed", check: "sequence", seq: 5, rechain(v, renumber: false))
        v = items; v.remove(at: 4)
        try make("delete-record-renumbered", "record 4 (a.log's first block) removed, everything after renumbered and rechained",
                 check: "append-offset", seq: 5, rechain(v, renumber: true))
        v = items; v.insert(items[5], at: 6)
        try make("duplicate-record", "record 5 stored twice", check: "sequence", seq: 6, v)
        try make("duplicate-record-renumbered", "record 5 stored twice, renumbered and rechained",
                 check: "append-offset", seq: 6, rechain(v, renumber: true))
        v = items; v.swapAt(5, 6)
        try make("reorder-records", "records 5 and 6 swapped", check: "sequence", seq: 5, v)
        v = items; v.swapAt(4, 6)
        try make("reorder-records-renumbered", "a.log's two blocks (4 and 6) swapped, renumbered and rechained",
                 check: "append-offset", seq: 4, rechain(v, renumber: true))
        var forged = items[6]
        forged.payload = Array("forged line\n".utf8)
        forged.record.payloadLength = UInt64(forged.payload.count)
        forged.record.payloadDigest = Hash.sha256(forged.payload)
        forged.record.body = .append(offset: 16)
        v = items; v.insert(forged, at: 6)
        try make("insert-record", "a forged append to a.log inserted before record 6 (it fits; the displaced record 6 does not)", check: "sequence", seq: 7, v)
        try make("insert-record-renumbered", "a forged append to a.log inserted between its two blocks, renumbered and rechained",
                 check: "append-offset", seq: 7, rechain(v, renumber: true))
        v = items
        v[5].payload = Array("b 0ne\n".utf8)
        try make("payload-replaced", "record 5's payload changed, same length", check: "payload-digest", seq: 5, v)
        let rehashed = rechain(Array(v[0...5]), renumber: false)
        try make("payload-replaced-record-rehashed", "record 5's payload changed, its digest and hash recomputed, later records untouched",
                 check: "store-chain", seq: 6, rehashed + Array(v[6...]))
        v = items
        v[6].record.writer = Provenance(uid: 0, gid: 0, pid: 1, command: "innocent")
        try make("writer-changed", "record 6 attributed to another writer, its hash recomputed", check: "store-chain", seq: 7, v)
        v = items
        v[8].payload = v[8].payload + Array("X".utf8)
        try make("payload-longer", "record 8's payload one byte longer, the frame's lengths adjusted", check: "payload-length", seq: 8, v)
        try historyTampers(items) { try make($0, $1, status: $2, check: $3, seq: $4, $5, version: $6) }
        // A crash mid-append: the last frame cut short.
        let full = directory + "/truncated-mid-record/store"
        try make("truncated-mid-record", "the last record's frame cut in half (a crash)", status: "torn-tail", check: nil, seq: nil, items)
        let seg = segmentPaths(full)[0]
        let bytes = readFile(seg)
        writeFile(seg, Array(bytes[0..<(bytes.count - 40)]))
        try make("garbage-appended", "non-zero bytes after the last record", check: "frame-magic", seq: UInt64(items.count), items)
        let g = segmentPaths(directory + "/garbage-appended/store")[0]
        writeFile(g, readFile(g) + Array("not a frame, but sixteen or more bytes\n".utf8))
        return made
    }

    /// The renames and retirements (records 9–22 of the golden store),
    /// forged as someone rewriting the segments would, every hash after the
    /// change recomputed.
    static func historyTampers(_ items: [Item], _ make: (String, String, String, String?, UInt64?, [Item], UInt32) throws -> Void) throws {
        func rename(_ i: Int) -> RenameChange {
            guard case let .rename(c) = items[i].record.body else { fatalError("record \(i) is not a rename") }
            return c
        }
        var v = items
        var c = rename(9); c.from = "/app/a.log"; v[9].record.body = .rename(c)
        try make("rename-source-forged", "record 9 renames /b.log but names /app/a.log as its old path, rechained",
                 "damaged", "rename-source", 9, rechain(v, renumber: false), Format.version)
        v = items
        var late = items[16]
        late.record.file = items[14].record.file
        late.record.body = .append(offset: 33)
        late.payload = Array("written after its unlink\n".utf8)
        v.insert(late, at: 15)
        try make("retired-file-appended", "an append to /app/a.log after record 14 retired it, renumbered and rechained",
                 "damaged", "retired", 15, rechain(v, renumber: true), Format.version)
        v = items; v.remove(at: 14)
        try make("retirement-removed", "the unlink of /app/a.log (record 14) removed, renumbered and rechained: its name is still taken",
                 "damaged", "path-duplicate", 14, rechain(v, renumber: true), Format.version)
        v = items
        c = rename(9); c.to = "/.audit/b.log"; v[9].record.body = .rename(c)
        try make("rename-into-audit", "record 9 renames /b.log into /.audit instead, rechained",
                 "damaged", "rename-audit", 9, rechain(v, renumber: false), Format.version)
        v = items
        c = rename(14); c.reason = .rename; v[14].record.body = .rename(c)
        try make("retirement-as-rename", "record 14 moves /app/a.log below /.audit/retired as a plain rename, rechained",
                 "damaged", "rename-audit", 14, rechain(v, renumber: false), Format.version)
        v = items
        c = rename(22); c.reason = .unlink; v[22].record.body = .rename(c)
        try make("rmdir-as-unlink", "record 22 retires the directory /tmp as an unlink of a file, rechained",
                 "damaged", "rename-reason", 22, rechain(v, renumber: false), Format.version)
        v = items
        c = rename(20); c.to = "/app/a.log"; v[20].record.body = .rename(c)
        try make("rename-onto-existing", "record 20 renames c.log onto /app/a.log, which exists, without retiring it first, rechained",
                 "damaged", "path-duplicate", 20, rechain(v, renumber: false), Format.version)
        try make("rename-in-v1-store", "the golden records in a store whose identity and segment say format v1, which has no rename",
                 "damaged", "record-kind", 9, items, 1)
    }

    static func descJSON(_ t: Tamper) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try! encoder.encode(t)) + [0x0A]
    }
}
