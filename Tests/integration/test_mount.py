"""`auditfs mount` against a real FUSE mount (run as root, /dev/fuse needed):
every row of the semantics table (README "Semantics"), with the errno and,
after each refusal, every user file's bytes unchanged, real programs, concurrent appenders,
kill -9 of the daemon, the lifecycle and every startup error."""
import ctypes
import errno
import json
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from conftest import AUDITFS, ROOT, auditfs, run, tree_digest
from mountlib import (TEST_USER, Mount, assert_user_files_unchanged, daemon_pids, ensure_test_user, force_unmount,
                      log_entries, mounted_fstype, user_state, wait_until)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

libc = ctypes.CDLL("libc.so.6", use_errno=True)
ROOT_FIXTURES = ROOT / "fixtures"


@pytest.fixture
def mnt(store):
    # Under a 0755 directory, not pytest's 0700 tmp: non-root users reach it.
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-test-"))
    parent.chmod(0o755)
    m = Mount(store, parent / "mnt")
    try:
        yield m
    finally:
        m.cleanup()
        shutil.rmtree(parent)
    assert auditfs("verify", store).returncode == 0


def expect_errno(code, fn, *args, **kw):
    with pytest.raises(OSError) as e:
        fn(*args, **kw)
    assert e.value.errno == code, f"{fn.__name__}: expected {errno.errorcode[code]}, got {e.value!r}"


def refused(m, code, fn, *args, **kw):
    """`fn(*args, **kw)` fails with `code` and the user files stay byte-identical
    (the store grows only by the refusal's own record under /.audit)."""
    before = user_state(m.store)
    expect_errno(code, fn, *args, **kw)
    assert_user_files_unchanged(m.store, before, f"{fn.__name__} (refused)")


def write_file(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode=0o644):
    fd = os.open(path, flags, mode)
    try:
        assert os.write(fd, data) == len(data)
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


# ---- the semantics table, row by row ------------------------------------------------------------

def test_create_with_and_without_excl_and_mkdir_are_recorded(mnt):
    fd = os.open(mnt / "a.log", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.close(fd)
    fd = os.open(mnt / "b.log", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.mkdir(mnt / "dir", 0o750)
    fd = os.open(mnt / "dir" / "c.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.close(fd)
    assert stat.S_IMODE(os.stat(mnt / "a.log").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(mnt / "b.log").st_mode) == 0o600
    assert stat.S_ISDIR(os.stat(mnt / "dir").st_mode)
    entries = {e["path"]: e for e in log_entries(mnt.store)}
    assert entries["/a.log"]["op"] == "create" and entries["/b.log"]["op"] == "create"
    assert entries["/dir"]["op"] == "mkdir" and entries["/dir/c.log"]["op"] == "create"
    assert all(entries[p]["uid"] == 0 for p in ("/a.log", "/b.log", "/dir", "/dir/c.log"))
    # O_EXCL on an existing name, mkdir on an existing dir: EEXIST, nothing stored.
    refused(mnt, errno.EEXIST, os.open, mnt / "a.log", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    refused(mnt, errno.EEXIST, os.mkdir, mnt / "dir")
    # O_CREAT without O_EXCL on an existing file opens it.
    before = user_state(mnt.store)
    os.close(os.open(mnt / "a.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND))
    assert_user_files_unchanged(mnt.store, before)


def test_new_files_are_owned_by_the_caller(mnt):
    uid, gid = ensure_test_user()
    os.mkdir(mnt / "shared")
    os.chown(mnt / "shared", uid, gid)  # empty directory: allowed and recorded
    r = run("sh", "-c", f"echo from-user >> {mnt / 'shared' / 'u.log'} && mkdir {mnt / 'shared' / 'sub'}", user=TEST_USER)
    assert r.returncode == 0, r.err
    for p in ("u.log", "sub"):
        st = os.stat(mnt / "shared" / p)
        assert (st.st_uid, st.st_gid) == (uid, gid)
    # A non-root user cannot create in the root-owned 0755 root directory.
    r = run("sh", "-c", f"echo x >> {mnt / 'nope.log'}", user=TEST_USER)
    assert r.returncode != 0 and "Permission denied" in r.err


def test_open_existing_for_writing_with_or_without_append(mnt):
    write_file(mnt / "f", b"one\n")
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND, os.O_RDWR | os.O_APPEND):
        os.close(os.open(mnt / "f", flags))
    assert read_file(mnt / "f") == b"one\n"


def test_write_at_size_and_append_handles_land_at_the_true_end(mnt):
    write_file(mnt / "f", b"0123")
    fd = os.open(mnt / "f", os.O_WRONLY)
    assert os.pwrite(fd, b"4567", 4) == 4          # offset == size: allowed
    os.lseek(fd, 0, os.SEEK_END)
    assert os.write(fd, b"89") == 2                 # plain write at the end
    # An O_APPEND handle opened before other appends still writes at the true end.
    afd = os.open(mnt / "f", os.O_WRONLY | os.O_APPEND)
    assert os.write(fd, b"ab") == 2
    assert os.write(afd, b"cd") == 2
    assert os.pwrite(afd, b"ef", 0) == 2            # O_APPEND: the offset is ignored (Linux)
    os.close(fd)
    os.close(afd)
    assert read_file(mnt / "f") == b"0123456789abcdef"
    appends = [e for e in log_entries(mnt.store, "/f") if e["op"] == "append"]
    assert [(e["offset"], e["length"]) for e in appends] == [(0, 4), (4, 4), (8, 2), (10, 2), (12, 2), (14, 2)]
    comm = open("/proc/self/comm").read().strip()
    assert all(e["pid"] == os.getpid() and e["uid"] == 0 and e["gid"] == os.getgid() and e["command"] == comm
               for e in appends)


def test_write_at_any_other_offset_is_refused(mnt):
    write_file(mnt / "f", b"0123456789")
    fd = os.open(mnt / "f", os.O_RDWR)
    try:
        refused(mnt, errno.EPERM, os.pwrite, fd, b"X", 0)       # overwrite
        refused(mnt, errno.EPERM, os.pwrite, fd, b"X", 9)       # overwrite the last byte
        refused(mnt, errno.EPERM, os.pwrite, fd, b"X", 11)      # a hole
        refused(mnt, errno.EPERM, os.pwrite, fd, b"X", 1 << 20)
        refused(mnt, errno.EPERM, os.write, fd, b"X")           # file position 0
    finally:
        os.close(fd)
    assert read_file(mnt / "f") == b"0123456789"


def test_truncate_to_the_current_size_succeeds_and_changes_nothing(mnt):
    # O_TRUNC on an empty file.
    os.close(os.open(mnt / "empty", os.O_WRONLY | os.O_CREAT))
    before = user_state(mnt.store)
    os.close(os.open(mnt / "empty", os.O_WRONLY | os.O_TRUNC))
    os.close(os.open(mnt / "empty", os.O_WRONLY | os.O_CREAT | os.O_TRUNC))
    os.truncate(mnt / "empty", 0)
    assert_user_files_unchanged(mnt.store, before)
    # truncate / ftruncate to the current size of a non-empty file.
    write_file(mnt / "f", b"hello")
    before = user_state(mnt.store)
    os.truncate(mnt / "f", 5)
    fd = os.open(mnt / "f", os.O_WRONLY)
    os.ftruncate(fd, 5)
    os.close(fd)
    assert_user_files_unchanged(mnt.store, before)
    assert read_file(mnt / "f") == b"hello"


def test_any_other_truncate_is_refused(mnt):
    write_file(mnt / "f", b"hello")
    refused(mnt, errno.EPERM, os.truncate, mnt / "f", 0)
    refused(mnt, errno.EPERM, os.truncate, mnt / "f", 3)
    refused(mnt, errno.EPERM, os.truncate, mnt / "f", 100)
    refused(mnt, errno.EPERM, os.open, mnt / "f", os.O_WRONLY | os.O_TRUNC)
    refused(mnt, errno.EPERM, os.open, mnt / "f", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    fd = os.open(mnt / "f", os.O_WRONLY | os.O_APPEND)
    try:
        refused(mnt, errno.EPERM, os.ftruncate, fd, 0)
    finally:
        os.close(fd)
    os.close(os.open(mnt / "empty", os.O_WRONLY | os.O_CREAT))
    refused(mnt, errno.EPERM, os.truncate, mnt / "empty", 10)   # growing an empty file too
    assert read_file(mnt / "f") == b"hello"


def test_namespace_changes_are_refused(mnt):
    write_file(mnt / "f", b"data")
    os.mkdir(mnt / "d")
    os.mkdir(mnt / "empty-dir")
    refused(mnt, errno.EPERM, os.unlink, mnt / "f")
    refused(mnt, errno.EPERM, os.rmdir, mnt / "empty-dir")
    refused(mnt, errno.EPERM, os.rename, mnt / "f", mnt / "g")
    refused(mnt, errno.EPERM, os.rename, mnt / "f", mnt / "d" / "f")
    refused(mnt, errno.EPERM, os.link, mnt / "f", mnt / "hard")
    refused(mnt, errno.EPERM, os.symlink, "f", mnt / "sym")
    refused(mnt, errno.EPERM, os.mknod, mnt / "fifo", 0o644 | stat.S_IFIFO)
    refused(mnt, errno.EPERM, os.mknod, mnt / "reg", 0o644 | stat.S_IFREG)
    assert sorted(os.listdir(mnt.path)) == [".audit", "d", "empty-dir", "f"]


def test_fallocate_is_not_supported(mnt):
    write_file(mnt / "f", b"data")
    fd = os.open(mnt / "f", os.O_RDWR)

    def fallocate(mode, offset, length):
        if libc.fallocate(fd, mode, ctypes.c_long(offset), ctypes.c_long(length)) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    fallocate.__name__ = "fallocate"
    try:
        refused(mnt, errno.EOPNOTSUPP, fallocate, 0, 0, 4096)
        refused(mnt, errno.EOPNOTSUPP, fallocate, 1, 4, 4096)   # FALLOC_FL_KEEP_SIZE
        refused(mnt, errno.EOPNOTSUPP, fallocate, 3, 0, 2)      # PUNCH_HOLE | KEEP_SIZE
    finally:
        os.close(fd)


def test_extended_attributes(mnt):
    write_file(mnt / "f", b"data")
    refused(mnt, errno.ENOTSUP, os.setxattr, mnt / "f", "user.k", b"v")
    refused(mnt, errno.ENOTSUP, os.setxattr, mnt.path, "user.k", b"v")
    before = user_state(mnt.store)
    with pytest.raises(OSError) as e:
        os.removexattr(mnt / "f", "user.k")
    assert e.value.errno in (errno.ENOTSUP, errno.EPERM)
    with pytest.raises(OSError) as e:
        os.getxattr(mnt / "f", "user.k")
    assert e.value.errno in (errno.ENODATA, errno.ENOTSUP)
    assert os.listxattr(mnt / "f") == []
    assert_user_files_unchanged(mnt.store, before)


def test_attributes_change_on_an_empty_file_and_are_recorded(mnt):
    uid, gid = ensure_test_user()
    os.close(os.open(mnt / "e", os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(mnt / "e", 0o640)
    os.chown(mnt / "e", uid, gid)
    os.utime(mnt / "e", ns=(1_000_000_000_123, 2_000_000_000_456))
    st = os.stat(mnt / "e")
    assert stat.S_IMODE(st.st_mode) == 0o640 and (st.st_uid, st.st_gid) == (uid, gid)
    assert st.st_mtime_ns == 2_000_000_000_456 and st.st_atime_ns == 1_000_000_000_123
    ops = [e["op"] for e in log_entries(mnt.store, "/e")]
    assert ops == ["create", "setattr", "setattr", "setattr"], ops
    # An empty directory too (rsyslog/logrotate chown fresh things).
    os.mkdir(mnt / "d")
    os.chmod(mnt / "d", 0o2750)
    assert stat.S_IMODE(os.stat(mnt / "d").st_mode) == 0o2750
    # The attributes survive a remount (they are in the chain, not in memory).
    mnt.unmount()
    m2 = Mount(mnt.store, mnt.path)
    st2 = os.stat(m2 / "e")
    assert (st2.st_mode, st2.st_uid, st2.st_gid, st2.st_mtime_ns) == (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns)


def test_attributes_of_a_non_empty_file_only_when_nothing_changes(mnt):
    write_file(mnt / "f", b"data", mode=0o644)
    st = os.stat(mnt / "f")
    before = user_state(mnt.store)
    os.chmod(mnt / "f", 0o644)                       # no change: allowed, nothing recorded
    os.chown(mnt / "f", st.st_uid, st.st_gid)
    os.utime(mnt / "f", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert_user_files_unchanged(mnt.store, before)
    refused(mnt, errno.EPERM, os.chmod, mnt / "f", 0o600)
    refused(mnt, errno.EPERM, os.chown, mnt / "f", 1, 1)
    refused(mnt, errno.EPERM, os.chown, mnt / "f", -1, 1)
    refused(mnt, errno.EPERM, os.utime, mnt / "f", None)            # touch: now
    refused(mnt, errno.EPERM, os.utime, mnt / "f", ns=(1, 2))
    os.mkdir(mnt / "d")
    write_file(mnt / "d" / "x", b"x")
    refused(mnt, errno.EPERM, os.chmod, mnt / "d", 0o777)          # a directory with entries
    assert os.stat(mnt / "f") == st


def test_reads_and_stats_are_true(mnt):
    write_file(mnt / "f", b"first\n")
    reader = os.open(mnt / "f", os.O_RDONLY)
    writer = os.open(mnt / "f", os.O_WRONLY | os.O_APPEND)
    try:
        os.write(writer, b"second\n")
        assert os.lseek(reader, 0, os.SEEK_END) == 13
        assert os.fstat(reader).st_size == 13
        subprocess.run(["sh", "-c", f"printf 'third\\n' >> {mnt / 'f'}"], check=True)  # another process
        assert os.lseek(reader, 0, os.SEEK_END) == 19
        assert os.pread(reader, 100, 6) == b"second\nthird\n"
    finally:
        os.close(reader)
        os.close(writer)
    assert read_file(mnt / "f") == b"first\nsecond\nthird\n"
    # mtime is the time of the last append, the inode number the file id.
    entries = log_entries(mnt.store, "/f")
    st = os.stat(mnt / "f")
    assert st.st_mtime_ns == entries[-1]["timeNs"] and st.st_ino == entries[0]["file"]
    assert st.st_size == 19 and st.st_nlink == 1
    os.mkdir(mnt / "d")
    for n in ("b", "a", "c"):
        write_file(mnt / "d" / n, n.encode())
    assert sorted(os.listdir(mnt / "d")) == ["a", "b", "c"]
    assert [e.name for e in os.scandir(mnt / "d") if e.is_file()] == ["b", "a", "c"]   # readdir lists in creation order
    assert os.access(mnt / "f", os.R_OK | os.W_OK) and not os.access(mnt / "missing", os.F_OK)
    vfs = os.statvfs(mnt.path)
    assert vfs.f_namemax == 255 and vfs.f_bsize > 0 and vfs.f_blocks > 0
    expect_errno(errno.ENOENT, os.stat, mnt / "missing")
    # Inode numbers are stable across a remount.
    inodes = {n: os.stat(mnt / "d" / n).st_ino for n in ("a", "b", "c")}
    mnt.unmount()
    m2 = Mount(mnt.store, mnt.path)
    assert {n: os.stat(m2 / "d" / n).st_ino for n in ("a", "b", "c")} == inodes
    assert os.stat(m2 / "f").st_mtime_ns == st.st_mtime_ns


def test_a_file_read_again_after_it_grew_reads_its_new_bytes(mnt):
    """Read-only opens keep the kernel's page cache of earlier opens
    (FOPEN_KEEP_CACHE) only while the file has not grown since it was read:
    the cached last page holds zeros past the old end. Each reopen, cat and
    tail must see every byte appended since, by this mount's writers and by
    the daemon itself (/.audit)."""
    path = mnt / "grow.log"
    writer = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        expected = b""
        for i in range(40):
            line = f"line {i} ".encode() + b"x" * (i * 37 % 300) + b"\n"
            os.write(writer, line)
            expected += line
            assert read_file(path) == expected, f"after append {i}"           # a new open each time
            assert run("cat", path).stdout == expected
            if i % 10 == 9:
                os.write(writer, b"y" * 5000)                                  # past a page boundary
                expected += b"y" * 5000
        assert run("tail", "-c", "100", path).stdout == expected[-100:]
    finally:
        os.close(writer)
    # The decision log grows behind the kernel's back (the daemon appends it); once the kernel
    # has seen its new size (attributes cached 1 s), a new open reads it whole.
    decisions = sorted((mnt / ".audit" / "decisions").glob("*.jsonl"))[-1]
    first = read_file(decisions)
    write_file(mnt / "another.log", b"one more decision\n")
    time.sleep(1.2)
    again = read_file(decisions)
    assert again.startswith(first) and len(again) == os.stat(decisions).st_size and b"\0" not in again[len(first) - 1:]


def test_a_reader_following_a_growing_file_sees_every_line(mnt):
    """tail -f: one descriptor kept open while another process appends."""
    path = mnt / "follow.log"
    write_file(path, b"start\n")
    follower = subprocess.Popen(["tail", "-n", "+1", "-f", "-s", "0.05", str(path)], stdout=subprocess.PIPE)
    try:
        lines = [f"{i:04d} ".encode() + b"z" * (i * 53 % 700) + b"\n" for i in range(60)]
        for line in lines:
            subprocess.run(["sh", "-c", f"cat >> {path}"], input=line, check=True)   # a new writer each time
        want = b"start\n" + b"".join(lines)
        got = b""
        deadline = time.monotonic() + 20
        os.set_blocking(follower.stdout.fileno(), False)
        while len(got) < len(want) and time.monotonic() < deadline:
            chunk = follower.stdout.read()
            if chunk:
                got += chunk
            else:
                time.sleep(0.05)
        assert got == want
    finally:
        follower.kill()
        follower.wait()


def test_terminal_ioctl_is_not_a_tty(mnt):
    import fcntl
    import termios
    write_file(mnt / "f", b"x")
    fd = os.open(mnt / "f", os.O_WRONLY | os.O_APPEND)
    try:
        refused(mnt, errno.ENOTTY, fcntl.ioctl, fd, termios.TCGETS, bytes(64))
    finally:
        os.close(fd)
    fd = os.open(mnt / "f", os.O_RDONLY)
    try:
        assert not os.isatty(fd)
    finally:
        os.close(fd)


def test_fsync_and_fdatasync_on_files_and_directories(mnt):
    fd = os.open(mnt / "f", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, b"durable\n")
    os.fsync(fd)
    os.write(fd, b"again\n")
    os.fdatasync(fd)
    os.close(fd)
    for d in (mnt.path, ):
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
    # Concurrent fsyncs (group commit) all succeed.
    script = textwrap.dedent(f"""
        import os
        fd = os.open({str(mnt / 'f')!r}, os.O_WRONLY | os.O_APPEND)
        for i in range(50):
            os.write(fd, b"s%d\\n" % i); os.fsync(fd)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    assert read_file(mnt / "f").count(b"\n") == 2 + 200


# ---- real programs ------------------------------------------------------------------------------

def test_shell_tools(mnt):
    log = mnt / "app.log"
    run("sh", "-c", f"echo one >> {log}", check=True)
    run("sh", "-c", f"echo two | tee -a {log} > /dev/null", check=True)
    run("sh", "-c", f"echo three | dd of={log} oflag=append conv=notrunc status=none", check=True)
    run("sh", "-c", f"printf 'four\\n' | cat >> {log}", check=True)
    assert read_file(log) == b"one\ntwo\nthree\nfour\n"
    cmds = [e["command"] for e in log_entries(mnt.store, "/app.log") if e["op"] == "append"]
    assert cmds[1:4] == ["tee", "dd", "cat"], cmds
    # cat of a regular file tries copy_file_range first, then writes.
    part = mnt.store.parent / "part.txt"
    part.write_bytes(b"five\nsix\n")
    run("sh", "-c", f"cat {part} >> {log}", check=True)
    assert read_file(log) == b"one\ntwo\nthree\nfour\nfive\nsix\n"
    # cp to a new name (copy_file_range from offset 0, or read/write).
    src = mnt.store.parent / "source.bin"
    src.write_bytes(os.urandom(300_000))
    run("cp", src, mnt / "copy.bin", check=True)
    assert read_file(mnt / "copy.bin") == src.read_bytes()
    # bash `>` on an existing non-empty log: O_TRUNC refused, nothing lost.
    before = user_state(mnt.store)
    r = run("sh", "-c", f"echo clobber > {log}")
    assert r.returncode != 0 and "Operation not permitted" in r.err
    assert_user_files_unchanged(mnt.store, before)


def test_python_logging_file_handler(mnt):
    script = textwrap.dedent(f"""
        import logging
        h = logging.FileHandler({str(mnt / 'py.log')!r})
        h.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        log = logging.getLogger("t"); log.addHandler(h); log.setLevel(logging.INFO)
        for i in range(100):
            log.info("record %d", i)
        h.close()
    """)
    r = run(sys.executable, "-c", script)
    assert r.returncode == 0 and r.err == "", r.err
    assert read_file(mnt / "py.log").decode().splitlines() == [f"INFO record {i}" for i in range(100)]
    appends = [e for e in log_entries(mnt.store, "/py.log") if e["op"] == "append"]
    assert len(appends) == 100   # one write per record, one block per write


def test_non_root_writer_blocks_carry_its_uid(mnt):
    uid, gid = ensure_test_user()
    os.mkdir(mnt / "users", 0o755)
    os.chown(mnt / "users", uid, gid)
    script = f"import os\nfd = os.open({str(mnt / 'users' / 'u.log')!r}, os.O_WRONLY|os.O_CREAT|os.O_APPEND, 0o644)\n" \
             "for i in range(5): os.write(fd, b'line %d\\n' % i)\n"
    r = run(sys.executable, "-c", script, user=TEST_USER)
    assert r.returncode == 0, r.err
    entries = log_entries(mnt.store, "/users/u.log")
    assert [e["op"] for e in entries] == ["create"] + ["append"] * 5
    assert all(e["uid"] == uid and e["gid"] == gid for e in entries)
    assert all(e["command"].startswith("python") for e in entries)
    # The user may append to its own file but cannot change another's.
    write_file(mnt / "users" / "root.log", b"root\n")
    r = run("sh", "-c", f"echo x >> {mnt / 'users' / 'root.log'}", user=TEST_USER)
    assert r.returncode != 0 and "Permission denied" in r.err


# ---- history mode (-o history, docs/MOUNT.md "History mode") ------------------------------------

@pytest.fixture
def hmnt(store):
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-test-"))
    parent.chmod(0o755)
    m = Mount(store, parent / "mnt", options=["history"])
    try:
        yield m
    finally:
        m.cleanup()
        shutil.rmtree(parent)
    assert auditfs("verify", store).returncode == 0


RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4


def renameat2(old, new, flags):
    libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if libc.renameat2(-100, os.fsencode(old), -100, os.fsencode(new), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), str(old))


def retired(m, original):
    """The paths under /.audit/retired of the nodes retired from `original` (a mount path), oldest first."""
    parent = m.path / ".audit" / "retired" / os.path.dirname(original).lstrip("/")
    name = os.path.basename(original)
    if not parent.is_dir():
        return []
    found = [parent / n for n in os.listdir(parent) if n.startswith(name + "@")]
    return sorted(found, key=lambda p: int(p.name.rsplit("#", 1)[1]))


def decisions(m):
    out = []
    for day in sorted((m.path / ".audit" / "decisions").iterdir()):
        out += [json.loads(line) for line in day.read_text().splitlines()]
    return out


def test_history_rename_keeps_the_file_and_a_replaced_one_is_retired(hmnt):
    fd = os.open(hmnt / "app.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, b"one\n")
    ino = os.stat(hmnt / "app.log").st_ino
    os.rename(hmnt / "app.log", hmnt / "app.log.1")
    assert not (hmnt / "app.log").exists() and os.stat(hmnt / "app.log.1").st_ino == ino
    os.write(fd, b"two\n")                                  # the writer's descriptor follows the file
    assert read_file(hmnt / "app.log.1") == b"one\ntwo\n"
    write_file(hmnt / "app.log", b"new\n")
    os.rename(hmnt / "app.log", hmnt / "app.log.1")          # a rotation: app.log.1 is replaced
    assert read_file(hmnt / "app.log.1") == b"new\n"
    [old] = retired(hmnt, "/app.log.1")
    assert re.fullmatch(r"app\.log\.1@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ#\d+", old.name), old.name
    assert read_file(old) == b"one\ntwo\n" and os.stat(old).st_ino == ino
    # The descriptor kept on the replaced file: EPERM, nothing stored, a refusal that is not tamper.
    expect_errno(errno.EPERM, os.write, fd, b"late\n")
    os.close(fd)
    assert read_file(old) == b"one\ntwo\n"
    late = [d for d in decisions(hmnt) if d["verb"] == "write" and d["decision"] == "deny"]
    assert [(d["mountRule"], d["tamper"]) for d in late] == [("retired", False)], late
    ops = [(d["verb"], d["path"], d.get("target")) for d in decisions(hmnt) if d["verb"] in ("rename", "remove")]
    assert ("rename", "/app.log", "/app.log.1") in ops and ("remove", "/app.log.1", "/app.log") in ops, ops


def test_history_unlink_rmdir_and_directory_renames(hmnt):
    write_file(hmnt / "gone.log", b"kept\n")
    os.unlink(hmnt / "gone.log")
    assert not (hmnt / "gone.log").exists()
    [g] = retired(hmnt, "/gone.log")
    assert read_file(g) == b"kept\n"
    os.mkdir(hmnt / "empty")
    os.rmdir(hmnt / "empty")
    assert not (hmnt / "empty").exists() and len(retired(hmnt, "/empty")) == 1
    os.makedirs(hmnt / "a" / "sub")
    write_file(hmnt / "a" / "sub" / "f", b"f\n")
    refused(hmnt, errno.ENOTEMPTY, os.rmdir, hmnt / "a")
    refused(hmnt, errno.EISDIR, os.unlink, hmnt / "a")
    refused(hmnt, errno.EINVAL, os.rename, hmnt / "a", hmnt / "a" / "sub" / "a")
    os.mkdir(hmnt / "b")
    os.rename(hmnt / "a", hmnt / "b" / "a")                  # a directory, with what is below it
    assert read_file(hmnt / "b" / "a" / "sub" / "f") == b"f\n"
    assert sorted(os.listdir(hmnt.path)) == [".audit", "b"]
    write_file(hmnt / "x", b"x\n")
    write_file(hmnt / "y", b"y\n")
    refused(hmnt, errno.EEXIST, renameat2, hmnt / "x", hmnt / "y", RENAME_NOREPLACE)
    refused(hmnt, errno.EINVAL, renameat2, hmnt / "x", hmnt / "y", RENAME_EXCHANGE)
    renameat2(hmnt / "x", hmnt / "z", RENAME_NOREPLACE)
    assert read_file(hmnt / "z") == b"x\n"
    flags = [d for d in decisions(hmnt) if d.get("mountRule") == "rename-flags"]
    assert [(d["path"], d["target"], d["tamper"], d["error"]) for d in flags] == [("/x", "/y", False, "EINVAL")]


def test_history_attributes_of_files_with_content_change_and_are_recorded(hmnt):
    write_file(hmnt / "current", b"line\n")
    os.chmod(hmnt / "current", 0o744)
    os.utime(hmnt / "current", ns=(1_000_000_000, 2_000_000_000))
    st = os.stat(hmnt / "current")
    assert stat.S_IMODE(st.st_mode) == 0o744 and st.st_mtime_ns == 2_000_000_000
    assert [e["op"] for e in log_entries(hmnt.store, "/current")] == ["create", "append", "setattr", "setattr"]


def test_history_still_refuses_what_would_change_bytes_or_audit_records(hmnt):
    write_file(hmnt / "f", b"data")
    write_file(hmnt / "g", b"gone")
    os.unlink(hmnt / "g")
    [g] = retired(hmnt, "/g")
    refused(hmnt, errno.EPERM, os.truncate, hmnt / "f", 1)
    refused(hmnt, errno.EPERM, os.link, hmnt / "f", hmnt / "hard")
    refused(hmnt, errno.EPERM, os.symlink, "f", hmnt / "sym")
    refused(hmnt, errno.EPERM, os.rename, hmnt / ".audit" / "events.jsonl", hmnt / "e")
    refused(hmnt, errno.EPERM, os.rename, hmnt / "f", hmnt / ".audit" / "f")
    refused(hmnt, errno.EPERM, os.rename, g, hmnt / "back")
    refused(hmnt, errno.EPERM, os.unlink, g)
    refused(hmnt, errno.EPERM, os.unlink, hmnt / ".audit" / "events.jsonl")
    expect_errno(errno.EPERM, write_file, g, b"more")
    assert read_file(g) == b"gone"
    audit = [d for d in decisions(hmnt) if d.get("mountRule") == "audit-namespace"]
    assert audit and all(d["tamper"] for d in audit)


def test_history_sticky_directory_and_mode_bits(hmnt):
    uid, gid = ensure_test_user()
    os.mkdir(hmnt / "tmp")
    os.chmod(hmnt / "tmp", 0o1777)
    write_file(hmnt / "tmp" / "root.log", b"root\n")
    before = user_state(hmnt.store)
    r = run("sh", "-c", f"rm -f {hmnt / 'tmp' / 'root.log'}; mv {hmnt / 'tmp' / 'root.log'} {hmnt / 'tmp' / 'x'}",
            user=TEST_USER)
    assert r.returncode != 0 and "Operation not permitted" in r.err, r.err
    assert_user_files_unchanged(hmnt.store, before, "a user's rm and mv in a sticky directory")
    sticky = [d for d in decisions(hmnt) if d.get("needed") == "owner (sticky directory)"]
    assert {d["verb"] for d in sticky} == {"unlink", "rename"} and all(d["uid"] == uid for d in sticky)
    # Its own file, it may rotate.
    r = run("sh", "-c", f"echo a >> {hmnt / 'tmp' / 'u.log'} && mv {hmnt / 'tmp' / 'u.log'} {hmnt / 'tmp' / 'u.log.1'}"
            f" && rm {hmnt / 'tmp' / 'u.log.1'}", user=TEST_USER)
    assert r.returncode == 0, r.err
    assert [e["uid"] for e in log_entries(hmnt.store) if e["op"] == "rename"][-2:] == [uid, uid]


def test_error_history_on_a_strict_only_store_is_one_line(tmp_path):
    v1 = ROOT_FIXTURES / "golden-v1" / "store"
    if not v1.is_dir() or "auditfs-store v1" not in (v1 / "auditfs-store").read_text():
        pytest.skip("no v1 store fixture")
    store = tmp_path / "v1"
    shutil.copytree(v1, store)
    mp = tmp_path / "mnt"
    mp.mkdir()
    before = tree_digest(store)
    r = auditfs("mount", store, mp, "-o", "history", timeout=60)
    assert r.returncode == 1
    assert r.err.strip().endswith(f"store '{store}' is format v1, which records no renames; -o history needs a store "
                                  "made by this auditfs (format v2)"), r.err
    assert len(r.err.strip().splitlines()) == 1 and mounted_fstype(mp) is None
    assert tree_digest(store) == before, "the refused mount touched the store"


# ---- concurrency --------------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import os, sys
    path, me, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for i in range(n):
        line = b"w%02d %06d %s\\n" % (me, i, b"x" * ((me * 37 + i * 11) % 300))
        assert os.write(fd, line) == len(line)
        if "sync" in sys.argv[4:]:
            os.fdatasync(fd)
        if "report" in sys.argv[4:]:
            sys.stdout.write("%d\\n" % i); sys.stdout.flush()
""")

LINE = re.compile(rb"^w(\d\d) (\d{6}) (x*)$")


def expected_line(me, i):
    return b"w%02d %06d %s" % (me, i, b"x" * ((me * 37 + i * 11) % 300))


def test_16_concurrent_append_writers_never_interleave(mnt):
    writers, n = 16, 400
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(mnt / "shared.log"), str(w), str(n)])
             for w in range(writers)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    data = read_file(mnt / "shared.log")
    lines = data.split(b"\n")
    assert lines.pop() == b""
    seen = {}
    for line in lines:
        m = LINE.match(line)
        assert m, f"torn line: {line[:80]!r}"
        key = (int(m.group(1)), int(m.group(2)))
        assert line == expected_line(*key), f"damaged line {key}"
        seen[key] = seen.get(key, 0) + 1
    assert len(lines) == writers * n and all(v == 1 for v in seen.values())
    assert set(seen) == {(w, i) for w in range(writers) for i in range(n)}
    # Each writer's lines are in its own order; each write() is one block.
    for w in range(writers):
        mine = [int(LINE.match(x).group(2)) for x in lines if x.startswith(b"w%02d " % w)]
        assert mine == list(range(n))
    appends = [e for e in log_entries(mnt.store, "/shared.log") if e["op"] == "append"]
    assert len(appends) == writers * n
    assert os.stat(mnt / "shared.log").st_size == len(data)


def test_more_syncing_writers_than_workers_and_readers_beside_them(mnt):
    """24 processes append and fdatasync after every line while 4 more list,
    stat and read: more requests that wait for the disk than the session
    loop has workers (10), beside small WRITEs its reader answers itself.
    Every write and sync returns, and every line is stored once, whole."""
    writers, n = 24, 60
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(mnt / f"s{w % 3}.log"), str(w), str(n), "sync"])
             for w in range(writers)]
    stop = time.monotonic() + 120
    readers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, sys, time
        root, stop = sys.argv[1], float(sys.argv[2])
        while time.monotonic() < stop and not os.path.exists(os.path.join(root, "s0.log")):
            time.sleep(0.01)
        for _ in range(200):
            for name in os.listdir(root):
                os.stat(os.path.join(root, name))
            with open(os.path.join(root, "s0.log"), "rb") as f:
                f.read()
    """), str(mnt.path), str(stop)]) for _ in range(4)]
    assert all(p.wait(timeout=180) == 0 for p in procs + readers)
    seen = {}
    for name in ("s0.log", "s1.log", "s2.log"):
        lines = read_file(mnt / name).split(b"\n")
        assert lines.pop() == b""
        for line in lines:
            m = LINE.match(line)
            assert m and line == expected_line(int(m.group(1)), int(m.group(2))), f"torn line: {line[:80]!r}"
            key = (int(m.group(1)), int(m.group(2)))
            assert int(m.group(1)) % 3 == int(name[1]), f"line {key} in {name}"
            seen[key] = seen.get(key, 0) + 1
    assert seen == {(w, i): 1 for w in range(writers) for i in range(n)}
    assert auditfs("verify", mnt.store).returncode == 0


# ---- kill -9 ------------------------------------------------------------------------------------

def test_kill_9_mid_write_loses_no_acknowledged_line(store, tmp_path):
    mp = tmp_path / "mnt"
    acked = {}   # (writer, i) for every write() that returned
    for round_ in range(5):
        m = Mount(store, mp, foreground=True)
        try:
            procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(m / f"r{w % 2}.log"), str(round_ * 10 + w),
                                       "1000000", "report"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                     for w in range(4)]
            # Each writer is under way (its first write acknowledged) before the kill, however
            # slowly the machine starts processes.
            started = [p.stdout.readline() for p in procs]
            time.sleep(0.1 + 0.1 * round_)
            os.kill(m.proc.pid, signal.SIGKILL)
            assert m.proc.wait(timeout=30) == -signal.SIGKILL
            for w, p in enumerate(procs):
                out, _ = p.communicate(timeout=60)
                assert p.returncode != 0   # its next write failed: the daemon is gone
                done = [int(x) for x in (started[w] + out).split()]
                assert done, "the writer made no progress before the kill"
                acked.update({(round_ * 10 + w, i): f"r{w % 2}.log" for i in done})
            # A dead mount: a new mount on it says so, and fusermount3 -u cleans it.
            r = auditfs("mount", store, mp, timeout=30)
            assert r.returncode != 0 and "dead FUSE mount" in r.err, r.err
        finally:
            force_unmount(mp)
        assert mounted_fstype(mp) is None
        assert auditfs("verify", store).returncode == 0
    m = Mount(store, mp)
    try:
        for name in ("r0.log", "r1.log"):
            lines = read_file(m / name).split(b"\n")
            assert lines.pop() == b""
            keys = [tuple(int(g) for g in LINE.match(x).groups()[:2]) for x in lines]
            assert len(keys) == len(set(keys)), "a line is stored twice"
            for line, key in zip(lines, keys):
                assert line == expected_line(*key)
            stored = set(keys)
            missing = [k for k, f in acked.items() if f == name and k not in stored]
            assert not missing, f"acknowledged lines lost from {name}: {missing[:5]}"
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0


# ---- lifecycle ----------------------------------------------------------------------------------

def test_lifecycle_mount_write_unmount_remount(store, tmp_path):
    mp = tmp_path / "mnt"
    m = Mount(store, mp)
    try:
        assert mounted_fstype(mp) == "fuse.auditfs"
        write_file(m / "a.log", b"written right after mount returned\n")  # no wait: mount returned ready
        payload = os.urandom(3 << 20)
        write_file(m / "big.bin", payload)
        m.unmount()
        assert mounted_fstype(mp) is None and not daemon_pids(mp)
        assert auditfs("verify", store).returncode == 0
        assert auditfs("cat", store, "/big.bin").stdout == payload
        m = Mount(store, mp)
        assert read_file(m / "a.log") == b"written right after mount returned\n"
        assert read_file(m / "big.bin") == payload
        # `umount` works as well as fusermount3 -u.
        pid = m.pid
        assert run("umount", mp).returncode == 0
        m.wait_gone([pid])
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_unmounts_with_every_write_stored(store, tmp_path, sig):
    m = Mount(store, tmp_path / "mnt", foreground=True)
    try:
        fd = os.open(m / "s.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        for i in range(200):
            os.write(fd, b"line %d\n" % i)
        os.close(fd)
        m.proc.send_signal(sig)
        assert m.proc.wait(timeout=30) == 0
        assert mounted_fstype(m.path) is None
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0
    assert auditfs("cat", store, "/s.log").stdout == b"".join(b"line %d\n" % i for i in range(200))


def test_sigterm_under_load_answers_the_requests_in_flight_and_exits(store, tmp_path):
    """SIGTERM while 12 writers append and fdatasync (more than the session
    loop's 10 workers, some blocked in fdatasync, one in read()): the daemon
    answers what it has read, cancels the blocked read, joins its workers and
    exits 0; every write that returned is stored once, and the store verifies."""
    m = Mount(store, tmp_path / "mnt", foreground=True)
    procs = []
    try:
        procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(m / f"t{w % 4}.log"), str(w), "1000000",
                                   "sync", "report"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                 for w in range(12)]
        started = [p.stdout.readline() for p in procs]
        assert all(started), "a writer made no progress"
        time.sleep(0.3)
        m.proc.send_signal(signal.SIGTERM)
        assert m.proc.wait(timeout=60) == 0
        acked = {}
        for w, p in enumerate(procs):
            out, _ = p.communicate(timeout=60)
            assert p.returncode != 0   # its next write failed: the mount is gone
            acked.update({(w, int(i)): f"t{w % 4}.log" for i in (started[w] + out).split()})
        assert mounted_fstype(m.path) is None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        m.cleanup()
    assert auditfs("verify", store).returncode == 0
    for name in ("t0.log", "t1.log", "t2.log", "t3.log"):
        lines = auditfs("cat", store, "/" + name).stdout.split(b"\n")
        assert lines.pop() == b""
        keys = [tuple(int(g) for g in LINE.match(x).groups()[:2]) for x in lines]
        assert len(keys) == len(set(keys)), "a line is stored twice"
        assert all(line == expected_line(*k) for line, k in zip(lines, keys))
        missing = [k for k, f in acked.items() if f == name and k not in set(keys)]
        assert not missing, f"acknowledged lines lost from {name}: {missing[:5]}"


# ---- startup errors: one line, non-zero, never a hang -------------------------------------------

def one_line_error(r, *fragments):
    assert r.returncode != 0
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditfs: "), r.err
    for f in fragments:
        assert f in lines[0], lines[0]
    assert "Fatal error" not in r.err and "backtrace" not in r.err.lower()


def try_mount(store, mp, *extra, **kw):
    r = auditfs("mount", store, mp, *extra, timeout=30, **kw)
    if r.returncode == 0:
        force_unmount(mp)
    return r


def test_error_mountpoint_missing_not_a_directory_or_not_empty(store, tmp_path):
    one_line_error(try_mount(store, tmp_path / "nope"), "does not exist")
    (tmp_path / "file").write_text("x")
    one_line_error(try_mount(store, tmp_path / "file"), "not a directory")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    one_line_error(try_mount(store, tmp_path / "full"), "not empty")
    assert mounted_fstype(tmp_path / "full") is None


def test_error_already_mounted_and_store_busy(store, tmp_path):
    m = Mount(store, tmp_path / "mnt")
    try:
        other = tmp_path / "other"
        auditfs("init", other, check=True)
        one_line_error(try_mount(other, m.path), "already mounted")
        (tmp_path / "mnt2").mkdir()
        one_line_error(try_mount(store, tmp_path / "mnt2"), "open for writing by another process")
        assert mounted_fstype(tmp_path / "mnt2") is None
        write_file(m / "still-serving", b"ok")
    finally:
        m.cleanup()


def test_error_store_missing_or_damaged(store, tmp_path):
    mp = tmp_path / "mnt"
    mp.mkdir()
    one_line_error(try_mount(tmp_path / "no-store", mp), "does not exist")
    (tmp_path / "plain").mkdir()
    one_line_error(try_mount(tmp_path / "plain", mp), "not an auditfs store")
    m = Mount(store, mp)
    try:
        write_file(m / "a", b"a" * 100)
        write_file(m / "a", b"b" * 100)
    finally:
        m.cleanup()
    entries = log_entries(store)
    seg = store / "segments" / entries[-1]["segment"]
    pristine = seg.read_bytes()
    # Cut off the last record: the segment is shorter than the index says.
    seg.write_bytes(pristine[:entries[-1]["position"]])
    one_line_error(try_mount(store, mp), "integrity check")
    assert mounted_fstype(mp) is None and not daemon_pids(mp)
    # A flipped byte in a record in the middle, found by the full replay
    # that runs when there is no index cache.
    damaged = bytearray(pristine)
    damaged[entries[1]["position"] + 40] ^= 0xFF
    seg.write_bytes(bytes(damaged))
    shutil.rmtree(store / "cache")
    one_line_error(try_mount(store, mp), "integrity check", "record 1")
    assert mounted_fstype(mp) is None and not daemon_pids(mp)


def test_error_bad_option(store, tmp_path):
    (tmp_path / "mnt").mkdir()
    one_line_error(try_mount(store, tmp_path / "mnt", "-o", "no_such_option"), "no_such_option")
    assert mounted_fstype(tmp_path / "mnt") is None


def test_error_not_root(store, tmp_path):
    ensure_test_user()
    (tmp_path / "mnt").mkdir()
    r = run(AUDITFS, "mount", store, tmp_path / "mnt", user=TEST_USER, timeout=30)
    one_line_error(r, "must run as root")


def test_error_fusermount3_missing(store, tmp_path):
    (tmp_path / "mnt").mkdir()
    r = run(AUDITFS, "mount", store, tmp_path / "mnt", env={"PATH": str(tmp_path)}, timeout=30)
    one_line_error(r, "fusermount3 not found")
    assert mounted_fstype(tmp_path / "mnt") is None


def test_error_dev_fuse_missing(store, tmp_path):
    (tmp_path / "mnt").mkdir()
    # A private mount namespace whose /dev has no fuse device.
    script = f"mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && exec {AUDITFS} mount {store} {tmp_path / 'mnt'}"
    r = run("unshare", "--mount", "--propagation", "private", "sh", "-c", script, timeout=30)
    one_line_error(r, "/dev/fuse is missing")


def test_unknown_mount_option_is_named_whole(store, tmp_path):
    """libfuse reports an unknown option in pieces; the user sees one whole line."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    before = tree_digest(store)
    r = auditfs("mount", store, mnt, "-o", "bogus")
    assert r.returncode == 1
    assert r.err.strip().splitlines() == ["auditfs: libfuse: unknown option(s): `-o bogus'"], r.err
    assert tree_digest(store) == before
    assert mounted_fstype(mnt) is None
