import AuditPlumbing
import AuditStore
import Glibc
import Testing
@testable import AuditDaemon

/// A failed system call under the store reaches the FUSE caller as its own
/// errno when it says what happened to the disk (issue 11: a full disk was
/// EIO), and as EIO otherwise; only real failures are logged.
@Suite struct SystemErrnoTests {
    @Test(arguments: [
        (ENOSPC, ENOSPC), (EDQUOT, EDQUOT), (EROFS, EROFS), (EFBIG, EFBIG), (EIO, EIO),
        (EBADF, EIO), (EACCES, EIO), (EINVAL, EIO),
    ])
    func aSystemErrorKeepsItsErrno(systemErrno: Int32, expected: Int32) {
        let error = StoreError.system(SystemError(call: "pwritev", path: "/s/segments/x.seg", errno: systemErrno))
        #expect(error.errno == expected)
    }

    @Test func aFullDiskIsNotLoggedAsAFailureAReadOnlyDiskIs() {
        func system(_ e: Int32) -> StoreError { .system(SystemError(call: "pwritev", path: "/s", errno: e)) }
        #expect(!system(ENOSPC).isFailure && !system(EDQUOT).isFailure && !StoreError.noSpace("reserve").isFailure)
        #expect(system(EROFS).isFailure && system(EIO).isFailure && system(EBADF).isFailure)
        #expect(!StoreError.readOnly.isFailure)
    }
}
