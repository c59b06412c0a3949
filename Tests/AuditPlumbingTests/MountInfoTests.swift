import AuditPlumbing
import Testing

/// /proc/self/mountinfo lines as the kernel writes them (proc(5)).
@Suite struct MountInfoTests {
    static let text = """
        22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
        98 22 0:52 / /mnt/with\\040space rw,nosuid,nodev,relatime shared:50 - fuse.auditfs /srv/my\\040store rw,user_id=0
        99 22 0:53 / /mnt/tab\\011and\\134backslash rw master:3 - tmpfs tmpfs rw
        100 22 0:54 /sub /mnt/noopt rw - nfs server:/export rw
        101 22 0:55 / /mnt/nodash rw shared:9
        102 22 0:56 / /mnt/with\\040space rw,relatime - fuse.auditfs /srv/newer rw
        short line
        
        """

    static var entries: [MountInfo.Entry] { MountInfo.parse(Array(text.utf8)) }

    @Test func escapedSpacesInMountPointsAndSourcesAreUnescaped() throws {
        let e = try #require(MountInfo.mount(at: "/mnt/with space", in: Self.entries))
        #expect(e.fileSystemType == "fuse.auditfs")
        #expect(e.source == "/srv/newer")   // the last mount at a point is the one on top
        let first = Self.entries.first { $0.source == "/srv/my store" }
        #expect(first?.mountPoint == "/mnt/with space")
    }

    @Test func tabAndBackslashEscapes() {
        #expect(MountInfo.mount(at: "/mnt/tab\tand\\backslash", in: Self.entries)?.fileSystemType == "tmpfs")
        #expect(MountInfo.mount(at: "/mnt/tab\\011and\\134backslash", in: Self.entries) == nil)
    }

    @Test func optionalFieldsMayBeAbsentAndTheSeparatorMissing() {
        let noopt = MountInfo.mount(at: "/mnt/noopt", in: Self.entries)
        #expect(noopt?.root == "/sub" && noopt?.fileSystemType == "nfs" && noopt?.source == "server:/export")
        let nodash = MountInfo.mount(at: "/mnt/nodash", in: Self.entries)
        #expect(nodash != nil && nodash?.fileSystemType == nil && nodash?.source == nil)
        #expect(Self.entries.count == 6)   // the short and the empty line are skipped
    }

    @Test func mountPointsCompareByBytes() {
        let nfc = "/mnt/caf\u{E9}", nfd = "/mnt/cafe\u{301}"
        let entries = MountInfo.parse(Array("1 1 0:1 / \(nfc) rw - ext4 /dev/x rw\n".utf8))
        #expect(MountInfo.mount(at: nfc, in: entries) != nil)
        #expect(MountInfo.mount(at: nfd, in: entries) == nil)
    }

    @Test(arguments: [("\\040", " "), ("\\0", "\\0"), ("a\\04", "a\\04"), ("\\400", "\\400"), ("\\377", "\u{FFFD}"), ("\\\\", "\\\\"), ("x\\", "x\\")])
    func unescapingNeverReadsPastAField(field: String, expected: String) {
        #expect(MountInfo.unescape(Array(field.utf8)) == expected)
    }

    @Test func thisProcessHasARootMount() throws {
        let entries = try #require(MountInfo.read())
        #expect(MountInfo.mount(at: "/", in: entries) != nil)
        #expect(MountInfo.read("/nonexistent/mountinfo") == nil)
    }
}
