// query-gen STORE EXPORT-DIR COUNT DAYS [SEED] [END-NS]
// query-gen --append STORE PATH   (standard input as one record of PATH, as the daemon writes it)
//
// Makes a store holding COUNT decision records spread evenly over DAYS days
// ending at END-NS (default: now), in /.audit/decisions/YYYY-MM-DD.jsonl as
// the daemon writes them (one JSON line per append record), and the same
// lines as plain files in EXPORT-DIR/YYYY-MM-DD.jsonl (for grep, jq and the
// brute-force checks of Tests/integration/test_query.py and bench/query.py).
// Users follow a skewed distribution (user00 most frequent); ~12% denials,
// ~1% tamper attempts.
import AuditPlumbing
import AuditRecords
import AuditStore
import Foundation

let args = CommandLine.arguments
// A test's stand-in for the daemon: `auditfs append` refuses /.audit.
if args.count == 4, args[1] == "--append" {
    let store = try Store.open(at: args[2], mode: .readWrite)
    let writer = Provenance(uid: 0, gid: 0, pid: 1, command: "auditfs")
    let node = try store.ensureFile(args[3], by: writer)
    _ = try store.append(node.id, Array(FileHandle.standardInput.readDataToEndOfFile()), by: writer)
    try store.sync()
    store.close()
    exit(0)
}
guard args.count >= 5, let count = Int(args[3]), let days = Int(args[4]) else {
    FileHandle.standardError.write(Data("usage: query-gen STORE EXPORT-DIR COUNT DAYS [SEED] [END-NS]\n".utf8))
    exit(2)
}
final class SplitMix { var state: UInt64; init(_ s: UInt64) { state = s } }
let rng = SplitMix(UInt64(args.count > 5 ? args[5] : "1") ?? 1)
let end = args.count > 6 ? Int64(args[6])! : Clock.realtime.now
@MainActor func next() -> UInt64 {   // splitmix64: the same store for the same seed
    rng.state &+= 0x9E37_79B9_7F4A_7C15
    var z = rng.state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

let store = try Store.create(at: args[1])
let daemon = Provenance(uid: 0, gid: 0, pid: 1, command: "auditfs")
for d in AuditLayout.directories { try store.ensureDirectory(d, by: daemon) }
try FileManager.default.createDirectory(atPath: args[2], withIntermediateDirectories: true)
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
let users = (0..<50).map { (name: String(format: "user%02d", $0), uid: UInt32(2000 + $0)) }
let verbs = ["create", "append", "append", "append", "read", "read", "list", "mkdir"]
let tamperVerbs = ["unlink", "truncate", "rename", "write", "chmod"]
let apps = ["nginx", "app", "db", "auth", "billing", "cron", "mail", "vpn"]
let span = Int64(days) * 86_400_000_000_000
let start = end - span
var files: [String: (id: UInt64, out: FileHandle)] = [:]
var pending: [String: Data] = [:]
for i in 0..<count {
    let t = start + Int64(Double(span) * Double(i) / Double(count))
    // Skewed: user k with weight 1/(k+1).
    let r = Double(next() % 1_000_000) / 1_000_000 * 4.4992   // H(50)
    var acc = 0.0, k = 0
    while k < 49 { acc += 1.0 / Double(k + 1); if r < acc { break }; k += 1 }
    let u = users[k]
    let app = apps[Int(next() % UInt64(apps.count))]
    let path = "/\(app)/\(u.name)/log-\(next() % 40).log"
    let roll = next() % 1000
    let tamper = roll < 10
    let deny = tamper || roll < 120
    let verb = tamper ? tamperVerbs[Int(next() % 5)] : verbs[Int(next() % UInt64(verbs.count))]
    var d = DecisionRecord(time: Timestamps.rfc3339(t), timeNs: t, uid: u.uid, user: u.name, gid: u.uid, group: u.name,
                           groups: nil, pid: UInt32(1000 + next() % 30000), command: ["sh", "python3", "nginx", "rsyslogd"][Int(next() % 4)],
                           verb: verb, path: path, decision: deny ? "deny" : "grant",
                           reason: tamper ? "mount-rule" : (deny ? "default-deny" : "rule"), errno: deny ? (tamper ? 1 : 13) : 0,
                           tamper: tamper, policy: String(repeating: "ab", count: 32))
    if tamper { d.mountRule = "append-only"; d.error = "EPERM" } else if deny { d.error = "EACCES" } else {
        d.role = "log-writer"; d.binding = 1; d.bindingLine = 12; d.rule = 5; d.glob = "/\(app)/**"
    }
    if verb == "rename" { d.target = path + ".old" }
    var line = try encoder.encode(d)
    line.append(0x0A)
    let day = Timestamps.day(t)
    if files[day] == nil {
        let node = try store.ensureFile(AuditLayout.decisions(day: day), by: daemon)
        FileManager.default.createFile(atPath: args[2] + "/" + day + ".jsonl", contents: nil)
        files[day] = (node.id, FileHandle(forWritingAtPath: args[2] + "/" + day + ".jsonl")!)
    }
    _ = try store.append(files[day]!.id, Array(line), by: daemon)
    pending[day, default: Data()].append(line)
    if pending[day]!.count > 1 << 20 { files[day]!.out.write(pending[day]!); pending[day] = Data() }
}
for (day, data) in pending { files[day]!.out.write(data) }
store.close()
print("\(count) decisions over \(days) days in \(args[1]); JSONL in \(args[2])")
