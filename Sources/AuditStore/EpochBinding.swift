/// The rule that binds a checkpoint to the epoch of the key that signed it
/// (FORMAT.md "Signed notes in /.audit"), shared by `verify --key` and `verify-bundle`:
///
/// - `checkpoint-window`: the key has a signed window — the root key
///   (epoch 0) and a key certified by a v1 certificate sign no checkpoint —
///   and the checkpoint's time lies in it: not-before ≤ time ≤ not-after;
/// - `checkpoint-epoch`: its size is at least the tree size at which the
///   key's epoch was certified, and no more than the size at which the next
///   epoch was, when the verifier knows that certificate;
/// - `checkpoint-time`: it is dated no earlier than the newest record it
///   covers that the verifier sees.
///
/// So a key copied during its epoch, long erased on the host, signs nothing
/// dated after its not-after, and so no record written after that.
public enum EpochBinding {
    public struct Violation: Error, Equatable, Sendable, CustomStringConvertible {
        public let check: CheckName
        public let message: String
        public var description: String { "\(check): \(message)" }
    }

    /// nil when key `epoch` (certified by `certificate`; nil for the root
    /// key) may have signed `checkpoint`. `nextCertifiedAt`: the tree size in
    /// epoch `epoch + 1`'s certificate, if the verifier has it.
    /// `newestRecord`: the latest time of the records the checkpoint covers
    /// that the verifier sees.
    public static func violation(of checkpoint: Checkpoint, epoch: Int, certificate: KeyCertificate?,
                                 nextCertifiedAt: UInt64?, newestRecord: Int64?) -> Violation? {
        guard let certificate else {
            return Violation(check: .checkpointWindow, message: "signed by the root key (epoch 0), which only certifies epoch 1")
        }
        guard certificate.notAfter != nil else {
            return Violation(check: .checkpointWindow,
                             message: "signed by epoch \(epoch)'s key, whose v1 certificate gives it no window to sign checkpoints in")
        }
        if checkpoint.size < certificate.size {
            return Violation(check: .checkpointEpoch,
                             message: "signed by epoch \(epoch)'s key at size \(checkpoint.size), but that epoch began at size \(certificate.size): re-signed history")
        }
        if let next = nextCertifiedAt, checkpoint.size > next {
            return Violation(check: .checkpointEpoch,
                             message: "signed by epoch \(epoch)'s key at size \(checkpoint.size), after epoch \(epoch + 1) began at size \(next): a key used after its epoch")
        }
        if !certificate.covers(time: checkpoint.time) {
            return Violation(check: .checkpointWindow,
                             message: "dated \(Timestamps.rfc3339(checkpoint.time)), outside epoch \(epoch)'s window \(certificate.windowText): a key used outside its epoch")
        }
        return timeViolation(of: checkpoint, newestRecord: newestRecord)
    }

    /// The `checkpoint-time` rule alone.
    public static func timeViolation(of checkpoint: Checkpoint, newestRecord: Int64?) -> Violation? {
        guard let newestRecord, checkpoint.time < newestRecord else { return nil }
        return Violation(check: .checkpointTime,
                         message: "dated \(Timestamps.rfc3339(checkpoint.time)), before a record it covers (\(Timestamps.rfc3339(newestRecord))): signed before its records were written")
    }
}
