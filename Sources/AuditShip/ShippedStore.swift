import AuditPlumbing
import AuditS3
import AuditStore
import Crypto
import Foundation

/// A store as a bucket holds it (FORMAT.md "Shipped objects"): found under
/// a location, listed with every version, and read back into a store
/// directory — for `verify s3://…`, `restore` and `verify --against`.
public struct ShippedStore: Sendable {
    public let location: S3Location
    public let listing: BucketListing
    public var layout: ObjectLayout { listing.layout }

    /// Finds the one store at `location`: its prefix may end with the store
    /// id, or hold exactly one store's id below it.
    public static func find(_ client: S3Client, _ location: S3Location, storeID: String? = nil) throws(ShipError) -> ShippedStore {
        let base = location.prefix.isEmpty ? "" : location.prefix + "/"
        let versions: [ObjectVersion]
        do { versions = try client.listObjectVersions(location.bucket, prefix: base) } catch { throw .s3(error) }
        // The prefix names the store itself.
        let own = ObjectLayout(storePrefix: base)
        let lastPart = location.prefix.split(separator: "/").last.map(String.init) ?? ""
        if storeID == nil || storeID == lastPart, versions.contains(where: { own.parse($0.key) != nil }) {
            return ShippedStore(location: location, listing: BucketListing(layout: own, versions: versions))
        }
        let ids = Set(versions.compactMap { ObjectLayout.storeID(of: $0.key, prefix: location.prefix) })
        if let storeID {
            let layout = ObjectLayout(prefix: location.prefix, storeID: storeID)
            return ShippedStore(location: location, listing: BucketListing(layout: layout, versions: versions))
        }
        guard let only = ids.first else {
            throw .refused("no auditfs store at \(location.description)")
        }
        guard ids.count == 1 else {
            throw .refused("\(ids.count) stores at \(location.description): name one, e.g. \(location.description)/\(ids.sorted()[0])")
        }
        return ShippedStore(location: location, listing: BucketListing(layout: ObjectLayout(prefix: location.prefix, storeID: only),
                                                                   versions: versions))
    }

    /// The store id its layout names.
    public var storeID: String { String(layout.storePrefix.dropLast().split(separator: "/").last ?? "") }

    /// What the bucket holds of the store, read into `directory` (which must
    /// be empty or absent): the identity file and each segment, the first
    /// version of its objects in order. Stops at the first gap or overlap.
    /// Every object's bytes are checked against its size and ETag (the MD5 of
    /// a single put).
    public func download(_ client: S3Client, into directory: String) throws(ShipError) {
        guard let id = listing.identity else { throw .refused("\(layout.identityKey) is missing: not a shipped store") }
        do {
            if FileManager.default.fileExists(atPath: directory) {
                let present = try FileManager.default.contentsOfDirectory(atPath: directory)
                guard present.isEmpty else { throw ShipError.refused("'\(directory)' exists and is not empty") }
            } else {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                        attributes: [.posixPermissions: 0o700])
            }
            let store = StoreDirectory(directory)
            try FileManager.default.createDirectory(atPath: store.segmentsPath, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
            for segment in listing.segments {
                if let problem = listing.tilingProblem(segment) { throw ShipError.diverged(problem) }
                let file = try RawFile.open(store.segmentPath(segment), flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
                for (chunk, version) in listing.chunks[segment]! {
                    let bytes = try fetch(client, version, length: chunk.length)
                    try file.write(bytes, at: chunk.from)
                }
                try file.sync()
            }
            // Last, as `auditfs init` writes it: a directory without it is no store.
            let identity = try fetch(client, id, length: nil)
            let file = try RawFile.open(store.identityPath, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            try file.write(identity, at: 0)
            try file.sync()
        } catch let e as ShipError {
            throw e
        } catch {
            throw .local("\(error)")
        }
    }

    /// The first version's bytes, checked against its size and MD5.
    func fetch(_ client: S3Client, _ version: ObjectVersion, length: UInt64?) throws(ShipError) -> [UInt8] {
        let bytes: [UInt8]
        let limit = Int(length ?? 4096)
        do { bytes = try client.getObject(location.bucket, key: version.key, versionId: version.versionId, maxBytes: limit) } catch {
            throw .s3(error)
        }
        if let length, UInt64(bytes.count) != length {
            throw .diverged("\(version.key) holds \(bytes.count) bytes, its name says \(length)")
        }
        if let md5 = Shipment.md5(etag: version.etag), Array(Insecure.MD5.hash(data: bytes)) != md5 {
            throw .diverged("\(version.key): the bytes read do not match its ETag (MD5) \(version.etag)")
        }
        return bytes
    }
}
