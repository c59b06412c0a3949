import AuditPlumbing
import AuditPolicy
import AuditStore
import Foundation
import Synchronization

/// Writes the audit namespace, `/.audit`, through the Store API with the
/// daemon's own provenance (never through the mount, which refuses every
/// change under /.audit). Each JSON line is one append record, so a line is
/// never torn or interleaved, and every byte is in the store's chains.
///
/// Decisions go through a `DecisionFolder` first: repeats and a subject's
/// decisions beyond its budget become count lines, written by a flusher
/// thread (`startFlushing`) and at unmount (`stopFlushing`) — so what a
/// flood of decisions costs is bounded (docs/POLICY.md "Floods").
///
/// Where each record goes: `AuditLayout` (AuditRecords).
final class AuditLog: Sendable {
    let store: Store
    /// The daemon's provenance: what the records under /.audit carry.
    let daemon: Provenance
    /// Today's decisions file: its day and id.
    private let today = Mutex<(day: String, id: UInt64)?>(nil)
    /// The policy's alerts: handed every recorded denial and reload; records
    /// what it sent in /.audit/alerts.jsonl.
    let alerts: AlertDispatcher
    /// What is counted rather than written, and when the counts are due.
    /// Lock order: a leaf, like `today` — held only while the folder
    /// decides or hands back lines, never across a Store append or a call
    /// to the alerts (the Store's lock is taken after it is released).
    private let folder: Mutex<DecisionFolder>
    private let flusher = Mutex<(stop: DispatchSemaphore, done: DispatchSemaphore)?>(nil)

    init(store: Store, alerts: AlertDispatcher = AlertDispatcher(rules: [], mountpoint: nil),
         folding: DecisionFolder.Settings = DecisionFolder.Settings()) throws(StoreError) {
        self.store = store
        self.daemon = Provenance.current()
        self.alerts = alerts
        self.folder = Mutex(DecisionFolder(folding))
        for d in AuditLayout.directories { try store.ensureDirectory(d, by: daemon) }
        alerts.attach(self)
    }

    var now: Int64 { store.options.clock() }

    // MARK: Decisions

    /// Records one decision: written now if it is the first of its kind
    /// within the window and its subject is within budget, else counted
    /// (returns at once). Throws when it had to be written and could not
    /// (`noSpace` on a full disk); it is then counted as unrecorded, to be
    /// written when space returns. Every denial reaches the alerts (rate
    /// rules count them all; other rules fire on the lines written).
    func record(_ d: DecisionRecord) throws(StoreError) {
        let admission = folder.withLock { $0.admit(d) }
        if d.decision == "deny" { alerts.denied(d, recorded: admission == .write) }
        guard admission == .write else { return }
        do {
            try write(decision: d)
        } catch {
            folder.withLock { $0.unrecorded(d) }
            throw error
        }
    }

    /// Writes the count lines that are due (`all`: every count, at unmount).
    /// A line that cannot be written stays counted, as unrecorded.
    func flushDecisions(all: Bool = false) {
        let lines = folder.withLock { $0.due(now: now, all: all) }
        var failed = 0
        for line in lines {
            do { try write(decision: line) } catch {
                if all { failed += line.decisions } else { folder.withLock { $0.unrecorded(line) } }
            }
        }
        if failed > 0 { Log.error("\(failed) decisions could not be recorded at unmount (the store is full or failing)") }
    }

    /// Starts the thread that writes the due count lines, four times a second.
    func startFlushing() {
        let signals = (stop: DispatchSemaphore(value: 0), done: DispatchSemaphore(value: 0))
        flusher.withLock { $0 = signals }
        Thread.detachNewThread { [self] in
            while signals.stop.wait(timeout: .now() + .milliseconds(250)) == .timedOut { flushDecisions() }
            signals.done.signal()
        }
    }

    /// Stops the flusher and writes every count still held (unmount).
    func stopFlushing() {
        if let signals = flusher.withLock({ f in defer { f = nil }; return f }) {
            signals.stop.signal()
            signals.done.wait()
        }
        flushDecisions(all: true)
    }

    private func write(decision d: DecisionRecord) throws(StoreError) {
        let id = try decisionsFile(day: Timestamps.day(d.timeNs))
        _ = try store.append(id, Self.line(d), by: daemon)
    }

    private func decisionsFile(day: String) throws(StoreError) -> UInt64 {
        if let t = today.withLock({ $0 }), t.day == day { return t.id }
        let node = try store.ensureFile(AuditLayout.decisions(day: day), by: daemon)
        today.withLock { $0 = (day, node.id) }
        return node.id
    }

    // MARK: Events and policy changes

    func event(_ e: EventRecord) throws(StoreError) {
        try append(AuditLayout.events, Self.line(e))
    }

    /// An event that does not by itself call for a checkpoint (a witness's
    /// outcome): returns its record's position in the tree (the tree size
    /// just before it), for `CheckpointSchedule`.
    func eventPosition(_ e: EventRecord) throws(StoreError) -> UInt64 {
        try store.appendNote(to: AuditLayout.events, by: daemon) { _, _ in Self.line(e) }.size
    }

    func policyChange(_ c: PolicyChangeRecord) throws(StoreError) {
        try append(AuditLayout.changes, Self.line(c))
        alerts.policyChanged(c)
    }

    /// An alert that was sent, with its actions' outcomes.
    func alert(_ a: AlertRecord) throws(StoreError) {
        try append(AuditLayout.alerts, Self.line(a))
    }

    /// Keeps the text of a policy as /.audit/policy/SHA256.yaml (once per
    /// text) and returns that path.
    @discardableResult
    func keep(_ policy: AccessPolicy) throws(StoreError) -> String {
        let path = AuditLayout.policy(sha256: policy.sha256)
        if store.lookup(path) != nil { return path }
        let node = try store.ensureFile(path, by: daemon)
        if node.size == 0 && !policy.text.isEmpty { _ = try store.append(node.id, Array(policy.text.utf8), by: daemon) }
        return path
    }

    /// The policy the store enforced last (the newest accepted line of
    /// changes.jsonl), with its text, or nil.
    func lastEnforcedPolicy() -> (sha256: String, text: String?)? {
        guard let bytes = try? store.contents(of: AuditLayout.changes) else { return nil }
        let decoder = JSONDecoder()
        for line in bytes.split(separator: UInt8(ascii: "\n")).reversed() {
            guard let c = try? decoder.decode(PolicyChangeRecord.self, from: Data(line)),
                  c.outcome != "rejected", let sha = c.new else { continue }
            let text = (try? store.contents(of: AuditLayout.policy(sha256: sha)))
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
