#if canImport(Glibc)
import Glibc
#endif

/// The daemon's diagnostics: one line each on stderr (the journal under
/// systemd with `-f`; /dev/null once a background daemon has detached).
enum Log {
    static func error(_ message: String) {
        note(message)
    }

    /// A line that is not an error (what a foreground mount says as it starts).
    static func note(_ message: String) {
        let line = "auditfs: " + message + "\n"
        _ = line.withCString { p in write(2, p, strlen(p)) }
    }
}
