import AuditStore
import Foundation

/// A place off the host that gets every checkpoint the store signs (README
/// "Checkpoints, verifying and proving"): a later `verify --checkpoint`
/// against what a witness holds catches a store rolled back, truncated or
/// forked. Two kinds today — a directory on another file system
/// (`WitnessDirectory`) and a command that gets the note on standard input
/// (`WitnessCommand`); an HTTP witness (C2SP tlog-witness) is a third.
///
/// `deliver` may block (a command runs, a write to NFS waits): the mount
/// calls it only from a `WitnessQueue`'s thread, never from a FUSE thread,
/// and `auditfs checkpoint` calls it directly.
public protocol Witness: Sendable {
    /// The witness as events and errors name it: "witness directory /mnt/w",
    /// "witness command ssh w tee -a log".
    var name: String { get }
    /// Hands one checkpoint (a signed note, ending in a newline) to the
    /// witness. `cancelled` becomes true when the caller cannot wait any
    /// longer (unmount): a delivery that can stop, stops.
    func deliver(_ checkpoint: String, cancelled: @escaping @Sendable () -> Bool) -> WitnessOutcome
}

/// What became of one checkpoint handed to one witness.
public enum WitnessOutcome: Equatable, Sendable {
    case delivered
    /// The witness refused or could not take it (the reason, one line).
    case failed(String)
    /// No answer within the witness's time (the reason): killed.
    case timedOut(String)
    /// Never handed over (the reason): the witness's queue was full, or the
    /// mount ended before its turn.
    case dropped(String)

    /// Its event in /.audit/events.jsonl (docs/POLICY.md "events.jsonl").
    public var event: String {
        switch self {
        case .delivered: "witness-delivered"
        case .failed: "witness-failed"
        case .timedOut: "witness-timed-out"
        case .dropped: "witness-dropped"
        }
    }

    /// Why it was not delivered (nil when it was).
    public var reason: String? {
        switch self {
        case .delivered: nil
        case let .failed(why), let .timedOut(why), let .dropped(why): why
        }
    }
}

/// The witnesses of `--witness-dir`, `--witness-cmd` and `--witness-url`,
/// as the mount and `auditfs checkpoint` are given them.
public struct WitnessOptions: Sendable {
    /// A directory (another file system, an NFS share) where every checkpoint
    /// is appended, to `<origin with / as _>.checkpoints`.
    public var directory: String?
    /// A shell command that gets every checkpoint on standard input.
    public var command: String?
    /// Seconds a witness command may take before it is killed.
    public var commandTimeout: Double = 10
    /// C2SP tlog-witness submission prefixes (`WitnessHTTP`).
    public var urls: [URL] = []
    /// Seconds an HTTP witness may take to answer.
    public var httpTimeout: Double = 10

    public init(directory: String? = nil, command: String? = nil, urls: [URL] = []) {
        self.directory = directory
        self.command = command
        self.urls = urls
    }

    /// The witnesses of a store whose checkpoints name `origin`. An HTTP
    /// witness needs `store` (its consistency proofs) and gets `keep` (each
    /// cosigned note, to store); without a store there is none.
    public func witnesses(origin: String, store: Store? = nil,
                          keep: @escaping @Sendable (_ cosigned: String, _ size: UInt64) -> Void = { _, _ in }) -> [any Witness] {
        var all: [any Witness] = []
        if let directory { all.append(WitnessDirectory(directory, origin: origin)) }
        if let command { all.append(WitnessCommand(command, timeout: commandTimeout)) }
        if let store {
            for url in urls {
                all.append(WitnessHTTP(url, timeout: httpTimeout, proof: { old, new in try store.consistencyProof(old: old, new: new) }, keep: keep))
            }
        }
        return all
    }
}
