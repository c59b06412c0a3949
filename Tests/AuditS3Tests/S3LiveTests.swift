@testable import AuditS3
import Foundation
import Testing

/// The client against a real S3 engine, run by hand only: set AUDITS3_LIVE_ENDPOINT
/// (e.g. http://127.0.0.1:17380, a radosgw from Tests/integration/cephlib.py) and
/// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. Without the variable the test does nothing.
/// Makes a fresh Object Lock bucket, and checks what issue 14 relies on: a COMPLIANCE
/// version cannot be deleted, a plain DELETE only adds a marker, the listing shows both.
@Suite struct S3LiveTests {
    @Test func objectLockRoundTrip() throws {
        let env = ProcessInfo.processInfo.environment
        guard let endpoint = env["AUDITS3_LIVE_ENDPOINT"] else { return }
        let client = S3Client(try S3Configuration.load(environment: env, endpoint: endpoint))
        let bucket = "audits3-\(UInt32.random(in: 0...UInt32.max))"
        try client.createBucket(bucket, objectLock: true)
        let lock = try client.bucketLock(bucket)
        #expect(lock.enabled)

        let until = Date().addingTimeInterval(3600)
        let body = Array("segment bytes & <xml> \u{e9}\n".utf8)
        let key = "host1/seg 0001+$&.bin"
        let put = try client.putObject(bucket, key: key, body: body, retention: (.compliance, until))
        let version = try #require(put.versionId)
        #expect(try client.getObject(bucket, key: key, versionId: version, maxBytes: 1 << 20) == body)
        #expect(throws: S3Error.self) { _ = try client.getObject(bucket, key: key, versionId: version, maxBytes: 3) }
        let head = try #require(try client.headObject(bucket, key: key, versionId: version))
        #expect(head.size == UInt64(body.count) && head.lockMode == .compliance && head.versionId == version)
        #expect(abs((head.retainUntil ?? .distantPast).timeIntervalSince(until)) < 2)
        #expect(head.lastModified != nil && head.etag == put.etag)

        do {
            try client.deleteObject(bucket, key: key, versionId: version)
            Issue.record("a COMPLIANCE version was deleted")
        } catch {
            guard case .http(403, let code, _, _) = error else { Issue.record("\(error)"); return }
            #expect(code == "AccessDenied")
        }
        try client.deleteObject(bucket, key: key, versionId: nil)   // a delete marker
        #expect(try client.headObject(bucket, key: key, versionId: nil) == nil)
        #expect(try client.getObject(bucket, key: key, versionId: version, maxBytes: 1 << 20) == body)
        let versions = try client.listObjectVersions(bucket, prefix: "host1/")
        #expect(versions.count == 2)
        #expect(versions.contains { $0.isDeleteMarker && $0.key == key && $0.isLatest })
        #expect(versions.contains { !$0.isDeleteMarker && $0.versionId == version && $0.size == UInt64(body.count) })
        #expect(try client.bucketLock(bucket).enabled)
        // Pages of one entry: the version and the marker share a key, so version-id-marker matters.
        let paged = try client.listObjectVersions(bucket, prefix: "host1/", pageSize: 1)
        #expect(paged == versions)

        let plain = "audits3-plain-\(UInt32.random(in: 0...UInt32.max))"
        try client.createBucket(plain, objectLock: false)
        #expect(try client.bucketLock(plain).enabled == false)
        for i in 0..<5 { _ = try client.putObject(plain, key: "p/\(i)", body: [UInt8(i)], retention: nil) }
        #expect(try client.listObjectVersions(plain, prefix: "p/").map(\.key) == (0..<5).map { "p/\($0)" })
        #expect(try client.listObjectVersions(plain, prefix: "p/", pageSize: 2).map(\.key) == (0..<5).map { "p/\($0)" })
        #expect(try client.listObjectVersions(plain, prefix: "none/").isEmpty)
        let missing = try? client.bucketLock("audits3-no-such-bucket-\(UInt32.random(in: 0...UInt32.max))")
        #expect(missing == nil)
    }
}
