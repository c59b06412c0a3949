import AuditPlumbing
import AuditRecords
import AuditS3
import AuditShip
import AuditStore
import Foundation

/// The mount's side of shipping (docs/SHIPPING.md): checks the bucket
/// before the store is touched, then runs a `Shipper` that gets every
/// checkpoint the schedule signs, and turns its outcomes into metrics,
/// events in /.audit/events.jsonl and alerts.
///
/// Events mark changes only — `ship-failed` (the first failure of a run),
/// `ship-resumed` (caught up after failures), `ship-stopped` (the bucket
/// disagrees with the store: nothing more is shipped) — so that an event,
/// itself a record the next checkpoint covers and ships, never causes another.
enum MountShipping {
    /// Refuses a bucket without Object Lock before the store is touched. A
    /// bucket that cannot be reached now is no reason not to mount: the
    /// shipper checks it again before its first put. Returns a note then.
    static func check(_ ship: ShipSettings.Resolved) throws(MountError) -> String? {
        var quick = ship.configuration
        quick.timeout = min(quick.timeout, 10)
        do {
            try Shipment.checkBucket(S3Client(quick), ship.location)
            return nil
        } catch {
            switch error {
            case .refused: throw MountError("--ship \(ship.location.description): \(error)")
            case let .s3(e) where !e.isRetryable: throw MountError("--ship \(ship.location.description): \(e)")
            default: return "--ship \(ship.location.description): the bucket cannot be reached now (\(error)); "
                + "writes are kept locally and shipped once it can"
            }
        }
    }

    /// The tree size a checkpoint note names (its second line): the record number of the note itself.
    static func size(ofNote note: String) -> UInt64? {
        note.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().first.flatMap { UInt64($0) }
    }

    /// Starts shipping `store`: first what is stored up to its newest
    /// checkpoint (`newest`, that checkpoint's record), then every checkpoint
    /// `schedule` signs.
    static func start(_ ship: ShipSettings.Resolved, store: Store, newest: UInt64?, log: AuditLog, metrics: MountMetrics,
                      alerts: AlertDispatcher, mountpoint: String) -> Shipper {
        let shipment = Shipment(store: StoreDirectory(store.path), identity: store.identity, location: ship.location,
                                retain: ship.retain, client: S3Client(ship.configuration))
        let bucket = ship.location.description + "/" + store.identity.idHex
        let storePath = store.path
        let shipper = Shipper(shipment) { outcome in
            func record(_ event: String, error: String?, backlog: UInt64?, detail: String? = nil) {
                let now = log.now
                var e = EventRecord(time: Timestamps.rfc3339(now), timeNs: now, event: event, daemon: log.daemon.pid,
                                    mountpoint: mountpoint, store: storePath, error: error, detail: detail)
                e.bucket = bucket
                e.backlog = backlog
                do { try log.event(e) } catch { Log.error("could not record the event \(event): \(error)") }
                if event != "ship-resumed" { alerts.shipFailed(e) }
            }
            switch outcome {
            case let .shipped(objects, bytes, _, backlog):
                metrics.shipped(objects: objects, bytes: bytes, backlog: backlog)
            case let .failed(why, attempt, backlog, retry):
                metrics.shipFailed(backlog: backlog)
                Log.error("shipping to \(bucket) failed (attempt \(attempt), retrying in \(Int(retry)) s): \(why)")
                if attempt == 1 { record("ship-failed", error: why, backlog: backlog) }
            case let .resumed(attempts, backlog):
                Log.note("shipping to \(bucket) caught up after \(attempts) failed attempt(s)")
                record("ship-resumed", error: nil, backlog: backlog, detail: "after \(attempts) failed attempt(s)")
            case let .stopped(error):
                metrics.shipStopped()
                Log.error("shipping to \(bucket) stopped: \(error)")
                record("ship-stopped", error: error.description, backlog: nil)
            }
        }
        shipper.start(through: newest)
        return shipper
    }
}
