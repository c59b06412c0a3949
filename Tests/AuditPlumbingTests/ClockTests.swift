import AuditPlumbing
import Testing

/// One clock concept (Clock.swift): the real ones move the right way, and a
/// test clock is what a reader sees.
@Suite struct ClockTests {
    /// A reader that takes an injected clock, as the store (`Options.clock`) does.
    struct Window {
        let clock: Clock
        let opened: Int64
        init(clock: Clock) { self.clock = clock; opened = clock.now }
        var isOpen: Bool { clock.now - opened < 1_000 }
    }

    @Test func aManualClockIsWhatItsReadersSee() {
        let manual = Clock.manual(5_000)
        let w = Window(clock: manual.clock)
        #expect(w.opened == 5_000 && w.isOpen)
        manual.advance(by: 999)
        #expect(w.isOpen)
        manual.advance(by: 1)
        #expect(!w.isOpen)
        manual.set(5_000)
        #expect(w.isOpen)
    }

    @Test func aFixedClockNeverMoves() {
        let c = Clock.fixed(42)
        #expect(c.now == 42 && c.read() == 42)
    }

    @Test func theRealtimeClockIsSince1970AndMonotonicNeverGoesBack() {
        let t = Clock.realtime.now
        #expect(t > 1_767_225_600_000_000_000)   // after 2026-01-01
        var last = Clock.monotonic.now
        for _ in 0..<1000 {
            let m = Clock.monotonic.now
            #expect(m >= last)
            last = m
        }
    }
}
