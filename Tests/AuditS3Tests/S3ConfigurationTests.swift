@testable import AuditS3
import Foundation
import Testing

/// S3Configuration.load: the AWS CLI's sources, their precedence, and one-line errors.
@Suite struct S3ConfigurationTests {
    /// A fresh directory as HOME with `.aws/credentials` and `.aws/config` when given; removed after `body`.
    static func withHome(credentials: String? = nil, config: String? = nil, _ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "/auditS3-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/.aws", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        if let credentials { try Data(credentials.utf8).write(to: URL(fileURLWithPath: dir + "/.aws/credentials")) }
        if let config { try Data(config.utf8).write(to: URL(fileURLWithPath: dir + "/.aws/config")) }
        try body(dir)
    }

    static let credentials = """
        # comment
        [default]
        aws_access_key_id = AKDEFAULT
        aws_secret_access_key = secretdefault

        [ceph]
        aws_access_key_id=AKCEPH
        aws_secret_access_key=secretceph
        aws_session_token = tok
        """

    static let config = """
        [default]
        region = eu-west-1
        ; comment
        [profile ceph]
        region = zone-a
        s3 =
          endpoint_url = http://127.0.0.1:7480
          addressing_style = path
        """

    static func usage(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as S3Error {
            if case .usage(let m) = e { return m }
            return "not usage: \(e)"
        } catch { return "\(error)" }
    }

    @Test func defaultsFromTheFiles() throws {
        try Self.withHome(credentials: Self.credentials, config: Self.config) { home in
            let c = try S3Configuration.load(environment: ["HOME": home])
            #expect(c.credentials.accessKeyId == "AKDEFAULT")
            #expect(c.credentials.secretAccessKey == "secretdefault")
            #expect(c.credentials.sessionToken == nil)
            #expect(c.region == "eu-west-1")
            #expect(c.endpoint.absoluteString == "https://s3.eu-west-1.amazonaws.com")
            #expect(c.pathStyle && c.timeout == 30)
        }
    }

    @Test func profileFromTheEnvironmentAndNestedEndpoint() throws {
        try Self.withHome(credentials: Self.credentials, config: Self.config) { home in
            let c = try S3Configuration.load(environment: ["HOME": home, "AWS_PROFILE": "ceph"])
            #expect(c.credentials.accessKeyId == "AKCEPH")
            #expect(c.credentials.sessionToken == "tok")
            #expect(c.region == "zone-a")
            #expect(c.endpoint.absoluteString == "http://127.0.0.1:7480")
        }
    }

    @Test func environmentKeysBeatTheFileUnlessAProfileIsExplicit() throws {
        try Self.withHome(credentials: Self.credentials, config: Self.config) { home in
            let env = ["HOME": home, "AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "secretenv", "AWS_SESSION_TOKEN": "envtok",
                       "AWS_PROFILE": "ceph"]
            let c = try S3Configuration.load(environment: env)
            #expect(c.credentials.accessKeyId == "AKENV")
            #expect(c.credentials.sessionToken == "envtok")
            let p = try S3Configuration.load(environment: env, profile: "ceph")
            #expect(p.credentials.accessKeyId == "AKCEPH")
        }
    }

    @Test func regionAndEndpointPrecedence() throws {
        try Self.withHome(credentials: Self.credentials, config: Self.config) { home in
            var env = ["HOME": home, "AWS_DEFAULT_REGION": "us-west-2"]
            let a = try S3Configuration.load(environment: env)
            #expect(a.region == "us-west-2")
            env["AWS_REGION"] = "ap-south-1"
            let b = try S3Configuration.load(environment: env)
            #expect(b.region == "ap-south-1")
            let c = try S3Configuration.load(environment: env, region: "ca-central-1")
            #expect(c.region == "ca-central-1")
            env["AWS_ENDPOINT_URL"] = "http://localhost:9000/"
            let d = try S3Configuration.load(environment: env)
            #expect(d.endpoint.absoluteString == "http://localhost:9000")
            env["AWS_ENDPOINT_URL_S3"] = "https://s3.example:443"
            let e = try S3Configuration.load(environment: env)
            #expect(e.endpoint.absoluteString == "https://s3.example")
            let f = try S3Configuration.load(environment: env, endpoint: "http://[::1]:7480")
            #expect(f.endpoint.port == 7480)
        }
    }

    @Test func noFilesAtAll() throws {
        let c = try S3Configuration.load(environment: ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S"])
        #expect(c.region == "us-east-1")
        #expect(c.endpoint.absoluteString == "https://s3.us-east-1.amazonaws.com")
    }

    @Test func explicitCredentialsFile() throws {
        try Self.withHome(credentials: Self.credentials) { home in
            let c = try S3Configuration.load(environment: ["AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "s"],
                                             credentialsFile: home + "/.aws/credentials")
            #expect(c.credentials.accessKeyId == "AKDEFAULT")
        }
    }

    @Test func errorsNameTheFileOrVariable() throws {
        try Self.withHome(credentials: Self.credentials, config: Self.config) { home in
            let m1 = Self.usage { _ = try S3Configuration.load(environment: ["HOME": home], profile: "nope") }
            #expect(m1 == "profile nope is not in \(home)/.aws/credentials or \(home)/.aws/config")
            let m2 = Self.usage { _ = try S3Configuration.load(environment: ["HOME": home, "AWS_ACCESS_KEY_ID": "x"]) }
            #expect(m2 == "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
            let m3 = Self.usage { _ = try S3Configuration.load(environment: ["HOME": home, "AWS_REGION": "Bad Region"]) }
            #expect(m3?.hasPrefix("AWS_REGION \"Bad Region\"") == true)
            let m4 = Self.usage { _ = try S3Configuration.load(environment: ["HOME": home], endpoint: "ftp://x") }
            #expect(m4?.hasPrefix("the endpoint \"ftp://x\"") == true)
            let m5 = Self.usage { _ = try S3Configuration.load(environment: ["HOME": home, "AWS_ENDPOINT_URL": "http://h/path"]) }
            #expect(m5?.hasPrefix("AWS_ENDPOINT_URL \"http://h/path\" may give only") == true)
            let m6 = Self.usage { _ = try S3Configuration.load(environment: ["HOME": home], credentialsFile: home + "/missing") }
            #expect(m6 == "\(home)/missing (the credentials file) does not exist")
        }
        let m7 = Self.usage { _ = try S3Configuration.load(environment: ["HOME": "/nonexistent-home"]) }
        #expect(m7 == "no S3 credentials: AWS_ACCESS_KEY_ID is not set and /nonexistent-home/.aws/credentials does not exist")
    }

    @Test(arguments: [
        ("aws_access_key_id = x\n", "credentials:1: a setting before any [section]"),
        ("[default]\njust words\n", "credentials:2: not 'key = value'"),
        ("[default\n", "credentials:1: bad section header"),
        ("[ ]\n", "credentials:1: empty section name"),
        ("[default]\n = v\n", "credentials:2: empty key"),
        ("[default]\naws_access_key_id = A\n", "profile default has no aws_secret_access_key"),
        ("[default]\naws_access_key_id = A B\naws_secret_access_key = S\n", "access key id holds a space"),
    ])
    func badCredentialFiles(_ text: String, _ message: String) throws {
        try Self.withHome(credentials: text) { home in
            let m = Self.usage { _ = try S3Configuration.load(environment: ["HOME": home]) }
            #expect(m?.contains(message) == true, "\(m ?? "accepted")")
            #expect(m?.contains("\n") == false)
        }
    }

    @Test func keysInTheConfigFileServeWhenTheCredentialsFileLacksTheProfile() throws {
        try Self.withHome(config: "[profile x]\naws_access_key_id = AKC\naws_secret_access_key = S\n") { home in
            let c = try S3Configuration.load(environment: ["HOME": home, "AWS_PROFILE": "x"])
            #expect(c.credentials.accessKeyId == "AKC")
        }
    }
}
