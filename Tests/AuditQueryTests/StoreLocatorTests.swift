import Foundation
import Glibc
import Testing
@testable import AuditQuery

/// A mount point's store found through its daemon's pid file.
@Suite struct StoreLocatorTests {
    /// A stale pid file naming a reused pid of another user is not believed.
    @Test func aPidFileNamesAStoreOnlyThroughAProcessOfItsOwner() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", "read x", "mount", "/elsewhere/store", "/mnt/audit"]   // a builtin: nothing outlives sh
        child.standardInput = Pipe()
        try child.run()
        defer { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() }
        let pidFile = NSTemporaryDirectory() + "store-locator-\(getpid()).pid"
        try #require(FileManager.default.createFile(atPath: pidFile, contents: Data("\(child.processIdentifier)\n".utf8)))
        defer { unlink(pidFile) }
        #expect(AuditSource.storeOfDaemon(pidFile: pidFile) == "/elsewhere/store")

        let other: uid_t = getuid() == 0 ? 65534 : 0
        guard chown(pidFile, other, UInt32.max) == 0 else { return }   // only root can give the file away
        #expect(AuditSource.storeOfDaemon(pidFile: pidFile) == nil)
    }
}
