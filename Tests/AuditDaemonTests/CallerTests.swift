import Glibc
import Testing
@testable import AuditDaemon

@Suite struct ProcessIDTests {
    static func parse(_ text: String) -> UInt32? {
        Array(text.utf8).withUnsafeBufferPointer { CommandNames.processID(in: $0) }
    }

    @Test func theTgidLineOfAStatusFile() {
        #expect(Self.parse("Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4250\n") == 4242)
    }

    @Test func aNameCannotFakeIt() {
        // The kernel escapes a newline in the name: "Tgid:" inside it is no line.
        #expect(Self.parse("Name:\tTgid:\t1\\nTgid:\t2\nTgid:\t77\n") == 77)
    }

    @Test(arguments: ["", "Name:\tx\n", "Name:\tx\nTgid:\t\n", "Name:\tx\nTgid:\t99999999999\n", "\nTgid:\t0\n", "\nTgid:"])
    func malformedIsNil(text: String) {
        #expect(Self.parse(text) == nil)
    }

    @Test func aThreadResolvesToItsProcess() {
        let me = UInt32(getpid())
        #expect(CommandNames().task(me).process == me)
        // Asked from inside a second thread, while it lives: its tid is not the pid.
        var seen: (tid: UInt32, process: UInt32) = (0, 0)
        var thread = pthread_t()
        let made = pthread_create(&thread, nil, { arg in
            // /proc/thread-self links to PID/task/TID.
            var link = [CChar](repeating: 0, count: 64)
            let n = readlink("/proc/thread-self", &link, link.count)
            let text = String(decoding: link.prefix(max(n, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let tid = UInt32(text.split(separator: "/").last ?? "") ?? 0
            arg!.assumingMemoryBound(to: (tid: UInt32, process: UInt32).self).pointee = (tid, CommandNames().task(tid).process)
            return nil
        }, &seen)
        #expect(made == 0)
        pthread_join(thread, nil)
        #expect(seen.tid != me)
        #expect(seen.process == me)
    }
}
