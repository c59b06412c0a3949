import CFuse3
#if canImport(Glibc)
import Glibc
#endif

/// The `fuse_lowlevel_ops` table: every operation libfuse may call, wired to
/// `AuditFileSystem` in one place. An operation left nil answers ENOSYS from
/// libfuse, on purpose for: getxattr (see AuditFileSystem+Refusals.swift:
/// the kernel then answers EOPNOTSUPP itself, saving a round trip per
/// write), readlink (no symlinks exist), ioctl (the kernel
/// turns ENOSYS into ENOTTY), copy_file_range (the kernel falls back to
/// plain writes, which the append rules check), lseek (the kernel answers
/// SEEK_END from the true size), getlk/setlk/flock (locks stay local to the
/// kernel), bmap, poll, readdirplus.
///
/// The closures capture nothing (they are C function pointers); the file
/// system comes from the session's user data.
enum Operations {
    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            fileSystem(userdata).initialize(conn!)
        }
        ops.destroy = { userdata in
            fileSystem(userdata).destroy()
        }
        ops.lookup = { req, parent, name in
            fs(req).lookup(Reply(req!, "lookup"), request: req!, parent: parent, name: name!)
        }
        ops.forget = { req, _, _ in
            fs(req).forget(Reply(req!, "forget"))
        }
        ops.forget_multi = { req, _, _ in
            fs(req).forget(Reply(req!, "forget_multi"))
        }
        ops.getattr = { req, ino, _ in
            fs(req).getattr(Reply(req!, "getattr"), id: ino)
        }
        ops.setattr = { req, ino, attr, toSet, fi in
            fs(req).setattr(Reply(req!, "setattr"), request: req!, id: ino, attr: attr!, toSet: toSet, throughHandle: fi != nil)
        }
        ops.access = { req, ino, mask in
            fs(req).access(Reply(req!, "access"), request: req!, id: ino, mask: mask)
        }
        ops.statfs = { req, _ in
            fs(req).statfs(Reply(req!, "statfs"))
        }
        ops.mkdir = { req, parent, name, mode in
            fs(req).mkdir(Reply(req!, "mkdir"), request: req!, parent: parent, name: name!, mode: mode)
        }
        ops.create = { req, parent, name, mode, fi in
            fs(req).create(Reply(req!, "create"), request: req!, parent: parent, name: name!, mode: mode, fi: fi!)
        }
        ops.open = { req, ino, fi in
            fs(req).open(Reply(req!, "open"), request: req!, id: ino, fi: fi!)
        }
        ops.read = { req, ino, size, off, _ in
            fs(req).read(Reply(req!, "read"), id: ino, size: size, offset: Int64(off))
        }
        ops.write = { req, ino, buf, size, off, fi in
            fs(req).write(Reply(req!, "write"), request: req!, id: ino,
                          data: UnsafeRawBufferPointer(start: buf, count: size), offset: Int64(off), fi: fi!)
        }
        ops.flush = { req, _, _ in
            fs(req).flush(Reply(req!, "flush"))
        }
        ops.release = { req, _, _ in
            fs(req).release(Reply(req!, "release"))
        }
        ops.fsync = { req, _, _, _ in
            fs(req).fsync(Reply(req!, "fsync"))
        }
        ops.opendir = { req, ino, fi in
            fs(req).opendir(Reply(req!, "opendir"), request: req!, id: ino, fi: fi!)
        }
        ops.readdir = { req, ino, size, off, _ in
            fs(req).readdir(Reply(req!, "readdir"), request: req!, id: ino, size: size, offset: Int64(off))
        }
        ops.releasedir = { req, _, _ in
            fs(req).releasedir(Reply(req!, "releasedir"))
        }
        ops.fsyncdir = { req, _, _, _ in
            fs(req).fsync(Reply(req!, "fsyncdir"))
        }
        ops.unlink = { req, parent, name in
            let f = fs(req)
            f.refuseNamespaceChange(Reply<Answer.Status>(req!, "unlink"), request: req!, "unlink",
                                    path: f.path(parent: parent, name: name))
        }
        ops.rmdir = { req, parent, name in
            let f = fs(req)
            f.refuseNamespaceChange(Reply<Answer.Status>(req!, "rmdir"), request: req!, "rmdir",
                                    path: f.path(parent: parent, name: name))
        }
        ops.rename = { req, parent, name, newParent, newName, _ in
            let f = fs(req)
            f.refuseNamespaceChange(Reply<Answer.Status>(req!, "rename"), request: req!, "rename",
                                    path: f.path(parent: parent, name: name),
                                    target: f.path(parent: newParent, name: newName))
        }
        ops.link = { req, ino, newParent, newName in
            let f = fs(req)
            f.refuseNamespaceChange(Reply<Answer.Entry>(req!, "link"), request: req!, "link", path: f.path(of: ino),
                                    target: f.path(parent: newParent, name: newName))
        }
        ops.symlink = { req, link, parent, name in
            let f = fs(req)
            f.refuseNamespaceChange(Reply<Answer.Entry>(req!, "symlink"), request: req!, "symlink",
                                    path: f.path(parent: parent, name: name),
                                    target: link.map { String(cString: $0) })
        }
        ops.mknod = { req, parent, name, _, _ in
            let f = fs(req)
            f.refuseNamespaceChange(Reply<Answer.Entry>(req!, "mknod"), request: req!, "mknod",
                                    path: f.path(parent: parent, name: name))
        }
        ops.fallocate = { req, ino, _, _, _, _ in
            fs(req).fallocate(Reply(req!, "fallocate"), request: req!, id: ino)
        }
        ops.setxattr = { req, ino, _, _, _, _ in
            fs(req).setxattr(Reply(req!, "setxattr"), request: req!, id: ino)
        }
        ops.removexattr = { req, ino, _ in
            fs(req).removexattr(Reply(req!, "removexattr"), request: req!, id: ino)
        }
        ops.listxattr = { req, _, size in
            fs(req).listxattr(Reply(req!, "listxattr"), size: size)
        }
        return ops
    }

}

/// The file system a request belongs to (the session's user data).
private func fs(_ req: fuse_req_t?) -> AuditFileSystem {
    fileSystem(fuse_req_userdata(req))
}

private func fileSystem(_ userdata: UnsafeMutableRawPointer?) -> AuditFileSystem {
    Unmanaged<AuditFileSystem>.fromOpaque(userdata!).takeUnretainedValue()
}
