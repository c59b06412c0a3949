import AuditPolicy
import AuditStore
import Foundation
import Synchronization

/// Writes the audit namespace, `/.audit`, through the Store API with the
/// daemon's own provenance (never through the mount, which refuses every
/// change under /.audit). Each JSON line is one append record, so a line is
/// never torn or interleaved, and every byte is in the store's chains.
///
/// Layout (docs/POLICY.md):
///   /.audit/decisions/YYYY-MM-DD.jsonl   one line per decision (UTC day)
///   /.audit/policy/SHA256.yaml           every policy text enforced
///   /.audit/policy/changes.jsonl         one line per load or reload
///   /.audit/events.jsonl                 mount, unmount, torn-tail recovery, reloads
final class AuditLog: Sendable {
    static let decisionsDirectory = Store.auditRoot + "/decisions"
    static let policyDirectory = Store.auditRoot + "/policy"
    static let changesFile = policyDirectory + "/changes.jsonl"
    static let eventsFile = Store.auditRoot + "/events.jsonl"

    static let alertsFile = AuditFiles.alerts

    let store: Store
    /// The daemon's provenance: what the records under /.audit carry.
    let daemon: Provenance
    /// Today's decisions file: its day and id.
    private let today = Mutex<(day: String, id: UInt64)?>(nil)
    /// The policy's alerts: handed every recorded denial and reload; records
    /// what it sent in /.audit/alerts.jsonl.
    let alerts: AlertDispatcher

    init(store: Store, alerts: AlertDispatcher = AlertDispatcher(rules: [], mountpoint: nil)) throws(StoreError) {
        self.store = store
        self.daemon = Provenance.current()
        self.alerts = alerts
        try store.ensureAuditDirectories(by: daemon)
        alerts.attach(self)
    }

    var now: Int64 { store.options.clock() }

    // MARK: Decisions

    func record(_ d: DecisionRecord) throws(StoreError) {
        let id = try decisionsFile(day: Timestamps.day(d.timeNs))
        _ = try store.append(id, Self.line(d), by: daemon)
        if d.decision == "deny" { alerts.denied(d) }
    }

    private func decisionsFile(day: String) throws(StoreError) -> UInt64 {
        if let t = today.withLock({ $0 }), t.day == day { return t.id }
        let node = try store.ensureFile(Self.decisionsDirectory + "/" + day + ".jsonl", by: daemon)
        today.withLock { $0 = (day, node.id) }
        return node.id
    }

    // MARK: Events and policy changes

    func event(_ e: EventRecord) throws(StoreError) {
        try append(Self.eventsFile, Self.line(e))
    }

    func policyChange(_ c: PolicyChangeRecord) throws(StoreError) {
        try append(Self.changesFile, Self.line(c))
        alerts.policyChanged(c)
    }

    /// An alert that was sent, with its actions' outcomes.
    func alert(_ a: AlertRecord) throws(StoreError) {
        try append(Self.alertsFile, Self.line(a))
    }

    /// Keeps the text of a policy as /.audit/policy/SHA256.yaml (once per
    /// text) and returns that path.
    @discardableResult
    func keep(_ policy: AccessPolicy) throws(StoreError) -> String {
        let path = Self.policyDirectory + "/" + policy.sha256 + ".yaml"
        if store.lookup(path) != nil { return path }
        let node = try store.ensureFile(path, by: daemon)
        if node.size == 0 && !policy.text.isEmpty { _ = try store.append(node.id, Array(policy.text.utf8), by: daemon) }
        return path
    }

    /// The policy the store enforced last (the newest accepted line of
    /// changes.jsonl), with its text, or nil.
    func lastEnforcedPolicy() -> (sha256: String, text: String?)? {
        guard let bytes = try? store.contents(of: Self.changesFile) else { return nil }
        let decoder = JSONDecoder()
        for line in bytes.split(separator: UInt8(ascii: "\n")).reversed() {
            guard let c = try? decoder.decode(PolicyChangeRecord.self, from: Data(line)),
                  c.outcome != "rejected", let sha = c.new else { continue }
            let text = (try? store.contents(of: Self.policyDirectory + "/" + sha + ".yaml"))
                .flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) }
            return (sha, text)
        }
        return nil
    }

    private func append(_ path: String, _ bytes: [UInt8]) throws(StoreError) {
        let node = try store.ensureFile(path, by: daemon)
        _ = try store.append(node.id, bytes, by: daemon)
    }

    /// One JSON object and a newline: Foundation's encoder, sorted keys.
    static func line(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}
