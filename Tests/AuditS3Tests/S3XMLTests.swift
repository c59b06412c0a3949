@testable import AuditS3
import Foundation
import Testing

/// S3XML.swift: real-shaped answers, and hostile ones that must all be `.malformed`, never a crash.
@Suite struct S3XMLTests {
    static let ns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

    static func version(_ key: String, _ id: String, latest: Bool = true, size: String = "3") -> String {
        """
        <Version><Key>\(key)</Key><VersionId>\(id)</VersionId><IsLatest>\(latest)</IsLatest>\
        <LastModified>2026-12-07T02:11:28.000Z</LastModified><ETag>&quot;acbd18db4cc2f85cedef654fccc4a4d8&quot;</ETag>\
        <Size>\(size)</Size><Owner><ID>auditfs</ID><DisplayName>auditfs</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Version>
        """
    }

    static let page = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListVersionsResult \(ns)><Name>audit</Name><Prefix>host1/</Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>\
        <NextKeyMarker>host1/b&amp;c</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
        \(version("host1/a &lt;1&gt;", "v1", latest: false))
        <DeleteMarker><Key>host1/a &lt;1&gt;</Key><VersionId>dm1</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-07T03:00:00Z</LastModified>\
        <Owner><ID>x</ID></Owner></DeleteMarker>
        \(version("host1/b&amp;c", "v2", size: "18446744073709551615"))
        </ListVersionsResult>
        """

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func listVersionsPage() throws {
        let p = try S3XML.versionsPage(Self.bytes(Self.page))
        #expect(p.isTruncated)
        #expect(p.nextKeyMarker == "host1/b&c")
        #expect(p.nextVersionIdMarker == "v2")
        #expect(p.entries.count == 3)
        #expect(p.entries[0] == ObjectVersion(key: "host1/a <1>", versionId: "v1", isLatest: false,
                                              lastModified: Date(timeIntervalSince1970: 1_796_609_488), size: 3,
                                              etag: "\"acbd18db4cc2f85cedef654fccc4a4d8\"", isDeleteMarker: false))
        #expect(p.entries[1].isDeleteMarker && p.entries[1].size == 0 && p.entries[1].etag == "" && p.entries[1].isLatest)
        #expect(p.entries[2].key == "host1/b&c" && p.entries[2].size == UInt64.max)
    }

    /// What the reader accepts beyond the plain shape: CDATA, comments, PIs, CR LF, references, a BOM.
    @Test func readerSubset() throws {
        let text = "\u{feff}<?xml version='1.0' encoding='utf-8'?>\n<!-- c --><?pi x?><Error a='1' b=\"2\"><Code><![CDATA[A<&>B]]></Code>"
            + "<Message>x&#65;&#x42;&apos;&quot;\r\ny\rz</Message><Empty/></Error>\n<!-- after -->\n"
        let root = try S3XML.parse(Self.bytes(text), what: "t")
        #expect(root.name == "Error" && root.children.map(\.name) == ["Code", "Message", "Empty"])
        #expect(root.children[0].text == "A<&>B")
        #expect(root.children[1].text == "xAB'\"\ny\nz")
        #expect(try S3XML.parse(Self.bytes("<a>&#x10FFFF;\u{e9}</a>"), what: "t").text == "\u{10FFFF}\u{e9}")
    }

    @Test func invalidUTF8IsMalformed() {
        var b = Self.bytes("<ListVersionsResult><IsTruncated>false</IsTruncated><Name>x</Name></ListVersionsResult>")
        b[58] = 0xff
        #expect(Self.isMalformed { _ = try S3XML.versionsPage(b) })
        #expect(Self.isMalformed { _ = try S3XML.versionsPage([0xc0, 0x80] + Self.bytes("<a/>")) })
    }

    @Test func lastPageNeedsNoMarkers() throws {
        let p = try S3XML.versionsPage(Self.bytes("<ListVersionsResult><Name>a</Name><IsTruncated>false</IsTruncated></ListVersionsResult>"))
        #expect(!p.isTruncated && p.entries.isEmpty && p.nextKeyMarker == nil)
    }

    @Test func objectLockConfigurations() throws {
        let full = try S3XML.objectLock(Self.bytes("""
            <?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration \(Self.ns)><ObjectLockEnabled>Enabled</ObjectLockEnabled>\
            <Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>
            """))
        #expect(full == BucketLock(enabled: true, defaultMode: .compliance, defaultDays: 30, defaultYears: nil))
        let bare = try S3XML.objectLock(Self.bytes("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"))
        #expect(bare == BucketLock(enabled: true, defaultMode: nil, defaultDays: nil, defaultYears: nil))
        let years = try S3XML.objectLock(Self.bytes("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>7</Years></DefaultRetention></Rule></ObjectLockConfiguration>"))
        #expect(years.defaultMode == .governance && years.defaultYears == 7)
    }

    @Test func errorBodies() {
        let e = S3XML.errorBody(Self.bytes("""
            <?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access &amp; denied</Message>\
            <BucketName>b</BucketName><RequestId>tx1</RequestId><HostId>h</HostId></Error>
            """))
        #expect(e?.code == "AccessDenied" && e?.message == "Access & denied")
        #expect(S3XML.errorBody([]) == nil)
        #expect(S3XML.errorBody(Self.bytes("<html>502</html>")) == nil)
        #expect(S3XML.errorBody(Self.bytes("<Error><Code>x")) == nil)
    }

    /// Hostile or broken answers, named after what is wrong with them.
    static let hostileLists: [(String, String)] = [
        ("empty", ""),
        ("not xml", "HTTP/1.1 200 OK"),
        ("truncated", String(page.prefix(600))),
        ("truncated inside the root", "<ListVersionsResult><IsTruncated>false</IsTruncated>"),
        ("wrong root", "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"),
        ("two roots", "<ListVersionsResult><IsTruncated>false</IsTruncated></ListVersionsResult><ListVersionsResult/>"),
        ("text after the root", "<ListVersionsResult><IsTruncated>false</IsTruncated></ListVersionsResult>junk"),
        ("no IsTruncated", "<ListVersionsResult></ListVersionsResult>"),
        ("IsTruncated not a boolean", "<ListVersionsResult><IsTruncated>yes</IsTruncated></ListVersionsResult>"),
        ("truncated without NextKeyMarker", "<ListVersionsResult><IsTruncated>true</IsTruncated>\(version("k", "v"))</ListVersionsResult>"),
        ("IsTruncated twice", "<ListVersionsResult><IsTruncated>false</IsTruncated><IsTruncated>true</IsTruncated></ListVersionsResult>"),
        ("unknown element", "<ListVersionsResult><IsTruncated>false</IsTruncated><Surprise/></ListVersionsResult>"),
        ("size negative", "<ListVersionsResult><IsTruncated>false</IsTruncated>\(version("k", "v", size: "-1"))</ListVersionsResult>"),
        ("size overflows", "<ListVersionsResult><IsTruncated>false</IsTruncated>\(version("k", "v", size: "18446744073709551616"))</ListVersionsResult>"),
        ("size with spaces", "<ListVersionsResult><IsTruncated>false</IsTruncated>\(version("k", "v", size: " 3"))</ListVersionsResult>"),
        ("size as float", "<ListVersionsResult><IsTruncated>false</IsTruncated>\(version("k", "v", size: "3.0"))</ListVersionsResult>"),
        ("empty key", "<ListVersionsResult><IsTruncated>false</IsTruncated>\(version("", "v"))</ListVersionsResult>"),
        ("version without Size", "<ListVersionsResult><IsTruncated>false</IsTruncated><Version><Key>k</Key><VersionId>v</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-07T02:11:28Z</LastModified><ETag>e</ETag></Version></ListVersionsResult>"),
        ("version with two Keys", "<ListVersionsResult><IsTruncated>false</IsTruncated><Version><Key>k</Key><Key>j</Key><VersionId>v</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-07T02:11:28Z</LastModified><ETag>e</ETag><Size>1</Size></Version></ListVersionsResult>"),
        ("bad date", "<ListVersionsResult><IsTruncated>false</IsTruncated>" + version("k", "v").replacingOccurrences(of: "2026-12-07T02:11:28.000Z", with: "Mon, 07 Dec 2026 02:11:28 GMT") + "</ListVersionsResult>"),
        ("delete marker with a Size", "<ListVersionsResult><IsTruncated>false</IsTruncated><DeleteMarker><Key>k</Key><VersionId>v</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-07T02:11:28Z</LastModified><Size>1</Size></DeleteMarker></ListVersionsResult>"),
        ("external entity", "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><ListVersionsResult><IsTruncated>false</IsTruncated><Name>&e;</Name></ListVersionsResult>"),
        ("billion laughs", "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><ListVersionsResult><IsTruncated>false</IsTruncated><Name>&c;</Name></ListVersionsResult>"),
        ("undeclared entity", "<ListVersionsResult><IsTruncated>false</IsTruncated><Name>&e;</Name></ListVersionsResult>"),
        ("control character reference", "<ListVersionsResult><IsTruncated>false</IsTruncated><Name>&#x1;</Name></ListVersionsResult>"),
        ("nul byte", "<ListVersionsResult><IsTruncated>false</IsTruncated><Name>a\u{0}b</Name></ListVersionsResult>"),
        ("too deep", "<ListVersionsResult><IsTruncated>false</IsTruncated>" + String(repeating: "<Owner>", count: 20) + String(repeating: "</Owner>", count: 20) + "</ListVersionsResult>"),
        ("huge text", "<ListVersionsResult><IsTruncated>false</IsTruncated><Name>" + String(repeating: "n", count: 70_000) + "</Name></ListVersionsResult>"),
        ("too many entries", "<ListVersionsResult><IsTruncated>false</IsTruncated>" + String(repeating: version("k", "v"), count: 10_001) + "</ListVersionsResult>"),
        ("too many elements", "<ListVersionsResult><IsTruncated>false</IsTruncated><Owner>" + String(repeating: "<ID/>", count: 200_001) + "</Owner></ListVersionsResult>"),
        ("mismatched tags", "<ListVersionsResult><IsTruncated>false</Name></ListVersionsResult>"),
        ("latin-1 declaration", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><ListVersionsResult><IsTruncated>false</IsTruncated></ListVersionsResult>"),
        ("mangled declaration (crashed XMLParser)", "<?xml version=\"1.0\" enc\u{bf}ding=\"UTF-8\"?><ListVersionsResult><Name>a</Name><Pr\u{f6}fix>h</Pr\u{f6}fix><IsTruncated>false</IsTruncated></ListVersionsResult>"),
        ("unquoted attribute", "<ListVersionsResult xmlns=x><IsTruncated>false</IsTruncated></ListVersionsResult>"),
        ("ampersands without semicolons", "<ListVersionsResult><IsTruncated>false</IsTruncated><Name>" + String(repeating: "&", count: 5000) + "</Name></ListVersionsResult>"),
        ("surrogate reference", "<ListVersionsResult><IsTruncated>false</IsTruncated><Name>&#xD800;</Name></ListVersionsResult>"),
        ("unclosed comment", "<ListVersionsResult><IsTruncated>false</IsTruncated><!-- </ListVersionsResult>"),
        ("comment only", "<!-- nothing -->"),
    ]

    @Test(arguments: hostileLists) func hostileListsAreMalformed(_ name: String, _ body: String) {
        #expect(Self.isMalformed { _ = try S3XML.versionsPage(Self.bytes(body)) }, "\(name)")
    }

    static let hostileLocks: [(String, String)] = [
        ("enabled misspelt", "<ObjectLockConfiguration><ObjectLockEnabled>enabled</ObjectLockEnabled></ObjectLockConfiguration>"),
        ("unknown mode", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>STRICT</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>"),
        ("days and years", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>"),
        ("neither days nor years", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode></DefaultRetention></Rule></ObjectLockConfiguration>"),
        ("days zero", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>"),
        ("days huge", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>99999999999999999999999</Days></DefaultRetention></Rule></ObjectLockConfiguration>"),
        ("rule without retention", "<ObjectLockConfiguration><Rule></Rule></ObjectLockConfiguration>"),
        ("wrong root", "<Error><Code>x</Code></Error>"),
        ("truncated", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"),
    ]

    @Test(arguments: hostileLocks) func hostileLockAnswersAreMalformed(_ name: String, _ body: String) {
        #expect(Self.isMalformed { _ = try S3XML.objectLock(Self.bytes(body)) }, "\(name)")
    }

    /// Seeded mutations of the real-shaped page: every one parses or is `.malformed`; none crashes.
    @Test func mutatedPagesNeverCrash() {
        var rng = SplitMix(seed: 14)
        let base = Self.bytes(Self.page)
        for _ in 0..<20000 {
            var b = base
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 4 {
                case 0: b[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.remove(at: i)
                case 2: b.insert(Array("<>&;/\"'".utf8)[Int(rng.next() % 7)], at: i)
                default: b = Array(b.prefix(i))
                }
                if b.isEmpty { break }
            }
            do { _ = try S3XML.versionsPage(b) } catch {
                if case .malformed = error {} else { Issue.record("not malformed: \(error)") }
            }
        }
    }

    static func isMalformed(_ body: () throws -> Void) -> Bool {
        do { try body(); return false } catch {
            if case .malformed(let m)? = error as? S3Error { return !m.contains("\n") }
            return false
        }
    }
}

/// A small deterministic generator for the mutation test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce5_e9b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
