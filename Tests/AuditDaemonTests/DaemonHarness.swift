import AuditPlumbing
import AuditPolicy
import AuditRecords
import AuditStore
import FUSEInterface
import Foundation
import Glibc
import Synchronization
@testable import AuditDaemon

/// The daemon's logic without a kernel: a fresh store in a temp directory,
/// a policy, the /.audit log, an `Authorizer` and an `AuditFileSystem`,
/// driven by calling the `FileSystemOperations` methods with a
/// `RequestContext` for any uid — no /dev/fuse, no root, no mount.
///
///     let h = try DaemonHarness()
///     let alice = h.caller(uid: 1000)
///     let file = try h.create(alice, "/w/app.log")
///     h.fs.write(alice, ino: file.ino, data: ..., offset: 0, handle: file.handle)
///     h.decisions()   // what /.audit/decisions recorded
///
/// The callers' thread id is this test's own thread, so `Caller` reads a real
/// /proc/TID (the test process's pid and command name). Each harness is
/// independent; `close()` (or deinit) closes the store and removes the
/// directory.
final class DaemonHarness: @unchecked Sendable {
    let directory: String
    let store: Store
    let authorizer: Authorizer
    let fs: AuditFileSystem
    let metrics: MountMetrics
    private var closed = false

    /// The store's clock (ns since the epoch): what every record's time is.
    /// Starts at 2026-01-01 and moves only when a test moves it.
    let clock = Clock()

    final class Clock: @unchecked Sendable {
        private let now = Mutex<Int64>(1_767_225_600_000_000_000)
        func read() -> Int64 { now.withLock { $0 } }
        func advance(seconds: Double) { now.withLock { $0 += Int64(seconds * 1e9) } }
    }

    /// `policy`: a policy's YAML text; nil: the built-in policy (everyone
    /// gets what the mount allows). `history`: the mount's `-o history`.
    init(policy: String? = nil, checkpointView: CheckpointView = CheckpointView(), history: Bool = false) throws {
        var template = Array("/tmp/auditfs-daemon-test.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw StoreError.io("mkdtemp: \(errno)") }
        directory = String(cString: made)
        var options = Store.Options()
        let clock = self.clock
        options.clock = { clock.read() }
        store = try Store.create(at: directory + "/store", options: options)
        let loaded: Authorizer.Loaded
        if let policy {
            loaded = Authorizer.Loaded(policy: try PolicyParser.parse(policy).policy, file: nil)
        } else {
            loaded = Authorizer.Loaded(policy: AccessPolicy.builtin, file: nil)
        }
        metrics = MountMetrics()
        let log = try AuditLog(store: store)
        authorizer = Authorizer(log: log, policy: loaded, metrics: metrics)
        fs = AuditFileSystem(store: store, authorizer: authorizer, checkpointView: checkpointView, history: history,
                             onReady: {})
        // A directory everyone may write in (a store's root is root's, 0755), made as by `auditfs` offline: no decision.
        try store.create(Self.work, kind: .directory, mode: 0o777, owner: 0, group: 0, by: .current())
    }

    /// A directory (root's, 0777) where every caller may create: the tests' files live in it.
    static let work = "/w"

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        store.close()
        _ = try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Callers

    /// A request from `uid` (gid: the same number unless given), on this thread.
    func caller(uid: UInt32, gid: UInt32? = nil, groups: [UInt32] = []) -> RequestContext {
        RequestContext(uid: uid, gid: gid ?? uid, tid: Self.threadID(), groups: { groups })
    }

    var root: RequestContext { caller(uid: 0) }

    /// The calling thread's id (/proc/thread-self links to PID/task/TID).
    static func threadID() -> UInt32 {
        var buf = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/thread-self", &buf, buf.count - 1)
        guard n > 0 else { return UInt32(getpid()) }
        let text = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "/").last.flatMap { UInt32($0) } ?? UInt32(getpid())
    }

    // MARK: The namespace

    func ino(_ path: String) -> UInt64? { store.lookup(path)?.id }

    func node(_ path: String) -> NodeInfo? { store.lookup(path) }

    /// The parent's id and the last name of `path`.
    func split(_ path: String) -> (parent: UInt64, name: [UInt8]) {
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))!
        let dir = String(path.utf8[..<slash])!
        let parent = dir.isEmpty ? store.lookup("/")!.id : store.lookup(dir)!.id
        return (parent, Array(path.utf8[path.utf8.index(after: slash)...]))
    }

    /// A file, created as `who` would with open(O_CREAT|flags, mode).
    @discardableResult
    func create(_ who: RequestContext, _ path: String, mode: UInt32 = 0o644,
                flags: Int32 = O_WRONLY | O_APPEND | O_CREAT) throws -> Created {
        let (parent, name) = split(path)
        return try fs.create(who, parent: parent, name: name, mode: mode, flags: flags).get()
    }

    @discardableResult
    func mkdir(_ who: RequestContext, _ path: String, mode: UInt32 = 0o755) throws -> Entry {
        let (parent, name) = split(path)
        return try fs.mkdir(who, parent: parent, name: name, mode: mode).get()
    }

    /// write() of `bytes` through an open handle; answers the byte count or the errno.
    func write(_ who: RequestContext, _ ino: UInt64, _ bytes: [UInt8], at offset: Int64,
               handle: UInt64) -> Result<Int, Errno> {
        bytes.withUnsafeBytes { fs.write(who, ino: ino, data: $0, offset: offset, handle: handle) }
    }

    func write(_ who: RequestContext, _ ino: UInt64, _ text: String, at offset: Int64, handle: UInt64) -> Result<Int, Errno> {
        write(who, ino, Array(text.utf8), at: offset, handle: handle)
    }

    /// A file's bytes, from the store.
    func contents(_ path: String) throws -> [UInt8] {
        let n = store.lookup(path)!
        return try store.read(n.id, offset: 0, count: Int(n.size))
    }

    /// Every name in the store, with its size: what a refusal must leave as it was
    /// (outside /.audit).
    func snapshot() -> [String: UInt64] {
        var all: [String: UInt64] = [:]
        func walk(_ n: NodeInfo) {
            if Store.isAuditPath(n.path) { return }
            all[n.path] = n.size
            if n.isDirectory { for c in store.children(of: n.id) { walk(c) } }
        }
        walk(store.lookup("/")!)
        return all
    }

    // MARK: What was recorded

    /// Every decision line written so far (count lines of folded repeats included).
    func decisions() -> [DecisionRecord] {
        guard let dir = store.lookup(AuditLayout.decisionsDirectory) else { return [] }
        var out: [DecisionRecord] = []
        for day in store.children(of: dir.id) {
            guard let bytes = try? store.read(day.id, offset: 0, count: Int(day.size)) else { continue }
            for line in bytes.split(separator: UInt8(ascii: "\n")) {
                if let d = try? JSONDecoder().decode(DecisionRecord.self, from: Data(line)) { out.append(d) }
            }
        }
        return out
    }

    /// Every line of /.audit/alerts.jsonl, once the alerts in flight are sent.
    func alerts() -> [AlertRecord] {
        authorizer.log.alerts.drain(timeout: 10)
        guard let n = store.lookup(AuditLayout.alerts), let bytes = try? store.read(n.id, offset: 0, count: Int(n.size)) else {
            return []
        }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(AlertRecord.self, from: Data($0)) }
    }

    /// The decisions about `path` (as the record spells it).
    func decisions(about path: String) -> [DecisionRecord] {
        decisions().filter { $0.path == path }
    }
}

extension Result {
    /// The error of a failure, nil on success.
    var failure: Failure? {
        if case let .failure(e) = self { return e }
        return nil
    }
}
