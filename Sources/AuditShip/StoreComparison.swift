import AuditPlumbing
import AuditS3
import AuditStore
import Crypto
import Foundation

/// `auditfs verify STORE --against s3://…`: compares the host's store with
/// what its bucket holds, object by object, and names the first difference
/// (docs/SHIPPING.md). A store rolled back or cut on the host lacks bytes the
/// bucket holds; a rewritten one differs in them — with fresh hashes it may
/// verify on its own, but not against the bucket.
///
/// Compares each object's ETag (the MD5 of a single put) with the MD5 of the
/// host's bytes, so only the listing is read; an object whose ETag is not an
/// MD5, or that differs, is read to find the first byte that differs.
public enum StoreComparison {
    public struct Result: Codable, Sendable {
        public var location: String
        public var objects: Int
        public var bytes: UInt64
        /// The first difference, or nil when the host holds every byte the bucket does.
        public var difference: String?
        /// Bytes of the host's segments the bucket does not hold yet.
        public var unshipped: UInt64
    }

    public static func compare(store path: String, with client: S3Client, _ location: S3Location) throws(ShipError) -> Result {
        let store = StoreDirectory(path)
        let identity: StoreIdentity
        do { identity = try store.readIdentity() } catch { throw .local(error.description) }
        let shipped = try ShippedStore.find(client, location, storeID: identity.idHex)
        let listing = shipped.listing
        var result = Result(location: location.description, objects: 0, bytes: 0, difference: nil, unshipped: 0)
        func differ(_ why: String) -> Result { result.difference = why; return result }
        guard let id = listing.identity else {
            return differ("the bucket holds no object of store \(identity.idHex) at \(location.description)")
        }
        let idBytes = try shipped.fetch(client, id, length: nil)
        guard idBytes == identity.encode() else { return differ("\(id.key) is not the host's identity file") }
        result.objects = 1
        let local: [String]
        do { local = try store.segmentNames() } catch { throw .local(error.description) }
        for segment in listing.segments {
            if let problem = listing.tilingProblem(segment) { return differ("the bucket: \(problem)") }
            guard local.contains(segment) else {
                return differ("the host has no segment \(segment); the bucket holds \(listing.contiguousEnd(segment)) bytes of it: "
                    + "the host's store was cut or rolled back")
            }
            let file: RawFile
            let size: UInt64
            do { file = try store.openSegment(segment); size = try file.size() } catch { throw .local("\(error)") }
            for (chunk, version) in listing.chunks[segment]! {
                guard chunk.to <= size else {
                    return differ("segment \(segment) ends at byte \(size) on the host; the bucket holds it to \(chunk.to) "
                        + "(\(version.key)): the host's store was cut or rolled back")
                }
                let mine: [UInt8]
                do { mine = try file.read(count: Int(chunk.length), at: chunk.from) } catch { throw .local("\(error)") }
                if let md5 = Shipment.md5(etag: version.etag), Array(Insecure.MD5.hash(data: mine)) == md5 {
                    result.objects += 1
                    result.bytes += chunk.length
                    continue
                }
                let theirs = try shipped.fetch(client, version, length: chunk.length)
                if let i = mine.indices.first(where: { mine[$0] != theirs[$0] }) {
                    let at = chunk.from + UInt64(i)
                    return differ("segment \(segment) byte \(at)\(record(file, at: at)) differs from \(version.key): "
                        + "the host's store was rewritten after it was shipped")
                }
                result.objects += 1
                result.bytes += chunk.length
            }
        }
        for segment in local {
            guard let size = try? store.openSegment(segment).size() else { continue }
            let end = listing.contiguousEnd(segment)
            if size > end { result.unshipped += size - end }
        }
        return result
    }

    /// ", in record N" for the frame of the host's segment that holds byte `at`.
    static func record(_ file: RawFile, at: UInt64) -> String {
        guard var reader = try? SegmentReader(file: file, from: 0, bufferSize: 1 << 20), (try? reader.readHeader()) != nil else { return "" }
        if at < UInt64(Format.segmentHeaderSize) { return " (the segment header)" }
        while case let .frame(f)? = try? reader.next() {
            if at < f.end {
                guard let r = try? Record.decodeHeader(f.header) else { return " (frame at \(f.offset))" }
                return ", in record \(r.seq) (frame at \(f.offset))"
            }
        }
        return ""
    }
}
