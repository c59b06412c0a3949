import ArgumentParser
import AuditPlumbing
import AuditQuery
import AuditS3
import AuditShip
import AuditStore
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every byte of a store: payload digests, record hashes, both chains, the Merkle tree.",
        discussion: """
            Exit status: 0 intact; 1 integrity failure (the first bad record is named), or, with --key, \
            too little of the store covered by a checkpoint signed through the key's chain (--max-unsigned); \
            3 only a torn tail left by a crash (opening the store for writing cuts it); 2 usage or I/O error. \
            STORE may be s3://BUCKET/PREFIX, a store shipped to an S3 Object Lock bucket (--key needed): every \
            version of every object is read, the first of each is the record, and each object must be locked \
            and covered by a checkpoint in the bucket. --against s3://… compares a host's store with its bucket.
            """)

    @Argument(help: "The store directory, or s3://BUCKET/PREFIX for a shipped store.")
    var store: String
    @Flag(help: "Print the report as one JSON object.") var json = false
    @Option(help: "The verifier key (epoch 0) kept off the host, or a file holding it; default STORE/verifier-key.") var key: String?
    @Option(help: "A checkpoint file from outside the store (a witness's copy; may hold several); repeatable.") var checkpoint: [String] = []
    @Option(help: "A witness key (name+id+base64, or a file holding it); repeatable: every --checkpoint must carry the cosignatures of --witness-quorum of them.") var witnessKey: [String] = []
    @Option(help: ArgumentHelp("How many of the --witness-key witnesses must have cosigned (default: all).", valueName: "n")) var witnessQuorum: Int?
    @Option(help: ArgumentHelp("With --key: fail when the records after the last signed checkpoint span more than this (90s, 5m, 1h; default 60s: six checkpoint intervals of a default mount).", valueName: "duration"))
    var maxUnsigned: String?
    @Option(help: ArgumentHelp("With --key: fail when more than N records follow the last signed checkpoint (default: no limit).", valueName: "n"))
    var maxUnsignedRecords: UInt64?
    @Option(help: ArgumentHelp("Compare the store with the bucket it is shipped to and name the first difference.", valueName: "s3://BUCKET/PREFIX"))
    var against: String?
    @Option(help: ArgumentHelp("Where a shipped store is read back to be checked (default $TMPDIR or /tmp).", valueName: "dir"))
    var workDir: String?
    @OptionGroup var bucket: BucketOptions

    func run() throws {
        if store.hasBytePrefix("s3://") { return try verifyBucket() }
        var anchors = Checker.Anchors()
        var notes: [String] = []
        if let key {
            anchors.verifier = try readVerifierKey(key)
            var limit = Checker.UnsignedLimit.standard
            if let maxUnsigned {
                guard let ns = Timestamps.duration(maxUnsigned) else { throw CommandFailure("--max-unsigned '\(maxUnsigned)': expected a duration like 90s, 5m, 1h, 2d") }
                limit.maxSpan = ns
            }
            limit.maxRecords = maxUnsignedRecords
            anchors.unsigned = limit
        } else if maxUnsigned != nil || maxUnsignedRecords != nil {
            throw CommandFailure("--max-unsigned and --max-unsigned-records need --key (the verifier key kept off the host)")
        } else if FileManager.default.fileExists(atPath: Checkpointer.verifierKeyFile(of: store)) {
            anchors.verifier = try readVerifierKey(Checkpointer.verifierKeyFile(of: store))
            notes.append("signatures checked against the verifier key stored on this host; pass --key with the copy kept elsewhere")
        }
        for file in checkpoint {
            guard let d = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read checkpoint file '\(file)'") }
            let found = Checkpointer.splitNotes(String(decoding: d, as: UTF8.self))
            if found.isEmpty { throw CommandFailure("'\(file)' holds no signed checkpoint") }
            for (i, n) in found.enumerated() { anchors.checkpoints.append((found.count == 1 ? file : "\(file) #\(i + 1)", n)) }
        }
        anchors.witnesses = try readWitnessQuorum(witnessKey, quorum: witnessQuorum)
        if anchors.witnesses != nil && checkpoint.isEmpty {
            // No witness's copy given: the cosignatures the store holds, of its newest cosigned checkpoint.
            anchors.checkpoints = try storedCosignatures()
        }
        anchors.checkpoints = CosignedNotes.merge(anchors.checkpoints)
        var report: Checker.Report
        do { report = try Checker.verify(at: store, anchors: anchors) } catch { throw CommandFailure(error.description) }
        var comparison: StoreComparison.Result?
        if let against {
            let location = try bucketLocation(against)
            let client = try bucket.client()
            do { comparison = try StoreComparison.compare(store: store, with: client, location) } catch { throw error.failure }
        }
        if report.status != .damaged {
            do {
                let query = try QueryIndex.audit(store: store)
                report.cacheFailures += query.failures.map { .init(cache: "cache/query", message: $0) }
                report.cache += query.notes
            } catch {
                report.cacheFailures.append(.init(cache: "cache/query", message: "could not be compared: \(error)"))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let comparison {
                struct Both: Encodable { var store: Checker.Report; var against: StoreComparison.Result }
                print(String(decoding: try encoder.encode(Both(store: report, against: comparison)), as: UTF8.self))
            } else {
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        } else {
            switch report.status {
            case .intact:
                print("intact: \(report.records) records, \(report.files) files and directories, \(report.payloadBytes) bytes of data in \(report.segments) segment(s)")
                print("tree size \(report.treeSize) root \(report.treeRoot)")
            case .tornTail:
                let t = report.tornTail!
                print("torn tail: \(t.segment) offset \(t.offset): \(t.reason) (left by a crash; the next writer cuts it)")
                print("intact before it: \(report.records) records, tree size \(report.treeSize) root \(report.treeRoot)")
            case .damaged:
                print("DAMAGED: \(report.failure!)")
                print("intact before it: \(report.records) records")
            case .unsigned:
                print("UNSIGNED: \(report.signing?.message ?? "")")
                print("the records are consistent but not proven: \(report.records) records, tree size \(report.treeSize) root \(report.treeRoot)")
            }
        }
        if !json {
            for c in report.checkpoints where c.check != nil || !checkpoint.isEmpty || c.source.hasBytePrefix(AuditPaths.cosignatures) {
                print("\(c.check == nil ? "ok" : "FAILED \(c.check!)"): \(c.source): \(c.message)")
            }
            let stored = report.checkpoints.filter { $0.source.hasBytePrefix(AuditPaths.checkpoints) && $0.check == nil }.count
            if stored > 0 { print("\(stored) stored checkpoint(s) verified") }
            for f in report.cacheFailures {
                print("FAILED \(f.cache): \(f.message) (derived data that lies: delete it, and the next open or query rebuilds it from the segments)")
            }
            if let s = report.signing { print(Self.coverage(s, records: report.records)) }
            for note in report.cache + notes { print("note: \(note)") }
            if let c = comparison {
                if let d = c.difference {
                    print("DIFFERS from \(c.location): \(d)")
                } else {
                    print("same as \(c.location): \(c.objects) objects, \(c.bytes) bytes of segments"
                        + (c.unshipped > 0 ? "; \(c.unshipped) bytes on the host are not shipped yet" : ""))
                }
            }
        }
        if comparison?.difference != nil { throw ExitCode(1) }
        throw ExitCode(report.exitCode)
    }

    /// The newest checkpoint of /.audit/cosignatures with every witness's
    /// lines merged onto it, as an outside checkpoint to check the quorum on.
    func storedCosignatures() throws(CommandFailure) -> [(String, String)] {
        let s = try openStore(store, mode: .readOnly)
        defer { s.close() }
        let blocks: [[UInt8]]
        do { blocks = try s.blocks(of: AuditPaths.cosignatures) } catch { throw CommandFailure(error.description) }
        // Each block is a note and a blank line (FORMAT.md "Signed notes in /.audit").
        let notes = Checkpointer.splitNotes(blocks.map { String(decoding: $0, as: UTF8.self) }.joined())
        let merged = CosignedNotes.merge(notes.enumerated().map { ("\(AuditPaths.cosignatures) #\($0.offset + 1)", $0.element) })
        guard let newest = merged.max(by: { (CosignedNotes.size(of: $0.1) ?? 0) < (CosignedNotes.size(of: $1.1) ?? 0) }) else {
            throw CommandFailure("--witness-key: the store holds no witness cosignature (\(AuditPaths.cosignatures)) and no --checkpoint was given", code: 1)
        }
        return [("\(AuditPaths.cosignatures), tree size \(CosignedNotes.size(of: newest.1).map(String.init) ?? "?")", newest.1)]
    }

    /// `verify s3://BUCKET/PREFIX --key KEY` (BucketAudit).
    func verifyBucket() throws {
        let location = try bucketLocation(store)
        guard let key else { throw CommandFailure("verify s3://… needs --key: the verifier key kept off the host") }
        if against != nil { throw CommandFailure("--against compares a store directory with a bucket; give a directory") }
        var anchors = Checker.Anchors(verifier: try readVerifierKey(key))
        for file in checkpoint {
            guard let d = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read checkpoint file '\(file)'") }
            for (i, n) in Checkpointer.splitNotes(String(decoding: d, as: UTF8.self)).enumerated() { anchors.checkpoints.append(("\(file) #\(i + 1)", n)) }
        }
        anchors.checkpoints = CosignedNotes.merge(anchors.checkpoints)
        anchors.witnesses = try readWitnessQuorum(witnessKey, quorum: witnessQuorum)
        let work = workDir ?? ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        let report: BucketAudit.Report
        let client = try bucket.client()
        do { report = try BucketAudit.verify(client, location, anchors: anchors, workDirectory: work) } catch { throw error.failure }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            if let s = report.store {
                switch s.status {
                case .intact, .unsigned:
                    print("\(report.intact ? "intact" : "FAILED"): \(report.location) (store \(report.storeID)): \(report.objects) objects, "
                        + "\(report.bytes) bytes; \(s.records) records, tree size \(s.treeSize) root \(s.treeRoot)")
                case .tornTail:
                    print("FAILED: \(report.location): the objects end inside a frame")
                case .damaged:
                    print("DAMAGED: \(s.failure!)")
                    print("intact before it: \(s.records) records")
                }
                for c in s.checkpoints where c.check != nil || !checkpoint.isEmpty {
                    print("\(c.check == nil ? "ok" : "FAILED \(c.check!)"): \(c.source): \(c.message)")
                }
                if let sg = s.signing { print(Self.coverage(sg, records: s.records)) }
            } else {
                print("FAILED: \(report.location) (store \(report.storeID)): \(report.objects) objects could not be read back as a store")
            }
            for f in report.findings {
                print("\(f.failure ? "FAILED" : "note") \(f.check): \(f.object.map { $0 + ": " } ?? "")\(f.message)")
            }
            print("\(report.versions) object versions read, every one checked for COMPLIANCE retention")
        }
        throw ExitCode(report.intact ? 0 : 1)
    }

    /// "signed: …; unsigned: …" — which records a signature covers.
    static func coverage(_ s: Checker.Report.Signing, records: UInt64) -> String {
        func span(_ a: Int64?, _ b: Int64?) -> String {
            guard let a, let b else { return "" }
            return " (\(Timestamps.rfc3339(a)) .. \(Timestamps.rfc3339(b)))"
        }
        var line = "signed: \(s.signedRecords) of \(records) records"
        if let c = s.checkpoint, let t = s.checkpointTime, let e = s.epoch {
            line += span(s.signedFirstTime, s.signedLastTime) + " by \(c), epoch \(e), at \(Timestamps.rfc3339(t))"
        } else {
            line += " (no checkpoint signed through the verifier key's chain)"
        }
        line += "; unsigned: \(s.unsignedRecords)" + span(s.unsignedFirstTime, s.unsignedLastTime)
        if s.unsignedRecords > 1 { line += ", spanning \(Timestamps.durationText(s.unsignedSpanNs))" }
        return line
    }
}
