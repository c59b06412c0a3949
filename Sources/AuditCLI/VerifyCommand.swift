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

    func run() throws {
        let report: Checker.Report
        do { report = try Checker.verify(at: store.store) } catch { fail(error.description) }
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
        if !json { for note in report.cache { print("note: \(note)") } }
        throw ExitCode(report.exitCode)
    }
}
