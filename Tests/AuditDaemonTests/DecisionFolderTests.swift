import AuditRecords
import Testing
@testable import AuditDaemon

/// The bookkeeping that bounds what a flood of decisions costs
/// (docs/POLICY.md "Floods"): repeats fold, a subject's budget holds, and
/// the counts always add up to the decisions made.
@Suite struct DecisionFolderTests {
    static let second: Int64 = 1_000_000_000
    static let t0: Int64 = 1_795_000_000 * second

    static func decision(uid: UInt32 = 1000, pid: UInt32 = 7, verb: String = "list", path: String = "/", at t: Int64,
                         decision: String = "deny") -> DecisionRecord {
        DecisionRecord(time: "", timeNs: t, uid: uid, user: nil, gid: uid, group: nil, groups: nil, pid: pid, command: "ls",
                       verb: verb, path: path, decision: decision, reason: "default-deny", errno: 13, tamper: false,
                       policy: "p")
    }

    @Test func repeatsWithinTheWindowBecomeOneCountLine() {
        var f = DecisionFolder()
        #expect(f.admit(Self.decision(at: Self.t0)) == .write)
        for i in 1...500 { #expect(f.admit(Self.decision(at: Self.t0 + Int64(i) * 1_000_000)) == .folded) }
        #expect(f.due(now: Self.t0 + Self.second / 2).isEmpty)   // the window is still open
        let lines = f.due(now: Self.t0 + Self.second)
        #expect(lines.count == 1)
        #expect(lines[0].count == 500 && lines[0].folded == "repeats" && lines[0].path == "/")
        #expect(lines[0].firstNs == Self.t0 + 1_000_000 && lines[0].lastNs == Self.t0 + 500 * 1_000_000)
        // After the window, the same decision is a first again: written at once.
        #expect(f.admit(Self.decision(at: Self.t0 + 2 * Self.second)) == .write)
        #expect(f.pending == 0)
    }

    @Test func anotherPidOrPathIsAnotherDecision() {
        var f = DecisionFolder()
        #expect(f.admit(Self.decision(at: Self.t0)) == .write)
        #expect(f.admit(Self.decision(pid: 8, at: Self.t0 + 1)) == .write)
        #expect(f.admit(Self.decision(path: "/x", at: Self.t0 + 2)) == .write)
        #expect(f.admit(Self.decision(at: Self.t0 + 3)) == .folded)
    }

    /// Paths equal only by canonical equivalence are two paths: the NFD
    /// spelling's decision is written as its own line, not folded into the
    /// NFC one's (whose line would then name the wrong bytes).
    @Test func canonicallyEquivalentPathsAreTwoDecisions() {
        var f = DecisionFolder()
        #expect(f.admit(Self.decision(path: "/caf\u{E9}", at: Self.t0)) == .write)
        #expect(f.admit(Self.decision(path: "/cafe\u{301}", at: Self.t0 + 1)) == .write)
        #expect(f.admit(Self.decision(path: "/cafe\u{301}", at: Self.t0 + 2)) == .folded)
    }

    @Test func beyondTheBudgetDecisionsAreOnlyCountedWithExamples() {
        var settings = DecisionFolder.Settings()
        settings.budget = 3
        var f = DecisionFolder(settings)
        let long = "/" + String(repeating: "é", count: 300)   // 601 bytes: cut at a character boundary
        var admitted: [DecisionFolder.Admission] = []
        for i in 0..<10 { admitted.append(f.admit(Self.decision(path: "/\(i)" + long, at: Self.t0 + Int64(i)))) }
        #expect(admitted == Array(repeating: .write, count: 3) + Array(repeating: .overBudget, count: 7))
        // Another subject has its own budget.
        #expect(f.admit(Self.decision(uid: 1001, path: "/y", at: Self.t0 + 20)) == .write)
        #expect(f.due(now: Self.t0 + 2 * Self.second).allSatisfy { $0.folded != "over-budget" })
        let lines = f.due(now: Self.t0 + settings.interval)
        let summary = lines.filter { $0.folded == "over-budget" }
        #expect(summary.count == 1)
        #expect(summary[0].count == 7 && summary[0].path == "" && summary[0].uid == 1000)
        #expect(summary[0].paths?.count == 4)
        #expect(summary[0].paths!.allSatisfy { $0.utf8.count <= 256 && $0.utf8.count >= 255 && $0.contains("/é") })
        // A new interval: a new budget.
        #expect(f.admit(Self.decision(path: "/z", at: Self.t0 + settings.interval + 1)) == .write)
    }

    @Test func unrecordedLinesAreDueAtOnceAndKeepTheirCount() {
        var f = DecisionFolder()
        let d = Self.decision(at: Self.t0)
        #expect(f.admit(d) == .write)
        f.unrecorded(d)   // the write failed: the disk is full
        var line = Self.decision(at: Self.t0 + 5)
        line.count = 41
        line.firstNs = Self.t0 + 1
        line.lastNs = Self.t0 + 5
        f.unrecorded(line)
        let lines = f.due(now: Self.t0 + 10)
        #expect(lines.count == 1)
        #expect(lines[0].folded == "unrecorded" && lines[0].count == 42)
        #expect(lines[0].firstNs == Self.t0 && lines[0].lastNs == Self.t0 + 5)
    }

    /// The invariant, over a random stream: every decision is in exactly
    /// one line's count, whatever is folded, over budget or fails to write.
    @Test(arguments: [1, 2, 3, 4, 5])
    func theCountsAlwaysAddUpToTheDecisions(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var settings = DecisionFolder.Settings()
        settings.budget = 20
        settings.interval = 3 * Self.second
        var f = DecisionFolder(settings)
        var made = 0, counted = 0
        var now = Self.t0
        for _ in 0..<20_000 {
            now += Int64(rng.next() % 2_000_000)
            let d = Self.decision(uid: UInt32(1000 + rng.next() % 3), pid: UInt32(rng.next() % 4),
                                  path: "/p\(rng.next() % 30)", at: now, decision: rng.next() % 2 == 0 ? "grant" : "deny")
            made += 1
            if f.admit(d) == .write {
                if rng.next() % 10 == 0 { f.unrecorded(d) } else { counted += 1 }
            }
            if rng.next() % 50 == 0 {
                for line in f.due(now: now) {
                    if rng.next() % 10 == 0 { f.unrecorded(line) } else { counted += line.decisions }
                }
            }
        }
        for line in f.due(now: now, all: true) { counted += line.decisions }
        #expect(f.pending == 0)
        #expect(counted == made)
    }
}

@Suite struct FloodLimitsTests {
    @Test func reserveSizesAndPercentages() throws {
        let total: UInt64 = 100 << 30
        #expect(try FloodLimits.reserve("8M", total: total) == 8 << 20)
        #expect(try FloodLimits.reserve("0", total: total) == 0)
        #expect(try FloodLimits.reserve("2%", total: total) == 2 << 30)
        #expect(try FloodLimits.reserve("4096", total: total) == 4096)
        #expect(try FloodLimits.reserve(nil, total: total) == total / 100)
        #expect(try FloodLimits.reserve(nil, total: 1 << 30) == 64 << 20)
        #expect(try FloodLimits.reserve(nil, total: 64 << 20) == 8 << 20)
    }

    @Test(arguments: ["", "-1", "1.5M", "51%", "nan%", "99999999999999T", "8MB", "M", "١٢"])
    func aBadReserveIsOneLineOfError(_ text: String) {
        #expect(throws: MountError.self) { try FloodLimits.reserve(text, total: 1 << 30) }
    }

    @Test func budgets() throws {
        #expect(try FloodLimits.budget(nil) == DecisionFolder.Settings())
        #expect(try FloodLimits.budget("50").budget == 50)
        let s = try FloodLimits.budget("50/60")
        #expect(s.budget == 50 && s.interval == 60_000_000_000)
        for bad in ["0", "-5", "x", "5/0", "5/3601", "1000001", "5/", "/5", "5/5/5", "99999999999999999999"] {
            #expect(throws: MountError.self) { try FloodLimits.budget(bad) }
        }
    }
}

/// A small seeded generator (deterministic tests).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
