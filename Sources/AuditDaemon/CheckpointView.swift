import AuditStore
import CFuse3
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
        time = (try? Checkpoint.parse(SignedNote.parse(text).text).time) ?? FileSystem.nowNanoseconds()
    }

    var isEmpty: Bool { lock.lock(); defer { lock.unlock() }; return note.isEmpty }

    func bytes(offset: Int, count: Int) -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        guard offset < note.count else { return [] }
        return Array(note[offset..<min(note.count, offset + count)])
    }

    var stat: stat {
        lock.lock(); defer { lock.unlock() }
        var st = Glibc.stat()
        st.st_ino = ino_t(Self.inode)
        st.st_mode = S_IFREG | 0o444
        st.st_nlink = 1
        st.st_size = off_t(note.count)
        st.st_blksize = 4096
        let t = NodeInfo.timespec(time)
        st.st_atim = t; st.st_mtim = t; st.st_ctim = t
        return st
    }

    /// Never cached by the kernel: it changes with every checkpoint.
    var entry: fuse_entry_param {
        var e = fuse_entry_param()
        e.ino = fuse_ino_t(Self.inode)
        e.generation = 1
        e.attr = stat
        e.attr_timeout = 0
        e.entry_timeout = 0
        return e
    }
}
