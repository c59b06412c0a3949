import AuditPlumbing
import Testing

/// Times and durations from outside never overflow: each is a value or a
/// one-line refusal naming the forms or the bounds.
@Suite struct TimestampsBoundsTests {
    static let now: Int64 = 1_795_730_223_000_000_000

    @Test(arguments: ["-106752d", "106752d", "+106752d", "-15250285w", "-9223372037s", "-99999999999999999999d",
                      "-153722868m", "-2562048h", "+2562048h"])
    func relativeTimesThatDoNotFitAreOutOfRange(text: String) {
        #expect(throws: Timestamps.ParseError.self) { try Timestamps.time(text, now: Self.now) }
        do { _ = try Timestamps.time(text, now: Self.now) } catch {
            #expect(error.description.hasPrefix("out of range: a time must be between 1677-09-21T00:12:44Z and 2262-04-11T23:47:16Z"))
        }
    }

    @Test func relativeTimesThatFitAreExact() throws {
        #expect(try Timestamps.time("-106751d", now: Self.now) == Self.now - 106_751 * 86_400 * 1_000_000_000)
        #expect(try Timestamps.time("+1h", now: Self.now) == Self.now + 3_600_000_000_000)
        #expect(try Timestamps.time("1h", now: Self.now) == Self.now - 3_600_000_000_000)
        #expect(try Timestamps.time("-0s", now: Self.now) == Self.now)
    }

    @Test(arguments: [
        ("2262-04-11T23:47:16.854775807Z", Int64.max),
        ("1677-09-21T00:12:43.145224192Z", Int64.min),
        ("9223372036854775807", Int64.max),
        ("1970-01-01", 0),
    ])
    func theBoundsThemselvesParse(text: String, ns: Int64) throws {
        #expect(try Timestamps.time(text, now: Self.now) == ns)
    }

    @Test(arguments: ["2262-04-11T23:47:16.854775808Z", "2262-04-12", "9999-12-31T23:59:59Z", "1677-09-21T00:12:43.145224191Z",
                      "0000-01-01", "1000-01-01", "9223372036854775808", "99999999999999999999999"])
    func absoluteTimesPastTheBoundsAreOutOfRange(text: String) {
        do {
            _ = try Timestamps.time(text, now: Self.now)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.description.hasPrefix("out of range"))
        }
    }

    @Test(arguments: ["2026-02-30", "2025-02-29", "2026-04-31", "2026-11-26T21:57:03+24:00", "2026-11-26T21:57:03+01:60"])
    func impossibleDatesAreNotTimes(text: String) {
        #expect(Timestamps.parse(text, now: Self.now) == nil)
    }

    @Test func leapDayIsATime() {
        #expect(Timestamps.parse("2024-02-29", now: Self.now) != nil)
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -1, 0, Int64.max])
    func everyInt64PrintsAndRoundTrips(ns: Int64) {
        let text = Timestamps.rfc3339(ns)
        #expect(Timestamps.parse(text, now: 0) == ns)
        _ = Timestamps.day(ns)
    }

    @Test(arguments: ["99999999999999999d", "9223372036854775807s", "9223372036854775808ms", "15250285w", "-5s", "+5s", "5",
                      "s", "ms", "1y", "1.5s", ""])
    func durationsThatDoNotFitOrAreMalformedAreRefused(text: String) {
        #expect(Timestamps.duration(text) == nil)
    }

    @Test(arguments: [("365d", Timestamps.maxDuration), ("52w", 52 * 7 * 86_400 * 1_000_000_000), ("500ms", 500_000_000),
                      ("31536000s", Timestamps.maxDuration), ("0s", 0), ("1000d", 1000 * 86_400 * 1_000_000_000),
                      ("106751d", 106_751 * 86_400 * 1_000_000_000), ("9223372036854ms", 9_223_372_036_854_000_000)] as [(String, Int64)])
    func durationsThatFitParse(text: String, ns: Int64) {
        #expect(Timestamps.duration(text) == ns)
    }
}
