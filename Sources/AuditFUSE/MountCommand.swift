import ArgumentParser
import AuditStore
#if canImport(Glibc)
import Glibc
#endif

/// `auditfs mount STORE MOUNTPOINT [-f] [-o OPTIONS]`.
public struct MountCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount a store: programs create and append files; nothing written can change.",
        discussion: """
            Returns once the mount serves, leaving the daemon in the background; -f keeps it in \
            the foreground (for systemd). Unmount with `umount MOUNTPOINT`, `fusermount3 -u MOUNTPOINT` \
            or SIGTERM/SIGINT to the daemon: every acknowledged write is in the store and synced. \
            Runs as root and mounts with allow_other,default_permissions so that each user's \
            writes carry their own uid.
            """)

    @Argument(help: "The store directory (made with `auditfs init`).")
    var store: String

    @Argument(help: "An existing, empty directory to mount on.")
    var mountpoint: String

    @Flag(name: [.customShort("f"), .long], help: "Stay in the foreground until unmounted or signalled.")
    var foreground = false

    @Option(name: .customShort("o"), help: "Mount options, comma-separated, added to allow_other,default_permissions.")
    var options: [String] = []

    @Option(name: .customLong("ready-fd"), help: .hidden)
    var readyFD: Int32?

    public init() {}

    /// The options every mount gets, before the caller's.
    static let defaultOptions = ["allow_other", "default_permissions", "fsname=auditfs", "subtype=auditfs"]

    public func run() throws {
        if !foreground {
            var args = ["mount", store, mountpoint, "-f", "--ready-fd", "3"]
            for o in options { args += ["-o", o] }
            Background.start(arguments: args)
        }
        let readiness = Readiness(fd: readyFD)
        if readyFD != nil { _ = setsid() }   // started by Background: leave the starter's session
        do {
            let code = try serve(readiness)
            if code < 0 {
                Background.say("the FUSE loop ended with an error: \(String(cString: strerror(-code)))")
                throw ExitCode(1)
            }
        } catch let error as MountError {
            readiness.failed(error.message)
            if readyFD == nil { Background.say(error.message) }
            throw ExitCode(1)
        }
    }

    /// Checks, opens the store, mounts and serves; returns after unmount with
    /// the store synced and closed.
    private func serve(_ readiness: Readiness) throws(MountError) -> Int32 {
        try Preflight.requireRoot()
        try Preflight.requireFuseDevice()
        try Preflight.requireFusermount()
        let mountpointPath = try Preflight.checkMountpoint(mountpoint)
        let s: Store
        do {
            s = try Store.open(at: Self.absolute(store), mode: .readWrite)
        } catch {
            throw MountError(error.description)
        }
        defer { s.close() }
        if let recovery = s.recovery {
            readiness.note(recovery.description)
            if readyFD == nil { Background.say(recovery.description) }
        }
        let announce = readyFD == nil
        let storePath = s.path
        let fileSystem = AuditFileSystem(store: s) {
            readiness.ready()
            if announce { Background.say("serving store '\(storePath)' on \(mountpointPath)") }
        }
        let all = (Self.defaultOptions + options).joined(separator: ",")
        return try Session.serve(fileSystem, mountpoint: mountpointPath, options: all, echoLog: readyFD == nil)
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }
}
