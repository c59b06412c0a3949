import ArgumentParser
import AuditPlumbing
import AuditQuery
import AuditRecords
import AuditStore
import Foundation

/// `auditfs query (STORE | MOUNTPOINT) [filters] [--json]`: the decision
/// records that match, through the query index (docs/QUERY.md).
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Find decision records: who was granted or denied what, when.",
        discussion: """
            Reads a store (offline, read-only) or the store behind a mount point (while the daemon \
            writes), through a derived index kept in STORE/cache/query and brought up to date from \
            the segments on every run. Without access to the store, reads MOUNTPOINT/.audit directly. \
            Example: auditfs query /var/log/audit --since -1h --decision deny
            """)

    @Argument(help: "A store directory, or the mount point of a store.") var source: String
    @OptionGroup var options: QueryOptions
    @Flag(help: "One JSON object per line, as stored.") var json = false
    @Flag(help: "Print how many records matched and how the index was used, on standard error.") var stats = false

    func run() throws {
        let filter = try options.filter(now: Clock.realtime.now)
        guard let source = AuditSource.resolve(source) else {
            throw CommandFailure("'\(self.source)' is neither an auditfs store nor an auditfs mount point")
        }
        let out = OutputBuffer()
        if !json { out.write(DecisionTable.header) }
        var matched = 0, decisions = 0
        let body: (DecisionRecord?, [UInt8]) -> Void = { d, line in
            matched += 1
            decisions += d?.decisions ?? DecisionTable.decisions(inLine: line)
            if json { out.write(line); out.write([0x0A]) } else if let d { out.write(DecisionTable.row(d)) }
        }
        do {
            switch source {
            case let .store(path):
                let index = try QueryIndex.search(store: path, filter, decode: !json, body)
                if stats {
                    let note = index.rebuiltBecause.map { "rebuilt (\($0))" } ?? "up to date"
                    FileHandle.standardError.write(Data("query: \(matched) of \(index.count) lines (\(decisions) decisions); index \(note)\(index.saved ? "" : ", not saved (cache not writable)")\n".utf8))
                }
            case let .mounted(dir):
                try MountedAudit.search(dir, filter, body)
                if stats { FileHandle.standardError.write(Data("query: \(matched) lines (\(decisions) decisions), read through the mount\n".utf8)) }
            }
        } catch let e as StoreError {
            out.flush()
            throw CommandFailure(e.description, code: e.isDamage ? 1 : 2)
        } catch {
            out.flush()
            throw CommandFailure("\(error)")
        }
        out.flush()
    }
}

/// The human table of decision records.
enum DecisionTable {
    static let header = Array((pad("TIME", 30) + " " + pad("USER", 12) + " " + lpad("UID", 6) + " " + pad("COMMAND", 15) + " "
        + pad("VERB", 10) + " " + pad("DECISION", 8) + " " + pad("WHY", 22) + " PATH\n").utf8)

    static func row(_ d: DecisionRecord) -> [UInt8] {
        let decision = d.tamper ? "TAMPER" : d.decision
        let why = d.role.map { "role " + $0 } ?? d.mountRule ?? d.reason
        var path = d.path
        if let t = d.target { path += " -> " + t }
        // A count line (docs/POLICY.md "Floods"): how many, of what kind, over which span.
        if let c = d.count {
            if path.isEmpty { path = (d.paths ?? []).joined(separator: " ") }
            path += " [\(c)× \(d.folded ?? "folded")\(d.first.map { ", " + $0 } ?? "")\(d.last.map { " .. " + $0 } ?? "")]"
        }
        let e = TerminalText.escape
        return Array((pad(e(d.time), 30) + " " + pad(e(d.user ?? "-"), 12) + " " + lpad(String(d.uid), 6) + " " + pad(e(d.command), 15) + " "
            + pad(e(d.verb), 10) + " " + pad(e(decision), 8) + " " + pad(e(why), 22) + " " + e(path) + "\n").utf8)
    }

    /// How many decisions an undecoded line stands for: a count line
    /// (docs/POLICY.md "Floods") is decoded for its count; any other is one.
    static func decisions(inLine line: [UInt8]) -> Int {
        let key = Array(#""count":"#.utf8)
        guard line.count >= key.count, (0...(line.count - key.count)).contains(where: { line[$0..<$0 + key.count].elementsEqual(key) })
        else { return 1 }
        return (try? JSONDecoder().decode(DecisionRecord.self, from: Data(line)))?.decisions ?? 1
    }

    static func pad(_ s: String, _ n: Int) -> String { s.rightPadded(n) }
    static func lpad(_ s: String, _ n: Int) -> String { s.leftPadded(n, " ") }
}

/// Buffered standard output (a query can print a million lines).
final class OutputBuffer {
    private var buffer: [UInt8] = []
    init() { buffer.reserveCapacity(1 << 16) }
    func write(_ bytes: [UInt8]) {
        buffer += bytes
        if buffer.count >= 1 << 16 { flush() }
    }
    func flush() {
        var at = 0
        while at < buffer.count {
            let n = buffer[at...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if n <= 0 { if errno == EINTR { continue }; break }
            at += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
