import AuditS3
import AuditShip

/// Where and how the mount ships its store (`--ship s3://BUCKET/PREFIX`,
/// `--ship-retain 400d`, … or their `-o ship=…` forms; docs/SHIPPING.md):
/// the values as given, checked by `resolve` before the store is touched.
public struct ShipSettings: Sendable, Equatable {
    public var destination: String?
    public var retain: String?
    public var endpoint: String?
    public var region: String?
    public var profile: String?
    public var credentials: String?

    public init(destination: String? = nil, retain: String? = nil, endpoint: String? = nil, region: String? = nil,
                profile: String? = nil, credentials: String? = nil) {
        self.destination = destination; self.retain = retain; self.endpoint = endpoint
        self.region = region; self.profile = profile; self.credentials = credentials
    }

    /// Each value given here, else `other`'s.
    func or(_ other: ShipSettings) -> ShipSettings {
        ShipSettings(destination: destination ?? other.destination, retain: retain ?? other.retain,
                     endpoint: endpoint ?? other.endpoint, region: region ?? other.region,
                     profile: profile ?? other.profile, credentials: credentials ?? other.credentials)
    }

    /// What shipping needs, checked.
    struct Resolved: Sendable {
        var location: S3Location
        var retain: Retention
        var configuration: S3Configuration
    }

    /// Nil without a destination; the one-line error of a value that cannot
    /// be used (a retention without a destination, a bad URL, no credentials).
    func resolve() throws(MountError) -> Resolved? {
        guard let destination else {
            if retain != nil || endpoint != nil || region != nil || profile != nil || credentials != nil {
                throw MountError("--ship-retain, --ship-endpoint-url, --ship-region, --ship-profile and --ship-credentials need --ship s3://BUCKET/PREFIX")
            }
            return nil
        }
        let location: S3Location
        do { location = try S3Location(parsing: destination) } catch { throw MountError("--ship: \(error)") }
        guard let text = retain else {
            throw MountError("--ship needs --ship-retain: how long the bucket must keep each object (\(Retention.form)); "
                + "COMPLIANCE retention cannot be shortened by anyone")
        }
        guard let retention = Retention(parsing: text) else { throw MountError("--ship-retain '\(text)': expected \(Retention.form)") }
        let configuration: S3Configuration
        do {
            configuration = try S3Configuration.load(endpoint: endpoint, region: region, profile: profile, credentialsFile: credentials)
        } catch {
            throw MountError("--ship: \(error)")
        }
        return Resolved(location: location, retain: retention, configuration: configuration)
    }
}
