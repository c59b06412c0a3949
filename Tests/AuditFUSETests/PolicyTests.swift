import AuditStore
import Glibc
import Testing
@testable import AuditFUSE

@Suite struct PolicyTests {
    static let file = Policy.Subject(isDirectory: false, size: 10, isEmpty: false, mode: 0o644, uid: 0, gid: 0,
                                     atime: 100, mtime: 200)
    static var emptyFile: Policy.Subject { var s = file; s.size = 0; s.isEmpty = true; return s }
    static var directory: Policy.Subject { var s = file; s.isDirectory = true; s.size = 0; return s }

    @Test func truncateOnlyToTheCurrentSize() {
        #expect(Policy.checkTruncate(Self.file, to: 10) == nil)
    }

    @Test(arguments: [UInt64(0), 9, 11, 1 << 40])
    func anyOtherTruncateIsRefused(size: UInt64) {
        #expect(Policy.checkTruncate(Self.file, to: size) == EPERM)
    }

    @Test func truncateOfAnEmptyFileToZeroIsAllowedAndNothingElse() {
        #expect(Policy.checkTruncate(Self.emptyFile, to: 0) == nil)
        #expect(Policy.checkTruncate(Self.emptyFile, to: 1) == EPERM)
        #expect(Policy.checkTruncate(Self.directory, to: 0) == EISDIR)
    }

    @Test func attributesThatChangeNothingNeedNoRecord() {
        let same = Policy.AttributeRequest(mode: 0o100644, uid: 0, gid: 0, atime: 100, mtime: 200)
        #expect(Policy.checkAttributes(Self.file, same) == .success(nil))
        #expect(Policy.checkAttributes(Self.file, Policy.AttributeRequest()) == .success(nil))
    }

    @Test(arguments: [
        Policy.AttributeRequest(mode: 0o600),
        Policy.AttributeRequest(uid: 1000),
        Policy.AttributeRequest(gid: 4),
        Policy.AttributeRequest(atime: 1),
        Policy.AttributeRequest(mtime: 1),
        Policy.AttributeRequest(mode: 0o644, uid: 1),   // one unchanged field does not save a changed one
    ])
    func changesOnANonEmptyFileAreRefused(request: Policy.AttributeRequest) {
        #expect(Policy.checkAttributes(Self.file, request) == .failure(Policy.Refusal(errno: EPERM)))
    }

    @Test func changesOnAnEmptyFileRecordOnlyTheChangedFields() throws {
        let request = Policy.AttributeRequest(mode: 0o640, uid: 0, gid: 4, mtime: 5)
        let change = try #require(try Policy.checkAttributes(Self.emptyFile, request).get())
        #expect(change == AttributeChange(fields: [.mode, .group, .mtime], mode: 0o640, group: 4, mtime: 5))
    }

    @Test func anEmptyDirectoryMayChangeAndAFullOneMayNot() throws {
        var dir = Self.directory
        dir.isEmpty = true
        let change = try #require(try Policy.checkAttributes(dir, Policy.AttributeRequest(mode: 0o2750)).get())
        #expect(change.fields == [.mode] && change.mode == 0o2750)
        dir.isEmpty = false
        #expect(Policy.checkAttributes(dir, Policy.AttributeRequest(mode: 0o2750)) == .failure(Policy.Refusal(errno: EPERM)))
    }

    @Test func alwaysRefused() {
        #expect(Policy.namespaceChange == EPERM)
        #expect(Policy.fallocate == EOPNOTSUPP)
        #expect(Policy.setExtendedAttribute == ENOTSUP)
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
