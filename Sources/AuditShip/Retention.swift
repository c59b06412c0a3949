/// How long the bucket must keep each shipped object (`--ship-retain`):
/// COMPLIANCE retention, which nobody — the bucket owner included — can
/// shorten or remove before it ends. Written `N` + `d` (days) or `y`
/// (years of 365 days), from 1 day to 100 years.
public struct Retention: Sendable, Equatable, CustomStringConvertible {
    public let days: Int

    public static let maxDays = 100 * 365

    public init?(days: Int) {
        guard (1...Self.maxDays).contains(days) else { return nil }
        self.days = days
    }

    /// Parses "400d", "7y"; nil for anything else.
    public init?(parsing text: String) {
        let b = Array(text.utf8)
        guard b.count >= 2, b.count <= 7, let unit = b.last, unit == UInt8(ascii: "d") || unit == UInt8(ascii: "y"),
              b.dropLast().allSatisfy({ (0x30...0x39).contains($0) }), b[0] != 0x30,
              let n = Int(String(decoding: b.dropLast(), as: UTF8.self)) else { return nil }
        self.init(days: unit == UInt8(ascii: "y") ? n * 365 : n)
    }

    public static let form = "a number of days or years, like 400d or 7y (1d to 100y)"

    public var seconds: Double { Double(days) * 86_400 }
    public var description: String { "\(days)d" }
}
