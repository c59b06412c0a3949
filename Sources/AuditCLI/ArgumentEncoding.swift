import AuditPlumbing
import AuditStore
import Foundation

/// The command line as the kernel gave it, before Swift turns it into
/// strings: `CommandLine.arguments` replaces each invalid UTF-8 sequence
/// with U+FFFD, so `append STORE $'/\xff'` would store a name nobody typed.
/// Every auditfs argument is text (store paths are UTF-8, FORMAT.md), so an
/// argument that is not valid UTF-8 is refused before any command runs.
public enum ArgumentEncoding {
    /// The first argument (1-based, after the program name) whose bytes are
    /// not valid UTF-8, with those bytes.
    public static func firstInvalid(_ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = CommandLine.unsafeArgv,
                                    count: Int = Int(CommandLine.argc)) -> (index: Int, bytes: [UInt8])? {
        guard count > 1 else { return nil }
        for i in 1..<count {
            guard let p = argv[i] else { continue }
            if String(validatingCString: p) == nil {
                let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
                return (i, bytes)
            }
        }
        return nil
    }

    /// Throws a one-line error (status 2) when an argument is not UTF-8.
    public static func requireUTF8() throws(CommandFailure) {
        guard let bad = firstInvalid() else { return }
        throw CommandFailure(verbatim: "argument \(bad.index) '\(TerminalText.escape(bytes: bad.bytes))' is not valid UTF-8: a path (and every auditfs argument) must be UTF-8",
                             code: 2)
    }
}
