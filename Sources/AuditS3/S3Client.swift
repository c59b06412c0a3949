// The smallest S3 client auditfs needs: seven calls, path-style, SigV4-signed,
// synchronous. Why it is built the way it is:
//
// - HTTP is Foundation's URLSession (FoundationNetworking, libcurl underneath). It is
//   already linked into `auditfs` (FlyingFox pulls FoundationNetworking, and the
//   package Depends on libcurl4), so it costs no build time in CI; async-http-client
//   would add SwiftNIO, minutes of build on 2 cores.
// - Calls block the calling thread on a semaphore: the shipper runs on a thread of its
//   own and the CLI is synchronous. Each client has its own URLSession, ephemeral
//   (no cookies, no cache, no credential store), with a delegate that refuses every
//   redirect (a 3xx comes back as the answer, and is an error: a signed request must
//   not be replayed elsewhere), caps every body while it arrives (the task is
//   cancelled past the cap, so a hostile server cannot make us hold more), and a
//   per-request time limit (`timeoutIntervalForResource`), with a semaphore deadline
//   10 s later as the backstop so no call can hang.
// - Answers are parsed by a small strict XML reader of our own (XMLReader.swift, S3XML.swift):
//   bounded, no DTDs or entities, fuzzed. Not FoundationXML's XMLParser: on Linux it traps
//   (SIGILL) on a mutated answer, returns true for a truncated one, and drops an external
//   entity's text silently. (It would have linked: with --static-swift-stdlib a program
//   using it still needs the system's libxml2.so.2 at run time, as FoundationNetworking
//   needs libcurl.so.4; AuditS3 uses neither libxml2 nor FoundationXML now.)
// - Path style always (`ENDPOINT/BUCKET/KEY`): it works on AWS and on radosgw, and
//   bucket names with dots need no certificate games.
// - Keys are checked before sending: no control characters, backslash, empty, `.` or
//   `..` segment (libcurl rewrites dot segments, so the path signed would not be the
//   path sent), at most 1,024 bytes.
import Crypto
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let session: URLSession
    let transfers: TransferDelegate
    let now: @Sendable () -> Date

    /// Largest error body read (an `<Error>` document is a few hundred bytes).
    public static let maxErrorBytes = 64 * 1024
    /// Largest ListVersionsResult page read (1,000 entries of 1,024-byte keys, entities and all).
    public static let maxListPageBytes = 16 * 1024 * 1024
    /// Most entries listObjectVersions returns before refusing the listing.
    public static let maxListEntries = 10_000_000
    /// Largest single PUT S3 accepts.
    public static let maxPutBytes = 5 * 1024 * 1024 * 1024

    public convenience init(_ configuration: S3Configuration) {
        self.init(configuration, now: { Date() })
    }

    /// `now` gives the signing time (tests pin it).
    init(_ configuration: S3Configuration, now: @escaping @Sendable () -> Date) {
        self.configuration = configuration
        self.now = now
        let c = URLSessionConfiguration.ephemeral
        c.httpCookieStorage = nil
        c.httpShouldSetCookies = false
        c.httpCookieAcceptPolicy = .never
        c.urlCache = nil
        c.urlCredentialStorage = nil
        c.requestCachePolicy = .reloadIgnoringLocalCacheData
        let timeout = configuration.timeout > 0 ? configuration.timeout : 30
        c.timeoutIntervalForRequest = timeout
        c.timeoutIntervalForResource = timeout
        transfers = TransferDelegate()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: c, delegate: transfers, delegateQueue: queue)
    }

    deinit { session.invalidateAndCancel() }

    // MARK: - The calls

    /// `GET /BUCKET?object-lock`. A 404 ObjectLockConfigurationNotFoundError is a bucket
    /// without Object Lock (`enabled` false), not an error.
    public func bucketLock(_ bucket: String) throws(S3Error) -> BucketLock {
        try S3Location.checkBucket(bucket)
        let operation = "GET s3://\(bucket)?object-lock"
        do {
            let r = try send("GET", bucket: bucket, key: nil, query: [("object-lock", "")], maxBody: Self.maxErrorBytes, operation: operation)
            return try S3XML.objectLock(r.body)
        } catch {
            if case .http(404, "ObjectLockConfigurationNotFoundError", _, _) = error {
                return BucketLock(enabled: false, defaultMode: nil, defaultDays: nil, defaultYears: nil)
            }
            throw error
        }
    }

    /// `PUT /BUCKET/KEY` with the body signed (x-amz-content-sha256 = hex SHA-256 of `body`),
    /// Content-MD5 (base64 MD5, which AWS and radosgw require with lock headers),
    /// Content-Type application/octet-stream and, when `retention` is given,
    /// x-amz-object-lock-mode and x-amz-object-lock-retain-until-date (`YYYY-MM-DDTHH:MM:SSZ`,
    /// rounded up to the second). The answer must carry an ETag.
    public func putObject(_ bucket: String, key: String, body: [UInt8], retention: (mode: ObjectLockMode, until: Date)?) throws(S3Error) -> PutResult {
        try S3Location.checkBucket(bucket)
        try Self.checkKey(key)
        guard body.count <= Self.maxPutBytes else { throw .usage("PUT \(show(bucket, key)): \(body.count) bytes is more than one PUT may carry (5 GiB)") }
        var headers: [(name: String, value: String)] = [
            ("content-md5", Data(Insecure.MD5.hash(data: body)).base64EncodedString()),
            ("content-type", "application/octet-stream"),
        ]
        if let retention {
            headers.append(("x-amz-object-lock-mode", retention.mode.rawValue))
            headers.append(("x-amz-object-lock-retain-until-date", S3Time.iso8601(retention.until)))
        }
        let operation = "PUT \(show(bucket, key))"
        let r = try send("PUT", bucket: bucket, key: key, headers: headers, body: body, maxBody: Self.maxErrorBytes, operation: operation)
        guard let etag = r.header("etag"), !etag.isEmpty else { throw .malformed("\(operation): the answer has no ETag") }
        return PutResult(versionId: r.header("x-amz-version-id"), etag: etag)
    }

    /// `GET /BUCKET/KEY[?versionId=V]`: the object's bytes. A body longer than `maxBytes`
    /// is refused (.malformed) as soon as it passes the cap; a body shorter than its
    /// Content-Length is refused too.
    public func getObject(_ bucket: String, key: String, versionId: String?, maxBytes: Int) throws(S3Error) -> [UInt8] {
        try S3Location.checkBucket(bucket)
        try Self.checkKey(key)
        let operation = "GET \(show(bucket, key))" + (versionId.map { " version \(S3Error.printable($0, limit: 80))" } ?? "")
        let query: [(String, String)] = versionId.map { [("versionId", $0)] } ?? []
        let r = try send("GET", bucket: bucket, key: key, query: query, maxBody: max(0, maxBytes), operation: operation)
        if let length = r.header("content-length") {
            guard let n = S3Time.parseUInt64(length), n == UInt64(r.body.count) else {
                throw .malformed("\(operation): Content-Length \(S3Error.printable(length, limit: 30)) but \(r.body.count) bytes came")
            }
        }
        return r.body
    }

    /// `HEAD /BUCKET/KEY[?versionId=V]`: nil on 404 (no such key, or its latest version is
    /// a delete marker). Content-Length and ETag are required; the lock headers and
    /// Last-Modified are optional but refused (.malformed) when present and unparsable.
    public func headObject(_ bucket: String, key: String, versionId: String?) throws(S3Error) -> ObjectHead? {
        try S3Location.checkBucket(bucket)
        try Self.checkKey(key)
        let operation = "HEAD \(show(bucket, key))" + (versionId.map { " version \(S3Error.printable($0, limit: 80))" } ?? "")
        let query: [(String, String)] = versionId.map { [("versionId", $0)] } ?? []
        let r: Response
        do {
            r = try send("HEAD", bucket: bucket, key: key, query: query, maxBody: Self.maxErrorBytes, operation: operation)
        } catch {
            if case .http(404, _, _, _) = error { return nil }
            throw error
        }
        guard let lengthText = r.header("content-length"), let size = S3Time.parseUInt64(lengthText) else {
            throw .malformed("\(operation): no decimal Content-Length")
        }
        guard let etag = r.header("etag"), !etag.isEmpty else { throw .malformed("\(operation): the answer has no ETag") }
        var head = ObjectHead(size: size, etag: etag, versionId: r.header("x-amz-version-id"), lockMode: nil, retainUntil: nil, lastModified: nil)
        if let mode = r.header("x-amz-object-lock-mode") {
            guard let m = ObjectLockMode(rawValue: mode) else { throw .malformed("\(operation): lock mode \"\(S3Error.printable(mode, limit: 40))\"") }
            head.lockMode = m
        }
        if let until = r.header("x-amz-object-lock-retain-until-date") {
            guard let d = S3Time.parseISO8601(until) else { throw .malformed("\(operation): retain-until \"\(S3Error.printable(until, limit: 40))\"") }
            head.retainUntil = d
        }
        if let modified = r.header("last-modified") {
            guard let d = S3Time.parseRFC1123(modified) else { throw .malformed("\(operation): Last-Modified \"\(S3Error.printable(modified, limit: 40))\"") }
            head.lastModified = d
        }
        return head
    }

    /// Every version and delete marker under `prefix` (`GET /BUCKET?versions&prefix=P`,
    /// 1,000 a page, following NextKeyMarker/NextVersionIdMarker), in the server's order.
    /// Refused (.malformed): a page whose markers do not advance, a truncated page with no
    /// entries (either would loop), more than `maxListEntries` entries in all.
    public func listObjectVersions(_ bucket: String, prefix: String) throws(S3Error) -> [ObjectVersion] {
        try listObjectVersions(bucket, prefix: prefix, pageSize: 1000)
    }

    /// The same, `pageSize` (1...1000) entries a page: tests make the server page.
    func listObjectVersions(_ bucket: String, prefix: String, pageSize: Int) throws(S3Error) -> [ObjectVersion] {
        try S3Location.checkBucket(bucket)
        guard prefix.utf8.count <= 1024, !prefix.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw .usage("s3://\(bucket): a listing prefix must be at most 1,024 bytes without control characters")
        }
        let operation = "GET s3://\(bucket)?versions" + (prefix.isEmpty ? "" : "&prefix=\(S3Error.printable(prefix, limit: 100))")
        var all: [ObjectVersion] = []
        var keyMarker: String?
        var versionMarker: String?
        while true {
            var query: [(String, String)] = [("versions", ""), ("max-keys", String(min(max(pageSize, 1), 1000)))]
            if !prefix.isEmpty { query.append(("prefix", prefix)) }
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let versionMarker { query.append(("version-id-marker", versionMarker)) }
            let r = try send("GET", bucket: bucket, key: nil, query: query, maxBody: Self.maxListPageBytes, operation: operation)
            let page = try S3XML.versionsPage(r.body)
            if all.count + page.entries.count > Self.maxListEntries {
                throw .malformed("\(operation): more than \(Self.maxListEntries) versions")
            }
            all += page.entries
            guard page.isTruncated else { return all }
            if page.entries.isEmpty { throw .malformed("\(operation): a truncated page with no entries") }
            let nextKey = page.nextKeyMarker
            let nextVersion = page.nextVersionIdMarker.flatMap { $0.isEmpty ? nil : $0 }
            if nextKey == keyMarker && nextVersion == versionMarker {
                throw .malformed("\(operation): the next page's markers do not advance")
            }
            keyMarker = nextKey
            versionMarker = nextVersion
        }
    }

    /// `DELETE /BUCKET/KEY[?versionId=V]`. Without a version on a versioned bucket S3
    /// only adds a delete marker; with one, a locked version is refused (403 AccessDenied).
    public func deleteObject(_ bucket: String, key: String, versionId: String?) throws(S3Error) {
        try S3Location.checkBucket(bucket)
        try Self.checkKey(key)
        let operation = "DELETE \(show(bucket, key))" + (versionId.map { " version \(S3Error.printable($0, limit: 80))" } ?? "")
        let query: [(String, String)] = versionId.map { [("versionId", $0)] } ?? []
        _ = try send("DELETE", bucket: bucket, key: key, query: query, maxBody: Self.maxErrorBytes, operation: operation)
    }

    /// `PUT /BUCKET`, with `x-amz-bucket-object-lock-enabled: true` when `objectLock`
    /// (such a bucket is versioned). Outside us-east-1 the body is a
    /// CreateBucketConfiguration naming the region as LocationConstraint, as AWS requires.
    public func createBucket(_ bucket: String, objectLock: Bool) throws(S3Error) {
        try S3Location.checkBucket(bucket)
        var headers: [(name: String, value: String)] = []
        if objectLock { headers.append(("x-amz-bucket-object-lock-enabled", "true")) }
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array(("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
                          + configuration.region + "</LocationConstraint></CreateBucketConfiguration>").utf8)
        }
        _ = try send("PUT", bucket: bucket, key: nil, headers: headers, body: body, maxBody: Self.maxErrorBytes, operation: "PUT s3://\(bucket)")
    }

    // MARK: - Sending

    /// Refuses a key the client will not send (see the comment at the top of the file).
    static func checkKey(_ key: String) throws(S3Error) {
        if key.isEmpty { throw .usage("empty object key") }
        if key.utf8.count > 1024 { throw .usage("object key is longer than 1,024 bytes") }
        do { try S3Location.checkKeyBytes(key, what: "object key") } catch { throw .usage("\(S3Error.printable(key, limit: 100)): \(error.description)") }
    }

    func show(_ bucket: String, _ key: String) -> String { "s3://\(bucket)/\(S3Error.printable(key, limit: 200))" }

    /// A 2xx answer: status, headers (names lowercased), body.
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        func header(_ name: String) -> String? { headers[name] }
    }

    /// The signed request `METHOD ENDPOINT/BUCKET[/KEY][?QUERY]`, sent and waited for.
    /// A non-2xx answer throws `.http` with its error body's Code and Message.
    func send(_ method: String, bucket: String, key: String?, query: [(String, String)] = [],
              headers extra: [(name: String, value: String)] = [], body: [UInt8] = [],
              maxBody: Int, operation: String) throws(S3Error) -> Response {
        let endpoint = configuration.endpoint
        guard let host = endpoint.host, !host.isEmpty else { throw .usage("endpoint \(endpoint) has no host") }
        var hostHeader = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        if let port = endpoint.port { hostHeader += ":\(port)" }
        let path = "/" + bucket + (key.map { "/" + $0 } ?? "")
        let pairs = query.map { (name: $0.0, value: $0.1) }
        let queryText = SigV4.canonicalQuery(pairs)
        var base = endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let urlText = base + SigV4.uriEncode(path, keepSlash: true) + (queryText.isEmpty ? "" : "?" + queryText)
        guard let url = URL(string: urlText) else { throw .usage("\(operation): cannot make a URL of \(S3Error.printable(urlText))") }

        let timestamp = SigV4.timestamp(now())
        let payloadHash = SigV4.sha256Hex(body)
        var headers: [(name: String, value: String)] = [("host", hostHeader), ("x-amz-date", timestamp), ("x-amz-content-sha256", payloadHash)]
        if let token = configuration.credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        headers += extra
        let signing = SigV4.Request(method: method, path: path, query: pairs, headers: headers, payloadHash: payloadHash)
        let auth = SigV4.authorization(signing, accessKeyId: configuration.credentials.accessKeyId,
                                       secret: configuration.credentials.secretAccessKey, region: configuration.region,
                                       service: "s3", timestamp: timestamp)

        var request = URLRequest(url: url)
        request.httpMethod = method
        request.cachePolicy = .reloadIgnoringLocalCacheData
        request.httpShouldHandleCookies = false
        for (name, value) in headers where name != "host" { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue(auth.authorization, forHTTPHeaderField: "authorization")
        if method == "PUT" || !body.isEmpty { request.httpBody = Data(body) }

        let outcome = try transfers.run(session: session, request: request, maxBody: maxBody,
                                        deadline: (configuration.timeout > 0 ? configuration.timeout : 30) + 10, operation: operation)
        let status = outcome.status
        if (200...299).contains(status) { return Response(status: status, headers: outcome.headers, body: outcome.body) }
        let parsed = S3XML.errorBody(outcome.body)
        var code = parsed?.code ?? ""
        var message = parsed?.message ?? ""
        if (300...399).contains(status) {
            code = code.isEmpty ? "Redirect" : code
            message = (message.isEmpty ? "" : message + " ") + "(redirect to \(S3Error.printable(outcome.headers["location"] ?? "nowhere", limit: 100)) not followed)"
        }
        throw .http(status: status, code: code, message: message, operation: operation)
    }
}

/// The session's delegate: one `Transfer` a task, found by task identifier under a lock.
/// It caps the body as it arrives, refuses redirects, and signals the waiting caller.
final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    final class Transfer: @unchecked Sendable {
        let limit: Int
        var body: [UInt8] = []
        var overflow = false
        var error: Error?
        let done = DispatchSemaphore(value: 0)
        init(limit: Int) { self.limit = limit }
    }

    struct Outcome {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    private let lock = NSLock()
    private var transfers: [Int: Transfer] = [:]

    private func transfer(_ task: URLSessionTask) -> Transfer? {
        lock.lock(); defer { lock.unlock() }
        return transfers[task.taskIdentifier]
    }

    func run(session: URLSession, request: URLRequest, maxBody: Int, deadline: Double, operation: String) throws(S3Error) -> Outcome {
        let task = session.dataTask(with: request)
        let t = Transfer(limit: maxBody)
        lock.lock(); transfers[task.taskIdentifier] = t; lock.unlock()
        defer { lock.lock(); transfers[task.taskIdentifier] = nil; lock.unlock() }
        task.resume()
        if t.done.wait(timeout: .now() + deadline) == .timedOut {
            task.cancel()
            _ = t.done.wait(timeout: .now() + 5)
            throw .transport("\(operation): no answer within \(Int(deadline)) s")
        }
        lock.lock()
        let overflow = t.overflow, error = t.error, body = t.body
        lock.unlock()
        if overflow { throw .malformed("\(operation): the answer is longer than \(t.limit) bytes") }
        if let error { throw .transport("\(operation): \(Self.describe(error))") }
        guard let response = task.response as? HTTPURLResponse else { throw .transport("\(operation): no HTTP answer") }
        var headers: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            if let n = name as? String, let v = value as? String { headers[n.lowercased()] = v }
        }
        return Outcome(status: response.statusCode, headers: headers, body: body)
    }

    /// A URLError as words (Linux's localizedDescription is often generic).
    static func describe(_ error: Error) -> String {
        guard let e = error as? URLError else { return String(describing: error) }
        let what: String
        switch e.code {
        case .timedOut: what = "timed out"
        case .cannotConnectToHost: what = "connection refused"
        case .cannotFindHost, .dnsLookupFailed: what = "host not found"
        case .networkConnectionLost: what = "connection lost"
        case .notConnectedToInternet: what = "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot: what = "TLS failed"
        case .cancelled: what = "cancelled"
        default: what = "URL error \(e.code.rawValue)"
        }
        return what
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let t = transfer(dataTask) else { return }
        let status = (dataTask.response as? HTTPURLResponse)?.statusCode ?? 0
        let limit = (200...299).contains(status) ? t.limit : min(t.limit, S3Client.maxErrorBytes)
        lock.lock()
        if t.overflow { lock.unlock(); return }
        if t.body.count + data.count > max(limit, 0) {
            // An error answer is kept up to its cap, cut there; a 2xx answer past the cap is refused.
            if (200...299).contains(status) {
                t.overflow = true
                lock.unlock()
                dataTask.cancel()
                return
            }
            t.body += data.prefix(max(0, limit - t.body.count))
            lock.unlock()
            dataTask.cancel()
            return
        }
        t.body += data
        lock.unlock()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let t = transfer(task) else { return }
        lock.lock()
        // A cancel we made ourselves (a cut error body) is not a transport failure.
        let status = (task.response as? HTTPURLResponse)?.statusCode ?? 0
        if let error, !((error as? URLError)?.code == .cancelled && status != 0) { t.error = error }
        lock.unlock()
        t.done.signal()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}
