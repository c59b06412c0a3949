import AuditPlumbing
import Glibc

/// Errors of opening and using a store. Each prints as one line that names
/// the problem and where it is.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case permissionDenied(String)
    case notAStore(String)
    /// The identity file is there but is not `auditfs-store v1` and an id.
    case badIdentity(String)
    case unsupportedVersion(String, found: String)
    case notEmpty(String)
    case notWritable(String)
    case busy(String)
    case damaged(Finding)
    case readOnly
    case invalidPath(String)
    case exists(String)
    case noSuchFile(String)
    case notADirectory(String)
    case isADirectory(String)
    case notAtEnd(path: String, size: UInt64, offset: UInt64)
    /// rmdir of a directory with entries, or a rename onto one (ENOTEMPTY).
    case directoryNotEmpty(String)
    /// A rename the namespace cannot take: a directory into itself or
    /// below, the root, anything in the audit namespace (EINVAL).
    case invalidMove(String)
    /// The file or directory was retired (unlinked, removed, replaced by a
    /// rename): it takes no record any more (EPERM).
    case retired(String)
    /// A rename or removal asked of a store whose format version has no
    /// rename record (v1).
    case formatTooOld(String, version: UInt32)
    case tooLarge(Int)
    /// A write outside the audit namespace would take the space held back
    /// for it (`Options.reserve`). A file system that is itself full is
    /// `.system` with ENOSPC or EDQUOT.
    case noSpace(String)
    /// A system call under the store failed: its errno (ENOSPC, EDQUOT,
    /// EROFS, EIO, ...) and its cause, the call and the path.
    case system(SystemError)
    /// A failure of the store itself (no system call to blame).
    case io(String)

    public var description: String {
        switch self {
        case let .missing(p): "store '\(p)' does not exist"
        case let .permissionDenied(p): "store '\(p)': permission denied"
        case let .notAStore(p): "'\(p)' is not an auditfs store (no \(Format.identityFile) file)"
        case let .badIdentity(p): "'\(p)/\(Format.identityFile)' is not an auditfs store identity file (expected '\(Format.identityMagic) v\(Format.version)' and an id line)"
        case let .unsupportedVersion(p, found): "store '\(p)': unknown store format version '\(found)' (this auditfs reads v\(Format.readableVersions.lowerBound) to v\(Format.readableVersions.upperBound))"
        case let .notEmpty(p): "'\(p)' is not empty; a new store needs an empty or missing directory"
        case let .notWritable(p): "store '\(p)' is not writable by this user"
        case let .busy(p): "store '\(p)' is open for writing by another process"
        case let .damaged(f): "store failed its integrity check: \(f)"
        case .readOnly: "store is open read-only"
        case let .invalidPath(m): m
        case let .exists(p): "'\(p)' already exists"
        case let .noSuchFile(p): "'\(p)' does not exist in the store"
        case let .notADirectory(p): "'\(p)' is not a directory"
        case let .isADirectory(p): "'\(p)' is a directory"
        case let .notAtEnd(p, size, offset): "'\(p)': write at offset \(offset) refused, the file ends at \(size) (append-only)"
        case let .directoryNotEmpty(p): "'\(p)' is a directory that is not empty"
        case let .invalidMove(m): m
        case let .retired(p): "'\(p)' was retired: it takes no more records"
        case let .formatTooOld(p, v): "store '\(p)' is format v\(v), which records no renames; renames and removals need a store of format v\(Format.renameVersion) (made by this auditfs)"
        case let .tooLarge(n): "a block of \(n) bytes is larger than the \(Format.maxPayloadSize)-byte limit"
        case let .noSpace(m): m
        case let .system(e): e.description
        case let .io(m): m
        }
    }

    /// The errno of the failed system call, when this is one.
    public var systemErrno: Int32? { if case let .system(e) = self { e.errno } else { nil } }

    /// Out of space: the file system is full (ENOSPC) or the writer's quota
    /// is (EDQUOT), or the record would take the reserve (`noSpace`).
    public var isOutOfSpace: Bool {
        switch self {
        case .noSpace: true
        case let .system(e): e.errno == ENOSPC || e.errno == EDQUOT
        default: false
        }
    }

    /// Maps any error from below the store to a `StoreError`.
    static func wrap(_ e: any Error) -> StoreError {
        if let s = e as? StoreError { return s }
        if let s = e as? SystemError { return .system(s) }
        return .io("\(e)")
    }
}

/// An integrity finding: where in which segment, which record, which check,
/// and the expected and found values.
public struct Finding: Equatable, Sendable, CustomStringConvertible, Codable {
    public var segment: String
    public var offset: UInt64
    public var seq: UInt64?
    public var check: CheckName
    public var expected: String
    public var found: String

    public init(segment: String, offset: UInt64, seq: UInt64?, check: CheckName, expected: String, found: String) {
        self.segment = segment; self.offset = offset; self.seq = seq; self.check = check
        self.expected = expected; self.found = found
    }

    public var description: String {
        let record = seq.map { "record \($0)" } ?? "no record"
        return "\(segment) offset \(offset) (\(record)): \(check) failed: expected \(expected), found \(found)"
    }
}
