/// The capabilities negotiated at INIT that a file system here cares about.
/// The bridge maps them onto libfuse's FUSE_CAP_* bits.
public struct Capabilities: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The kernel caches writes and sends them later (FUSE_CAP_WRITEBACK_CACHE).
    public static let writebackCache = Capabilities(rawValue: 1 << 0)
    /// O_TRUNC reaches open and create instead of a separate setattr (FUSE_CAP_ATOMIC_O_TRUNC).
    public static let atomicOpenTruncate = Capabilities(rawValue: 1 << 1)
}

/// What a file system asks of the connection at INIT: capabilities to turn
/// on (where the kernel offers them) and to turn off (whatever libfuse's
/// default).
public struct CapabilityRequest: Sendable, Equatable {
    public var enable: Capabilities
    public var disable: Capabilities

    public init(enable: Capabilities = [], disable: Capabilities = []) {
        self.enable = enable
        self.disable = disable
    }
}
