import AuditPlumbing

/// What a rename did: the node moved, and the node it displaced, now retired.
public struct RenameOutcome: Sendable {
    public var moved: NodeInfo
    public var retired: NodeInfo?
}

/// Renames and removals (the mount's history mode; format v2): a name may
/// change or go, a byte never does. A rename is a record in the moved node's
/// own chain; an unlink, an rmdir, or a rename onto an existing name moves
/// the node that loses its name to /.audit/retired (FORMAT.md "Retired
/// paths"), where it stays readable and takes no record again. Every POSIX
/// check runs under the store's lock, so a race cannot slip between the
/// check and the record.
extension Store {
    /// The store's format version: 1 (no renames) or 2.
    public var formatVersion: UInt32 { identity.version }

    /// rename(2) of the entry `name` of directory `parent` to `newName` in
    /// `newParent`. A node already at the new name is retired first (reason
    /// `replaced`), both records under one hold of the lock; with `replace`
    /// false that is `.exists` instead (RENAME_NOREPLACE). A name renamed
    /// onto itself (or onto another name of the same node) changes nothing
    /// and writes no record.
    ///
    /// Throws `.noSuchFile`; `.isADirectory` (a file onto a directory);
    /// `.notADirectory` (a directory onto a file, or a parent that is not a
    /// directory); `.directoryNotEmpty` (onto a directory with entries);
    /// `.invalidMove` (a directory into itself or below it, the root, or
    /// anything in /.audit); `.formatTooOld` (a v1 store).
    ///
    /// If the retirement is written and the rename then fails (the disk
    /// filled in between), the displaced node stays retired and the moved
    /// one keeps its old name: nothing is lost either way.
    public func rename(parent: UInt64, name: String, newParent: UInt64, newName: String, replace: Bool = true,
                       by writer: Provenance) throws(StoreError) -> RenameOutcome {
        do { try StorePath.checkName(newName) } catch { throw .invalidPath(error.description) }
        lock.lock(); defer { lock.unlock() }
        try requireRenames()
        let node = try entry(parent, name)
        guard let to = namespace.node(newParent) else { throw .noSuchFile("#\(newParent)") }
        guard to.isDirectory else { throw .notADirectory(to.path) }
        let target = StorePath.join(to.path, newName)
        guard node.id != Namespace.rootID, !AuditPaths.contains(node.path), !AuditPaths.contains(target) else {
            throw .invalidMove("'\(node.path)' -> '\(target)': the root and /.audit are never renamed")
        }
        guard !to.isRetired else { throw .retired(to.path) }
        if node.isDirectory {
            var p: Namespace.Node? = to
            while let dir = p {
                guard dir.id != node.id else { throw .invalidMove("'\(node.path)' cannot move into itself ('\(target)')") }
                p = dir.id == Namespace.rootID ? nil : namespace.node(dir.parent)
            }
        }
        var retired: NodeInfo?
        if let existingID = to.child(named: newName), let existing = namespace.node(existingID) {
            if existingID == node.id { return RenameOutcome(moved: NodeInfo(node), retired: nil) }
            guard replace else { throw .exists(target) }
            switch (node.isDirectory, existing.isDirectory) {
            case (false, true): throw .isADirectory(target)
            case (true, false): throw .notADirectory(target)
            case (true, true): guard existing.children.isEmpty else { throw .directoryNotEmpty(target) }
            case (false, false): break
            }
            retired = NodeInfo(try retireLocked(existing, reason: .replaced, by: writer))
        }
        let moved = try appendLocked(kind: .rename, file: node.id,
                                     body: .rename(RenameChange(reason: .rename, from: node.path, to: target)),
                                     payload: nil, digest: nil, by: writer)
        return RenameOutcome(moved: NodeInfo(moved), retired: retired)
    }

    /// unlink(2) (`directory` false) or rmdir(2) (`directory` true) of the
    /// entry `name` of `parent`: retires the node, which is returned at its
    /// retired path. Throws `.noSuchFile`; `.isADirectory` (unlink of a
    /// directory); `.notADirectory` (rmdir of a file); `.directoryNotEmpty`;
    /// `.invalidMove` (in /.audit); `.formatTooOld` (a v1 store).
    public func retire(parent: UInt64, name: String, directory: Bool, by writer: Provenance) throws(StoreError) -> NodeInfo {
        lock.lock(); defer { lock.unlock() }
        try requireRenames()
        let node = try entry(parent, name)
        guard !AuditPaths.contains(node.path) else { throw .invalidMove("'\(node.path)': nothing in /.audit is removed") }
        if directory {
            guard node.isDirectory else { throw .notADirectory(node.path) }
            guard node.children.isEmpty else { throw .directoryNotEmpty(node.path) }
        } else {
            guard !node.isDirectory else { throw .isADirectory(node.path) }
        }
        return NodeInfo(try retireLocked(node, reason: directory ? .rmdir : .unlink, by: writer))
    }

    private func requireRenames() throws(StoreError) {
        guard identity.version >= Format.renameVersion else { throw .formatTooOld(path, version: identity.version) }
    }

    /// The node named `name` in directory `parent`. Caller holds `lock`.
    private func entry(_ parent: UInt64, _ name: String) throws(StoreError) -> Namespace.Node {
        guard let dir = namespace.node(parent) else { throw .noSuchFile("#\(parent)") }
        guard dir.isDirectory else { throw .notADirectory(dir.path) }
        guard let id = dir.child(named: name), let node = namespace.node(id) else {
            throw .noSuchFile(StorePath.join(dir.path, name))
        }
        return node
    }

    /// Moves `node` to its retired path, making the directories of that
    /// path that do not exist yet. Every record is stamped with one time,
    /// the one its name shows. Caller holds `lock`.
    private func retireLocked(_ node: Namespace.Node, reason: RenameReason, by writer: Provenance) throws(StoreError) -> Namespace.Node {
        let time = max(options.clock(), namespace.lastTime, 0)
        let place = RetiredPath.place(of: node.path, in: namespace)
        for dir in place.directories {
            let source = dir.source.flatMap { namespace.lookup($0) }
            _ = try appendLocked(kind: .directory, file: Record.fileID(createdBy: namespace.nextSeq),
                                 body: .create(path: dir.path, mode: source?.mode ?? 0o755, owner: source?.uid ?? 0,
                                               group: source?.gid ?? 0),
                                 payload: nil, digest: nil, by: writer, at: time)
        }
        let target = RetiredPath.name(in: place.directory, for: StorePath.name(of: node.path), time: time,
                                      seq: namespace.nextSeq, namespace: namespace)
        return try appendLocked(kind: .rename, file: node.id,
                                body: .rename(RenameChange(reason: reason, from: node.path, to: target)),
                                payload: nil, digest: nil, by: writer, at: time)
    }
}

/// Where a retired node goes (FORMAT.md "Retired paths"): below
/// /.audit/retired, in directories that mirror its old directory, under its
/// old name, the time it was retired and the sequence number of the record
/// that retired it — `/var/log/audit.log` retired by record 5012 at 12:03:04
/// is `/.audit/retired/var/log/audit.log@2026-12-06T12:03:04Z#5012`.
enum RetiredPath {
    struct Directory {
        /// The mirror directory to make.
        var path: String
        /// The directory it mirrors (mode and owner come from it); nil for
        /// /.audit and /.audit/retired themselves.
        var source: String?
    }

    /// The directory a node at `path` retires into, and which of its
    /// directories must be made first (in order). When the mirror cannot be
    /// made — a name on the way is taken by a file, or the path would be
    /// too long — the node goes straight into /.audit/retired.
    static func place(of path: String, in namespace: Namespace) -> (directory: String, directories: [Directory]) {
        var make: [Directory] = []
        for p in [AuditPaths.root, AuditPaths.retired] where namespace.lookup(p) == nil {
            make.append(Directory(path: p, source: nil))
        }
        let top = (AuditPaths.retired, make)
        let parent = StorePath.parent(of: path)
        guard !parent.sameBytes(as: "/"), let parts = try? StorePath.components(of: parent),
              AuditPaths.retired.utf8.count + parent.utf8.count + 1 + Format.maxNameSize <= Format.maxPathSize else { return top }
        var mirror = AuditPaths.retired, original = ""
        for part in parts {
            mirror += "/" + part
            original += "/" + part
            if let n = namespace.lookup(mirror) {
                guard n.isDirectory, !n.isRetired else { return top }
            } else {
                make.append(Directory(path: mirror, source: original))
            }
        }
        return (mirror, make)
    }

    /// `name@<time>#<seq>` in `directory`, the name cut (at a character) to
    /// leave room for the suffix in 255 bytes; `~2`, `~3`… added in the
    /// unlikely case that a name someone chose is already there.
    static func name(in directory: String, for name: String, time: Int64, seq: UInt64, namespace: Namespace) -> String {
        let suffix = "@" + Timestamps.rfc3339Seconds(time) + "#" + String(seq)
        var attempt = 1
        while true {
            let tail = attempt == 1 ? suffix : suffix + "~" + String(attempt)
            var stem = name
            while stem.utf8.count + tail.utf8.count > Format.maxNameSize { stem.unicodeScalars.removeLast() }
            let candidate = StorePath.join(directory, stem + tail)
            if namespace.lookup(candidate) == nil { return candidate }
            attempt += 1
        }
    }
}
