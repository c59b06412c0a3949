/// Why a mount could not start: one line that says what and where, printed
/// as `auditfs: <message>`, exit status 1.
public struct MountError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
