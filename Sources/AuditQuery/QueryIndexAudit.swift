import AuditRecords
import AuditStore
import Foundation

/// `verify`'s comparison of cache/query with the store's decision lines:
/// every entry the index holds must be the entry the line at that place
/// yields now (fields, flags, where the line is, its hash), every chunk
/// digest must match, and the index may not cover more lines than the store
/// holds. Its MAC is not needed for this: a cache is compared, never believed.
/// Streams the lines; memory is the index's string table.
extension QueryIndex {
    public struct Audit: Sendable {
        /// What disagrees (at most a few lines); empty when it agrees or is absent.
        public var failures: [String] = []
        /// What is worth saying but not wrong (another key's MAC, another version).
        public var notes: [String] = []
    }

    public static func audit(store: String) throws -> Audit {
        var out = Audit()
        func fail(_ s: String) { if out.failures.count < 5 { out.failures.append(s) } }
        let identity = try StoreDirectory(store).readIdentity()
        let disk = QueryIndex(store: store, state: State(store: identity.idHex))
        do {
            try disk.load(identity: identity, requireMAC: false)
        } catch let e as Stale {
            switch e.description {
            case "no index yet": break
            case "state of another version or store": out.notes.append("cache/query: \(e.description); the next query rebuilds it")
            default: fail(e.description)
            }
            return out
        }
        if let key = CacheKey.read(store: store), let text = try? RawFile.open(disk.directory + "/state", flags: O_RDONLY).readAll(),
           let nl = text.lastIndex(of: 0x0A), key.mac(Array(text[..<nl])).hex != String(decoding: text[(nl + 1)...], as: UTF8.self) {
            out.notes.append("cache/query is not MACed under the store's cache key (queries rebuild it)")
        }
        let count = disk.mappedCount
        for c in 0..<(count + chunkSize - 1) / chunkSize {
            do { try disk.verify(chunk: c, c * chunkSize..<min(count, (c + 1) * chunkSize)) } catch { fail("\(error)") }
        }
        var ids: [String: UInt32] = [:]
        for (i, s) in disk.state.strings.enumerated() { ids[s] = UInt32(i) }
        let follower = try AuditFollower(store: store)
        let decoder = JSONDecoder()
        var i = 0
        try follower.poll { line in
            guard i < count, AuditLayout.isDecisions(line.path),
                  let f = try? decoder.decode(IndexedFields.self, from: Data(line.bytes)) else { return }
            var want = entry(f, line, intern: { ids[$0] ?? UInt32.max - 1 })
            let have = disk.entry(i)
            let segment = Int(have.segment) < disk.state.segments.count ? disk.state.segments[Int(have.segment)] : "?"
            if segment == follower.segmentNames[line.segment] { want.segment = have.segment }
            if want != have {
                fail("disagrees with the segments: entry \(i) is not the decision line of record \(line.seq) (\(line.path))")
            }
            i += 1
        }
        if i < count { fail("it indexes \(count) decision lines; the segments hold \(i)") }
        return out
    }
}
