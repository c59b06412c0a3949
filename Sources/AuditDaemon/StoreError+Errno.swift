import AuditStore
import Glibc

/// The one place a store error becomes the errno a FUSE caller sees.
extension StoreError {
    var errno: Int32 {
        switch self {
        /// A write away from the end of a file: the append-only refusal.
        case .notAtEnd: EPERM
        case .exists: EEXIST
        case .noSuchFile: ENOENT
        case .notADirectory: ENOTDIR
        case .isADirectory: EISDIR
        case .invalidPath: EINVAL
        case .tooLarge: EFBIG
        case .readOnly: EROFS
        case .notEmpty, .directoryNotEmpty: ENOTEMPTY
        case .invalidMove: EINVAL
        /// A retired file (unlinked, removed or replaced in history mode) takes no more writes.
        case .retired: EPERM
        case .formatTooOld: EPERM
        case .notWritable, .permissionDenied: EACCES
        /// The space held back for the audit records.
        case .noSpace: ENOSPC
        /// A failed system call keeps its errno when it tells the writer
        /// what happened to the disk (full, over quota, read-only, too large,
        /// failing); any other errno is the store's own failure.
        case let .system(e): [ENOSPC, EDQUOT, EROFS, EFBIG, EIO].contains(e.errno) ? e.errno : EIO
        /// Failures of the store itself: the caller sees an I/O error, the
        /// daemon's log says which.
        case .missing, .notAStore, .badIdentity, .unsupportedVersion, .busy, .damaged, .io: EIO
        }
    }

    /// Whether the daemon should log this error (store failures, not
    /// refusals; a full disk is the writer's to see, not a failure).
    var isFailure: Bool {
        if case .system = self { return !isOutOfSpace }
        return errno == EIO
    }
}
