import AuditS3
@testable import AuditShip
import Foundation
import Glibc
import Testing

/// FORMAT.md "Shipped objects": every name has one spelling, and anything
/// else under a store's prefix is no name of the layout.
@Suite struct ObjectLayoutTests {
    let layout = ObjectLayout(prefix: "fleet/eu", storeID: "0123456789abcdef0123456789abcdef")

    @Test func namesRoundTrip() {
        #expect(layout.identityKey == "fleet/eu/0123456789abcdef0123456789abcdef/auditfs-store")
        let chunk = ObjectLayout.Chunk(segment: "00000000000000000000.seg", from: 0, to: 4_194_304)
        let key = layout.chunkKey(chunk)
        #expect(key == "fleet/eu/0123456789abcdef0123456789abcdef/segments/00000000000000000000.seg/00000000000000000000-00000000000004194304")
        #expect(layout.parse(key) == .chunk(chunk))
        #expect(layout.parse(layout.identityKey) == .identity)
        let big = ObjectLayout.Chunk(segment: "18446744073709551615.seg", from: 18_446_744_073_709_551_614, to: .max)
        #expect(layout.parse(layout.chunkKey(big)) == .chunk(big))
        #expect(ObjectLayout(prefix: "", storeID: "0123456789abcdef0123456789abcdef").identityKey
            == "0123456789abcdef0123456789abcdef/auditfs-store")
    }

    @Test(arguments: [
        "segments/00000000000000000000.seg/0-10",                                              // short numbers
        "segments/00000000000000000000.seg/00000000000000000010-00000000000000000010",          // empty range
        "segments/00000000000000000000.seg/00000000000000000011-00000000000000000010",          // backwards
        "segments/00000000000000000000.seg/00000000000000000000-18446744073709551616",          // overflows 64 bits
        "segments/00000000000000000000.seg/+0000000000000000000-00000000000000000010",          // a sign
        "segments/0000000000000000000x.seg/00000000000000000000-00000000000000000010",          // not a segment name
        "segments/00000000000000000000.SEG/00000000000000000000-00000000000000000010",
        "segments/00000000000000000000.seg/00000000000000000000-00000000000000000010/",         // trailing slash
        "segments/00000000000000000000.seg/00000000000000000000_00000000000000000010",
        "segments/00000000000000000000.seg/０0000000000000000000-00000000000000000010",          // a full-width digit
        "auditfs-store.bak", "auditfs-store/", "keys/epoch-1.key", "verifier-key", "", "segments/",
    ])
    func otherNamesAreNoNames(_ rest: String) {
        #expect(layout.parse(layout.storePrefix + rest) == nil, "\(rest)")
    }

    @Test func keysOfOtherStoresAreNotThisStores() {
        #expect(layout.parse("fleet/eu/ffffffffffffffffffffffffffffffff/auditfs-store") == nil)
        #expect(layout.parse("fleet/0123456789abcdef0123456789abcdef/auditfs-store") == nil)
        #expect(ObjectLayout.storeID(of: "fleet/eu/0123456789abcdef0123456789abcdef/auditfs-store", prefix: "fleet/eu")
            == "0123456789abcdef0123456789abcdef")
        #expect(ObjectLayout.storeID(of: "fleet/eu/0123456789ABCDEF0123456789abcdef/auditfs-store", prefix: "fleet/eu") == nil)
        #expect(ObjectLayout.storeID(of: "fleet/eux/0123456789abcdef0123456789abcdef/auditfs-store", prefix: "fleet/eu") == nil)
    }

    @Test func retention() {
        #expect(Retention(parsing: "400d")?.days == 400)
        #expect(Retention(parsing: "7y")?.days == 7 * 365)
        #expect(Retention(parsing: "100y")?.days == 36_500)
        for bad in ["", "d", "0d", "01d", "101y", "36501d", "400", "400h", "-1d", "1.5d", " 1d", "1d ", "99999999999d", "４d"] {
            #expect(Retention(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func md5OfAnETag() {
        #expect(Shipment.md5(etag: "\"d41d8cd98f00b204e9800998ecf8427e\"")?.count == 16)
        #expect(Shipment.md5(etag: "d41d8cd98f00b204e9800998ecf8427e")?.count == 16)
        #expect(Shipment.md5(etag: "\"d41d8cd98f00b204e9800998ecf8427e-2\"") == nil)   // multipart
        #expect(Shipment.md5(etag: "\"") == nil)
        #expect(Shipment.md5(etag: "zz1d8cd98f00b204e9800998ecf8427e") == nil)
    }
}

/// What a listing says: the first version is the record; gaps, overlaps and
/// sizes that disagree with names are found; strangers are kept apart.
@Suite struct BucketListingTests {
    let layout = ObjectLayout(prefix: "p", storeID: "0123456789abcdef0123456789abcdef")
    let segment = "00000000000000000000.seg"

    func version(_ key: String, _ id: String, size: UInt64, at t: Double, etag: String = "e", marker: Bool = false) -> ObjectVersion {
        ObjectVersion(key: key, versionId: id, isLatest: false, lastModified: Date(timeIntervalSince1970: t), size: size,
                      etag: etag, isDeleteMarker: marker)
    }

    func chunk(_ from: UInt64, _ to: UInt64) -> String { layout.chunkKey(.init(segment: segment, from: from, to: to)) }

    @Test func firstVersionIsTheRecord() {
        let l = BucketListing(layout: layout, versions: [
            version(chunk(0, 100), "new", size: 100, at: 20, etag: "forged"),
            version(chunk(0, 100), "old", size: 100, at: 10, etag: "real"),
            version(chunk(100, 150), "a", size: 50, at: 11),
            version(layout.identityKey, "i", size: 60, at: 9),
            version(chunk(100, 150), "m", size: 0, at: 30, marker: true),
            version(layout.storePrefix + "segments/x", "s", size: 1, at: 12),
            version("p/ffffffffffffffffffffffffffffffff/auditfs-store", "other", size: 60, at: 1),
        ])
        #expect(l.chunks[segment]!.map(\.version.versionId) == ["old", "a"])
        #expect(l.laterVersions.map(\.versionId) == ["new"])
        #expect(l.deleteMarkers.map(\.versionId) == ["m"])
        #expect(l.strangers.map(\.versionId) == ["s"])
        #expect(l.identity?.versionId == "i")
        #expect(l.tilingProblem(segment) == nil)
        #expect(l.contiguousEnd(segment) == 150)
    }

    @Test func gapsOverlapsAndSizesAreNamed() {
        let gap = BucketListing(layout: layout, versions: [version(chunk(0, 100), "a", size: 100, at: 1), version(chunk(120, 150), "b", size: 30, at: 2)])
        #expect(gap.tilingProblem(segment)?.hasPrefix("gap in \(segment): no object holds bytes [100, 120)") == true)
        #expect(gap.contiguousEnd(segment) == 100)
        let overlap = BucketListing(layout: layout, versions: [version(chunk(0, 100), "a", size: 100, at: 1), version(chunk(90, 150), "b", size: 60, at: 2)])
        #expect(overlap.tilingProblem(segment)?.hasPrefix("overlap in \(segment)") == true)
        let late = BucketListing(layout: layout, versions: [version(chunk(10, 100), "a", size: 90, at: 1)])
        #expect(late.tilingProblem(segment)?.hasPrefix("gap") == true)
        #expect(late.contiguousEnd(segment) == 0)
        // A listed object larger than any a shipper puts is named and never read (its length would not fit memory).
        let huge = BucketListing(layout: layout, versions: [version(chunk(0, .max), "a", size: .max, at: 1)])
        #expect(huge.tilingProblem(segment)?.contains("more than any object a shipper puts") == true)
        #expect(huge.contiguousEnd(segment) == 0)
        let short = BucketListing(layout: layout, versions: [version(chunk(0, 100), "a", size: 99, at: 1)])
        #expect(short.tilingProblem(segment)?.contains("holds 99 bytes, its name says 100") == true)
        #expect(short.contiguousEnd(segment) == 0)
    }
}

/// FORMAT.md's "object check | rule" table names exactly the checks
/// `verify s3://…` reports (`BucketAudit.Check`).
@Suite struct BucketCheckTableTests {
    @Test func theTableNamesEveryBucketCheckAndNothingElse() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/AuditStore/FORMAT.md")
        let text = try String(contentsOf: file, encoding: .utf8)
        var names: [String] = []
        var inTable = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard line.hasPrefix("|"), cells.count >= 3 else { inTable = false; continue }
            if cells[1] == "object check" && cells[2] == "rule" { inTable = true; continue }
            guard inTable, !cells[1].hasPrefix("---") else { continue }
            names += cells[1].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        }
        #expect(names.sorted() == BucketAudit.Check.allCases.map(\.rawValue).sorted())
        #expect(Set(names).count == names.count)
    }
}


/// The directory `verify s3://` reads a store back into is made by mkdtemp:
/// a name no other user can guess and take first, mode 0700, a new one each time.
@Suite struct WorkDirectoryTests {
    @Test func eachWorkDirectoryIsNewAndPrivate() throws {
        let parent = FileManager.default.temporaryDirectory.path + "/auditfs-work-\(getpid())"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let a = try BucketAudit.makeWorkDirectory(in: parent, storeID: "0123456789abcdef0123456789abcdef")
        let b = try BucketAudit.makeWorkDirectory(in: parent, storeID: "0123456789abcdef0123456789abcdef")
        #expect(a != b)
        for d in [a, b] {
            let made = (d as NSString).deletingLastPathComponent
            let attributes = try FileManager.default.attributesOfItem(atPath: made)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
            #expect(!FileManager.default.fileExists(atPath: d), "the store directory inside is made by the download")
        }
        #expect(throws: ShipError.self) { try BucketAudit.makeWorkDirectory(in: parent + "/missing", storeID: "x") }
    }
}
