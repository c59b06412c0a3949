import AuditPlumbing
import AuditStore
import FUSEInterface
import Glibc

extension Authorizer {
    /// Records a refusal by the mode bits (`ModeBits`, docs/MOUNT.md
    /// "Permission checks") — reason "mode-bits", with the mode and owner of
    /// the node that refused — and returns its errno. The refusal stands
    /// even if it cannot be recorded.
    func denyByModeBits(_ context: RequestContext, _ operation: String, _ path: String, node: ModeBits.Node,
                        nodePath: String, needed: String, groups: [UInt32]?, errno: Int32) -> Int32 {
        let who = Caller.provenance(of: context, fresh: true)
        var r = record(who, thread: context.tid, groups: groups, verb: operation, path: path,
                       policy: loaded.policy)
        r.reason = "mode-bits"
        r.modePath = nodePath
        r.mode = Self.octal(node.mode)
        r.ownerUid = node.uid
        r.ownerGid = node.gid
        r.needed = needed
        r.errno = errno
        r.error = Self.errnoName(errno)
        do { try log.record(r) } catch let e where e.isOutOfSpace {
            // Counted as unrecorded, written when space returns.
        } catch { Log.error("could not record a denial by mode bits (\(operation) \(path)): \(error)") }
        metrics.denies.increment()
        return errno
    }

    /// A mode as four octal digits: "0644", "2775".
    static func octal(_ mode: UInt32) -> String {
        String(mode & 0o7777, radix: 8).leftPadded(4)
    }
}
