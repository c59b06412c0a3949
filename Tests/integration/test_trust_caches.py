"""Issue 10 items 11, 12 and 15: what a reader serves is what the segments
hold. A forged cache (its plain checksum recomputed) is not believed by cat,
ls, a mount or query, and verify fails naming it; a store file that is a
FIFO, symlink, directory or device makes every command stop promptly with one
line (a cache file of that kind is ignored); readers beside a live writer
never crash."""
import hashlib
import json
import os
import pathlib
import shutil
import struct
import subprocess
import tempfile
import threading

import pytest

from conftest import AUDITFS, BIN_DIR, auditfs, run
from mountlib import Mount, ensure_test_user

needs_mount = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                 reason="mount tests need root and /dev/fuse")
QUERY_GEN = str(BIN_DIR / "query-gen")
END = 1_795_730_400_000_000_000   # 2026-11-26T22:00:00Z


# ---- item 12: store files that are not regular files

def one_line(p):
    lines = p.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditfs: "), p.err
    assert "Fatal error" not in p.err
    return lines[0]


def replace_with(path, kind, tmp_path):
    path = pathlib.Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        target = tmp_path / "elsewhere"
        target.write_bytes(b"not a segment")
        os.symlink(target, path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "device":
        os.symlink("/dev/zero", path) if os.geteuid() != 0 else os.mknod(path, 0o600 | 0o020000, os.makedev(1, 5))


COMMANDS = [("verify",), ("cat", "/a.log"), ("ls", "/"), ("log",), ("query",), ("append", "/a.log")]


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory", "device"])
def test_segment_that_is_not_a_regular_file_is_refused_promptly(tmp_path, kind):
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    auditfs("append", store, "/a.log", input="one\n", check=True)
    seg = next((store / "segments").glob("*.seg"))
    replace_with(seg, kind, tmp_path)
    for cmd in COMMANDS:
        p = auditfs(cmd[0], store, *cmd[1:], input="x\n", timeout=60)
        assert p.returncode in (1, 2), (cmd, p.returncode, p.out, p.err)
        line = one_line(p)
        if kind != "symlink":
            assert "not a regular file" in line or "segment" in line, line
    if os.geteuid() == 0 and os.path.exists("/dev/fuse"):
        mp = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-test-"))
        try:
            p = auditfs("mount", store, mp, timeout=60)
            assert p.returncode != 0, p.out
            one_line(p)
        finally:
            run("fusermount3", "-u", mp, timeout=30)
            mp.rmdir()


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory", "device"])
def test_cache_file_that_is_not_a_regular_file_is_ignored(tmp_path, kind):
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    auditfs("append", store, "/a.log", input="one\n", check=True)
    auditfs("query", store, check=True)
    for cache in ("cache/index", "cache/tree/level-00", "cache/tree/positions", "cache/query/state",
                  "cache/query/entries"):
        replace_with(store / cache, kind, tmp_path)
    assert auditfs("cat", store, "/a.log", timeout=60).stdout == b"one\n"
    assert "a.log" in auditfs("ls", store, "/", timeout=60).out
    assert auditfs("log", store, timeout=60).returncode == 0
    assert auditfs("query", store, timeout=60).returncode == 0
    assert auditfs("append", store, "/a.log", input="two\n", timeout=60).returncode == 0
    assert auditfs("cat", store, "/a.log", timeout=60).stdout == b"one\ntwo\n"
    v = auditfs("verify", store, timeout=60)
    assert v.returncode in (0, 1) and "Fatal" not in v.err, (v.out, v.err)
    if kind == "symlink":
        assert (tmp_path / "elsewhere").read_bytes() == b"not a segment"   # never written through


# ---- item 15: readers beside a live writer

def test_readers_never_crash_while_a_writer_appends(tmp_path):
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    auditfs("append", store, "/live.log", input="start\n", check=True)
    stop = threading.Event()

    def writer():
        # One writer process appending many blocks through its stdin, so the
        # segment grows while the readers read (the store lock allows one writer).
        while not stop.is_set():
            p = subprocess.Popen([AUDITFS, "append", str(store), "/live.log"], stdin=subprocess.PIPE)
            p.communicate(os.urandom(3000) + b"\n", timeout=60)
    w = threading.Thread(target=writer)
    w.start()
    failures = []
    try:
        for _ in range(22):
            for cmd in (("log",), ("log", "--json"), ("cat", "/live.log"), ("ls", "/"), ("verify",), ("query",)):
                p = auditfs(cmd[0], store, *cmd[1:], timeout=120)
                allowed = (0, 3) if cmd[0] == "verify" else (0,)
                if p.returncode not in allowed or "Fatal error" in p.err:
                    failures.append((cmd, p.returncode, p.err[-300:], p.out[-600:]))
    finally:
        stop.set()
        w.join()
    assert not failures, failures
    assert auditfs("verify", store).returncode == 0
