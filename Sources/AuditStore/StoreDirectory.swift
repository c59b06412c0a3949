import AuditPlumbing
import Glibc

/// A store's directory (FORMAT.md "Store directory"): where its identity
/// file, segments and derived caches are, its identity, and its segments in
/// sequence order. Every reader of a store — the store itself, the checker,
/// the history, the follower and the query index — finds them here.
public struct StoreDirectory: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var identityPath: String { path + "/" + Format.identityFile }
    public var segmentsPath: String { path + "/" + Format.segmentsDirectory }
    public var cachePath: String { path + "/" + Format.cacheDirectory }
    var cacheKeyPath: String { path + "/" + CacheKey.fileName }
    var treeCachePath: String { cachePath + "/tree" }
    var tornPath: String { path + "/" + Format.tornDirectory }

    /// The path of segment file `name`.
    public func segmentPath(_ name: String) -> String { segmentsPath + "/" + name }

    /// The path of the segment whose first record is `firstSeq`.
    public func segmentPath(firstSeq: UInt64) -> String { segmentPath(SegmentHeader.fileName(firstSeq: firstSeq)) }

    /// Reads and parses the identity file: `.missing`, `.permissionDenied`,
    /// `.notAStore`, `.badIdentity` or `.unsupportedVersion` when it is not
    /// a readable store of this version.
    public func readIdentity() throws(StoreError) -> StoreIdentity {
        guard FileSystem.exists(path) else {
            throw errno == EACCES ? .permissionDenied(path) : .missing(path)
        }
        guard FileSystem.isDirectory(path) else { throw .notAStore(path) }
        guard FileSystem.exists(identityPath) else { throw errno == EACCES ? .permissionDenied(path) : .notAStore(path) }
        let bytes: [UInt8]
        do {
            bytes = try RawFile.open(identityPath, flags: O_RDONLY).read(count: 4096, at: 0)
        } catch let e as SystemError where e.errno == EACCES {
            throw .permissionDenied(path)
        } catch {
            throw .wrap(error)
        }
        return try StoreIdentity.decode(bytes, store: path)
    }

    /// The names of the segment files, in sequence order (their names sort
    /// by first sequence number).
    public func segmentNames() throws(StoreError) -> [String] {
        guard FileSystem.isDirectory(segmentsPath) else { throw .notAStore(path) }
        do {
            return try FileSystem.list(segmentsPath).filter { $0.hasSuffix(Format.segmentSuffix) }
        } catch { throw .wrap(error) }
    }

    /// Opens every segment file, in sequence order (headers not read yet).
    func openSegments(writable: Bool) throws(StoreError) -> [Replay.Segment] {
        var result: [Replay.Segment] = []
        for name in try segmentNames() {
            result.append(Replay.Segment(name: name, file: try openSegment(name, writable: writable), header: nil))
        }
        return result
    }

    /// Opens segment file `name` (read-only unless `writable`).
    public func openSegment(_ name: String, writable: Bool = false) throws(StoreError) -> RawFile {
        do { return try RawFile.open(segmentPath(name), flags: writable ? O_RDWR : O_RDONLY) } catch { throw .wrap(error) }
    }
}
