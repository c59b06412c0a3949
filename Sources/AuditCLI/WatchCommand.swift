import ArgumentParser
import AuditPlumbing
import AuditQuery
import AuditRecords
import AuditStore
import Foundation

/// `auditfs watch MOUNTPOINT [filters] [--json]`: follows the /.audit
/// records as they are written, like `tail -f` (docs/QUERY.md "Watch").
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow new decisions, tamper attempts, policy changes, daemon events and alerts as they are recorded.",
        discussion: """
            Starts at the end and prints each new record until interrupted. With decision filters \
            (--user, --path, --decision, --tamper, …) only matching decisions are shown; otherwise \
            policy changes, daemon events and alerts are shown too. Reads the store's segments \
            directly (checked frame by frame); without access to the store, follows MOUNTPOINT/.audit.
            """)

    @Argument(help: "The mount point (or a store directory).") var source: String
    @OptionGroup var options: QueryOptions
    @Flag(help: "One JSON object per line: {\"source\": decisions|policy|events|alerts, \"record\": …}.") var json = false
    @Option(help: .hidden) var interval: Int = 50
    @Option(name: .customLong("exit-after"), help: .hidden) var exitAfter: Int?

    func run() throws {
        guard (1...60_000).contains(interval) else { throw CommandFailure("--interval \(interval): expected milliseconds from 1 to 60000") }
        if let exitAfter, exitAfter < 1 { throw CommandFailure("--exit-after \(exitAfter): expected a count of 1 or more") }
        let filter = try options.filter(now: Clock.realtime.now)
        guard let resolved = AuditSource.resolve(source) else {
            throw CommandFailure("'\(source)' is neither an auditfs store nor an auditfs mount point")
        }
        var printer = WatchPrinter(filter: filter, json: json, exitAfter: exitAfter)
        do {
            switch resolved {
            case let .store(path):
                // Start where the index ends: the index knows the /.audit files.
                let index = try QueryIndex.open(store: path)
                let follower = try AuditFollower(store: path, from: index.position, segments: index.segments,
                                                 auditFiles: index.auditFilesCache)
                while true {
                    try follower.poll { line in try printer.line(path: line.path, bytes: Array(line.bytes)) }
                    usleep(UInt32(interval) * 1000)
                }
            case let .mounted(dir):
                var tail = MountedTail(auditDir: dir)
                tail.skipToEnd()
                while true {
                    try tail.poll { path, bytes in try printer.line(path: path, bytes: bytes) }
                    usleep(UInt32(interval) * 1000)
                }
            }
        } catch is WatchPrinter.Done {
            return
        } catch let e as StoreError {
            throw CommandFailure(e.description, code: e.isDamage ? 1 : 2)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

struct WatchPrinter {
    let filter: QueryFilter
    let json: Bool
    let exitAfter: Int?
    var printed = 0
    let decoder = JSONDecoder()

    /// Thrown when `--exit-after` records are printed: the watch ends there, with status 0.
    struct Done: Error {}

    mutating func line(path: String, bytes: [UInt8]) throws(Done) {
        let source: String
        var text: String
        if AuditLayout.isDecisions(path) {
            guard let d = try? decoder.decode(DecisionRecord.self, from: Data(bytes)), filter.matches(d) else { return }
            source = "decisions"
            text = String(decoding: DecisionTable.row(d).dropLast(), as: UTF8.self)
        } else {
            if filter.isDecisionsOnly { return }
            switch path {
            case AuditLayout.changes:
                guard let c = try? decoder.decode(PolicyChangeRecord.self, from: Data(bytes)), filter.matches(time: c.timeNs) else { return }
                source = "policy"
                text = "\(c.time) policy \(c.event) \(c.outcome) by \(c.by.user ?? String(c.by.uid)) via \(c.by.via)"
                if let e = c.error { text += ": " + e }
            case AuditLayout.events:
                guard let e = try? decoder.decode(EventRecord.self, from: Data(bytes)), filter.matches(time: e.timeNs) else { return }
                source = "events"
                text = "\(e.time) event \(e.event)" + (e.mountpoint.map { " " + $0 } ?? "") + (e.error.map { ": " + $0 } ?? "")
                    + (e.detail.map { ": " + $0 } ?? "")
            case AuditLayout.alerts:
                guard let a = try? decoder.decode(AlertRecord.self, from: Data(bytes)), filter.matches(time: a.timeNs) else { return }
                source = "alerts"
                text = "\(a.time) ALERT \(a.alert) [\(a.severity)] \(a.message)"
            default:
                return
            }
            text = TerminalText.escape(text)   // the decisions table escapes its own fields
        }
        if json {
            FileHandle.standardOutput.write(Data(("{\"source\":\"\(source)\",\"record\":" + String(decoding: bytes, as: UTF8.self) + "}\n").utf8))
        } else {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
        printed += 1
        if let exitAfter, printed >= exitAfter { throw Done() }
    }
}

/// Follows the files of a mounted /.audit by size (for a user who cannot
/// read the store): new complete lines of each file.
struct MountedTail {
    let auditDir: String
    var offsets: [String: UInt64] = [:]

    init(auditDir: String) { self.auditDir = auditDir }

    func files() -> [String] {
        let days = (try? FileManager.default.contentsOfDirectory(atPath: local(AuditLayout.decisionsDirectory))) ?? []
        return days.filter { AuditLayout.day(ofDecisionsFile: $0) != nil }.sorted().map { AuditLayout.decisionsDirectory + "/" + $0 }
            + [AuditLayout.changes, AuditLayout.events, AuditLayout.alerts]
    }

    private func local(_ path: String) -> String { AuditLayout.path(path, in: auditDir) }

    mutating func skipToEnd() {
        for f in files() {
            if let a = try? FileManager.default.attributesOfItem(atPath: local(f)), let s = a[.size] as? UInt64 { offsets[f] = s }
        }
    }

    mutating func poll<E: Error>(_ body: (String, [UInt8]) throws(E) -> Void) throws(E) {
        for f in files() {
            guard let h = FileHandle(forReadingAtPath: local(f)) else { continue }
            defer { try? h.close() }
            let at = offsets[f] ?? 0
            try? h.seek(toOffset: at)
            guard let data = try? h.readToEnd(), !data.isEmpty, let lastNL = data.lastIndex(of: 0x0A) else { continue }
            let complete = data[data.startIndex...lastNL]
            for line in complete.split(separator: 0x0A) where !line.isEmpty { try body(f, Array(line)) }
            offsets[f] = at + UInt64(complete.count)
        }
    }
}
