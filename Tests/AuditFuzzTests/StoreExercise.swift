import AuditPlumbing
import Foundation
@testable import AuditStore

/// What every reader does with a store directory, run on a mutated one: open
/// it read-only and serve every node (attributes, listing, bytes, times as
/// `ls` prints them, records and proofs), stream its history as `log`
/// does, verify it (with the verifier key) as `verify --json` does, and open
/// it for writing and append, as a mount's first write does.
///
/// Beyond "no crash, no hang" it checks what must hold whatever the bytes:
/// a store `verify` calls intact opens; and a store that opened for
/// writing is still intact after one append of auditfs's own.
enum StoreExercise {
    struct Broken: FuzzViolation, CustomStringConvertible {
        let description: String
    }

    static func run(_ path: String) throws -> String {
        var outcome: [String] = []
        let before = try Checker.verify(at: path, anchors: .init(verifier: FuzzSeeds.verifier))
        _ = try JSONEncoder().encode(before)
        outcome.append("verify " + before.status.rawValue + " " + (before.failure?.check.rawValue ?? ""))
        if let note = before.cache.first { outcome.append(String(note.prefix(48))) }
        do {
            let s = try Store.open(at: path, mode: .readOnly)
            serve(s)
            s.close()
            outcome.append("open" + (s.cacheNote.map { " (\($0.prefix(40)))" } ?? ""))
        } catch {
            if before.status == .intact { throw Broken(description: "verify says intact, open says \(error)") }
            outcome.append("open refused")
        }
        do {
            try History.read(at: path) { e in _ = Timestamps.rfc3339(e.time); _ = e.command; _ = e.path }
        } catch {
            outcome.append("log stops")
        }
        if let s = try? Store.open(at: path, mode: .readWrite) {
            serve(s)
            let file = s.children(of: Namespace.rootID).first { !$0.isDirectory && !Store.isAuditPath($0.path) }
            if let file {
                _ = try s.append(file.id, Array("fuzz\n".utf8), by: FuzzSeeds.writer)
            } else {
                _ = try s.create("/fuzz-\(s.treeHead.size)", kind: .file, mode: 0o644, owner: 0, group: 0, by: FuzzSeeds.writer)
            }
            try s.sync()
            s.close()
            let after = try Checker.verify(at: path, anchors: .init(verifier: FuzzSeeds.verifier))
            if before.status != .damaged && after.status != .intact {
                throw Broken(description: "a store opened for writing is \(after.status.rawValue) after one append: \(String(describing: after.failure))")
            }
            outcome.append("written")
        }
        return outcome.joined(separator: ", ")
    }

    /// Everything a reader of an open store serves, bounded.
    static func serve(_ s: Store) {
        var queue: [UInt64] = [Namespace.rootID]
        var seen = 0
        while let id = queue.popLast(), seen < 10_000 {
            seen += 1
            guard let n = s.info(id) else { continue }
            _ = Timestamps.rfc3339(n.mtime) + Timestamps.rfc3339(n.atime) + Timestamps.rfc3339(n.ctime) + Timestamps.day(n.mtime)
            _ = n.name
            _ = s.lookup(n.path)
            if n.isDirectory {
                for c in s.children(of: id) {
                    _ = s.lookup(parent: id, name: c.name)
                    queue.append(c.id)
                }
            } else {
                _ = try? s.read(id, offset: 0, count: Int(min(n.size, 1 << 20)))
                if n.size > 3 { _ = try? s.read(id, offset: n.size / 2, count: 7) }
                _ = try? s.read(id, offset: n.size &+ 1, count: 4)
            }
        }
        let head = s.treeHead
        for seq in 0..<min(head.size, 48) {
            _ = try? s.record(seq)
            _ = try? s.inclusionProof(seq: seq, size: head.size)
            _ = try? s.consistencyProof(old: seq, new: head.size)
            _ = try? s.root(size: seq)
        }
        _ = try? s.record(head.size)
        _ = try? s.record(.max)
        for note in (try? s.blocks(of: AuditPaths.checkpoints)) ?? [] {
            _ = try? Checkpoint.parse(SignedNote.parse(String(decoding: note, as: UTF8.self)).text)
        }
    }
}

/// One scratch store directory per target, rewritten for every input.
final class ScratchStore: Sendable {
    let path: String

    init(_ name: String) {
        path = NSTemporaryDirectory() + "auditfs-fuzz-\(name)-\(getpid())"
    }

    /// Lays out a store: the fixed identity, `segment` as its only segment,
    /// and the given cache files (relative path → bytes).
    func make(segment: [UInt8], identity: [UInt8]? = nil, files: [String: [UInt8]] = [:]) -> String {
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path + "/segments", withIntermediateDirectories: true)
        write(Format.identityFile, identity ?? FuzzSeeds.identity.encode())
        write("segments/" + SegmentHeader.fileName(firstSeq: 0), segment)
        for (name, bytes) in files {
            try? FileManager.default.createDirectory(atPath: path + "/" + StorePath.parent(of: "/" + name), withIntermediateDirectories: true)
            write(name, bytes)
        }
        return path
    }

    private func write(_ name: String, _ bytes: [UInt8]) {
        FileManager.default.createFile(atPath: path + "/" + name, contents: Data(bytes))
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
