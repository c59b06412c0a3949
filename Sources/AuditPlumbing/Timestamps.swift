import Glibc

/// Times as auditfs prints and reads them: RFC 3339 in UTC with nanoseconds
/// (the /.audit records, `auditfs log`), the UTC day that names a decisions
/// file, and the forms `--since`/`--until` accept.
public enum Timestamps {
    /// RFC 3339 in UTC with nanoseconds, e.g. 2026-11-26T21:57:03.123456789Z.
    public static func rfc3339(_ ns: Int64) -> String {
        let (tm, frac) = broken(ns)
        let year = Int(tm.tm_year) + 1900
        if (1000...9999).contains(year) {
            // 30 bytes written in place: every decision is stamped with it
            // (before it is folded or written), and the padded pieces joined
            // as Strings cost ~10k instructions (callgrind).
            return String(unsafeUninitializedCapacity: 30) { b in
                func put(_ v: Int, _ at: Int, _ width: Int) {
                    var v = v
                    for i in stride(from: at + width - 1, through: at, by: -1) { b[i] = UInt8(48 + v % 10); v /= 10 }
                }
                put(year, 0, 4); b[4] = 0x2D; put(Int(tm.tm_mon) + 1, 5, 2); b[7] = 0x2D; put(Int(tm.tm_mday), 8, 2)
                b[10] = 0x54; put(Int(tm.tm_hour), 11, 2); b[13] = 0x3A; put(Int(tm.tm_min), 14, 2); b[16] = 0x3A
                put(Int(tm.tm_sec), 17, 2); b[19] = 0x2E; put(Int(frac), 20, 9); b[29] = 0x5A
                return 30
            }
        }
        return pad(Int(tm.tm_year) + 1900, 4) + "-" + pad(Int(tm.tm_mon) + 1, 2) + "-" + pad(Int(tm.tm_mday), 2) + "T"
            + pad(Int(tm.tm_hour), 2) + ":" + pad(Int(tm.tm_min), 2) + ":" + pad(Int(tm.tm_sec), 2) + "." + pad(Int(frac), 9) + "Z"
    }

    /// RFC 3339 in UTC to the second, e.g. 2026-11-26T21:57:03Z.
    public static func rfc3339Seconds(_ ns: Int64) -> String {
        String(rfc3339(ns).prefix(19)) + "Z"
    }

    /// The UTC day, YYYY-MM-DD: the name of a decisions file.
    public static func day(_ ns: Int64) -> String {
        let (tm, _) = broken(ns)
        return pad(Int(tm.tm_year) + 1900, 4) + "-" + pad(Int(tm.tm_mon) + 1, 2) + "-" + pad(Int(tm.tm_mday), 2)
    }

    /// Why a time or duration from outside was refused: one line, naming the
    /// accepted forms or the bounds.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// What a time may be: a count of nanoseconds since 1970 in 64 bits, so
    /// from 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z.
    public static let timeBounds = "between 1677-09-21T00:12:44Z and 2262-04-11T23:47:16Z (nanoseconds since 1970 in 64 bits)"
    /// The forms `parse` accepts, for error messages.
    public static let timeForms = "RFC 3339, a date, now, relative (-1h, -30m, -2d, +1h) or nanoseconds since 1970"

    /// The longest duration a policy may give (`within`, `timeout`): 365 days
    /// (checked by the policy parser; `duration` itself only refuses what
    /// does not fit 64 bits).
    public static let maxDuration: Int64 = 365 * 86_400 * 1_000_000_000
    public static let maxDurationText = "365d"

    /// A time given on the command line, in ns since the epoch:
    /// - RFC 3339: `2026-11-26T21:57:03Z`, `2026-11-26T21:57:03.5+01:00`,
    ///   `2026-11-26 21:57:03Z` (a space for the T); a date alone
    ///   (`2026-11-26`) is its midnight UTC;
    /// - relative to `now`: `-90s`, `-30m`, `-1h`, `-2d`, `-1w` (also without
    ///   the minus sign: `1h` means an hour ago), `+1h` an hour from now;
    /// - `now`;
    /// - nanoseconds since the epoch (all digits, at least 12).
    /// Throws when it is none of these, or when it is outside `timeBounds`
    /// (never an arithmetic overflow).
    public static func time(_ text: String, now: Int64) throws(ParseError) -> Int64 {
        let s = text.trimmingSpaces
        let outOfRange = ParseError(description: "out of range: a time must be \(timeBounds)")
        if s == "now" { return now }
        if let r = try offset(s) {
            let (t, overflow) = now.subtractingReportingOverflow(r)
            if overflow { throw outOfRange }
            return t
        }
        if s.utf8.count >= 12, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let n = Int64(s) else { throw outOfRange }
            return n
        }
        return try rfc3339(checking: s)
    }

    /// `time(_:now:)`, or nil for any refusal.
    public static func parse(_ text: String, now: Int64) -> Int64? { try? time(text, now: now) }

    /// `-1h`, `30m`, `2d`, `+1h`…: the offset in ns to subtract from now
    /// (negative for `+`, the future), or nil when it is not of this form or
    /// does not fit in 64 bits.
    public static func relative(_ s: String) -> Int64? { (try? offset(s)) ?? nil }

    /// `relative`, throwing when `s` has the form but does not fit.
    static func offset(_ s: String) throws(ParseError) -> Int64? {
        var body = Substring(s)
        var sign: Int64 = 1
        if body.hasPrefix("-") { body = body.dropFirst() } else if body.hasPrefix("+") { body = body.dropFirst(); sign = -1 }
        guard let unit = body.last, let perUnit = unitLength(unit), body.count > 1,
              body.dropLast().utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let outOfRange = ParseError(description: "out of range: a time must be \(timeBounds)")
        guard let n = Int64(body.dropLast()) else { throw outOfRange }
        let (r, overflow) = n.multipliedReportingOverflow(by: perUnit)
        if overflow { throw outOfRange }
        return sign * r
    }

    /// A duration as the policy writes it (`90s`, `5m`, `1h`, `2d`, `1w`,
    /// `500ms`), in ns: nil when it is not one, or does not fit 64 bits.
    public static func duration(_ s: String) -> Int64? {
        var digits = Substring(s), perUnit: Int64
        if s.hasSuffix("ms") {
            digits = digits.dropLast(2); perUnit = 1_000_000
        } else if let unit = s.last, let n = unitLength(unit) {
            digits = digits.dropLast(); perUnit = n
        } else {
            return nil
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int64(digits) else { return nil }
        let (ns, overflow) = n.multipliedReportingOverflow(by: perUnit)
        guard !overflow else { return nil }
        return ns
    }

    /// A length in ns as a person reads it: "850 ms", "12.4 s".
    public static func durationText(_ ns: Int64) -> String {
        if ns < 1_000_000_000 { return "\(ns / 1_000_000) ms" }
        return "\(ns / 1_000_000_000).\(ns % 1_000_000_000 / 100_000_000) s"
    }

    private static func unitLength(_ unit: Character) -> Int64? {
        let second: Int64 = 1_000_000_000
        switch unit {
        case "s": return second
        case "m": return 60 * second
        case "h": return 3600 * second
        case "d": return 86_400 * second
        case "w": return 7 * 86_400 * second
        default: return nil
        }
    }

    /// RFC 3339 (section 5.6 date-time, or a full-date alone), in ns; nil
    /// when it is not one or does not fit.
    public static func rfc3339(parsing s: String) -> Int64? { try? rfc3339(checking: s) }

    static func rfc3339(checking s: String) throws(ParseError) -> Int64 {
        let notATime = ParseError(description: "not a time (\(timeForms))")
        let b = Array(s.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for c in b[from..<from + count] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = num(0, 4), b.count >= 10, b[4] == UInt8(ascii: "-"), let month = num(5, 2),
              b[7] == UInt8(ascii: "-"), let mday = num(8, 2), (1...12).contains(month),
              (1...daysIn(month, of: year)).contains(mday) else { throw notATime }
        var hour = 0, minute = 0, second = 0, frac: Int64 = 0, offset = 0
        if b.count > 10 {
            guard [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[10]), let h = num(11, 2),
                  b.count > 13, b[13] == UInt8(ascii: ":"), let m = num(14, 2), b.count > 16, b[16] == UInt8(ascii: ":"),
                  let sec = num(17, 2), h < 24, m < 60, sec <= 60 else { throw notATime }
            hour = h; minute = m; second = sec
            var i = 19
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                var digits = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    if digits < 9 { frac = frac * 10 + Int64(b[i] - 48) }
                    digits += 1; i += 1
                }
                guard digits > 0 else { throw notATime }
                for _ in digits..<max(digits, 9) { frac *= 10 }
            }
            guard i < b.count else { throw notATime }
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                guard i + 1 == b.count else { throw notATime }
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                guard i + 6 == b.count, let oh = num(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2),
                      oh < 24, om < 60 else { throw notATime }
                offset = (oh * 60 + om) * 60 * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            } else {
                throw notATime
            }
        }
        // Years 0000-9999 in seconds fit easily; only the nanoseconds can overflow.
        var t = tm()
        t.tm_year = Int32(year - 1900); t.tm_mon = Int32(month - 1); t.tm_mday = Int32(mday)
        t.tm_hour = Int32(hour); t.tm_min = Int32(minute); t.tm_sec = Int32(second)
        var seconds = Int64(timegm(&t)) - Int64(offset), rest = frac
        if seconds < 0 && rest > 0 { seconds += 1; rest -= 1_000_000_000 }   // so that Int64.min itself fits
        let (whole, o1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (ns, o2) = whole.addingReportingOverflow(rest)
        if o1 || o2 { throw ParseError(description: "out of range: a time must be \(timeBounds)") }
        return ns
    }

    private static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Floor division of `ns` into seconds and the nanoseconds left
    /// (0...999_999_999); no overflow at either end of Int64.
    private static func broken(_ ns: Int64) -> (tm, Int64) {
        var seconds = ns / 1_000_000_000, rest = ns % 1_000_000_000
        if rest < 0 { seconds -= 1; rest += 1_000_000_000 }
        var t = time_t(seconds)
        var out = tm()
        gmtime_r(&t, &out)
        return (out, rest)
    }

    private static func pad(_ v: Int, _ width: Int) -> String { String(v).leftPadded(width) }
}

extension String {
    /// Without leading and trailing spaces, by bytes: stepping back over
    /// Characters one at a time took seconds on a long run of spaces.
    fileprivate var trimmingSpaces: String {
        let b = utf8
        guard let first = b.firstIndex(where: { $0 != 0x20 }), let last = b.lastIndex(where: { $0 != 0x20 }) else { return "" }
        return String(decoding: b[first...last], as: UTF8.self)
    }
}
