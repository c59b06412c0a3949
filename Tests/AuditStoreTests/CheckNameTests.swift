import Foundation
import Testing
@testable import AuditStore

/// FORMAT.md's rule tables (every table whose columns are `check | rule`)
/// name exactly the checks the code has: `CheckName`.
struct CheckNameTests {
    static var formatFile: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/AuditStore/FORMAT.md").path
    }

    /// The backticked names in the first cell of each row of every
    /// `| check | rule |` table, with the line each is on.
    static func tableNames(_ text: String) -> [(name: String, line: Int)] {
        var names: [(String, Int)] = []
        var inTable = false
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard line.hasPrefix("|"), cells.count >= 3 else { inTable = false; continue }
            if cells[1] == "check" && cells[2] == "rule" { inTable = true; continue }
            guard inTable, !cells[1].hasPrefix("---") else { continue }
            let parts = cells[1].split(separator: "`", omittingEmptySubsequences: false)
            // `a`, `b`: the odd parts are the names, the even ones separators.
            for (k, part) in parts.enumerated() where k % 2 == 1 { names.append((String(part), i + 1)) }
        }
        return names
    }

    @Test func formatRuleTablesNameEveryCheckAndNothingElse() throws {
        let text = try String(contentsOfFile: Self.formatFile, encoding: .utf8)
        let listed = Self.tableNames(text)
        #expect(listed.count >= 40, "the rule tables were not found in \(Self.formatFile)")
        let code = Set(CheckName.allCases.map(\.rawValue))
        let table = Set(listed.map(\.name))
        for missing in code.subtracting(table).sorted() {
            Issue.record("FORMAT.md's rule tables do not list `\(missing)`, which the code checks")
        }
        for (name, line) in listed where !code.contains(name) {
            Issue.record("FORMAT.md:\(line) lists `\(name)`, which is no CheckName")
        }
        var seen: [String: Int] = [:]
        for (name, line) in listed {
            if let first = seen[name] { Issue.record("FORMAT.md:\(line) lists `\(name)` again (first at line \(first))") }
            seen[name] = seen[name] ?? line
        }
    }

    /// The parser itself: a table that omits a check, or names one the code
    /// lacks, is found (so the test above can fail).
    @Test func theTableParserSeesRowsAndOnlyRuleTables() {
        let text = """
            | check | rule |
            |---|---|
            | `sequence`, `store-chain` | one |
            | `no-such-check` | two |

            | offset | size |
            |---|---|
            | `segments` | 8 |
            """
        #expect(Self.tableNames(text).map(\.name) == ["sequence", "store-chain", "no-such-check"])
    }

    @Test func namesPrintAndEncodeAsTheirRawValues() throws {
        #expect("\(CheckName.segmentHeaderCheck)" == "segment-header-check")
        let f = Finding(segment: "s", offset: 1, seq: 2, check: .recordHash, expected: "a", found: "b")
        #expect(f.description == "s offset 1 (record 2): record-hash failed: expected a, found b")
        let json = String(decoding: try JSONEncoder().encode(f), as: UTF8.self)
        #expect(json.contains(#""check":"record-hash""#))
        #expect(try JSONDecoder().decode(Finding.self, from: Data(json.utf8)) == f)
    }
}
