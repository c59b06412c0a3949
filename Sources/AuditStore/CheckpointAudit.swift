/// Checks a store against signed checkpoints (README "Checkpoints"):
///
/// - the key chain: each epoch's certificate in /.audit/keys is signed by
///   the previous epoch's key, starting from the verifier key kept off the
///   host, and names the tree head the store really had when it was stored;
/// - every checkpoint stored in /.audit/checkpoints: signed by a key of the
///   chain, issued no earlier than its key's epoch began, and naming the
///   tree head the store really had;
/// - every checkpoint given from outside (a witness's copy): signed by a key
///   of the chain, of this store, and a prefix of the store — a store shorter
///   than it was rolled back or truncated, a different root at its size is a
///   fork.
///
/// The roots are recomputed from the records during the checker's single
/// pass (the checkpoint's size is a prefix of the same tree, so the RFC 9162
/// consistency holds exactly when the recomputed root equals the signed one).
struct CheckpointAudit {
    struct Note {
        let text: String
        let seq: UInt64      // the record holding it
        let rootBefore: Hash // tree root over records [0, seq)
    }

    let origin: String
    let verifier: SignedNote.Verifier?
    let witness: Cosignature.WitnessKey?

    private var fileKinds: [UInt64: String] = [:]     // file id → path, for /.audit notes
    private var certificates: [Int: Note] = [:]
    private var stored: [Note] = []
    private var wanted: [UInt64: Hash?] = [:]          // external sizes → root at that size
    private var externalParsed: [(source: String, note: String, checkpoint: Checkpoint?, error: String?)] = []

    init(origin: String, verifier: SignedNote.Verifier?, external: [(String, String)], witness: Cosignature.WitnessKey?) {
        self.origin = origin
        self.verifier = verifier
        self.witness = witness
        for (source, note) in external {
            do {
                let c = try Checkpoint.parse(SignedNote.parse(note).text)
                wanted[c.size] = .some(nil)
                externalParsed.append((source, note, c, nil))
            } catch {
                externalParsed.append((source, note, nil, "\(error)"))
            }
        }
    }

    /// Before record `record` is applied: the tree covers [0, record.seq).
    mutating func willApply(_ record: Record, tree: CompactRange) {
        if wanted[record.seq] != nil { wanted[record.seq] = tree.root }
        if case .append = record.body, fileKinds[record.file] != nil { pendingRoot = tree.root }
    }
    private var pendingRoot: Hash?

    mutating func didApply(_ record: Record, payload: UnsafeRawBufferPointer) {
        switch record.body {
        case let .create(path, _, _, _):
            if path == AuditPaths.checkpoints || AuditPaths.epoch(ofCertificate: path) != nil {
                fileKinds[Record.fileID(createdBy: record.seq)] = path
            }
        case .append:
            guard let path = fileKinds[record.file], let root = pendingRoot else { return }
            let note = Note(text: String(decoding: payload, as: UTF8.self), seq: record.seq, rootBefore: root)
            if path == AuditPaths.checkpoints { stored.append(note) }
            else if let e = AuditPaths.epoch(ofCertificate: path), certificates[e] == nil { certificates[e] = note }
            pendingRoot = nil
        default:
            break
        }
    }

    /// At the end of the pass over `records` records with final `root`.
    mutating func finish(records: UInt64, root: Hash) -> [Checker.Report.CheckpointResult] {
        if wanted[records] != nil { wanted[records] = root }
        var results: [Checker.Report.CheckpointResult] = []
        func result(_ source: String, _ size: UInt64?, _ check: String?, _ message: String) {
            results.append(.init(source: source, size: size, check: check, message: message))
        }
        // The key chain from the verifier key.
        var keys: [(epoch: Int, key: SignedNote.Verifier, size: UInt64)] = []
        if let verifier {
            keys.append((0, verifier, 0))
            var e = 1
            while let note = certificates[e] {
                let source = "\(AuditPaths.certificate(epoch: e)) (record \(note.seq))"
                do {
                    let cert = try KeyCertificate.open(note.text, signedBy: keys.last!.key)
                    if cert.epoch != e || cert.origin != origin {
                        result(source, cert.size, "key-certificate", "names epoch \(cert.epoch) of \(cert.origin), expected epoch \(e) of \(origin)")
                        break
                    }
                    if cert.size != note.seq || cert.root != note.rootBefore {
                        result(source, cert.size, "key-certificate",
                               "certifies tree size \(cert.size) root \(cert.root.hex), but the store has size \(note.seq) root \(note.rootBefore.hex) there: history before epoch \(e) was rewritten")
                        break
                    }
                    keys.append((e, cert.key, cert.size))
                    result(source, cert.size, nil, "epoch \(e) key certified by epoch \(e - 1)")
                } catch {
                    result(source, nil, "key-certificate", "not signed by epoch \(e - 1)'s key: \(error)")
                    break
                }
                e += 1
            }
            if let stray = certificates.keys.filter({ $0 >= e }).min() {
                if results.last?.check == nil {
                    result(AuditPaths.certificate(epoch: stray), nil, "key-certificate", "epoch \(stray) has no certified predecessor chain")
                }
            }
        }
        func signer(of note: String) -> (epoch: Int, size: UInt64)? {
            guard let sigs = try? SignedNote.parse(note).signatures else { return nil }
            for k in keys.reversed() where sigs.contains(where: { $0.keyID == k.key.keyID && $0.name == k.key.name }) {
                if (try? SignedNote.open(note, by: k.key)) != nil { return (k.epoch, k.size) }
            }
            return nil
        }
        // Stored checkpoints.
        var lastSize: UInt64 = 0
        for (i, note) in stored.enumerated() {
            let source = "\(AuditPaths.checkpoints) #\(i + 1) (record \(note.seq))"
            guard let (text, _) = try? SignedNote.parse(note.text), let c = try? Checkpoint.parse(text) else {
                result(source, nil, "checkpoint-format", "not a signed checkpoint"); continue
            }
            if c.origin != origin { result(source, c.size, "checkpoint-origin", "origin \(c.origin), expected \(origin)"); continue }
            if c.size != note.seq || c.root != note.rootBefore {
                result(source, c.size, "checkpoint-fork", "signs size \(c.size) root \(c.root.hex), but the store has size \(note.seq) root \(note.rootBefore.hex) there")
                continue
            }
            if c.size < lastSize { result(source, c.size, "checkpoint-order", "size \(c.size) after a checkpoint of size \(lastSize)"); continue }
            lastSize = c.size
            if verifier != nil {
                guard let (epoch, from) = signer(of: note.text) else {
                    result(source, c.size, "checkpoint-signature", "not signed by any key the verifier key certifies: re-signed or forged"); continue
                }
                if c.size < from {
                    result(source, c.size, "checkpoint-epoch", "signed by epoch \(epoch)'s key, which was certified only at size \(from): re-signed history")
                    continue
                }
                result(source, c.size, nil, "signed by epoch \(epoch), matches the store")
            } else {
                result(source, c.size, nil, "matches the store (signature not checked: no verifier key)")
            }
        }
        // Checkpoints from outside.
        for e in externalParsed {
            guard let c = e.checkpoint else {
                result(e.source, nil, "checkpoint-format", e.error ?? "not a checkpoint"); continue
            }
            if c.origin != origin { result(e.source, c.size, "checkpoint-origin", "a checkpoint of \(c.origin), not of this store (\(origin))"); continue }
            if verifier != nil {
                guard let (epoch, from) = signer(of: e.note) else {
                    result(e.source, c.size, "checkpoint-signature", "not signed by any key the verifier key certifies"); continue
                }
                if c.size < from {
                    result(e.source, c.size, "checkpoint-epoch", "signed by epoch \(epoch)'s key, certified only at size \(from)"); continue
                }
            }
            if let witness {
                do { _ = try Cosignature.verify(e.note, witness: witness) } catch {
                    result(e.source, c.size, "checkpoint-cosignature", "\(error)"); continue
                }
            }
            if c.size > records {
                result(e.source, c.size, "checkpoint-rollback",
                       "the store holds \(records) records, the checkpoint \(c.size): the store was rolled back or truncated")
                continue
            }
            guard let root = wanted[c.size] ?? nil else { result(e.source, c.size, "checkpoint-rollback", "no tree head at size \(c.size)"); continue }
            if root != c.root {
                result(e.source, c.size, "checkpoint-fork",
                       "the store's first \(c.size) records have root \(root.hex), the checkpoint \(c.root.hex): a fork (different history at the same size)")
                continue
            }
            result(e.source, c.size, nil, "consistent: the checkpoint's tree is a prefix of the store")
        }
        return results
    }
}
