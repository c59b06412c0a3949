import Glibc

/// The mount's two limits on what a flood may cost (docs/POLICY.md
/// "Floods"), parsed from `--reserve`/`-o reserve=` and
/// `--decision-budget`/`-o decision-budget=`, each with bounds and a
/// one-line error.
enum FloodLimits {
    /// The default reserve: 1% of the file system, at least 64 MiB, at most an eighth of it.
    static func defaultReserve(total: UInt64) -> UInt64 {
        min(max(64 << 20, total / 100), total / 8)
    }

    /// `BYTES`, `N[K|M|G|T]` (powers of 1024) or `N%` of the file system of
    /// `total` bytes (0–50%). Nil text: the default.
    static func reserve(_ text: String?, total: UInt64) throws(MountError) -> UInt64 {
        guard let text else { return defaultReserve(total: total) }
        let bad = MountError("--reserve '\(text)': expected bytes (with K, M, G or T) or a percentage of the file system (0% to 50%)")
        if text.hasSuffix("%") {
            guard let p = Double(text.dropLast()), p.isFinite, p >= 0, p <= 50 else { throw bad }
            return UInt64(Double(total) * p / 100)
        }
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = Substring(text)
        var unit: UInt64 = 1
        if let last = text.uppercased().last, let u = units[last] { unit = u; digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = UInt64(digits) else { throw bad }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: unit)
        guard !overflow, bytes <= 1 << 50 else { throw bad }
        return bytes
    }

    /// `N` or `N/SECONDS`: decision lines per subject per interval
    /// (N 1–1,000,000; SECONDS 1–3600). Nil text: 1000 per 10 s.
    static func budget(_ text: String?) throws(MountError) -> DecisionFolder.Settings {
        var settings = DecisionFolder.Settings()
        guard let text else { return settings }
        let bad = MountError("--decision-budget '\(text)': expected N or N/SECONDS (N 1 to 1000000, SECONDS 1 to 3600)")
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let n = Int(parts[0]), (1...1_000_000).contains(n) else { throw bad }
        settings.budget = n
        if parts.count == 2 {
            guard let s = Int64(parts[1]), (1...3600).contains(s) else { throw bad }
            settings.interval = s * 1_000_000_000
        }
        return settings
    }

    /// The size of the file system holding `path`, and its free bytes.
    static func space(of path: String) -> (free: UInt64, total: UInt64)? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return (UInt64(s.f_bavail) * UInt64(s.f_frsize), UInt64(s.f_blocks) * UInt64(s.f_frsize))
    }
}
