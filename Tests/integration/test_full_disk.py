"""Issue 11 item 4: a store whose file system fails a write keeps the errno. With
no reserve (`-o reserve=0`) the frames themselves meet the full disk: the
writer gets ENOSPC from the failed pwritev (the store's system error keeps
its errno; it used to be flattened), never EIO; a frame cut short by the
full disk is cut back, so no block is half-stored: `auditfs verify` passes
with the disk still full, and again after the file system grows
(`mount -o remount,size=...`) and writing resumes; what the writer was told
was written reads back exactly, through the mount and through `auditfs cat`.
A segments directory that goes read-only gives the writer EROFS (it was EIO)."""
import errno
import os
import subprocess

import pytest

from conftest import auditfs, run
from mountlib import Mount

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

KiB = 1 << 10


def chunk(i, size):
    """The bytes of write number `i`: distinct for every write, so a block
    stored twice, out of order or half is seen."""
    stamp = f"[{i:07d}]".encode()
    return (stamp * (size // len(stamp) + 1))[:size]


def append_until_error(path, start, size):
    """Appends chunk(start), chunk(start + 1), … of `size` bytes until a
    write fails; returns (the bytes the writes said were written, next i, errno)."""
    written = bytearray()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    i = start
    try:
        while True:
            data = chunk(i, size)
            try:
                n = os.write(fd, data)
            except OSError as e:
                return bytes(written), i, e.errno
            written += data[:n]
            i += 1
    finally:
        os.close(fd)


def refused_errno(action):
    with pytest.raises(OSError) as e:
        action()
    return e.value.errno


def test_full_disk_gives_the_writer_enospc_and_leaves_no_half_stored_block(place):
    fs = place / "fs"
    fs.mkdir()
    run("mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", fs, check=True)
    m = None
    try:
        store = fs / "store"
        auditfs("init", store, check=True)
        m = Mount(store, place / "mnt", options=["reserve=0"])
        os.mkdir(m / "data")
        # 1. Writes of a size that does not divide the disk: the last one meets the full disk
        #    inside a frame, which is cut back.
        stored, i, err = append_until_error(m / "data" / "log", 0, 100 * KiB)
        assert err == errno.ENOSPC, errno.errorcode.get(err)
        assert len(stored) > 3 << 20
        free = os.statvfs(fs).f_bavail * os.statvfs(fs).f_frsize
        assert free < 200 * KiB, free
        # Every kind of write keeps answering ENOSPC, however small (not EIO once the store has
        # seen a failure).
        for size in (100 * KiB, 4 * KiB, 1):
            more, _, err = append_until_error(m / "data" / "log", i, size)
            stored += more
            assert err == errno.ENOSPC, (size, errno.errorcode.get(err))
        assert refused_errno(lambda: open(m / "data" / "new", "wb").close()) == errno.ENOSPC
        assert refused_errno(lambda: os.mkdir(m / "data" / "dir")) == errno.ENOSPC
        # What the writes said was written reads back exactly, through the mount.
        with open(m / "data" / "log", "rb") as f:
            assert f.read() == stored
        assert sorted(os.listdir(m / "data")) == ["log"]
        m.unmount()
        m = None
        # 2. With the disk still full: every frame on disk is whole.
        r = auditfs("verify", store)
        assert r.returncode == 0, r.out + r.err
        assert auditfs("cat", store, "/data/log", check=True).stdout == stored
        # 3. The file system grows: writing resumes where it stopped.
        run("mount", "-o", "remount,size=32m", fs, check=True)
        m = Mount(store, place / "mnt", options=["reserve=0"])
        after = b"".join(chunk(i + k, 64 * KiB) for k in range(32))
        with open(m / "data" / "log", "ab", buffering=0) as f:
            assert f.write(after) == len(after)
        stored += after
        open(m / "data" / "new", "wb").close()
        os.mkdir(m / "data" / "dir")
        with open(m / "data" / "log", "rb") as f:
            assert f.read() == stored
        m.unmount()
        m = None
        r = auditfs("verify", store)
        assert r.returncode == 0, r.out + r.err
        assert auditfs("cat", store, "/data/log", check=True).stdout == stored
    finally:
        if m is not None:
            m.cleanup()
        subprocess.run(["umount", "-l", str(fs)], capture_output=True)


SEGMENT = 256 << 20   # Format.defaultSegmentSize: where a new segment is started


def test_read_only_segments_directory_gives_the_writer_erofs_not_eio(place):
    """A writer whose next frame must start a new segment in a segments
    directory that went read-only (a read-only bind mount over it: the open
    segment stays writable, the new one cannot be created) gets EROFS, as
    the failed open(2) said — it used to be EIO. Nothing is half-stored, and
    writing resumes into a new segment once the directory is writable again."""
    store = place / "store"
    auditfs("init", store, check=True)
    segments = store / "segments"
    m = Mount(store, place / "mnt", options=["reserve=0"])
    bound = False
    try:
        os.mkdir(m / "data")
        fd = os.open(m / "data" / "big", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            run("mount", "--bind", segments, segments, check=True)
            bound = True
            run("mount", "-o", "remount,bind,ro", segments, check=True)
            block = chunk(0, 1 << 20)
            written = 0
            with pytest.raises(OSError) as e:
                while True:
                    written += os.write(fd, block)
            assert e.value.errno == errno.EROFS, errno.errorcode.get(e.value.errno)
            assert SEGMENT - (4 << 20) < written <= SEGMENT, written
            # Every later block that does not fit meets the same directory: EROFS again, never EIO.
            assert refused_errno(lambda: os.write(fd, block)) == errno.EROFS
            run("umount", segments, check=True)
            bound = False
            # Writable again: the next block starts the new segment.
            after = chunk(1, 1 << 20)
            assert os.write(fd, after) == len(after)
            written += len(after)
        finally:
            os.close(fd)
        assert len(os.listdir(segments)) == 2
        m.unmount()
        m = None
        r = auditfs("verify", store)
        assert r.returncode == 0, r.out + r.err
        data = auditfs("cat", store, "/data/big", check=True).stdout
        assert len(data) == written and data == block * ((written - len(after)) // len(block)) + after
    finally:
        if bound:
            subprocess.run(["umount", "-l", str(segments)], capture_output=True)
        if m is not None:
            m.cleanup()
