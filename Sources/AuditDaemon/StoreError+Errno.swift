import AuditStore
#if canImport(Glibc)
import Glibc
#endif

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
        case .notEmpty: ENOTEMPTY
        case .notWritable, .permissionDenied: EACCES
        /// A full disk, or the space held back for the audit records.
        case .noSpace: ENOSPC
        /// Failures of the store itself: the caller sees an I/O error, the
        /// daemon's log says which.
        case .missing, .notAStore, .badIdentity, .unsupportedVersion, .busy, .damaged, .io: EIO
        }
    }

    /// Whether the daemon should log this error (store failures, not refusals).
    var isFailure: Bool { errno == EIO }
}
