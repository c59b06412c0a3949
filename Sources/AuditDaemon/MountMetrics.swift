import AuditPlumbing
import FlyingFox
import Foundation
import Prometheus
import Synchronization
import Glibc

/// The mount's metrics (docs/QUERY.md "Metrics"), kept in swift-prometheus
/// types and served in the Prometheus text format by `MetricsServer`.
///
/// Cost on the write path: two monotonic clock reads, two atomic adds
/// (writes, bytes) and one histogram observation (swift-prometheus keeps a
/// histogram under an uncontended lock; no allocation).
final class MountMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let writes: Counter
    let bytes: Counter
    let grants: Counter
    let denies: Counter
    let fsyncs: Counter
    let checkpoints: Counter
    let checkpointFailures: Counter
    let cosignatures: Counter
    let alerts: Counter
    let openFiles: Gauge
    let checkpointAge: Gauge
    let checkpointTime: Gauge
    let shipObjects: Counter
    let shipBytes: Counter
    let shipFailures: Counter
    let shipBacklog: Gauge
    let shipLastSuccess: Gauge
    let shipStoppedGauge: Gauge
    let writeLatency: DurationHistogram
    let fsyncLatency: DurationHistogram
    /// Time of the newest checkpoint (ns since the epoch; 0: none yet).
    private let latestCheckpoint = Atomic<Int64>(0)

    init() {
        writes = registry.makeCounter(name: "auditfs_writes_total", help: "write() calls appended to the store")
        bytes = registry.makeCounter(name: "auditfs_appended_bytes_total", help: "Bytes appended through the mount")
        grants = registry.makeCounter(name: "auditfs_grants_total", help: "Policy decisions that granted (recorded)")
        denies = registry.makeCounter(name: "auditfs_denies_total", help: "Policy decisions that denied, and mount-rule refusals")
        fsyncs = registry.makeCounter(name: "auditfs_fsyncs_total", help: "fsync/fdatasync calls answered")
        checkpoints = registry.makeCounter(name: "auditfs_checkpoints_total", help: "Signed checkpoints issued by this daemon")
        checkpointFailures = registry.makeCounter(name: "auditfs_checkpoint_failures_total",
                                                  help: "Checkpoints this daemon could not sign (the writes since the last one stay unsigned)")
        alerts = registry.makeCounter(name: "auditfs_alerts_total", help: "Alerts sent (every rule)")
        cosignatures = registry.makeCounter(name: "auditfs_witness_cosignatures_total",
                                            help: "Witness cosignatures (C2SP tlog-witness answers) stored in /.audit/cosignatures")
        openFiles = registry.makeGauge(name: "auditfs_open_files", help: "Files open through the mount")
        checkpointAge = registry.makeGauge(name: "auditfs_checkpoint_age_seconds", help: "Age of the newest signed checkpoint (-1: none)")
        checkpointTime = registry.makeGauge(name: "auditfs_checkpoint_time_seconds", help: "Time of the newest signed checkpoint (Unix seconds)")
        shipObjects = registry.makeCounter(name: "auditfs_ship_objects_total", help: "Objects put into the bucket (--ship)")
        shipBytes = registry.makeCounter(name: "auditfs_ship_bytes_total", help: "Bytes of segments put into the bucket (--ship)")
        shipFailures = registry.makeCounter(name: "auditfs_ship_failures_total", help: "Shipping attempts that failed (retried with backoff)")
        shipBacklog = registry.makeGauge(name: "auditfs_ship_backlog_bytes", help: "Bytes of the store not in the bucket yet (--ship)")
        shipLastSuccess = registry.makeGauge(name: "auditfs_ship_last_success_seconds", help: "Time the bucket last caught up (Unix seconds; 0: not yet)")
        shipStoppedGauge = registry.makeGauge(name: "auditfs_ship_stopped", help: "1 when shipping stopped because the bucket disagrees with the store")
        let latency: [Duration] = [.microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
                                   .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
                                   .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)]
        writeLatency = registry.makeDurationHistogram(name: "auditfs_write_duration_seconds", buckets: latency,
                                                      help: "Time to append one write() to the store")
        fsyncLatency = registry.makeDurationHistogram(name: "auditfs_fsync_duration_seconds", buckets: latency,
                                                      help: "Time of an fsync (store sync)")
        // Every kind is present from the start (0), so a scrape shows them all.
        for rule in MountRules.Rule.allCases { _ = refused(rule) }
    }

    static func monotonic() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    @inline(__always) func wrote(_ count: Int, since start: UInt64) {
        writes.increment()
        bytes.increment(by: Int64(count))
        writeLatency.record(.nanoseconds(Int64(Self.monotonic() &- start)))
    }

    func synced(since start: UInt64) {
        fsyncs.increment()
        fsyncLatency.record(.nanoseconds(Int64(Self.monotonic() &- start)))
    }

    /// The counter of the refusals by one mount rule: auditfs_tamper_attempts_total
    /// for a tamper rule, auditfs_refusals_total for the others (`Rule.isTamper`).
    func refused(_ rule: MountRules.Rule) -> Counter {
        rule.isTamper
            ? registry.makeCounter(name: "auditfs_tamper_attempts_total", labels: [("kind", rule.rawValue)],
                                   help: "Attempts to change or remove stored bytes, by the mount rule that refused them")
            : registry.makeCounter(name: "auditfs_refusals_total", labels: [("kind", rule.rawValue)],
                                   help: "Refused changes that touch no stored byte (metadata, xattrs, special files), by mount rule")
    }

    func alertSent(_ rule: String) { alerts.increment() }

    /// The hook the checkpoint schedule calls after signing one.
    func checkpointIssued(at ns: Int64) {
        checkpoints.increment()
        latestCheckpoint.store(ns, ordering: .relaxed)
    }

    /// The hook the checkpoint schedule calls when signing one failed.
    func checkpointFailed() { checkpointFailures.increment() }

    /// Shipping put `objects` (`bytes` of segments); `backlog` bytes remain.
    func shipped(objects: Int, bytes: UInt64, backlog: UInt64) {
        shipObjects.increment(by: Int64(objects))
        shipBytes.increment(by: Int64(bytes))
        shipBacklog.set(Double(backlog))
        shipLastSuccess.set(Date().timeIntervalSince1970)
    }

    func shipFailed(backlog: UInt64) {
        shipFailures.increment()
        shipBacklog.set(Double(backlog))
    }

    func shipStopped() { shipStoppedGauge.set(Double(1)) }

    /// One checkpoint's outcome at one witness, by its event (witness-delivered, -failed, -timed-out, -dropped).
    func witnessOutcome(_ event: String) {
        registry.makeCounter(name: "auditfs_witness_outcomes_total", labels: [("outcome", event)],
                             help: "Checkpoints handed to witnesses, by outcome (the witness-* events)").increment()
    }

    /// A witness cosignature stored in /.audit/cosignatures.
    func cosignatureStored() { cosignatures.increment() }

    /// The newest checkpoint found in the store at mount (not counted as issued).
    func checkpointFound(at ns: Int64) {
        latestCheckpoint.store(ns, ordering: .relaxed)
    }

    /// The text exposition, with the checkpoint age computed now.
    func scrape() -> String {
        let t = latestCheckpoint.load(ordering: .relaxed)
        if t > 0 {
            checkpointAge.set(Double(Clock.realtime.now - t) / 1e9)
            checkpointTime.set(Double(t) / 1e9)
        } else {
            checkpointAge.set(Double(-1))
        }
        return registry.emitToString()
    }
}

/// `--metrics ADDR:PORT`: GET /metrics in the Prometheus text format
/// (version 0.0.4), served by FlyingFox on its own task.
final class MetricsServer: Sendable {
    let server: HTTPServer
    let task: Mutex<Task<Void, any Error>?> = Mutex(nil)

    /// Parses `PORT`, `:PORT`, `ADDR:PORT` or `[ADDR6]:PORT`; the address
    /// defaults to 127.0.0.1 (loopback).
    static func parse(_ text: String) -> (host: String, port: UInt16)? {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(after: close)...].drop { $0 == ":" }
        } else if let colon = text.lastIndex(of: ":") {
            if colon != text.startIndex { host = String(text[..<colon]) }
            portText = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portText) else { return nil }
        return (host, port)
    }

    init(host: String, port: UInt16, metrics: MountMetrics) throws(MountError) {
        do {
            server = host.contains(":")
                ? HTTPServer(address: try sockaddr_in6.inet6(ip6: host, port: port), timeout: 10, logger: .disabled)
                : HTTPServer(address: try sockaddr_in.inet(ip4: host, port: port), timeout: 10, logger: .disabled)
        } catch {
            throw MountError("--metrics: '\(host)' is not an IP address")
        }
        let srv = server
        let started = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)
        let t = Task {
            await srv.appendRoute("GET /metrics") { _ in
                HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                             body: Data(metrics.scrape().utf8))
            }
            do { try await srv.run() } catch {
                failure.withLock { $0 = "\(error)" }
                started.signal()
                throw error
            }
        }
        task.withLock { $0 = t }
        Task {
            try? await srv.waitUntilListening(timeout: 10)
            started.signal()
        }
        started.wait()
        if let f = failure.withLock({ $0 }) {
            throw MountError("--metrics \(host):\(port): could not listen: \(f)")
        }
    }

    func stop() {
        let srv = server
        let done = DispatchSemaphore(value: 0)
        Task { await srv.stop(timeout: 1); done.signal() }
        _ = done.wait(timeout: .now() + 2)
    }
}
