import AuditPlumbing

/// The daemon's diagnostics: one line each on stderr (the journal under
/// systemd with `-f`; /dev/null once a background daemon has detached),
/// escaped so that a name in a message stays on its line (`ErrorLine`).
enum Log {
    static func error(_ message: String) { ErrorLine.write(message) }

    /// A line that is not an error (what a foreground mount says as it starts).
    static func note(_ message: String) { ErrorLine.write(message) }
}
