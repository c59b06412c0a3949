import Foundation
import Testing
@testable import AuditStore

/// The checked-in fixtures: the golden store (format vectors) and the named
/// tamper mutations, each regenerated here and compared byte for byte.
@Suite(.serialized) struct FixtureTests {
    static let dir = FixtureGenerator.fixturesDirectory
    static let regenerate = ProcessInfo.processInfo.environment["AUDITFS_REGENERATE_FIXTURES"] == "1"

    /// Every file under `root`, relative path → bytes.
    static func tree(_ root: String) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        let e = FileManager.default.enumerator(atPath: root)!
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                out[rel] = readFile(root + "/" + rel)
            }
        }
        return out
    }

    /// The same files with the same bytes; names the first file that differs.
    static func expectSameTree(_ a: String, _ b: String, _ what: String) {
        let x = tree(a), y = tree(b)
        #expect(x.keys.sorted() == y.keys.sorted(), "\(what): different files")
        for (name, bytes) in x.sorted(by: { $0.key < $1.key }) {
            #expect(bytes == y[name], "\(what): \(name) differs from the checked-in fixture (a format change? regenerate deliberately)")
        }
    }

    static func goldenRecords(_ store: String) throws -> String {
        var lines: [String] = []
        try History.read(at: store) { e in
            let what = e.from.map { "\(e.reason ?? "?") \($0) -> \(e.to ?? "?")" } ?? e.path
            lines.append("\(e.seq) \(e.kind) \(what) \(e.offset.map(String.init) ?? "-") \(e.length) \(e.recordHash)")
        }
        let report = try Checker.verify(at: store)
        lines.append("tree-size \(report.treeSize) root \(report.treeRoot)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// fixtures/golden is format v2 with renames and retirements;
    /// fixtures/golden-v1 is what a store made before them holds, and must
    /// stay readable byte for byte.
    @Test(arguments: ["golden", "golden-v1"]) func goldenStoreBytesAndHashes(_ name: String) throws {
        let tmp = TempDir()
        let fresh = tmp.path + "/golden"
        if name == "golden" { try FixtureGenerator.golden(at: fresh) } else { try FixtureGenerator.goldenV1(at: fresh) }
        let records = try Self.goldenRecords(fresh)
        let goldenDir = Self.dir + "/" + name
        if Self.regenerate {
            try? FileManager.default.removeItem(atPath: goldenDir)
            try FileManager.default.createDirectory(atPath: goldenDir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: fresh, toPath: goldenDir + "/store")
            writeFile(goldenDir + "/records.txt", Array(records.utf8))
        }
        Self.expectSameTree(fresh, goldenDir + "/store", "golden")
        #expect(String(decoding: readFile(goldenDir + "/records.txt"), as: UTF8.self) == records)
        #expect(try Self.goldenRecords(goldenDir + "/store") == records)
    }

    @Test func tamperFixturesMatchTheirGenerator() throws {
        let tmp = TempDir()
        let made = try FixtureGenerator.tampers(into: tmp.path)
        let tamperDir = Self.dir + "/tamper"
        if Self.regenerate {
            try? FileManager.default.removeItem(atPath: tamperDir)
            try FileManager.default.copyItem(atPath: tmp.path, toPath: tamperDir)
            for t in made { writeFile(tamperDir + "/" + t.name + "/desc.json", FixtureGenerator.descJSON(t)) }
        }
        for t in made {
            Self.expectSameTree(tmp.path + "/" + t.name + "/store", tamperDir + "/" + t.name + "/store", t.name)
            #expect(readFile(tamperDir + "/" + t.name + "/desc.json") == FixtureGenerator.descJSON(t), "\(t.name)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: tamperDir).sorted()
        #expect(names == made.map(\.name).sorted())
    }

    static var tamperNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/tamper")) ?? []).sorted()
    }

    @Test(arguments: tamperNames) func tamperIsCaught(name: String) throws {
        let base = Self.dir + "/tamper/" + name
        let want = try JSONDecoder().decode(FixtureGenerator.Tamper.self, from: Data(readFile(base + "/desc.json")))
        let report = try Checker.verify(at: base + "/store")
        #expect(report.status.rawValue == want.wantStatus, "\(name): \(String(describing: report.failure))")
        #expect(report.failure?.check.rawValue == want.wantCheck, "\(name): \(String(describing: report.failure))")
        #expect(report.failure?.seq == want.wantSeq, "\(name): \(String(describing: report.failure))")
    }
}
