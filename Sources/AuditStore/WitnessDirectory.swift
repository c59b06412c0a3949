#if canImport(Glibc)
import Glibc
#endif

/// The witness directory of `Checkpointer.Options.witnessDirectory`: checked
/// before a mount or `auditfs checkpoint` starts, so that a directory that
/// cannot take checkpoints is a one-line error at once rather than a
/// witness that silently never gets one.
public enum WitnessDirectory {
    /// Throws unless `path` is an existing directory in which this process
    /// can create a file: proven by creating and removing a probe file
    /// (`.auditfs-probe-PID`), so a read-only mount or a directory of
    /// /proc fails here and not at the first checkpoint.
    public static func check(_ path: String) throws(StoreError) {
        guard FileSystem.exists(path) else { throw .io("witness directory '\(path)' does not exist") }
        guard FileSystem.isDirectory(path) else { throw .io("witness directory '\(path)' is not a directory") }
        let probe = path + "/.auditfs-probe-\(getpid())"
        do {
            _ = try RawFile.open(probe, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        } catch {
            let why = (error as? SystemError).map { String(cString: strerror($0.errno)) } ?? "\(error)"
            throw .io("witness directory '\(path)' is not writable: \(why)")
        }
        FileSystem.remove(probe)
    }
}
