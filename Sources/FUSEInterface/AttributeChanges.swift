/// What a setattr asks to change; nil fields are left alone. A time is set
/// to now (utimes(NULL), touch) or to a given time (nanoseconds since the
/// epoch).
public struct AttributeChanges: Sendable, Equatable {
    public enum Time: Sendable, Equatable {
        case now
        case at(Int64)
    }

    /// The mode bits asked for (07777).
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    /// A new size (truncate, ftruncate).
    public var size: UInt64?
    public var atime: Time?
    public var mtime: Time?

    public init(mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: UInt64? = nil,
                atime: Time? = nil, mtime: Time? = nil) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.atime = atime
        self.mtime = mtime
    }
}
