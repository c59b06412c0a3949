import AuditPlumbing
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
    /// Witness cosignature lines of `checkpoint` ("— name base64\n", C2SP
    /// tlog-cosignature/v1) stored in /.audit/cosignatures; absent when none.
    public var cosignatures: [String]?

    /// Why a bundle cannot be made, or does not prove what it says: each
    /// case carries the values compared and, where another check failed
    /// inside it, that check's error (its cause).
    public enum Failure: Error, CustomStringConvertible {
        // Making a bundle.
        case noSuchFile(path: String)
        case isADirectory(path: String)
        case rangeOutsideFile(start: UInt64, end: UInt64, size: UInt64)
        case noCheckpointCovers(record: UInt64)
        case notACertificate(path: String)
        // Verifying one.
        case notABundle(format: String)
        case badHash
        case rangeReversed(start: UInt64, end: UInt64)
        /// start/end are not the bounds of the blocks the bundle proves.
        case rangeNotBlocks(start: UInt64, end: UInt64, blocksStart: UInt64, blocksEnd: UInt64)
        /// Certificate `index` (1-based) is not signed by the previous key.
        case certificateSignature(index: Int, cause: any Error)
        case certificateNames(index: Int, epoch: Int, origin: String)
        case certificateNewer(index: Int, size: UInt64, checkpointSize: UInt64)
        /// The checkpoint's tree does not extend the tree head certified for `epoch`.
        case notExtending(epoch: Int, cause: any Error)
        case notSigned
        /// The checkpoint's cosignatures do not meet the quorum asked for.
        case cosignatures(cause: any Error)
        case noRecords
        case badBase64(seq: UInt64)
        case notInCheckpoint(seq: UInt64, checkpointSize: UInt64)
        /// Record `seq`'s inclusion proof fails (`MerkleProof.Invalid`) or does not decode.
        case inclusion(seq: UInt64, cause: any Error)
        case payloadMismatch(seq: UInt64, expected: Hash, calculated: Hash, expectedLength: UInt64, length: UInt64)
        case epochBinding(EpochBinding.Violation)
        case firstRecordNotCreate(path: String)
        case notAnAppend(seq: UInt64, path: String)
        /// The file's records (its creation and renames) leave it at another name.
        case nameNotReached(path: String, found: String)
        /// A rename in the bundle does not start from the name the file had.
        case renameSource(seq: UInt64, expected: String, found: String)
        case gap(seq: UInt64, offset: UInt64, expected: UInt64)
        case offsetOverflow(seq: UInt64, offset: UInt64)
        case coverage(covered: UInt64, range: UInt64)

        public var description: String {
            switch self {
            case let .noSuchFile(path): "'\(path)' does not exist in the store"
            case let .isADirectory(path): "'\(path)' is a directory"
            case let .rangeOutsideFile(a, b, size): "range \(a):\(b) is outside the file (size \(size))"
            case let .noCheckpointCovers(record):
                "no stored checkpoint covers record \(record) yet; issue one (auditfs checkpoint, or wait for the mount's next)"
            case let .notACertificate(path): "\(path) is not a key certificate"
            case let .notABundle(format): "not an \(ProofBundle.format) bundle" + (format.isEmpty ? "" : " (format '\(format)')")
            case .badHash: "bad hash in bundle"
            case let .rangeReversed(start, end): "the range \(start):\(end) ends before it starts"
            case let .rangeNotBlocks(start, end, bs, be): "the range \(start):\(end) is not the proven blocks' \(bs):\(be)"
            case let .certificateSignature(i, cause): "key certificate \(i): \(cause)"
            case let .certificateNames(i, epoch, origin): "key certificate \(i) is for epoch \(epoch) of \(origin)"
            case let .certificateNewer(i, size, checkpointSize):
                "key certificate \(i) is newer than the checkpoint (tree size \(size), the checkpoint's \(checkpointSize))"
            case let .notExtending(epoch, cause): "the checkpoint does not extend the tree certified for epoch \(epoch): \(cause)"
            case .notSigned: "the checkpoint is not signed by the verifier key or a key it certifies"
            case .noRecords: "the bundle holds no records"
            case let .cosignatures(cause): "the checkpoint's witness cosignatures: \(cause)"
            case let .badBase64(seq): "record \(seq): bad base64"
            case let .notInCheckpoint(seq, size): "record \(seq) is not in the checkpoint (tree size \(size))"
            case let .inclusion(seq, cause): "record \(seq): \(cause)"
            case let .payloadMismatch(seq, expected, calculated, expectedLength, length):
                "record \(seq): the payload does not match its digest (the header says \(expectedLength) bytes of digest \(expected.hex), the bundle holds \(length) bytes of digest \(calculated.hex))"
            case let .epochBinding(v): v.description
            case let .firstRecordNotCreate(path): "the first record does not create \(path)"
            case let .notAnAppend(seq, path): "record \(seq) is not an append to \(path), or a rename of it, in sequence order"
            case let .nameNotReached(path, found): "the bundle's records leave the file at '\(found)', not '\(path)'"
            case let .renameSource(seq, expected, found): "record \(seq) renames '\(found)', but the file was '\(expected)' then"
            case let .gap(seq, offset, expected): "record \(seq) at offset \(offset), expected \(expected): a gap"
            case let .offsetOverflow(seq, offset): "record \(seq): offset \(offset) + length passes 2^64"
            case let .coverage(covered, range): "the records cover \(covered) bytes, the range \(range)"
            }
        }
    }

    static func b64(_ h: Hash) -> String { Data(h.bytes).base64EncodedString() }
    static func hash(_ s: String) throws(Failure) -> Hash {
        guard let d = Base64.decode(s), d.count == 32 else { throw .badHash }
        return Array(d).withUnsafeBytes { Hash(bytes: $0) }
    }

    /// Builds the bundle for bytes [start, end) of `path` — widened to the
    /// bounds of the blocks it touches — from an open store,
    /// against the newest stored checkpoint that covers the records needed.
    public static func make(store: Store, path: String, start: UInt64?, end: UInt64?) throws -> ProofBundle {
        guard let node = store.lookup(path) else { throw Failure.noSuchFile(path: path) }
        guard !node.isDirectory else { throw Failure.isADirectory(path: path) }
        let a = start ?? 0, b = end ?? node.size
        guard a <= b, b <= node.size else { throw Failure.rangeOutsideFile(start: a, end: b, size: node.size) }
        var seqs: [UInt64] = [node.id - 1]
        // The range is widened to the blocks it touches: a bundle proves
        // whole blocks, and its start and end are theirs (`verify` checks).
        var lo: UInt64?, hi: UInt64 = 0
        for block in store.blockRefs(of: node.id) where block.fileOffset < b && block.fileOffset + UInt64(block.length) > a
            || (a == b && block.fileOffset == a && block.length > 0) {
            seqs.append(block.seq)
            lo = lo ?? block.fileOffset
            hi = block.fileOffset + UInt64(block.length)
        }
        let range = lo.map { ($0, hi) } ?? (0, 0)
        if node.isRenamed {
            // Its renames lead from the name it was created under to `path`:
            // read from every record after its creation (a file renamed is
            // rare, and prove is no hot path).
            let size = store.treeHead.size
            var seq = node.id
            while seq < size {
                let r = try store.record(seq).record
                if r.file == node.id, r.kind == .rename { seqs.append(seq) }
                seq += 1
            }
            seqs.sort()
        }
        let needed = seqs.max()! + 1
        let notes = try store.blocks(of: AuditPaths.checkpoints).map { String(decoding: $0, as: UTF8.self) }
        guard let checkpoint = notes.last(where: { note in
            (try? Checkpoint.parse(SignedNote.parse(note).text).size).map { $0 >= needed } ?? false
        }) else {
            throw Failure.noCheckpointCovers(record: needed - 1)
        }
        let c = try Checkpoint.parse(SignedNote.parse(checkpoint).text)
        var certs: [Certificate] = []
        var e = 1
        while let bytes = try store.blocks(of: AuditPaths.certificate(epoch: e)).first {
            let note = String(decoding: bytes, as: UTF8.self)
            let text = try SignedNote.parse(note).text
            let tree = text.split(separator: "\n").first { $0.hasPrefix("tree ") }?.split(separator: " ")
            guard let tree, tree.count == 3, let size = UInt64(tree[1]) else {
                throw Failure.notACertificate(path: AuditPaths.certificate(epoch: e))
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
        let cosigned = try store.cosignatureLines(of: SignedNote.parse(checkpoint).text)
            .filter { !checkpoint.contains("\n" + $0) }
        return ProofBundle(format: format, path: path, start: range.0, end: range.1, checkpoint: checkpoint, certificates: certs,
                           records: entries, cosignatures: cosigned.isEmpty ? nil : cosigned)
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

    /// Checks everything in the bundle against `verifier` (epoch 0's key),
    /// and, when given, that `witnesses` cosigned its checkpoint (N of M).
    public func verify(with verifier: SignedNote.Verifier, witnesses: WitnessQuorum? = nil) throws -> Proven {
        guard format == Self.format else { throw Failure.notABundle(format: format) }
        // The key chain, and the checkpoint's key.
        let (text, _) = try SignedNote.parse(checkpoint)
        let c = try Checkpoint.parse(text)
        guard start <= end else { throw Failure.rangeReversed(start: start, end: end) }
        var keys: [(key: SignedNote.Verifier, certificate: KeyCertificate?)] = [(verifier, nil)]
        for (i, cert) in certificates.enumerated() {
            let k: KeyCertificate
            do { k = try KeyCertificate.open(cert.note, signedBy: keys.last!.key) } catch {
                throw Failure.certificateSignature(index: i + 1, cause: error)
            }
            guard k.epoch == i + 1, k.origin == c.origin else { throw Failure.certificateNames(index: i + 1, epoch: k.epoch, origin: k.origin) }
            guard k.size <= c.size else { throw Failure.certificateNewer(index: i + 1, size: k.size, checkpointSize: c.size) }
            do {
                try MerkleProof.verifyConsistency(old: k.size, new: c.size, root1: k.root, root2: c.root,
                                                  proof: try cert.consistency.map(Self.hash))
            } catch {
                throw Failure.notExtending(epoch: i + 1, cause: error)
            }
            keys.append((k.key, k))
        }
        guard let signing = keys.lastIndex(where: { (try? SignedNote.open(checkpoint, by: $0.key)) != nil }) else {
            throw Failure.notSigned
        }
        if let witnesses {
            do { try witnesses.check(checkpoint + (cosignatures ?? []).joined()) } catch { throw Failure.cosignatures(cause: error) }
        }
        let nextCertifiedAt = signing + 1 < keys.count ? keys[signing + 1].certificate?.size : nil
        // The records, each included in the checkpoint's tree.
        guard let first = records.first else { throw Failure.noRecords }
        var decoded: [(Record, [UInt8])] = []
        for e in records {
            guard let header = Base64.decode(e.header), let payload = Base64.decode(e.payload) else {
                throw Failure.badBase64(seq: e.seq)
            }
            let h = Array(header)
            let record = try h.withUnsafeBytes { try Record.decodeHeader($0) }
            guard record.seq == e.seq, record.seq < c.size else { throw Failure.notInCheckpoint(seq: e.seq, checkpointSize: c.size) }
            let hash = Hash.sha256(h)
            do {
                try MerkleProof.verifyInclusion(index: e.seq, size: c.size, leafHash: MerkleTree.leafHash(hash),
                                                proof: try e.inclusion.map(Self.hash), root: c.root)
            } catch { throw Failure.inclusion(seq: e.seq, cause: error) }
            let digest = Hash.sha256(Array(payload))
            guard digest == record.payloadDigest, UInt64(payload.count) == record.payloadLength else {
                throw Failure.payloadMismatch(seq: e.seq, expected: record.payloadDigest, calculated: digest,
                                              expectedLength: record.payloadLength, length: UInt64(payload.count))
            }
            decoded.append((record, Array(payload)))
        }
        // The checkpoint lies in its key's epoch, and after every record it proves.
        if let v = EpochBinding.violation(of: c, epoch: signing, certificate: keys[signing].certificate,
                                          nextCertifiedAt: nextCertifiedAt, newestRecord: decoded.map(\.0.time).max()) {
            throw Failure.epochBinding(v)
        }
        // The first record creates the file; the others, in sequence order,
        // rename it (from the name it has to the next, ending at `path`) or
        // append to it, contiguously.
        guard case var .create(name, _, _, _) = decoded[0].0.body, decoded[0].0.kind == .file, first.seq == decoded[0].0.seq else {
            throw Failure.firstRecordNotCreate(path: path)
        }
        let file = Record.fileID(createdBy: first.seq)
        var bytes: [UInt8] = []
        var writers: Proven = Proven(path: path, start: start, end: end, bytes: [], writers: [], checkpoint: c, epoch: signing)
        var expected: UInt64?
        var previous = first.seq
        for (record, payload) in decoded.dropFirst() {
            guard record.seq > previous else { throw Failure.notAnAppend(seq: record.seq, path: path) }
            previous = record.seq
            if record.file == file, case let .rename(change) = record.body {
                guard change.from.sameBytes(as: name) else { throw Failure.renameSource(seq: record.seq, expected: name, found: change.from) }
                name = change.to
                continue
            }
            guard record.file == file, case let .append(offset) = record.body else { throw Failure.notAnAppend(seq: record.seq, path: path) }
            if let expected, offset != expected { throw Failure.gap(seq: record.seq, offset: offset, expected: expected) }
            let (blockEnd, overflow) = offset.addingReportingOverflow(record.payloadLength)
            guard !overflow else { throw Failure.offsetOverflow(seq: record.seq, offset: offset) }
            expected = blockEnd
            let lo = max(start, offset), hi = min(end, blockEnd)
            if lo < hi { bytes += payload[Int(lo - offset)..<Int(hi - offset)] }
            writers.writers.append((record.seq, record.time, record.writer.uid, record.writer.gid, record.writer.pid, record.writer.command, offset, record.payloadLength))
        }
        guard name.sameBytes(as: path) else { throw Failure.nameNotReached(path: path, found: name) }
        // start and end are bound to the proven blocks: exactly the first
        // one's offset and the last one's end (0 and 0 with none), so they
        // cannot be moved to cut a block's bytes short.
        let span = writers.writers.first.map { ($0.offset, expected ?? 0) } ?? (0, 0)
        guard start == span.0, end == span.1 else {
            throw Failure.rangeNotBlocks(start: start, end: end, blocksStart: span.0, blocksEnd: span.1)
        }
        guard UInt64(bytes.count) == end - start else { throw Failure.coverage(covered: UInt64(bytes.count), range: end - start) }
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
