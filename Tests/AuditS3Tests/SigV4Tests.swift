@testable import AuditS3
import Testing

/// SigV4.swift against AWS's published vectors.
///
/// Sources:
/// - "suite": AWS's SigV4 test suite (`aws-sig-v4-test-suite`), as kept in
///   awslabs/aws-c-auth tests/aws-signing-test-suite/v4/NAME/ (request.txt,
///   header-canonical-request.txt, header-signature.txt; commit 495329c2).
///   Credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region
///   us-east-1, service "service", 2015-08-30T12:36:00Z. (aws-c-auth's
///   post-x-www-form-urlencoded signs content-length and x-amz-content-sha256 too,
///   unlike the 2015 zip; its signature is the one below.)
/// - "s3": Amazon S3 API Reference, "Signature Calculations for the Authorization
///   Header: Transferring Payload in a Single Chunk", Examples (GET Object with
///   Range, PUT Object, GET Bucket Lifecycle, Get Bucket (List Objects)).
///   Credentials AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,
///   bucket examplebucket, region us-east-1, service s3, 20130524T000000Z.
@Suite struct SigV4Tests {
    struct Vector: CustomTestStringConvertible, Sendable {
        var name: String
        var request: SigV4.Request
        var s3: Bool
        var signature: String
        var canonical: String?
        var testDescription: String { name }
    }

    static let suiteTime = "20150830T123600Z"
    static let s3Time = "20130524T000000Z"

    static func suite(_ name: String, _ method: String, _ path: String, query: [(String, String)] = [],
                      headers: [(String, String)] = [], payload: String = SigV4.emptyPayloadHash,
                      _ signature: String, canonical: String? = nil) -> Vector {
        let h = [("Host", "example.amazonaws.com")] + headers + [("X-Amz-Date", suiteTime)]
        return Vector(name: name, request: SigV4.Request(method: method, path: path, query: query.map { ($0.0, $0.1) },
                                                        headers: h.map { ($0.0, $0.1) }, payloadHash: payload),
                      s3: false, signature: signature, canonical: canonical)
    }

    static func s3(_ name: String, _ method: String, _ path: String, query: [(String, String)] = [],
                   headers: [(String, String)], payload: String = SigV4.emptyPayloadHash, _ signature: String,
                   canonical: String? = nil) -> Vector {
        let h = [("Host", "examplebucket.s3.amazonaws.com")] + headers + [("x-amz-content-sha256", payload), ("x-amz-date", s3Time)]
        return Vector(name: name, request: SigV4.Request(method: method, path: path, query: query.map { ($0.0, $0.1) },
                                                        headers: h.map { ($0.0, $0.1) }, payloadHash: payload),
                      s3: true, signature: signature, canonical: canonical)
    }

    static let vectors: [Vector] = [
        suite("get-vanilla", "GET", "/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
              canonical: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        suite("get-vanilla-query-order-key-case", "GET", "/", query: [("Param2", "value2"), ("Param1", "value1")],
              "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        suite("get-vanilla-empty-query-key", "GET", "/", query: [("Param1", "value1")],
              "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
        suite("get-vanilla-query-order-encoded", "GET", "/", query: [("Param-3", "Value3"), ("Param", "Value2"), ("\u{1234}", "Value1")],
              "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
              canonical: "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        suite("get-vanilla-query-unreserved", "GET", "/",
              query: [("-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")],
              "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
        suite("get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
              "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        suite("get-utf8", "GET", "/\u{1234}", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        suite("get-space-normalized", "GET", "/example space/", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
        suite("get-header-value-trim", "GET", "/", headers: [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
              "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
              canonical: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        suite("post-x-www-form-urlencoded", "POST", "/",
              headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "13"),
                        ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")],
              payload: "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
              "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"),
        s3("s3 GET Object (Range)", "GET", "/test.txt", headers: [("Range", "bytes=0-9")],
           "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
           canonical: "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        s3("s3 PUT Object", "PUT", "/test$file.text",
           headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
           payload: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
           "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        s3("s3 GET Bucket Lifecycle", "GET", "/", query: [("lifecycle", "")], headers: [],
           "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        s3("s3 Get Bucket (List Objects)", "GET", "/", query: [("max-keys", "2"), ("prefix", "J")], headers: [],
           "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ]

    @Test(arguments: vectors) func signsAsAWSDoes(_ v: Vector) {
        let (id, secret, service, time) = v.s3
            ? ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "s3", Self.s3Time)
            : ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "service", Self.suiteTime)
        if let canonical = v.canonical { #expect(SigV4.canonicalRequest(v.request) == canonical) }
        let auth = SigV4.authorization(v.request, accessKeyId: id, secret: secret, region: "us-east-1", service: service, timestamp: time)
        #expect(auth.signature == v.signature)
        #expect(auth.authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=\(id)/\(time.prefix(8))/us-east-1/\(service)/aws4_request, SignedHeaders="))
        #expect(auth.authorization.hasSuffix(", Signature=\(v.signature)"))
    }

    /// The suite's get-vanilla-with-session-token: the token is a signed header.
    @Test func sessionTokenIsSigned() {
        var r = Self.vectors[0].request
        r.headers.append(("X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"))
        let auth = SigV4.authorization(r, accessKeyId: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                       region: "us-east-1", service: "service", timestamp: Self.suiteTime)
        #expect(auth.signature == "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8")
    }

    /// The suite's string to sign for get-vanilla, and the PUT example's payload hash.
    @Test func stringToSignAndPayloadHash() {
        let sts = SigV4.stringToSign(canonicalRequest: SigV4.canonicalRequest(Self.vectors[0].request), timestamp: Self.suiteTime,
                                     scope: SigV4.scope(timestamp: Self.suiteTime, region: "us-east-1", service: "service"))
        #expect(sts == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        #expect(SigV4.sha256Hex(Array("Welcome to Amazon S3.".utf8)) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        #expect(SigV4.sha256Hex([]) == SigV4.emptyPayloadHash)
    }

    @Test func uriEncodingKeepsOnlyUnreserved() {
        #expect(SigV4.uriEncode("a b/c~d+e$é%", keepSlash: true) == "a%20b/c~d%2Be%24%C3%A9%25")
        #expect(SigV4.uriEncode("a/b", keepSlash: false) == "a%2Fb")
        #expect(SigV4.uriEncode("-._~AZaz09", keepSlash: false) == "-._~AZaz09")
        #expect(SigV4.canonicalQuery([("versions", ""), ("prefix", "a/b c"), ("key-marker", "k&=")])
                == "key-marker=k%26%3D&prefix=a%2Fb%20c&versions=")
    }

    @Test func timestampIsUTC() {
        #expect(SigV4.timestamp(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(SigV4.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    }
}

import Foundation
