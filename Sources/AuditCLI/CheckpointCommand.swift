import ArgumentParser
import AuditPlumbing
import AuditStore
import AuditWitness
import Foundation

/// The checkpoint options shared by `checkpoint` and `mount`.
public struct CheckpointOptions: ParsableArguments {
    @Option(help: "Seconds a signing key epoch lasts before the next key takes over and the old one is erased.")
    public var epochLength: Int = 900
    @Option(help: "Also append every checkpoint to a file in this directory (another filesystem).")
    public var witnessDir: String?
    @Option(help: "Also pipe every checkpoint to this shell command (e.g. an ssh to another host).")
    public var witnessCmd: String?
    @Option(help: "The signing key directory (default: STORE/keys).")
    public var keys: String?
    @Option(help: "Also submit every checkpoint to this C2SP tlog-witness (its URL prefix; POST URL/add-checkpoint) and store its cosignature in /.audit/cosignatures; repeatable.")
    public var witnessUrl: [String] = []

    public init() {}

    /// What these options ask for (bounds, key directory, witnesses: `CheckpointSigning`).
    public var signing: CheckpointSigning {
        CheckpointSigning(epochLength: epochLength, witnessDirectory: witnessDir, witnessCommand: witnessCmd, keys: keys,
                          witnessURLs: witnessUrl)
    }
}

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign the store's tree head now, store the checkpoint in /.audit/checkpoints and print it.")

    @OptionGroup var store: StoreArgument
    @OptionGroup var options: CheckpointOptions

    func run() throws {
        if let problem = options.signing.problem() { throw CommandFailure(problem) }
        let s = try openStore(store.store, mode: .readWrite)
        defer { s.close() }
        do {
            let c = try options.signing.checkpointer(for: s)
            let note = try c.issue()
            // A one-shot command: each witness gets it now, in turn; a failure is a line, not an exit.
            let writer = Provenance.current()
            let witnesses = options.signing.witnesses.witnesses(origin: c.origin, store: s) { cosigned, _ in
                do { try s.appendCosigned(cosigned, by: writer) } catch { ErrorLine.write(line: "auditfs: could not store a cosignature: \(error)") }
            }
            for w in witnesses {
                if let why = w.deliver(note, cancelled: { false }).reason { ErrorLine.write(line: "auditfs: \(why)") }
            }
            try s.syncWithTreeCache()
            print(note, terminator: "")
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// The `--witness-key` keys (each the key or a file holding it) and
/// `--witness-quorum`; nil when no key is given.
func readWitnessQuorum(_ keys: [String], quorum: Int?) throws(CommandFailure) -> WitnessQuorum? {
    guard !keys.isEmpty else {
        if quorum != nil { throw CommandFailure("--witness-quorum needs --witness-key") }
        return nil
    }
    var parsed: [Cosignature.WitnessKey] = []
    for arg in keys {
        var text = arg
        if FileManager.default.fileExists(atPath: arg) {
            guard let d = FileManager.default.contents(atPath: arg) else { throw CommandFailure("cannot read witness key file '\(arg)'") }
            text = String(decoding: d, as: UTF8.self)
        }
        do { parsed.append(try Cosignature.WitnessKey(parsing: text)) } catch { throw CommandFailure("--witness-key '\(arg)': \(error)") }
    }
    do { return try WitnessQuorum(keys: parsed, required: quorum) } catch { throw CommandFailure("--witness-quorum: \(error)") }
}

/// A verifier key given as the key itself or as a file holding it.
func readVerifierKey(_ arg: String) throws(CommandFailure) -> SignedNote.Verifier {
    var text = arg
    if FileManager.default.fileExists(atPath: arg) {
        guard let d = FileManager.default.contents(atPath: arg) else { throw CommandFailure("cannot read key file '\(arg)'") }
        text = String(decoding: d, as: UTF8.self)
    }
    do { return try SignedNote.Verifier(parsing: text) } catch { throw CommandFailure("'\(arg)': \(error)") }
}

struct ProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Write a self-contained proof bundle of a file (or a byte range of it) for an auditor.")

    @OptionGroup var store: StoreArgument
    @Argument(help: "Path of the file in the store.") var path: String
    @Option(help: "Byte range A:B (end exclusive), widened to the blocks it touches; default the whole file.") var range: String?
    @Option(name: .shortAndLong, help: "Where to write the bundle (JSON).") var output: String
    @Option(name: .customLong("tlog-proof"), help: ArgumentHelp("Also write each record's proof as C2SP tlog-proof, DIR/<seq>.tlog-proof (FORMAT.md \"tlog-proof\").", valueName: "dir"))
    var tlogProof: String?

    func run() throws {
        let p = try parsePath(path)
        var start: UInt64?, end: UInt64?
        if let range {
            let parts = range.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = UInt64(parts[0]), let b = UInt64(parts[1]) else { throw CommandFailure("--range takes A:B, two byte offsets") }
            start = a; end = b
        }
        let s = try openStore(store.store, mode: .readOnly)
        do {
            let bundle = try ProofBundle.make(store: s, path: p, start: start, end: end)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(bundle).write(to: URL(fileURLWithPath: output))
            if let tlogProof {
                try FileManager.default.createDirectory(atPath: tlogProof, withIntermediateDirectories: true)
                for proof in try TlogProof.proofs(of: bundle) {
                    try Data(proof.text.utf8).write(to: URL(fileURLWithPath: tlogProof + "/\(proof.index).tlog-proof"))
                }
                print("wrote \(bundle.records.count) tlog-proof(s) into \(tlogProof)")
            }
            print("wrote \(output): \(p) bytes \(bundle.start)..<\(bundle.end), \(bundle.records.count - 1) blocks, checkpoint size \(try Checkpoint.parse(SignedNote.parse(bundle.checkpoint).text).size)")
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

struct VerifyBundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-bundle",
        abstract: "Check a proof bundle with only the verifier key, and print what it proves.")

    @Argument(help: "The bundle file.") var bundle: String
    @Option(help: "The verifier key (epoch 0), or a file holding it.") var key: String
    @Option(help: "Write the proven bytes to this file.") var extract: String?
    @Option(help: "A witness key (name+id+base64, or a file holding it); repeatable: the bundle's checkpoint must carry the cosignatures of --witness-quorum of them.") var witnessKey: [String] = []
    @Option(help: ArgumentHelp("How many of the --witness-key witnesses must have cosigned (default: all).", valueName: "n")) var witnessQuorum: Int?

    func run() throws {
        let verifier = try readVerifierKey(key)
        let witnesses = try readWitnessQuorum(witnessKey, quorum: witnessQuorum)
        guard let data = FileManager.default.contents(atPath: bundle) else { throw CommandFailure("cannot read '\(bundle)'") }
        let b: ProofBundle
        do { b = try JSONDecoder().decode(ProofBundle.self, from: data) } catch { throw CommandFailure("'\(bundle)' is not a proof bundle") }
        do {
            let proven = try b.verify(with: verifier, witnesses: witnesses)
            print("VALID: \(TerminalText.escape(proven.path)) bytes \(proven.start)..<\(proven.end) (\(proven.bytes.count) bytes)")
            print("in checkpoint \(proven.checkpoint.origin) size \(proven.checkpoint.size) at \(proven.checkpoint.time.map { Timestamps.rfc3339($0) } ?? "no time"), signed by key epoch \(proven.epoch) (certified from the verifier key)")
            if let witnesses {
                print("cosigned by \(witnesses.required) or more of \(witnesses.keys.count) witness key(s): \(witnesses.keys.map(\.name).joined(separator: ", "))")
            }
            for w in proven.writers {
                print("  record \(w.seq) \(Timestamps.rfc3339(w.time)) uid \(w.uid) gid \(w.gid) pid \(w.pid) \(TerminalText.escape(w.command)) offset \(w.offset) length \(w.length)")
            }
            if let extract { try Data(proven.bytes).write(to: URL(fileURLWithPath: extract)) }
        } catch {
            print("INVALID: " + TerminalText.escape("\(error)"))
            throw ExitCode(1)
        }
    }
}
