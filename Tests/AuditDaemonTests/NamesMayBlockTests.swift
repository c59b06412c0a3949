import FUSEInterface
import Glibc
import Synchronization
import Testing
@testable import AuditDaemon

/// The thread whose RequestThread.mayBlock() calls are counted, and the count.
private let watched = Atomic<UInt>(0)
private let calls = Atomic<Int>(0)

private let countingHook: @convention(c) () -> Void = {
    if pthread_self() == watched.load(ordering: .acquiring) { calls.add(1, ordering: .relaxed) }
}

/// A user-database lookup can hang (an LDAP server gone); the session loop's
/// reading thread answers some requests itself, so the daemon says so before
/// each lookup, and only then: a name it has cached costs no hand-off.
@Suite(.serialized) struct NamesMayBlockTests {
    @Test func aLookupIsAnnouncedACachedNameIsNot() {
        RequestThread.install(countingHook)
        watched.store(pthread_self(), ordering: .releasing)
        defer { watched.store(0, ordering: .releasing) }
        let names = Names()
        let before = calls.load(ordering: .relaxed)
        _ = names.user(0)
        _ = names.group(0)
        #expect(calls.load(ordering: .relaxed) == before + 2)
        _ = names.user(0)
        _ = names.group(0)
        #expect(calls.load(ordering: .relaxed) == before + 2)
    }
}
