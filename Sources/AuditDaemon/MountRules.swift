import AuditStore
import Glibc

/// The append-only rules of the mount (README "Semantics"), as small named
/// checks. Pure functions of a node's attributes and the request: they touch
/// neither the store nor FUSE. A check answers `nil` to let the operation go
/// ahead, or the errno that refuses it. The store re-checks what it can under
/// its own lock (a write's offset), so a race cannot slip past a check.
enum MountRules {
    /// The names a refusal is recorded under in /.audit/decisions (`mountRule`),
    /// each with its class (`isTamper`): the one place that decides whether a
    /// refusal is tamper, which the decision record, the metric and the
    /// `tamper` alert rules follow (docs/POLICY.md "Tamper and refusals").
    enum Rule: String, Sendable, CaseIterable {
        /// A write anywhere but at the end of a file.
        case appendOnly = "append-only"
        /// O_TRUNC, truncate, ftruncate to another size.
        case noTruncate = "no-truncate"
        /// unlink, rmdir, rename (without -o history).
        case permanentNames = "permanent-names"
        /// link, in every mode: a node has one name. A second name hides
        /// and changes nothing stored (multilog retries its link every five
        /// seconds: docs/SERVERS.md "Rotation").
        case noHardLinks = "no-hard-links"
        /// symlink, mknod: only regular files and directories exist.
        case noSpecialFiles = "no-special-files"
        /// chmod, chown, utimens that would change a non-empty file or
        /// directory (without -o history).
        case frozenAttributes = "frozen-attributes"
        /// fallocate.
        case noFallocate = "no-fallocate"
        /// setxattr, removexattr.
        case noExtendedAttributes = "no-xattr"
        /// Any change under /.audit, by anyone: only the daemon writes there.
        case auditNamespace = "audit-namespace"
        /// A write to a retired file (history mode: one unlinked or replaced
        /// while a descriptor was open on it). Its bytes stay as they were.
        case retired = "retired"
        /// rename with RENAME_EXCHANGE or RENAME_WHITEOUT (history mode): a
        /// rename record moves one name; swapping two or leaving a whiteout
        /// is not one (EINVAL).
        case renameFlags = "rename-flags"

        /// Tamper: an attempt to change or remove bytes already written —
        /// overwrite, truncate, fallocate (it would punch, zero, shift or
        /// invent ranges), a namespace change that would hide or replace
        /// stored bytes (unlink, rmdir, rename without -o history),
        /// anything under /.audit. Not tamper: a refused change that touches
        /// no stored byte and hides none — metadata (chmod, chown, utimens),
        /// extended attributes, a new symlink, device node or hard link (a new
        /// name only; an existing name is EEXIST before the daemon hears of it),
        /// an append to a retired file (a writer that kept its descriptor
        /// across a rotation: nothing stored changes), a rename flag history
        /// mode cannot record. Those are what cp, install, sed, vim,
        /// syslog-ng, sudo and rotating loggers try routinely.
        var isTamper: Bool {
            switch self {
            case .appendOnly, .noTruncate, .permanentNames, .noFallocate, .auditNamespace: true
            case .noSpecialFiles, .noHardLinks, .frozenAttributes, .noExtendedAttributes, .retired, .renameFlags: false
            }
        }
    }

    /// Every change under /.audit (create, mkdir, open for writing, setattr,
    /// and the namespace changes refused everywhere) is refused with EPERM.
    static let auditNamespaceChange: Int32 = EPERM

    /// What the checks need to know about a file or directory.
    struct Subject: Equatable {
        var isDirectory: Bool
        var size: UInt64
        /// A file with no bytes, a directory with no entries.
        var isEmpty: Bool
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var atime: Int64
        var mtime: Int64
    }

    /// O_TRUNC, truncate, ftruncate: allowed only to the current size, which
    /// changes nothing (so O_TRUNC on an empty file succeeds). Anything else
    /// would remove or invent bytes.
    static func checkTruncate(_ node: Subject, to size: UInt64) -> Int32? {
        if node.isDirectory { return EISDIR }
        return size == node.size ? nil : EPERM
    }

    /// unlink, rmdir, rename, link (nothing is ever removed or renamed),
    /// symlink, mknod (only regular files and directories exist).
    static let namespaceChange: Int32 = EPERM

    /// A write to a retired file (history mode).
    static let retiredWrite: Int32 = EPERM

    /// The flags a history rename records: RENAME_NOREPLACE (linux/fs.h).
    /// RENAME_EXCHANGE (2) and RENAME_WHITEOUT (4), and any other, are
    /// refused with `renameFlagsRefused`.
    static let renameNoReplace: UInt32 = 1
    static let renameFlagsRefused: Int32 = EINVAL

    /// fallocate would reserve or punch ranges the append path does not own.
    static let fallocate: Int32 = EOPNOTSUPP

    /// setxattr, removexattr: the store records no extended attributes.
    static let setExtendedAttribute: Int32 = ENOTSUP

    /// The attributes a chmod, chown or utimens asks for; nil fields are left alone.
    struct AttributeRequest: Equatable {
        var mode: UInt32?
        var uid: UInt32?
        var gid: UInt32?
        var atime: Int64?
        var mtime: Int64?
    }

    /// chmod, chown, utimens: allowed when nothing changes (answered without a
    /// record), on an empty file or directory (recorded), and with `history`
    /// on any file or directory (recorded: the bytes stay, the attributes'
    /// history is in the chain); otherwise EPERM. Returns the change to
    /// record, `.success(nil)` when there is none.
    static func checkAttributes(_ node: Subject, _ request: AttributeRequest,
                                history: Bool = false) -> Result<AttributeChange?, Refusal> {
        var fields: AttributeChange.Fields = []
        var change = (mode: node.mode, uid: node.uid, gid: node.gid, atime: node.atime, mtime: node.mtime)
        if let m = request.mode, m & 0o7777 != node.mode { fields.insert(.mode); change.mode = m & 0o7777 }
        if let u = request.uid, u != node.uid { fields.insert(.owner); change.uid = u }
        if let g = request.gid, g != node.gid { fields.insert(.group); change.gid = g }
        if let a = request.atime, a != node.atime { fields.insert(.atime); change.atime = a }
        if let t = request.mtime, t != node.mtime { fields.insert(.mtime); change.mtime = t }
        if fields.isEmpty { return .success(nil) }
        guard node.isEmpty || history else { return .failure(Refusal(errno: EPERM)) }
        return .success(AttributeChange(fields: fields, mode: change.mode, owner: change.uid, group: change.gid,
                                        atime: change.atime, mtime: change.mtime))
    }

    /// An errno as a typed error, for `Result`.
    struct Refusal: Error, Equatable {
        let errno: Int32
    }
}

extension NodeInfo {
    var subject: MountRules.Subject {
        MountRules.Subject(isDirectory: isDirectory, size: size, isEmpty: isDirectory ? childCount == 0 : size == 0,
                       mode: mode, uid: uid, gid: gid, atime: atime, mtime: mtime)
    }
}
