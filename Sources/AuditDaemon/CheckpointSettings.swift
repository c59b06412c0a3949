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

    public init() {}

    /// The longest checkpoint interval: a day, in seconds.
    public static let maxInterval = 86_400
    /// The longest epoch: 365 days, in seconds.
    public static let maxEpochLength = 365 * 86_400

    /// The one-line error for a number out of its bounds, or nil.
    public func boundsProblem() -> String? {
        guard (0...Self.maxInterval).contains(interval) else {
            return "--checkpoint-interval \(interval): expected seconds from 0 to \(Self.maxInterval) (a day)"
        }
        guard (0...Self.maxEpochLength).contains(epochLength) else {
            return "--epoch-length \(epochLength): expected seconds from 0 (a new key at every checkpoint) to \(Self.maxEpochLength) (365 days)"
        }
        return nil
    }

    /// `boundsProblem`, or a witness directory that cannot take checkpoints
    /// (checked by the daemon, as root); nil when all is well.
    func problem() -> String? {
        if let p = boundsProblem() { return p }
        if let witnessDirectory {
            do { try WitnessDirectory.check(witnessDirectory) } catch { return error.description }
        }
        return nil
    }

    func checkpointer(for store: Store, writer: Provenance = .current()) throws -> Checkpointer {
        var o = Checkpointer.Options()
        o.epochLength = Int64(epochLength) * 1_000_000_000
        return try Checkpointer(store: store, keysDirectory: keys ?? Checkpointer.keysDirectory(of: store.path),
                                options: o, writer: writer)
    }

    /// The witnesses of `witnessDirectory` and `witnessCommand`.
    var witnesses: WitnessOptions { WitnessOptions(directory: witnessDirectory, command: witnessCommand) }
}
