import AuditPlumbing
import AuditPolicy
import AuditStore
import FUSEInterface
import Synchronization
import Glibc

/// The permission policy in force and the record of every decision.
///
/// Decisions are made where a caller gains access, never per read()/write():
/// open (read, append), create, mkdir, opendir (list), setattr (a change the
/// mount rules allow), rename and remove (history mode), and every refusal
/// by a mount rule (a tamper attempt or a plain refusal, as
/// `MountRules.Rule.isTamper` classes it).
/// Each is one line in /.audit/decisions/YYYY-MM-DD.jsonl, written before
/// the caller gets the answer. Not recorded: a grant of read or list under
/// /.audit, so that reading the audit files never feeds more records into
/// them (a denial there is recorded).
///
/// Repeats and floods are folded into count lines by `AuditLog`
/// (docs/POLICY.md "Floods"); the first decision of a kind is still written
/// before the caller gets the answer. A decision that cannot be recorded
/// because the disk is full is counted and written when space returns: a
/// read or list is answered as decided (readers keep reading), a denial is
/// denied, and a grant to write (create, append, mkdir, setattr, rename, remove) is refused
/// with ENOSPC (EDQUOT when it is the quota that is full). Any other failure to record refuses with EIO (fail closed).
/// Reload swaps the policy atomically: a decision uses the policy it read
/// at its start, whole.
final class Authorizer: Sendable {
    /// A policy with the file it came from (nil: the built-in policy).
    final class Loaded: Sendable {
        let policy: AccessPolicy
        let file: String?
        init(policy: AccessPolicy, file: String?) { self.policy = policy; self.file = file }
    }

    let log: AuditLog
    /// The policy in force. Lock order: a leaf (held only to copy or swap
    /// the reference); a decision is recorded through `log` after it.
    private let current: Mutex<Loaded>
    let names = Names()
    /// Counters of grants, denies, tamper attempts and refusals (and the mount's other metrics).
    let metrics: MountMetrics

    init(log: AuditLog, policy: Loaded, metrics: MountMetrics = MountMetrics()) {
        self.log = log
        self.current = Mutex(policy)
        self.metrics = metrics
        log.alerts.use(policy.policy.alerts)
    }

    var loaded: Loaded { current.withLock { $0 } }

    /// Puts `new` in force for every decision that starts from now on.
    func swap(to new: Loaded) {
        current.withLock { $0 = new }
        log.alerts.use(new.policy.alerts)
    }

    /// Asks the policy whether the request's caller may `verb` `path`;
    /// records the decision, with `target` (a rename's other name). Returns
    /// nil to go ahead, or the errno (EACCES; EIO when the decision could
    /// not be recorded).
    func check(_ context: RequestContext, _ verb: Verb, _ path: String, target: String? = nil) -> Int32? {
        let policy = loaded.policy
        let who = Caller.provenance(of: context, fresh: true)
        let groups = policy.namesGroups ? context.groups() : nil
        let d = policy.decide(Principal(uid: who.uid, gid: who.gid, groups: groups ?? []), verb, path)
        if d.granted && (verb == .read || verb == .list) && Store.isAuditPath(path) { return nil }
        var r = record(who, thread: context.tid, groups: groups, verb: verb.rawValue, path: path, policy: policy)
        r.target = target
        if d.granted {
            r.decision = "grant"
            r.reason = "rule"
            r.role = d.role
            r.binding = d.binding.map { $0 + 1 }
            r.bindingLine = d.bindingLine
            r.rule = d.ruleLine
            r.glob = d.glob
        } else {
            r.errno = EACCES
            r.error = Self.errnoName(EACCES)
        }
        (d.granted ? metrics.grants : metrics.denies).increment()
        do {
            try log.record(r)
        } catch let e where e.isOutOfSpace {
            // Counted as unrecorded by the log; nothing can be written anyway.
            if d.granted && verb != .read && verb != .list { return e.errno }
        } catch {
            Log.error("could not record a decision (\(verb.rawValue) \(path)), refused with EIO: \(error)")
            return EIO
        }
        return d.granted ? nil : EACCES
    }

    /// Records a refusal by a mount rule — tamper or not, as the rule's class
    /// says — and returns its errno (the refusal stands even if it cannot be
    /// recorded).
    func refuse(_ context: RequestContext, _ operation: String, _ path: String, target: String? = nil,
                rule: MountRules.Rule, errno: Int32) -> Int32 {
        let who = Caller.provenance(of: context, fresh: true)
        var r = record(who, thread: context.tid, groups: nil, verb: operation, path: path, policy: loaded.policy)
        r.target = target
        r.reason = "mount-rule"
        r.mountRule = rule.rawValue
        r.errno = errno
        r.error = Self.errnoName(errno)
        r.tamper = rule.isTamper
        do { try log.record(r) } catch let e where e.isOutOfSpace {
            // Counted as unrecorded, written when space returns.
        } catch { Log.error("could not record a refused \(operation) of \(path): \(error)") }
        metrics.denies.increment()
        metrics.refused(rule).increment()
        return errno
    }

    /// A denial record for `who`; the caller fills in what decided it.
    func record(_ who: Provenance, thread: UInt32, groups: [UInt32]?, verb: String, path: String,
                policy: AccessPolicy) -> DecisionRecord {
        let now = log.now
        var r = DecisionRecord(time: Timestamps.rfc3339(now), timeNs: now, uid: who.uid, user: names.user(who.uid),
                              gid: who.gid, group: names.group(who.gid), groups: groups, pid: who.pid,
                              command: who.command, verb: verb, path: path, target: nil, decision: "deny",
                              reason: "default-deny", errno: 0, tamper: false, policy: policy.sha256)
        r.tid = thread
        return r
    }

    static func errnoName(_ e: Int32) -> String {
        switch e {
        case EACCES: "EACCES"
        case EPERM: "EPERM"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EISDIR: "EISDIR"
        case EIO: "EIO"
        case EINVAL: "EINVAL"
        case ENOSPC: "ENOSPC"
        default: "errno \(e)"
        }
    }
}

/// User and group names for the decision records, from the user database,
/// each kept for `ttl` (a decision per open must not cost an NSS lookup;
/// a user renamed or created shows up within the ttl). The lookups
/// (getpwuid_r, getgrgid_r: thread-safe) run outside the lock, which is a
/// leaf held only to read or store an entry: an NSS lookup that hangs (an
/// LDAP server gone) holds up only the FUSE request that needed that name,
/// not every decision of the mount. Two callers missing the same name at
/// once both look it up.
final class Names: Sendable {
    static let ttl: Int64 = 10_000_000_000

    private struct Entry { var name: String?; var at: Int64 }
    private struct Tables { var users: [UInt32: Entry] = [:], groups: [UInt32: Entry] = [:] }
    private let cache = Mutex(Tables())
    /// What the ttl is measured on.
    let clock: Clock

    init(clock: Clock = .monotonic) { self.clock = clock }

    func user(_ uid: UInt32) -> String? { cached(\.users, uid, SystemUsers.userName) }

    func group(_ gid: UInt32) -> String? { cached(\.groups, gid, SystemUsers.groupName) }

    private func cached(_ table: WritableKeyPath<Tables, [UInt32: Entry]> & Sendable, _ id: UInt32,
                        _ lookup: (UInt32) -> String?) -> String? {
        let now = clock.now
        if let e = cache.withLock({ $0[keyPath: table][id] }), now - e.at < Self.ttl { return e.name }
        RequestThread.mayBlock()   // the session loop reads the next requests on another thread meanwhile
        let name = lookup(id)   // not under the lock: a slow lookup holds up its own caller only
        cache.withLock { $0[keyPath: table][id] = Entry(name: name, at: now) }
        return name
    }
}
