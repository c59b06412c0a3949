import AuditStore
import Glibc
import Testing
@testable import AuditDaemon

@Suite struct MountRulesTests {
    static let file = MountRules.Subject(isDirectory: false, size: 10, isEmpty: false, mode: 0o644, uid: 0, gid: 0,
                                     atime: 100, mtime: 200)
    static var emptyFile: MountRules.Subject { var s = file; s.size = 0; s.isEmpty = true; return s }
    static var directory: MountRules.Subject { var s = file; s.isDirectory = true; s.size = 0; return s }

    @Test func truncateOnlyToTheCurrentSize() {
        #expect(MountRules.checkTruncate(Self.file, to: 10) == nil)
    }

    @Test(arguments: [UInt64(0), 9, 11, 1 << 40])
    func anyOtherTruncateIsRefused(size: UInt64) {
        #expect(MountRules.checkTruncate(Self.file, to: size) == EPERM)
    }

    @Test func truncateOfAnEmptyFileToZeroIsAllowedAndNothingElse() {
        #expect(MountRules.checkTruncate(Self.emptyFile, to: 0) == nil)
        #expect(MountRules.checkTruncate(Self.emptyFile, to: 1) == EPERM)
        #expect(MountRules.checkTruncate(Self.directory, to: 0) == EISDIR)
    }

    @Test func attributesThatChangeNothingNeedNoRecord() {
        let same = MountRules.AttributeRequest(mode: 0o100644, uid: 0, gid: 0, atime: 100, mtime: 200)
        #expect(MountRules.checkAttributes(Self.file, same) == .success(nil))
        #expect(MountRules.checkAttributes(Self.file, MountRules.AttributeRequest()) == .success(nil))
    }

    @Test(arguments: [
        MountRules.AttributeRequest(mode: 0o600),
        MountRules.AttributeRequest(uid: 1000),
        MountRules.AttributeRequest(gid: 4),
        MountRules.AttributeRequest(atime: 1),
        MountRules.AttributeRequest(mtime: 1),
        MountRules.AttributeRequest(mode: 0o644, uid: 1),   // one unchanged field does not save a changed one
    ])
    func changesOnANonEmptyFileAreRefused(request: MountRules.AttributeRequest) {
        #expect(MountRules.checkAttributes(Self.file, request) == .failure(MountRules.Refusal(errno: EPERM)))
    }

    @Test func changesOnAnEmptyFileRecordOnlyTheChangedFields() throws {
        let request = MountRules.AttributeRequest(mode: 0o640, uid: 0, gid: 4, mtime: 5)
        let change = try #require(try MountRules.checkAttributes(Self.emptyFile, request).get())
        #expect(change == AttributeChange(fields: [.mode, .group, .mtime], mode: 0o640, group: 4, mtime: 5))
    }

    @Test func anEmptyDirectoryMayChangeAndAFullOneMayNot() throws {
        var dir = Self.directory
        dir.isEmpty = true
        let change = try #require(try MountRules.checkAttributes(dir, MountRules.AttributeRequest(mode: 0o2750)).get())
        #expect(change.fields == [.mode] && change.mode == 0o2750)
        dir.isEmpty = false
        #expect(MountRules.checkAttributes(dir, MountRules.AttributeRequest(mode: 0o2750)) == .failure(MountRules.Refusal(errno: EPERM)))
    }

    @Test func alwaysRefused() {
        #expect(MountRules.namespaceChange == EPERM)
        #expect(MountRules.fallocate == EOPNOTSUPP)
        #expect(MountRules.setExtendedAttribute == ENOTSUP)
    }
}

@Suite struct ErrnoTests {
    @Test(arguments: [
        (StoreError.notAtEnd(path: "/f", size: 1, offset: 0), EPERM),
        (.exists("/f"), EEXIST), (.noSuchFile("/f"), ENOENT), (.notADirectory("/f"), ENOTDIR),
        (.isADirectory("/d"), EISDIR), (.invalidPath("bad"), EINVAL), (.tooLarge(1), EFBIG),
        (.readOnly, EROFS), (.io("disk"), EIO), (.busy("/s"), EIO),
    ])
    func storeErrorsMapToOneErrno(error: StoreError, expected: Int32) {
        #expect(error.errno == expected)
    }
}
