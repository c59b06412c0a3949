import Foundation

/// The retention mode of an S3 Object Lock. COMPLIANCE: no one, root included,
/// can delete the version or shorten its retention before the date. GOVERNANCE:
/// a user with s3:BypassGovernanceRetention can.
public enum ObjectLockMode: String, Sendable {
    case compliance = "COMPLIANCE"
    case governance = "GOVERNANCE"
}

/// What HEAD says of one object version.
public struct ObjectHead: Sendable {
    /// Content-Length.
    public var size: UInt64
    /// ETag as sent, quotes included (`"d41d8cd9..."`).
    public var etag: String
    /// x-amz-version-id (absent on an unversioned bucket).
    public var versionId: String?
    /// x-amz-object-lock-mode.
    public var lockMode: ObjectLockMode?
    /// x-amz-object-lock-retain-until-date (ISO 8601).
    public var retainUntil: Date?
    /// Last-Modified (RFC 1123).
    public var lastModified: Date?

    public init(size: UInt64, etag: String, versionId: String?, lockMode: ObjectLockMode?, retainUntil: Date?, lastModified: Date?) {
        self.size = size
        self.etag = etag
        self.versionId = versionId
        self.lockMode = lockMode
        self.retainUntil = retainUntil
        self.lastModified = lastModified
    }
}

/// One entry of ListObjectVersions: a version or a delete marker.
public struct ObjectVersion: Sendable, Equatable {
    /// The key, entities decoded.
    public var key: String
    public var versionId: String
    public var isLatest: Bool
    public var lastModified: Date
    /// 0 for a delete marker.
    public var size: UInt64
    /// As listed, quotes included; "" for a delete marker.
    public var etag: String
    public var isDeleteMarker: Bool

    public init(key: String, versionId: String, isLatest: Bool, lastModified: Date, size: UInt64, etag: String, isDeleteMarker: Bool) {
        self.key = key
        self.versionId = versionId
        self.isLatest = isLatest
        self.lastModified = lastModified
        self.size = size
        self.etag = etag
        self.isDeleteMarker = isDeleteMarker
    }
}

/// A bucket's Object Lock configuration. `enabled` false when the bucket has none
/// (S3 answers 404 ObjectLockConfigurationNotFoundError). The default retention,
/// when set, has a mode and exactly one of days or years.
public struct BucketLock: Sendable, Equatable {
    public var enabled: Bool
    public var defaultMode: ObjectLockMode?
    public var defaultDays: Int?
    public var defaultYears: Int?

    public init(enabled: Bool, defaultMode: ObjectLockMode?, defaultDays: Int?, defaultYears: Int?) {
        self.enabled = enabled
        self.defaultMode = defaultMode
        self.defaultDays = defaultDays
        self.defaultYears = defaultYears
    }
}

/// What a PUT answered.
public struct PutResult: Sendable {
    /// x-amz-version-id (absent on an unversioned bucket).
    public var versionId: String?
    /// ETag as sent, quotes included.
    public var etag: String

    public init(versionId: String?, etag: String) {
        self.versionId = versionId
        self.etag = etag
    }
}
