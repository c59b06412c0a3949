import Testing
@testable import AuditDaemon

/// When a read-only open may keep the kernel's cached pages: only while
/// every READ since the cache was last dropped saw the file's present size.
@Suite struct PageCacheKeeperTests {
    @Test func keepsWhileTheFileHasNotGrownSinceItWasRead() {
        let k = PageCacheKeeper()
        #expect(k.mayKeep(7, size: 100))            // nothing read: nothing cached
        k.willRead(7) { 100 }
        #expect(k.mayKeep(7, size: 100))
        #expect(k.mayKeep(7, size: 100))
    }

    @Test func anOpenAfterGrowthDropsTheCacheOnceThenKeepsAgain() {
        let k = PageCacheKeeper()
        k.willRead(7) { 100 }
        #expect(!k.mayKeep(7, size: 150))           // a page may hold zeros where bytes 100..<150 are
        #expect(k.mayKeep(7, size: 150))            // dropped: nothing read since
        k.willRead(7) { 150 }
        #expect(k.mayKeep(7, size: 150))
    }

    @Test func theSmallestSizeReadSinceTheDropCounts() {
        let k = PageCacheKeeper()
        k.willRead(7) { 100 }
        k.willRead(7) { 150 }                       // not asked: 100 is recorded
        #expect(!k.mayKeep(7, size: 150))
    }

    @Test func filesAreApartAndAnUnknownSizeRecordsNothing() {
        let k = PageCacheKeeper()
        k.willRead(7) { 100 }
        k.willRead(8) { nil }
        #expect(k.mayKeep(8, size: 5))
        #expect(!k.mayKeep(7, size: 101))
    }
}
