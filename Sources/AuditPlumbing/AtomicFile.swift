import Glibc

/// Whole-file writes that a crash cannot leave half done, in the manner of
/// tessera's storage/posix/file_ops.go: the bytes go to a new temporary file
/// beside the target (O_CREAT | O_EXCL, never followed through a link), are
/// fsynced, and only then take the target's name; the directory is fsynced
/// so that the name itself is durable. A reader sees the old file or the new
/// one, never a part.
///
/// - `create` is write-once: the name is taken with link(2), which fails if
///   it exists. A file already there with the same bytes is success (a
///   retried or concurrent writer of the same content); with other bytes it
///   is an error (EEXIST, "exists with different contents"), and the file is
///   left as it was.
/// - `replace` is for files that are meant to change (caches, a pid file):
///   rename(2) over the old one.
///
/// The temporary file is `NAME.tmp.PID.RANDOM` and is removed on every
/// failure; one left by a crash is never read as the target.
public enum AtomicFile {
    /// What `create` found.
    public enum Outcome: Sendable, Equatable {
        /// The file is new.
        case created
        /// The file was there already with exactly these bytes; nothing was written.
        case identical
    }

    /// Writes `bytes` to the new file `path` (mode `mode`, less the umask),
    /// unless it exists: then `.identical` when it holds exactly `bytes`,
    /// else throws EEXIST. Fsyncs the file and its directory. Throws `SystemError`.
    @discardableResult
    public static func create(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws -> Outcome {
        let tmp = try temporary(for: path, mode: mode) { try $0.write(bytes) }
        defer { unlink(tmp) }
        if link(tmp, path) != 0 {
            let e = errno
            guard e == EEXIST else { throw SystemError(call: "link", path: path, errno: e) }
            guard try contents(of: path, limit: bytes.count + 1) == bytes else {
                throw SystemError(call: "link", path: path, errno: EEXIST, refusal: "exists with different contents")
            }
            return .identical
        }
        try syncDirectory(of: path)
        return .created
    }

    /// `create` with the bytes written by `body`, in order (a file too large
    /// to build in memory first): a name that exists already is EEXIST,
    /// whatever it holds. Fsyncs the file and its directory.
    public static func create(_ path: String, mode: mode_t = 0o600, writing body: (inout Writer) throws -> Void) throws {
        let tmp = try temporary(for: path, mode: mode, body)
        defer { unlink(tmp) }
        guard link(tmp, path) == 0 else { throw SystemError(call: "link", path: path, errno: errno) }
        try syncDirectory(of: path)
    }

    /// Writes `bytes` in place of the file at `path` (or as a new one).
    /// Fsyncs the file and its directory. Throws `SystemError`.
    public static func replace(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
        try replace(path, mode: mode) { try $0.write(bytes) }
    }

    /// `replace` with the bytes written by `body`, in order, through the
    /// `Writer` it is given (a file too large to build in memory first);
    /// throws `SystemError` or what `body` throws.
    public static func replace(_ path: String, mode: mode_t = 0o600, writing body: (inout Writer) throws -> Void) throws {
        let tmp = try temporary(for: path, mode: mode, body)
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw SystemError(call: "rename", path: path, errno: e)
        }
        try syncDirectory(of: path)
    }

    /// Sequential writes to the temporary file.
    public struct Writer {
        let fd: Int32
        let path: String
        /// Bytes written so far.
        public private(set) var offset: Int = 0

        public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SystemError(call: "write", path: path, errno: errno)
                }
                done += n
            }
            offset += done
        }

        public mutating func write(_ bytes: [UInt8]) throws(SystemError) {
            var copy = self, failure: SystemError?
            bytes.withUnsafeBytes { b in do throws(SystemError) { try copy.write(b) } catch { failure = error } }
            self = copy
            if let failure { throw failure }
        }
    }

    /// fsync(2) of the directory that holds `path`, so that a name created,
    /// linked or renamed in it survives a crash.
    public static func syncDirectory(of path: String) throws(SystemError) {
        try syncDirectory(directory(of: path))
    }

    /// fsync(2) of the directory `path`.
    public static func syncDirectory(_ path: String) throws(SystemError) {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw SystemError(call: "open", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemError(call: "fsync", path: path, errno: errno) }
    }

    /// The directory part of `path` ("." for a bare name, "/" for a name in /).
    public static func directory(of path: String) -> String {
        let b = Array(path.utf8)
        guard let slash = b.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == 0 ? "/" : String(decoding: b[..<slash], as: UTF8.self)
    }

    /// Creates the temporary file beside `path`, lets `body` fill it, fsyncs
    /// and closes it; returns its name. Removes it on any failure.
    private static func temporary(for path: String, mode: mode_t, _ body: (inout Writer) throws -> Void) throws -> String {
        var rng = SystemRandomNumberGenerator()
        var fd: Int32 = -1
        var tmp = ""
        for _ in 0..<100 {
            tmp = path + ".tmp." + String(getpid()) + "." + String(UInt32.random(in: .min ... .max, using: &rng), radix: 16)
            repeat { fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) } while fd < 0 && errno == EINTR
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw SystemError(call: "open", path: tmp, errno: errno) }
        var writer = Writer(fd: fd, path: tmp)
        do {
            try body(&writer)
        } catch {
            close(fd); unlink(tmp)
            throw error
        }
        if fsync(fd) != 0 {
            let e = errno
            close(fd); unlink(tmp)
            throw SystemError(call: "fsync", path: tmp, errno: e)
        }
        if close(fd) != 0 && errno != EINTR {
            let e = errno
            unlink(tmp)
            throw SystemError(call: "close", path: tmp, errno: e)
        }
        return tmp
    }

    /// Up to `limit` bytes of the regular file at `path` (not followed
    /// through a link, never blocking on a FIFO).
    private static func contents(of path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError(call: "open", path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError(call: "fstat", path: path, errno: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw SystemError(call: "open", path: path, errno: EEXIST, refusal: "exists and is not a regular file")
        }
        var out = [UInt8](repeating: 0, count: limit)
        var done = 0
        while done < limit {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, limit - done, off_t(done)) }
            if n < 0 { if errno == EINTR { continue }; throw SystemError(call: "read", path: path, errno: errno) }
            if n == 0 { break }
            done += n
        }
        out.removeLast(limit - done)
        return out
    }
}
