import ArgumentParser
import AuditCLI
import AuditDaemon
import AuditFUSE
import AuditPlumbing
import Glibc

/// `auditfs mount STORE MOUNTPOINT [-f] [-o OPTIONS] [--policy FILE]`.
public struct MountCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount a store: programs create and append files; nothing written can change.",
        discussion: """
            Returns once the mount serves, leaving the daemon in the background; -f keeps it in \
            the foreground (for systemd). Unmount with `umount MOUNTPOINT`, `fusermount3 -u MOUNTPOINT` \
            or SIGTERM/SIGINT to the daemon: every acknowledged write is in the store and synced. \
            Runs as root and mounts with allow_other so that each user's writes carry their own \
            uid; the daemon checks the mode bits itself (default_permissions is not used, and \
            dropped if given) and records every denial. Every access is decided by the permission policy (--policy, \
            or -o policy=FILE; without it a built-in policy grants everyone what the mount allows) and \
            recorded under MOUNTPOINT/.audit. SIGHUP or `auditfs policy reload MOUNTPOINT` re-reads the \
            policy file without unmounting. With --history (-o history) names may be renamed and \
            removed — each change recorded, every byte kept under MOUNTPOINT/.audit/retired — so that \
            programs that rotate their own logs work.
            """)

    @Argument(help: "The store directory (made with `auditfs init`).")
    var store: String

    @Argument(help: "An existing, empty directory to mount on.")
    var mountpoint: String

    @Flag(name: [.customShort("f"), .long], help: "Stay in the foreground until unmounted or signalled.")
    var foreground = false

    @Option(name: .customShort("o"), help: "Mount options, comma-separated, added to allow_other.")
    var options: [String] = []

    @Option(help: "The permission policy (YAML, see `auditfs policy check`). Also -o policy=FILE.")
    var policy: String?

    @Option(help: "Sign a checkpoint every this many seconds when something was appended (0: only at unmount and, with -o checkpoint=fsync, on fsync). Also -o checkpoint-interval=N.")
    var checkpointInterval: Int = 10

    @OptionGroup var checkpoints: CheckpointOptions

    @Option(help: "Serve Prometheus metrics at http://ADDR:PORT/metrics (PORT alone: 127.0.0.1). Also -o metrics=ADDR:PORT.")
    var metrics: String?

    @Option(help: "Free space on the store's file system held back for the /.audit records: BYTES (K, M, G, T) or N% (default 1%, at least 64M, at most an eighth of the file system). Other writes get ENOSPC past it. Also -o reserve=SIZE.")
    var reserve: String?

    @Option(help: "Decision lines one user may cause per interval; beyond it their decisions are only counted: N or N/SECONDS (default 1000/10). Also -o decision-budget=N[/SECONDS].")
    var decisionBudget: String?

    @Flag(help: "History mode: rename, unlink and rmdir work and are recorded, and nothing is lost — a name removed or replaced moves with its bytes under MOUNTPOINT/.audit/retired; chmod/chown/utimes of files with content are recorded. For programs that rotate their own logs. Needs a format v2 store. Also -o history.")
    var history = false

    @Option(help: ArgumentHelp("Ship the store to an S3 bucket with Object Lock: every byte a checkpoint covers, within seconds of it, each object once with COMPLIANCE retention (docs/SHIPPING.md). Also -o ship=URL.", valueName: "s3://BUCKET/PREFIX"))
    var ship: String?

    @Option(help: ArgumentHelp("With --ship: how long the bucket must keep each object, like 400d or 7y (nobody can shorten it). Also -o ship-retain=.", valueName: "duration"))
    var shipRetain: String?

    @Option(name: .customLong("ship-endpoint-url"), help: ArgumentHelp("With --ship: the S3 endpoint of a server that is not AWS (default AWS_ENDPOINT_URL or AWS's). Also -o ship-endpoint-url=.", valueName: "url"))
    var shipEndpoint: String?

    @Option(help: ArgumentHelp("With --ship: the bucket's region (default AWS_REGION, the AWS config file, or us-east-1). Also -o ship-region=.", valueName: "region"))
    var shipRegion: String?

    @Option(help: ArgumentHelp("With --ship: the profile of the AWS credentials and config files (default AWS_PROFILE or default). Also -o ship-profile=.", valueName: "name"))
    var shipProfile: String?

    @Option(help: ArgumentHelp("With --ship: an AWS credentials file (default AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; keep it 0600). Also -o ship-credentials=.", valueName: "file"))
    var shipCredentials: String?

    @Option(name: .customLong("ready-fd"), help: .hidden)
    var readyFD: Int32?

    public init() {}

    public func run() throws {
        var numbers = CheckpointSettings()
        numbers.interval = checkpointInterval
        numbers.epochLength = checkpoints.epochLength
        numbers.witnessDirectory = checkpoints.witnessDir
        numbers.witnessCommand = checkpoints.witnessCmd
        numbers.keys = checkpoints.keys
        numbers.witnessURLs = checkpoints.witnessUrl
        let configuration: MountConfiguration
        do {
            configuration = try MountConfiguration(store: store, mountpoint: mountpoint, options: options, policy: policy,
                                                   checkpoints: numbers, metrics: metrics, reserve: reserve,
                                                   decisionBudget: decisionBudget, history: history,
                                                   ship: ShipSettings(destination: ship, retain: shipRetain, endpoint: shipEndpoint,
                                                                      region: shipRegion, profile: shipProfile,
                                                                      credentials: shipCredentials.map(MountOptions.absolute)))
        } catch {
            Background.say(error.message)
            throw ExitCode(1)
        }
        // Numbers out of bounds, a metrics address that does not parse: one
        // line here, before a background daemon is started (a ValidationError
        // would add the usage text).
        if let problem = configuration.problem() {
            Background.say(problem)
            throw ExitCode(1)
        }
        if !foreground {
            var args = ["mount", store, mountpoint, "-f", "--ready-fd", "3"]
            for o in options { args += ["-o", o] }
            if let policy { args += ["--policy", MountOptions.absolute(policy)] }
            args += ["--checkpoint-interval", String(checkpointInterval), "--epoch-length", String(checkpoints.epochLength)]
            if let d = checkpoints.witnessDir { args += ["--witness-dir", MountOptions.absolute(d)] }
            if let c = checkpoints.witnessCmd { args += ["--witness-cmd", c] }
            for u in checkpoints.witnessUrl { args += ["--witness-url", u] }
            if let k = checkpoints.keys { args += ["--keys", MountOptions.absolute(k)] }
            if let metrics { args += ["--metrics", metrics] }
            if let reserve { args += ["--reserve", reserve] }
            if let decisionBudget { args += ["--decision-budget", decisionBudget] }
            if history { args.append("--history") }
            if let ship { args += ["--ship", ship] }
            if let shipRetain { args += ["--ship-retain", shipRetain] }
            if let shipEndpoint { args += ["--ship-endpoint-url", shipEndpoint] }
            if let shipRegion { args += ["--ship-region", shipRegion] }
            if let shipProfile { args += ["--ship-profile", shipProfile] }
            if let shipCredentials { args += ["--ship-credentials", MountOptions.absolute(shipCredentials)] }
            try Background.start(arguments: args)
            return   // the daemon is ready
        }
        let readiness = Readiness(fd: readyFD)
        if readyFD != nil {
            _ = setsid()   // started by Background: leave the starter's session
            CommandName.set("auditfs")   // started as /proc/self/exe: "exe" otherwise
        }
        do {
            let code = try Daemon(configuration, readiness: readiness, foreground: readyFD == nil).serve(with: Session())
            if code < 0 {
                Background.say("the FUSE loop ended with an error: \(String(cString: strerror(-code)))")
                throw ExitCode(1)
            }
        } catch let error as MountError {
            readiness.failed(error.message)
            if readyFD == nil { Background.say(error.message) }
            throw ExitCode(1)
        }
    }
}
