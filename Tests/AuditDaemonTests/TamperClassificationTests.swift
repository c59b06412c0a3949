import AuditRecords
import AuditStore
import FUSEInterface
import Glibc
import Testing
@testable import AuditDaemon

/// Tamper means tamper (docs/POLICY.md "Tamper and refusals"): a refusal is
/// recorded with `tamper: true` only when it was an attempt to change or
/// remove bytes already written — overwrite, truncate, fallocate, unlink,
/// rmdir, rename (without history), anything under /.audit. A refused chmod, chown or
/// utimens of a non-empty file, an extended attribute, a symlink or mknod
/// change no stored byte: they are refusals with `tamper: false`, counted
/// in auditfs_refusals_total, and a `tamper` alert rule does not fire on
/// them. Every attempt reaches the file system as the kernel would send it.
@Suite struct TamperClassificationTests {
    static let policy = """
        apiVersion: auditfs/v1
        roles:
          - name: writer
            rules:
              - paths: ["/w/**"]
                verbs: [create, append, read, list, mkdir]
        bindings:
          - role: writer
            subjects: [{uid: 1000}]
        alerts:
          - name: tamper
            on: tamper
            actions:
              - syslog: {socket: /nonexistent/auditfs-test.sock}
        """

    /// One refused operation: what it is recorded as, and how to attempt it
    /// on /w/app.log (uid 1000's, holding "first\\n") in a harness that also
    /// has the directory /w/dir.
    struct Attempt: Sendable, CustomTestStringConvertible {
        let verb: String
        let path: String
        let rule: String
        let tamper: Bool
        let errno: Int32
        let attempt: @Sendable (DaemonHarness, UInt64) -> Errno?
        var testDescription: String { "\(verb) \(path)" }
    }

    static let alice = UInt32(1000)

    static let attempts: [Attempt] = [
        // Tamper: stored bytes would change or disappear.
        Attempt(verb: "write", path: "/w/app.log", rule: "append-only", tamper: true, errno: EPERM) { h, ino in
            let who = h.caller(uid: alice)
            guard let plain = try? h.fs.open(who, ino: ino, flags: O_WRONLY).get() else { return Errno(0) }
            return h.write(who, ino, "XXXXX\n", at: 0, handle: plain.handle).failure
        },
        Attempt(verb: "truncate", path: "/w/app.log", rule: "no-truncate", tamper: true, errno: EPERM) { h, ino in
            h.fs.open(h.caller(uid: alice), ino: ino, flags: O_WRONLY | O_TRUNC).failure
        },
        Attempt(verb: "truncate", path: "/w/app.log", rule: "no-truncate", tamper: true, errno: EPERM) { h, ino in
            h.fs.setattr(h.caller(uid: alice), ino: ino, changes: AttributeChanges(size: 3), handle: nil).failure
        },
        Attempt(verb: "fallocate", path: "/w/app.log", rule: "no-fallocate", tamper: true, errno: EOPNOTSUPP) { h, ino in
            h.fs.fallocate(h.caller(uid: alice), ino: ino, mode: 0, offset: 0, length: 4096, handle: 0).failure
        },
        Attempt(verb: "unlink", path: "/w/app.log", rule: "permanent-names", tamper: true, errno: EPERM) { h, _ in
            let (parent, name) = h.split("/w/app.log")
            return h.fs.unlink(h.caller(uid: alice), parent: parent, name: name).failure
        },
        Attempt(verb: "rmdir", path: "/w/dir", rule: "permanent-names", tamper: true, errno: EPERM) { h, _ in
            let (parent, name) = h.split("/w/dir")
            return h.fs.rmdir(h.caller(uid: alice), parent: parent, name: name).failure
        },
        Attempt(verb: "rename", path: "/w/app.log", rule: "permanent-names", tamper: true, errno: EPERM) { h, _ in
            let (parent, name) = h.split("/w/app.log")
            return h.fs.rename(h.caller(uid: alice), parent: parent, name: name, newParent: parent,
                               newName: Array("app.log.1".utf8), flags: 0).failure
        },
        Attempt(verb: "link", path: "/w/app.log", rule: "no-hard-links", tamper: false, errno: EPERM) { h, ino in
            let (parent, _) = h.split("/w/app.log")
            return h.fs.link(h.caller(uid: alice), ino: ino, newParent: parent, newName: Array("again".utf8)).failure
        },
        Attempt(verb: "symlink", path: "/.audit/s", rule: "audit-namespace", tamper: true, errno: EPERM) { h, _ in
            guard let audit = h.ino(AuditPaths.root) else { return Errno(0) }
            return h.fs.symlink(h.root, target: Array("/etc/passwd".utf8), parent: audit, name: Array("s".utf8)).failure
        },
        Attempt(verb: "chmod", path: AuditPaths.root, rule: "audit-namespace", tamper: true, errno: EPERM) { h, _ in
            guard let audit = h.ino(AuditPaths.root) else { return Errno(0) }
            return h.fs.setattr(h.root, ino: audit, changes: AttributeChanges(mode: 0o777), handle: nil).failure
        },
        // Refusals: no stored byte changes, none is hidden.
        Attempt(verb: "chmod", path: "/w/app.log", rule: "frozen-attributes", tamper: false, errno: EPERM) { h, ino in
            h.fs.setattr(h.caller(uid: alice), ino: ino, changes: AttributeChanges(mode: 0o600), handle: nil).failure
        },
        Attempt(verb: "chown", path: "/w/app.log", rule: "frozen-attributes", tamper: false, errno: EPERM) { h, ino in
            h.fs.setattr(h.root, ino: ino, changes: AttributeChanges(uid: 2000), handle: nil).failure
        },
        Attempt(verb: "utimens", path: "/w/app.log", rule: "frozen-attributes", tamper: false, errno: EPERM) { h, ino in
            h.fs.setattr(h.caller(uid: alice), ino: ino, changes: AttributeChanges(atime: .at(1_000_000_000_123), mtime: .at(1_000_000_000_123)), handle: nil).failure
        },
        Attempt(verb: "setxattr", path: "/w/app.log", rule: "no-xattr", tamper: false, errno: ENOTSUP) { h, ino in
            h.fs.setxattr(h.caller(uid: alice), ino: ino, name: Array("security.selinux".utf8), value: [0x78], flags: 0).failure
        },
        Attempt(verb: "removexattr", path: "/w/app.log", rule: "no-xattr", tamper: false, errno: ENOTSUP) { h, ino in
            h.fs.removexattr(h.caller(uid: alice), ino: ino, name: Array("user.x".utf8)).failure
        },
        Attempt(verb: "symlink", path: "/w/sym", rule: "no-special-files", tamper: false, errno: EPERM) { h, _ in
            let (parent, name) = h.split("/w/sym")
            return h.fs.symlink(h.caller(uid: alice), target: Array("app.log".utf8), parent: parent, name: name).failure
        },
        Attempt(verb: "mknod", path: "/w/fifo", rule: "no-special-files", tamper: false, errno: EPERM) { h, _ in
            let (parent, name) = h.split("/w/fifo")
            return h.fs.mknod(h.caller(uid: alice), parent: parent, name: name, mode: UInt32(S_IFIFO) | 0o644, device: 0).failure
        },
    ]

    /// A harness with /w/app.log ("first\n", uid 1000's) and the directory /w/dir.
    static func withLog() throws -> (DaemonHarness, UInt64) {
        let h = try DaemonHarness(policy: policy)
        let who = h.caller(uid: alice)
        let file = try h.create(who, "/w/app.log")
        #expect(h.write(who, file.entry.ino, "first\n", at: 0, handle: file.opened.handle) == .success(6))
        try h.mkdir(who, "/w/dir")
        return (h, file.entry.ino)
    }

    /// The value of one Prometheus sample (`name{kind="…"} value`), nil when absent.
    static func sample(_ h: DaemonHarness, _ name: String, kind: String) -> Int? {
        let line = h.metrics.registry.emitToString().split(separator: "\n")
            .first { $0.hasPrefix("\(name){kind=\"\(kind)\"} ") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
    }

    @Test(arguments: attempts)
    func aRefusalIsTamperExactlyWhenItWouldChangeStoredBytes(_ a: Attempt) throws {
        let (h, ino) = try Self.withLog()
        let before = h.snapshot()
        #expect(a.attempt(h, ino) == Errno(a.errno))
        #expect(h.snapshot() == before)
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
        let r = try #require(h.decisions(about: a.path).last { $0.verb == a.verb && $0.decision == "deny" })
        #expect(r.reason == "mount-rule" && r.mountRule == a.rule && r.errno == a.errno)
        #expect(r.tamper == a.tamper)
        // The metric and the alert follow the record.
        let tampers = Self.sample(h, "auditfs_tamper_attempts_total", kind: a.rule)
        let refusals = Self.sample(h, "auditfs_refusals_total", kind: a.rule)
        #expect(a.tamper ? (tampers == 1 && refusals == nil) : (tampers == nil && refusals == 1))
        let alerts = h.alerts()
        #expect(alerts.count == (a.tamper ? 1 : 0))
        if a.tamper {
            #expect(alerts.first?.alert == "tamper" && alerts.first?.decision?.verb == a.verb)
        }
    }

    @Test func everyRuleHasOneClassAndEveryKindIsScrapedFromZero() throws {
        let h = try DaemonHarness()
        let tamper = Set(MountRules.Rule.allCases.filter(\.isTamper).map(\.rawValue))
        #expect(tamper == ["append-only", "no-truncate", "permanent-names", "no-fallocate", "audit-namespace"])
        for rule in MountRules.Rule.allCases {
            let name = rule.isTamper ? "auditfs_tamper_attempts_total" : "auditfs_refusals_total"
            let other = rule.isTamper ? "auditfs_refusals_total" : "auditfs_tamper_attempts_total"
            #expect(Self.sample(h, name, kind: rule.rawValue) == 0, "\(rule)")
            #expect(Self.sample(h, other, kind: rule.rawValue) == nil, "\(rule)")
        }
    }

    /// History mode's two refusals are routine: a writer that kept its
    /// descriptor across a rotation, a rename flag a record cannot hold.
    /// /.audit stays tamper there too.
    @Test func historyRefusalsAreNotTamperAndAuditNamespaceStillIs() throws {
        let h = try DaemonHarness(policy: Self.policy.replacingOccurrences(
            of: "verbs: [create, append, read, list, mkdir]", with: "verbs: [create, append, read, list, mkdir, rename, remove]"),
            history: true)
        let who = h.caller(uid: Self.alice)
        let file = try h.create(who, "/w/app.log")
        #expect(h.write(who, file.entry.ino, "first\n", at: 0, handle: file.opened.handle) == .success(6))
        try h.create(who, "/w/other.log")
        #expect(h.unlink(who, "/w/other.log").failure == nil)
        #expect(h.rename(who, "/w/app.log", "/w/app.log.1").failure == nil)
        #expect(h.rename(who, "/w/app.log.1", "/w/x", flags: 2).failure == Errno(EINVAL))
        try h.create(who, "/w/app.log")
        #expect(h.rename(who, "/w/app.log", "/w/app.log.1").failure == nil)   // retires the first file
        #expect(h.write(who, file.entry.ino, "late\n", at: 6, handle: file.opened.handle).failure == Errno(EPERM))
        #expect(h.decisions().filter(\.tamper).isEmpty)
        #expect(h.alerts().isEmpty)
        #expect(Self.sample(h, "auditfs_refusals_total", kind: "retired") == 1)
        #expect(Self.sample(h, "auditfs_refusals_total", kind: "rename-flags") == 1)
        #expect(h.rename(who, "/w/app.log.1", "/.audit/x").failure == Errno(EPERM))
        #expect(Self.sample(h, "auditfs_tamper_attempts_total", kind: "audit-namespace") == 1)
        #expect(h.alerts().first?.decision?.mountRule == "audit-namespace")
    }

    @Test func routineRefusalsFireNoTamperAlertAndAnOverwriteDoes() throws {
        let (h, ino) = try Self.withLog()
        let routine = Self.attempts.filter { !$0.tamper }
        for a in routine { #expect(a.attempt(h, ino) == Errno(a.errno), "\(a.verb)") }
        #expect(h.decisions().filter(\.tamper).isEmpty)
        #expect(h.alerts().isEmpty)
        #expect(Self.attempts[0].attempt(h, ino) == Errno(EPERM))   // the overwrite
        let alerts = h.alerts()
        #expect(alerts.count == 1 && alerts.first?.decision?.verb == "write" && alerts.first?.decision?.tamper == true)
        #expect(try h.contents("/w/app.log") == Array("first\n".utf8))
    }
}
