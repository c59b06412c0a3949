import AuditPlumbing
import AuditStore

/// The text of C2SP tlog-witness's `add-checkpoint` call
/// (https://c2sp.org/tlog-witness), both ways, with nothing else in it so
/// it can be tested without HTTP:
///
///   request body  := "old " decimal(old size) "\n" (base64(hash) "\n"){0,63} "\n" checkpoint note
///   200 body      := signature line{1,}          ("— " name " " base64 "\n": cosignatures)
///   409 body      := decimal(the witness's size) "\n"   (Content-Type text/x.tlog.size)
///
/// An answer is outside input: sizes are bounded, lines parsed strictly.
public enum AddCheckpoint {
    /// The most consistency proof lines a request may carry (the spec's bound).
    public static let maxProofLines = 63
    /// The most cosignature lines taken from one answer.
    public static let maxCosignatures = 16
    /// The largest answer body read (bytes).
    public static let maxAnswer = 16 * 1024
    /// The Content-Type of a 409 answer.
    public static let sizeType = "text/x.tlog.size"

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The request body for `note` (a signed checkpoint) with the RFC 6962
    /// consistency proof from `old` (empty when old is 0 or the note's size).
    public static func body(old: UInt64, proof: [Hash], note: String) throws(Invalid) -> [UInt8] {
        guard proof.count <= maxProofLines else { throw Invalid(reason: "a consistency proof of \(proof.count) hashes (at most \(maxProofLines))") }
        var text = "old \(old)\n"
        for h in proof { text += Base64.encode(h.bytes) + "\n" }
        return Array((text + "\n" + note).utf8)
    }

    /// The witness's size in a 409 answer: a decimal without leading zeros
    /// and a newline, nothing else.
    public static func size(in body: [UInt8]) throws(Invalid) -> UInt64 {
        guard body.count <= 24, body.last == 0x0A else { throw Invalid(reason: "a 409 answer is a size and a newline") }
        let digits = body.dropLast()
        guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }), digits.first != 0x30 || digits.count == 1,
              let n = UInt64(String(decoding: digits, as: UTF8.self)) else {
            throw Invalid(reason: "a 409 answer is a size and a newline")
        }
        return n
    }

    /// The cosignature lines of a 200 answer to `note`: one or more
    /// signature lines, each a well-formed signed-note signature when added
    /// to the note. Returns the note with them added (a signed note whose
    /// cosignatures `Cosignature.verify` checks against a witness key).
    public static func cosigned(_ note: String, answer body: [UInt8]) throws(Invalid) -> (note: String, lines: [String]) {
        guard body.count <= maxAnswer else { throw Invalid(reason: "an answer of more than \(maxAnswer) bytes") }
        guard let text = String(validating: body, as: UTF8.self), text.hasSuffix("\n") else {
            throw Invalid(reason: "an answer is UTF-8 lines, each ending in a newline")
        }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map { String($0) + "\n" }
        guard !lines.isEmpty, lines.count <= maxCosignatures else {
            throw Invalid(reason: "an answer holds 1 to \(maxCosignatures) cosignature lines, not \(lines.count)")
        }
        for line in lines where !line.hasPrefix(SignedNote.emDash + " ") {
            throw Invalid(reason: "an answer line is not a signature line: '\(TerminalText.escape(String(line.prefix(80))))'")
        }
        // The note with them must still be one signed note (names, canonical base64, no repeats).
        let all = note + lines.joined()
        do { _ = try SignedNote.parse(all) } catch { throw Invalid(reason: "the answer's signature lines: \(error)") }
        return (all, lines)
    }
}
