/// Constants of the on-disk format. Every value here is defined in FORMAT.md
/// (same directory); the section is named next to each constant.
public enum Format {
    /// FORMAT.md "Store directory": first line of the identity file.
    public static let identityFile = "auditfs-store"
    public static let identityMagic = "auditfs-store"
    /// The format version a new store is made in ("auditfs-store v2",
    /// segment header version 2). Version 2 added the rename record.
    public static let version: UInt32 = 2
    /// The versions a reader reads: a v1 store stays v1 (it takes no rename record).
    public static let readableVersions: ClosedRange<UInt32> = 1...2
    /// The first version whose stores may hold rename records.
    public static let renameVersion: UInt32 = 2
    public static let segmentsDirectory = "segments"
    public static let cacheDirectory = "cache"
    public static let tornDirectory = "torn"
    public static let segmentSuffix = ".seg"

    /// FORMAT.md "Segment header": "AUDITSEG".
    public static let segmentMagic: [UInt8] = Array("AUDITSEG".utf8)
    public static let segmentHeaderSize = 104

    /// FORMAT.md "Frame": "REC1" read as a little-endian u32.
    public static let frameMagic: UInt32 = 0x3143_4552
    public static let framePrefixSize = 16
    public static let frameTrailerSize = 32
    /// FORMAT.md "Frame": limits a reader enforces before trusting a length.
    public static let maxHeaderSize: UInt32 = 8192
    public static let maxPayloadSize: UInt32 = 64 << 20

    /// FORMAT.md "Header": bytes before the command name.
    public static let headerFixedSize = 144
    public static let maxCommandSize = 255
    public static let maxPathSize = 4096
    public static let maxNameSize = 255

    /// Default size at which a new segment is started.
    public static let defaultSegmentSize: UInt64 = 256 << 20
}
