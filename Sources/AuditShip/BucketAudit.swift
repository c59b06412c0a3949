import AuditPlumbing
import AuditS3
import AuditStore
import Foundation

/// `auditfs verify s3://BUCKET/PREFIX --key KEY`: checks a shipped store on
/// its own, on a machine that never saw the host (docs/SHIPPING.md "For the
/// auditor").
///
/// Reads every version of every key under the store's prefix. The first
/// version of a key is the record; the host holds the bucket's credentials,
/// so root there can add versions and objects (though not remove locked
/// ones), and each is named. Then reads the records back into a store
/// directory and runs the store's own checker on it with the verifier key:
/// chains, tree, checkpoints. Every object must be covered by a checkpoint
/// in the bucket, and every version must be locked in COMPLIANCE mode.
public enum BucketAudit {
    /// One thing found wrong (or, with `failure` false, worth saying).
    public struct Finding: Codable, Sendable, Equatable {
        public var check: String
        public var object: String?
        public var message: String
        public var failure: Bool
    }

    public struct Report: Codable, Sendable {
        public var location: String
        public var storeID: String
        public var objects: Int
        public var versions: Int
        public var bytes: UInt64
        public var findings: [Finding]
        /// The store read back from the first versions, as `auditfs verify` reports it.
        public var store: Checker.Report?
        public var intact: Bool { store?.status == .intact && !findings.contains { $0.failure } }
    }

    /// The checks `Finding.check` names: the rows of FORMAT.md's
    /// "Shipped objects" table (a test keeps them the same set).
    public enum Check: String, CaseIterable, Sendable {
        case identity = "object-identity"
        case tiling = "object-tiling"
        case bytes = "object-bytes"
        case version = "object-version"
        case deleteMarker = "object-delete-marker"
        case stranger = "object-name"
        case retention = "object-retention"
        case unsigned = "object-unsigned"
        case store
    }

    public static func verify(_ client: S3Client, _ location: S3Location, anchors: Checker.Anchors,
                              workDirectory: String, now: Date = Date()) throws(ShipError) -> Report {
        let shipped = try ShippedStore.find(client, location)
        let listing = shipped.listing
        var findings: [Finding] = []
        func fail(_ check: Check, _ object: String?, _ message: String) {
            findings.append(Finding(check: check.rawValue, object: object, message: message, failure: true))
        }
        if listing.identity == nil { fail(Check.identity, listing.layout.identityKey, "missing: not a shipped store, or not all of one") }
        // Versions after the first, delete markers, names outside the layout.
        var firstByKey: [String: ObjectVersion] = [:]
        for r in listing.records { firstByKey[r.key] = r }
        for s in listing.strangers { firstByKey[s.key] = s }
        for v in listing.laterVersions {
            if let first = firstByKey[v.key], Shipment.md5(etag: first.etag) != nil, first.etag == v.etag, first.size == v.size {
                findings.append(Finding(check: Check.version.rawValue, object: "\(v.key) version \(v.versionId)",
                                        message: "a later version with the same bytes as the first (ignored: the first is the record)",
                                        failure: false))
            } else {
                fail(Check.version, "\(v.key) version \(v.versionId)",
                     "a later version with other bytes, put \(Timestamps.rfc3339(Int64(v.lastModified.timeIntervalSince1970) * 1_000_000_000)); the first version is the record")
            }
        }
        for m in listing.deleteMarkers {
            findings.append(Finding(check: Check.deleteMarker.rawValue, object: "\(m.key) version \(m.versionId)",
                                    message: "a delete marker: it hides the key from plain listings, not its versions (read here)",
                                    failure: false))
        }
        for s in listing.strangers { fail(Check.stranger, s.key, "an object under the store's prefix that is no name of the layout") }
        for segment in listing.segments {
            if let problem = listing.tilingProblem(segment) { fail(Check.tiling, nil, problem) }
        }
        // Every version must be locked in COMPLIANCE mode, and still be.
        let all = listing.records + listing.strangers + listing.laterVersions
        for v in all {
            let head: ObjectHead?
            do { head = try client.headObject(location.bucket, key: v.key, versionId: v.versionId) } catch { throw .s3(error) }
            guard let head else { fail(Check.retention, v.key, "listed but not found"); continue }
            if head.lockMode != .compliance {
                fail(Check.retention, "\(v.key) version \(v.versionId)",
                     head.lockMode == nil ? "not locked: it can be deleted" : "locked in \(head.lockMode!.rawValue) mode, which a privileged user can lift; COMPLIANCE is needed")
            } else if let until = head.retainUntil, until <= now {
                fail(Check.retention, "\(v.key) version \(v.versionId)", "its retention ended at \(until): it can be deleted")
            } else if head.retainUntil == nil {
                fail(Check.retention, "\(v.key) version \(v.versionId)", "locked without a retain-until date")
            }
        }
        let bytes = listing.records.reduce(UInt64(0)) { $0 + $1.size }
        var report = Report(location: location.description, storeID: shipped.storeID, objects: listing.records.count,
                            versions: all.count + listing.deleteMarkers.count, bytes: bytes, findings: findings, store: nil)
        guard listing.identity != nil, !findings.contains(where: { $0.check == Check.tiling.rawValue }) else { return report }
        // The records, read back and checked as a store.
        let directory = try makeWorkDirectory(in: workDirectory, storeID: shipped.storeID)
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        do { try shipped.download(client, into: directory) } catch {
            if case .s3 = error { throw error }
            report.findings.append(Finding(check: Check.bytes.rawValue, object: nil, message: error.description, failure: true))
            return report
        }
        var strict = anchors
        strict.unsigned = Checker.UnsignedLimit(maxSpan: nil, maxRecords: 0)
        var store: Checker.Report
        do { store = try Checker.verify(at: directory, anchors: strict) } catch { throw .local("\(error)") }
        store.store = location.description
        if store.status == .unsigned, let s = store.signing {
            report.findings += uncovered(listing, signing: s, directory: directory)
            store.status = .intact   // named object by object above
            store.signing?.check = nil
            store.signing?.message = nil
        } else if store.status == .damaged {
            report.findings.append(Finding(check: Check.store.rawValue, object: nil,
                                           message: store.failure.map { "\($0)" } ?? "damaged", failure: true))
        } else if store.status == .tornTail, let t = store.tornTail {
            report.findings.append(Finding(check: Check.tiling.rawValue, object: nil,
                                           message: "segment \(t.segment) ends inside a frame at \(t.offset): \(t.reason)", failure: true))
        }
        report.store = store
        return report
    }

    /// A new directory of our own (mkdtemp: an unpredictable name, mode 0700)
    /// in `parent` to read the records back into: in a shared /tmp, a name
    /// another user could guess would let them put a directory of theirs in
    /// its place and change the segments between download and check.
    static func makeWorkDirectory(in parent: String, storeID: String) throws(ShipError) -> String {
        var template = Array((parent + "/auditfs-bucket-\(storeID)-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw .local("cannot make a work directory in '\(parent)': \(String(cString: strerror(errno)))")
        }
        return String(cString: made) + "/store"
    }

    /// The objects holding records no checkpoint in the bucket covers.
    static func uncovered(_ listing: BucketListing, signing: Checker.Report.Signing, directory: String) -> [Finding] {
        var end: (segment: String, offset: UInt64)?
        if let size = signing.checkpointSize {
            let target = listing.segments.last { UInt64($0.prefix(20)).map { $0 <= size } ?? false }
            if let target, let file = try? StoreDirectory(directory).openSegment(target),
               let cut = try? SegmentCuts.cuts(file, segment: target, storeID: nil, from: 0, through: size, target: .max),
               cut.found, let e = cut.ends.last {
                end = (target, e)
            }
        }
        var found: [Finding] = []
        for segment in listing.segments {
            for (chunk, version) in listing.chunks[segment]! {
                if let end, segment < end.segment || (segment == end.segment && chunk.to <= end.offset) { continue }
                found.append(Finding(check: Check.unsigned.rawValue, object: version.key,
                                     message: end == nil ? "no checkpoint signed through the verifier key's chain is in the bucket"
                                        : "holds records after the newest checkpoint in the bucket (record \(signing.checkpointSize!), \(end!.segment) to byte \(end!.offset))",
                                     failure: true))
            }
        }
        return found
    }
}
