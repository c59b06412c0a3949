import AuditPlumbing
import Foundation

/// One record's inclusion in a checkpoint as C2SP tlog-proof
/// (https://c2sp.org/tlog-proof, FORMAT.md "tlog-proof"):
///
///     c2sp.org/tlog-proof@v1
///     extra <base64 of the record's header>
///     index <the record's sequence number>
///     <base64 hash>                    the RFC 6962 inclusion proof, leaf's sibling first
///     …
///     <empty line>
///     <the checkpoint note, verbatim>
///
/// The extra data is what a verifier needs to rebuild the leaf: the entry
/// (FORMAT.md "Tiles") is SHA-256 of the header, the leaf SHA-256(0x00 ||
/// entry); the header holds the payload's digest, its writer and time. As
/// the spec says, extra data is not authenticated by itself: only the leaf it
/// hashes to, through the proof and the signed root.
public struct TlogProof: Sendable, Equatable {
    public static let firstLine = "c2sp.org/tlog-proof@v1"

    public var header: [UInt8]
    public var index: UInt64
    public var proof: [Hash]
    /// The checkpoint note, verbatim (signatures and cosignatures included).
    public var checkpoint: String

    public init(header: [UInt8], index: UInt64, proof: [Hash], checkpoint: String) {
        self.header = header; self.index = index; self.proof = proof; self.checkpoint = checkpoint
    }

    /// The proof's text.
    public var text: String {
        var lines = [Self.firstLine, "extra " + Data(header).base64EncodedString(), "index \(index)"]
        lines += proof.map { Data($0.bytes).base64EncodedString() }
        return lines.joined(separator: "\n") + "\n\n" + checkpoint
    }

    /// The record's leaf hash: SHA-256(0x00 || SHA-256(header)).
    public var leafHash: Hash { MerkleTree.leafHash(Hash.sha256(header)) }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Parses a proof strictly: the first line exactly, `extra` (required
    /// here: auditfs's leaf needs it) in canonical base64, `index` in decimal
    /// without leading zeros, hash lines of canonical base64 of 32 bytes,
    /// one empty line, then the checkpoint (parsed by `SignedNote` later).
    public static func parse(_ text: String) throws(Invalid) -> TlogProof {
        guard text.utf8.count <= 1 << 20 else { throw Invalid(description: "longer than 1 MiB") }
        let parts = text.split(separator: "\n", maxSplits: Int.max, omittingEmptySubsequences: false)
        guard parts.count >= 5, parts[0] == Self.firstLine else { throw Invalid(description: "the first line is not \(Self.firstLine)") }
        guard parts[1].hasPrefix("extra "), let header = canonical(parts[1].dropFirst(6)), !header.isEmpty else {
            throw Invalid(description: "no 'extra' line with the record's header in canonical base64")
        }
        guard parts[2].hasPrefix("index ") else { throw Invalid(description: "no 'index' line") }
        let digits = parts[2].dropFirst(6)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              digits == "0" || !digits.hasPrefix("0"), let index = UInt64(digits) else {
            throw Invalid(description: "index '\(digits)' is not a decimal without leading zeros")
        }
        var proof: [Hash] = []
        var i = 3
        while i < parts.count, !parts[i].isEmpty {
            guard proof.count < 64, let bytes = canonical(parts[i]), bytes.count == 32 else {
                throw Invalid(description: "proof line \(proof.count + 1) is not a canonical base64 SHA-256 hash")
            }
            proof.append(bytes.withUnsafeBytes { Hash(bytes: $0) })
            i += 1
        }
        guard i + 1 < parts.count else { throw Invalid(description: "no checkpoint after the proof") }
        let checkpoint = parts[(i + 1)...].joined(separator: "\n")
        return TlogProof(header: header, index: index, proof: proof, checkpoint: checkpoint)
    }

    /// Base64 with one spelling only: decodes, and encodes back to the same text.
    static func canonical(_ text: Substring) -> [UInt8]? {
        guard let data = Data(base64Encoded: String(text)), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }

    /// The proofs of every record of a bundle, in its order.
    public static func proofs(of bundle: ProofBundle) throws(Invalid) -> [TlogProof] {
        try bundle.records.map { (r) throws(Invalid) -> TlogProof in
            guard let header = Data(base64Encoded: r.header) else { throw Invalid(description: "record \(r.seq): bad base64") }
            var hashes: [Hash] = []
            for h in r.inclusion {
                guard let b = Data(base64Encoded: h), b.count == 32 else { throw Invalid(description: "record \(r.seq): bad proof hash") }
                hashes.append(Array(b).withUnsafeBytes { Hash(bytes: $0) })
            }
            return TlogProof(header: Array(header), index: r.seq, proof: hashes, checkpoint: bundle.checkpoint)
        }
    }
}
