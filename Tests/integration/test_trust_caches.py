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


# ---- cache/index: parse, edit, re-checksum (what an attacker without the key can do)

NODE = struct.Struct("<QQBBHIIIQqqq32sQQ")


def parse_index(raw):
    """The index file (FORMAT.md "Index snapshot") as its header bytes, nodes and blocks."""
    at = 8 + 8 + 16 + 8 + 32 + 8
    seg_count, _covered = struct.unpack_from("<II", raw, at)
    at += 8 + 8 + 8 * seg_count
    range_count, = struct.unpack_from("<I", raw, at)
    at += 8 + 32 * range_count
    node_count, block_count = struct.unpack_from("<QQ", raw, at)
    at += 16
    head = raw[:at]
    nodes = []
    for _ in range(node_count):
        f = list(NODE.unpack_from(raw, at))
        at += NODE.size
        path = raw[at:at + f[4]]
        at += f[4]
        nodes.append({"fields": f, "path": path})
    at = (at + 7) // 8 * 8
    blocks = [list(struct.unpack_from("<QQQII", raw, at + 32 * i)) for i in range(block_count)]
    return {"head": head, "nodes": nodes,
            "blocks": blocks, "tail": raw[at + 32 * block_count:-32]}


def encode_index(ix):
    out = bytearray(ix["head"])
    for n in ix["nodes"]:
        f = n["fields"]
        f[4] = len(n["path"])
        out += NODE.pack(*f) + n["path"]
    while len(out) % 8:
        out.append(0)
    for b in ix["blocks"]:
        out += struct.pack("<QQQII", *b)
    out += ix["tail"]
    return bytes(out) + hashlib.sha256(bytes(out)).digest()


def node(ix, path):
    return next(n for n in ix["nodes"] if n["path"] == path.encode())


def blocks_of(ix, n):
    first, count = n["fields"][13], n["fields"][14]
    return ix["blocks"][first:first + count]


def listing(store):
    """`auditfs ls /` as {name: (mode, uid, size)}."""
    out = {}
    for line in auditfs("ls", store, "/", check=True).out.splitlines():
        f = line.split()
        out[f[-1]] = (f[0], int(f[1]), int(f[3]))
    return out


def forge_index(store):
    """cache/index claims /pub.log (7 bytes of uid 0) is the 14 secret bytes
    of /secret.log, owned by uid 4242, mode 0777, with the same-length name
    /pwn.log; the checksum is recomputed so the file "checks"."""
    p = pathlib.Path(store) / "cache" / "index"
    ix = parse_index(p.read_bytes())
    pub, secret = node(ix, "/pub.log"), node(ix, "/secret.log")
    pub_block, secret_block = blocks_of(ix, pub)[0], blocks_of(ix, secret)[0]
    pub_block[1], pub_block[4] = secret_block[1], secret_block[4]     # payload position, length
    pub["fields"][5], pub["fields"][6], pub["fields"][8] = 0o100777, 4242, secret["fields"][8]
    pub["path"] = b"/pwn.log"
    p.write_bytes(encode_index(ix))


def make_index_store(tmp_path):
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    auditfs("append", store, "/pub.log", input="public\n", check=True)
    auditfs("append", store, "/secret.log", input="SECRET-SECRET\n", check=True)
    auditfs("checkpoint", store, check=True)     # closing the store writes cache/index
    assert (store / "cache" / "index").exists()
    return store


def test_forged_index_is_not_served_by_cat_or_ls(tmp_path):
    store = make_index_store(tmp_path)
    forge_index(store)
    assert auditfs("cat", store, "/pub.log").stdout == b"public\n"
    assert auditfs("cat", store, "/pwn.log").returncode != 0
    entries = listing(store)
    assert "pwn.log" not in entries
    assert entries["pub.log"] == ("-0644", 0, 7), entries


def test_forged_index_fails_verify_naming_it(tmp_path):
    store = make_index_store(tmp_path)
    forge_index(store)
    v = auditfs("verify", store)
    assert v.returncode == 1, (v.out, v.err)
    assert "cache/index" in v.out and "FAILED" in v.out, v.out
    report = json.loads(auditfs("verify", store, "--json").out)
    assert report["status"] == "intact"      # the segments are fine; the cache lies
    assert {f["cache"] for f in report["cacheFailures"]} == {"cache/index"}


@needs_mount
def test_forged_index_is_not_served_by_a_mount_and_a_write_through_it_stays_valid(tmp_path):
    store = make_index_store(tmp_path)
    forge_index(store)
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-test-"))
    m = Mount(store, parent / "mnt")
    try:
        names = os.listdir(m.path)
        assert "pub.log" in names and "pwn.log" not in names, names
        st = os.stat(m / "pub.log")
        assert (st.st_uid, st.st_size, st.st_mode & 0o777) == (0, 7, 0o644)
        assert (m / "pub.log").read_bytes() == b"public\n"
        fd = os.open(m / "pub.log", os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"more\n")
        os.close(fd)
        assert (m / "pub.log").read_bytes() == b"public\nmore\n"
        m.unmount()
    finally:
        m.cleanup()
        shutil.rmtree(parent, ignore_errors=True)
    v = auditfs("verify", store)
    assert v.returncode == 0, (v.out, v.err)
    assert auditfs("cat", store, "/pub.log").stdout == b"public\nmore\n"


def test_index_mac_needs_the_cache_key(tmp_path):
    """The key is the secret: without it (moved away) the index is ignored,
    with another key it is ignored, and a writer rewrites it under its key."""
    store = make_index_store(tmp_path)
    key = store / "cache-key"
    assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_size == 32
    good = (store / "cache" / "index").read_bytes()
    key.write_bytes(os.urandom(32))
    r = auditfs("verify", store)
    assert r.returncode == 0 and "not MACed under the store's cache key" in r.out, r.out
    auditfs("checkpoint", store, check=True)   # the writer replays and rewrites it
    assert (store / "cache" / "index").read_bytes() != good
    r = auditfs("verify", store)
    assert r.returncode == 0 and "not MACed" not in r.out, r.out


# ---- cache/query

def test_forged_query_index_cannot_hide_denies(tmp_path):
    store, export = tmp_path / "store", tmp_path / "jsonl"
    run(QUERY_GEN, store, export, 3000, 5, 7, END, check=True)
    lines = [json.loads(l) for f in sorted(export.glob("*.jsonl")) for l in f.read_text().splitlines() if l]
    denies = sum(1 for d in lines if d["decision"] == "deny")
    tampers = sum(1 for d in lines if d.get("tamper"))
    assert denies > 100 and tampers > 0
    assert len(auditfs("query", store, "--decision", "deny", "--json", check=True).out.splitlines()) == denies
    # Clear every deny and tamper flag, recompute each chunk's SHA-256 and
    # the state's checksum: the index "checks" as it did before the fix.
    q = store / "cache" / "query"
    entries = bytearray((q / "entries").read_bytes())
    text = (q / "state").read_bytes()
    state = json.loads(text[:text.rindex(b"\n")])
    for i in range(state["entryCount"]):
        struct.pack_into("<I", entries, i * 56 + 44, 0)
    n, per = state["entryCount"], 65536
    for c, chunk in enumerate(state["chunks"]):
        chunk["digest"] = hashlib.sha256(bytes(entries[c * per * 56:min(n, (c + 1) * per) * 56])).hexdigest()
    body = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    (q / "entries").write_bytes(bytes(entries))
    (q / "state").write_bytes(body + b"\n" + hashlib.sha256(body).hexdigest().encode())
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    got = auditfs("query", store, "--decision", "deny", "--json", check=True).out.splitlines()
    assert len(got) == denies
    assert len(auditfs("query", store, "--tamper", "--json", check=True).out.splitlines()) == tampers
    assert auditfs("verify", store).returncode == 0     # the query rebuilt it under the key
    v = auditfs("verify", copy)
    assert v.returncode == 1 and "cache/query" in v.out, v.out


# ---- cache/tree

def test_garbled_tree_cache_fails_verify_naming_it(tmp_path):
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    for i in range(40):
        auditfs("append", store, f"/f{i % 3}.log", input=f"line {i}\n", check=True)
    assert auditfs("verify", store).returncode == 0
    for name, at in (("level-00", 5 * 32), ("level-02", 32), ("positions", 8 * 7)):
        f = store / "cache" / "tree" / name
        good = f.read_bytes()
        bad = bytearray(good)
        bad[at] ^= 0x40
        f.write_bytes(bytes(bad))
        v = auditfs("verify", store)
        assert v.returncode == 1, (name, v.out)
        assert "cache/tree" in v.out and name in v.out, v.out
        assert json.loads(auditfs("verify", store, "--json").out)["status"] == "intact"
        f.write_bytes(good)
    assert auditfs("verify", store).returncode == 0


def test_tree_cache_with_a_wrong_last_subtree_is_rebuilt_by_the_next_writer(tmp_path):
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    for i in range(8):
        auditfs("append", store, "/a.log", input=f"{i}\n", check=True)
    levels = sorted((store / "cache" / "tree").glob("level-*"))
    top = levels[-1]
    bad = bytearray(top.read_bytes())
    bad[0] ^= 1
    top.write_bytes(bytes(bad))
    assert auditfs("verify", store).returncode == 1
    auditfs("append", store, "/a.log", input="x\n", check=True)
    v = auditfs("verify", store)
    assert v.returncode == 0, v.out


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
