/// The answer to read: the bytes read (fewer than asked at the end of the
/// file; none past it). Further ways to answer (splicing from a descriptor
/// at an offset, without a copy) are further cases.
public enum ReadData: Sendable, Equatable {
    case bytes([UInt8])
}
