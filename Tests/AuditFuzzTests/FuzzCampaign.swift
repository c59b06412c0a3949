import Foundation
import Glibc

/// Runs one fuzz target: each iteration mutates a seed input and runs the
/// target on it. A thrown error is an expected outcome (bad input refused);
/// a crash (trap, overflow) kills the process, and a hang trips the
/// watchdog. Either way the input that did it is left in
/// `.build/fuzz/<target>.crash` (written before every execution) for
/// minimising into fixtures/fuzz/<target>/.
///
/// Environment (docs/TESTING.md):
///   AUDITFS_FUZZ_ITERATIONS  executions per target (default: each target's own, a few seconds)
///   AUDITFS_FUZZ_SECONDS     run each target for this long instead
///   AUDITFS_FUZZ_SEED        the mutator's seed (default fixed, so CI runs the same inputs)
///   AUDITFS_FUZZ_HANG        seconds one input may take before it counts as a hang (default 60)
///   AUDITFS_FUZZ_OUTCOMES    set: print how often each outcome happened
struct FuzzCampaign {
    struct Report: CustomStringConvertible {
        var target: String
        var executions = 0
        var refused = 0
        /// Inputs that broke a property the target checks (saved in .build/fuzz/<target>.violation-N).
        var violations: [String] = []
        var outcomes: [String: Int] = [:]
        var slowest: Double = 0
        var seconds: Double = 0
        var seed: UInt64 = 0
        var description: String {
            "fuzz \(target): \(executions) executions, 0 crashes, 0 hangs, \(violations.count) violations, \(refused) refused with an error, "
                + "\(outcomes.count) distinct outcomes, slowest input \(Int(slowest * 1000)) ms, "
                + "\(String(format: "%.1f", seconds)) s, seed \(seed)"
        }
    }

    let target: String
    let seeds: [[UInt8]]
    var dictionary: [String] = []
    /// Default executions when AUDITFS_FUZZ_ITERATIONS is not set.
    var iterations: Int
    /// A target-specific mutation applied instead of the generic one with
    /// probability 1/2 (e.g. re-chaining a mutated record so it passes the hashes).
    var structured: ((inout Mutator.Random, [UInt8]) -> [UInt8]?)?

    init(target: String, seeds: [[UInt8]], dictionary: [String] = [], iterations: Int,
         structured: ((inout Mutator.Random, [UInt8]) -> [UInt8]?)? = nil) {
        precondition(!seeds.isEmpty)
        self.target = target; self.seeds = seeds; self.dictionary = dictionary; self.iterations = iterations
        self.structured = structured
    }

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Runs the campaign; `execute` returns a short name of the outcome (or throws).
    func run(_ execute: ([UInt8]) throws -> String) -> Report {
        let env = Self.environment
        let seed = env["AUDITFS_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x4155_4449_5446_5331
        let count = env["AUDITFS_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? iterations
        let seconds = env["AUDITFS_FUZZ_SECONDS"].flatMap { Double($0) }
        var report = Report(target: target, seed: seed)
        var mutator = Mutator(seed: seed ^ UInt64(truncatingIfNeeded: target.hashValueStable), dictionary: dictionary)
        let crumb = Breadcrumb(target: target)
        let watchdog = Watchdog(target: target, crumb: crumb,
                                limit: env["AUDITFS_FUZZ_HANG"].flatMap { Double($0) } ?? 60)
        let start = Date()
        var i = 0
        // The seeds themselves first, unmutated: they must pass.
        while seconds.map({ Date().timeIntervalSince(start) < $0 }) ?? (i < count + seeds.count) {
            let input: [UInt8]
            if i < seeds.count {
                input = seeds[i]
            } else {
                let a = seeds[mutator.random.below(seeds.count)], b = seeds[mutator.random.below(seeds.count)]
                if let structured, mutator.random.chance(2), let s = structured(&mutator.random, a) {
                    input = mutator.random.chance(3) ? mutator.mutate(s, other: b) : s
                } else {
                    input = mutator.mutate(a, other: b)
                }
            }
            crumb.record(input)
            let t0 = Date()
            watchdog.started(iteration: i)
            let outcome: String
            do { outcome = try execute(input) } catch let v as FuzzViolation {
                outcome = "violation"
                let saved = crumb.path.replacingOccurrences(of: ".crash", with: ".violation-\(report.violations.count).bin")
                FileManager.default.createFile(atPath: saved, contents: Data(input))
                report.violations.append("\(v) (input in \(saved))")
            } catch {
                outcome = "refused: " + Self.kind(of: error)
                report.refused += 1
            }
            watchdog.finished()
            report.slowest = max(report.slowest, Date().timeIntervalSince(t0))
            report.outcomes[outcome, default: 0] += 1
            report.executions += 1
            i += 1
        }
        report.seconds = Date().timeIntervalSince(start)
        watchdog.stop()
        crumb.clear()
        print(report)
        for v in report.violations.prefix(5) { print("fuzz \(target): violation: \(v)") }
        if env["AUDITFS_FUZZ_OUTCOMES"] != nil {
            for (o, n) in report.outcomes.sorted(by: { $0.value > $1.value }) { print("fuzz \(target):   \(n) × \(o)") }
        }
        return report
    }

    /// An error's type and case, without the values (to count distinct outcomes).
    static func kind(of error: Error) -> String {
        let s = String(describing: error)
        return String(s.prefix { $0 != "(" && $0 != ":" && $0 != "'" }.prefix(60))
    }
}

/// An error a target throws when an input broke a property that must hold
/// whatever the input (not a refusal: a bug).
protocol FuzzViolation: Error {}

/// The input being executed, on disk, so a crash leaves it behind.
final class Breadcrumb: @unchecked Sendable {
    let path: String
    private let fd: Int32

    init(target: String) {
        let dir = FileManager.default.currentDirectoryPath + "/.build/fuzz"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        path = dir + "/" + target + ".crash"
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    }

    func record(_ input: [UInt8]) {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        _ = input.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    func clear() {
        if fd >= 0 { close(fd) }
        unlink(path)
    }
}

/// Aborts the run when one input takes longer than `limit` seconds (a hang),
/// after saying which input it was.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var startedAt: Date?
    private var iteration = 0
    private var running = true
    let target: String
    let crumb: Breadcrumb
    let limit: Double

    init(target: String, crumb: Breadcrumb, limit: Double) {
        self.target = target; self.crumb = crumb; self.limit = limit
        Thread.detachNewThread { [self] in watch() }
    }

    private func watch() {
        while true {
            Thread.sleep(forTimeInterval: 0.25)
            lock.lock()
            let (s, it, r) = (startedAt, iteration, running)
            lock.unlock()
            if !r { return }
            if let s, Date().timeIntervalSince(s) > limit {
                let hang = crumb.path.replacingOccurrences(of: ".crash", with: ".hang")
                try? FileManager.default.removeItem(atPath: hang)
                try? FileManager.default.copyItem(atPath: crumb.path, toPath: hang)
                FileHandle.standardError.write(Data("fuzz \(target): iteration \(it) ran longer than \(limit) s: a hang; input saved in \(hang)\n".utf8))
                abort()
            }
        }
    }

    func started(iteration i: Int) { lock.lock(); startedAt = Date(); iteration = i; lock.unlock() }
    func finished() { lock.lock(); startedAt = nil; lock.unlock() }
    func stop() { lock.lock(); running = false; lock.unlock() }
}

extension String {
    /// FNV-1a of the UTF-8 bytes: a per-target mutator seed that does not
    /// change between runs (unlike `hashValue`).
    var hashValueStable: UInt64 {
        utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
