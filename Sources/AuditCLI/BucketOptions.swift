import ArgumentParser
import AuditS3
import AuditShip

/// Where a bucket is and how to reach it, as the AWS tools read it: the
/// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
/// AWS_REGION, AWS_ENDPOINT_URL, AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE,
/// AWS_CONFIG_FILE) and ~/.aws/credentials and ~/.aws/config; these options win.
struct BucketOptions: ParsableArguments {
    @Option(name: .customLong("endpoint-url"), help: "The S3 endpoint, for a server that is not AWS (http://127.0.0.1:7480); default AWS_ENDPOINT_URL or AWS's.")
    var endpointURL: String?
    @Option(help: "The bucket's region (default AWS_REGION, the config file, or us-east-1).")
    var region: String?
    @Option(help: "The profile of the AWS credentials and config files (default AWS_PROFILE or default).")
    var profile: String?
    @Option(name: .customLong("credentials-file"), help: "An AWS credentials file (default AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials).")
    var credentialsFile: String?

    /// A client for the bucket, or a one-line error.
    func client() throws(CommandFailure) -> S3Client {
        do {
            return S3Client(try S3Configuration.load(endpoint: endpointURL, region: region, profile: profile,
                                                     credentialsFile: credentialsFile))
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

/// An `s3://BUCKET/PREFIX` argument, or a one-line error.
func bucketLocation(_ text: String) throws(CommandFailure) -> S3Location {
    do { return try S3Location(parsing: text) } catch { throw CommandFailure(error.description) }
}

extension ShipError {
    /// As a command fails with it: 1 when the bucket disagrees, 2 when it cannot be read.
    var failure: CommandFailure {
        switch self {
        case .diverged: CommandFailure(description, code: 1)
        case .s3, .refused, .local: CommandFailure(description)
        }
    }
}
