import AuditPlumbing
import AuditStore
import FUSEInterface
import Synchronization
import Glibc

/// Who sent a request: uid, gid and thread id from its `RequestContext`, the
/// process id (the thread group id, `Tgid:` in /proc/TID/status) and the
/// command name from /proc/TID/comm. The kernel puts the calling THREAD's id
/// in a FUSE request; a multithreaded writer (Apache, a Python program with
/// threads) would show one id per thread, so the provenance's pid is the
/// process's, and the thread id is the context's `tid` (the decision records
/// keep both). The name is the calling thread's name.
enum Caller {
    /// `fresh`: read the command name now and do not reuse it for the next
    /// request of this thread. For opens, creates and decisions: a shell
    /// opens `>> log` in its forked child and then execs the command that
    /// writes, so a name kept from the open would name the shell for the
    /// first writes (within the reuse window).
    static func provenance(of context: RequestContext, fresh: Bool = false) -> Provenance {
        let task = fresh ? commandNames.freshTask(context.tid) : commandNames.task(context.tid)
        return Provenance(uid: context.uid, gid: context.gid, pid: task.process, commandBytes: task.name)
    }

    static let commandNames = CommandNames()
}

/// The command name and the process of a calling thread, from /proc/TID.
///
/// Reading the name costs as much as the append itself (open + read + close,
/// ~2 µs, measured in docs/MOUNT.md), so each thread's descriptor stays open
/// and its name is reused for `reuseWindow`: a thread that renames itself
/// (prctl) or execs shows its new name at most 1 ms later. uid, gid and the
/// thread id come from each request and are always exact. A descriptor
/// belongs to one task for good: once that task is gone its reads fail
/// (ESRCH), even if a new task reuses the number, and the name is read from
/// a fresh open.
///
/// The process id (thread group id) of a task never changes while it lives,
/// so it is read once, when the descriptor is opened: /proc/TID is opened
/// first and both `comm` and `status` are opened relative to it, so they
/// belong to the same task even if the number is reused meanwhile. (A
/// non-leader thread that execs takes over its leader's id; its old id's
/// descriptor then fails, and the next request opens the new id afresh.)
final class CommandNames: Sendable {
    /// Descriptors kept at most; when full, all are closed and the cache
    /// starts over (writers are few and long-lived; this bounds fd use).
    static let capacity = 256
    /// How long a name read from /proc is reused, in ns (0: read every time).
    static let reuseWindow: Int64 = 1_000_000

    /// A calling thread: its command name and its process id (the thread id
    /// itself when /proc could not say: the task is already gone).
    struct Task: Equatable {
        var name: [UInt8]
        var process: UInt32
    }

    struct Entry {
        var fd: Int32
        var name: [UInt8]
        var process: UInt32
        var readAt: Int64
    }

    private let entries = Mutex<[UInt32: Entry]>([:])
    /// What the reuse window is measured on.
    let clock: Clock

    init(clock: Clock = .monotonic) { self.clock = clock }

    func task(_ tid: UInt32) -> Task {
        task(tid, now: clock.now, reuse: true)
    }

    /// The name read now; the next `task(_:)` reads it again.
    func freshTask(_ tid: UInt32) -> Task {
        let t = task(tid, now: clock.now, reuse: false)
        entries.withLock { cache in cache[tid]?.readAt = Int64.min / 2 }   // expired
        return t
    }

    private func task(_ tid: UInt32, now: Int64, reuse: Bool) -> Task {
        entries.withLock { cache in
            if var e = cache[tid] {
                if reuse && now - e.readAt < Self.reuseWindow { return Task(name: e.name, process: e.process) }
                if let name = CommandName.read(fd: e.fd) {
                    e.name = name
                    e.readAt = now
                    cache[tid] = e
                    return Task(name: name, process: e.process)
                }
                close(e.fd)
                cache[tid] = nil
            }
            if cache.count >= Self.capacity {
                for e in cache.values { close(e.fd) }
                cache.removeAll(keepingCapacity: true)
            }
            let unknown = Task(name: CommandName.unknown, process: tid)
            guard let (fd, process) = Self.openTask(tid) else { return unknown }
            guard let name = CommandName.read(fd: fd) else { close(fd); return unknown }
            cache[tid] = Entry(fd: fd, name: name, process: process, readAt: now)
            return Task(name: name, process: process)
        }
    }

    /// /proc/TID/comm open, and the task's process id from /proc/TID/status
    /// (both through one descriptor of /proc/TID); nil when the task is gone.
    private static func openTask(_ tid: UInt32) -> (fd: Int32, process: UInt32)? {
        // "/proc/" + decimal tid, without String formatting on the hot path.
        var path = [UInt8]("/proc/".utf8)
        var digits: [UInt8] = []
        var n = tid
        repeat { digits.append(UInt8(ascii: "0") + UInt8(n % 10)); n /= 10 } while n > 0
        path += digits.reversed()
        path.append(0)
        let dir = path.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) {
                Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            }
        }
        guard dir >= 0 else { return nil }
        defer { close(dir) }
        let status = openat(dir, "status", O_RDONLY | O_CLOEXEC)
        guard status >= 0 else { return nil }
        let process = Self.processID(status)
        close(status)
        guard let process else { return nil }
        let fd = openat(dir, "comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        return (fd, process)
    }

    /// The `Tgid:` line of an open /proc/TID/status (it is among the first
    /// lines; 1 KiB holds it whatever the command name).
    static func processID(_ fd: Int32) -> UInt32? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buf -> UInt32? in
            let n = pread(fd, buf.baseAddress, buf.count, 0)
            guard n > 0 else { return nil }
            return processID(in: UnsafeBufferPointer(rebasing: buf[0..<n]))
        }
    }

    /// The number after "\nTgid:" in the text of a status file, or nil (the
    /// kernel escapes a newline in the Name line, so no name can fake it).
    static func processID(in text: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let key = Array("\nTgid:".utf8)
        var i = 0
        search: while true {
            guard i + key.count <= text.count else { return nil }
            for k in 0..<key.count where text[i + k] != key[k] { i += 1; continue search }
            break
        }
        i += key.count
        while i < text.count && (text[i] == UInt8(ascii: "\t") || text[i] == UInt8(ascii: " ")) { i += 1 }
        var value: UInt32 = 0
        var digits = 0
        while i < text.count, text[i] >= UInt8(ascii: "0"), text[i] <= UInt8(ascii: "9") {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt32(text[i] - UInt8(ascii: "0")))
            guard !o1 && !o2 else { return nil }
            value = a
            digits += 1
            i += 1
        }
        return digits > 0 && value > 0 ? value : nil
    }
}
