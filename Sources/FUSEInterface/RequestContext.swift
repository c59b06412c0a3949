/// Who sent a request, as the kernel put it in the FUSE request header: the
/// caller's uid and gid and the id of the calling THREAD (the header's "pid"
/// field holds the thread id). The bridge fills it from `fuse_req_ctx`; tests
/// construct it with fixed values.
///
/// The process id is not in the request: the daemon resolves it from
/// /proc/TID (`Caller`). The supplementary groups cost a file read
/// (`fuse_req_getgroups` reads /proc/PID/task/TID/status), so they are read
/// only when `groups()` is called, and only while the request is being
/// handled.
public struct RequestContext: Sendable {
    public let uid: UInt32
    public let gid: UInt32
    /// The calling thread's id (the kernel's `fuse_in_header.pid`).
    public let tid: UInt32
    /// The groups are read by `readGroupsOf(groupsSource)`: a function that
    /// captures nothing and the request it reads them from, so that making
    /// a context (once per FUSE request, every write) allocates nothing; or,
    /// for a test, by the closure given.
    private let groupsSource: UInt
    private let readGroupsOf: @Sendable (UInt) -> [UInt32]

    public init(uid: UInt32, gid: UInt32, tid: UInt32, groups: @escaping @Sendable () -> [UInt32] = { [] }) {
        self.init(uid: uid, gid: gid, tid: tid, groupsSource: 0, readGroupsOf: { _ in groups() })
    }

    /// `readGroupsOf` should capture nothing: it is called with `groupsSource`
    /// (the bridge passes the request's address).
    public init(uid: UInt32, gid: UInt32, tid: UInt32, groupsSource: UInt,
                readGroupsOf: @escaping @Sendable (UInt) -> [UInt32]) {
        self.uid = uid
        self.gid = gid
        self.tid = tid
        self.groupsSource = groupsSource
        self.readGroupsOf = readGroupsOf
    }

    /// The caller's supplementary groups (empty when unknown). Each call reads them again.
    public func groups() -> [UInt32] { readGroupsOf(groupsSource) }
}
