import Glibc

/// The address of a Unix domain socket (unix(7)): a path in the file
/// system, or a name in the abstract namespace (written `@name`, as systemd
/// writes NOTIFY_SOCKET). The one place a `sockaddr_un` is built: a path
/// that does not fit `sun_path` (107 bytes and its NUL) is refused, never cut
/// to another path.
public struct UnixSocketAddress: Sendable {
    /// A path or name that does not fit `sun_path`, or is empty.
    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    private let storage: sockaddr_un
    /// The address's length for bind/connect/sendto.
    public let length: socklen_t

    /// The bytes `sun_path` holds, with the terminating NUL for a path.
    public static let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    /// A socket at `path` in the file system.
    public init(path: String) throws(Invalid) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw Invalid(description: "empty socket path") }
        guard bytes.count < Self.capacity else { throw Invalid(description: "socket path '\(path)' is too long") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        storage = addr
        length = socklen_t(MemoryLayout<sockaddr_un>.size)
    }

    /// `@name`: a name in the abstract namespace (a leading NUL, no
    /// terminator, the length counts exactly its bytes); anything else: a path.
    public init(pathOrAbstract text: String) throws(Invalid) {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "@") else { try self.init(path: text); return }
        guard bytes.count >= 2 else { throw Invalid(description: "empty abstract socket name") }
        guard bytes.count <= Self.capacity else { throw Invalid(description: "abstract socket name '\(text)' is too long") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[0] = 0
        }
        self.init(storage: addr, length: socklen_t(MemoryLayout<sa_family_t>.size + bytes.count))
    }

    private init(storage: sockaddr_un, length: socklen_t) { self.storage = storage; self.length = length }

    /// Calls `body` with the address as a `sockaddr` and its length.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        var addr = storage
        return try withUnsafePointer(to: &addr) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    /// connect(2) of `fd` to this address; the return value of connect.
    public func connect(_ fd: Int32) -> Int32 { withSockaddr { Glibc.connect(fd, $0, $1) } }

    /// bind(2) of `fd` to this address; the return value of bind.
    public func bind(_ fd: Int32) -> Int32 { withSockaddr { Glibc.bind(fd, $0, $1) } }

    /// sendto(2) of `bytes` in one datagram; the return value of sendto.
    public func send(_ bytes: [UInt8], on fd: Int32, flags: Int32 = 0) -> Int {
        withSockaddr { sa, len in bytes.withUnsafeBytes { Glibc.sendto(fd, $0.baseAddress, $0.count, flags, sa, len) } }
    }
}
