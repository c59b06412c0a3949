/// Appending the store's own signed notes (checkpoints, key certificates)
/// to files under /.audit, bound to the tree head they name.
extension Store {
    /// Appends one block to the file at `path` (created, with its parent
    /// directories, when missing) whose bytes `make` computes from the tree
    /// head just before the block: the block is record `size`, so a note
    /// about (size, root) covers every record before it. One lock hold: no
    /// other record can come between the head and the block.
    @discardableResult
    public func appendNote(to path: String, by writer: Provenance,
                           _ make: (_ size: UInt64, _ root: Hash) throws -> [UInt8]) throws(StoreError) -> (size: UInt64, root: Hash) {
        lock.lock(); defer { lock.unlock() }
        var dir = "/"
        let parts: [String]
        do { parts = try StorePath.components(of: path) } catch { throw .invalidPath(error.description) }
        for part in parts.dropLast() {
            dir = StorePath.join(dir, part)
            if let node = namespace.lookup(dir) {
                guard node.isDirectory else { throw .notADirectory(dir) }
            } else {
                _ = try appendLocked(kind: .directory, file: Record.fileID(createdBy: namespace.nextSeq),
                                     body: .create(path: dir, mode: 0o755, owner: 0, group: 0), payload: nil, digest: nil, by: writer)
            }
        }
        let file: UInt64
        if let node = namespace.lookup(path) {
            guard !node.isDirectory else { throw .isADirectory(path) }
            file = node.id
        } else {
            file = try appendLocked(kind: .file, file: Record.fileID(createdBy: namespace.nextSeq),
                                    body: .create(path: path, mode: 0o644, owner: 0, group: 0), payload: nil, digest: nil, by: writer).id
        }
        let size = tree.size, root = tree.root
        let bytes: [UInt8]
        do { bytes = try make(size, root) } catch { throw .wrap(error) }
        let offset = namespace.node(file)!.size
        do {
            try bytes.withUnsafeBytes { b in
                _ = try appendLocked(kind: .append, file: file, body: .append(offset: offset), payload: b, digest: nil, by: writer)
            }
        } catch { throw .wrap(error) }
        return (size, root)
    }

    /// Appends a cosigned checkpoint — a stored checkpoint with a witness's
    /// cosignature lines added — and a blank line, as one block of
    /// /.audit/cosignatures; returns the block's record position.
    @discardableResult
    public func appendCosigned(_ note: String, by writer: Provenance) throws(StoreError) -> UInt64 {
        try appendNote(to: AuditPaths.cosignatures, by: writer) { _, _ in Array((note + "\n").utf8) }.size
    }

    /// The cosignature lines stored for the checkpoint whose text is
    /// `checkpointText` (every block of /.audit/cosignatures naming it), in
    /// the order stored, without repeats.
    public func cosignatureLines(of checkpointText: String) throws(StoreError) -> [String] {
        var lines: [String] = []
        for block in try blocks(of: AuditPaths.cosignatures) {
            var text = String(decoding: block, as: UTF8.self)
            if text.hasSuffix("\n\n") { text.removeLast() }
            guard let (t, _) = try? SignedNote.parse(text), t == checkpointText,
                  let split = text.range(of: "\n\n", options: .backwards) else { continue }
            for line in text[split.upperBound...].split(separator: "\n") where !lines.contains(String(line) + "\n") {
                lines.append(String(line) + "\n")
            }
        }
        return lines
    }

    /// The time of the newest record (0 in an empty store). Record times
    /// never go back (a writer stamps max(clock, this)), so it is the latest
    /// time of every record: a checkpoint is dated no earlier.
    public var treeHeadTime: Int64 {
        lock.lock(); defer { lock.unlock() }
        return namespace.lastTime
    }

    /// The blocks of a file, one element per block (for files written one
    /// note per block, like /.audit/checkpoints).
    public func blocks(of path: String) throws(StoreError) -> [[UInt8]] {
        lock.lock()
        guard let node = namespace.lookup(path) else { lock.unlock(); return [] }
        let blocks = node.blocks
        lock.unlock()
        var out: [[UInt8]] = []
        for i in 0..<blocks.count {
            out.append(try read(node.id, offset: blocks[i].fileOffset, count: Int(blocks[i].length)))
        }
        return out
    }
}
