import Foundation
import Testing
@testable import AuditStore
#if canImport(Glibc)
import Glibc
#endif

/// Readers of store files: a segment that grows or shrinks under a reader,
/// a store file that is not a regular file, an index forged without the key.
@Suite struct TrustCacheTests {
    static func frames(_ reader: inout SegmentReader) throws -> (frames: Int, last: SegmentReader.Step) {
        _ = try reader.readHeader()
        var n = 0
        var batch: [SegmentReader.Step] = []
        while true {
            try reader.nextBatch(&batch)
            for step in batch {
                if case .frame = step { n += 1 } else { return (n, step) }
            }
        }
    }

    @Test(arguments: ["fifo", "symlink", "directory"])
    func aStoreFileThatIsNotARegularFileIsRefusedWithoutBlocking(kind: String) throws {
        let tmp = TempDir()
        let path = tmp.path + "/x"
        switch kind {
        case "fifo": #expect(mkfifo(path, 0o600) == 0)
        case "symlink": writeFile(tmp.path + "/target", [1]); #expect(symlink(tmp.path + "/target", path) == 0)
        default: #expect(mkdir(path, 0o700) == 0)
        }
        for flags in [O_RDONLY, O_WRONLY, O_RDWR] {
            #expect(throws: SystemError.self) { _ = try RawFile.open(path, flags: flags) }
        }
        do { _ = try RawFile.open(path, flags: O_RDONLY) } catch let e as SystemError {
            #expect(e.description.contains("not a regular file"), "\(e)")
        }
    }
}
