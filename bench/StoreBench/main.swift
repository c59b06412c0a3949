// store-bench: builds a large store through the public Store API and measures
// what the store issue sets goals for: opening time and memory at millions of
// blocks. Used by bench/store.sh; not part of the test suite.
import AuditStore
import Foundation

func rssKiB(_ field: String) -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }
    return -1
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

let args = CommandLine.arguments
guard args.count >= 3 else {
    print("usage: store-bench generate STORE BLOCKS FILES PAYLOAD | open STORE  (generate adds to STORE when it is a store already)")
    exit(2)
}
switch args[1] {
case "generate":
    let path = args[2]
    let blocks = Int(args[3])!, files = Int(args[4])!, payload = Int(args[5])!
    let s = FileManager.default.fileExists(atPath: path + "/" + Format.identityFile)
        ? try Store.open(at: path, mode: .readWrite) : try Store.create(at: path)
    let me = Provenance.current()
    let ids = try (0..<files).map { try s.create("/f\($0).log", kind: .file, mode: 0o644, owner: 0, group: 0, by: me).id }
    var line = [UInt8](repeating: UInt8(ascii: "x"), count: payload)
    line[payload - 1] = 0x0A
    let t0 = now()
    for i in 0..<blocks {
        try line.withUnsafeBytes { _ = try s.append(ids[i % files], $0, by: me) }
    }
    try s.sync()
    let t1 = now()
    s.close()
    let t2 = now()
    print("generated \(blocks) blocks in \(files) files: \(String(format: "%.2f", t1 - t0)) s appending (\(Int(Double(blocks) / (t1 - t0))) appends/s), \(String(format: "%.2f", t2 - t1)) s writing the index")
case "open":
    let path = args[2]
    let t0 = now()
    let s = try Store.open(at: path, mode: .readOnly)
    let t1 = now()
    let head = s.treeHead
    // Read a few blocks from the middle of a file to prove the index works.
    let f = s.lookup("/f0.log")!
    let mid = try s.read(f.id, offset: f.size / 2, count: 4096)
    print("opened \(head.size) records in \(String(format: "%.3f", t1 - t0)) s; peak RSS \(rssKiB("VmHWM") / 1024) MiB; read \(mid.count) bytes mid-file; index: \(s.cacheNote ?? (FileManager.default.fileExists(atPath: path + "/cache/index") ? "used" : "none, full replay"))")
default:
    print("unknown command")
    exit(2)
}
