import Glibc

/// The POSIX permission checks the kernel makes with `default_permissions`,
/// made by the daemon instead so that every denial is recorded (docs/MOUNT.md
/// "Permission checks"). Pure functions of a node's mode and owner and the
/// caller's credentials: no FUSE, no store.
///
/// - read, write, execute/search: the owner class if the caller owns the
///   node, else the group class if the node's group is the caller's group or
///   one of its supplementary groups, else the other class (the first class
///   that applies decides, as in the kernel: an owner without a bit that
///   others have is refused).
/// - root (uid 0) passes every read and write check and every search of a
///   directory; executing a regular file needs at least one x bit, for root too.
/// - chmod: the owner or root; a non-root caller outside the file's group
///   loses S_ISGID. chown to another user: root only. chgrp: root, or the
///   owner to a group it belongs to. Setting explicit times: the owner or
///   root; setting them to now (utimes(NULL)): also anyone who may write.
/// - removing a name (unlink, rmdir, rename away, a rename's replaced
///   target): w on the directory, and in a sticky directory (S_ISVTX) only
///   the owner of the node or of the directory, or root (history mode only).
enum ModeBits {
    /// What an operation needs of one node.
    struct Access: OptionSet, Sendable, CustomStringConvertible {
        let rawValue: UInt32
        static let read = Access(rawValue: 4)
        static let write = Access(rawValue: 2)
        /// Execute a file, search a directory.
        static let execute = Access(rawValue: 1)

        /// "r", "w", "x" in that order: "wx", "rw", "x".
        var description: String {
            (contains(.read) ? "r" : "") + (contains(.write) ? "w" : "") + (contains(.execute) ? "x" : "")
        }
    }

    /// A node's permission-relevant attributes.
    struct Node: Equatable, Sendable {
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var isDirectory: Bool
    }

    /// Who asks: uid, primary gid and, read only when a decision needs them,
    /// the supplementary groups (`fuse_req_getgroups` costs a file read).
    final class Credentials {
        let uid: UInt32
        let gid: UInt32
        private let readGroups: () -> [UInt32]
        private var known: [UInt32]?

        init(uid: UInt32, gid: UInt32, groups: @escaping () -> [UInt32]) {
            self.uid = uid; self.gid = gid; self.readGroups = groups
        }

        var isRoot: Bool { uid == 0 }

        /// The supplementary groups, if they have been read.
        var groupsRead: [UInt32]? { known }

        func isMember(of group: UInt32) -> Bool {
            if group == gid { return true }
            if known == nil { known = readGroups() }
            return known!.contains(group)
        }
    }

    /// Whether `who` may `access` `node` by its mode bits.
    static func allows(_ node: Node, _ access: Access, _ who: Credentials) -> Bool {
        let want = access.rawValue
        if who.isRoot {
            // Read and write always; search always; execute a file only if some x bit is set.
            guard access.contains(.execute), !node.isDirectory else { return true }
            return node.mode & 0o111 != 0
        }
        return bits(of: node, for: who) & want == want
    }

    /// The rwx bits of the class `who` falls in for `node`.
    static func bits(of node: Node, for who: Credentials) -> UInt32 {
        if who.uid == node.uid { return (node.mode >> 6) & 7 }
        let group = (node.mode >> 3) & 7, other = node.mode & 7
        // Asking about the groups costs a read; it cannot change the answer when both classes agree.
        if group == other { return other }
        return who.isMember(of: node.gid) ? group : other
    }

    /// Whether every caller, whoever it is, may search a directory of this
    /// mode (x for owner, group and other): what lets the kernel cache a name
    /// inside it (a cached name is walked without asking the daemon).
    static func everyoneSearches(_ mode: UInt32) -> Bool {
        mode & 0o111 == 0o111
    }

    // MARK: Attribute changes

    /// What a setattr asks for, as far as the permission checks care.
    struct Change: Equatable {
        var mode: UInt32?
        var uid: UInt32?
        var gid: UInt32?
        /// An explicit time (utimensat with a timestamp): the owner's right.
        var setsTimes = false
        /// Times set to now only (utimes(NULL), touch): the owner's or a writer's right.
        var touches = false
        /// truncate by path (not through an open handle): needs write.
        var truncates = false
    }

    /// A refusal: the errno (EPERM for what only the owner or root may do,
    /// EACCES for a missing bit) and what was needed, for the record.
    struct Refusal: Error, Equatable {
        var errno: Int32
        var needed: String
    }

    /// Checks `change` on `node` for `who`; on success returns the mode to
    /// set (S_ISGID cleared where the kernel clears it), or nil if no mode
    /// was asked for.
    static func checkChange(_ node: Node, _ change: Change, _ who: Credentials) -> Result<UInt32?, Refusal> {
        let owner = who.isRoot || who.uid == node.uid
        if let u = change.uid, !(who.isRoot || (who.uid == node.uid && u == node.uid)) {
            return .failure(Refusal(errno: EPERM, needed: "root"))
        }
        if let g = change.gid, !(who.isRoot || (who.uid == node.uid && (g == node.gid || who.isMember(of: g)))) {
            return .failure(Refusal(errno: EPERM, needed: who.uid == node.uid ? "member of group \(g)" : "owner"))
        }
        var mode = change.mode
        if let m = change.mode {
            guard owner else { return .failure(Refusal(errno: EPERM, needed: "owner")) }
            let group = change.gid ?? node.gid
            if !who.isRoot && m & setGroupID != 0 && !who.isMember(of: group) { mode = m & ~setGroupID }
        }
        if change.setsTimes && !owner { return .failure(Refusal(errno: EPERM, needed: "owner")) }
        if change.touches && !owner && !allows(node, .write, who) {
            return .failure(Refusal(errno: EACCES, needed: "owner or w"))
        }
        if change.truncates && !allows(node, .write, who) { return .failure(Refusal(errno: EACCES, needed: "w")) }
        return .success(mode)
    }

    /// S_ISGID.
    static let setGroupID: UInt32 = 0o2000

    // MARK: Removing names

    /// Whether `who` may take `node`'s name out of the directory `dir` —
    /// unlink, rmdir, rename it away, or replace it by a rename: the
    /// kernel's may_delete. w on the directory (EACCES; its search is
    /// checked with the walk), then the sticky bit: in an S_ISVTX directory
    /// only the owner of the node or of the directory, or root (EPERM).
    /// nil: allowed. A refusal is always about `dir`'s bits.
    static func checkRemove(_ node: Node, from dir: Node, _ who: Credentials) -> Refusal? {
        if !allows(dir, .write, who) { return Refusal(errno: EACCES, needed: "w") }
        if dir.mode & sticky != 0 && !who.isRoot && who.uid != node.uid && who.uid != dir.uid {
            return Refusal(errno: EPERM, needed: "owner (sticky directory)")
        }
        return nil
    }

    /// S_ISVTX, the sticky bit.
    static let sticky: UInt32 = 0o1000
}
