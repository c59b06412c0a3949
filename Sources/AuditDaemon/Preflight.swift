import AuditPlumbing
import Glibc

/// The checks made before a mount is attempted, each with its own one-line
/// error, so that a bad call fails at once and says why instead of leaving
/// libfuse to fail later (or a caller to wait on a mount that never comes).
/// Raw system calls for the mount live here and in `Session`.
enum Preflight {
    static func requireRoot() throws(MountError) {
        guard geteuid() == 0 else {
            throw MountError("mount must run as root (it mounts with allow_other so that each user's writes carry their own uid)")
        }
    }

    static func requireFuseDevice(_ path: String = "/dev/fuse") throws(MountError) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw MountError("\(path) is missing: load the fuse kernel module (modprobe fuse) or give the container the device")
        }
        guard st.st_mode & S_IFMT == S_IFCHR else { throw MountError("\(path) is not a character device") }
    }

    /// fusermount3 is how users unmount (`fusermount3 -u`) and how libfuse
    /// cleans up; a host without it has no usable FUSE userland.
    static func requireFusermount() throws(MountError) {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where access(dir + "/fusermount3", X_OK) == 0 { return }
        throw MountError("fusermount3 not found in PATH (apt-get install fuse3)")
    }

    /// The mount point: an existing, empty directory that is not already a
    /// mount point (a live one, or a dead FUSE mount left by a killed daemon).
    /// Returns its absolute path.
    static func checkMountpoint(_ input: String) throws(MountError) -> String {
        var st = stat()
        if stat(input, &st) != 0 {
            let e = errno
            if e == ENOTCONN { throw deadMount(input) }
            if e == ENOENT { throw MountError("mountpoint '\(input)' does not exist") }
            throw MountError("mountpoint '\(input)': \(String(cString: strerror(e)))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw MountError("mountpoint '\(input)' is not a directory") }
        guard let real = realpath(input, nil) else { throw MountError("mountpoint '\(input)': \(String(cString: strerror(errno)))") }
        let path = String(cString: real)
        free(real)
        if let fstype = mountedFileSystem(at: path) {
            // stat may have answered from the kernel's attribute cache; opening
            // the directory always asks the file system.
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 && errno == ENOTCONN { throw deadMount(input) }
            if fd >= 0 { close(fd) }
            throw MountError("mountpoint '\(input)' is already mounted (\(fstype)); unmount it first")
        }
        guard let dir = opendir(path) else { throw MountError("mountpoint '\(input)': \(String(cString: strerror(errno)))") }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { throw MountError("mountpoint '\(input)' is not empty") }
        }
        return path
    }

    static func deadMount(_ input: String) -> MountError {
        MountError("mountpoint '\(input)' is a dead FUSE mount (its daemon is gone); clean it with: fusermount3 -u \(input)")
    }

    /// The file system type mounted at `path`, from /proc/self/mountinfo, or nil.
    static func mountedFileSystem(at path: String) -> String? {
        MountInfo.mount(at: path).map { $0.fileSystemType ?? "unknown" }
    }
}
