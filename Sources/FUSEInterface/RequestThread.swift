import Synchronization

/// What a request's handler says before it may wait on something outside the
/// mount, such as a user-database lookup that hangs while an LDAP server is
/// gone: the session lets another thread read the next requests meanwhile,
/// so the wait holds up only the request that needed it. The session loop
/// answers some requests (small WRITEs, OPEN, LOOKUP, ...) on the thread
/// that read them, which otherwise reads the next request only after it.
///
/// The bridge installs its loop's hook before it serves; elsewhere (unit
/// tests, the command-line tools) `mayBlock()` does nothing.
public enum RequestThread {
    /// The hook's address (a C function pointer), or 0.
    private static let hook = Atomic<UInt>(0)

    public static func install(_ function: @convention(c) () -> Void) {
        hook.store(unsafeBitCast(function, to: UInt.self), ordering: .releasing)
    }

    public static func mayBlock() {
        let raw = hook.load(ordering: .acquiring)
        guard raw != 0 else { return }
        unsafeBitCast(raw, to: (@convention(c) () -> Void).self)()
    }
}
