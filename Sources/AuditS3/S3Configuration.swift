import Foundation

/// The keys that sign requests.
public struct S3Credentials: Sendable {
    public var accessKeyId: String
    public var secretAccessKey: String
    /// Sent as x-amz-security-token (signed) when present.
    public var sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// Where and as whom S3 is reached.
public struct S3Configuration: Sendable {
    /// Scheme, host and optional port only (`http://127.0.0.1:7480`, `https://s3.eu-west-1.amazonaws.com`).
    public var endpoint: URL
    public var region: String
    public var credentials: S3Credentials
    /// Requests go to `ENDPOINT/BUCKET/KEY`. The client always uses path style (it works
    /// on AWS and on radosgw); the field records what was asked for.
    public var pathStyle: Bool
    /// Seconds per request, whole (connection, headers and body); default 30.
    public var timeout: Double

    public init(endpoint: URL, region: String, credentials: S3Credentials, pathStyle: Bool = true, timeout: Double = 30) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.pathStyle = pathStyle
        self.timeout = timeout
    }

    /// Reads what the AWS CLI reads: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN; else the shared
    /// credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or "default");
    /// region from AWS_REGION, AWS_DEFAULT_REGION, or the config file (AWS_CONFIG_FILE or ~/.aws/config, "[profile X]"/"[default]" region=);
    /// endpoint from AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or config endpoint_url; default https://s3.<region>.amazonaws.com, region default us-east-1.
    /// Explicit arguments win over the environment. Errors are one line naming the file/variable.
    ///
    /// Exactly: an explicit `profile` or `credentialsFile` means the keys come from the
    /// file, whatever the variables say (as `aws --profile` does). Otherwise
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are used when both are set (one alone
    /// is an error) — a profile is not needed then. From a file: the profile's section
    /// in the credentials file, else `aws_access_key_id`/`aws_secret_access_key` in its
    /// config-file section; a profile in neither is an error. A missing config file is
    /// not an error. The config file also gives `endpoint_url` under an `s3 =` block.
    /// The endpoint must be http or https with a host and no path, query or user.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            endpoint: String? = nil, region: String? = nil, profile: String? = nil,
                            credentialsFile: String? = nil) throws(S3Error) -> S3Configuration {
        func env(_ name: String) -> String? {
            guard let v = environment[name], !v.isEmpty else { return nil }
            return v
        }
        let home = env("HOME")
        let profileName = profile ?? env("AWS_PROFILE") ?? "default"
        let profileSource = profile != nil ? "profile \(profileName)" : env("AWS_PROFILE") != nil ? "AWS_PROFILE=\(profileName)" : "profile default"

        let configPath = env("AWS_CONFIG_FILE") ?? home.map { $0 + "/.aws/config" }
        let config = try configPath.flatMap { (p: String) throws(S3Error) -> SharedConfigFile? in try SharedConfigFile.load(p) }
        let configSection: [String: String]? = config.flatMap { c in
            profileName == "default" ? (c.sections["default"] ?? c.sections["profile default"]) : c.sections["profile \(profileName)"]
        }

        // Credentials.
        var credentials: S3Credentials
        let envKey = env("AWS_ACCESS_KEY_ID"), envSecret = env("AWS_SECRET_ACCESS_KEY")
        if profile == nil && credentialsFile == nil && (envKey != nil || envSecret != nil) {
            guard let key = envKey else { throw .usage("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") }
            guard let secret = envSecret else { throw .usage("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") }
            credentials = S3Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: env("AWS_SESSION_TOKEN"))
        } else {
            let credentialsSource = credentialsFile != nil ? "the credentials file" : env("AWS_SHARED_CREDENTIALS_FILE") != nil ? "AWS_SHARED_CREDENTIALS_FILE" : "~/.aws/credentials"
            guard let path = credentialsFile ?? env("AWS_SHARED_CREDENTIALS_FILE") ?? home.map({ $0 + "/.aws/credentials" }) else {
                throw .usage("no S3 credentials: AWS_ACCESS_KEY_ID is not set and HOME is not set to find ~/.aws/credentials")
            }
            let file = try SharedConfigFile.load(path)
            if file == nil && (credentialsFile != nil || configSection == nil) {
                throw .usage(credentialsFile != nil || env("AWS_SHARED_CREDENTIALS_FILE") != nil
                             ? "\(path) (\(credentialsSource)) does not exist"
                             : "no S3 credentials: AWS_ACCESS_KEY_ID is not set and \(path) does not exist")
            }
            let section: [String: String]
            let where_: String
            if let s = file?.sections[profileName] {
                section = s
                where_ = path
            } else if let s = configSection, s["aws_access_key_id"] != nil || s["aws_secret_access_key"] != nil {
                section = s
                where_ = config?.path ?? "the config file"
            } else {
                throw .usage("\(profileSource) is not in \(path)" + (configPath.map { " or \($0)" } ?? ""))
            }
            guard let key = section["aws_access_key_id"], !key.isEmpty else {
                throw .usage("\(where_): profile \(profileName) has no aws_access_key_id")
            }
            guard let secret = section["aws_secret_access_key"], !secret.isEmpty else {
                throw .usage("\(where_): profile \(profileName) has no aws_secret_access_key")
            }
            let token = section["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
            credentials = S3Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token)
        }
        for (name, value) in [("access key id", credentials.accessKeyId), ("secret access key", credentials.secretAccessKey),
                              ("session token", credentials.sessionToken ?? "")]
        where value.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value > 0x7e }) {
            throw .usage("the S3 \(name) holds a space, control or non-ASCII character")
        }

        // Region.
        let regionValue: String
        let regionSource: String
        if let r = region { (regionValue, regionSource) = (r, "the region") }
        else if let r = env("AWS_REGION") { (regionValue, regionSource) = (r, "AWS_REGION") }
        else if let r = env("AWS_DEFAULT_REGION") { (regionValue, regionSource) = (r, "AWS_DEFAULT_REGION") }
        else if let r = configSection?["region"], !r.isEmpty { (regionValue, regionSource) = (r, "region in \(config?.path ?? "the config file")") }
        else { (regionValue, regionSource) = ("us-east-1", "the default region") }
        guard !regionValue.isEmpty, regionValue.utf8.count <= 40,
              regionValue.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }) else {
            throw .usage("\(regionSource) \"\(S3Error.printable(regionValue, limit: 40))\" is not a region name (a-z, 0-9, '-')")
        }

        // Endpoint.
        let endpointText: String
        let endpointSource: String
        if let e = endpoint { (endpointText, endpointSource) = (e, "the endpoint") }
        else if let e = env("AWS_ENDPOINT_URL_S3") { (endpointText, endpointSource) = (e, "AWS_ENDPOINT_URL_S3") }
        else if let e = env("AWS_ENDPOINT_URL") { (endpointText, endpointSource) = (e, "AWS_ENDPOINT_URL") }
        else if let e = configSection?["s3.endpoint_url"] ?? configSection?["endpoint_url"], !e.isEmpty {
            (endpointText, endpointSource) = (e, "endpoint_url in \(config?.path ?? "the config file")")
        } else { (endpointText, endpointSource) = ("https://s3.\(regionValue).amazonaws.com", "the default endpoint") }
        let url = try checkEndpoint(endpointText, source: endpointSource)
        return S3Configuration(endpoint: url, region: regionValue, credentials: credentials, pathStyle: true, timeout: 30)
    }

    /// `text` as an endpoint URL: http or https, a host, an optional port, no user,
    /// path (but "/"), query or fragment; the trailing slash is dropped.
    static func checkEndpoint(_ text: String, source: String) throws(S3Error) -> URL {
        let shown = S3Error.printable(text, limit: 100)
        guard let c = URLComponents(string: text), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = c.host, !host.isEmpty else {
            throw .usage("\(source) \"\(shown)\" is not an http:// or https:// URL with a host")
        }
        guard c.user == nil, c.password == nil, c.query == nil, c.fragment == nil, c.path.isEmpty || c.path == "/" else {
            throw .usage("\(source) \"\(shown)\" may give only scheme, host and port (no path, query or user)")
        }
        var clean = URLComponents()
        clean.scheme = scheme
        clean.host = host
        if let port = c.port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) { clean.port = port }
        guard let url = clean.url else { throw .usage("\(source) \"\(shown)\" is not a usable URL") }
        return url
    }
}
