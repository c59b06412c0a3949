import Foundation
import Glibc
@testable import AuditRecords
import Testing

@Suite struct PolicyControlTests {
    @Test(arguments: [
        ("/var/log/audit", "var-log-audit"), ("/", "-"), ("/mnt/", "mnt"),
        ("/tmp/a b/c-d", "tmp-a\\x20b-c\\x2dd"), ("/srv/.hidden/x.y", "srv-.hidden-x.y"),
    ])
    func mountpointKeysAreEscapedLikeSystemd(path: String, key: String) {
        #expect(PolicyControl.key(forMountpoint: path) == key)
    }

    @Test func aLongMountpointGetsADigestKey() {
        let long = "/" + String(repeating: "x", count: 200)
        let key = PolicyControl.key(forMountpoint: long)
        #expect(key.hasPrefix("sha256-") && key.count == 39)
        #expect(PolicyControl.socketPath(forMountpoint: long).utf8.count < 108)
    }

    /// What a client reads of a reply: its first line, and at most a bounded
    /// number of bytes of one that never ends.
    @Test func anEndlessAnswerIsCutAtItsBoundAndTheFirstLineIsTheAnswer() throws {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let (reader, writing) = (fds[0], fds[1])
        defer { close(reader) }
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)
        let writer = Thread {
            // Far more than the bound, without a newline (sends fail fast once the reader has gone).
            for _ in 0..<64 { _ = chunk.withUnsafeBytes { send(writing, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            close(writing)
        }
        writer.start()
        #expect(PolicyControl.answerLine(reader, limit: 10_000) == nil)
        shutdown(reader, Int32(SHUT_RDWR))

        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]) }
        let text = Array("{\"outcome\":\"accepted\"}\nnot read\n".utf8)
        _ = text.withUnsafeBytes { write(pair[1], $0.baseAddress, $0.count) }
        close(pair[1])
        #expect(PolicyControl.answerLine(pair[0]) == Array("{\"outcome\":\"accepted\"}".utf8))
    }
}
