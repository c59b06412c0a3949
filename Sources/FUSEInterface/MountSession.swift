/// A FUSE session that can serve a file system: implemented by the bridge
/// (AuditFUSE's `Session`), so that the daemon mounts without importing
/// libfuse.
public protocol MountSession {
    /// Parses `options` as `serve` will, without mounting.
    func validate(options: String) throws(SessionError)
    /// Mounts `fileSystem` on `mountpoint` with `options` and serves it until
    /// unmounted or signalled. Returns the loop's result (0, a signal
    /// number, or a negative errno). `echoLog`: libfuse's messages also go to stderr.
    func serve(_ fileSystem: any FileSystemOperations, mountpoint: String, options: String,
               echoLog: Bool) throws(SessionError) -> Int32
}

/// Why a session could not start: one line.
public struct SessionError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
