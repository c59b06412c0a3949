import ArgumentParser
import AuditStore
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every byte of a store: payload digests, record hashes, both chains, the Merkle tree.",
        discussion: """
            Exit status: 0 intact; 1 integrity failure (the first bad record is named); \
            3 only a torn tail left by a crash (opening the store for writing cuts it); 2 usage or I/O error.
            """)

    @OptionGroup var store: StoreArgument
    @Flag(help: "Print the report as one JSON object.") var json = false
    @Option(help: "The verifier key (epoch 0) kept off the host, or a file holding it; default STORE/verifier-key.") var key: String?
    @Option(help: "A checkpoint file from outside the store (a witness's copy; may hold several); repeatable.") var checkpoint: [String] = []
    @Option(help: "A witness key (name+id+base64); every --checkpoint must carry its cosignature.") var witnessKey: String?

    func run() throws {
        var anchors = Checker.Anchors()
        var notes: [String] = []
        if let key {
            anchors.verifier = readVerifierKey(key)
        } else if FileManager.default.fileExists(atPath: Checkpointer.verifierKeyFile(of: store.store)) {
            anchors.verifier = readVerifierKey(Checkpointer.verifierKeyFile(of: store.store))
            notes.append("signatures checked against the verifier key stored on this host; pass --key with the copy kept elsewhere")
        }
        for file in checkpoint {
            guard let d = FileManager.default.contents(atPath: file) else { fail("cannot read checkpoint file '\(file)'") }
            let found = Checkpointer.splitNotes(String(decoding: d, as: UTF8.self))
            if found.isEmpty { fail("'\(file)' holds no signed checkpoint") }
            for (i, n) in found.enumerated() { anchors.checkpoints.append((found.count == 1 ? file : "\(file) #\(i + 1)", n)) }
        }
        if let witnessKey {
            do { anchors.witness = try Cosignature.WitnessKey(parsing: witnessKey) } catch { fail("--witness-key: \(error)") }
        }
        let report: Checker.Report
        do { report = try Checker.verify(at: store.store, anchors: anchors) } catch { fail(error.description) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
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
            }
        }
        if !json {
            for c in report.checkpoints where c.check != nil || !checkpoint.isEmpty {
                print("\(c.check == nil ? "ok" : "FAILED \(c.check!)"): \(c.source): \(c.message)")
            }
            let stored = report.checkpoints.filter { $0.source.hasPrefix(AuditPaths.checkpoints) && $0.check == nil }.count
            if stored > 0 { print("\(stored) stored checkpoint(s) verified") }
            for note in report.cache + notes { print("note: \(note)") }
        }
        throw ExitCode(report.exitCode)
    }
}
