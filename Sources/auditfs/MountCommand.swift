import ArgumentParser
import AuditCLI
import AuditPolicy
import AuditStore
#if canImport(Glibc)
import Glibc
#endif

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
            policy file without unmounting.
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

    @Option(name: .customLong("ready-fd"), help: .hidden)
    var readyFD: Int32?

    public init() {}

    /// The options every mount gets, before the caller's.
    /// No default_permissions: the daemon checks the mode bits (ModeBits) and records each denial.
    static let defaultOptions = ["allow_other", "fsname=auditfs", "subtype=auditfs"]

    public func run() throws {
        let parsed: MountOptions
        do { parsed = try MountOptions(parsing: options) } catch {
            Background.say(error.message)
            throw ExitCode(1)
        }
        // --policy and -o policy= must agree when both are given.
        let policyFile: String?? = {
            let a = policy.map(MountOptions.absolute), b = parsed.policy
            if let a, let b, a != b { return nil }
            return .some(a ?? b)
        }()
        // Numbers out of bounds: one line here, before a background daemon is started.
        if let problem = Self.boundsProblem(interval: parsed.checkpointInterval ?? checkpointInterval, checkpoints) {
            Background.say(problem)
            throw ExitCode(1)
        }
        let libfuseOptions = parsed.libfuse
        let metricsAddress = metrics ?? parsed.metrics
        if let m = metricsAddress, MetricsServer.parse(m) == nil {
            // One line, like every other startup error (a ValidationError would add the usage text).
            Background.say("--metrics '\(m)': expected PORT, ADDR:PORT or [ADDR6]:PORT")
            throw ExitCode(1)
        }
        if !foreground {
            var args = ["mount", store, mountpoint, "-f", "--ready-fd", "3"]
            for o in options { args += ["-o", o] }
            if let policy { args += ["--policy", MountOptions.absolute(policy)] }
            args += ["--checkpoint-interval", String(checkpointInterval), "--epoch-length", String(checkpoints.epochLength)]
            if let d = checkpoints.witnessDir { args += ["--witness-dir", MountOptions.absolute(d)] }
            if let c = checkpoints.witnessCmd { args += ["--witness-cmd", c] }
            if let k = checkpoints.keys { args += ["--keys", MountOptions.absolute(k)] }
            if let metrics { args += ["--metrics", metrics] }
            if let reserve { args += ["--reserve", reserve] }
            if let decisionBudget { args += ["--decision-budget", decisionBudget] }
            try Background.start(arguments: args)
            return   // the daemon is ready
        }
        let readiness = Readiness(fd: readyFD)
        if readyFD != nil {
            _ = setsid()   // started by Background: leave the starter's session
            Background.nameProcess("auditfs")   // started as /proc/self/exe: "exe" otherwise
        }
        do {
            let code = try serve(readiness, libfuseOptions: libfuseOptions, policyFile: policyFile, checkpointSettings: parsed,
                                 metricsAddress: metricsAddress)
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

    /// The one-line error for a checkpoint interval or epoch length out of
    /// bounds, or nil.
    static func boundsProblem(interval: Int, _ checkpoints: CheckpointOptions) -> String? {
        guard (0...MountOptions.maxCheckpointInterval).contains(interval) else {
            return "--checkpoint-interval \(interval): expected seconds from 0 to \(MountOptions.maxCheckpointInterval) (a day)"
        }
        var numbers = checkpoints
        numbers.witnessDir = nil   // checked by the daemon, as root
        return numbers.problem()
    }

    /// Checks, opens the store, mounts and serves; returns after unmount with
    /// the store synced and closed.
    private func serve(_ readiness: Readiness, libfuseOptions: [String], policyFile: String??,
                       checkpointSettings: MountOptions, metricsAddress: String?) throws(MountError) -> Int32 {
        try Preflight.requireRoot()
        try Preflight.requireFuseDevice()
        try Preflight.requireFusermount()
        let mountpointPath = try Preflight.checkMountpoint(mountpoint)
        try Session.validate(options: (Self.defaultOptions + libfuseOptions).joined(separator: ","))
        // Every number and the witness directory are checked before the store is touched.
        let interval = checkpointSettings.checkpointInterval ?? checkpointInterval
        if let problem = Self.boundsProblem(interval: interval, checkpoints) { throw MountError(problem) }
        var cp = checkpoints
        if let d = checkpointSettings.witnessDir { cp.witnessDir = d }
        if let problem = cp.problem() { throw MountError(problem) }
        guard let policyFile else { throw MountError("--policy and -o policy= name different files") }
        // A policy that does not parse stops the mount before the store is touched.
        let loaded: Authorizer.Loaded
        if let file = policyFile {
            switch PolicyLoader.parse(file: file) {
            case let .success(p): loaded = Authorizer.Loaded(policy: p, file: file)
            case let .failure(error): throw error
            }
        } else {
            loaded = Authorizer.Loaded(policy: AccessPolicy.builtin, file: nil)
        }
        // Metrics and alerts (docs/QUERY.md): ready before the store opens, so
        // that a store failing its checks at start is alerted on.
        let metrics = MountMetrics()
        let alerts = AlertDispatcher(rules: loaded.policy.alerts, mountpoint: mountpointPath, metrics: metrics)
        // What a flood may cost (docs/POLICY.md "Floods").
        let storePathGiven = MountOptions.absolute(store)
        let folding = try FloodLimits.budget(decisionBudget ?? checkpointSettings.decisionBudget)
        var storeOptions = Store.Options()
        let space = FloodLimits.space(of: storePathGiven)
        storeOptions.reserve = try FloodLimits.reserve(reserve ?? checkpointSettings.reserve, total: space?.total ?? 0)
        if let free = space?.free, free < storeOptions.reserve {
            let note = "only \(free) bytes free on the store's file system, less than the \(storeOptions.reserve) held back "
                + "for the audit records: writes outside /.audit get ENOSPC until space is freed"
            readiness.note(note)
            if readyFD == nil { Background.say(note) }
        }
        let s: Store
        do {
            s = try Store.open(at: storePathGiven, mode: .readWrite, options: storeOptions)
        } catch {
            if case .damaged = error { alerts.verificationFailed(store: MountOptions.absolute(store), error: error.description) }
            throw MountError(error.description)
        }
        defer { s.close() }
        if let recovery = s.recovery {
            readiness.note(recovery.description)
            if readyFD == nil { Background.say(recovery.description) }
        }
        // A mount that cannot sign checkpoints does not start (README "Checkpoints").
        let checkpointer: Checkpointer
        do {
            checkpointer = try cp.checkpointer(for: s, writer: .current())
        } catch {
            throw MountError("cannot sign checkpoints, not mounting: \(error)")
        }
        let announce = readyFD == nil
        let storePath = s.path
        let authorizer: Authorizer
        let started = ReloadControl.actor(pid: UInt32(getpid()), uid: getuid(), via: "mount")
        do {
            let log = try AuditLog(store: s, alerts: alerts, folding: folding)
            authorizer = Authorizer(log: log, policy: loaded, metrics: metrics)
            try PolicyLoader(authorizer: authorizer, mountpoint: mountpointPath).recordInitialLoad(by: started)
            let now = log.now
            if let recovery = s.recovery {
                try log.event(EventRecord(time: Timestamps.rfc3339(now), timeNs: now, event: "torn-tail-recovered",
                                          daemon: log.daemon.pid, mountpoint: mountpointPath, store: storePath,
                                          detail: recovery.description))
            }
            try log.event(EventRecord(time: Timestamps.rfc3339(now), timeNs: now, event: "mount", daemon: log.daemon.pid,
                                      mountpoint: mountpointPath, store: storePath, policy: loaded.policy.sha256,
                                      policyFile: loaded.file, by: started))
        } catch {
            throw MountError("could not write the audit namespace (/.audit): \(error)")
        }
        // Signed checkpoints: every interval, on fsync if asked, at unmount.
        let view = CheckpointView()
        let schedule = CheckpointSchedule(checkpointer: checkpointer, view: view, interval: Double(interval),
                                          onFsync: checkpointSettings.checkpointOnFsync)
        schedule.deliver(to: cp.witnesses.witnesses(origin: checkpointer.origin), log: authorizer.log,
                         mountpoint: mountpointPath, store: storePath)
        schedule.onIssued = { t, new in new ? metrics.checkpointIssued(at: t) : metrics.checkpointFound(at: t) }
        schedule.onFailure = { [authorizer] failure in
            metrics.checkpointFailed()
            let log = authorizer.log
            let now = log.now
            var e = EventRecord(time: Timestamps.rfc3339(now), timeNs: now, event: failure.event, daemon: log.daemon.pid,
                                mountpoint: mountpointPath, store: storePath)
            e.error = failure.error
            e.detail = failure.detail
            do { try log.event(e) } catch { Log.error("could not record the event \(failure.event): \(error)") }
            if failure.event == CheckpointSchedule.Failure.failed { alerts.checkpointFailed(e) }
        }
        authorizer.log.startFlushing()
        defer { authorizer.log.stopFlushing() }
        let metricsServer = try metricsAddress.flatMap(MetricsServer.parse).map { a throws(MountError) in
            try MetricsServer(host: a.host, port: a.port, metrics: metrics)
        }
        defer { metricsServer?.stop() }
        let loader = PolicyLoader(authorizer: authorizer, mountpoint: mountpointPath)
        let control = ReloadControl(loader: loader, mountpoint: mountpointPath)
        try control.start()
        defer { control.stop() }
        let fileSystem = AuditFileSystem(store: s, authorizer: authorizer, checkpointView: view, onReady: {
            schedule.start()
            readiness.ready()
            if announce {
                Background.say("serving store '\(storePath)' on \(mountpointPath)")
                // systemd Type=notify: ready only now that the kernel's INIT is answered.
                SystemdNotify.send("READY=1\nMAINPID=\(getpid())\nSTATUS=serving \(storePath) on \(mountpointPath)")
            }
        }, onUnmount: {
            if announce { SystemdNotify.send("STOPPING=1") }
            let log = authorizer.log
            log.stopFlushing()   // every count held is written before the unmount event
            let now = log.now
            do {
                try log.event(EventRecord(time: Timestamps.rfc3339(now), timeNs: now, event: "unmount", daemon: log.daemon.pid,
                                          mountpoint: mountpointPath, store: storePath, policy: authorizer.loaded.policy.sha256))
            } catch {
                Log.error("could not record the unmount: \(error)")
            }
            alerts.drain(timeout: 10)   // alerts in flight are recorded before the last checkpoint
            schedule.stop()   // the last checkpoint covers the unmount event
        }, onFsync: {
            schedule.fsynced()
        })
        let all = (Self.defaultOptions + libfuseOptions).joined(separator: ",")
        return try Session.serve(fileSystem, mountpoint: mountpointPath, options: all, echoLog: readyFD == nil)
    }

}
