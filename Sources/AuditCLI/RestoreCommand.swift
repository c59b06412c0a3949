import ArgumentParser
import AuditShip
import AuditStore
import Foundation

/// `auditfs restore s3://BUCKET/PREFIX STORE`: rebuilds a store from its
/// bucket after the host is lost (docs/SHIPPING.md "Restore").
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Rebuild a store from the S3 bucket it was shipped to.",
        discussion: """
            Reads the first version of every object of the store (its identity file and the bytes of every \
            segment) into STORE, a new directory, then verifies it. The restored store can be read, verified \
            and proven from; its signing key stayed on the lost host, so it takes no new records: mount a new \
            store to go on logging. Exit status: 0 restored and intact; 1 the bucket's objects disagree or the \
            restored store fails verification; 2 usage or I/O error.
            """)

    @Argument(help: "The store's place in the bucket: s3://BUCKET/PREFIX (PREFIX may end with the store id).")
    var source: String
    @Argument(help: "The new store directory (absent or empty).")
    var store: String
    @Option(help: "The verifier key kept off the host (or a file holding it): checked against, and written as STORE/verifier-key.")
    var key: String?
    @OptionGroup var bucket: BucketOptions

    func run() throws {
        let location = try bucketLocation(source)
        let client = try bucket.client()
        var anchors = Checker.Anchors()
        if let key { anchors.verifier = try readVerifierKey(key) }
        let target = StoreDirectory(store)
        if FileManager.default.fileExists(atPath: target.identityPath) {
            throw CommandFailure("'\(store)' is a store already: restore writes a new one")
        }
        do {
            let shipped = try ShippedStore.find(client, location)
            try shipped.download(client, into: store)
            print("restored \(shipped.listing.records.count) objects of store \(shipped.storeID) into \(store)")
        } catch {
            throw error.failure
        }
        let report: Checker.Report
        do { report = try Checker.verify(at: store, anchors: anchors) } catch { throw CommandFailure(error.description) }
        if let verifier = anchors.verifier {
            guard FileManager.default.createFile(atPath: Checkpointer.verifierKeyFile(of: store), contents: Data("\(verifier)\n".utf8)) else {
                throw CommandFailure("could not write \(Checkpointer.verifierKeyFile(of: store))")
            }
        }
        switch report.status {
        case .intact, .unsigned:
            print("intact: \(report.records) records, tree size \(report.treeSize) root \(report.treeRoot)")
        case .tornTail, .damaged:
            throw CommandFailure("the restored store fails verification: \(report.failure?.description ?? report.tornTail?.reason ?? "")", code: 1)
        }
    }
}
