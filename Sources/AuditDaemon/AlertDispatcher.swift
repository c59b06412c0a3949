import AuditPlumbing
import AuditPolicy
import AuditRecords
import AuditStore
import AuditWitness
import Foundation
import Synchronization
import Glibc

/// Sends the alerts of the policy's `alerts:` rules (docs/QUERY.md "Alerts")
/// and records each one in /.audit/alerts.jsonl.
///
/// Nothing here runs on a FUSE thread: the daemon hands an event over with
/// one `async` onto a serial queue (only denials, tamper attempts and
/// reloads are handed over; grants never are), where rules are matched and
/// the per-subject deny windows kept. Syslog datagrams and file appends are
/// sent from that queue; a command runs on its own thread with a timeout,
/// so a slow or failing command delays nothing else. The alert's record is
/// appended once all its actions have an outcome.
///
/// Lock order: `rules`, `log` and `windows` are leaves (held only to read or
/// update a value). FUSE threads only hand work to `queue` (`async`); the
/// queue and the command threads append through AuditLog (→ the Store's
/// lock) with none of them held.
final class AlertDispatcher: Sendable {
    private let queue = DispatchQueue(label: "auditfs-alerts")
    private let commands = DispatchGroup()
    private let rules: Mutex<[AlertRule]>
    /// Where records go (nil before the store is open: nothing is recorded).
    private let log: Mutex<AuditLog?> = Mutex(nil)
    /// Per (rule, uid): the times of the recent denies, and whether the
    /// rule has fired since the count last was at most N. Touched on `queue` only.
    private let windows = Mutex<[String: [UInt32: Window]]>([:])

    /// The times of one subject's recent denies, oldest first from `head`
    /// (dropping expired ones is amortised O(1), whatever the flood).
    private struct Window {
        var times: [Int64] = []
        var head = 0
        var fired = false
        var count: Int { times.count - head }
        /// Only the newest `atMost` (moreThan + 1) times decide whether the
        /// rule fires, so no more are kept: memory stays bounded under a flood.
        mutating func add(_ t: Int64, keepingAfter cutoff: Int64, atMost: Int) {
            while head < times.count && times[head] <= cutoff { head += 1 }
            if head > 1024 && head * 2 > times.count { times.removeFirst(head); head = 0 }
            times.append(t)
            if count > atMost { head = times.count - atMost }
        }
    }
    let mountpoint: String?
    let metrics: MountMetrics?

    init(rules: [AlertRule], mountpoint: String?, metrics: MountMetrics? = nil) {
        self.rules = Mutex(rules)
        self.mountpoint = mountpoint
        self.metrics = metrics
    }

    func attach(_ log: AuditLog) { self.log.withLock { $0 = log } }

    /// The rules of a newly loaded policy (reload).
    func use(_ rules: [AlertRule]) {
        self.rules.withLock { $0 = rules }
        windows.withLock { w in w = w.filter { name, _ in rules.contains { $0.name == name } } }
    }

    // MARK: Events from the daemon

    /// A denial (a policy deny or a mount-rule refusal). Every one counts
    /// for the deny-rate rules; the other rules fire only on a `recorded`
    /// one — a decision written as its own line, not one folded into a
    /// count (docs/POLICY.md "Floods"), so a flood cannot flood the alerts.
    func denied(_ d: DecisionRecord, recorded: Bool = true) {
        queue.async { self.handle(decision: d, recorded: recorded) }
    }

    func policyChanged(_ c: PolicyChangeRecord) {
        guard c.event == "reload" else { return }
        queue.async { self.handle(change: c) }
    }

    /// A store that fails its checks at start: sent at once (the store
    /// cannot take a record), waiting for the actions up to their timeouts.
    func verificationFailed(store: String, error: String) {
        let now = Clock.realtime.now
        var e = EventRecord(time: Timestamps.rfc3339(now), timeNs: now, event: "verification-failed", daemon: UInt32(getpid()),
                            mountpoint: mountpoint, store: store)
        e.error = error
        queue.sync {
            for rule in rules.withLock({ $0 }) where rule.event == .verificationFailure {
                var a = alert(rule, now: now, message: "store \(store) failed verification at mount: \(error)")
                a.daemonEvent = e
                send(a, rule)
            }
        }
        drain(timeout: 30)
    }

    /// A checkpoint the mount could not sign (`event` is already recorded in
    /// /.audit/events.jsonl when the store took it).
    func checkpointFailed(_ event: EventRecord) {
        queue.async {
            for rule in self.rules.withLock({ $0 }) where rule.event == .checkpointFailure {
                var a = self.alert(rule, now: event.timeNs,
                                   message: "could not sign a checkpoint; writes go on unsigned until one succeeds: \(event.error ?? "?")" + self.where_())
                a.daemonEvent = event
                self.send(a, rule)
            }
        }
    }

    /// Shipping to the bucket failed (first of a run) or stopped (`event` is
    /// already recorded in /.audit/events.jsonl when the store took it).
    func shipFailed(_ event: EventRecord) {
        queue.async {
            for rule in self.rules.withLock({ $0 }) where rule.event == .shipFailure {
                var a = self.alert(rule, now: event.timeNs, message: "\(event.event): \(event.error ?? "?")" + self.where_())
                a.daemonEvent = event
                self.send(a, rule)
            }
        }
    }

    /// Waits (up to `timeout` seconds) for alerts in flight, before unmount.
    func drain(timeout: Double) {
        queue.sync {}
        _ = commands.wait(timeout: .now() + timeout)
    }

    // MARK: Matching (on `queue`)

    private func handle(decision d: DecisionRecord, recorded: Bool) {
        for rule in rules.withLock({ $0 }) {
            switch rule.event {
            case .tamper:
                guard recorded, d.tamper, rule.covers(d.path, target: d.target) else { continue }
                var a = alert(rule, now: d.timeNs, message: "tamper attempt: \(Self.who(d)) \(d.verb) \(d.path)"
                    + (d.target.map { " -> \($0)" } ?? "") + " refused (\(d.mountRule ?? d.reason))" + where_())
                a.decision = d; a.uid = d.uid; a.user = d.user
                send(a, rule)
            case .deny:
                guard rule.covers(d.path, target: d.target) else { continue }
                if let rate = rule.rate {
                    guard let count = countDeny(rule, rate, d) else { continue }
                    var a = alert(rule, now: d.timeNs, message: "\(count) denies for \(Self.who(d)) within \(rate.withinNs / 1_000_000_000) s"
                        + " (more than \(rate.moreThan)), last: \(d.verb) \(d.path)" + where_())
                    a.decision = d; a.uid = d.uid; a.user = d.user; a.count = count; a.windowNs = rate.withinNs
                    send(a, rule)
                } else if recorded {
                    var a = alert(rule, now: d.timeNs, message: "denied: \(Self.who(d)) \(d.verb) \(d.path) (\(d.error ?? d.reason))" + where_())
                    a.decision = d; a.uid = d.uid; a.user = d.user
                    send(a, rule)
                }
            default:
                continue
            }
        }
    }

    /// Counts a deny in the subject's window; returns the count when the
    /// rule fires (the first time it passes N since it was last at most N).
    private func countDeny(_ rule: AlertRule, _ rate: AlertRule.Rate, _ d: DecisionRecord) -> Int? {
        windows.withLock { w in
            var entry = w[rule.name]?[d.uid] ?? Window()
            w[rule.name]?[d.uid] = nil   // uniquely referenced while it changes
            entry.add(d.timeNs, keepingAfter: d.timeNs &- rate.withinNs, atMost: rate.moreThan + 1)
            var fire: Int?
            if entry.count > rate.moreThan {
                if !entry.fired { fire = entry.count; entry.fired = true }
            } else {
                entry.fired = false
            }
            w[rule.name, default: [:]][d.uid] = entry
            return fire
        }
    }

    private func handle(change c: PolicyChangeRecord) {
        let rejected = c.outcome == "rejected"
        for rule in rules.withLock({ $0 }) where rule.event == (rejected ? .reloadRejected : .reload) {
            let by = c.by.user ?? "uid \(c.by.uid)"
            let message = rejected
                ? "policy reload rejected (by \(by) via \(c.by.via)), the policy in force stays: \(c.error ?? "?")" + where_()
                : "policy reload \(c.outcome) (by \(by) via \(c.by.via)): \(c.new ?? "?")" + where_()
            var a = alert(rule, now: c.timeNs, message: message)
            a.change = c
            send(a, rule)
        }
    }

    private func where_() -> String { mountpoint.map { " on \($0)" } ?? "" }

    private static func who(_ d: DecisionRecord) -> String {
        (d.user.map { "\($0) (uid \(d.uid))" } ?? "uid \(d.uid)") + " \(d.command)[\(d.pid)]"
    }

    private func alert(_ rule: AlertRule, now: Int64, message: String) -> AlertRecord {
        let t = Clock.realtime.now
        return AlertRecord(time: Timestamps.rfc3339(t), timeNs: t, alert: rule.name,
                           event: rule.rate != nil ? "deny-rate" : rule.event.rawValue, severity: rule.severity.rawValue,
                           message: message)
    }

    // MARK: Actions

    private func send(_ alert: AlertRecord, _ rule: AlertRule) {
        metrics?.alertSent(rule.name)
        let json = Self.json(alert)
        var outcomes: [AlertRecord.Outcome] = []
        var pending: [(argv: [String], timeoutNs: Int64)] = []
        for action in rule.actions {
            switch action {
            case let .syslog(facility, socket):
                outcomes.append(Syslog.send(facility: facility, severity: rule.severity.code, message: "\(rule.name): \(alert.message)",
                                            socket: socket ?? Syslog.defaultSocket))
            case let .file(path):
                outcomes.append(Self.appendLine(json, to: path, mountpoint: mountpoint))
            case let .command(argv, timeout):
                pending.append((argv, timeout))
            }
        }
        if pending.isEmpty { record(alert, outcomes); return }
        commands.enter()
        let (sentSoFar, toRun) = (outcomes, pending)
        DispatchQueue.global().async {
            var all = sentSoFar
            for c in toRun { all.append(Self.run(c.argv, input: json, timeoutNs: c.timeoutNs)) }
            self.record(alert, all)
            self.commands.leave()
        }
    }

    private func record(_ alert: AlertRecord, _ outcomes: [AlertRecord.Outcome]) {
        var a = alert
        a.actions = outcomes
        for o in outcomes where o.outcome != "sent" {
            Log.error("alert \(a.alert): \(o.action) \(o.outcome)\(o.detail.map { ": " + $0 } ?? "")")
        }
        guard let log = log.withLock({ $0 }) else { return }
        do { try log.alert(a) } catch { Log.error("could not record alert \(a.alert): \(error)") }
    }

    static func json(_ value: some Encodable) -> [UInt8] { AuditLog.line(value) }

    /// Appends one line to a file outside the mount (O_APPEND, created 0600;
    /// O_NOFOLLOW, and only to a regular file root owns with one link).
    static func appendLine(_ line: [UInt8], to path: String, mountpoint: String?) -> AlertRecord.Outcome {
        if let m = mountpoint, path.sameBytes(as: m) || path.hasBytePrefix(m + "/") {
            return .init(action: "file", outcome: "failed", detail: "\(path) is inside the mount")
        }
        // Never through a link, never into a file someone else owns or that has another name
        // (the directory was checked at load: TrustedPath).
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .init(action: "file", outcome: "failed", detail: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, TrustedPath.trusted(st.st_uid), st.st_nlink == 1 else {
            return .init(action: "file", outcome: "failed", detail: "\(path) is not a regular file of root's with one name; not written")
        }
        let n = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return n == line.count ? .init(action: "file", outcome: "sent", detail: path)
            : .init(action: "file", outcome: "failed", detail: "\(path): \(String(cString: strerror(errno)))")
    }

    /// Runs a command (no shell) with `input` on standard input; kills it
    /// after the timeout.
    static func run(_ argv: [String], input: [UInt8], timeoutNs: Int64) -> AlertRecord.Outcome {
        switch ChildCommand.run(argv, input: input, timeoutNs: timeoutNs) {
        case .succeeded: return .init(action: "command", outcome: "sent", detail: argv[0])
        case .timedOut: return .init(action: "command", outcome: "timeout", detail: "\(argv[0]) killed after \(timeoutNs / 1_000_000) ms")
        case let .exited(code): return .init(action: "command", outcome: "failed", detail: "\(argv[0]) exited \(code)")
        case let .notStarted(why): return .init(action: "command", outcome: "failed", detail: why)
        }
    }
}

/// The local syslog socket (RFC 3164 over a Unix datagram socket, as
/// syslog(3) sends it): journald and rsyslog read /dev/log.
enum Syslog {
    static let defaultSocket = "/dev/log"

    static func send(facility: Int, severity: Int, message: String, socket path: String) -> AlertRecord.Outcome {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .init(action: "syslog", outcome: "failed", detail: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let address = try? UnixSocketAddress(path: path) else {
            return .init(action: "syslog", outcome: "failed", detail: "socket path too long: \(path)")
        }
        // <PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE
        var now = time_t(Clock.realtime.now / 1_000_000_000)
        var t = tm()
        localtime_r(&now, &t)
        var stamp = [CChar](repeating: 0, count: 32)
        strftime(&stamp, stamp.count, "%b %e %H:%M:%S", &t)
        let text = "<\(facility * 8 + severity)>\(String(cString: stamp)) auditfs[\(getpid())]: \(message)"
        let payload = Array(text.utf8.prefix(8000))
        let n = address.send(payload, on: fd)
        if n < 0 { return .init(action: "syslog", outcome: "failed", detail: "\(path): \(String(cString: strerror(errno)))") }
        return .init(action: "syslog", outcome: "sent", detail: path)
    }
}
