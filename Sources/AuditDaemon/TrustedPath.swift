import AuditPlumbing
import AuditStore
import Glibc

/// Files the daemon (root) takes orders from — the policy file and the
/// executables of alert `command:` actions — must be files nobody but root
/// could have written: the rule of sshd's StrictModes (docs/POLICY.md
/// "Who may change the policy").
///
/// Walking the path from `/`, component by component with lstat, every
/// directory and the file must be owned by root (or the daemon's uid) and
/// not writable by group or others. One exception: a directory that is
/// root-owned and sticky (like /tmp, 1777) is accepted, because in it only
/// an entry's owner or root may rename or remove that entry — and the entry
/// below it is itself checked. A symbolic link is followed only when the
/// directory holding it passed the check and the link is owned by root (the
/// target is checked the same way); the policy file itself may not be a link.
/// The file is then opened with O_NOFOLLOW and checked again through its
/// descriptor, so what is read is what was checked.
///
/// Paths are split at the byte "/" (a name that starts with a combining mark
/// is its own component, never fused with the directory before it).
enum TrustedPath {
    /// Reads `path` (at most `limit` bytes) after the checks; `what` names it
    /// in the error ("policy").
    static func read(_ path: String, what: String, limit: Int = 4 << 20) throws(MountError) -> [UInt8] {
        let real = try check(path, what: what, followFinalLink: false)
        let fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw MountError("cannot read \(what) file '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        var before = stat()
        guard fstat(fd, &st) == 0, lstat(real, &before) == 0, st.st_dev == before.st_dev, st.st_ino == before.st_ino else {
            throw MountError("\(what) \(path) changed while it was checked; refusing it")
        }
        try checkEntry(st, path, what: what, entry: path, final: true)
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw MountError("cannot read \(what) file '\(path)': \(String(cString: strerror(errno)))") }
            if n == 0 { return out }
            out += buf[0..<n]
            guard out.count <= limit else { throw MountError("\(what) \(path) is larger than \(limit) bytes; refusing it") }
        }
    }

    /// Checks an executable the daemon will run; returns the real path it
    /// resolves to.
    @discardableResult
    static func checkExecutable(_ path: String, what: String) throws(MountError) -> String {
        try check(path, what: what, followFinalLink: true)
    }

    /// Checks the directory an alert `file:` action appends to (the file
    /// itself may not exist yet; it is opened with O_NOFOLLOW when written).
    static func checkDirectory(of file: String, what: String) throws(MountError) {
        guard file.hasBytePrefix("/"), let slash = file.utf8.lastIndex(of: UInt8(ascii: "/")) else {
            throw MountError("\(what) \(file) is not an absolute path; refusing it")
        }
        let directory = slash == file.utf8.startIndex ? "/" : String(Substring(file.utf8[..<slash]))
        _ = try check(directory, what: what, followFinalLink: true, named: file, directory: true)
    }

    /// The uids allowed to own what the daemon trusts: root and the daemon itself.
    static func trusted(_ uid: uid_t) -> Bool { uid == 0 || uid == geteuid() }

    /// Walks `path`; returns the real path of the file, or throws the first
    /// reason to refuse it.
    /// (`named`: the path the errors name, when another than `path` — the
    /// file whose `directory` is walked.)
    static func check(_ path: String, what: String, followFinalLink: Bool, named: String? = nil,
                      directory: Bool = false) throws(MountError) -> String {
        let shown = named ?? path
        guard path.hasBytePrefix("/") else { throw MountError("\(what) \(shown) is not an absolute path; refusing it") }
        var st = stat()
        guard lstat("/", &st) == 0 else { throw MountError("\(what) \(shown): cannot stat /") }
        try checkEntry(st, shown, what: what, entry: "/", final: directory && components(path).isEmpty, directory: directory)
        var current = ""   // the real path checked so far ("" is /)
        var pending = components(path)
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name.sameBytes(as: ".") { continue }
            if name.sameBytes(as: "..") {
                if let slash = current.utf8.lastIndex(of: UInt8(ascii: "/")) { current = String(Substring(current.utf8[..<slash])) }
                continue
            }
            let next = current + "/" + name
            guard lstat(next, &st) == 0 else {
                throw MountError("cannot read \(what) file '\(shown)': \(next): \(String(cString: strerror(errno)))")
            }
            let final = pending.isEmpty
            if st.st_mode & S_IFMT == S_IFLNK {
                if final && !followFinalLink {
                    throw MountError("\(what) \(shown) is a symbolic link; refusing it (give the file it points to)")
                }
                guard trusted(st.st_uid) else {
                    throw MountError("\(what) \(shown): the symbolic link \(next) is owned by uid \(st.st_uid), not root; refusing it")
                }
                links += 1
                guard links <= 40 else { throw MountError("\(what) \(shown): too many symbolic links; refusing it") }
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(next, &target, target.count - 1)
                guard n > 0 else { throw MountError("\(what) \(shown): cannot read the link \(next)") }
                let text = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if text.hasBytePrefix("/") { current = "" }
                pending = components(text) + pending
                continue
            }
            try checkEntry(st, shown, what: what, entry: next, final: final, directory: directory)
            current = next
        }
        return current.isEmpty ? "/" : current
    }

    /// The owner and mode rule for one entry on the way (`final`: the file).
    /// (`directory`: the final entry is a directory, the one a file goes in.)
    static func checkEntry(_ st: stat, _ path: String, what: String, entry: String, final: Bool,
                           directory: Bool = false) throws(MountError) {
        let type = st.st_mode & S_IFMT
        let mode = st.st_mode & 0o7777
        let subject = final && !directory ? "\(what) \(path)" : "\(what) \(path): directory \(entry)"
        if final && !directory {
            guard type == S_IFREG else { throw MountError("\(what) \(path) is not a regular file; refusing it") }
        } else {
            guard type == S_IFDIR else { throw MountError("\(what) \(path): \(entry) is not a directory; refusing it") }
        }
        guard trusted(st.st_uid) else {
            throw MountError("\(subject) is owned by uid \(st.st_uid), not root; refusing it")
        }
        // The directory a file goes in is never accepted sticky: anyone may create the name first.
        let sticky = !final && mode & 0o1000 != 0 && st.st_uid == 0
        if mode & 0o002 != 0 && !sticky {
            throw MountError("\(subject) is writable by others (mode \(Authorizer.octal(UInt32(mode)))); refusing it")
        }
        if mode & 0o020 != 0 && !sticky {
            throw MountError("\(subject) is writable by group (mode \(Authorizer.octal(UInt32(mode)))); refusing it")
        }
    }

    private static func components(_ path: String) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { String(Substring($0)) }
    }
}
