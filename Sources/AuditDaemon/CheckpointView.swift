import AuditPlumbing
import AuditStore
import FUSEInterface
import Foundation
import Glibc

/// /.audit/checkpoint: a read-only file that always shows the newest signed
/// checkpoint (the last block of /.audit/checkpoints). It is not a store
/// file — it has no record of its own — but a view, with an inode number
/// no store file can have; every change to it is refused like any change
/// under /.audit.
final class CheckpointView: @unchecked Sendable {
    static let inode: UInt64 = 1 << 62
    static let name = "checkpoint"
    static let path = AuditPaths.root + "/" + name

    private let lock = NSLock()
    private var note: [UInt8] = []
    private var time: Int64 = 0

    func update(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        note = Array(text.utf8)
        time = (try? Checkpoint.parse(SignedNote.parse(text).text).time) ?? Clock.realtime.now
    }

    var isEmpty: Bool { lock.lock(); defer { lock.unlock() }; return note.isEmpty }

    func bytes(offset: Int, count: Int) -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        guard offset < note.count else { return [] }
        return Array(note[offset..<min(note.count, offset + count)])
    }

    var attributes: Attributes {
        lock.lock(); defer { lock.unlock() }
        return Attributes(ino: Self.inode, kind: .regularFile, permissions: 0o444, links: 1, uid: 0, gid: 0,
                          size: UInt64(note.count), blocks: 0, blockSize: 4096, atime: time, mtime: time, ctime: time)
    }

    /// Never cached by the kernel: it changes with every checkpoint.
    var entry: Entry {
        Entry(attributes, attributeTimeout: 0, entryTimeout: 0)
    }
}
