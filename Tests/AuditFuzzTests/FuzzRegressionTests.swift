import Foundation
import Testing

/// The inputs the fuzzers found a crash or hang with, minimised and kept in
/// fixtures/fuzz/<target>/<what>.bin: each is run through its target and
/// must come back (with a result or a refusal) instead of killing the process
/// or hanging (the watchdog ends a run that takes over AUDITFS_FUZZ_HANG s, 60).
@Suite(.serialized) struct FuzzRegressionTests {
    static var vectors: [(target: String, file: String)] {
        let dir = FuzzSeeds.repository + "/fixtures/fuzz"
        let targets = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return targets.sorted().flatMap { t in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + t)) ?? []).filter { $0.hasSuffix(".bin") }.sorted()
                .map { (t, dir + "/" + t + "/" + $0) }
        }
    }

    @Test func everySavedInputNamesATarget() {
        for v in Self.vectors { #expect(FuzzTarget.named(v.target) != nil, "fixtures/fuzz/\(v.target) is no fuzz target") }
        #expect(!Self.vectors.isEmpty)
    }

    @Test(arguments: vectors.map { $0.target + "/" + URL(fileURLWithPath: $0.file).lastPathComponent })
    func savedInputRunsWithoutCrashing(_ vector: String) throws {
        let target = try #require(FuzzTarget.named(String(vector.prefix { $0 != "/" })))
        let bytes = Array(try #require(FileManager.default.contents(atPath: FuzzSeeds.repository + "/fixtures/fuzz/" + vector)))
        let crumb = Breadcrumb(target: "vector-" + target.name)
        crumb.record(bytes)
        let watchdog = Watchdog(target: vector, crumb: crumb,
                                limit: FuzzCampaign.environment["AUDITFS_FUZZ_HANG"].flatMap { Double($0) } ?? 60)
        watchdog.started(iteration: 0)
        let outcome: String
        do { outcome = try target.run(bytes) } catch { outcome = "refused: \(error)" }
        watchdog.finished()
        watchdog.stop()
        crumb.clear()
        print("fuzz vector \(vector): \(outcome.prefix(200))")
    }
}
