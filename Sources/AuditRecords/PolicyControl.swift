import AuditPlumbing
import AuditPolicy
import Crypto
import Foundation
import Glibc

/// How `auditfs policy reload MOUNTPOINT` reaches the daemon serving a
/// mount point: a Unix socket `/run/auditfs/KEY.sock` (root only, 0600) next
/// to a pid file `/run/auditfs/KEY.pid`, where KEY is the mount point's
/// absolute path escaped as systemd does (`/var/log/audit` → `var-log-audit`).
///
/// Protocol: the client sends the line `reload`; the daemon re-reads its
/// policy file, and answers one JSON line (`ReloadReply`) once the outcome is
/// recorded under /.audit, then closes. The daemon learns who asked from the
/// socket's peer credentials (SO_PEERCRED), as it does from a SIGHUP's siginfo.
public enum PolicyControl {
    public static let directory = "/run/auditfs"

    /// The answer to a reload request.
    public struct ReloadReply: Codable, Sendable {
        /// "accepted", "unchanged" or "rejected".
        public var outcome: String
        public var previous: String?
        public var new: String?
        /// Why a reload was rejected (FILE:LINE:COLUMN: message for a parse error).
        public var error: String?
        public var changes: PolicyDiff?

        public init(outcome: String, previous: String?, new: String?, error: String?, changes: PolicyDiff?) {
            self.outcome = outcome; self.previous = previous; self.new = new; self.error = error; self.changes = changes
        }
    }

    /// What went wrong talking to the daemon, as one line.
    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The key of an absolute mount point path, escaped like
    /// `systemd-escape --path`; a key too long for a socket path is a digest.
    public static func key(forMountpoint path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty { return "-" }
        var out = ""
        for (i, b) in trimmed.utf8.enumerated() {
            switch b {
            case UInt8(ascii: "/"): out += "-"
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: ":"):
                out.append(Character(UnicodeScalar(b)))
            case UInt8(ascii: ".") where i > 0: out += "."
            default: out += Hex.escaped(b)
            }
        }
        // sun_path holds 107 bytes and a NUL.
        if directory.utf8.count + 1 + out.utf8.count + 5 > 107 {
            out = "sha256-" + Hex.encode(SHA256.hash(data: Array(path.utf8)).prefix(16))
        }
        return out
    }

    public static func socketPath(forMountpoint path: String) -> String { directory + "/" + key(forMountpoint: path) + ".sock" }

    public static func pidPath(forMountpoint path: String) -> String { directory + "/" + key(forMountpoint: path) + ".pid" }

    /// The absolute, resolved path of a mount point argument.
    public static func resolve(_ input: String) -> String {
        if let r = realpath(input, nil) { defer { free(r) }; return String(cString: r) }
        if input.hasBytePrefix("/") { return input }
        guard let cwd = getcwd(nil, 0) else { return input }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + input
    }

    /// Asks the daemon serving `mountpoint` to reload its policy; returns its
    /// answer once the outcome is recorded.
    public static func requestReload(mountpoint: String) throws(Failure) -> ReloadReply {
        let path = socketPath(forMountpoint: resolve(mountpoint))
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(message: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let address: UnixSocketAddress
        do { address = try UnixSocketAddress(path: path) } catch { throw Failure(message: error.description) }
        guard address.connect(fd) == 0 else {
            let e = errno
            if e == ENOENT || e == ECONNREFUSED {
                throw Failure(message: "no auditfs daemon serves '\(mountpoint)' (no control socket \(path))")
            }
            throw Failure(message: "cannot reach the daemon of '\(mountpoint)' at \(path): \(String(cString: strerror(e)))")
        }
        let request = Array("reload\n".utf8)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else {
            throw Failure(message: "could not send the request to \(path): \(String(cString: strerror(errno)))")
        }
        guard let line = answerLine(fd) else {
            throw Failure(message: "the answer of the daemon at \(path) is longer than \(maxAnswer) bytes")
        }
        guard let reply = try? JSONDecoder().decode(ReloadReply.self, from: Data(line)) else {
            throw Failure(message: "the daemon of '\(mountpoint)' closed the connection without an answer")
        }
        return reply
    }

    /// The most read of an answer (a policy diff of thousands of rules fits).
    static let maxAnswer = 16 << 20

    /// The answer's first line (without its newline), read up to that newline
    /// or the end; nil when `limit` bytes hold no newline: an endless or huge
    /// reply costs the client at most `limit` bytes of memory.
    static func answerLine(_ fd: Int32, limit: Int = maxAnswer) -> [UInt8]? {
        var answer: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, limit + 1 - answer.count)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if let nl = buf[0..<n].firstIndex(of: UInt8(ascii: "\n")) { return answer + buf[0..<nl] }
            answer += buf[0..<n]
            if answer.count > limit { return nil }
        }
        return answer
    }
}
