import AuditStore
import FUSEInterface
import Glibc

/// setattr: truncate, chmod, chown, utimens — through `MountRules` first
/// (a refused truncate is recorded as tamper, a refused chmod/chown/utimens
/// as a refusal: `MountRules.Rule.isTamper`), then a change the mount
/// allows (on an empty file or directory; with -o history on any) needs
/// the policy's `setattr`. A call that changes nothing needs no decision
/// and records nothing.
extension AuditFileSystem {
    /// `handle`: the call came through an open file (ftruncate, fchmod…).
    func setattr(_ context: RequestContext, ino: UInt64, changes: AttributeChanges,
                 handle: UInt64?) -> Result<CachedAttributes, Errno> {
        let throughHandle = handle != nil
        if ino == CheckpointView.inode {
            return .failure(Errno(authorizer.refuse(context, Self.operationName(changes), CheckpointView.path,
                                                    rule: .auditNamespace, errno: MountRules.auditNamespaceChange)))
        }
        guard let node = store.info(ino) else { return .failure(Errno(ENOENT)) }
        let operation = Self.operationName(changes)
        // The mode bits and ownership first, as the kernel's (ModeBits); a
        // call through an open handle (ftruncate) walks no path.
        let who = credentials(context)
        if !throughHandle, let refused = checkSearch(above: node, context, who, operation: operation) {
            return .failure(Errno(refused))
        }
        var mode: UInt32?
        switch ModeBits.checkChange(node.modeBitsNode, Self.permissionChange(changes, throughHandle: throughHandle), who) {
        case let .failure(refusal):
            return .failure(Errno(authorizer.denyByModeBits(context, operation, node.path, node: node.modeBitsNode,
                                                            nodePath: node.path, needed: refusal.needed,
                                                            groups: who.groupsRead, errno: refusal.errno)))
        case let .success(m):
            mode = m
        }
        if Store.isAuditPath(node.path) {
            return .failure(Errno(authorizer.refuse(context, operation, node.path, rule: .auditNamespace,
                                                    errno: MountRules.auditNamespaceChange)))
        }
        // Check everything before recording anything: a refused part refuses the whole call.
        if let size = changes.size, let refused = MountRules.checkTruncate(node.subject, to: size) {
            return .failure(Errno(authorizer.refuse(context, "truncate", node.path, rule: .noTruncate, errno: refused)))
        }
        var wanted = MountRules.AttributeRequest()
        wanted.mode = mode
        wanted.uid = changes.uid
        wanted.gid = changes.gid
        let now = store.options.clock()
        wanted.atime = changes.atime.map { Self.nanoseconds($0, now: now) }
        wanted.mtime = changes.mtime.map { Self.nanoseconds($0, now: now) }
        switch MountRules.checkAttributes(node.subject, wanted, history: history) {
        case let .failure(refusal):
            return .failure(Errno(authorizer.refuse(context, operation, node.path, rule: .frozenAttributes,
                                                    errno: refusal.errno)))
        case .success(nil):
            return .success(CachedAttributes(node.attributes, timeout: CacheTimeout.attributes))
        case let .success(change?):
            if let refused = authorizer.check(context, .setattr, node.path) { return .failure(Errno(refused)) }
            do {
                try store.setAttributes(ino, change, by: Caller.provenance(of: context))
            } catch {
                if error.isFailure { Log.error("set attributes of file \(ino): \(error)") }
                return .failure(Errno(error.errno))
            }
            guard let updated = store.info(ino) else { return .failure(Errno(ENOENT)) }
            return .success(CachedAttributes(updated.attributes, timeout: CacheTimeout.attributes))
        }
    }

    /// What a setattr asks of the permission checks.
    static func permissionChange(_ changes: AttributeChanges, throughHandle: Bool) -> ModeBits.Change {
        var c = ModeBits.Change()
        c.mode = changes.mode.map { $0 & 0o7777 }
        c.uid = changes.uid
        c.gid = changes.gid
        func explicit(_ t: AttributeChanges.Time?) -> Bool { if case .at = t { true } else { false } }
        c.setsTimes = explicit(changes.atime) || explicit(changes.mtime)
        c.touches = !c.setsTimes && (changes.atime == .now || changes.mtime == .now)
        c.truncates = changes.size != nil && !throughHandle
        return c
    }

    /// The name a setattr is recorded under: truncate, chmod, chown or utimens.
    static func operationName(_ changes: AttributeChanges) -> String {
        if changes.size != nil { return "truncate" }
        if changes.mode != nil { return "chmod" }
        if changes.uid != nil || changes.gid != nil { return "chown" }
        return "utimens"
    }

    static func nanoseconds(_ t: AttributeChanges.Time, now: Int64) -> Int64 {
        switch t {
        case .now: now
        case let .at(ns): ns
        }
    }
}
