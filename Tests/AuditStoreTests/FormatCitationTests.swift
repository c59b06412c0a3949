import Foundation
import Testing

/// Code and docs cite FORMAT.md by section name (`FORMAT.md "Frame"`): every
/// such citation names a heading that exists, so a reader who follows one
/// lands on the section meant. A heading's name is its text without a
/// trailing parenthesis (`Segment header (104 bytes)` is cited as
/// `"Segment header"`).
@Suite struct FormatCitationTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func headings() throws -> Set<String> {
        let text = try String(contentsOf: repository.appendingPathComponent("Sources/AuditStore/FORMAT.md"), encoding: .utf8)
        var names = Set<String>()
        for line in text.split(separator: "\n") where line.hasPrefix("#") {
            var name = line.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces)
            if name.hasSuffix(")"), let open = name.range(of: " (", options: .backwards) {
                name = String(name[..<open.lowerBound])
            }
            names.insert(name)
        }
        return names
    }

    /// (file, cited name) for every `FORMAT.md "…"` in the sources, tests and docs.
    static func citations() throws -> [(String, String)] {
        let pattern = try NSRegularExpression(pattern: #"FORMAT\.md,? "([^"]+)""#)
        var found: [(String, String)] = []
        for top in ["Sources", "Tests", "docs", "README.md", "bench", "mount-scripts"] {
            let root = repository.appendingPathComponent(top)
            var files: [URL] = []
            if let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
                for case let url as URL in e { files.append(url) }
            } else {
                files = [root]
            }
            for url in files where ["swift", "md", "py", "c", "h", "sh"].contains(url.pathExtension) {
                guard url.lastPathComponent != "FormatCitationTests.swift",
                      let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
                let range = NSRange(text.startIndex..., in: text)
                for match in pattern.matches(in: text, range: range) {
                    // A citation may wrap onto the next comment line: drop the
                    // comment markers and collapse the white space.
                    let name = String(text[Range(match.range(at: 1), in: text)!])
                        .replacingOccurrences(of: #"\s*\n\s*(///|//|#)?\s*"#, with: " ", options: .regularExpression)
                    found.append((url.path.replacingOccurrences(of: repository.path + "/", with: ""), name))
                }
            }
        }
        return found
    }

    @Test func everyCitationNamesAHeading() throws {
        let names = try Self.headings()
        let cited = try Self.citations()
        #expect(cited.count > 20, "the scan found the citations")
        for (file, name) in cited {
            #expect(names.contains(name), "\(file) cites FORMAT.md \"\(name)\", which is no heading; headings: \(names.sorted())")
        }
    }
}
