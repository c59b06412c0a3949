import Foundation
import Testing
@testable import AuditDaemon

/// The policy file's path is walked at the byte "/": a name that starts
/// with a combining mark is its own component, so the directory before it
/// is checked like any other. Split by grapheme, "dir/\u{301}p.yaml" was one
/// component and a world-writable "dir" was never looked at.
@Suite struct TrustedPathBytesTests {
    @Test(arguments: ["p.yaml", "\u{301}p.yaml", "\u{200D}p.yaml", "\u{200B}"])
    func aWritableDirectoryBeforeAMarkIsRefused(name: String) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("auditfs-trusted-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base + "/open", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        chmod(base, 0o755)
        chmod(base + "/open", 0o777)
        let file = base + "/open/" + name
        #expect(FileManager.default.createFile(atPath: file, contents: Data("apiVersion: auditfs/v1\n".utf8)))
        chmod(file, 0o644)
        #expect {
            try TrustedPath.check(file, what: "policy", followFinalLink: false)
        } throws: { error in
            "\(error)".contains("directory \(base)/open is writable by others")
        }
    }
}
