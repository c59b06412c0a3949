import Foundation
import Testing

/// The inputs the fuzzers found a crash or hang with, minimised and kept in
/// fixtures/fuzz/<target>/<what>.bin: each is run through its target and
/// must come back (with a result or a refusal) instead of killing the process.
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
        let outcome: String
        do { outcome = try target.execute(bytes) } catch { outcome = "refused: \(error)" }
        print("fuzz vector \(vector): \(outcome.prefix(200))")
    }
}
