/// The name of every rule a reader or the checker enforces, as `verify`,
/// `log`, `query` and the damage errors print it ("record-hash failed:
/// expected …, found …") and as the JSON report carries it. The raw values
/// are the names FORMAT.md's rule tables list ("Rules"; "Signed notes in
/// /.audit"); a test checks that the tables and this enum name the same set.
/// Printed (`description`) and encoded as the raw value.
public enum CheckName: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    // The segments directory and each segment's header (FORMAT.md "Segment file").
    case segments
    case read
    case segmentHeader = "segment-header"
    case segmentMagic = "segment-magic"
    case segmentVersion = "segment-version"
    case segmentReserved = "segment-reserved"
    case segmentHeaderCheck = "segment-header-check"
    case segmentStoreID = "segment-store-id"
    case segmentFirstSeq = "segment-first-seq"
    case segmentName = "segment-name"
    case segmentPrevHash = "segment-prev-hash"
    case segmentEmpty = "segment-empty"
    case segmentTruncated = "segment-truncated"

    // Frames and record headers (FORMAT.md "Frame", "Header").
    case frameMagic = "frame-magic"
    case frameCheck = "frame-check"
    case frameLength = "frame-length"
    case headerParse = "header-parse"
    case recordHash = "record-hash"
    case recordKind = "record-kind"
    case payloadLength = "payload-length"
    case payloadDigest = "payload-digest"

    // Applying records in order (FORMAT.md "Rules").
    case sequence
    case storeChain = "store-chain"
    case root
    case fileID = "file-id"
    case fileChain = "file-chain"
    case fileUnknown = "file-unknown"
    case fileKind = "file-kind"
    case mode
    case pathParent = "path-parent"
    case pathDuplicate = "path-duplicate"
    case appendOffset = "append-offset"
    case renameSource = "rename-source"
    case renameAudit = "rename-audit"
    case renameReason = "rename-reason"
    case renameCycle = "rename-cycle"
    case retireEmpty = "retire-empty"
    case retired
    case recordsMissing = "records-missing"

    // Checkpoints and the key chain (FORMAT.md "Signed notes in /.audit").
    case keyCertificate = "key-certificate"
    case checkpointFormat = "checkpoint-format"
    case checkpointOrigin = "checkpoint-origin"
    case checkpointSignature = "checkpoint-signature"
    case checkpointCosignature = "checkpoint-cosignature"
    case checkpointFork = "checkpoint-fork"
    case checkpointOrder = "checkpoint-order"
    case checkpointRollback = "checkpoint-rollback"
    case checkpointWindow = "checkpoint-window"
    case checkpointEpoch = "checkpoint-epoch"
    case checkpointTime = "checkpoint-time"
    case unsigned

    public var description: String { rawValue }
}
