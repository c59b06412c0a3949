/// Why a key certificate or a checkpoint fails `verify` (`CheckpointAudit`),
/// with the values compared: a fork carries the root the checkpoint signs
/// and the root the store has at that size, as transparency-dev/merkle's
/// RootMismatchError carries ExpectedRoot and CalculatedRoot. `check` is the
/// rule's name (FORMAT.md "Signed notes in /.audit"), `description` the text
/// `verify` prints after it.
public enum CheckpointFailure: Error, Sendable, CustomStringConvertible {
    /// A tree head: a size and the root of the first `size` records.
    public struct TreeHead: Sendable, Equatable, CustomStringConvertible {
        public var size: UInt64
        public var root: Hash
        public init(size: UInt64, root: Hash) { self.size = size; self.root = root }
        public var description: String { "size \(size) root \(root.hex)" }
    }

    /// Epoch n's certificate names another epoch or another store.
    case certificateNames(epoch: Int, origin: String, expectedEpoch: Int, expectedOrigin: String)
    /// Epoch n's certificate certifies a tree head the store did not have there.
    case certificateTreeHead(epoch: Int, certified: TreeHead, store: TreeHead)
    /// Epoch n's certificate is not signed by epoch n-1's key.
    case certificateSignature(epoch: Int, cause: any Error)
    /// A certificate whose predecessors are not all certified.
    case certificateWithoutChain(epoch: Int)
    /// Not a signed checkpoint; `cause`: why, for one from outside.
    case format(cause: (any Error)?)
    /// A checkpoint of another store (`external`: given from outside).
    case origin(found: String, expected: String, external: Bool)
    /// A stored checkpoint that signs another tree head than the store had just before it.
    case storedTreeHead(signed: TreeHead, store: TreeHead)
    /// A stored checkpoint smaller than one before it.
    case order(size: UInt64, after: UInt64)
    /// Signed by no key the verifier key certifies.
    case signature(external: Bool)
    /// Signed by a key of the chain, but outside what its epoch may sign.
    case epochBinding(EpochBinding.Violation)
    /// A checkpoint from outside without the witness's valid cosignature.
    case cosignature(cause: any Error)
    /// A checkpoint from outside larger than the store.
    case rollback(records: UInt64, size: UInt64)
    /// No tree head of the store at the checkpoint's size.
    case noTreeHead(size: UInt64)
    /// A checkpoint from outside whose root is not the store's at its size.
    case fork(size: UInt64, signed: Hash, store: Hash)

    public var check: CheckName {
        switch self {
        case .certificateNames, .certificateTreeHead, .certificateSignature, .certificateWithoutChain: .keyCertificate
        case .format: .checkpointFormat
        case .origin: .checkpointOrigin
        case .storedTreeHead, .fork: .checkpointFork
        case .order: .checkpointOrder
        case .signature: .checkpointSignature
        case let .epochBinding(v): v.check
        case .cosignature: .checkpointCosignature
        case .rollback, .noTreeHead: .checkpointRollback
        }
    }

    public var description: String {
        switch self {
        case let .certificateNames(epoch, origin, expectedEpoch, expectedOrigin):
            "names epoch \(epoch) of \(origin), expected epoch \(expectedEpoch) of \(expectedOrigin)"
        case let .certificateTreeHead(epoch, certified, store):
            "certifies tree \(certified), but the store has \(store) there: history before epoch \(epoch) was rewritten"
        case let .certificateSignature(epoch, cause): "not signed by epoch \(epoch - 1)'s key: \(cause)"
        case let .certificateWithoutChain(epoch): "epoch \(epoch) has no certified predecessor chain"
        case let .format(cause): cause.map { "\($0)" } ?? "not a signed checkpoint"
        case let .origin(found, expected, external):
            external ? "a checkpoint of \(found), not of this store (\(expected))" : "origin \(found), expected \(expected)"
        case let .storedTreeHead(signed, store): "signs \(signed), but the store has \(store) there"
        case let .order(size, after): "size \(size) after a checkpoint of size \(after)"
        case let .signature(external):
            "not signed by any key the verifier key certifies" + (external ? "" : ": re-signed or forged")
        case let .epochBinding(v): v.message
        case let .cosignature(cause): "\(cause)"
        case let .rollback(records, size):
            "the store holds \(records) records, the checkpoint \(size): the store was rolled back or truncated"
        case let .noTreeHead(size): "no tree head at size \(size)"
        case let .fork(size, signed, store):
            "the store's first \(size) records have root \(store.hex), the checkpoint \(signed.hex): a fork (different history at the same size)"
        }
    }
}
