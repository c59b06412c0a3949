import AuditPlumbing
import Testing

@Suite struct TimestampsTests {
    @Test(arguments: [
        ("2026-11-26T21:57:03Z", Int64(1_795_730_223_000_000_000)),
        ("2026-11-26T21:57:03.5Z", Int64(1_795_730_223_500_000_000)),
        ("2026-11-26T21:57:03.123456789Z", Int64(1_795_730_223_123_456_789)),
        ("2026-11-26t21:57:03z", Int64(1_795_730_223_000_000_000)),
        ("2026-11-26 22:57:03+01:00", Int64(1_795_730_223_000_000_000)),
        ("2026-11-26T20:27:03-01:30", Int64(1_795_730_223_000_000_000)),
        ("2026-11-26", Int64(1_795_651_200_000_000_000)),
    ])
    func parsesRFC3339(text: String, ns: Int64) {
        #expect(Timestamps.parse(text, now: 0) == ns)
    }

    /// Every field zero-padded to its width, the fraction to nine digits,
    /// before 1970 too (the formatter writes the 30 bytes in place).
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000000Z"),
        (Int64(1), "1970-01-01T00:00:00.000000001Z"),
        (Int64(-1), "1969-12-31T23:59:59.999999999Z"),
        (Int64(1_767_225_600_000_000_000), "2026-01-01T00:00:00.000000000Z"),
        (Int64(1_795_730_223_100_000_000), "2026-11-26T21:57:03.100000000Z"),
        (Int64.max, "2262-04-11T23:47:16.854775807Z"),
        (Int64.min, "1677-09-21T00:12:43.145224192Z"),
    ])
    func formatsEveryFieldPadded(ns: Int64, text: String) {
        #expect(Timestamps.rfc3339(ns) == text)
        #expect(Timestamps.rfc3339(ns).utf8.count == 30)
    }

    @Test func roundTrips() {
        let ns: Int64 = 1_795_730_223_123_456_789
        #expect(Timestamps.rfc3339(ns) == "2026-11-26T21:57:03.123456789Z")
        #expect(Timestamps.parse(Timestamps.rfc3339(ns), now: 0) == ns)
        #expect(Timestamps.day(ns) == "2026-11-26")
    }

    @Test(arguments: [("-1h", Int64(3600)), ("-30m", 1800), ("-2d", 172_800), ("90s", 90), ("-1w", 604_800)])
    func parsesRelative(text: String, seconds: Int64) {
        let now: Int64 = 2_000_000_000_000_000_000
        #expect(Timestamps.parse(text, now: now) == now - seconds * 1_000_000_000)
    }

    @Test(arguments: ["", "yesterday", "-1x", "2026-13-01", "2026-11-26T25:00:00Z", "2026-11-26T21:57:03", "2026-11-26T21:57:03.Z",
                      "2026-11-26T21:57:03Zjunk", "--1h"])
    func refusesNonsense(text: String) {
        #expect(Timestamps.parse(text, now: 0) == nil)
    }
}
