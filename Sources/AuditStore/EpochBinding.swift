import AuditPlumbing

/// The rule that binds a checkpoint to the epoch of the key that signed it
/// (FORMAT.md "Signed notes in /.audit"), shared by `verify --key` and `verify-bundle`:
///
/// - `checkpoint-window`: the key has a signed window — the root key
///   (epoch 0) and a key certified by a v1 certificate sign no checkpoint —
///   and the checkpoint's time lies in it: not-before ≤ time ≤ not-after;
/// - `checkpoint-epoch`: its size is at least the tree size at which the
///   key's epoch was certified, and no more than the size at which the next
///   epoch was, when the verifier knows that certificate;
/// - `checkpoint-time`: it is dated (has a `time` line: C2SP makes
///   extension lines optional, but a checkpoint without a time cannot be
///   placed in a window, so auditfs does not take it as signed) and no
///   earlier than the newest record it covers that the verifier sees.
///
/// So a key copied during its epoch, long erased on the host, signs nothing
/// dated after its not-after, and so no record written after that.
public enum EpochBinding {
    /// Which part of the rule a checkpoint breaks, with the values compared.
    public enum Violation: Error, Equatable, Sendable, CustomStringConvertible {
        /// Signed by the root key (epoch 0), which signs no checkpoint.
        case rootKey
        /// Signed by a key whose v1 certificate gives it no window.
        case noWindow(epoch: Int)
        /// At a size before the key's epoch began (`epochBegan`: its certificate's size).
        case beforeEpoch(epoch: Int, size: UInt64, epochBegan: UInt64)
        /// At a size after the next epoch began (`nextBegan`: the next certificate's size).
        case afterEpoch(epoch: Int, size: UInt64, nextBegan: UInt64)
        /// Dated outside the key's window [notBefore, notAfter].
        case outsideWindow(epoch: Int, time: Int64, notBefore: Int64, notAfter: Int64)
        /// Dated before the newest record it covers.
        case beforeRecord(time: Int64, newestRecord: Int64)
        /// Not dated at all (no `time` extension line).
        case noTime

        public var check: CheckName {
            switch self {
            case .rootKey, .noWindow, .outsideWindow: .checkpointWindow
            case .beforeEpoch, .afterEpoch: .checkpointEpoch
            case .beforeRecord, .noTime: .checkpointTime
            }
        }

        public var message: String {
            switch self {
            case .rootKey: "signed by the root key (epoch 0), which only certifies epoch 1"
            case let .noWindow(epoch): "signed by epoch \(epoch)'s key, whose v1 certificate gives it no window to sign checkpoints in"
            case let .beforeEpoch(epoch, size, began):
                "signed by epoch \(epoch)'s key at size \(size), but that epoch began at size \(began): re-signed history"
            case let .afterEpoch(epoch, size, next):
                "signed by epoch \(epoch)'s key at size \(size), after epoch \(epoch + 1) began at size \(next): a key used after its epoch"
            case let .outsideWindow(epoch, time, notBefore, notAfter):
                "dated \(Timestamps.rfc3339(time)), outside epoch \(epoch)'s window [\(Timestamps.rfc3339(notBefore)), \(Timestamps.rfc3339(notAfter))]: a key used outside its epoch"
            case .noTime: "has no time line: it cannot be placed in its key's window"
            case let .beforeRecord(time, newest):
                "dated \(Timestamps.rfc3339(time)), before a record it covers (\(Timestamps.rfc3339(newest))): signed before its records were written"
            }
        }

        public var description: String { "\(check): \(message)" }
    }

    /// nil when key `epoch` (certified by `certificate`; nil for the root
    /// key) may have signed `checkpoint`. `nextCertifiedAt`: the tree size in
    /// epoch `epoch + 1`'s certificate, if the verifier has it.
    /// `newestRecord`: the latest time of the records the checkpoint covers
    /// that the verifier sees.
    public static func violation(of checkpoint: Checkpoint, epoch: Int, certificate: KeyCertificate?,
                                 nextCertifiedAt: UInt64?, newestRecord: Int64?) -> Violation? {
        guard let certificate else { return .rootKey }
        guard let notAfter = certificate.notAfter else { return .noWindow(epoch: epoch) }
        if checkpoint.size < certificate.size {
            return .beforeEpoch(epoch: epoch, size: checkpoint.size, epochBegan: certificate.size)
        }
        if let next = nextCertifiedAt, checkpoint.size > next {
            return .afterEpoch(epoch: epoch, size: checkpoint.size, nextBegan: next)
        }
        guard let time = checkpoint.time else { return .noTime }
        if !certificate.covers(time: time) {
            return .outsideWindow(epoch: epoch, time: time, notBefore: certificate.notBefore, notAfter: notAfter)
        }
        return timeViolation(of: checkpoint, newestRecord: newestRecord)
    }

    /// The `checkpoint-time` rule alone.
    public static func timeViolation(of checkpoint: Checkpoint, newestRecord: Int64?) -> Violation? {
        guard let time = checkpoint.time else { return .noTime }
        guard let newestRecord, time < newestRecord else { return nil }
        return .beforeRecord(time: time, newestRecord: newestRecord)
    }
}
