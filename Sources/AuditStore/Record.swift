/// One record of the store (FORMAT.md "Header", its bodies). Records are
/// appended once and never rewritten.
public struct Record: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        case directory = 1
        case file = 2
        case append = 3
        case attributes = 4
        /// A node's new name (format v2): a rename, or its retirement into
        /// /.audit/retired (unlink, rmdir, replaced by a rename).
        case rename = 5

        public var name: String {
            switch self {
            case .directory: "mkdir"
            case .file: "create"
            case .append: "append"
            case .attributes: "setattr"
            case .rename: "rename"
            }
        }
    }

    /// The type-specific part of a record.
    public enum Body: Equatable, Sendable {
        /// `directory` and `file`: the new node's absolute path and initial attributes.
        case create(path: String, mode: UInt32, owner: UInt32, group: UInt32)
        /// `append`: the file offset the payload starts at.
        case append(offset: UInt64)
        case attributes(AttributeChange)
        /// `rename`: the node's old and new path, and why it moved.
        case rename(RenameChange)
    }

    public var kind: Kind
    public var seq: UInt64
    public var time: Int64
    public var writer: Provenance
    /// The file or directory the record belongs to: the sequence number of its
    /// creating record plus one (so the root directory, record 0, is file 1).
    public var file: UInt64
    public var prevFileHash: Hash
    public var prevStoreHash: Hash
    public var payloadLength: UInt64
    public var payloadDigest: Hash
    public var body: Body

    public init(kind: Kind, seq: UInt64, time: Int64, writer: Provenance, file: UInt64, prevFileHash: Hash,
                prevStoreHash: Hash, payloadLength: UInt64, payloadDigest: Hash, body: Body) {
        self.kind = kind; self.seq = seq; self.time = time; self.writer = writer; self.file = file
        self.prevFileHash = prevFileHash; self.prevStoreHash = prevStoreHash
        self.payloadLength = payloadLength; self.payloadDigest = payloadDigest; self.body = body
    }

    /// The header bytes (FORMAT.md "Header"); the record hash is SHA-256 of them.
    public func encodeHeader() -> [UInt8] {
        var w = ByteWriter(capacity: Format.headerFixedSize + 64)
        encodeHeader(into: &w)
        return w.bytes
    }

    /// The header bytes appended to `w` (the store reuses one writer's buffer).
    func encodeHeader(into w: inout ByteWriter) {
        w.u8(kind.rawValue); w.u8(0); w.u8(0); w.u8(0)
        w.u64(seq)
        w.i64(time)
        w.u32(writer.uid); w.u32(writer.gid); w.u32(writer.pid)
        w.u64(file)
        w.hash(prevFileHash)
        w.hash(prevStoreHash)
        w.u64(payloadLength)
        w.hash(payloadDigest)
        let command = writer.commandBytes
        w.u8(UInt8(command.count)); w.raw(command)
        switch body {
        case let .create(path, mode, owner, group):
            let p = Array(path.utf8)
            w.u32(mode); w.u32(owner); w.u32(group); w.u16(UInt16(p.count)); w.raw(p)
        case let .append(offset):
            w.u64(offset)
        case let .attributes(change):
            change.encode(into: &w)
        case let .rename(change):
            change.encode(into: &w)
        }
    }

    public enum DecodeError: Error, Equatable {
        case short
        case unknownKind(UInt8)
        case nonzeroReserved
        case trailingBytes(Int)
        case badPath
        case kindBodyMismatch
        case badAttributes
        case badRename
    }

    /// Parses header bytes strictly: every byte must be consumed and every
    /// reserved field zero.
    public static func decodeHeader(_ buf: UnsafeRawBufferPointer) throws(DecodeError) -> Record {
        var none: [UInt8] = []
        return try decodeHeader(buf, reusing: &none)
    }

    /// As `decodeHeader(_:)`; `command` holds the command bytes of the
    /// record decoded before and is shared, not copied, when this record's
    /// are the same (a replay allocates no array for a run of records by
    /// one command), and takes this record's otherwise.
    static func decodeHeader(_ buf: UnsafeRawBufferPointer, reusing command: inout [UInt8]) throws(DecodeError) -> Record {
        var r = ByteReader(buf)
        do {
            let k = try r.u8()
            guard let kind = Kind(rawValue: k) else { throw DecodeError.unknownKind(k) }
            guard try r.u8() == 0, try r.u8() == 0, try r.u8() == 0 else { throw DecodeError.nonzeroReserved }
            let seq = try r.u64()
            let time = try r.i64()
            let uid = try r.u32(), gid = try r.u32(), pid = try r.u32()
            let file = try r.u64()
            let prevFile = try r.hash()
            let prevStore = try r.hash()
            let payloadLength = try r.u64()
            let digest = try r.hash()
            let commandLength = Int(try r.u8())
            let commandBytes = try r.bytes(commandLength)
            if !Self.same(command, commandBytes) { command = Array(commandBytes) }
            let body: Body
            switch kind {
            case .directory, .file:
                let mode = try r.u32(), owner = try r.u32(), group = try r.u32()
                let pathLength = Int(try r.u16())
                let pathBytes = Array(try r.bytes(pathLength))
                guard let path = String(validating: pathBytes, as: UTF8.self), StorePath.isValid(path) else {
                    throw DecodeError.badPath
                }
                body = .create(path: path, mode: mode, owner: owner, group: group)
            case .append:
                body = .append(offset: try r.u64())
            case .attributes:
                guard let change = try AttributeChange.decode(&r) else { throw DecodeError.badAttributes }
                body = .attributes(change)
            case .rename:
                guard let change = try RenameChange.decode(&r) else { throw DecodeError.badRename }
                body = .rename(change)
            }
            guard r.remaining == 0 else { throw DecodeError.trailingBytes(r.remaining) }
            if kind != .append && payloadLength != 0 { throw DecodeError.kindBodyMismatch }
            return Record(kind: kind, seq: seq, time: time,
                          writer: Provenance(uid: uid, gid: gid, pid: pid, commandBytes: command),
                          file: file, prevFileHash: prevFile, prevStoreHash: prevStore,
                          payloadLength: payloadLength, payloadDigest: digest, body: body)
        } catch is ByteReader.Short {
            throw .short
        } catch let e as DecodeError {
            throw e
        } catch {
            throw .short
        }
    }

    private static func same(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { a in
            for i in 0..<a.count where a[i] != b[i] { return false }
            return true
        }
    }

    /// The file id a record's creation gives its node (FORMAT.md "File ids").
    public static func fileID(createdBy seq: UInt64) -> UInt64 { seq + 1 }
}

/// Why a node left its name: the `reason` of a rename record (FORMAT.md
/// "Header"). Every reason but `rename` retires the node: its new path is
/// under /.audit/retired and it takes no record after it.
public enum RenameReason: UInt8, Sendable, CaseIterable, Codable {
    /// rename(2): a new name, outside /.audit.
    case rename = 1
    /// unlink(2) of a file.
    case unlink = 2
    /// rmdir(2) of an empty directory.
    case rmdir = 3
    /// A rename put another node at this one's name.
    case replaced = 4

    public var retires: Bool { self != .rename }

    /// How `auditfs log` names it.
    public var name: String {
        switch self {
        case .rename: "rename"
        case .unlink: "unlink"
        case .rmdir: "rmdir"
        case .replaced: "replaced"
        }
    }
}

/// The body of a rename record: the node's path before and after.
public struct RenameChange: Equatable, Sendable {
    public var reason: RenameReason
    public var from: String
    public var to: String

    public init(reason: RenameReason, from: String, to: String) {
        self.reason = reason; self.from = from; self.to = to
    }

    func encode(into w: inout ByteWriter) {
        w.u8(reason.rawValue); w.u8(0); w.u8(0); w.u8(0)
        let f = Array(from.utf8), t = Array(to.utf8)
        w.u16(UInt16(f.count)); w.raw(f)
        w.u16(UInt16(t.count)); w.raw(t)
    }

    /// nil when the reason is unknown, a reserved byte is set or a path is
    /// not a valid store path.
    static func decode(_ r: inout ByteReader) throws -> RenameChange? {
        guard let reason = RenameReason(rawValue: try r.u8()) else { return nil }
        guard try r.u8() == 0, try r.u8() == 0, try r.u8() == 0 else { return nil }
        func path() throws -> String? {
            let bytes = Array(try r.bytes(Int(try r.u16())))
            guard let p = String(validating: bytes, as: UTF8.self), StorePath.isValid(p) else { return nil }
            return p
        }
        guard let from = try path(), let to = try path() else { return nil }
        return RenameChange(reason: reason, from: from, to: to)
    }
}

/// A change of a node's attributes (chmod, chown, utimes). Only the fields
/// named in `mask` change; the others are stored as zero.
public struct AttributeChange: Equatable, Sendable {
    public struct Fields: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let mode = Fields(rawValue: 1 << 0)
        public static let owner = Fields(rawValue: 1 << 1)
        public static let group = Fields(rawValue: 1 << 2)
        public static let atime = Fields(rawValue: 1 << 3)
        public static let mtime = Fields(rawValue: 1 << 4)
        public static let all: Fields = [.mode, .owner, .group, .atime, .mtime]
    }

    public var fields: Fields
    public var mode: UInt32 = 0
    public var owner: UInt32 = 0
    public var group: UInt32 = 0
    public var atime: Int64 = 0
    public var mtime: Int64 = 0

    public init(fields: Fields = [], mode: UInt32 = 0, owner: UInt32 = 0, group: UInt32 = 0, atime: Int64 = 0, mtime: Int64 = 0) {
        self.fields = fields
        self.mode = fields.contains(.mode) ? mode : 0
        self.owner = fields.contains(.owner) ? owner : 0
        self.group = fields.contains(.group) ? group : 0
        self.atime = fields.contains(.atime) ? atime : 0
        self.mtime = fields.contains(.mtime) ? mtime : 0
    }

    func encode(into w: inout ByteWriter) {
        w.u8(fields.rawValue); w.u8(0); w.u8(0); w.u8(0)
        w.u32(mode); w.u32(owner); w.u32(group); w.i64(atime); w.i64(mtime)
    }

    static func decode(_ r: inout ByteReader) throws -> AttributeChange? {
        let raw = try r.u8()
        guard try r.u8() == 0, try r.u8() == 0, try r.u8() == 0 else { return nil }
        let fields = Fields(rawValue: raw)
        guard fields.isSubset(of: .all), !fields.isEmpty else { return nil }
        let mode = try r.u32(), owner = try r.u32(), group = try r.u32()
        let atime = try r.i64(), mtime = try r.i64()
        let c = AttributeChange(fields: fields, mode: mode, owner: owner, group: group, atime: atime, mtime: mtime)
        // Fields not named in the mask must be stored as zero.
        guard c.mode == mode, c.owner == owner, c.group == group, c.atime == atime, c.mtime == mtime else { return nil }
        return c.mode <= 0o7777 ? c : nil
    }
}
