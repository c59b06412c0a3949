import Foundation
import Testing

/// The docs name source files and folders (`Sources/AuditDaemon/ModeBits.swift`):
/// every one named exists, so a reader sent to a file finds it — the docs
/// say what is true of the code after a file moves.
@Suite struct DocumentedPathTests {
    static let repository = FormatCitationTests.repository

    @Test func everySourcePathTheDocsNameExists() throws {
        // A path starts a word (not `FuzzTests/test` in a --filter) and is
        // not a glob (`test_trust_*.py` names a family of files).
        let pattern = try NSRegularExpression(pattern: #"(?<![A-Za-z0-9_])(Sources|Tests)/[A-Za-z0-9_+./-]*[A-Za-z0-9_+/](?![*{A-Za-z0-9_])"#)
        var documents = ["README.md", "Sources/AuditStore/FORMAT.md"]
        let docs = Self.repository.appendingPathComponent("docs")
        for name in try FileManager.default.contentsOfDirectory(atPath: docs.path) where name.hasSuffix(".md") {
            documents.append("docs/" + name)
        }
        var named = 0
        for document in documents {
            let text = try String(contentsOf: Self.repository.appendingPathComponent(document), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let path = String(text[Range(match.range, in: text)!])
                named += 1
                #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent(path).path),
                        "\(document) names \(path), which does not exist")
            }
        }
        #expect(named > 30, "the scan found the paths the docs name")
    }
}
