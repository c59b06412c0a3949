import AuditRecords
import Testing

@Suite struct PolicyControlTests {
    @Test(arguments: [
        ("/var/log/audit", "var-log-audit"), ("/", "-"), ("/mnt/", "mnt"),
        ("/tmp/a b/c-d", "tmp-a\\x20b-c\\x2dd"), ("/srv/.hidden/x.y", "srv-.hidden-x.y"),
    ])
    func mountpointKeysAreEscapedLikeSystemd(path: String, key: String) {
        #expect(PolicyControl.key(forMountpoint: path) == key)
    }

    @Test func aLongMountpointGetsADigestKey() {
        let long = "/" + String(repeating: "x", count: 200)
        let key = PolicyControl.key(forMountpoint: long)
        #expect(key.hasPrefix("sha256-") && key.count == 39)
        #expect(PolicyControl.socketPath(forMountpoint: long).utf8.count < 108)
    }
}
