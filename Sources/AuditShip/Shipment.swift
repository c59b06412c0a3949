import AuditPlumbing
import AuditS3
import AuditStore
import Crypto
import Foundation

/// One store's shipping to its place in a bucket (FORMAT.md "Shipped
/// objects"), done synchronously: learn what the bucket holds by listing it,
/// then put every byte up to a checkpoint's record that is not there yet.
/// The mount runs it on a `Shipper`'s thread; `auditfs ship` runs it directly.
///
/// Each object is put once, with Content-MD5, a signed SHA-256 of the body,
/// and COMPLIANCE retention until `retain` from now. What the bucket holds is
/// learnt only from listing it — at start and after any failure (a put that
/// timed out may have landed) — never from a local note that could lie.
///
/// Never ships over a divergence: when the bucket holds bytes the host's
/// store does not (a segment the host lacks, more bytes than the host's
/// segment, an object whose MD5 differs from the host's bytes, a gap) the
/// host's store was cut, rolled back or rewritten since they were shipped,
/// and `ShipError.diverged` says where.
public final class Shipment: @unchecked Sendable {
    public let store: StoreDirectory
    public let identity: StoreIdentity
    public let location: S3Location
    public let layout: ObjectLayout
    public let retain: Retention
    let client: S3Client
    /// Objects hold about this many bytes at most (more only for one large frame).
    public var chunkTarget: UInt64 = 16 << 20
    public var clock: @Sendable () -> Date = { Date() }

    /// The end of the bytes the bucket holds of each segment (from 0, without gap).
    public private(set) var shippedEnds: [String: UInt64] = [:]
    public private(set) var identityShipped = false
    /// Whether `learn` has run since the last failure.
    public private(set) var learnt = false
    /// Whether the bucket's Object Lock was seen enabled (`learn` checks it once).
    public var lockChecked = false

    public init(store: StoreDirectory, identity: StoreIdentity, location: S3Location, retain: Retention, client: S3Client) {
        self.store = store
        self.identity = identity
        self.location = location
        self.layout = ObjectLayout(prefix: location.prefix, storeID: identity.idHex)
        self.retain = retain
        self.client = client
    }

    /// Refuses a bucket without Object Lock: objects put there could be deleted.
    public static func checkBucket(_ client: S3Client, _ location: S3Location) throws(ShipError) {
        let lock: BucketLock
        do { lock = try client.bucketLock(location.bucket) } catch { throw .s3(error) }
        guard lock.enabled else {
            throw .refused("bucket '\(location.bucket)' has no Object Lock: shipped evidence could be deleted there "
                + "(create the bucket with Object Lock enabled)")
        }
    }

    /// Lists the bucket and learns what it holds of this store; checks that
    /// it agrees with the host's store (and, the first time, that the bucket
    /// has Object Lock: a mount that started while it could not be reached
    /// never puts an object before that is known).
    public func learn() throws(ShipError) {
        learnt = false
        if !lockChecked {
            try Self.checkBucket(client, location)
            lockChecked = true
        }
        let versions: [ObjectVersion]
        do { versions = try client.listObjectVersions(location.bucket, prefix: layout.storePrefix) } catch { throw .s3(error) }
        let listing = BucketListing(layout: layout, versions: versions)
        var ends: [String: UInt64] = [:]
        let local = Set((try? store.segmentNames()) ?? [])
        for segment in listing.segments {
            if let problem = listing.tilingProblem(segment) { throw .diverged(problem) }
            let end = listing.contiguousEnd(segment)
            guard local.contains(segment) else {
                throw .diverged("the bucket holds \(end) bytes of segment \(segment), which the host's store does not have: "
                    + "the host's store was cut or rolled back")
            }
            let file: RawFile
            let size: UInt64
            do { file = try store.openSegment(segment); size = try file.size() } catch { throw .local("\(error)") }
            guard size >= end else {
                throw .diverged("the bucket holds segment \(segment) to byte \(end), the host's store only to \(size): "
                    + "the host's store was cut or rolled back")
            }
            // The newest object of each segment must hold the host's bytes (its ETag is the MD5 of a single put).
            if let last = listing.chunks[segment]?.last, let etag = Self.md5(etag: last.version.etag) {
                let bytes: [UInt8]
                do { bytes = try file.read(count: Int(last.chunk.length), at: last.chunk.from) } catch { throw .local("\(error)") }
                if Array(Insecure.MD5.hash(data: bytes)) != etag {
                    throw .diverged("\(last.version.key) differs from the host's bytes \(last.chunk): "
                        + "the host's store was rewritten after they were shipped")
                }
            }
            ends[segment] = end
        }
        if let id = listing.identity {
            let bytes: [UInt8]
            do { bytes = try client.getObject(location.bucket, key: id.key, versionId: id.versionId, maxBytes: 4096) } catch { throw .s3(error) }
            guard bytes == identity.encode() else {
                throw .diverged("\(id.key) is not this store's identity file")
            }
        }
        shippedEnds = ends
        identityShipped = listing.identity != nil
        learnt = true
    }

    /// What the last `ship` put.
    public struct Shipped: Sendable, Equatable {
        public var objects = 0
        public var bytes: UInt64 = 0
    }

    /// Puts every byte of the store up to the end of record `through` (a
    /// checkpoint's own record) that the bucket does not hold yet, in order.
    /// Lists the bucket first when it has not since the last failure.
    @discardableResult
    public func ship(through: UInt64) throws(ShipError) -> Shipped {
        if !learnt { try learn() }
        var done = Shipped()
        do throws(ShipError) {
            if !identityShipped {
                try put(layout.identityKey, identity.encode())
                identityShipped = true
                done.objects += 1
            }
            let names: [String]
            do { names = try store.segmentNames() } catch { throw ShipError.local("\(error)") }
            let firsts = names.map { ($0, UInt64($0.prefix(20)) ?? 0) }
            guard let target = firsts.last(where: { $0.1 <= through }) else {
                throw ShipError.local("no segment holds record \(through)")
            }
            for (segment, _) in firsts where segment <= target.0 {
                let from = shippedEnds[segment] ?? 0
                let file: RawFile
                do { file = try store.openSegment(segment) } catch { throw ShipError.local("\(error)") }
                let result: SegmentCuts.Result
                do {
                    result = try SegmentCuts.cuts(file, segment: segment, storeID: identity.id, from: from,
                                                  through: segment == target.0 ? through : nil, target: chunkTarget)
                } catch { throw ShipError.local(error.description) }
                if segment == target.0 && !result.found && !result.ends.isEmpty {
                    // Never ship bytes past the checkpoint's record: no checkpoint would cover them.
                    throw ShipError.local("segment \(segment) ends before record \(through), the checkpoint to ship up to")
                }
                var at = from
                for end in result.ends {
                    let bytes: [UInt8]
                    do { bytes = try file.read(count: Int(end - at), at: at) } catch { throw ShipError.local("\(error)") }
                    guard UInt64(bytes.count) == end - at else { throw ShipError.local("segment \(segment) shrank while shipped") }
                    try put(layout.chunkKey(.init(segment: segment, from: at, to: end)), bytes)
                    shippedEnds[segment] = end
                    done.objects += 1
                    done.bytes += end - at
                    at = end
                }
            }
        } catch {
            learnt = false   // a put that failed may have landed: list again before the next
            throw error
        }
        return done
    }

    /// Bytes of the host's segments the bucket does not hold.
    public func backlog() -> UInt64 {
        var total: UInt64 = 0
        for name in (try? store.segmentNames()) ?? [] {
            guard let size = try? store.openSegment(name).size() else { continue }
            let shipped = shippedEnds[name] ?? 0
            if size > shipped { total += size - shipped }
        }
        return total
    }

    private func put(_ key: String, _ body: [UInt8]) throws(ShipError) {
        let until = clock().addingTimeInterval(retain.seconds)
        do {
            _ = try client.putObject(location.bucket, key: key, body: body, retention: (.compliance, until))
        } catch {
            throw .s3(error)
        }
    }

    /// The MD5 an ETag names, when it is the MD5 of a single put (32 hex
    /// digits, in quotes or not); nil for a multipart or encrypted ETag.
    static func md5(etag: String) -> [UInt8]? {
        var t = Substring(etag)
        if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { t = t.dropFirst().dropLast() }
        guard t.utf8.count == 32 else { return nil }
        return Hex.decode(t)
    }
}

/// Why shipping stopped.
public enum ShipError: Error, CustomStringConvertible, Sendable {
    /// The bucket could not be reached or refused (retried with backoff).
    case s3(S3Error)
    /// The bucket is unfit (no Object Lock): never retried into.
    case refused(String)
    /// The bucket holds bytes the host's store does not: never shipped over.
    case diverged(String)
    /// The host's store could not be read as shipping needs.
    case local(String)

    public var description: String {
        switch self {
        case let .s3(e): "\(e)"
        case let .refused(why), let .diverged(why), let .local(why): why
        }
    }
}
