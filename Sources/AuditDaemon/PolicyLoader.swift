import AuditPlumbing
import AuditPolicy
import AuditStore
import Foundation
import Synchronization

/// Loading the policy at mount and reloading it without unmounting (SIGHUP
/// or `auditfs policy reload`). Every load and reload is one line of
/// /.audit/policy/changes.jsonl (who, previous and new SHA-256, the change
/// spelled out by `PolicyDiff`) and one event in /.audit/events.jsonl; every
/// text enforced is kept as /.audit/policy/SHA256.yaml.
///
/// A reload that fails to parse is rejected and the policy in force stays.
/// An accepted one is recorded first, then swapped in: decisions after the
/// swap name the new policy's hash.
final class PolicyLoader: Sendable {
    let authorizer: Authorizer
    let mountpoint: String
    private let serial = Mutex<Void>(())

    init(authorizer: Authorizer, mountpoint: String) {
        self.authorizer = authorizer
        self.mountpoint = mountpoint
    }

    var log: AuditLog { authorizer.log }

    /// Reads and parses a policy file; the error is one line, FILE:LINE:COLUMN: message.
    /// The file, the executable of every alert command and the directory of
    /// every alert file must be ones only root could have written
    /// (`TrustedPath`), or the policy is refused.
    static func parse(file: String) -> Result<AccessPolicy, MountError> {
        let data: [UInt8]
        do { data = try TrustedPath.read(file, what: "policy") } catch { return .failure(error) }
        guard let text = String(validating: data, as: UTF8.self) else {
            return .failure(MountError("policy file '\(file)' is not UTF-8"))
        }
        let policy: AccessPolicy
        do {
            policy = try PolicyParser.parse(text).policy
        } catch {
            let e = error.errors[0]
            return .failure(MountError("\(file):\(e.line):\(e.column): \(e.message)"))
        }
        for rule in policy.alerts {
            for action in rule.actions {
                do {
                    switch action {
                    case let .command(argv, _): try TrustedPath.checkExecutable(argv[0], what: "alert '\(rule.name)' command")
                    case let .file(path): try TrustedPath.checkDirectory(of: path, what: "alert '\(rule.name)' file")
                    case .syslog: break
                    }
                } catch {
                    return .failure(MountError("policy \(file): \(error.message)"))
                }
            }
        }
        return .success(policy)
    }

    /// Records the policy in force at mount, as a change from the last one
    /// this store enforced (nil for a new store).
    func recordInitialLoad(by actor: Actor) throws(StoreError) {
        let loaded = authorizer.loaded
        let last = log.lastEnforcedPolicy()
        let previous = last.flatMap { $0.text }.flatMap { try? PolicyParser.parse($0).policy }
        let textPath = try log.keep(loaded.policy)
        let now = log.now
        let diff = PolicyDiff(from: previous, to: loaded.policy)
        try log.policyChange(PolicyChangeRecord(
            time: Timestamps.rfc3339(now), timeNs: now, event: "load",
            outcome: last?.sha256 == loaded.policy.sha256 ? "unchanged" : "accepted", file: loaded.file, by: actor,
            previous: last?.sha256, new: loaded.policy.sha256, text: textPath, error: nil, changes: diff))
    }

    /// Re-reads the policy file, and puts it in force if it parses.
    func reload(by actor: Actor) -> PolicyControl.ReloadReply {
        serial.withLock { _ in reloadLocked(by: actor) }
    }

    private func reloadLocked(by actor: Actor) -> PolicyControl.ReloadReply {
        let old = authorizer.loaded
        let now = log.now
        var change = PolicyChangeRecord(time: Timestamps.rfc3339(now), timeNs: now, event: "reload", outcome: "rejected",
                                        file: old.file, by: actor, previous: old.policy.sha256, new: old.policy.sha256)
        var event = EventRecord(time: change.time, timeNs: now, event: "reload-rejected", daemon: log.daemon.pid,
                                mountpoint: mountpoint, policy: old.policy.sha256, policyFile: old.file, by: actor)
        let parsed: Result<AccessPolicy, MountError> = old.file.map(Self.parse(file:))
            ?? .failure(MountError("the mount runs the built-in policy (no --policy): there is no file to reload"))
        switch parsed {
        case let .failure(error):
            change.error = error.message
            event.error = error.message
            do {
                try log.policyChange(change)
                try log.event(event)
            } catch {
                Log.error("could not record a rejected reload: \(error)")
            }
            Log.error("policy reload rejected, the policy in force stays: \(error.message)")
            return PolicyControl.ReloadReply(outcome: "rejected", previous: old.policy.sha256, new: old.policy.sha256,
                                             error: error.message, changes: nil)
        case let .success(policy):
            let diff = PolicyDiff(from: old.policy, to: policy)
            let outcome = policy.sha256 == old.policy.sha256 ? "unchanged" : "accepted"
            change.outcome = outcome
            change.new = policy.sha256
            change.changes = diff
            event.event = "reload-" + outcome
            event.policy = policy.sha256
            do {
                change.text = try log.keep(policy)
                try log.policyChange(change)
                try log.event(event)
            } catch {
                let message = "the reload could not be recorded, the policy in force stays: \(error)"
                Log.error(message)
                return PolicyControl.ReloadReply(outcome: "rejected", previous: old.policy.sha256,
                                                 new: old.policy.sha256, error: message, changes: nil)
            }
            // Swapped even when unchanged: the user database may have changed.
            authorizer.swap(to: Authorizer.Loaded(policy: policy, file: old.file))
            return PolicyControl.ReloadReply(outcome: outcome, previous: old.policy.sha256, new: policy.sha256,
                                             error: nil, changes: diff)
        }
    }
}
