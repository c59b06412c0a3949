/// The answer to getxattr and listxattr: the size a caller asked for (with
/// a size of 0), or the value or list itself.
public enum ExtendedAttributeData: Sendable, Equatable {
    case size(Int)
    case bytes([UInt8])
}
