import Glibc

/// The one-line error every auditfs program prints on stderr:
/// `auditfs: MESSAGE`, the message escaped (`TerminalText`) so that a name
/// quoted in it — a path with a newline, a terminal escape — stays on its
/// line and cannot forge another. Written with one write(2), so lines of
/// several threads never interleave.
public enum ErrorLine {
    public static let prefix = "auditfs: "

    /// The line for `message`, with its newline.
    public static func text(_ message: String) -> String { prefix + TerminalText.escape(message) + "\n" }

    /// Writes the line for `message` to stderr.
    public static func write(_ message: String) { write(line: text(message)) }

    /// Writes `line` to stderr as it is (text already escaped by its maker),
    /// adding the newline it lacks.
    public static func write(line: String) {
        let bytes = Array((line.hasByteSuffix("\n") ? line : line + "\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }
}
