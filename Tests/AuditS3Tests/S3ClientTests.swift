@testable import AuditS3
import Foundation
import Testing

/// S3Client.swift against FakeS3Server on loopback: what goes on the wire, and what
/// hostile answers become. No real S3 here (Tests/integration has radosgw).
@Suite(.serialized) struct S3ClientTests {
    static func client(_ server: FakeS3Server, timeout: Double = 5) -> S3Client {
        let c = S3Configuration(endpoint: URL(string: "http://127.0.0.1:\(server.port)")!, region: "us-east-1",
                                credentials: S3Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "tok"),
                                pathStyle: true, timeout: timeout)
        return S3Client(c, now: { Date(timeIntervalSince1970: 1_440_938_160) })
    }

    static func error(_ body: () throws -> Void) -> S3Error? {
        do { try body(); return nil } catch { return error as? S3Error ?? .usage("not an S3Error: \(error)") }
    }

    @Test func putSignsTheBodyAndSendsLockHeaders() throws {
        let server = try FakeS3Server { _ in FakeS3Server.response(200, [("ETag", "\"abc\""), ("x-amz-version-id", "v1")]) }
        defer { server.stop() }
        let until = Date(timeIntervalSince1970: 1_796_609_488.2)
        let r = try Self.client(server).putObject("audit-bucket", key: "host1/seg 1+$", body: Array("hello".utf8),
                                                  retention: (.compliance, until))
        #expect(r.etag == "\"abc\"" && r.versionId == "v1")
        let req = try #require(server.requests.first)
        #expect(req.method == "PUT")
        #expect(req.target == "/audit-bucket/host1/seg%201%2B%24")
        #expect(req.body == Array("hello".utf8))
        #expect(req.headers["x-amz-content-sha256"] == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(req.headers["content-md5"] == "XUFAKrxLKna5cZ2REBfFkg==")
        #expect(req.headers["x-amz-object-lock-mode"] == "COMPLIANCE")
        #expect(req.headers["x-amz-object-lock-retain-until-date"] == "2026-12-07T02:11:29Z")
        #expect(req.headers["x-amz-date"] == "20150830T123600Z")
        #expect(req.headers["x-amz-security-token"] == "tok")
        #expect(req.headers["host"] == "127.0.0.1:\(server.port)")
        let auth = try #require(req.headers["authorization"])
        #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=content-md5;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-object-lock-mode;x-amz-object-lock-retain-until-date;x-amz-security-token, Signature="))
    }

    @Test func errorXMLBecomesHTTPError() throws {
        let body = Array("<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>locked\nuntil 2027</Message></Error>".utf8)
        let server = try FakeS3Server { _ in FakeS3Server.response(403, [("Content-Type", "application/xml")], body: body) }
        defer { server.stop() }
        let e = Self.error { try Self.client(server).deleteObject("audit-bucket", key: "k", versionId: "v1") }
        guard case .http(403, "AccessDenied", "locked\nuntil 2027", "DELETE s3://audit-bucket/k version v1")? = e else {
            Issue.record("got \(String(describing: e))"); return
        }
        #expect(e?.description == "DELETE s3://audit-bucket/k version v1: 403 AccessDenied: locked\\x0auntil 2027")
        #expect(e?.isRetryable == false)
        #expect(server.requests.first?.target == "/audit-bucket/k?versionId=v1")
    }

    @Test func bucketLockNotFoundIsNotAnError() throws {
        let body = Array("<Error><Code>ObjectLockConfigurationNotFoundError</Code><Message>none</Message></Error>".utf8)
        let server = try FakeS3Server { _ in FakeS3Server.response(404, body: body) }
        defer { server.stop() }
        let lock = try Self.client(server).bucketLock("audit-bucket")
        #expect(lock == BucketLock(enabled: false, defaultMode: nil, defaultDays: nil, defaultYears: nil))
        #expect(server.requests.first?.target == "/audit-bucket?object-lock=")
    }

    @Test func headParsesHeadersAndIsNilOn404() throws {
        let server = try FakeS3Server { req in
            req.target.hasSuffix("missing")
                ? FakeS3Server.response(404)
                : FakeS3Server.response(200, [("ETag", "\"e\""), ("x-amz-version-id", "v9"), ("x-amz-object-lock-mode", "COMPLIANCE"),
                                              ("x-amz-object-lock-retain-until-date", "2026-12-07T02:11:28.000Z"),
                                              ("Last-Modified", "Sun, 30 Aug 2015 12:36:00 GMT")], length: 42)
        }
        defer { server.stop() }
        let client = Self.client(server)
        let h = try #require(try client.headObject("audit-bucket", key: "k", versionId: nil))
        #expect(h.size == 42 && h.etag == "\"e\"" && h.versionId == "v9" && h.lockMode == .compliance)
        #expect(h.retainUntil == Date(timeIntervalSince1970: 1_796_609_488))
        #expect(h.lastModified == Date(timeIntervalSince1970: 1_440_938_160))
        #expect(try client.headObject("audit-bucket", key: "missing", versionId: nil) == nil)
    }

    @Test func getRefusesABodyOverTheCap() throws {
        let server = try FakeS3Server { _ in FakeS3Server.response(200, body: [UInt8](repeating: 7, count: 100_000)) }
        defer { server.stop() }
        let client = Self.client(server)
        #expect(try client.getObject("audit-bucket", key: "k", versionId: "v", maxBytes: 100_000).count == 100_000)
        let e = Self.error { _ = try client.getObject("audit-bucket", key: "k", versionId: "v", maxBytes: 99_999) }
        guard case .malformed(let m)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(m.contains("longer than 99999 bytes"))
    }

    @Test func redirectIsNotFollowed() throws {
        let server = try FakeS3Server { _ in FakeS3Server.response(301, [("Location", "http://127.0.0.1:1/elsewhere")]) }
        defer { server.stop() }
        let e = Self.error { _ = try Self.client(server).getObject("audit-bucket", key: "k", versionId: nil, maxBytes: 10) }
        guard case .http(301, "Redirect", _, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(server.requests.count == 1)
    }

    @Test func listingFollowsMarkersAndRefusesALoop() throws {
        let server = try FakeS3Server { req in
            let first = !req.target.contains("key-marker")
            let entry = "<Version><Key>\(first ? "a" : "b")</Key><VersionId>v</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-07T02:11:28Z</LastModified><ETag>e</ETag><Size>1</Size></Version>"
            let body = first
                ? "<ListVersionsResult><IsTruncated>true</IsTruncated><NextKeyMarker>a</NextKeyMarker><NextVersionIdMarker>v</NextVersionIdMarker>\(entry)</ListVersionsResult>"
                : req.target.contains("prefix=loop")
                    ? "<ListVersionsResult><IsTruncated>true</IsTruncated><NextKeyMarker>a</NextKeyMarker><NextVersionIdMarker>v</NextVersionIdMarker>\(entry)</ListVersionsResult>"
                    : "<ListVersionsResult><IsTruncated>false</IsTruncated>\(entry)</ListVersionsResult>"
            return FakeS3Server.response(200, body: Array(body.utf8))
        }
        defer { server.stop() }
        let client = Self.client(server)
        let all = try client.listObjectVersions("audit-bucket", prefix: "p/")
        #expect(all.map(\.key) == ["a", "b"])
        #expect(server.requests[1].target == "/audit-bucket?key-marker=a&max-keys=1000&prefix=p%2F&version-id-marker=v&versions=")
        let e = Self.error { _ = try client.listObjectVersions("audit-bucket", prefix: "loop") }
        guard case .malformed(let m)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(m.contains("do not advance"))
    }

    @Test func aSilentServerTimesOut() throws {
        let server = try FakeS3Server { _ in Thread.sleep(forTimeInterval: 4); return FakeS3Server.response(200) }
        defer { server.stop() }
        let started = Date()
        let e = Self.error { _ = try Self.client(server, timeout: 1).headObject("audit-bucket", key: "k", versionId: nil) }
        guard case .transport? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(Date().timeIntervalSince(started) < 3.5)
        #expect(e?.isRetryable == true)
    }

    @Test func refusedConnectionIsRetryableTransport() {
        let c = S3Configuration(endpoint: URL(string: "http://127.0.0.1:1")!, region: "us-east-1",
                                credentials: S3Credentials(accessKeyId: "A", secretAccessKey: "S"), timeout: 5)
        let e = Self.error { _ = try S3Client(c).bucketLock("audit-bucket") }
        guard case .transport(let m)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(m.hasPrefix("GET s3://audit-bucket?object-lock: "))
        #expect(e?.isRetryable == true)
    }

    @Test func badKeysAreRefusedBeforeSending() {
        let c = S3Configuration(endpoint: URL(string: "http://127.0.0.1:1")!, region: "us-east-1",
                                credentials: S3Credentials(accessKeyId: "A", secretAccessKey: "S"))
        let client = S3Client(c)
        for key in ["", "a/../b", "./a", "a//b", "a\nb", String(repeating: "k", count: 1025)] {
            let e = Self.error { _ = try client.getObject("audit-bucket", key: key, versionId: nil, maxBytes: 1) }
            guard case .usage? = e else { Issue.record("\(key): \(String(describing: e))"); continue }
        }
        let e = Self.error { _ = try client.getObject("Bad_Bucket", key: "k", versionId: nil, maxBytes: 1) }
        guard case .usage? = e else { Issue.record("bucket: \(String(describing: e))"); return }
    }

    @Test func retryability() {
        #expect(S3Error.http(status: 503, code: "SlowDown", message: "", operation: "PUT").isRetryable)
        #expect(S3Error.http(status: 400, code: "RequestTimeout", message: "", operation: "PUT").isRetryable)
        #expect(S3Error.http(status: 429, code: "", message: "", operation: "PUT").isRetryable)
        #expect(!S3Error.http(status: 404, code: "NoSuchKey", message: "", operation: "GET").isRetryable)
        #expect(!S3Error.malformed("x").isRetryable && !S3Error.usage("x").isRetryable)
        #expect(S3Error.http(status: 403, code: "", message: "", operation: "HEAD s3://b/k").description == "HEAD s3://b/k: 403")
    }
}
