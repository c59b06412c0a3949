import Foundation

/// The AWS shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`):
/// INI sections `[name]` of `key = value` lines. Lines starting with `#` or `;` and
/// blank lines are skipped; keys are lowercased and trimmed; a value may be empty.
/// An indented line under a key with an empty value is a sub-setting of that key
/// (`s3 =` / `  endpoint_url = ...`), kept as `key.subkey`. Anything else (a line
/// with no `=` outside a section header, a key before any section, an unclosed
/// `[`) is refused with `FILE:LINE`. Files over 1 MiB are refused.
struct SharedConfigFile {
    /// Section name (as written between the brackets, trimmed) → key → value.
    var sections: [String: [String: String]] = [:]
    let path: String

    static let maxBytes = 1 << 20

    /// The parsed file, nil when it does not exist.
    static func load(_ path: String) throws(S3Error) -> SharedConfigFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw .usage("\(path): cannot be read") }
        guard data.count <= maxBytes else { throw .usage("\(path): larger than 1 MiB") }
        guard let text = String(data: data, encoding: .utf8) else { throw .usage("\(path): not UTF-8") }
        return try SharedConfigFile(text: text, path: path)
    }

    init(text: String, path: String) throws(S3Error) {
        self.path = path
        var section: String?
        var parentKey: String?   // a key with an empty value, which indented lines extend
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let body = line.trimmingCharacters(in: .whitespaces)
            if body.isEmpty || body.hasPrefix("#") || body.hasPrefix(";") { continue }
            let indented = line.first == " " || line.first == "\t"
            if body.hasPrefix("[") {
                guard body.hasSuffix("]"), body.count > 2 else { throw .usage("\(path):\(number): bad section header") }
                let name = body.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else { throw .usage("\(path):\(number): empty section name") }
                section = name
                parentKey = nil
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let current = section else { throw .usage("\(path):\(number): a setting before any [section]") }
            guard let eq = body.firstIndex(of: "=") else { throw .usage("\(path):\(number): not 'key = value'") }
            let key = body[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = body[body.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw .usage("\(path):\(number): empty key") }
            if indented, let parent = parentKey {
                sections[current, default: [:]][parent + "." + key] = value
                continue
            }
            sections[current, default: [:]][key] = value
            parentKey = value.isEmpty ? key : nil
        }
    }
}
