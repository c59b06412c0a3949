import Glibc

/// An errno-carrying failure of a system call, with the call and the path.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public let call: String
    public let path: String
    public let errno: Int32
    /// Said instead of strerror when the call worked but the file was refused.
    public var refusal: String?

    public init(call: String, path: String, errno: Int32, refusal: String? = nil) {
        self.call = call; self.path = path; self.errno = errno; self.refusal = refusal
    }

    public var description: String {
        if let refusal { return "\(path): \(refusal)" }
        return "\(path): \(call) failed: \(String(cString: strerror(errno)))"
    }
}
