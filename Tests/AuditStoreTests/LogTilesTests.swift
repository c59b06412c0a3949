import Testing
@testable import AuditStore

/// C2SP tlog-tiles paths: <N> in groups of three digits, all but the last
/// prefixed with x; `.p/<W>` only for a partial tile (the spec's own example
/// is 1234067 → x001/x234/067).
@Suite struct LogTilesTests {
    @Test func pathsAreTheSpecs() {
        #expect(LogTiles.path(level: "0", index: 1_234_067, width: 256) == "tile/0/x001/x234/067")
        #expect(LogTiles.path(level: "0", index: 0, width: 256) == "tile/0/000")
        #expect(LogTiles.path(level: "3", index: 5, width: 17) == "tile/3/005.p/17")
        #expect(LogTiles.path(level: "1", index: 1000, width: 255) == "tile/1/x001/000.p/255")
        #expect(LogTiles.path(level: "entries", index: 999, width: 1) == "tile/entries/999.p/1")
        #expect(LogTiles.path(level: "0", index: .max, width: 256) == "tile/0/x018/x446/x744/x073/x709/x551/615")
    }
}
