/// The answer to statfs (`struct statvfs`).
public struct FileSystemStatistics: Sendable, Equatable {
    public var blockSize: UInt64
    public var fragmentSize: UInt64
    public var blocks: UInt64
    public var blocksFree: UInt64
    public var blocksAvailable: UInt64
    public var files: UInt64
    public var filesFree: UInt64
    public var filesAvailable: UInt64
    public var fileSystemID: UInt64
    public var flags: UInt64
    public var nameMax: UInt64

    public init(blockSize: UInt64, fragmentSize: UInt64, blocks: UInt64, blocksFree: UInt64, blocksAvailable: UInt64,
                files: UInt64, filesFree: UInt64, filesAvailable: UInt64, fileSystemID: UInt64, flags: UInt64,
                nameMax: UInt64) {
        self.blockSize = blockSize
        self.fragmentSize = fragmentSize
        self.blocks = blocks
        self.blocksFree = blocksFree
        self.blocksAvailable = blocksAvailable
        self.files = files
        self.filesFree = filesFree
        self.filesAvailable = filesAvailable
        self.fileSystemID = fileSystemID
        self.flags = flags
        self.nameMax = nameMax
    }
}
