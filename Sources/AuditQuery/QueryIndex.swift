import AuditPlumbing
import AuditRecords
import AuditStore
import Foundation
import Glibc

/// The query index of a store's decision records: `STORE/cache/query/`,
/// derived data (docs/QUERY.md "The index", FORMAT.md "Query index").
///
/// - `entries`: one fixed 56-byte `Entry` per decision line, in store order:
///   the fields queries filter on and where the line's bytes are.
/// - `state`: JSON, then a newline and the HMAC-SHA256 (hex) of the JSON
///   under the store's cache key (`CacheKey`): the store position the
///   entries cover (`StorePosition`), the /.audit files seen, the string
///   table, and per chunk of 65,536 entries its SHA-256 and time range.
///
/// Never trusted over the chained data: it is used only when its MAC
/// matches (a reader that cannot read the key, or finds another MAC, builds
/// the index afresh from the segments — so no one without the key can make
/// an index that hides a line from a query); the position is resumed only when
/// the segment still holds its record hash at that offset (otherwise the
/// index is rebuilt), everything after it is read from the segments (frame
/// checks, record hashes, store chain, payload digests), a chunk is used
/// only when its digest matches, and every candidate line is re-read from
/// the segments and filtered again on its decoded fields.
public final class QueryIndex {
    /// One decision line. Little-endian, 56 bytes, the layout of the file.
    struct Entry: Equatable {
        var timeNs: Int64
        var position: UInt64
        var uid: UInt32
        var user: UInt32
        var path: UInt32
        var target: UInt32
        var verb: UInt32
        var segment: UInt32
        var length: UInt32
        var flags: UInt32
        /// The first 8 bytes of SHA-256(line), little-endian: the line read
        /// back from its segment must still be the line that was indexed.
        var lineHash: UInt64
        static let deny: UInt32 = 1, tamper: UInt32 = 2
        static let none = UInt32.max
    }

    struct Chunk: Codable {
        var digest: String
        var minTime: Int64
        var maxTime: Int64
    }

    struct State: Codable {
        static let currentVersion = 3
        var version = State.currentVersion
        var store: String
        var position: StorePosition?
        var segments: [String] = []
        var auditFiles: [String: String] = [:]
        var strings: [String] = []
        var entryCount = 0
        var chunks: [Chunk] = []
    }

    /// A damaged or foreign index: rebuild it.
    struct Stale: Error, CustomStringConvertible { let description: String }

    static let chunkSize = 65_536
    static let entrySize = MemoryLayout<Entry>.stride

    public let storePath: String
    let directory: String
    var state: State
    private var mapped: MappedFile?
    private(set) var mappedCount = 0
    private var recent: [Entry] = []
    private var verifiedChunks = Set<Int>()
    /// Interned strings (paths among them) by their bytes: two paths that
    /// differ in a byte are two strings.
    private var stringIDs: [ByteString: UInt32] = [:]
    private var segmentMaps: [Int: MappedFile] = [:]
    /// Why the index was rebuilt, when it was.
    public private(set) var rebuiltBecause: String?
    /// Whether the index could be saved (the cache directory is writable).
    public private(set) var saved = false

    public var count: Int { mappedCount + recent.count }

    /// The store's cache key; nil when this user cannot read it (the index is
    /// then built in memory on every run and never saved).
    private let key: CacheKey?

    init(store: String, state: State) {
        storePath = store
        key = CacheKey.read(store: store)
        directory = StoreDirectory(store).cachePath + "/query"
        self.state = state
    }

    /// Opens the index of `store`, rebuilding it when missing or unusable,
    /// brings it up to the end of the store and saves it when it can.
    public static func open(store: String) throws -> QueryIndex {
        let identity = try StoreDirectory(store).readIdentity()
        let fresh = State(store: identity.idHex)
        let index = QueryIndex(store: store, state: fresh)
        let lock = index.lockForUpdate()
        defer { lock?.unlock() }
        do {
            try index.load(identity: identity)
            try index.update()
        } catch let e as Stale {
            try index.rebuild(because: e.description)
        } catch let e as RecordFollower.PositionMismatch {
            try index.rebuild(because: e.description)
        }
        if lock != nil { index.saved = (try? index.save()) != nil }
        return index
    }

    private func rebuild(because reason: String) throws {
        rebuiltBecause = reason
        state = State(store: state.store)
        mapped = nil; mappedCount = 0; recent = []; stringIDs = [:]; verifiedChunks = []
        try update()
    }

    private func lockForUpdate() -> RawFile? {
        if !FileSystem.isDirectory(directory) {
            mkdir(StoreDirectory(storePath).cachePath, 0o700)
            mkdir(directory, 0o700)
        }
        guard let file = try? RawFile.open(directory + "/lock", flags: O_RDWR | O_CREAT, mode: 0o600) else { return nil }
        flock(file.fd, LOCK_EX)
        return file
    }

    func load(identity: StoreIdentity, requireMAC: Bool = true) throws {
        guard let text = try? RawFile.open(directory + "/state", flags: O_RDONLY).readAll() else {
            throw Stale(description: "no index yet")
        }
        guard let nl = text.lastIndex(of: 0x0A), nl > 0 else { throw Stale(description: "state file damaged") }
        let json = Array(text[..<nl])
        let mac = String(decoding: text[(nl + 1)...], as: UTF8.self)
        if requireMAC {
            guard let key else { throw Stale(description: "no cache key readable by this user; built from the segments") }
            guard key.mac(json).hex == mac else { throw Stale(description: "state MAC does not match the store's cache key") }
        }
        guard let s = try? JSONDecoder().decode(State.self, from: Data(json)), s.version == State.currentVersion,
              s.store == identity.idHex else { throw Stale(description: "state of another version or store") }
        // Counts and the chunk list are checked before any arithmetic or indexing on them.
        guard s.entryCount >= 0, s.entryCount <= Int.max / Self.entrySize - Self.chunkSize, s.strings.count <= Int(UInt32.max),
              s.chunks.count == (s.entryCount + Self.chunkSize - 1) / Self.chunkSize else { throw Stale(description: "state counts out of range") }
        state = s
        mapped = nil
        if s.entryCount > 0 {
            // An index of no entries may have no entries file.
            let file = try? RawFile.open(directory + "/entries", flags: O_RDONLY)
            let size = (try? file?.size()) ?? 0
            guard let file, size ?? 0 >= UInt64(s.entryCount * Self.entrySize) else { throw Stale(description: "entries file short") }
            mapped = try file.map()
        }
        mappedCount = s.entryCount
        for (i, str) in s.strings.enumerated() { stringIDs[ByteString(str)] = UInt32(i) }
    }

    /// Reads the decision lines appended since the index's position.
    public func update() throws {
        var files: [UInt64: String] = [:]
        for (k, v) in state.auditFiles { if let id = UInt64(k) { files[id] = v } }
        if let p = state.position, state.segments.last != p.segment { throw Stale(description: "state names no segment list") }
        let follower = try AuditFollower(store: storePath, from: state.position, segments: state.segments, auditFiles: files)
        let decoder = JSONDecoder()
        try follower.poll { line in
            guard AuditLayout.isDecisions(line.path) else { return }
            guard let f = try? decoder.decode(IndexedFields.self, from: Data(line.bytes)) else { return }
            recent.append(Self.entry(f, line, intern: intern))
        }
        state.segments = follower.segmentNames
        state.position = follower.position
        state.auditFiles = Dictionary(uniqueKeysWithValues: follower.auditFiles.map { (String($0.key), $0.value) })
        auditFilesCache = follower.auditFiles
    }

    /// The entry of a decision line, its strings numbered by `intern`.
    static func entry(_ f: IndexedFields, _ line: AuditFollower.Line, intern: (String) -> UInt32) -> Entry {
        var flags: UInt32 = f.decision == "deny" ? Entry.deny : 0
        if f.tamper == true { flags |= Entry.tamper }
        return Entry(timeNs: f.timeNs, position: line.position, uid: f.uid, user: f.user.map(intern) ?? Entry.none,
                     path: intern(f.path), target: f.target.map(intern) ?? Entry.none, verb: intern(f.verb),
                     segment: UInt32(line.segment), length: UInt32(line.bytes.count), flags: flags,
                     lineHash: Self.lineHash(line.bytes))
    }

    /// The /.audit files known at the index's position (for `watch`).
    public private(set) var auditFilesCache: [UInt64: String] = [:]
    public var position: StorePosition? { state.position }
    public var segments: [String] { state.segments }

    private func intern(_ s: String) -> UInt32 {
        if let id = stringIDs[ByteString(s)] { return id }
        let id = UInt32(state.strings.count)
        state.strings.append(s)
        stringIDs[ByteString(s)] = id
        return id
    }

    func entry(_ i: Int) -> Entry {
        if i < mappedCount {
            return mapped!.bytes.load(fromByteOffset: i * Self.entrySize, as: Entry.self)
        }
        return recent[i - mappedCount]
    }

    /// Writes the new entries and the state (atomically: the state names
    /// how many entries are valid, and is renamed into place last).
    private func save() throws {
        guard let key else { throw Stale(description: "no cache key readable by this user") }
        let chunkCount = (count + Self.chunkSize - 1) / Self.chunkSize
        let firstDirty = mappedCount / Self.chunkSize
        var chunks = Array(state.chunks.prefix(firstDirty))
        if !recent.isEmpty || state.chunks.count != chunkCount {
            let f = try RawFile.open(directory + "/entries", flags: O_RDWR | O_CREAT, mode: 0o600)
            if mappedCount == 0 { try f.truncate(to: 0) }
            if !recent.isEmpty {
                try recent.withUnsafeBytes { b in try f.write([b], at: UInt64(mappedCount * Self.entrySize)) }
            }
            for c in firstDirty..<chunkCount {
                let range = c * Self.chunkSize..<min(count, (c + 1) * Self.chunkSize)
                var bytes = [UInt8](repeating: 0, count: range.count * Self.entrySize)
                var lo = Int64.max, hi = Int64.min
                for (k, i) in range.enumerated() {
                    var e = entry(i)
                    lo = min(lo, e.timeNs); hi = max(hi, e.timeNs)
                    withUnsafeBytes(of: &e) { src in
                        bytes.withUnsafeMutableBytes { dst in
                            dst.baseAddress!.advanced(by: k * Self.entrySize).copyMemory(from: src.baseAddress!, byteCount: Self.entrySize)
                        }
                    }
                }
                chunks.append(Chunk(digest: Hash.sha256(bytes).hex, minTime: lo, maxTime: hi))
            }
        } else {
            chunks = state.chunks
        }
        state.chunks = chunks
        state.entryCount = count
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var out = Array(try encoder.encode(state))
        let digest = key.mac(out).hex
        out.append(0x0A)
        out += Array(digest.utf8)
        try AtomicFile.replace(directory + "/state", out)
    }

    // MARK: Searching

    /// The indices of the entries that may match `filter`, in store order.
    /// Chunks outside the time range are skipped; a chunk's digest is
    /// checked before its entries are used.
    func candidates(_ filter: QueryFilter) throws -> [Int] {
        let userIDs: Set<UInt32>? = filter.user.map { u in stringIDs[ByteString(u)].map { [$0] } ?? [] }
        let byUID = filter.userUID
        let verbID: UInt32?? = filter.verb.map { stringIDs[ByteString($0)] }
        if case .some(.none) = verbID { return [] }
        var pathMatch: [Bool]?
        if let glob = filter.path { pathMatch = state.strings.map { glob.matches($0) } }
        var out: [Int] = []
        let chunkCount = (count + Self.chunkSize - 1) / Self.chunkSize
        for c in 0..<chunkCount {
            let range = c * Self.chunkSize..<min(count, (c + 1) * Self.chunkSize)
            if range.upperBound <= mappedCount {
                let chunk = state.chunks[c]
                if let since = filter.since, chunk.maxTime < since { continue }
                if let until = filter.until, chunk.minTime >= until { continue }
                try verify(chunk: c, range)
            }
            for i in range {
                let e = entry(i)
                if !filter.matches(time: e.timeNs) { continue }
                if let uid = filter.uid, e.uid != uid { continue }
                if let userIDs, !userIDs.contains(e.user), !(e.user == Entry.none && byUID == e.uid) { continue }
                if case let .some(.some(v)) = verbID, e.verb != v { continue }
                if let d = filter.decision, (d == "deny") != (e.flags & Entry.deny != 0) { continue }
                if filter.tamperOnly && e.flags & Entry.tamper == 0 { continue }
                if let pathMatch {
                    guard Int(e.path) < pathMatch.count, e.target == Entry.none || Int(e.target) < pathMatch.count else {
                        throw Stale(description: "entry \(i) names a string the state does not hold")
                    }
                    if !pathMatch[Int(e.path)], e.target == Entry.none || !pathMatch[Int(e.target)] { continue }
                }
                out.append(i)
            }
        }
        return out
    }

    static func lineHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 { Hash.sha256(bytes).w0 }

    func verify(chunk c: Int, _ range: Range<Int>) throws {
        if verifiedChunks.contains(c) { return }
        let bytes = UnsafeRawBufferPointer(rebasing: mapped!.bytes[range.lowerBound * Self.entrySize..<range.upperBound * Self.entrySize])
        guard Hash.sha256(bytes).hex == state.chunks[c].digest else { throw Stale(description: "entries chunk \(c) digest mismatch") }
        verifiedChunks.insert(c)
    }

    /// The bytes of entry `i`'s line, from its segment (mapped: the
    /// segments are mapped after the update, so every indexed line is inside).
    func line(_ i: Int) throws -> (entry: Entry, bytes: UnsafeRawBufferPointer) {
        let e = entry(i)
        let s = Int(e.segment)
        guard s < state.segments.count else { throw Stale(description: "entry \(i) names a segment the state does not list") }
        let map: MappedFile
        if let m = segmentMaps[s] { map = m } else {
            map = try StoreDirectory(storePath).openSegment(state.segments[s]).map()
            segmentMaps[s] = map
        }
        guard e.position <= UInt64(map.length), UInt64(e.length) <= UInt64(map.length) - e.position else {
            throw Stale(description: "an entry points past the end of segment \(state.segments[s])")
        }
        return (e, UnsafeRawBufferPointer(rebasing: map.bytes[Int(e.position)..<Int(e.position) + Int(e.length)]))
    }

    /// The decision records matching `filter`, in store order. Each line is
    /// read from the segments; when its hash is the one indexed (the bytes
    /// checked against their chained payload digest when indexed) and the
    /// record is not needed (`decode` false), it is delivered as it is;
    /// otherwise it is decoded and checked against the whole filter.
    /// `body` gets the record (nil when not decoded) and the line as stored.
    public func search(_ filter: QueryFilter, decode: Bool = true, _ body: (DecisionRecord?, [UInt8]) throws -> Void) throws {
        let decoder = JSONDecoder()
        for i in try candidates(filter) {
            let (e, bytes) = try line(i)
            if !decode && Self.lineHash(bytes) == e.lineHash {
                try body(nil, Array(bytes))
                continue
            }
            guard let d = try? decoder.decode(DecisionRecord.self, from: Data(bytes)), filter.matches(d) else { continue }
            try body(d, Array(bytes))
        }
    }

    /// Opens the index, and rebuilds it once when a chunk turns out damaged.
    public static func search(store: String, _ filter: QueryFilter, decode: Bool = true,
                              _ body: (DecisionRecord?, [UInt8]) throws -> Void) throws -> QueryIndex {
        let index = try open(store: store)
        do {
            try index.search(filter, decode: decode, body)
            return index
        } catch let e as Stale {
            // Candidates are all found before the first record is delivered.
            try? FileManager.default.removeItem(atPath: index.directory + "/state")
            let again = try open(store: store)
            again.rebuiltBecause = e.description
            try again.search(filter, decode: decode, body)
            return again
        }
    }
}

/// The fields of a decision line the index keeps.
struct IndexedFields: Decodable {
    var timeNs: Int64
    var uid: UInt32
    var user: String?
    var verb: String
    var path: String
    var target: String?
    var decision: String
    var tamper: Bool?
}

extension RawFile {
    func readAll() throws -> [UInt8] { try read(count: Int(try size()), at: 0) }
}
