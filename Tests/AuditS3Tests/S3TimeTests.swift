@testable import AuditS3
import Foundation
import Testing

/// S3Time.swift: the strict parsers and the retain-until form.
@Suite struct S3TimeTests {
    @Test func iso8601() throws {
        #expect(S3Time.parseISO8601("2015-08-30T12:36:00Z") == Date(timeIntervalSince1970: 1_440_938_160))
        #expect(S3Time.parseISO8601("2015-08-30T12:36:00.500Z") == Date(timeIntervalSince1970: 1_440_938_160.5))
        #expect(S3Time.parseISO8601("2024-02-29T00:00:00.000000001Z") != nil)
        for bad in ["", "2015-08-30T12:36:00", "2015-08-30 12:36:00Z", "2015-08-30T12:36:00+00:00", "2015-02-29T00:00:00Z",
                    "2015-13-01T00:00:00Z", "2015-08-30T24:00:00Z", "2015-08-30T12:60:00Z", "2015-08-30T12:36:60Z",
                    "2015-08-30T12:36:00.Z", "2015-08-30T12:36:00.1234567890Z", "+015-08-30T12:36:00Z", "1969-12-31T23:59:59Z",
                    "2015-08-30T12:36:0xZ", "２０１５-08-30T12:36:00Z"] {
            #expect(S3Time.parseISO8601(bad) == nil, "\(bad)")
        }
    }

    @Test func rfc1123() {
        #expect(S3Time.parseRFC1123("Sun, 30 Aug 2015 12:36:00 GMT") == Date(timeIntervalSince1970: 1_440_938_160))
        for bad in ["Sun, 30 Aug 2015 12:36:00 UTC", "Sun 30 Aug 2015 12:36:00 GMT", "Xyz, 30 Aug 2015 12:36:00 GMT",
                    "Sun, 30 Foo 2015 12:36:00 GMT", "Sun, 31 Sep 2015 12:36:00 GMT", "Sunday, 30-Aug-15 12:36:00 GMT", ""] {
            #expect(S3Time.parseRFC1123(bad) == nil, "\(bad)")
        }
    }

    @Test func retainUntilRoundsUp() {
        #expect(S3Time.iso8601(Date(timeIntervalSince1970: 1_440_938_160)) == "2015-08-30T12:36:00Z")
        #expect(S3Time.iso8601(Date(timeIntervalSince1970: 1_440_938_160.001)) == "2015-08-30T12:36:01Z")
        #expect(S3Time.iso8601(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
    }

    @Test func uint64() {
        #expect(S3Time.parseUInt64("0") == 0)
        #expect(S3Time.parseUInt64("18446744073709551615") == UInt64.max)
        for bad in ["", "-1", "+1", " 1", "1 ", "01", "18446744073709551616", "99999999999999999999", "1e3", "0x10", "١"] {
            #expect(S3Time.parseUInt64(bad) == nil, "\(bad)")
        }
    }
}
