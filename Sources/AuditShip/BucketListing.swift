import AuditS3
import AuditStore
import Foundation

/// What a bucket holds of one store, from a listing of every version of
/// every key under the store's prefix (FORMAT.md "Shipped objects"): the
/// first version of each key is the record; anything else is named.
///
/// Built only from the listing — what the bucket really holds — so that the
/// shipper resumes from it after a crash and the auditor checks it, never a
/// local note that could lie.
public struct BucketListing: Sendable {
    public let layout: ObjectLayout
    /// The identity object's first version, if any.
    public var identity: ObjectVersion?
    /// The first version of each chunk, by segment, in offset order.
    public var chunks: [String: [(chunk: ObjectLayout.Chunk, version: ObjectVersion)]] = [:]
    /// Versions after the first of a key: root on the host holds the
    /// credentials and can add them, though not remove the first.
    public var laterVersions: [ObjectVersion] = []
    /// Delete markers: they hide a key from a plain listing, never its versions.
    public var deleteMarkers: [ObjectVersion] = []
    /// Keys under the store's prefix that are no name of the layout.
    public var strangers: [ObjectVersion] = []

    /// Sorts a listing (any order) of the versions under `layout.storePrefix`.
    public init(layout: ObjectLayout, versions: [ObjectVersion]) {
        self.layout = layout
        var byKey: [String: [ObjectVersion]] = [:]
        for v in versions where v.key.hasBytePrefix(layout.storePrefix) {
            if v.isDeleteMarker { deleteMarkers.append(v); continue }
            byKey[v.key, default: []].append(v)
        }
        for (key, all) in byKey {
            // The first version is the oldest; equal times keep the listing's order
            // (S3 lists a key's versions newest first).
            let ordered = all.enumerated().sorted { a, b in
                a.element.lastModified != b.element.lastModified ? a.element.lastModified < b.element.lastModified : a.offset > b.offset
            }.map(\.element)
            let first = ordered[0]
            laterVersions += ordered.dropFirst()
            switch layout.parse(key) {
            case .identity: identity = first
            case let .chunk(c): chunks[c.segment, default: []].append((c, first))
            case nil: strangers.append(first)
            }
        }
        for s in chunks.keys { chunks[s]!.sort { $0.chunk.from < $1.chunk.from } }
        laterVersions.sort { ($0.key, $0.lastModified) < ($1.key, $1.lastModified) }
        deleteMarkers.sort { $0.key < $1.key }
        strangers.sort { $0.key < $1.key }
    }

    /// The largest object a shipper puts: a chunk target of 16 MiB plus one
    /// frame of the largest size (FORMAT.md "Frame"). A listed object larger
    /// than this is no object of ours, and is never read into memory.
    public static let maxObject: UInt64 = 16 << 20 + UInt64(Format.maxPayloadSize) + UInt64(Format.maxHeaderSize) + 64

    /// The segment names, in order.
    public var segments: [String] { chunks.keys.sorted() }

    /// Where the first gap or overlap of a segment's chunks is: chunks must
    /// tile it from byte 0. Nil when they do.
    public func tilingProblem(_ segment: String) -> String? {
        var at: UInt64 = 0
        for (c, v) in chunks[segment] ?? [] {
            if c.from > at { return "gap in \(segment): no object holds bytes [\(at), \(c.from))" }
            if c.from < at { return "overlap in \(segment): \(v.key) starts at \(c.from), inside bytes already held to \(at)" }
            if v.size != c.length { return "\(v.key) holds \(v.size) bytes, its name says \(c.length)" }
            if c.length > Self.maxObject { return "\(v.key) holds \(c.length) bytes, more than any object a shipper puts (\(Self.maxObject))" }
            at = c.to
        }
        return nil
    }

    /// The bytes [0, end) of a segment the bucket holds without a gap from 0
    /// (0 when it holds none).
    public func contiguousEnd(_ segment: String) -> UInt64 {
        var at: UInt64 = 0
        for (c, v) in chunks[segment] ?? [] {
            guard c.from == at, v.size == c.length, c.length <= Self.maxObject else { break }
            at = c.to
        }
        return at
    }

    /// Every key's first version, in order: identity, then chunks by segment and offset.
    public var records: [ObjectVersion] {
        (identity.map { [$0] } ?? []) + segments.flatMap { chunks[$0]!.map(\.version) }
    }
}
