import ArgumentParser
import AuditPlumbing
import AuditPolicy
import AuditStore
import Foundation

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print the block history: who wrote what, when, where.")

    @OptionGroup var store: StoreArgument
    @Argument(help: ArgumentHelp("Only the records of the files that bore this path, or a path under this directory, at any time: every record of each, under every name it had (renamed, retired).")) var path: String?
    @Flag(help: "One JSON object per line.") var json = false
    @Option(parsing: .unconditional, help: "Only records at or after this time: RFC 3339, a date, or relative (-1h, -30m, -2d).") var since: String?
    @Option(parsing: .unconditional, help: "Only records before this time (same forms as --since).") var until: String?
    @Option(help: "Only records written by this user (a name or a uid).") var user: String?
    @Option(help: "Only records written by this command name (as in /proc/PID/comm).") var command: String?

    private func times() throws -> (since: Int64?, until: Int64?) {
        let now = Clock.realtime.now
        return (try since.map { try cliTime("--since", $0, now: now) }, try until.map { try cliTime("--until", $0, now: now) })
    }

    private func uid() throws -> UInt32? {
        guard let user else { return nil }
        if let n = UInt32(user) { return n }
        guard let uid = SystemUsers.uid(ofUser: user) else { throw CommandFailure("--user '\(user)': no such user on this host (give a uid)") }
        return uid
    }

    /// The files to follow: every file id that bore `filter` (or a path
    /// below it) at one of its records, before or after a rename. One pass
    /// over the store; memory is one id per such file.
    private func files(bearing filter: String) throws(StoreError) -> Set<UInt64> {
        func matches(_ p: String) -> Bool { p.sameBytes(as: filter) || p.hasBytePrefix(filter + "/") }
        var ids = Set<UInt64>()
        try History.read(at: store.store) { e in
            if matches(e.path) || e.from.map(matches) == true { ids.insert(e.file) }
        }
        return ids
    }

    func run() throws {
        let filter = try path.map(parsePath)
        let (since, until) = try times()
        let wantUID = try uid()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if !json {
            print("SEQ".leftPadded(6, " "), "TIME".padding(toLength: 30, withPad: " ", startingAt: 0), "UID".leftPadded(5, " "),
                  "GID".leftPadded(5, " "), "PID".leftPadded(7, " "), "COMMAND".padding(toLength: 15, withPad: " ", startingAt: 0),
                  "OP".padding(toLength: 7, withPad: " ", startingAt: 0), "OFFSET".leftPadded(10, " "), "LENGTH".leftPadded(8, " "),
                  "HASH".padding(toLength: 16, withPad: " ", startingAt: 0), "PATH")
        }
        do {
            var follow: Set<UInt64>?
            if let filter, !filter.sameBytes(as: "/") { follow = try files(bearing: filter) }
            try History.read(at: store.store) { e in
                if let follow, !follow.contains(e.file) { return }
                if let since, e.time < since { return }
                if let until, e.time >= until { return }
                if let wantUID, e.uid != wantUID { return }
                if let command, e.command != command { return }
                if json {
                    var line = try! encoder.encode(JSONEntry(e))
                    line.append(0x0A)
                    FileHandle.standardOutput.write(line)
                } else {
                    print(String(e.seq).leftPadded(6, " "), Timestamps.rfc3339(e.time), String(e.uid).leftPadded(5, " "),
                          String(e.gid).leftPadded(5, " "), String(e.pid).leftPadded(7, " "),
                          DecisionTable.pad(TerminalText.escape(e.command), 15),   // padded, never cut: an escape stays whole
                          (e.reason ?? e.kind).padding(toLength: 7, withPad: " ", startingAt: 0),
                          (e.offset.map(String.init) ?? "-").leftPadded(10, " "), String(e.length).leftPadded(8, " "),
                          String(e.recordHash.prefix(16)),
                          e.from.map { TerminalText.escape($0) + " -> " + TerminalText.escape(e.to ?? e.path) } ?? TerminalText.escape(e.path))
                }
            }
        } catch {
            throw CommandFailure(error.description, code: error.isDamage ? 1 : 2)
        }
    }
}

/// The JSON shape of a history line: times as RFC 3339 and as nanoseconds;
/// a rename record adds `from`, `to` and `reason` (rename, unlink, rmdir,
/// replaced), its `path` being the new one.
struct JSONEntry: Encodable {
    let seq: UInt64, time: String, timeNs: Int64, op: String, uid: UInt32, gid: UInt32, pid: UInt32
    let command: String, path: String, file: UInt64, offset: UInt64?, length: UInt64, recordHash: String
    let segment: String, position: UInt64
    let from: String?, to: String?, reason: String?

    init(_ e: HistoryEntry) {
        seq = e.seq; time = Timestamps.rfc3339(e.time); timeNs = e.time; op = e.kind; uid = e.uid; gid = e.gid; pid = e.pid
        command = e.command; path = e.path; file = e.file; offset = e.offset; length = e.length; recordHash = e.recordHash
        segment = e.segment; position = e.position
        from = e.from; to = e.to; reason = e.reason
    }
}
