import AuditPlumbing

/// The audit namespace: `/.audit` at the root of a store, written only by
/// the mount daemon (and the checkpointer) through this API, never through
/// the mount. Its files are ordinary store files: the same records, chains
/// and checker as every other file (docs/POLICY.md "The audit namespace").
extension Store {
    /// Whether `path` (absolute, normalised) is `/.audit` or below it,
    /// compared bytewise: "/.audit/\u{200D}x" is inside (its first byte after
    /// "/.audit/" is the joiner's), "/.audit\u{301}" is not /.audit. Every
    /// writer that keeps users out of /.audit (the mount, `auditfs append`)
    /// asks this.
    public static func isAuditPath(_ path: String) -> Bool { AuditPaths.contains(path) }

    /// Creates the directory at `path` and its missing parents (owner root,
    /// group root, `mode`); returns the directory. Idempotent and safe
    /// against a concurrent creator. A file in the way is `.notADirectory`.
    @discardableResult
    public func ensureDirectory(_ path: String, mode: UInt32 = 0o755, by writer: Provenance) throws(StoreError) -> NodeInfo {
        let p: String
        do { p = try StorePath.parse(path) } catch { throw .invalidPath(error.description) }
        if let node = lookup(p) {
            guard node.isDirectory else { throw .notADirectory(p) }
            return node
        }
        if !p.sameBytes(as: "/") { try ensureDirectory(StorePath.parent(of: p), mode: mode, by: writer) }
        do {
            return try create(p, kind: .directory, mode: mode, owner: 0, group: 0, by: writer)
        } catch .exists {
            guard let node = lookup(p), node.isDirectory else { throw .notADirectory(p) }
            return node
        }
    }

    /// The file at `path`, created (owner root, group root, `mode`) when
    /// missing; its parent must exist. Safe against a concurrent creator.
    @discardableResult
    public func ensureFile(_ path: String, mode: UInt32 = 0o644, by writer: Provenance) throws(StoreError) -> NodeInfo {
        if let node = lookup(path) {
            guard !node.isDirectory else { throw .isADirectory(path) }
            return node
        }
        do {
            return try create(path, kind: .file, mode: mode, owner: 0, group: 0, by: writer)
        } catch .exists {
            guard let node = lookup(path), !node.isDirectory else { throw .isADirectory(path) }
            return node
        }
    }

    /// The whole content of the file at `path`, or nil when there is none.
    public func contents(of path: String) throws(StoreError) -> [UInt8]? {
        guard let node = lookup(path), !node.isDirectory else { return nil }
        return try read(node.id, offset: 0, count: Int(node.size))
    }
}
