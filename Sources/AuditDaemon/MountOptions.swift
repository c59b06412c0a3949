import AuditPlumbing
import AuditStore
import Glibc

/// The `-o` options auditfs itself understands — so that an fstab line can
/// say everything the command line can — taken out of the list before the
/// rest goes to libfuse:
///
///   policy=FILE  metrics=[ADDR:]PORT  checkpoint=fsync  checkpoint-interval=N  witness-dir=DIR
///   witness-url=URL (repeatable)  reserve=SIZE  decision-budget=N[/SECONDS]  history
///   ship=s3://BUCKET/PREFIX  ship-retain=400d  ship-endpoint-url=URL  ship-region=R  ship-profile=P  ship-credentials=FILE
///
/// `default_permissions` is accepted and dropped: the daemon makes the
/// permission checks itself so that it can record each denial (docs/MOUNT.md
/// "Permission checks"); with it the kernel would refuse unrecorded.
public struct MountOptions {
    var policy: String?
    var metrics: String?
    var checkpointInterval: Int?
    var checkpointOnFsync = false
    var witnessDir: String?
    var witnessURLs: [String] = []
    var reserve: String?
    var decisionBudget: String?
    /// `history`: renames and removals are recorded, nothing is lost (docs/MOUNT.md "History mode").
    var history = false
    /// `ship=…` and its companions (docs/SHIPPING.md).
    var ship = ShipSettings()
    /// Everything else, for libfuse, in the order given.
    var libfuse: [String] = []

    /// Parses `-o` groups (each comma-separated). A value auditfs cannot use
    /// is one line of error.
    init(parsing groups: [String]) throws(MountError) {
        for group in groups {
            var kept: [Substring] = []
            for o in group.split(separator: ",") {
                let (key, value) = Self.split(o)
                switch key {
                case "policy": policy = MountOptions.absolute(value)
                case "metrics": metrics = value
                case "witness-dir": witnessDir = MountOptions.absolute(value)
                case "witness-url": witnessURLs.append(value)
                case "reserve": reserve = value
                case "decision-budget": decisionBudget = value
                case "checkpoint":
                    guard value == "fsync" else { throw MountError("-o checkpoint=\(value): the only value is fsync") }
                    checkpointOnFsync = true
                case "checkpoint-interval":
                    guard let n = Int(value), (0...CheckpointSettings.maxInterval).contains(n) else {
                        throw MountError("-o checkpoint-interval=\(value): expected seconds from 0 to \(CheckpointSettings.maxInterval) (a day)")
                    }
                    checkpointInterval = n
                case "history":
                    guard o == "history" else { throw MountError("-o \(o): history takes no value") }
                    history = true
                case "ship": ship.destination = value
                case "ship-retain": ship.retain = value
                case "ship-endpoint-url": ship.endpoint = value
                case "ship-region": ship.region = value
                case "ship-profile": ship.profile = value
                case "ship-credentials": ship.credentials = MountOptions.absolute(value)
                case "default_permissions": continue
                default: kept.append(o)
                }
            }
            if !kept.isEmpty { libfuse.append(kept.joined(separator: ",")) }
        }
    }

    private static func split(_ o: Substring) -> (String, String) {
        guard let eq = o.firstIndex(of: "=") else { return (String(o), "") }
        return (String(o[..<eq]), String(o[o.index(after: eq)...]))
    }

    /// `path` made absolute against the working directory (a background
    /// daemon's is "/").
    public static func absolute(_ path: String) -> String {
        if path.hasBytePrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }
}
