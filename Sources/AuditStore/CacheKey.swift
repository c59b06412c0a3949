import AuditPlumbing
import Crypto
import Glibc

/// The secret that binds the derived caches to the store (FORMAT.md "Cache
/// key"): `STORE/cache-key`, 32 random bytes, mode 0600, made by the first
/// writer. `cache/index` and `cache/query/state` end with an HMAC-SHA256
/// under it; a reader that cannot read the key, or finds a MAC that does
/// not match, ignores the cache and reads the segments. So a cache can be
/// forged only by someone who can read this file — the store's owner, who
/// could also rewrite the segments; `verify` compares every cache with the
/// segments whatever its MAC says.
///
/// The key is replaced whenever the signing key's epoch advances
/// (`Store.rotateCacheKey`): a copy taken during one epoch forges nothing
/// after it. A cache MACed under the old key is then ignored (replayed) until
/// it is written again.
public struct CacheKey: Sendable, Equatable {
    public static let fileName = "cache-key"
    static let size = 32
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    static func path(_ store: String) -> String { StoreDirectory(store).cacheKeyPath }

    /// The store's key, or nil when it has none yet or this user cannot read it.
    public static func read(store: String) -> CacheKey? {
        guard let file = try? RawFile.open(path(store), flags: O_RDONLY),
              let bytes = try? file.read(count: size + 1, at: 0), bytes.count == size else { return nil }
        return CacheKey(bytes: bytes)
    }

    /// The store's key, made of `bytes` first when there is none (a writer's open).
    static func readOrCreate(store: String, bytes: [UInt8]) throws -> CacheKey {
        if let k = read(store: store) { return k }
        if FileSystem.exists(path(store)) { try replace(store: store, bytes: bytes) } else { try create(store: store, bytes: bytes) }
        guard let k = read(store: store) else { throw SystemError(call: "read", path: path(store), errno: EIO) }
        return k
    }

    /// Writes a new key (32 random bytes) in place of the old one (atomically).
    @discardableResult
    static func replace(store: String, bytes: [UInt8]) throws -> CacheKey {
        guard bytes.count == size else { throw SystemError(call: "write", path: path(store), errno: EINVAL) }
        let key = CacheKey(bytes: bytes)
        try AtomicFile.replace(path(store), key.bytes)
        return key
    }

    /// Creates the key unless another process just did (its key is then the
    /// store's: `readOrCreate` reads it).
    private static func create(store: String, bytes: [UInt8]) throws {
        guard bytes.count == size else { throw SystemError(call: "write", path: path(store), errno: EINVAL) }
        do { try AtomicFile.create(path(store), bytes) } catch let e as SystemError where e.errno == EEXIST {}
    }

    /// An HMAC-SHA256 over data given in pieces.
    public struct MAC {
        private var h: HMAC<SHA256>
        public init(key: CacheKey) { h = HMAC<SHA256>(key: SymmetricKey(data: key.bytes)) }
        public mutating func update(_ bytes: UnsafeRawBufferPointer) { h.update(data: bytes) }
        public func finalize() -> Hash { h.finalize().withUnsafeBytes { Hash(bytes: $0) } }
    }

    /// The MAC of `bytes`.
    public func mac(_ bytes: [UInt8]) -> Hash {
        var m = MAC(key: self)
        bytes.withUnsafeBytes { m.update($0) }
        return m.finalize()
    }
}
