@testable import AuditS3
import Testing

/// S3Location.swift: what is a location, and the one-line refusals.
@Suite struct S3LocationTests {
    @Test(arguments: [
        ("s3://audit-bucket", "audit-bucket", ""),
        ("s3://audit-bucket/", "audit-bucket", ""),
        ("s3://audit-bucket/host1", "audit-bucket", "host1"),
        ("s3://audit-bucket/host1/store///", "audit-bucket", "host1/store"),
        ("s3://a.b-c/x y/é", "a.b-c", "x y/é"),
        ("s3://abc", "abc", ""),
    ])
    func parses(_ text: String, _ bucket: String, _ prefix: String) throws {
        let l = try S3Location(parsing: text)
        #expect(l.bucket == bucket)
        #expect(l.prefix == prefix)
        #expect(l.description == (prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)"))
        #expect(try S3Location(parsing: l.description) == l)
    }

    @Test func keyJoinsThePrefix() throws {
        #expect(try S3Location(parsing: "s3://bkt/p/q").key("seg-1") == "p/q/seg-1")
        #expect(try S3Location(parsing: "s3://bkt").key("seg-1") == "seg-1")
    }

    static let bad: [(String, String)] = [
        ("http://bucket/x", "not an S3 location"),
        ("S3://bucket", "not an S3 location"),
        ("bucket/x", "not an S3 location"),
        ("s3://", "empty bucket name"),
        ("s3:///x", "empty bucket name"),
        ("s3://ab", "3 to 63"),
        ("s3://" + String(repeating: "a", count: 64), "3 to 63"),
        ("s3://Bucket", "a-z, 0-9"),
        ("s3://buck_et", "a-z, 0-9"),
        ("s3://-bucket", "start and end"),
        ("s3://bucket.", "start and end"),
        ("s3://a..b", "'..'"),
        ("s3://a.-b", "'.-'"),
        ("s3://192.168.1.1", "IP address"),
        ("s3://bucket//x", "empty segment"),
        ("s3://bucket/a//b", "empty segment"),
        ("s3://bucket/a/../b", "'..' segment"),
        ("s3://bucket/./b", "'.' or '..' segment"),
        ("s3://bucket/..", "'..' segment"),
        ("s3://bucket/a\nb", "control character"),
        ("s3://bucket/a\u{7f}", "control character"),
        ("s3://bucket/a\\b", "backslash"),
        ("s3://bucket/" + String(repeating: "p", count: 901), "900 bytes"),
    ]

    @Test(arguments: bad) func refuses(_ text: String, _ why: String) {
        #expect {
            _ = try S3Location(parsing: text)
        } throws: { error in
            guard let e = error as? S3Error, case .usage(let m) = e else { return false }
            return m.contains(why) && !m.contains("\n")
        }
    }

    @Test func refusalIsOneLineEvenForAControlCharacter() {
        do {
            _ = try S3Location(parsing: "s3://bucket/a\nb")
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix("s3://bucket/a\\x0ab: "))
        }
    }
}
