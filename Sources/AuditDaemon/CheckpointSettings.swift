import AuditStore
import AuditWitness

/// How a mount signs checkpoints: every `interval` seconds when something
/// was appended, on fsync if asked, at unmount; with keys that last
/// `epochLength` seconds each; delivered to the witnesses given. The command
/// line's options (`--checkpoint-interval`, `--epoch-length`, `--witness-dir`,
/// `--witness-cmd`, `--keys`, `-o checkpoint=fsync`…) map onto it.
public struct CheckpointSettings: Sendable, Equatable {
    /// Seconds between checkpoints (0: only at unmount and, with `onFsync`, on fsync).
    public var interval = 10
    /// A checkpoint after every fsync (`-o checkpoint=fsync`).
    public var onFsync = false
    /// Seconds a signing key epoch lasts before the next key takes over.
    public var epochLength = 900
    public var witnessDirectory: String?
    public var witnessCommand: String?
    /// The signing key directory (nil: STORE/keys).
    public var keys: String?
    /// C2SP tlog-witness URLs (`--witness-url`, `-o witness-url=`).
    public var witnessURLs: [String] = []

    public init() {}

    /// The longest checkpoint interval: a day, in seconds.
    public static let maxInterval = 86_400
    /// The keys and witnesses part (its bounds, checkpointer and witnesses are `CheckpointSigning`'s).
    var signing: CheckpointSigning {
        CheckpointSigning(epochLength: epochLength, witnessDirectory: witnessDirectory, witnessCommand: witnessCommand, keys: keys,
                          witnessURLs: witnessURLs)
    }

    /// The one-line error for a number out of its bounds, or nil.
    public func boundsProblem() -> String? {
        guard (0...Self.maxInterval).contains(interval) else {
            return "--checkpoint-interval \(interval): expected seconds from 0 to \(Self.maxInterval) (a day)"
        }
        return signing.boundsProblem()
    }

    /// `boundsProblem`, or a witness directory that cannot take checkpoints
    /// (checked by the daemon, as root); nil when all is well.
    func problem() -> String? {
        boundsProblem() ?? signing.problem()
    }

    func checkpointer(for store: Store, writer: Provenance = .current()) throws -> Checkpointer {
        try signing.checkpointer(for: store, writer: writer)
    }

    /// The witnesses of `witnessDirectory` and `witnessCommand`.
    var witnesses: WitnessOptions { signing.witnesses }
}
