import AuditPlumbing
import Glibc

/// The only place the store calls raw file system calls. A thin owner of one
/// file descriptor; every call retries on EINTR and throws `SystemError`.
public final class RawFile: @unchecked Sendable {
    public let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    /// Opens `path` without ever blocking and refuses anything but a regular
    /// file (a directory with O_DIRECTORY): a FIFO, device node or socket in
    /// the store's place would hang or feed endless bytes to a reader. The
    /// last component is never followed when it is a symbolic link (a
    /// directory's may be: a store's path can be a link). O_NONBLOCK is
    /// cleared once the file is known to be regular.
    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> RawFile {
        let directory = flags & O_DIRECTORY != 0
        let nofollow = directory ? 0 : O_NOFOLLOW
        var fd: Int32
        repeat { fd = Glibc.open(path, flags | O_CLOEXEC | O_NONBLOCK | nofollow, mode) } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            let e = errno
            var st = stat()
            if !directory && (e == ELOOP || e == ENXIO) && lstat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
                throw SystemError(call: "open", path: path, errno: e, refusal: "refused: \(kind(st.st_mode)), not a regular file")
            }
            throw SystemError(call: "open", path: path, errno: e)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw SystemError(call: "fstat", path: path, errno: e)
        }
        let type = st.st_mode & S_IFMT
        guard directory ? type == S_IFDIR : type == S_IFREG else {
            Glibc.close(fd)
            throw SystemError(call: "open", path: path, errno: directory ? ENOTDIR : EINVAL,
                              refusal: "refused: \(kind(st.st_mode)), not a \(directory ? "directory" : "regular file")")
        }
        let fl = fcntl(fd, F_GETFL)
        if fl >= 0 { _ = fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) }
        return RawFile(fd: fd, path: path)
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        case S_IFDIR: "a directory"
        case S_IFREG: "a regular file"
        default: "a file of unknown type"
        }
    }

    deinit { Glibc.close(fd) }

    private func fail(_ call: String) -> SystemError { SystemError(call: call, path: path, errno: errno) }

    public func size() throws -> UInt64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("fstat") }
        return UInt64(st.st_size)
    }

    /// Reads up to `count` bytes at `offset`; short only at end of file.
    public func read(into buf: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        var done = 0
        while done < buf.count {
            let n = pread(fd, buf.baseAddress! + done, buf.count - done, off_t(offset) + off_t(done))
            if n < 0 { if errno == EINTR { continue }; throw fail("pread") }
            if n == 0 { break }
            done += n
        }
        return done
    }

    public func read(count: Int, at offset: UInt64) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = try out.withUnsafeMutableBytes { (b) throws -> Int in try read(into: b, at: offset) }
        out.removeLast(count - n)
        return out
    }

    /// Writes all of `parts` at `offset` with one pwritev where possible.
    public func write(_ parts: [UnsafeRawBufferPointer], at offset: UInt64) throws {
        var iov = parts.filter { $0.count > 0 }.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        var position = off_t(offset)
        var first = 0
        while first < iov.count {
            let n = iov.withUnsafeMutableBufferPointer { pwritev(fd, $0.baseAddress! + first, Int32($0.count - first), position) }
            if n < 0 { if errno == EINTR { continue }; throw fail("pwritev") }
            position += off_t(n)
            var left = n
            while left > 0 && first < iov.count {
                if left >= iov[first].iov_len { left -= iov[first].iov_len; first += 1 }
                else { iov[first].iov_base += left; iov[first].iov_len -= left; left = 0 }
            }
        }
    }

    /// Writes the `count` buffers of `iov` (modified: a short write
    /// advances it) at `offset` with one pwritev where possible. No
    /// allocation: the caller's iovecs are used in place.
    public func write(_ iov: UnsafeMutablePointer<iovec>, count: Int, at offset: UInt64) throws {
        var position = off_t(offset)
        var first = 0
        while first < count && iov[first].iov_len == 0 { first += 1 }
        while first < count {
            let n = pwritev(fd, iov + first, Int32(count - first), position)
            if n < 0 { if errno == EINTR { continue }; throw fail("pwritev") }
            position += off_t(n)
            var left = n
            while left > 0 && first < count {
                if left >= iov[first].iov_len { left -= iov[first].iov_len; first += 1 }
                else { iov[first].iov_base += left; iov[first].iov_len -= left; left = 0 }
            }
            while first < count && iov[first].iov_len == 0 { first += 1 }
        }
    }

    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { (b) throws in try write([b], at: offset) }
    }

    public func truncate(to size: UInt64) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw fail("ftruncate") }
    }

    /// Free bytes on the file's file system that an unprivileged writer may
    /// use (f_bavail), and its total size.
    public func freeSpace() throws -> UInt64 { try fileSystemSpace().free }

    public func fileSystemSpace() throws -> (free: UInt64, total: UInt64) {
        var s = statvfs()
        guard fstatvfs(fd, &s) == 0 else { throw fail("fstatvfs") }
        return (UInt64(s.f_bavail) * UInt64(s.f_frsize), UInt64(s.f_blocks) * UInt64(s.f_frsize))
    }

    public func sync() throws {
        guard fsync(fd) == 0 else { throw fail("fsync") }
    }

    public func dataSync() throws {
        guard fdatasync(fd) == 0 else { throw fail("fdatasync") }
    }

    /// Takes an exclusive advisory lock without waiting; false if another
    /// process holds it.
    public func tryLockExclusive() throws -> Bool {
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw fail("flock")
    }

    public func unlock() { flock(fd, LOCK_UN) }

    /// Maps the file read-only. The mapping lives as long as the returned object.
    public func map() throws -> MappedFile {
        let length = Int(try size())
        guard length > 0 else { return MappedFile(base: nil, length: 0) }
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw fail("mmap") }
        return MappedFile(base: UnsafeRawPointer(p), length: length)
    }
}

/// A read-only memory mapping.
public final class MappedFile: @unchecked Sendable {
    public let base: UnsafeRawPointer?
    public let length: Int
    init(base: UnsafeRawPointer?, length: Int) { self.base = base; self.length = length }
    deinit { if let base { munmap(UnsafeMutableRawPointer(mutating: base), length) } }
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: length) }
}

/// Directory and path operations the store needs.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        guard mkdir(path, mode) == 0 else { throw SystemError(call: "mkdir", path: path, errno: errno) }
    }

    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SystemError(call: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }

    public static func remove(_ path: String) { unlink(path) }

    public static func randomBytes(_ count: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()   // getrandom(2) underneath
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
    }
}
