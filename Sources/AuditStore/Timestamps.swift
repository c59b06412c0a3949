#if canImport(Glibc)
import Glibc
#endif

/// Times as auditfs prints and reads them: RFC 3339 in UTC with nanoseconds
/// (the /.audit records, `auditfs log`), the UTC day that names a decisions
/// file, and the forms `--since`/`--until` accept.
public enum Timestamps {
    /// RFC 3339 in UTC with nanoseconds, e.g. 2026-11-26T21:57:03.123456789Z.
    public static func rfc3339(_ ns: Int64) -> String {
        let (tm, frac) = broken(ns)
        return pad(Int(tm.tm_year) + 1900, 4) + "-" + pad(Int(tm.tm_mon) + 1, 2) + "-" + pad(Int(tm.tm_mday), 2) + "T"
            + pad(Int(tm.tm_hour), 2) + ":" + pad(Int(tm.tm_min), 2) + ":" + pad(Int(tm.tm_sec), 2) + "." + pad(Int(frac), 9) + "Z"
    }

    /// The UTC day, YYYY-MM-DD: the name of a decisions file.
    public static func day(_ ns: Int64) -> String {
        let (tm, _) = broken(ns)
        return pad(Int(tm.tm_year) + 1900, 4) + "-" + pad(Int(tm.tm_mon) + 1, 2) + "-" + pad(Int(tm.tm_mday), 2)
    }

    /// A time given on the command line, in ns since the epoch:
    /// - RFC 3339: `2026-11-26T21:57:03Z`, `2026-11-26T21:57:03.5+01:00`,
    ///   `2026-11-26 21:57:03Z` (a space for the T); a date alone
    ///   (`2026-11-26`) is its midnight UTC;
    /// - relative to `now`: `-90s`, `-30m`, `-1h`, `-2d`, `-1w` (also without
    ///   the minus sign: `1h` means an hour ago);
    /// - `now`;
    /// - nanoseconds since the epoch (all digits, at least 12).
    /// nil when it is none of these.
    public static func parse(_ text: String, now: Int64) -> Int64? {
        let s = text.trimmingSpaces
        if s == "now" { return now }
        if let r = relative(s) { return now - r }
        if s.count >= 12, s.allSatisfy(\.isASCIIDigit) { return Int64(s) }
        return rfc3339(parsing: s)
    }

    /// `-1h`, `30m`, `2d`…: the length in ns, or nil.
    public static func relative(_ s: String) -> Int64? {
        var body = Substring(s)
        if body.hasPrefix("-") { body = body.dropFirst() }
        guard let unit = body.last, let n = Int64(body.dropLast()), n >= 0 else { return nil }
        return duration(n, unit)
    }

    /// A duration as the policy writes it (`90s`, `5m`, `1h`, `2d`, `500ms`), in ns.
    public static func duration(_ s: String) -> Int64? {
        if s.hasSuffix("ms"), let n = Int64(s.dropLast(2)), n >= 0 { return scaled(n, 1_000_000) }
        guard let unit = s.last, let n = Int64(s.dropLast()), n >= 0 else { return nil }
        return duration(n, unit)
    }

    /// A length in ns as a person reads it: "850 ms", "12.4 s".
    public static func durationText(_ ns: Int64) -> String {
        if ns < 1_000_000_000 { return "\(ns / 1_000_000) ms" }
        return "\(ns / 1_000_000_000).\(ns % 1_000_000_000 / 100_000_000) s"
    }

    private static func duration(_ n: Int64, _ unit: Character) -> Int64? {
        let second: Int64 = 1_000_000_000
        switch unit {
        case "s": return scaled(n, second)
        case "m": return scaled(n, 60 * second)
        case "h": return scaled(n, 3600 * second)
        case "d": return scaled(n, 86_400 * second)
        case "w": return scaled(n, 7 * 86_400 * second)
        default: return nil
        }
    }

    /// n × unit, or nil past Int64 (a duration from outside never traps).
    private static func scaled(_ n: Int64, _ unit: Int64) -> Int64? {
        let (v, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow ? nil : v
    }

    /// RFC 3339 (section 5.6 date-time, or a full-date alone), in ns.
    public static func rfc3339(parsing s: String) -> Int64? {
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
              b[7] == UInt8(ascii: "-"), let mday = num(8, 2), (1...12).contains(month), (1...31).contains(mday) else { return nil }
        var hour = 0, minute = 0, second = 0, frac: Int64 = 0, offset = 0
        if b.count > 10 {
            guard [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[10]), let h = num(11, 2),
                  b.count > 13, b[13] == UInt8(ascii: ":"), let m = num(14, 2), b.count > 16, b[16] == UInt8(ascii: ":"),
                  let sec = num(17, 2), h < 24, m < 60, sec <= 60 else { return nil }
            hour = h; minute = m; second = sec
            var i = 19
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                var digits = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    if digits < 9 { frac = frac * 10 + Int64(b[i] - 48) }
                    digits += 1; i += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<max(digits, 9) { frac *= 10 }
            }
            guard i < b.count else { return nil }
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                guard i + 1 == b.count else { return nil }
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                guard i + 6 == b.count, let oh = num(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2) else { return nil }
                offset = (oh * 60 + om) * 60 * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            } else {
                return nil
            }
        }
        var t = tm()
        t.tm_year = Int32(year - 1900); t.tm_mon = Int32(month - 1); t.tm_mday = Int32(mday)
        t.tm_hour = Int32(hour); t.tm_min = Int32(minute); t.tm_sec = Int32(second)
        let seconds = Int64(timegm(&t)) - Int64(offset)
        return seconds * 1_000_000_000 + frac
    }

    private static func broken(_ ns: Int64) -> (tm, Int64) {
        let seconds = ns / 1_000_000_000 - (ns % 1_000_000_000 < 0 ? 1 : 0)   // floor, without overflow at Int64.min
        var t = time_t(seconds)
        var out = tm()
        gmtime_r(&t, &out)
        let frac = ns % 1_000_000_000
        return (out, frac < 0 ? frac + 1_000_000_000 : frac)
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
