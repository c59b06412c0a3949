import AuditStore

/// How checkpoints are signed and whom they go to, shared by `auditfs
/// checkpoint` and the mount (whose option types map onto it): keys that
/// last `epochLength` seconds each, kept in `keys` (nil: STORE/keys), and the
/// witness directory and command that get every checkpoint.
public struct CheckpointSigning: Sendable, Equatable {
    /// Seconds a signing key epoch lasts before the next key takes over.
    public var epochLength = 900
    public var witnessDirectory: String?
    public var witnessCommand: String?
    /// The signing key directory (nil: STORE/keys).
    public var keys: String?
    /// C2SP tlog-witness URLs (submission prefixes), in the order given.
    public var witnessURLs: [String] = []

    public init(epochLength: Int = 900, witnessDirectory: String? = nil, witnessCommand: String? = nil, keys: String? = nil,
                witnessURLs: [String] = []) {
        self.epochLength = epochLength
        self.witnessDirectory = witnessDirectory
        self.witnessCommand = witnessCommand
        self.keys = keys
        self.witnessURLs = witnessURLs
    }

    /// The longest epoch: 365 days, in seconds.
    public static let maxEpochLength = 365 * 86_400

    /// The one-line error for an epoch length out of its bounds, or nil.
    public func boundsProblem() -> String? {
        guard (0...Self.maxEpochLength).contains(epochLength) else {
            return "--epoch-length \(epochLength): expected seconds from 0 (a new key at every checkpoint) to \(Self.maxEpochLength) (365 days)"
        }
        for u in witnessURLs where WitnessHTTP.parse(u) == nil {
            return "--witness-url \(u): expected an http:// or https:// URL with a host (a tlog-witness submission prefix)"
        }
        if Set(witnessURLs).count != witnessURLs.count { return "--witness-url: the same witness given twice" }
        return nil
    }

    /// `boundsProblem`, or a witness directory that cannot take checkpoints
    /// (`WitnessDirectory.check`); nil when all is well.
    public func problem() -> String? {
        if let p = boundsProblem() { return p }
        if let witnessDirectory {
            do { try WitnessDirectory.check(witnessDirectory) } catch { return error.description }
        }
        return nil
    }

    /// The store's checkpointer with these keys and this epoch length.
    public func checkpointer(for store: Store, writer: Provenance = .current()) throws -> Checkpointer {
        var o = Checkpointer.Options()
        o.epochLength = Int64(epochLength) * 1_000_000_000
        return try Checkpointer(store: store, keysDirectory: keys ?? Checkpointer.keysDirectory(of: store.path),
                                options: o, writer: writer)
    }

    /// The witnesses of `witnessDirectory`, `witnessCommand` and `witnessURLs`.
    public var witnesses: WitnessOptions {
        WitnessOptions(directory: witnessDirectory, command: witnessCommand, urls: witnessURLs.compactMap(WitnessHTTP.parse))
    }
}
