import AuditPlumbing
import AuditRecords
import AuditStore

/// What a flood of decisions may cost the store (docs/POLICY.md "Floods"):
/// the bookkeeping that decides, for each decision, whether it is written
/// now as its own line or counted into a line written later. No I/O and no
/// clock of its own (times come with the records): `AuditLog` holds it
/// under a lock and writes what it hands back.
///
/// - The first decision of a kind is written at once (before the caller
///   gets the answer). Identical decisions after it — every field but the
///   time the same: subject (uid, gid, groups, pid, command), verb, path,
///   target, outcome, reason, rule, errno, policy — within `window` of it
///   are only counted, and written as one `folded: "repeats"` line with
///   the count and the first and last time when the window ends.
/// - A subject (uid) has a budget of `budget` first-occurrence lines per
///   `interval`. Beyond it its decisions are only counted, per (verb,
///   outcome, reason, errno, mount rule), in one `folded: "over-budget"`
///   line per interval with the count, span and `examples` paths.
/// - A line that could not be written (the disk full) is counted in the
///   same way as `folded: "unrecorded"` and written when space returns.
///
/// Every decision is in exactly one line's count, so the sum of the counts
/// is the number of decisions. Memory: one entry per line written in the
/// last window, plus per subject a budget and a few summaries.
struct DecisionFolder {
    struct Settings: Sendable, Equatable {
        /// How long repeats of a decision are folded into one line (ns).
        var window: Int64 = 1_000_000_000
        /// First-occurrence lines a subject may cause per interval.
        var budget: Int = 1000
        var interval: Int64 = 10_000_000_000
        /// Example paths kept in a summary line, and the bytes kept of each.
        var examples = 4
        var exampleBytes = 256
    }

    enum Admission: Equatable { case write, folded, overBudget }

    private struct Repeats {
        var template: DecisionRecord
        var opened: Int64
        var count = 0
        var first: Int64 = 0
        var last: Int64 = 0
    }

    private struct Budget {
        var start: Int64
        var used = 0
    }

    private struct SummaryKey: Hashable {
        var kind: String
        var uid: UInt32
        var verb: String
        var decision: String
        var reason: String
        var errno: Int32
        var tamper: Bool
        var mountRule: String?
    }

    private struct Summary {
        var template: DecisionRecord
        var opened: Int64
        var count = 0
        var first: Int64 = .max
        var last: Int64 = .min
        var paths: [String] = []
    }

    let settings: Settings
    private var repeats: [RepeatKey: Repeats] = [:]
    private var budgets: [UInt32: Budget] = [:]
    private var summaries: [SummaryKey: Summary] = [:]
    /// Repeat lines whose window ended, waiting for `due`.
    private var closed: [DecisionRecord] = []

    init(_ settings: Settings = Settings()) { self.settings = settings }

    /// Decisions counted but not yet in a written line (for the tests and
    /// the unmount's log line).
    var pending: Int {
        repeats.values.reduce(0) { $0 + $1.count } + summaries.values.reduce(0) { $0 + $1.count }
            + closed.reduce(0) { $0 + $1.decisions }
    }

    /// Decides what becomes of one decision (with `timeNs` set, no count).
    mutating func admit(_ d: DecisionRecord) -> Admission {
        let key = Self.key(d)
        if var r = repeats[key], d.timeNs - r.opened < settings.window {
            if r.count == 0 { r.first = d.timeNs }
            r.count += 1
            r.first = min(r.first, d.timeNs)
            r.last = max(r.last, d.timeNs)
            repeats[key] = r
            return .folded
        }
        var b = budgets[d.uid] ?? Budget(start: d.timeNs)
        if d.timeNs - b.start >= settings.interval || d.timeNs < b.start { b = Budget(start: d.timeNs) }
        guard b.used < settings.budget else {
            budgets[d.uid] = b
            count("over-budget", d, decisions: 1, first: d.timeNs, last: d.timeNs, opened: b.start)
            return .overBudget
        }
        b.used += 1
        budgets[d.uid] = b
        if let r = repeats[key], r.count > 0 { closed.append(Self.foldLine(r)) }   // its window ended before `due` ran
        repeats[key] = Repeats(template: d, opened: d.timeNs)
        return .write
    }

    /// A line that could not be written (the disk full): its decisions are
    /// counted, to be written as one "unrecorded" line when space returns.
    mutating func unrecorded(_ d: DecisionRecord) {
        count("unrecorded", d, decisions: d.decisions, first: d.firstNs ?? d.timeNs, last: d.lastNs ?? d.timeNs,
              paths: d.paths)
    }

    /// The lines due at `now`: repeats whose window ended, summaries whose
    /// interval ended, and every unrecorded count (`all`: everything, at
    /// unmount). Each has its time set to `now`.
    mutating func due(now: Int64, all: Bool = false) -> [DecisionRecord] {
        var out = closed.map { Self.stamped($0, now) }
        closed = []
        for (key, r) in repeats where all || now - r.opened >= settings.window || now < r.opened {
            repeats[key] = nil
            if r.count > 0 { out.append(Self.stamped(Self.foldLine(r), now)) }
        }
        for (key, s) in summaries
        where all || key.kind == "unrecorded" || now - s.opened >= settings.interval || now < s.opened {
            summaries[key] = nil
            var line = s.template
            line.count = s.count
            line.folded = key.kind
            line.path = ""
            line.target = nil
            line.paths = s.paths
            Self.span(&line, s.first, s.last)
            out.append(Self.stamped(line, now))
        }
        for (uid, b) in budgets where all || now - b.start >= settings.interval || now < b.start { budgets[uid] = nil }
        return out.sorted { ($0.firstNs ?? 0, $0.verb) < ($1.firstNs ?? 0, $1.verb) }
    }

    private static func foldLine(_ r: Repeats) -> DecisionRecord {
        var line = r.template
        line.count = r.count
        line.folded = "repeats"
        span(&line, r.first, r.last)
        return line
    }

    private mutating func count(_ kind: String, _ d: DecisionRecord, decisions: Int, first: Int64, last: Int64,
                                paths: [String]? = nil, opened: Int64? = nil) {
        let key = SummaryKey(kind: kind, uid: d.uid, verb: d.verb, decision: d.decision, reason: d.reason, errno: d.errno,
                             tamper: d.tamper, mountRule: d.mountRule)
        var s = summaries[key] ?? Summary(template: Self.summaryTemplate(d), opened: opened ?? d.timeNs)
        s.count += decisions
        s.first = min(s.first, first)
        s.last = max(s.last, last)
        for p in (paths ?? [d.path] + (d.target.map { [$0] } ?? [])) where !p.isEmpty && s.paths.count < settings.examples {
            let cut = Self.cut(p, settings.exampleBytes)
            if !s.paths.contains(cut) { s.paths.append(cut) }
        }
        summaries[key] = s
    }

    /// A summary keeps the fields its key shares, and the subject and policy of its first decision.
    private static func summaryTemplate(_ d: DecisionRecord) -> DecisionRecord {
        var t = d
        t.role = nil; t.binding = nil; t.bindingLine = nil; t.rule = nil; t.glob = nil
        t.count = nil; t.folded = nil; t.first = nil; t.firstNs = nil; t.last = nil; t.lastNs = nil; t.paths = nil
        return t
    }

    /// The identity of a decision: the record with its times cleared.
    private static func key(_ d: DecisionRecord) -> RepeatKey {
        var k = d
        k.time = ""
        k.timeNs = 0
        return RepeatKey(record: k)
    }

    /// A decision as a repeat is recognised: every field but the time equal,
    /// and the caller's strings (path, target, command) equal to the byte.
    /// DecisionRecord's own == compares strings by canonical equivalence, so
    /// an NFD path's decision would fold into an NFC one's line and its
    /// path never be recorded (FORMAT.md "Paths": names are bytes). Bytewise
    /// equal implies equal, so the record's hash serves.
    private struct RepeatKey: Hashable {
        let record: DecisionRecord

        static func == (a: RepeatKey, b: RepeatKey) -> Bool {
            a.record == b.record && a.record.path.sameBytes(as: b.record.path)
                && a.record.command.sameBytes(as: b.record.command)
                && (a.record.target ?? "").sameBytes(as: b.record.target ?? "")
        }

        func hash(into hasher: inout Hasher) { hasher.combine(record) }
    }

    private static func span(_ line: inout DecisionRecord, _ first: Int64, _ last: Int64) {
        line.firstNs = first
        line.first = Timestamps.rfc3339(first)
        line.lastNs = last
        line.last = Timestamps.rfc3339(last)
    }

    private static func stamped(_ line: DecisionRecord, _ now: Int64) -> DecisionRecord {
        var l = line
        l.timeNs = now
        l.time = Timestamps.rfc3339(now)
        return l
    }

    /// At most `limit` bytes of `s`, cut at a character boundary.
    static func cut(_ s: String, _ limit: Int) -> String {
        let u = Array(s.utf8)
        guard u.count > limit else { return s }
        var n = limit
        while n > 0 && u[n] & 0xC0 == 0x80 { n -= 1 }
        return String(decoding: u[0..<n], as: UTF8.self)
    }
}
