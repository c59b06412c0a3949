import Glibc
import Synchronization

/// A source of time in nanoseconds: the one way auditfs reads a clock, so
/// that a test can hand any reader a clock it controls (`Clock.manual`).
///
/// Two kinds are read, and never mixed:
/// - `realtime` (CLOCK_REALTIME): ns since 1970, what records, file times,
///   checkpoints and metrics carry; it can jump when the host's time is set.
/// - `monotonic` (CLOCK_MONOTONIC): ns since an arbitrary start that never
///   goes back; for ages and time-to-live of caches, never stored.
public struct Clock: Sendable {
    /// The reading: ns on this clock's scale.
    public let read: @Sendable () -> Int64

    public init(_ read: @escaping @Sendable () -> Int64) { self.read = read }

    /// The time now on this clock.
    public var now: Int64 { read() }

    /// Wall-clock time, ns since 1970-01-01T00:00:00Z (CLOCK_REALTIME).
    public static let realtime = Clock { Clock.reading(CLOCK_REALTIME) }

    /// Time that never goes back, ns since an arbitrary start (CLOCK_MONOTONIC).
    public static let monotonic = Clock { Clock.reading(CLOCK_MONOTONIC) }

    /// A clock that always reads `ns`.
    public static func fixed(_ ns: Int64) -> Clock { Clock { ns } }

    /// A clock that reads `start` until it is moved (`ManualClock.advance`,
    /// `set`): for tests of windows, ages and time-to-live.
    public static func manual(_ start: Int64 = 0) -> ManualClock { ManualClock(start) }

    private static func reading(_ id: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// A clock a test moves by hand; `clock` is the `Clock` to give a reader.
public final class ManualClock: Sendable {
    private let value: Atomic<Int64>

    public init(_ start: Int64 = 0) { value = Atomic(start) }

    public var now: Int64 { value.load(ordering: .relaxed) }

    public func set(_ ns: Int64) { value.store(ns, ordering: .relaxed) }

    public func advance(by ns: Int64) { value.add(ns, ordering: .relaxed) }

    public var clock: Clock { Clock { [self] in self.now } }
}
