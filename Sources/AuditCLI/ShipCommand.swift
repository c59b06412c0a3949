import ArgumentParser
import AuditPlumbing
import AuditS3
import AuditShip
import AuditStore
import Glibc

/// `auditfs ship STORE s3://BUCKET/PREFIX --retain 400d`: ships a store
/// that is not mounted (a backlog left when the mount ended while the
/// bucket was away, or a store made before shipping was set up) up to its
/// newest checkpoint, as a mount would (docs/SHIPPING.md).
struct ShipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ship",
        abstract: "Ship an unmounted store to an S3 Object Lock bucket, up to its newest checkpoint.",
        discussion: """
            Lists the bucket to learn what it holds, then puts every byte up to the newest stored checkpoint \
            that it does not, each object once with COMPLIANCE retention. A mounted store is shipped by its \
            mount (--ship). Exit status: 0 shipped (or nothing to ship); 1 the bucket holds bytes the store \
            does not (it was cut, rolled back or rewritten since); 2 usage, I/O or bucket error.
            """)

    @OptionGroup var store: StoreArgument
    @Argument(help: "Where to ship: s3://BUCKET/PREFIX (each store under PREFIX/<store id>/).")
    var destination: String
    @Option(help: ArgumentHelp("How long the bucket must keep each object (COMPLIANCE: nobody can shorten it): \(Retention.form).", valueName: "duration"))
    var retain: String
    @OptionGroup var bucket: BucketOptions

    func run() throws {
        let location = try bucketLocation(destination)
        guard let retention = Retention(parsing: retain) else { throw CommandFailure("--retain '\(retain)': expected \(Retention.form)") }
        let client = try bucket.client()
        do { try Shipment.checkBucket(client, location) } catch { throw error.failure }
        let directory = StoreDirectory(store.store)
        let identity: StoreIdentity
        do { identity = try directory.readIdentity() } catch { throw CommandFailure(error.description) }
        // The mount holds the store's lock and ships it itself: two shippers would put objects twice.
        let lockFile: RawFile
        do { lockFile = try RawFile.open(directory.identityPath, flags: O_RDONLY) } catch { throw CommandFailure("\(error)") }
        guard flock(lockFile.fd, LOCK_SH | LOCK_NB) == 0 else {
            throw CommandFailure("store '\(store.store)' is open for writing (mounted?): its mount ships it (--ship)")
        }
        let newest: UInt64
        do {
            let s = try Store.open(at: store.store, mode: .readOnly)
            defer { s.close() }
            guard let note = try s.blocks(of: AuditPaths.checkpoints).last,
                  let size = String(decoding: note, as: UTF8.self).split(separator: "\n").dropFirst().first.flatMap({ UInt64($0) }) else {
                print("nothing to ship: the store holds no checkpoint yet (a mount, or `auditfs checkpoint`, signs one)")
                return
            }
            newest = size
        } catch {
            throw CommandFailure(error.description, code: error.isDamage ? 1 : 2)
        }
        do {
            let shipment = Shipment(store: directory, identity: identity, location: location, retain: retention, client: client)
            let done = try shipment.ship(through: newest)
            print("shipped \(done.objects) object(s), \(done.bytes) bytes, up to record \(newest) (the newest checkpoint) "
                + "to \(location.description)/\(identity.idHex)")
            let left = shipment.backlog()
            if left > 0 { print("\(left) bytes after that checkpoint stay local until a checkpoint covers them") }
        } catch {
            throw error.failure
        }
    }
}
