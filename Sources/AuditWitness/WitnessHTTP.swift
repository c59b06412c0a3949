import AuditPlumbing
import AuditStore
import Foundation

/// A C2SP tlog-witness (https://c2sp.org/tlog-witness) over HTTP
/// (`--witness-url URL`): each checkpoint is POSTed to `URL/add-checkpoint`
/// with the old size this witness last cosigned and the RFC 6962
/// consistency proof from it (`AddCheckpoint`); the cosignature lines it
/// answers go to `keep` with the note (the mount and `auditfs checkpoint`
/// append them to /.audit/cosignatures).
///
/// The witness's size is remembered in memory, from 0 at start. A 409
/// answer (text/x.tlog.size: the witness has another size — it cosigned
/// this log before this process started, or lost its state) is retried
/// once with that size and its proof. A 422 (the proof did not verify),
/// any other status, an answer that does not parse, and a transport error
/// are failures; no answer within `timeout` seconds is a time-out. The
/// witness is outside input: its answer is bounded (`AddCheckpoint.maxAnswer`)
/// and parsed strictly. One instance is used by one queue thread at a time.
public final class WitnessHTTP: Witness, @unchecked Sendable {
    public let url: URL
    public let timeout: Double
    /// RFC 6962 consistency proof from size old to new of the log.
    let proof: @Sendable (_ old: UInt64, _ new: UInt64) throws -> [Hash]
    /// Takes a cosigned note (the checkpoint with the witness's lines).
    let keep: @Sendable (_ cosigned: String, _ size: UInt64) -> Void
    private let lock = NSLock()
    private var cosignedSize: UInt64 = 0   // guarded by `lock`

    public init(_ url: URL, timeout: Double = 10, proof: @escaping @Sendable (UInt64, UInt64) throws -> [Hash],
                keep: @escaping @Sendable (String, UInt64) -> Void) {
        self.url = url
        self.timeout = timeout
        self.proof = proof
        self.keep = keep
    }

    /// A witness URL from the command line: http or https, with a host.
    public static func parse(_ text: String) -> URL? {
        guard let u = URL(string: text), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty, u.query == nil, u.fragment == nil else { return nil }
        return u
    }

    public var name: String { "witness \(url.absoluteString)" }

    /// The size this witness last cosigned, as far as this process knows.
    public var size: UInt64 { lock.lock(); defer { lock.unlock() }; return cosignedSize }

    var endpoint: URL { url.appendingPathComponent("add-checkpoint") }

    public func deliver(_ checkpoint: String, cancelled: @escaping @Sendable () -> Bool) -> WitnessOutcome {
        let c: Checkpoint
        do { c = try Checkpoint.parse(SignedNote.parse(checkpoint).text) } catch {
            return .failed("\(name): not a signed checkpoint: \(error)")
        }
        var old = size
        for attempt in 0..<2 {
            if old > c.size { return .failed("\(name) has cosigned size \(old), more than this checkpoint's \(c.size): a fork or a store rolled back?") }
            let hashes: [Hash]
            do { hashes = old == 0 || old == c.size ? [] : try proof(old, c.size) } catch {
                return .failed("\(name): no consistency proof from \(old) to \(c.size): \(error)")
            }
            let body: [UInt8]
            do { body = try AddCheckpoint.body(old: old, proof: hashes, note: checkpoint) } catch { return .failed("\(name): \(error)") }
            let answer: HTTPPost.Answer
            switch HTTPPost.post(endpoint, body: body, timeout: timeout, maxBody: AddCheckpoint.maxAnswer, cancelled: cancelled) {
            case let .success(a): answer = a
            case let .failure(.timedOut(s)): return .timedOut("\(name) gave no answer within \(Self.seconds(s)) s")
            case .failure(.cancelled): return .timedOut("\(name) still had not answered at unmount")
            case let .failure(f): return .failed("\(name): \(f)")
            }
            switch answer.status {
            case 200:
                do {
                    let (note, _) = try AddCheckpoint.cosigned(checkpoint, answer: answer.body)
                    lock.lock(); cosignedSize = c.size; lock.unlock()
                    keep(note, c.size)
                    return .delivered
                } catch {
                    return .failed("\(name) answered 200 without cosignatures: \(error)")
                }
            case 409 where attempt == 0:
                // Its size differs from what this process remembered (or the
                // roots differ at the same size). Its type says which.
                guard answer.contentType?.lowercased().hasPrefix(AddCheckpoint.sizeType) == true,
                      let theirs = try? AddCheckpoint.size(in: answer.body) else {
                    return .failed("\(name) answered 409 (conflict) without its size: the same size with another root?")
                }
                if theirs == old { return .failed("\(name) answered 409 at its own size \(old): another root at that size (a fork?)") }
                old = theirs
                lock.lock(); cosignedSize = theirs; lock.unlock()
            case 409:
                return .failed("\(name) answered 409 (conflict) twice: last at old size \(old)")
            case 422:
                return .failed("\(name) answered 422: the consistency proof from \(old) to \(c.size) did not verify (a fork?)")
            default:
                let first = String(decoding: answer.body.prefix(120), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
                return .failed("\(name) answered HTTP \(answer.status)\(first.isEmpty ? "" : ": " + TerminalText.escape(first))")
            }
        }
        return .failed("\(name): no answer taken")
    }

    private static func seconds(_ t: Double) -> String { t == t.rounded() ? String(Int(t)) : String(t) }
}
