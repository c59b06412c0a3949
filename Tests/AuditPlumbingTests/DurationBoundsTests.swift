import AuditPlumbing
import Testing

/// Durations as the policy writes them (`Timestamps.duration`): a value in
/// ns, or nil — never an overflow, never a negative or empty number.
@Suite struct DurationBoundsTests {
    @Test(arguments: [("500ms", Int64(500_000_000)), ("90s", 90_000_000_000), ("5m", 300_000_000_000),
                      ("1h", 3_600_000_000_000), ("2d", 172_800_000_000_000), ("1w", 604_800_000_000_000),
                      ("0s", 0), ("365d", Timestamps.maxDuration),
                      ("9223372036854ms", 9_223_372_036_854_000_000), ("9223372036s", 9_223_372_036_000_000_000)])
    func durationsInRange(text: String, ns: Int64) {
        #expect(Timestamps.duration(text) == ns)
    }

    @Test(arguments: ["9223372036855ms", "9223372037s", "153722868m", "2562048h", "106752d", "15250285w",
                      "99999999999999999999d", "-1s", "+1s", "1", "s", "ms", "1.5s", "1 s", " 1s", "1S", "1y", "", "1sm", "0x10s",
                      "\u{0661}s"])
    func notADurationOrTooLong(text: String) {
        #expect(Timestamps.duration(text) == nil)
    }

    @Test func theLongestPolicyDurationIsAYear() {
        #expect(Timestamps.maxDuration == 365 * 86_400 * 1_000_000_000)
        #expect(Timestamps.duration(Timestamps.maxDurationText) == Timestamps.maxDuration)
    }
}
