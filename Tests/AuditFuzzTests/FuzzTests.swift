import Testing

/// The fuzz campaigns (docs/TESTING.md): every reader of outside input,
/// fed a fixed number of seeded mutants of real artefacts. A crash or hang
/// ends the test process with the input saved in .build/fuzz/<target>.crash.
@Suite(.serialized) struct FuzzTests {
    func run(_ target: FuzzTarget) {
        let report = target.campaign.run(target.run)
        #expect(report.executions > 0)
        #expect(report.violations.isEmpty, "\(target.name): \(report.violations.joined(separator: "; "))")
        // The unmutated seeds are real artefacts: each must be read, not refused.
        let seeds = target.seeds()
        for seed in seeds.prefix(target.validSeeds ?? seeds.count) {
            #expect(throws: Never.self, "\(target.name): a seed input is refused") { _ = try target.run(seed) }
        }
    }

    @Test func frameAndRecordDecoding() { run(.frame) }
    @Test func segmentsOfAStore() { run(.segment) }
    @Test func indexCache() { run(.index) }
    @Test func treeCachePositions() { run(.treePositions) }
    @Test func identityFile() { run(.identity) }
    @Test func queryIndexState() { run(.queryState) }
    @Test func policyFiles() { run(.policy) }
    @Test func pathGlobs() { run(.glob) }
    @Test func signedNotesCheckpointsAndKeyCertificates() { run(.note) }
    @Test func proofBundles() { run(.bundle) }
    @Test func timesAndDurations() { run(.time) }
    @Test func signingKeyFiles() { run(.signingKey) }
}
