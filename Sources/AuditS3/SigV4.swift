import Crypto
import Foundation

/// AWS Signature Version 4 for an `Authorization` header, as S3 checks it
/// ("Signature Calculations for the Authorization Header: Transferring Payload
/// in a Single Chunk", Amazon S3 API Reference). Proved by AuditS3Tests/SigV4Tests
/// against AWS's SigV4 test suite and the S3 page's four examples.
///
/// The canonical request is, each part ending in `\n` but the last:
///
///     METHOD
///     /each/path/segment/uri-encoded      (S3: encoded once, '/' kept, never normalized)
///     k1=v1&k2=v2                         (encoded key and value, sorted by key then value)
///     name:value                          (one line a header: name lowercased, value trimmed,
///     ...                                  runs of spaces made one, sorted by name)
///     <empty line>
///     name;name;...                       (the signed header names)
///     hex(SHA-256(payload))               (or the x-amz-content-sha256 value)
///
/// The string to sign is `AWS4-HMAC-SHA256\nTIMESTAMP\nDAY/REGION/SERVICE/aws4_request\n`
/// followed by hex(SHA-256(canonical request)); the signing key is
/// HMAC("AWS4" + secret, DAY) → REGION → SERVICE → "aws4_request" (HMAC-SHA256 each),
/// and the signature is hex(HMAC(signing key, string to sign)).
public enum SigV4 {
    /// What is signed. `path` is the raw path (not yet encoded), starting with `/`;
    /// `query` holds raw names and values (a name alone, like `?versions`, has value "");
    /// `headers` are every header to sign, including `host` and `x-amz-date`.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        /// Lowercase hex SHA-256 of the body (or "UNSIGNED-PAYLOAD").
        public var payloadHash: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [],
                    headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// hex(SHA-256("")): the payload hash of a request without a body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Lowercase hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(bytes))
        return hex(hasher.finalize())
    }

    /// `date` as `YYYYMMDDTHHMMSSZ` (UTC), the x-amz-date form; its first 8 characters are the scope's day.
    public static func timestamp(_ date: Date) -> String {
        let t = CivilTime(date)
        return pad(t.year, 4) + pad(t.month, 2) + pad(t.day, 2) + "T" + pad(t.hour, 2) + pad(t.minute, 2) + pad(t.second, 2) + "Z"
    }

    /// RFC 3986 percent-encoding as SigV4's UriEncode: every byte but `A-Z a-z 0-9 - . _ ~`
    /// becomes `%XX` (uppercase hex); `/` is kept when `keepSlash`.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let upper = Array("0123456789ABCDEF".utf8)
        for c in text.utf8 {
            let unreserved = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
            if unreserved || (keepSlash && c == UInt8(ascii: "/")) {
                out.append(c)
            } else {
                out.append(UInt8(ascii: "%")); out.append(upper[Int(c >> 4)]); out.append(upper[Int(c & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The encoded query string: `name=value` pairs joined by `&`, sorted by encoded
    /// name then encoded value (a name alone still gets its `=`). The same text is
    /// sent on the wire, so what is signed is what the server sees.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name, keepSlash: false), uriEncode($0.value, keepSlash: false)) }
            .sorted { $0.0 != $1.0 ? Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) : Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// The canonical headers (each `name:value\n`) and the signed header list
    /// (`a;b;c`). A name given twice has its values joined by `,` in the given order.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (lines: String, signed: String) {
        var merged: [String: String] = [:]
        for (name, value) in headers {
            let n = name.lowercased()
            let v = trimmed(value)
            merged[n] = merged[n].map { $0 + "," + v } ?? v
        }
        let names = merged.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let lines = names.map { "\($0):\(merged[$0] ?? "")\n" }.joined()
        return (lines, names.joined(separator: ";"))
    }

    /// `value` without leading or trailing spaces and tabs, each inner run of spaces made one.
    static func trimmed(_ value: String) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for c in value.utf8 {
            if c == 0x20 || c == 0x09 {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20); pendingSpace = false }
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical request (see the type's doc).
    public static func canonicalRequest(_ r: Request) -> String {
        let h = canonicalHeaders(r.headers)
        return r.method + "\n" + uriEncode(r.path, keepSlash: true) + "\n" + canonicalQuery(r.query) + "\n"
            + h.lines + "\n" + h.signed + "\n" + r.payloadHash
    }

    /// `DAY/REGION/SERVICE/aws4_request`.
    public static func scope(timestamp: String, region: String, service: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// The string to sign for `canonicalRequest`.
    public static func stringToSign(canonicalRequest: String, timestamp: String, scope: String) -> String {
        "AWS4-HMAC-SHA256\n\(timestamp)\n\(scope)\n" + sha256Hex(Array(canonicalRequest.utf8))
    }

    /// The signing key: the HMAC-SHA256 chain from "AWS4" + secret over day, region, service, "aws4_request".
    public static func signingKey(secret: String, day: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// The signature and the whole `Authorization` header value
    /// (`AWS4-HMAC-SHA256 Credential=ID/SCOPE, SignedHeaders=..., Signature=...`).
    /// `timestamp` must be the request's x-amz-date header value.
    public static func authorization(_ r: Request, accessKeyId: String, secret: String, region: String,
                                     service: String, timestamp: String) -> (authorization: String, signature: String) {
        let scope = scope(timestamp: timestamp, region: region, service: service)
        let toSign = stringToSign(canonicalRequest: canonicalRequest(r), timestamp: timestamp, scope: scope)
        let key = signingKey(secret: secret, day: String(timestamp.prefix(8)), region: region, service: service)
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        let signed = canonicalHeaders(r.headers).signed
        return ("AWS4-HMAC-SHA256 Credential=\(accessKeyId)/\(scope), SignedHeaders=\(signed), Signature=\(signature)", signature)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
