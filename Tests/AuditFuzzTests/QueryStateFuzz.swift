import AuditPlumbing
import AuditPolicy
import AuditQuery
import AuditRecords
import Foundation
@testable import AuditStore

/// The query index's `cache/query/state` as `auditfs query` reads it: a
/// store with decision records, its index built by auditfs, and the state
/// file replaced by the input.
enum QueryStateFuzz {
    struct Seed {
        let segment: [UInt8]
        let state: [UInt8]
        let entries: [UInt8]
        let cacheKey: [UInt8]
        let lines: [DecisionRecord]
    }

    static let seed: Seed = {
        let dir = NSTemporaryDirectory() + "auditfs-fuzz-query-seed-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = dir + "/store"
        var options = Store.Options()
        let tick = Counter()
        options.clock = { 1_767_225_600_000_000_000 + tick.next() * 1_000_000 }
        let s = try! Store.create(at: store, options: options, by: FuzzSeeds.writer, storeID: FuzzSeeds.storeID)
        for d in AuditLayout.directories { try! s.ensureDirectory(d, by: FuzzSeeds.writer) }
        _ = try! s.ensureDirectory("/.audit/decisions", by: FuzzSeeds.writer)
        let file = try! s.ensureFile("/.audit/decisions/2026-01-01.jsonl", by: FuzzSeeds.writer)
        var lines: [DecisionRecord] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys   // the same bytes in every process, so saved states still fit
        for i in 0..<24 {
            let t: Int64 = 1_767_225_600_000_000_000 + Int64(i) * 60_000_000_000
            let deny = i % 3 == 0
            var d = DecisionRecord(time: Timestamps.rfc3339(t), timeNs: t, uid: UInt32(1000 + i % 4), user: "user\(i % 4)",
                                   gid: 1000, group: nil, groups: nil, pid: 4242, command: "fuzz", verb: deny ? "read" : "append",
                                   path: "/var/log/app\(i % 5).log", decision: deny ? "deny" : "grant",
                                   reason: deny ? "default-deny" : "rule", errno: deny ? 13 : 0, tamper: i % 7 == 0, policy: "0")
            if i % 5 == 0 { d.target = "/var/log/other.log" }
            lines.append(d)
            _ = try! s.append(file.id, Array(try! encoder.encode(d)) + [0x0A], by: FuzzSeeds.writer)
        }
        try! s.sync()
        s.close()
        _ = try! QueryIndex.search(store: store, QueryFilter()) { _, _ in }
        func read(_ p: String) -> [UInt8] { Array(FileManager.default.contents(atPath: store + "/" + p)!) }
        return Seed(segment: read("segments/00000000000000000000.seg"), state: read("cache/query/state"),
                    entries: read("cache/query/entries"), cacheKey: read(CacheKey.fileName), lines: lines)
    }()

    static var filters: [QueryFilter] {
        var all = [QueryFilter()]
        var f = QueryFilter(); f.decision = "deny"; all.append(f)
        f = QueryFilter(); f.tamperOnly = true; all.append(f)
        f = QueryFilter(); f.uid = 1001; all.append(f)
        f = QueryFilter(); f.path = try! PathGlob("/var/log/app1.log"); all.append(f)
        f = QueryFilter(); f.since = 1_767_225_600_000_000_000 + 300_000_000_000; f.until = f.since! + 600_000_000_000; all.append(f)
        return all
    }

    static let scratch = ScratchStore("query")

    /// Runs every filter; returns how many lines each found.
    static func execute(_ state: [UInt8]) throws -> String {
        let path = scratch.make(segment: seed.segment, files: ["cache/query/state": state, "cache/query/entries": seed.entries,
                                                                   CacheKey.fileName: seed.cacheKey])
        var counts: [Int] = []
        for filter in filters {
            var n = 0
            _ = try QueryIndex.search(store: path, filter) { _, _ in n += 1 }
            counts.append(n)
        }
        return counts.map(String.init).joined(separator: " ")
    }

    /// A state with one JSON value changed (numbers to boundaries, strings,
    /// lists emptied or grown) and its MAC recomputed, as the key's holder could.
    static func mutate(_ state: [UInt8], _ random: inout Mutator.Random) -> [UInt8]? {
        guard let nl = state.lastIndex(of: 0x0A) else { return nil }
        var json = Array(state[..<nl])
        if random.chance(3) {
            var m = Mutator(seed: random.next(), dictionary: ["\"entryCount\":", "\"chunks\":", "\"position\":", "-1", "1e300", "null"])
            json = m.mutate(json, other: json)
        } else if var top = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] {
            let numbers: [Any] = [-1, 0, 1, Int.max, Int.min, Int(Int32.max), UInt64.max, 1e300, "x", NSNull()]
            switch random.below(6) {
            case 0: top["entryCount"] = numbers[random.below(numbers.count)]
            case 1:
                if var chunks = top["chunks"] as? [[String: Any]], !chunks.isEmpty {
                    let i = random.below(chunks.count)
                    let key = ["digest", "minTime", "maxTime"][random.below(3)]
                    chunks[i][key] = key == "digest" ? String(repeating: "0", count: 64) : numbers[random.below(numbers.count)]
                    if random.chance(3) { chunks.append(chunks[i]) }
                    top["chunks"] = chunks
                } else { top["chunks"] = [] }
            case 2:
                if var strings = top["strings"] as? [String], !strings.isEmpty {
                    if random.chance(2) { strings.removeLast() } else { strings[random.below(strings.count)] = "/\u{200D}x" }
                    top["strings"] = strings
                }
            case 3:
                if var p = top["position"] as? [String: Any], let k = p.keys.sorted().randomElement(using: &random) {
                    p[k] = numbers[random.below(numbers.count)]
                    top["position"] = p
                } else { top["position"] = NSNull() }
            case 4: top["segments"] = random.chance(2) ? [] : ["../../etc/passwd", "00000000000000000000.seg", "x.seg"]
            default:
                if var files = top["auditFiles"] as? [String: Any], let k = files.keys.sorted().randomElement(using: &random) {
                    files[random.chance(2) ? k : "18446744073709551615"] = files[k]
                    top["auditFiles"] = files
                }
            }
            guard let out = try? JSONSerialization.data(withJSONObject: top, options: .sortedKeys) else { return nil }
            json = Array(out)
        }
        return signed(json)
    }

    /// A state's JSON with its MAC under the seed store's cache key, as the key's holder would write it.
    static func signed(_ json: [UInt8]) -> [UInt8] {
        json + [0x0A] + Array(CacheKey(bytes: seed.cacheKey).mac(json).hex.utf8)
    }
}
