import AuditStore

/// Everything a mount starts with, as plain values: the store, the mount
/// point, the `-o` options (auditfs's own taken out, `MountOptions`), the
/// policy, checkpoints, metrics and flood limits. `auditfs mount` builds it
/// from its command line; `Daemon` serves it.
public struct MountConfiguration: Sendable {
    /// Where the policy comes from.
    public enum Policy: Sendable, Equatable {
        /// The built-in policy: everyone gets what the mount allows.
        case builtin
        case file(String)
        /// `--policy` and `-o policy=` name different files (refused at start).
        case conflicting
    }

    /// The store directory, as given.
    public var store: String
    /// The mount point, as given.
    public var mountpoint: String
    /// The options for libfuse, after `defaultOptions` (`-o` groups, each comma-separated).
    public var libfuseOptions: [String] = []
    public var policy: Policy = .builtin
    public var checkpoints = CheckpointSettings()
    /// Where to serve metrics: PORT, ADDR:PORT or [ADDR6]:PORT (`MetricsServer.parse`).
    public var metrics: String?
    /// Space held back for the /.audit records (`FloodLimits.reserve`).
    public var reserve: String?
    /// Decision lines per user and interval (`FloodLimits.budget`).
    public var decisionBudget: String?
    /// History mode (`--history`, `-o history`): rename, unlink and rmdir
    /// are recorded namespace changes that keep every byte (the displaced
    /// node moves under /.audit/retired), and chmod/chown/utimens of
    /// non-empty files are recorded. Off: the strict create-and-append
    /// mount (docs/MOUNT.md "History mode").
    public var history = false
    /// Shipping to an S3 Object Lock bucket (docs/SHIPPING.md); no destination: none.
    public var ship = ShipSettings()

    /// The options every mount gets, before the caller's.
    /// No default_permissions: the daemon checks the mode bits (ModeBits) and records each denial.
    public static let defaultOptions = ["allow_other", "fsname=auditfs", "subtype=auditfs"]

    public init(store: String, mountpoint: String) {
        self.store = store
        self.mountpoint = mountpoint
    }

    /// A mount's configuration from its command line: `options` are the `-o`
    /// groups, the rest the values of the other options (nil: not given).
    /// An option given both ways: `-o witness-dir=` wins over `--witness-dir`,
    /// `--metrics`, `--reserve` and `--decision-budget` over their `-o`
    /// forms, and `--policy` must name the file `-o policy=` names;
    /// `--history` and `-o history` are the same switch; each `--ship…` wins
    /// over its `-o ship…` form. Throws
    /// the one-line error of an `-o` option auditfs cannot use.
    public init(store: String, mountpoint: String, options: [String], policy: String?, checkpoints: CheckpointSettings,
                metrics: String?, reserve: String?, decisionBudget: String?, history: Bool = false,
                ship: ShipSettings = ShipSettings()) throws(MountError) {
        let parsed = try MountOptions(parsing: options)
        self.init(store: store, mountpoint: mountpoint)
        libfuseOptions = parsed.libfuse
        switch (policy.map(MountOptions.absolute), parsed.policy) {
        case let (a?, b?) where a != b: self.policy = .conflicting
        case let (a?, _): self.policy = .file(a)
        case let (nil, b?): self.policy = .file(b)
        case (nil, nil): self.policy = .builtin
        }
        self.checkpoints = checkpoints
        if let n = parsed.checkpointInterval { self.checkpoints.interval = n }
        if parsed.checkpointOnFsync { self.checkpoints.onFsync = true }
        if let d = parsed.witnessDir { self.checkpoints.witnessDirectory = d }
        // Witness URLs add up: those of --witness-url, then those of -o witness-url=.
        for u in parsed.witnessURLs where !self.checkpoints.witnessURLs.contains(u) { self.checkpoints.witnessURLs.append(u) }
        self.metrics = metrics ?? parsed.metrics
        self.reserve = reserve ?? parsed.reserve
        self.decisionBudget = decisionBudget ?? parsed.decisionBudget
        self.history = history || parsed.history
        self.ship = ship.or(parsed.ship)
    }

    /// The one-line error for a number out of bounds or a metrics address
    /// that does not parse — what can be said before a background daemon is
    /// started — or nil.
    public func problem() -> String? {
        if let p = checkpoints.boundsProblem() { return p }
        if let m = metrics, MetricsServer.parse(m) == nil {
            return "--metrics '\(m)': expected PORT, ADDR:PORT or [ADDR6]:PORT"
        }
        do { _ = try ship.resolve() } catch { return error.message }
        return nil
    }

    /// The one-line error for a history mount of a store whose format
    /// cannot record a rename (format v1: a v1 store stays v1 and strict),
    /// or nil.
    public func historyProblem(store path: String, formatVersion: UInt32) -> String? {
        guard history, formatVersion < Format.renameVersion else { return nil }
        return "store '\(path)' is format v\(formatVersion), which records no renames; "
            + "-o history needs a store made by this auditfs (format v\(Format.renameVersion))"
    }

    /// All options for libfuse, comma-separated.
    var allLibfuseOptions: String { (Self.defaultOptions + libfuseOptions).joined(separator: ",") }
}
