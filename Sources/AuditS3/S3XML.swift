import Foundation

/// The four XML answers auditfs reads (ListVersionsResult, ObjectLockConfiguration,
/// Error; PUT and DELETE answers carry none), parsed by XMLReader.swift into a small
/// bounded tree, then read strictly: an unknown element, a repeated one, a missing
/// required one, or a value that does not parse (UInt64, ISO 8601 time, true/false)
/// is `.malformed`.
///
/// Not FoundationXML's XMLParser: on Linux (swift-corelibs-foundation, Swift 6.3.1) it
/// traps (SIGILL, in `_NSXMLParserStartElementNs`) on a hostile answer — found by
/// S3XMLTests' mutation test: a declaration `enc\xbfding="UTF-8"` made libxml2 fall
/// back to another encoding and the parser crashed on the next element name. It also
/// returns true from `parse()` for a truncated document (only `parserError` is set), and
/// drops an external entity's text silently when `shouldResolveExternalEntities` is false.
enum S3XML {
    /// One element: its name, its text (character data directly inside it, entities
    /// decoded, CDATA included), its child elements in order. Attributes are checked
    /// for syntax and dropped (S3 answers carry only `xmlns`).
    struct Node: Sendable {
        var name: String
        var text: String = ""
        var children: [Node] = []
    }

    static let maxElements = 200_000
    static let maxDepth = 8
    static let maxText = 64 * 1024

    /// The tree of `body`, or `.malformed` naming `what` (e.g. "ListVersionsResult").
    static func parse(_ body: [UInt8], what: String) throws(S3Error) -> Node {
        do {
            return try XMLReader.parse(body, maxElements: maxElements, maxDepth: maxDepth, maxText: maxText)
        } catch {
            throw .malformed("\(what): \(error.reason)")
        }
    }

    // MARK: - Reading a node strictly

    /// The children of `node` by name, refusing names not in `known` and names
    /// in `once` that appear twice.
    static func fields(_ node: Node, known: Set<String>, once: Set<String>, what: String) throws(S3Error) -> [String: [Node]] {
        var out: [String: [Node]] = [:]
        for child in node.children {
            guard known.contains(child.name) else {
                throw .malformed("\(what): unexpected element <\(S3Error.printable(child.name))> in <\(node.name)>")
            }
            out[child.name, default: []].append(child)
            if once.contains(child.name) && out[child.name, default: []].count > 1 {
                throw .malformed("\(what): <\(child.name)> given twice in <\(node.name)>")
            }
        }
        return out
    }

    static func required(_ f: [String: [Node]], _ name: String, in parent: String, what: String) throws(S3Error) -> String {
        guard let n = f[name]?.first else { throw .malformed("\(what): <\(parent)> has no <\(name)>") }
        return n.text
    }

    static func bool(_ text: String, _ name: String, what: String) throws(S3Error) -> Bool {
        switch text {
        case "true": return true
        case "false": return false
        default: throw .malformed("\(what): <\(name)> is \"\(S3Error.printable(text, limit: 40))\", not true or false")
        }
    }

    static func uint64(_ text: String, _ name: String, what: String) throws(S3Error) -> UInt64 {
        guard let v = S3Time.parseUInt64(text) else {
            throw .malformed("\(what): <\(name)> is \"\(S3Error.printable(text, limit: 40))\", not a decimal number")
        }
        return v
    }

    static func time(_ text: String, _ name: String, what: String) throws(S3Error) -> Date {
        guard let d = S3Time.parseISO8601(text) else {
            throw .malformed("\(what): <\(name)> is \"\(S3Error.printable(text, limit: 40))\", not an ISO 8601 UTC time")
        }
        return d
    }

    // MARK: - ListVersionsResult

    /// One page of `GET /bucket?versions`.
    struct VersionsPage: Sendable, Equatable {
        var entries: [ObjectVersion]
        var isTruncated: Bool
        var nextKeyMarker: String?
        var nextVersionIdMarker: String?
    }

    static let maxEntriesPerPage = 10_000

    // The elements AWS documents, and what radosgw 16 adds (Tenant on a tenant's bucket,
    // Type "Normal"/"Appendable" on every entry; rgw_rest_s3.cc send_versioned_response).
    static let listTop: Set<String> = ["Name", "Prefix", "KeyMarker", "VersionIdMarker", "NextKeyMarker", "NextVersionIdMarker",
                                       "MaxKeys", "Delimiter", "EncodingType", "IsTruncated", "Version", "DeleteMarker", "CommonPrefixes",
                                       "Tenant"]
    static let versionFields: Set<String> = ["Key", "VersionId", "IsLatest", "LastModified", "ETag", "Size", "Owner", "StorageClass",
                                             "ChecksumAlgorithm", "ChecksumType", "RestoreStatus", "Type"]
    static let markerFields: Set<String> = ["Key", "VersionId", "IsLatest", "LastModified", "Owner", "Type"]

    /// A ListVersionsResult page (Version and DeleteMarker entries in document order).
    /// Required: IsTruncated; NextKeyMarker when truncated; in a Version, Key, VersionId,
    /// IsLatest, LastModified, ETag and Size; in a DeleteMarker, Key, VersionId, IsLatest
    /// and LastModified (its size is 0 and its ETag "").
    static func versionsPage(_ body: [UInt8]) throws(S3Error) -> VersionsPage {
        let what = "ListVersionsResult"
        let root = try parse(body, what: what)
        guard root.name == "ListVersionsResult" else { throw .malformed("\(what): root element is <\(S3Error.printable(root.name))>") }
        let top = try fields(root, known: listTop, once: listTop.subtracting(["Version", "DeleteMarker", "CommonPrefixes"]), what: what)
        let truncated = try bool(try required(top, "IsTruncated", in: root.name, what: what), "IsTruncated", what: what)
        var entries: [ObjectVersion] = []
        for child in root.children where child.name == "Version" || child.name == "DeleteMarker" {
            if entries.count == maxEntriesPerPage { throw .malformed("\(what): more than \(maxEntriesPerPage) entries in one page") }
            let marker = child.name == "DeleteMarker"
            let known = marker ? markerFields : versionFields
            let f = try fields(child, known: known, once: known, what: what)
            let key = try required(f, "Key", in: child.name, what: what)
            let versionId = try required(f, "VersionId", in: child.name, what: what)
            let latest = try bool(try required(f, "IsLatest", in: child.name, what: what), "IsLatest", what: what)
            let modified = try time(try required(f, "LastModified", in: child.name, what: what), "LastModified", what: what)
            let etag = marker ? "" : try required(f, "ETag", in: child.name, what: what)
            let size = marker ? 0 : try uint64(try required(f, "Size", in: child.name, what: what), "Size", what: what)
            if key.isEmpty || versionId.isEmpty { throw .malformed("\(what): a <\(child.name)> with an empty Key or VersionId") }
            entries.append(ObjectVersion(key: key, versionId: versionId, isLatest: latest, lastModified: modified,
                                         size: size, etag: etag, isDeleteMarker: marker))
        }
        let nextKey = top["NextKeyMarker"]?.first?.text
        let nextVersion = top["NextVersionIdMarker"]?.first?.text
        if truncated && (nextKey ?? "").isEmpty { throw .malformed("\(what): truncated, but no NextKeyMarker") }
        return VersionsPage(entries: entries, isTruncated: truncated, nextKeyMarker: nextKey, nextVersionIdMarker: nextVersion)
    }

    // MARK: - ObjectLockConfiguration

    /// `GET /bucket?object-lock`: ObjectLockEnabled ("Enabled") and an optional
    /// Rule/DefaultRetention with Mode and exactly one of Days or Years (1...36500 / 1...100).
    static func objectLock(_ body: [UInt8]) throws(S3Error) -> BucketLock {
        let what = "ObjectLockConfiguration"
        let root = try parse(body, what: what)
        guard root.name == what else { throw .malformed("\(what): root element is <\(S3Error.printable(root.name))>") }
        let top = try fields(root, known: ["ObjectLockEnabled", "Rule"], once: ["ObjectLockEnabled", "Rule"], what: what)
        var lock = BucketLock(enabled: false, defaultMode: nil, defaultDays: nil, defaultYears: nil)
        if let enabled = top["ObjectLockEnabled"]?.first {
            guard enabled.text == "Enabled" else {
                throw .malformed("\(what): <ObjectLockEnabled> is \"\(S3Error.printable(enabled.text, limit: 40))\", not Enabled")
            }
            lock.enabled = true
        }
        if let rule = top["Rule"]?.first {
            let r = try fields(rule, known: ["DefaultRetention"], once: ["DefaultRetention"], what: what)
            guard let retention = r["DefaultRetention"]?.first else { throw .malformed("\(what): <Rule> has no <DefaultRetention>") }
            let d = try fields(retention, known: ["Mode", "Days", "Years"], once: ["Mode", "Days", "Years"], what: what)
            let mode = try required(d, "Mode", in: "DefaultRetention", what: what)
            guard let m = ObjectLockMode(rawValue: mode) else {
                throw .malformed("\(what): <Mode> is \"\(S3Error.printable(mode, limit: 40))\", not COMPLIANCE or GOVERNANCE")
            }
            lock.defaultMode = m
            if let days = d["Days"]?.first {
                let v = try uint64(days.text, "Days", what: what)
                guard (1...36500).contains(v) else { throw .malformed("\(what): <Days> \(v) is out of range") }
                lock.defaultDays = Int(v)
            }
            if let years = d["Years"]?.first {
                let v = try uint64(years.text, "Years", what: what)
                guard (1...100).contains(v) else { throw .malformed("\(what): <Years> \(v) is out of range") }
                lock.defaultYears = Int(v)
            }
            if (lock.defaultDays == nil) == (lock.defaultYears == nil) {
                throw .malformed("\(what): <DefaultRetention> needs exactly one of <Days> or <Years>")
            }
        }
        return lock
    }

    // MARK: - Error

    /// The Code and Message of an `<Error>` body, or nil when it is not one (any other
    /// element inside Error is allowed: Resource, RequestId, HostId, BucketName, ...).
    static func errorBody(_ body: [UInt8]) -> (code: String, message: String)? {
        guard !body.isEmpty, let root = try? parse(body, what: "Error"), root.name == "Error" else { return nil }
        let code = root.children.first { $0.name == "Code" }?.text ?? ""
        let message = root.children.first { $0.name == "Message" }?.text ?? ""
        return (code, message)
    }
}
