import Glibc

/// The mounts of this process's mount namespace, from /proc/self/mountinfo
/// (proc(5)): one line a mount,
///
///   id parent major:minor root MOUNTPOINT options [optional fields...] - FSTYPE SOURCE superoptions
///
/// where the kernel writes space, tab, newline and backslash inside a field
/// as `\ooo` (three octal digits: `\040` is a space). Paths are bytes: a
/// mount point is compared byte by byte, never by canonical equivalence.
public enum MountInfo {
    /// One mount.
    public struct Entry: Sendable, Equatable {
        /// Where it is mounted, unescaped.
        public var mountPoint: String
        /// The root of the mount within its file system, unescaped.
        public var root: String
        /// The file system type ("fuse.auditfs", "ext4"), nil when the line
        /// has no " - " separator.
        public var fileSystemType: String?
        /// The mount's source (a device, or what a FUSE daemon set as
        /// fsname), unescaped; nil when the line has none.
        public var source: String?

        public init(mountPoint: String, root: String, fileSystemType: String?, source: String?) {
            self.mountPoint = mountPoint; self.root = root; self.fileSystemType = fileSystemType; self.source = source
        }
    }

    /// The most that is read of a mountinfo file (a namespace with tens of
    /// thousands of mounts fits; a larger one is cut, never read without end).
    public static let maxSize = 64 << 20

    /// The mounts in `path` (default: this process's), or nil when it cannot be read.
    public static func read(_ path: String = "/proc/self/mountinfo") -> [Entry]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < maxSize {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return parse(bytes)
    }

    /// The mounts of a mountinfo text; a line with fewer than five fields is skipped.
    public static func parse(_ bytes: [UInt8]) -> [Entry] {
        var entries: [Entry] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let f = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard f.count > 4 else { continue }
            var entry = Entry(mountPoint: unescape(f[4]), root: unescape(f[3]), fileSystemType: nil, source: nil)
            if let dash = f.dropFirst(6).firstIndex(where: { $0.elementsEqual([UInt8(ascii: "-")]) }) {
                if dash + 1 < f.count { entry.fileSystemType = unescape(f[dash + 1]) }
                if dash + 2 < f.count { entry.source = unescape(f[dash + 2]) }
            }
            entries.append(entry)
        }
        return entries
    }

    /// The mount at `mountPoint` (the last one listed: the one on top), or nil.
    public static func mount(at mountPoint: String, in entries: [Entry]) -> Entry? {
        entries.last { $0.mountPoint.sameBytes(as: mountPoint) }
    }

    /// The mount at `mountPoint` in this process's mountinfo, or nil.
    public static func mount(at mountPoint: String) -> Entry? {
        read().flatMap { mount(at: mountPoint, in: $0) }
    }

    /// A field with every `\ooo` (three octal digits, at most 0377) replaced
    /// by its byte; a backslash not followed by one is itself.
    public static func unescape<Field: Collection>(_ field: Field) -> String where Field.Element == UInt8 {
        let b = Array(field)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        func octal(_ c: UInt8) -> UInt8? { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "7") ? c - UInt8(ascii: "0") : nil }
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count, let d0 = octal(b[i + 1]), let d1 = octal(b[i + 2]),
               let d2 = octal(b[i + 3]), d0 <= 3 {
                out.append(d0 << 6 | d1 << 3 | d2); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
