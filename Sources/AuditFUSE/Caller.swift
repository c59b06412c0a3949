import AuditStore
import CFuse3
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Who sent a request: uid, gid and pid from `fuse_req_ctx`, and the command
/// name from /proc/PID/comm. The pid is the calling thread's id (what the
/// kernel puts in the FUSE request), so the name is that thread's name.
enum Caller {
    /// `fresh`: read the command name now and do not reuse it for the next
    /// request of this thread. For opens, creates and decisions: a shell
    /// opens `>> log` in its forked child and then execs the command that
    /// writes, so a name kept from the open would name the shell for the
    /// first writes (within the reuse window).
    static func provenance(of request: fuse_req_t, fresh: Bool = false) -> Provenance {
        let ctx = fuse_req_ctx(request)!.pointee
        let pid = UInt32(bitPattern: ctx.pid)
        return Provenance(uid: ctx.uid, gid: ctx.gid, pid: pid,
                          commandBytes: fresh ? commandNames.freshName(of: pid) : commandNames.name(of: pid))
    }

    static let commandNames = CommandNames()

    /// The caller's supplementary groups (`fuse_req_getgroups`: libfuse reads
    /// them from /proc/PID/task/TID/status, so this costs a file read; the
    /// daemon asks only when the policy names a group). Empty when unknown.
    static func groups(of request: fuse_req_t) -> [UInt32] {
        var list = [gid_t](repeating: 0, count: 64)
        var n = fuse_req_getgroups(request, Int32(list.count), &list)
        if n > Int32(list.count) {
            list = [gid_t](repeating: 0, count: Int(n))
            n = fuse_req_getgroups(request, Int32(list.count), &list)
        }
        guard n > 0 else { return [] }
        return Array(list.prefix(Int(min(n, Int32(list.count)))))
    }
}

/// The command name of a calling thread, from /proc/TID/comm.
///
/// Reading it costs as much as the append itself (open + read + close, ~2 µs,
/// measured in docs/MOUNT.md), so each thread's descriptor stays open and its
/// name is reused for `reuseWindow`: a thread that renames itself (prctl) or
/// execs shows its new name at most 1 ms later. uid, gid and pid come from
/// each request and are always exact. A descriptor belongs to one task for
/// good: once that task is gone its reads fail (ESRCH), even if a new task
/// reuses the number, and the name is read from a fresh open.
final class CommandNames: Sendable {
    /// Descriptors kept at most; when full, all are closed and the cache
    /// starts over (writers are few and long-lived; this bounds fd use).
    static let capacity = 256
    /// How long a name read from /proc is reused, in ns (0: read every time).
    static let reuseWindow: Int64 = 1_000_000

    struct Entry {
        var fd: Int32
        var name: [UInt8]
        var readAt: Int64
    }

    private let entries = Mutex<[UInt32: Entry]>([:])

    func name(of tid: UInt32) -> [UInt8] {
        name(of: tid, now: Self.monotonicNow(), reuse: true)
    }

    private func name(of tid: UInt32, now: Int64, reuse: Bool) -> [UInt8] {
        entries.withLock { cache in
            if var e = cache[tid] {
                if reuse && now - e.readAt < Self.reuseWindow { return e.name }
                if let name = Self.read(e.fd) {
                    e.name = name
                    e.readAt = now
                    cache[tid] = e
                    return name
                }
                close(e.fd)
                cache[tid] = nil
            }
            if cache.count >= Self.capacity {
                for e in cache.values { close(e.fd) }
                cache.removeAll(keepingCapacity: true)
            }
            let fd = Self.openComm(tid)
            guard fd >= 0 else { return Array("?".utf8) }
            guard let name = Self.read(fd) else { close(fd); return Array("?".utf8) }
            cache[tid] = Entry(fd: fd, name: name, readAt: now)
            return name
        }
    }

    /// The name read now; the next `name(of:)` reads it again.
    func freshName(of tid: UInt32) -> [UInt8] {
        let name = name(of: tid, now: Self.monotonicNow(), reuse: false)
        entries.withLock { cache in cache[tid]?.readAt = Int64.min / 2 }   // expired
        return name
    }

    private static func monotonicNow() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }

    private static func openComm(_ tid: UInt32) -> Int32 {
        // "/proc/" + decimal tid + "/comm", without String formatting on the hot path.
        var path = [UInt8]("/proc/".utf8)
        var digits: [UInt8] = []
        var n = tid
        repeat { digits.append(UInt8(ascii: "0") + UInt8(n % 10)); n /= 10 } while n > 0
        path += digits.reversed()
        path += "/comm".utf8
        path.append(0)
        return path.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        }
    }

    /// The name without its newline, or nil when the task is gone.
    private static func read(_ fd: Int32) -> [UInt8]? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buf -> [UInt8]? in
            let n = pread(fd, buf.baseAddress, buf.count, 0)
            guard n > 0 else { return nil }
            var end = n
            if buf[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            return Array(buf[0..<end])
        }
    }
}
