import AuditPlumbing
import AuditPolicy
import AuditStore
import FUSEInterface
import Glibc

/// The mount daemon: checks everything it can before the store is touched,
/// opens the store, starts the /.audit log, checkpoints, alerts, metrics and
/// the reload control, mounts the file system through a FUSE session (the
/// bridge's, passed in: the daemon does not import libfuse) and serves until
/// unmounted or signalled; returns with the store synced and closed.
public struct Daemon: Sendable {
    public let configuration: MountConfiguration
    /// Where startup notes and the outcome go when started in the background.
    let readiness: Readiness
    /// Started in the foreground: notes go to stderr, and systemd is told
    /// when the mount serves and stops (Type=notify).
    let announce: Bool

    public init(_ configuration: MountConfiguration, readiness: Readiness, foreground: Bool) {
        self.configuration = configuration
        self.readiness = readiness
        self.announce = foreground
    }

    /// Serves the mount; returns the session loop's result (0, a signal
    /// number, or a negative errno) after unmount.
    public func serve(with session: some MountSession) throws(MountError) -> Int32 {
        let readiness = self.readiness, announce = self.announce
        try Preflight.requireRoot()
        try Preflight.requireFuseDevice()
        try Preflight.requireFusermount()
        let mountpointPath = try Preflight.checkMountpoint(configuration.mountpoint)
        do { try session.validate(options: configuration.allLibfuseOptions) } catch { throw MountError(error.message) }
        // Every number and the witness directory are checked before the store is touched.
        let cp = configuration.checkpoints
        if let problem = cp.problem() { throw MountError(problem) }
        // A bucket without Object Lock stops the mount before the store is touched (docs/SHIPPING.md).
        let ship = try configuration.ship.resolve()
        if let ship, let note = try MountShipping.check(ship) {
            readiness.note(note)
            if announce { Log.note(note) }
        }
        let policyFile: String?
        switch configuration.policy {
        case .conflicting: throw MountError("--policy and -o policy= name different files")
        case let .file(f): policyFile = f
        case .builtin: policyFile = nil
        }
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
        let storePathGiven = MountOptions.absolute(configuration.store)
        let folding = try FloodLimits.budget(configuration.decisionBudget)
        var storeOptions = Store.Options()
        let space = FloodLimits.space(of: storePathGiven)
        storeOptions.reserve = try FloodLimits.reserve(configuration.reserve, total: space?.total ?? 0)
        if let free = space?.free, free < storeOptions.reserve {
            let note = "only \(free) bytes free on the store's file system, less than the \(storeOptions.reserve) held back "
                + "for the audit records: writes outside /.audit get ENOSPC until space is freed"
            readiness.note(note)
            if announce { Log.note(note) }
        }
        // History mode needs rename records, which a v1 store cannot hold: refused before the store is
        // opened for writing (which may cut a torn tail), and again from the store opened (below).
        if let identity = try? StoreDirectory(storePathGiven).readIdentity(),
           let problem = configuration.historyProblem(store: storePathGiven, formatVersion: identity.version) {
            throw MountError(problem)
        }
        let s: Store
        do {
            s = try Store.open(at: storePathGiven, mode: .readWrite, options: storeOptions)
        } catch {
            if case .damaged = error { alerts.verificationFailed(store: MountOptions.absolute(configuration.store), error: error.description) }
            throw MountError(error.description)
        }
        defer { s.close() }
        if let problem = configuration.historyProblem(store: s.path, formatVersion: s.formatVersion) {
            throw MountError(problem)
        }
        if let recovery = s.recovery {
            readiness.note(recovery.description)
            if announce { Log.note(recovery.description) }
        }
        // A mount that cannot sign checkpoints does not start (README "Checkpoints").
        let checkpointer: Checkpointer
        do {
            checkpointer = try cp.checkpointer(for: s, writer: .current())
        } catch {
            throw MountError("cannot sign checkpoints, not mounting: \(error)")
        }
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
            var mounted = EventRecord(time: Timestamps.rfc3339(now), timeNs: now, event: "mount", daemon: log.daemon.pid,
                                      mountpoint: mountpointPath, store: storePath, policy: loaded.policy.sha256,
                                      policyFile: loaded.file, by: started)
            if configuration.history { mounted.history = true }
            try log.event(mounted)
        } catch {
            throw MountError("could not write the audit namespace (/.audit): \(error)")
        }
        // Signed checkpoints: every interval, on fsync if asked, at unmount.
        let view = CheckpointView()
        let schedule = CheckpointSchedule(checkpointer: checkpointer, view: view, interval: Double(cp.interval),
                                          onFsync: cp.onFsync)
        schedule.onWitnessOutcome = { metrics.witnessOutcome($0.outcome.event) }
        schedule.deliver(to: cp.witnesses.witnesses(origin: checkpointer.origin, store: s) { [weak schedule] cosigned, _ in
                             schedule?.keepCosigned(cosigned)
                             metrics.cosignatureStored()
                         }, log: authorizer.log,
                         mountpoint: mountpointPath, store: storePath)
        let shipper = ship.map {
            MountShipping.start($0, store: s, newest: checkpointer.latest().flatMap(MountShipping.size(ofNote:)), log: authorizer.log,
                                metrics: metrics, alerts: alerts, mountpoint: mountpointPath)
        }
        defer { shipper?.drain(timeout: 0) }   // an unmount drains it first; this is for a loop that failed
        schedule.shipper = shipper
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
        let metricsServer = try configuration.metrics.flatMap(MetricsServer.parse).map { a throws(MountError) in
            try MetricsServer(host: a.host, port: a.port, metrics: metrics)
        }
        defer { metricsServer?.stop() }
        let loader = PolicyLoader(authorizer: authorizer, mountpoint: mountpointPath)
        let control = ReloadControl(loader: loader, mountpoint: mountpointPath)
        try control.start()
        defer { control.stop() }
        let fileSystem = AuditFileSystem(store: s, authorizer: authorizer, checkpointView: view,
                                         history: configuration.history, onReady: {
            schedule.start()
            readiness.ready()
            if announce {
                Log.note("serving store '\(storePath)' on \(mountpointPath)")
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
            if let shipper, !shipper.drain(timeout: 15) {
                Log.error("the bucket does not hold everything yet; the next mount (or `auditfs ship`) ships the rest")
            }
        }, onFsync: {
            schedule.fsynced()
        })
        do {
            return try session.serve(fileSystem, mountpoint: mountpointPath, options: configuration.allLibfuseOptions,
                                     echoLog: announce)
        } catch {
            throw MountError(error.message)
        }
    }
}
