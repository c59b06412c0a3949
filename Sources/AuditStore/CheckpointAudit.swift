import AuditPlumbing

/// Checks a store against signed checkpoints (README "Checkpoints"):
///
/// - the key chain: each epoch's certificate in /.audit/keys is signed by
///   the previous epoch's key, starting from the verifier key kept off the
///   host, and names the tree head the store really had when it was stored;
/// - every checkpoint stored in /.audit/checkpoints: signed by a key of the
///   chain within that key's epoch (`EpochBinding`: its window of time, its
///   range of tree sizes, no earlier than the records it covers), and naming
///   the tree head the store really had;
/// - every checkpoint given from outside (a witness's copy): signed by a key
///   of the chain, of this store, and a prefix of the store — a store shorter
///   than it was rolled back or truncated, a different root at its size is a
///   fork.
///
/// The roots are recomputed from the records during the checker's single
/// pass (the checkpoint's size is a prefix of the same tree, so the RFC 9162
/// consistency holds exactly when the recomputed root equals the signed one).
///
/// With a verifier key it also says which records the newest valid
/// checkpoint covers and which are unsigned (`Checker.Report.Signing`),
/// keeping a few times per checkpoint, never one per record.
struct CheckpointAudit {
    struct Note {
        let text: String
        let seq: UInt64      // the record holding it
        let rootBefore: Hash // tree root over records [0, seq)
        let newestBefore: Int64? // the latest time of records [0, seq)
    }

    /// The store's origin: the verifier key's name when it names this store
    /// (`Checkpoint.names`); without a verifier key, the origin the epoch 1
    /// certificate names (read in `finish`), else "auditfs/<id>".
    private(set) var origin: String
    let identity: StoreIdentity
    let verifier: SignedNote.Verifier?
    let witnesses: WitnessQuorum?

    private var fileKinds: [UInt64: String] = [:]     // file id → path, for /.audit notes
    private var certificates: [Int: Note] = [:]
    private var stored: [Note] = []
    private var storedLastBefore: [Int64?] = []
    private var wanted: [UInt64: Hash?] = [:]          // external sizes → root at that size
    private var externalParsed: [(source: String, note: String, checkpoint: Checkpoint?, error: (any Error)?)] = []

    init(identity: StoreIdentity, verifier: SignedNote.Verifier?, external: [(String, String)], witnesses: WitnessQuorum?) {
        self.identity = identity
        if let verifier, Checkpoint.names(verifier.name, store: identity) { origin = verifier.name } else { origin = Checkpoint.origin(of: identity) }
        self.verifier = verifier
        self.witnesses = witnesses
        for (source, note) in external {
            do {
                let c = try Checkpoint.parse(SignedNote.parse(note).text)
                wanted[c.size] = .some(nil)
                externalParsed.append((source, note, c, nil))
            } catch {
                externalParsed.append((source, note, nil, error))
            }
        }
    }

    /// Before record `record` is applied: the tree covers [0, record.seq).
    mutating func willApply(_ record: Record, tree: LogTree) {
        if !wanted.isEmpty, wanted[record.seq] != nil {
            wanted[record.seq] = tree.root
            boundaries[record.seq] = (lastTime, newestTime)
            watched.insert(record.seq)
        }
        // A record's time is wanted once: taken out of `watched` then, so the set is empty most of the time.
        if !watched.isEmpty, watched.remove(record.seq) != nil { timeAt[record.seq] = record.time }
        if case .append = record.body, record.file != plainFile {
            if fileKinds[record.file] != nil { pendingRoot = tree.root } else { plainFile = record.file }
        }
    }
    private var pendingRoot: Hash?
    /// A file that holds no note (an id is in `fileKinds` from its creation
    /// or never): its appends are not looked up again.
    private var plainFile: UInt64 = 0
    private var firstTime: Int64?
    private var lastTime: Int64?
    private var newestTime: Int64?
    /// (time of record size-1, latest time of [0, size)) at each outside checkpoint's size.
    private var boundaries: [UInt64: (last: Int64?, newest: Int64?)] = [:]
    /// Records whose time the coverage report needs: the first after each checkpoint's.
    private var watched: Set<UInt64> = []
    private var timeAt: [UInt64: Int64] = [:]

    mutating func didApply(_ record: Record, payload: UnsafeRawBufferPointer) {
        defer {
            if firstTime == nil { firstTime = record.time }
            lastTime = record.time
            newestTime = max(newestTime ?? record.time, record.time)
        }
        switch record.body {
        case let .create(path, _, _, _):
            if path.sameBytes(as: AuditPaths.checkpoints) || AuditPaths.epoch(ofCertificate: path) != nil {
                fileKinds[Record.fileID(createdBy: record.seq)] = path
            }
        case .append:
            guard let root = pendingRoot, let path = fileKinds[record.file] else { return }
            let note = Note(text: String(decoding: payload, as: UTF8.self), seq: record.seq, rootBefore: root, newestBefore: newestTime)
            if path.sameBytes(as: AuditPaths.checkpoints) {
                stored.append(note)
                storedLastBefore.append(lastTime)
                if record.seq < UInt64.max { watched.insert(record.seq + 1) }
            }
            else if let e = AuditPaths.epoch(ofCertificate: path), certificates[e] == nil { certificates[e] = note }
            pendingRoot = nil
        default:
            break
        }
    }

    /// A checkpoint that passed every check, for the coverage report.
    private struct Valid {
        let source: String
        let checkpoint: Checkpoint
        let epoch: Int
        let stored: Bool          // its own record (at its size) is the signature, not unsigned data
        let lastCovered: Int64?   // the time of record size-1
    }

    /// At the end of the pass over `records` records with final `root`.
    mutating func finish(records: UInt64, root: Hash) -> (results: [Checker.Report.CheckpointResult], signing: Checker.Report.Signing?) {
        if wanted[records] != nil {
            wanted[records] = root
            boundaries[records] = (lastTime, newestTime)
        }
        if verifier == nil, let note = certificates[1], let text = try? SignedNote.parse(note.text).text,
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("origin ") }),
           Checkpoint.names(String(line.dropFirst(7)), store: identity) {
            origin = String(line.dropFirst(7))
        }
        var results: [Checker.Report.CheckpointResult] = []
        func passed(_ source: String, _ size: UInt64?, _ message: String) {
            results.append(.init(source: source, size: size, passed: message))
        }
        func failed(_ source: String, _ size: UInt64?, _ failure: CheckpointFailure) {
            results.append(.init(source: source, size: size, failure: failure))
        }
        // The key chain from the verifier key (the root key, epoch 0).
        var keys: [(epoch: Int, key: SignedNote.Verifier, certificate: KeyCertificate?)] = []
        if let verifier {
            keys.append((0, verifier, nil))
            var e = 1
            while let note = certificates[e] {
                let source = "\(AuditPaths.certificate(epoch: e)) (record \(note.seq))"
                do {
                    let cert = try KeyCertificate.open(note.text, signedBy: keys.last!.key)
                    if cert.epoch != e || cert.origin != origin {
                        failed(source, cert.size, .certificateNames(epoch: cert.epoch, origin: cert.origin, expectedEpoch: e, expectedOrigin: origin))
                        break
                    }
                    if cert.size != note.seq || cert.root != note.rootBefore {
                        failed(source, cert.size, .certificateTreeHead(epoch: e, certified: .init(size: cert.size, root: cert.root),
                                                                       store: .init(size: note.seq, root: note.rootBefore)))
                        break
                    }
                    keys.append((e, cert.key, cert))
                    passed(source, cert.size, "epoch \(e) key certified by epoch \(e - 1), window \(cert.windowText)")
                } catch {
                    failed(source, nil, .certificateSignature(epoch: e, cause: error))
                    break
                }
                e += 1
            }
            if let stray = certificates.keys.filter({ $0 >= e }).min() {
                if results.last?.check == nil {
                    failed(AuditPaths.certificate(epoch: stray), nil, .certificateWithoutChain(epoch: stray))
                }
            }
        }
        /// The chain's key that signed `note`, and why it may not have, if so.
        func signer(of note: String, _ c: Checkpoint, newest: Int64?) -> (epoch: Int, violation: EpochBinding.Violation?)? {
            guard let sigs = try? SignedNote.parse(note).signatures else { return nil }
            for (i, k) in keys.enumerated().reversed() where sigs.contains(where: { $0.keyID == k.key.keyID && $0.name == k.key.name }) {
                guard (try? SignedNote.open(note, by: k.key)) != nil else { continue }
                let next = i + 1 < keys.count ? keys[i + 1].certificate?.size : nil
                return (k.epoch, EpochBinding.violation(of: c, epoch: k.epoch, certificate: k.certificate, nextCertifiedAt: next, newestRecord: newest))
            }
            return nil
        }
        var valid: [Valid] = []
        // Stored checkpoints.
        var lastSize: UInt64 = 0
        for (i, note) in stored.enumerated() {
            let source = "\(AuditPaths.checkpoints) #\(i + 1) (record \(note.seq))"
            guard let (text, _) = try? SignedNote.parse(note.text), let c = try? Checkpoint.parse(text) else {
                failed(source, nil, .format(cause: nil)); continue
            }
            if c.origin != origin { failed(source, c.size, .origin(found: c.origin, expected: origin, external: false)); continue }
            if c.size != note.seq || c.root != note.rootBefore {
                failed(source, c.size, .storedTreeHead(signed: .init(size: c.size, root: c.root), store: .init(size: note.seq, root: note.rootBefore)))
                continue
            }
            if c.size < lastSize { failed(source, c.size, .order(size: c.size, after: lastSize)); continue }
            lastSize = c.size
            if verifier != nil {
                guard let (epoch, violation) = signer(of: note.text, c, newest: note.newestBefore) else {
                    failed(source, c.size, .signature(external: false)); continue
                }
                if let violation { failed(source, c.size, .epochBinding(violation)); continue }
                passed(source, c.size, "signed by epoch \(epoch), matches the store")
                valid.append(Valid(source: source, checkpoint: c, epoch: epoch, stored: true, lastCovered: storedLastBefore[i]))
            } else {
                passed(source, c.size, "matches the store (signature not checked: no verifier key)")
            }
        }
        // Checkpoints from outside.
        for e in externalParsed {
            guard let c = e.checkpoint else {
                failed(e.source, nil, .format(cause: e.error)); continue
            }
            if c.origin != origin { failed(e.source, c.size, .origin(found: c.origin, expected: origin, external: true)); continue }
            var epoch: Int?
            if verifier != nil {
                // The time rule waits for the root to match: only then are these its records.
                guard let (k, violation) = signer(of: e.note, c, newest: nil) else {
                    failed(e.source, c.size, .signature(external: true)); continue
                }
                if let violation { failed(e.source, c.size, .epochBinding(violation)); continue }
                epoch = k
            }
            if let witnesses {
                do { try witnesses.check(e.note) } catch {
                    failed(e.source, c.size, .cosignature(cause: error)); continue
                }
            }
            if c.size > records {
                failed(e.source, c.size, .rollback(records: records, size: c.size))
                continue
            }
            guard let root = wanted[c.size] ?? nil else { failed(e.source, c.size, .noTreeHead(size: c.size)); continue }
            if root != c.root {
                failed(e.source, c.size, .fork(size: c.size, signed: c.root, store: root))
                continue
            }
            if epoch != nil, let v = EpochBinding.timeViolation(of: c, newestRecord: boundaries[c.size]?.newest ?? nil) {
                failed(e.source, c.size, .epochBinding(v)); continue
            }
            passed(e.source, c.size, "consistent: the checkpoint's tree is a prefix of the store")
            if let epoch {
                valid.append(Valid(source: e.source, checkpoint: c, epoch: epoch, stored: false, lastCovered: boundaries[c.size]?.last ?? nil))
            }
        }
        guard verifier != nil else { return (results, nil) }
        return (results, coverage(records: records, valid: valid))
    }

    /// Which records the newest valid checkpoint covers, and which follow it
    /// unsigned (the record holding a stored checkpoint is its signature, not
    /// counted as unsigned).
    private func coverage(records: UInt64, valid: [Valid]) -> Checker.Report.Signing {
        var s = Checker.Report.Signing()
        let best = valid.max { a, b in
            a.checkpoint.size != b.checkpoint.size ? a.checkpoint.size < b.checkpoint.size : (!a.stored && b.stored)
        }
        var unsignedFrom: UInt64 = 0
        if let best, best.checkpoint.size > 0 {
            let c = best.checkpoint
            s.checkpoint = best.source
            s.checkpointSize = c.size
            s.checkpointTime = c.time
            s.epoch = best.epoch
            s.signedRecords = c.size
            s.signedFirstTime = firstTime
            s.signedLastTime = best.lastCovered
            unsignedFrom = c.size + (best.stored ? 1 : 0)
        }
        if unsignedFrom < records {
            s.unsignedRecords = records - unsignedFrom
            s.unsignedFirstTime = unsignedFrom == 0 ? firstTime : timeAt[unsignedFrom]
            s.unsignedLastTime = lastTime
            if let a = s.unsignedFirstTime, let b = s.unsignedLastTime {
                let (d, overflow) = b.subtractingReportingOverflow(a)
                s.unsignedSpanNs = overflow ? (b > a ? Int64.max : 0) : max(d, 0)
            }
        }
        return s
    }
}
