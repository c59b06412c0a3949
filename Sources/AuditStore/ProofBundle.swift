import Foundation

/// A self-contained proof of a file's bytes for an auditor
/// (`auditfs prove` / `auditfs verify-bundle`; FORMAT.md "Proof bundle").
/// It holds the file's creating record and the append records covering the
/// byte range (headers and payloads), an RFC 9162 inclusion proof of each in
/// a signed checkpoint, the checkpoint, and the key certificates leading from
/// the verifier key to the checkpoint's key — with a consistency proof from
/// each certified tree head to the checkpoint. Nothing else is needed to
/// check it: not the store, not the host.
public struct ProofBundle: Codable, Sendable {
    public static let format = "auditfs-bundle/v1"

    public struct Entry: Codable, Sendable {
        public var seq: UInt64
        public var header: String      // base64
        public var payload: String     // base64 (empty for the create record)
        public var inclusion: [String] // base64 hashes
    }

    public struct Certificate: Codable, Sendable {
        public var note: String
        /// Consistency proof from the certified tree head to the checkpoint.
        public var consistency: [String]
    }

    public var format: String
    public var path: String
    public var start: UInt64
    public var end: UInt64
    public var checkpoint: String
    public var certificates: [Certificate]
    public var records: [Entry]

    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    static func b64(_ h: Hash) -> String { Data(h.bytes).base64EncodedString() }
    static func hash(_ s: String) throws -> Hash {
        guard let d = Data(base64Encoded: s), d.count == 32 else { throw Failure(reason: "bad hash in bundle") }
        return Array(d).withUnsafeBytes { Hash(bytes: $0) }
    }

    /// Builds the bundle for bytes [start, end) of `path` from an open store,
    /// against the newest stored checkpoint that covers the records needed.
    public static func make(store: Store, path: String, start: UInt64?, end: UInt64?) throws -> ProofBundle {
        guard let node = store.lookup(path) else { throw Failure(reason: "'\(path)' does not exist in the store") }
        guard !node.isDirectory else { throw Failure(reason: "'\(path)' is a directory") }
        let a = start ?? 0, b = end ?? node.size
        guard a <= b, b <= node.size else { throw Failure(reason: "range \(a):\(b) is outside the file (size \(node.size))") }
        var seqs: [UInt64] = [node.id - 1]
        for block in store.blockRefs(of: node.id) where block.fileOffset < b && block.fileOffset + UInt64(block.length) > a {
            seqs.append(block.seq)
        }
        let needed = seqs.max()! + 1
        let notes = try store.blocks(of: AuditPaths.checkpoints).map { String(decoding: $0, as: UTF8.self) }
        guard let checkpoint = notes.last(where: { note in
            (try? Checkpoint.parse(SignedNote.parse(note).text).size).map { $0 >= needed } ?? false
        }) else {
            throw Failure(reason: "no stored checkpoint covers record \(needed - 1) yet; issue one (auditfs checkpoint, or wait for the mount's next)")
        }
        let c = try Checkpoint.parse(SignedNote.parse(checkpoint).text)
        var certs: [Certificate] = []
        var e = 1
        while let bytes = try store.blocks(of: AuditPaths.certificate(epoch: e)).first {
            let note = String(decoding: bytes, as: UTF8.self)
            let text = try SignedNote.parse(note).text
            let tree = text.split(separator: "\n").first { $0.hasPrefix("tree ") }?.split(separator: " ")
            guard let tree, tree.count == 3, let size = UInt64(tree[1]) else {
                throw Failure(reason: "\(AuditPaths.certificate(epoch: e)) is not a key certificate")
            }
            guard size <= c.size else { break }   // certified after this checkpoint
            certs.append(Certificate(note: note, consistency: try store.consistencyProof(old: size, new: c.size).map(b64)))
            e += 1
        }
        var entries: [Entry] = []
        for seq in seqs {
            let r = try store.record(seq)
            entries.append(Entry(seq: seq, header: Data(r.header).base64EncodedString(), payload: Data(r.payload).base64EncodedString(),
                                 inclusion: try store.inclusionProof(seq: seq, size: c.size).map(b64)))
        }
        return ProofBundle(format: format, path: path, start: a, end: b, checkpoint: checkpoint, certificates: certs, records: entries)
    }

    /// What a verified bundle proves.
    public struct Proven: Sendable {
        public var path: String
        public var start: UInt64
        public var end: UInt64
        public var bytes: [UInt8]
        public var writers: [(seq: UInt64, time: Int64, uid: UInt32, gid: UInt32, pid: UInt32, command: String, offset: UInt64, length: UInt64)]
        public var checkpoint: Checkpoint
        public var epoch: Int
    }

    /// Checks everything in the bundle against `verifier` (epoch 0's key).
    public func verify(with verifier: SignedNote.Verifier) throws -> Proven {
        guard format == Self.format else { throw Failure(reason: "not an \(Self.format) bundle") }
        // The key chain, and the checkpoint's key.
        let (text, _) = try SignedNote.parse(checkpoint)
        let c = try Checkpoint.parse(text)
        guard start <= end else { throw Failure(reason: "the range \(start):\(end) ends before it starts") }
        var keys: [(key: SignedNote.Verifier, certificate: KeyCertificate?)] = [(verifier, nil)]
        for (i, cert) in certificates.enumerated() {
            let k: KeyCertificate
            do { k = try KeyCertificate.open(cert.note, signedBy: keys.last!.key) } catch {
                throw Failure(reason: "key certificate \(i + 1): \(error)")
            }
            guard k.epoch == i + 1, k.origin == c.origin else { throw Failure(reason: "key certificate \(i + 1) is for epoch \(k.epoch) of \(k.origin)") }
            guard k.size <= c.size else { throw Failure(reason: "key certificate \(i + 1) is newer than the checkpoint") }
            do {
                try MerkleProof.verifyConsistency(old: k.size, new: c.size, root1: k.root, root2: c.root,
                                                  proof: try cert.consistency.map(Self.hash))
            } catch {
                throw Failure(reason: "the checkpoint does not extend the tree certified for epoch \(i + 1): \(error)")
            }
            keys.append((k.key, k))
        }
        guard let signing = keys.lastIndex(where: { (try? SignedNote.open(checkpoint, by: $0.key)) != nil }) else {
            throw Failure(reason: "the checkpoint is not signed by the verifier key or a key it certifies")
        }
        let nextCertifiedAt = signing + 1 < keys.count ? keys[signing + 1].certificate?.size : nil
        // The records, each included in the checkpoint's tree.
        guard let first = records.first else { throw Failure(reason: "the bundle holds no records") }
        var decoded: [(Record, [UInt8])] = []
        for e in records {
            guard let header = Data(base64Encoded: e.header), let payload = Data(base64Encoded: e.payload) else {
                throw Failure(reason: "record \(e.seq): bad base64")
            }
            let h = Array(header)
            let record = try h.withUnsafeBytes { try Record.decodeHeader($0) }
            guard record.seq == e.seq, record.seq < c.size else { throw Failure(reason: "record \(e.seq) is not in the checkpoint") }
            let hash = Hash.sha256(h)
            do {
                try MerkleProof.verifyInclusion(index: e.seq, size: c.size, leafHash: MerkleTree.leafHash(hash),
                                                proof: try e.inclusion.map(Self.hash), root: c.root)
            } catch { throw Failure(reason: "record \(e.seq): \(error)") }
            guard Hash.sha256(Array(payload)) == record.payloadDigest, UInt64(payload.count) == record.payloadLength else {
                throw Failure(reason: "record \(e.seq): the payload does not match its digest")
            }
            decoded.append((record, Array(payload)))
        }
        // The checkpoint lies in its key's epoch, and after every record it proves.
        if let v = EpochBinding.violation(of: c, epoch: signing, certificate: keys[signing].certificate,
                                          nextCertifiedAt: nextCertifiedAt, newestRecord: decoded.map(\.0.time).max()) {
            throw Failure(reason: v.description)
        }
        // The first record creates the file; the others append to it, contiguously.
        guard case let .create(p, _, _, _) = decoded[0].0.body, decoded[0].0.kind == .file, p.sameBytes(as: path), first.seq == decoded[0].0.seq else {
            throw Failure(reason: "the first record does not create \(path)")
        }
        let file = Record.fileID(createdBy: first.seq)
        var bytes: [UInt8] = []
        var writers: Proven = Proven(path: path, start: start, end: end, bytes: [], writers: [], checkpoint: c, epoch: signing)
        var expected: UInt64?
        for (record, payload) in decoded.dropFirst() {
            guard record.file == file, case let .append(offset) = record.body else { throw Failure(reason: "record \(record.seq) is not an append to \(path)") }
            if let expected, offset != expected { throw Failure(reason: "record \(record.seq) at offset \(offset), expected \(expected): a gap") }
            let (blockEnd, overflow) = offset.addingReportingOverflow(record.payloadLength)
            guard !overflow else { throw Failure(reason: "record \(record.seq): offset \(offset) + length passes 2^64") }
            expected = blockEnd
            let lo = max(start, offset), hi = min(end, blockEnd)
            if lo < hi { bytes += payload[Int(lo - offset)..<Int(hi - offset)] }
            writers.writers.append((record.seq, record.time, record.writer.uid, record.writer.gid, record.writer.pid, record.writer.command, offset, record.payloadLength))
        }
        guard UInt64(bytes.count) == end - start else { throw Failure(reason: "the records cover \(bytes.count) bytes, the range \(end - start)") }
        writers.bytes = bytes
        return writers
    }
}

extension Store {
    /// The blocks of file `id` (locations in the segments), in offset order.
    public func blockRefs(of id: UInt64) -> [BlockRef] {
        lock.lock(); defer { lock.unlock() }
        guard let node = namespace.node(id) else { return [] }
        return (0..<node.blocks.count).map { node.blocks[$0] }
    }
}
