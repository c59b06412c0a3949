import Foundation

/// A UTC time split into its fields (proleptic Gregorian calendar), for the
/// three time forms S3 uses, all parsed and written here by hand so that no
/// locale, time zone or lenient formatter is involved.
struct CivilTime: Equatable {
    var year, month, day, hour, minute, second: Int

    /// The fields of `date`, whole seconds (the fraction is dropped).
    init(_ date: Date) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        (year, month, day) = CivilTime.civil(fromDays: days)
        hour = rest / 3600
        minute = rest % 3600 / 60
        second = rest % 60
    }

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    /// The time, or nil when a field is out of range (month 13, 30 February,
    /// hour 24, second 60, a year outside 1970–9999).
    var date: Date? {
        guard (1970...9999).contains(year), (1...12).contains(month), (1...CivilTime.daysIn(month, year)).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second) else { return nil }
        let days = CivilTime.days(fromCivil: year, month, day)
        return Date(timeIntervalSince1970: TimeInterval(days * 86400 + hour * 3600 + minute * 60 + second))
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's days_from_civil).
    static func days(fromCivil y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The inverse of `days(fromCivil:)`.
    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// S3's time texts.
public enum S3Time {
    /// `date` as `YYYY-MM-DDTHH:MM:SSZ`, rounded UP to the whole second (a retain-until
    /// date may grow by under a second, never shrink): the x-amz-object-lock-retain-until-date form.
    public static func iso8601(_ date: Date) -> String {
        let up = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.up))
        let t = CivilTime(up)
        return SigV4.pad(t.year, 4) + "-" + SigV4.pad(t.month, 2) + "-" + SigV4.pad(t.day, 2) + "T"
            + SigV4.pad(t.hour, 2) + ":" + SigV4.pad(t.minute, 2) + ":" + SigV4.pad(t.second, 2) + "Z"
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (S3's XML and retain-until header; the fraction
    /// is kept), or nil for anything else: another zone, a missing field, a space, a bad day.
    public static func parseISO8601(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.count <= 30, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[b.count - 1] == UInt8(ascii: "Z"),
              let y = digits(b, 0, 4), let mo = digits(b, 5, 2), let d = digits(b, 8, 2),
              let h = digits(b, 11, 2), let mi = digits(b, 14, 2), let s = digits(b, 17, 2) else { return nil }
        var fraction = 0.0
        if b.count > 20 {
            guard b[19] == UInt8(ascii: "."), b.count - 21 >= 1, b.count - 21 <= 9, let f = digits(b, 20, b.count - 21) else { return nil }
            fraction = Double(f) / pow(10, Double(b.count - 21))
        }
        guard let whole = CivilTime(year: y, month: mo, day: d, hour: h, minute: mi, second: s).date else { return nil }
        return whole.addingTimeInterval(fraction)
    }

    /// RFC 1123 (`Sun, 06 Nov 1994 08:49:37 GMT`, HTTP's Last-Modified), or nil.
    /// The weekday must be one of the seven names but is not checked against the date.
    public static func parseRFC1123(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 29, b[3] == UInt8(ascii: ","), b[4] == 0x20, b[7] == 0x20, b[11] == 0x20, b[16] == 0x20,
              b[19] == UInt8(ascii: ":"), b[22] == UInt8(ascii: ":"), b[25] == 0x20,
              String(decoding: b[26...], as: UTF8.self) == "GMT",
              ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(String(decoding: b[0..<3], as: UTF8.self)),
              let d = digits(b, 5, 2), let y = digits(b, 12, 4), let h = digits(b, 17, 2),
              let mi = digits(b, 20, 2), let s = digits(b, 23, 2),
              let mo = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                .firstIndex(of: String(decoding: b[8..<11], as: UTF8.self)) else { return nil }
        return CivilTime(year: y, month: mo + 1, day: d, hour: h, minute: mi, second: s).date
    }

    /// The decimal value of `count` ASCII digits at `start`, or nil if any is not a digit.
    static func digits(_ b: [UInt8], _ start: Int, _ count: Int) -> Int? {
        guard start >= 0, count > 0, start + count <= b.count else { return nil }
        var v = 0
        for c in b[start..<(start + count)] {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// A decimal UInt64 with no sign, space or leading `+` (a leading 0 only for "0"), or nil; overflow is nil.
    public static func parseUInt64(_ text: String) -> UInt64? {
        let b = Array(text.utf8)
        guard !b.isEmpty, b.count <= 20, b.count == 1 || b[0] != UInt8(ascii: "0") else { return nil }
        var v: UInt64 = 0
        for c in b {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }
}
