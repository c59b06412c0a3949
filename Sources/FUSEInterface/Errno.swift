import Glibc

/// The error a FUSE request is answered with: a positive errno value
/// (EACCES, EPERM, ENOSYS…). A handler that fails returns it; the bridge
/// sends it with `fuse_reply_err`.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    /// What an operation the file system does not implement answers.
    public static let notImplemented = Errno(ENOSYS)

    public var description: String { "errno \(code)" }
}
