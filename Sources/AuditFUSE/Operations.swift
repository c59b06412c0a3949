import CFuse3
import FUSEInterface
import Glibc

/// The `fuse_lowlevel_ops` table: every operation libfuse may call, each
/// turned into a `RequestContext` and plain arguments, handed to the
/// `FileSystemOperations` the session serves, and its answer sent as the
/// request's one `Reply`.
///
/// An operation left nil answers ENOSYS from libfuse, on purpose for:
/// getxattr (see the daemon's AuditFileSystem+Refusals.swift: the kernel
/// then answers EOPNOTSUPP itself, saving a round trip per write), readlink
/// (no symlinks exist), ioctl (the kernel turns ENOSYS into ENOTTY),
/// copy_file_range (the kernel falls back to plain writes, which the append
/// rules check), flush (every acknowledged write is already in its segment;
/// after one ENOSYS the kernel sends no FLUSH again, and a close() no longer
/// waits for a round trip: a program that opens the file for each line,
/// like Node's fs.appendFileSync, made four round trips a line, now three), lseek (the kernel answers SEEK_END from the true size),
/// getlk/setlk/flock (locks stay local to the kernel), bmap, poll,
/// readdirplus.
///
/// The closures capture nothing (they are C function pointers); the file
/// system comes from the session's user data.
enum Operations {
    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            let conn = conn!
            let offered = Operations.capabilities(conn.pointee.capable)
            let asked = fileSystem(userdata).initialize(offered: offered)
            conn.pointee.want &= ~Operations.bits(asked.disable)
            conn.pointee.want |= Operations.bits(asked.enable) & conn.pointee.capable
        }
        ops.destroy = { userdata in
            fileSystem(userdata).destroy()
        }
        ops.lookup = { req, parent, name in
            Reply<Answer.Entry>(req!, "lookup").answer(fs(req).lookup(context(req!), parent: parent, name: bytes(name!)))
        }
        ops.forget = { req, ino, lookups in
            fs(req).forget(ino: ino, lookups: lookups)
            Reply<Answer.Nothing>(req!, "forget").none()
        }
        ops.forget_multi = { req, count, forgets in
            let f = fs(req)
            for i in 0..<count { f.forget(ino: forgets![i].ino, lookups: forgets![i].nlookup) }
            Reply<Answer.Nothing>(req!, "forget_multi").none()
        }
        ops.getattr = { req, ino, fi in
            Reply<Answer.Attributes>(req!, "getattr").answer(fs(req).getattr(context(req!), ino: ino, handle: fi?.pointee.fh))
        }
        ops.setattr = { req, ino, attr, toSet, fi in
            Reply<Answer.Attributes>(req!, "setattr").answer(
                fs(req).setattr(context(req!), ino: ino, changes: Operations.changes(attr!.pointee, toSet), handle: fi?.pointee.fh))
        }
        ops.access = { req, ino, mask in
            Reply<Answer.Status>(req!, "access").answer(fs(req).access(context(req!), ino: ino, mask: mask))
        }
        ops.statfs = { req, ino in
            Reply<Answer.FileSystemStats>(req!, "statfs").answer(fs(req).statfs(context(req!), ino: ino))
        }
        ops.mkdir = { req, parent, name, mode in
            Reply<Answer.Entry>(req!, "mkdir").answer(
                fs(req).mkdir(context(req!), parent: parent, name: bytes(name!), mode: UInt32(mode)))
        }
        ops.create = { req, parent, name, mode, fi in
            Reply<Answer.Created>(req!, "create").answer(
                fs(req).create(context(req!), parent: parent, name: bytes(name!), mode: UInt32(mode), flags: fi!.pointee.flags), fi!)
        }
        ops.open = { req, ino, fi in
            Reply<Answer.Opened>(req!, "open").answer(fs(req).open(context(req!), ino: ino, flags: fi!.pointee.flags), fi!)
        }
        ops.read = { req, ino, size, off, fi in
            Reply<Answer.Bytes>(req!, "read").answer(
                fs(req).read(context(req!), ino: ino, size: size, offset: Int64(off), handle: fi?.pointee.fh ?? 0))
        }
        ops.write = { req, ino, buf, size, off, fi in
            Reply<Answer.Written>(req!, "write").answer(
                fs(req).write(context(req!), ino: ino, data: UnsafeRawBufferPointer(start: buf, count: size),
                              offset: Int64(off), handle: fi!.pointee.fh))
        }
        ops.release = { req, ino, fi in
            Reply<Answer.Status>(req!, "release").answer(
                fs(req).release(context(req!), ino: ino, handle: fi?.pointee.fh ?? 0, flags: fi?.pointee.flags ?? 0))
        }
        ops.fsync = { req, ino, datasync, fi in
            Reply<Answer.Status>(req!, "fsync").answer(
                fs(req).fsync(context(req!), ino: ino, dataOnly: datasync != 0, handle: fi?.pointee.fh ?? 0))
        }
        ops.opendir = { req, ino, fi in
            Reply<Answer.Opened>(req!, "opendir").answer(fs(req).opendir(context(req!), ino: ino, flags: fi!.pointee.flags), fi!)
        }
        ops.readdir = { req, ino, size, off, fi in
            Reply<Answer.Directory>(req!, "readdir").answer(
                fs(req).readdir(context(req!), ino: ino, size: size, offset: Int64(off), handle: fi?.pointee.fh ?? 0))
        }
        ops.releasedir = { req, ino, fi in
            Reply<Answer.Status>(req!, "releasedir").answer(fs(req).releasedir(context(req!), ino: ino, handle: fi?.pointee.fh ?? 0))
        }
        ops.fsyncdir = { req, ino, datasync, fi in
            Reply<Answer.Status>(req!, "fsyncdir").answer(
                fs(req).fsyncdir(context(req!), ino: ino, dataOnly: datasync != 0, handle: fi?.pointee.fh ?? 0))
        }
        ops.unlink = { req, parent, name in
            Reply<Answer.Status>(req!, "unlink").answer(fs(req).unlink(context(req!), parent: parent, name: bytes(name!)))
        }
        ops.rmdir = { req, parent, name in
            Reply<Answer.Status>(req!, "rmdir").answer(fs(req).rmdir(context(req!), parent: parent, name: bytes(name!)))
        }
        ops.rename = { req, parent, name, newParent, newName, flags in
            Reply<Answer.Status>(req!, "rename").answer(
                fs(req).rename(context(req!), parent: parent, name: bytes(name!), newParent: newParent, newName: bytes(newName!),
                               flags: UInt32(flags)))
        }
        ops.link = { req, ino, newParent, newName in
            Reply<Answer.Entry>(req!, "link").answer(
                fs(req).link(context(req!), ino: ino, newParent: newParent, newName: bytes(newName!)))
        }
        ops.symlink = { req, link, parent, name in
            Reply<Answer.Entry>(req!, "symlink").answer(
                fs(req).symlink(context(req!), target: bytes(link!), parent: parent, name: bytes(name!)))
        }
        ops.mknod = { req, parent, name, mode, rdev in
            Reply<Answer.Entry>(req!, "mknod").answer(
                fs(req).mknod(context(req!), parent: parent, name: bytes(name!), mode: UInt32(mode), device: UInt64(rdev)))
        }
        ops.fallocate = { req, ino, mode, offset, length, fi in
            Reply<Answer.Status>(req!, "fallocate").answer(
                fs(req).fallocate(context(req!), ino: ino, mode: mode, offset: Int64(offset), length: Int64(length),
                                  handle: fi?.pointee.fh ?? 0))
        }
        ops.setxattr = { req, ino, name, value, size, flags in
            let v = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            Reply<Answer.Status>(req!, "setxattr").answer(
                fs(req).setxattr(context(req!), ino: ino, name: bytes(name!), value: v, flags: flags))
        }
        ops.removexattr = { req, ino, name in
            Reply<Answer.Status>(req!, "removexattr").answer(fs(req).removexattr(context(req!), ino: ino, name: bytes(name!)))
        }
        ops.listxattr = { req, ino, size in
            Reply<Answer.ExtendedAttribute>(req!, "listxattr").answer(fs(req).listxattr(context(req!), ino: ino, size: size))
        }
        return ops
    }

    /// libfuse's capability bits as the protocol's, and back.
    static let capabilityBits: [(Capabilities, UInt32)] = [
        (.writebackCache, UInt32(FUSE_CAP_WRITEBACK_CACHE)),
        (.atomicOpenTruncate, UInt32(FUSE_CAP_ATOMIC_O_TRUNC)),
    ]

    static func capabilities(_ bits: UInt32) -> Capabilities {
        var c: Capabilities = []
        for (cap, bit) in capabilityBits where bits & bit != 0 { c.insert(cap) }
        return c
    }

    static func bits(_ c: Capabilities) -> UInt32 {
        var b: UInt32 = 0
        for (cap, bit) in capabilityBits where c.contains(cap) { b |= bit }
        return b
    }

    /// What a setattr asks, from the attributes and FUSE_SET_ATTR_* bits libfuse passes.
    static func changes(_ a: stat, _ toSet: Int32) -> AttributeChanges {
        var c = AttributeChanges()
        if toSet & FUSE_SET_ATTR_MODE != 0 { c.mode = UInt32(a.st_mode) & 0o7777 }
        if toSet & FUSE_SET_ATTR_UID != 0 { c.uid = a.st_uid }
        if toSet & FUSE_SET_ATTR_GID != 0 { c.gid = a.st_gid }
        if toSet & FUSE_SET_ATTR_SIZE != 0 { c.size = UInt64(max(a.st_size, 0)) }
        if toSet & FUSE_SET_ATTR_ATIME_NOW != 0 { c.atime = .now }
        else if toSet & FUSE_SET_ATTR_ATIME != 0 { c.atime = .at(Attributes.nanoseconds(a.st_atim)) }
        if toSet & FUSE_SET_ATTR_MTIME_NOW != 0 { c.mtime = .now }
        else if toSet & FUSE_SET_ATTR_MTIME != 0 { c.mtime = .at(Attributes.nanoseconds(a.st_mtim)) }
        return c
    }
}

/// The request's caller. The supplementary groups are read only if the file
/// system asks, while it handles the request (the request is valid until
/// its reply).
private func context(_ req: fuse_req_t) -> RequestContext {
    let ctx = fuse_req_ctx(req)!.pointee
    // The request travels as its address and the reader captures nothing:
    // a capturing closure would be a heap allocation on every request.
    return RequestContext(uid: ctx.uid, gid: ctx.gid, tid: UInt32(bitPattern: ctx.pid),
                          groupsSource: UInt(bitPattern: UnsafeRawPointer(req)),
                          readGroupsOf: { address in PendingRequest(fuse_req_t(bitPattern: address)!).groups() })
}

/// A request being handled, for reading its caller's groups.
private struct PendingRequest: @unchecked Sendable {
    let req: fuse_req_t
    init(_ req: fuse_req_t) { self.req = req }

    /// `fuse_req_getgroups` (libfuse reads /proc/PID/task/TID/status). Empty when unknown.
    func groups() -> [UInt32] {
        var list = [gid_t](repeating: 0, count: 64)
        var n = fuse_req_getgroups(req, Int32(list.count), &list)
        if n > Int32(list.count) {
            list = [gid_t](repeating: 0, count: Int(n))
            n = fuse_req_getgroups(req, Int32(list.count), &list)
        }
        guard n > 0 else { return [] }
        return Array(list.prefix(Int(min(n, Int32(list.count)))))
    }
}

/// A name or link target from the kernel: its bytes, without the NUL.
private func bytes(_ c: UnsafePointer<CChar>) -> [UInt8] {
    let n = strlen(c)
    return c.withMemoryRebound(to: UInt8.self, capacity: n) { Array(UnsafeBufferPointer(start: $0, count: n)) }
}

/// The file system a request belongs to (the session's user data).
private func fs(_ req: fuse_req_t?) -> any FileSystemOperations {
    fileSystem(fuse_req_userdata(req))
}

private func fileSystem(_ userdata: UnsafeMutableRawPointer?) -> any FileSystemOperations {
    Unmanaged<Served>.fromOpaque(userdata!).takeUnretainedValue().fileSystem
}
