/// One line of a store's block history, as `auditfs log` prints it.
public struct HistoryEntry: Codable, Sendable, Equatable {
    public var seq: UInt64
    public var time: Int64
    public var kind: String
    public var uid: UInt32
    public var gid: UInt32
    public var pid: UInt32
    public var command: String
    public var path: String
    public var file: UInt64
    public var offset: UInt64?
    public var length: UInt64
    public var recordHash: String
    public var segment: String
    public var position: UInt64
    /// A rename record's old and new path and why (format v2): "rename",
    /// or the retirement's cause, "unlink", "rmdir" or "replaced".
    public var from: String?
    public var to: String?
    public var reason: String?
}

public enum History {
    /// Streams the records of the store at `path` in sequence order, each with
    /// the path of the file it belongs to. Stops at the first damage (thrown
    /// after the intact prefix was delivered); a torn tail ends the history.
    public static func read(at path: String, _ body: (HistoryEntry) -> Void) throws(StoreError) {
        let directory = StoreDirectory(path)
        let identity = try directory.readIdentity()
        var segments = try directory.openSegments(writable: false)
        let names = segments.map(\.name)
        let namespace = Namespace(keepBlocks: false, version: identity.version)
        var replay = Replay(identity: identity, namespace: namespace, tree: LogTree(), checkPayloads: false)
        let outcome = replay.run(&segments, onRecord: { record, hash, frame, index in
            var offset: UInt64?
            var rename: RenameChange?
            switch record.body {
            case let .append(o): offset = o
            case let .rename(change): rename = change
            default: break
            }
            body(HistoryEntry(seq: record.seq, time: record.time, kind: record.kind.name, uid: record.writer.uid,
                              gid: record.writer.gid, pid: record.writer.pid, command: record.writer.command,
                              path: namespace.node(record.file)?.path ?? "?", file: record.file, offset: offset,
                              length: record.payloadLength, recordHash: hash.hex, segment: names[index],
                              position: frame.offset, from: rename?.from, to: rename?.to, reason: rename?.reason.name))
        })
        if case let .damaged(f) = outcome { throw .damaged(f) }
    }
}
