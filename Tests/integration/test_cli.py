"""The store commands, run as a user would: the real binary on real stores."""
import json
import os
import random
import signal
import subprocess
import time

import pytest
from conftest import AUDITFS, AUDITFS_CHECK, auditfs, run, tree_digest


def one_line_error(p, code):
    assert p.returncode == code, (p.returncode, p.out, p.err)
    lines = p.err.strip().splitlines()
    assert len(lines) == 1, p.err
    assert lines[0].startswith("auditfs: "), p.err
    assert "Fatal error" not in p.err and "backtrace" not in p.err.lower()
    return lines[0]


def test_init_append_cat_ls_log_verify(store):
    auditfs("append", store, "/app/x.log", input="one\n", check=True)
    auditfs("append", store, "app/x.log", input="two\n", check=True)
    auditfs("append", store, "/top.log", input=b"\x00\xffbinary", check=True)
    assert auditfs("cat", store, "/app/x.log").out == "one\ntwo\n"
    assert auditfs("cat", store, "/top.log").stdout == b"\x00\xffbinary"
    ls = auditfs("ls", store, "/").out
    assert "app/" in ls and "top.log" in ls
    entries = [json.loads(l) for l in auditfs("log", store, "--json").out.splitlines()]
    # init wrote records 0-4: mkdir /, then epoch 1's key certificate (/.audit/keys/epoch-1.cert).
    assert [(e["op"], e["path"]) for e in entries[:5]] == [("mkdir", "/"), ("mkdir", "/.audit"), ("mkdir", "/.audit/keys"),
                                                          ("create", "/.audit/keys/epoch-1.cert"), ("append", "/.audit/keys/epoch-1.cert")]
    entries = entries[:1] + entries[5:]
    assert [e["op"] for e in entries] == ["mkdir", "mkdir", "create", "append", "append", "create", "append"]
    assert [e["seq"] for e in entries] == [0] + list(range(5, 11))
    appends = [e for e in entries if e["path"] == "/app/x.log" and e["op"] == "append"]
    assert [(e["offset"], e["length"]) for e in appends] == [(0, 4), (4, 4)]
    assert all(e["uid"] == 0 and e["command"] == "auditfs" and e["pid"] > 0 for e in entries[1:])
    only = [json.loads(l)["path"] for l in auditfs("log", store, "/app", "--json").out.splitlines()]
    assert set(only) == {"/app", "/app/x.log"}
    v = auditfs("verify", store)
    assert v.returncode == 0 and v.out.startswith("intact: 11 records"), v.out
    report = json.loads(auditfs("verify", store, "--json").out)
    cert = len(auditfs("cat", store, "/.audit/keys/epoch-1.cert").stdout)
    assert report["status"] == "intact" and report["treeSize"] == 11 and report["payloadBytes"] == 16 + cert


def test_checker_binary_needs_no_libfuse(store):
    auditfs("append", store, "/a", input="x\n", check=True)
    ldd = run("ldd", AUDITFS_CHECK).out
    assert "fuse" not in ldd, ldd
    assert run(AUDITFS_CHECK, "verify", store).returncode == 0
    assert run(AUDITFS_CHECK, "cat", store, "/a").out == "x\n"


def test_init_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("keep me")
    line = one_line_error(auditfs("init", tmp_path / "d"), 2)
    assert "not empty" in line
    assert (tmp_path / "d" / "f").read_text() == "keep me"


def test_bad_input_gets_one_line_and_changes_nothing(store, tmp_path):
    auditfs("append", store, "/a/b.log", input="data\n", check=True)
    before = tree_digest(store)
    assert "does not exist" in one_line_error(auditfs("verify", tmp_path / "missing"), 2)
    assert "not an auditfs store" in one_line_error(auditfs("cat", tmp_path, "/x"), 2)
    assert "'..' component" in one_line_error(auditfs("append", store, "/a/../etc", input="x"), 2)
    assert "empty component" in one_line_error(auditfs("append", store, "/a//b", input="x"), 2)
    assert "is a directory" in one_line_error(auditfs("append", store, "/a", input="x"), 2)
    assert "not a directory" in one_line_error(auditfs("append", store, "/a/b.log/c", input="x"), 2)
    assert "does not exist" in one_line_error(auditfs("cat", store, "/nope"), 2)
    assert tree_digest(store) == before
    assert auditfs("verify", store).returncode == 0


def test_unknown_format_version_is_named(store):
    ident = store / "auditfs-store"
    ident.write_text(ident.read_text().replace(" v2\n", " v7\n"))
    line = one_line_error(auditfs("verify", store), 2)
    assert "v7" in line and "v1 to v2" in line


def test_store_not_writable_or_reachable_by_this_user(store):
    run("useradd", "--system", "--no-create-home", "auditfs-nobody")
    # pytest's tmp_path is private to root: the user cannot even reach the store.
    assert "permission denied" in one_line_error(auditfs("append", store, "/x", input="x", user="auditfs-nobody"), 2)
    # In a directory the user can reach, the store exists but is not theirs to write.
    import tempfile, shutil
    public = tempfile.mkdtemp(prefix="auditfs-test-", dir="/tmp")
    try:
        os.chmod(public, 0o755)
        s = os.path.join(public, "store")
        auditfs("init", s, check=True)
        os.chmod(s, 0o755)
        os.chmod(os.path.join(s, "segments"), 0o755)
        assert "permission denied" in one_line_error(auditfs("append", s, "/x", input="x", user="auditfs-nobody"), 2)
        os.chmod(os.path.join(s, "auditfs-store"), 0o644)
        before = tree_digest(s)
        p = auditfs("append", s, "/x", input="x", user="auditfs-nobody")
        assert "not writable" in one_line_error(p, 2)
        assert tree_digest(s) == before
    finally:
        shutil.rmtree(public)


def test_second_writer_is_refused_while_one_holds_the_store(store):
    # `append` reads stdin before opening the store; hold the lock with a
    # Python flock like a running writer would.
    import fcntl
    with open(store / "auditfs-store") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        assert "open for writing by another process" in one_line_error(auditfs("append", store, "/x", input="x"), 2)
    auditfs("append", store, "/x", input="x", check=True)


def flip_bit(path, offset, bit=0):
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def test_verify_names_the_damaged_record(store):
    for i in range(5):
        auditfs("append", store, "/log", input=f"line {i}\n", check=True)
    seg = sorted((store / "segments").iterdir())[0]
    entries = [json.loads(l) for l in auditfs("log", store, "/log", "--json").out.splitlines()]
    target = [e for e in entries if e["op"] == "append"][1]  # the 2nd append
    flip_bit(seg, target["position"] + 200)
    v = auditfs("verify", store)
    assert v.returncode == 1, v.out
    assert f"(record {target['seq']})" in v.out and seg.name in v.out and f"offset {target['position']}" in v.out, v.out
    report = json.loads(auditfs("verify", store, "--json").out)
    assert report["status"] == "damaged" and report["failure"]["seq"] == target["seq"]
    # A damaged store is never opened for writing.
    before = tree_digest(store)
    p = auditfs("append", store, "/log", input="more\n")
    assert p.returncode == 1 and "integrity check" in p.err
    assert tree_digest(store) == before


def test_torn_tail_exit_3_then_cut_by_the_next_writer(store):
    auditfs("append", store, "/log", input="kept\n", check=True)
    seg = sorted((store / "segments").iterdir())[-1]
    data = seg.read_bytes()
    last = json.loads(auditfs("log", store, "--json").out.splitlines()[-1])
    with open(seg, "ab") as f:
        f.write(data[last["position"]:last["position"] + 50])   # a frame's first 50 bytes
    v = auditfs("verify", store)
    assert v.returncode == 3 and "torn tail" in v.out, v.out
    p = auditfs("append", store, "/log", input="after\n")
    assert p.returncode == 0 and "torn tail" in p.err, p.err
    assert auditfs("verify", store).returncode == 0
    assert auditfs("cat", store, "/log").out == "kept\nafter\n"
    assert len(list((store / "torn").iterdir())) == 1


def test_crash_loop_loses_no_synced_record(store, tmp_path):
    """kill -9 a writer in the middle of big appends, again and again: every
    append that returned is present; reopening cuts the torn tail; verify passes."""
    big = tmp_path / "big"
    big.write_bytes(os.urandom(48 << 20))
    acked = []
    torn_seen = 0
    rng = random.Random(1234)
    for i in range(12):
        w = subprocess.Popen([AUDITFS, "append", str(store), f"/big/{i}"], stdin=open(big, "rb"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.6))
        w.send_signal(signal.SIGKILL)
        w.wait()
        v = auditfs("verify", store)
        assert v.returncode in (0, 3), v.out
        torn_seen += v.returncode == 3
        line = f"acknowledged {i}\n"
        auditfs("append", store, "/acked.log", input=line, check=True)   # cuts any torn tail
        acked.append(line)
        assert auditfs("verify", store).returncode == 0
    assert auditfs("cat", store, "/acked.log").out == "".join(acked)
    for e in (json.loads(l) for l in auditfs("log", store, "--json").out.splitlines()):
        if e["op"] == "append" and e["path"].startswith("/big/"):
            assert e["length"] == big.stat().st_size   # a block is whole or absent
    print(f"torn tails produced and cut: {torn_seen} of 12")


def test_log_follows_a_file_across_its_names(tmp_path):
    """`auditfs log PATH` on the golden store (fixtures/golden: renames and
    retirements, FORMAT.md "Header"): every file that ever bore PATH, with
    all its records under every name it had."""
    import shutil
    from conftest import ROOT
    store = tmp_path / "golden"
    shutil.copytree(ROOT / "fixtures" / "golden" / "store", store)
    def seqs(path):
        return [json.loads(l)["seq"] for l in auditfs("log", store, path, "--json", check=True).out.splitlines()]
    # /b.log was renamed to /app/b.log (9), appended to (10), then replaced (19)
    # by /app/c.log, which was renamed to /app/b.log (20).
    assert seqs("/app/b.log") == [3, 5, 7, 8, 9, 10, 17, 18, 19, 20]
    assert seqs("/b.log") == [3, 5, 7, 8, 9, 10, 19]
    # The first /app/a.log was unlinked (14); the second one is still there.
    assert seqs("/app/a.log") == [2, 4, 6, 14, 15, 16]
    entries = {e["seq"]: e for e in map(json.loads, auditfs("log", store, "--json", check=True).out.splitlines())}
    retired = entries[14]
    assert (retired["op"], retired["reason"], retired["from"]) == ("rename", "unlink", "/app/a.log")
    assert retired["to"] == retired["path"] == "/.audit/retired/app/a.log@2026-01-01T00:00:00Z#14"
    assert entries[20]["reason"] == "rename" and (entries[20]["from"], entries[20]["to"]) == ("/app/c.log", "/app/b.log")
    assert "from" not in entries[10] and "reason" not in entries[10]
    text = auditfs("log", store, "/app/a.log", check=True).out
    assert "unlink  " in text and "/app/a.log -> /.audit/retired/app/a.log@2026-01-01T00:00:00Z#14" in text
    # The retired file is read, listed and proven like any other.
    assert auditfs("cat", store, retired["to"], check=True).out == "first line of a\nsecond line of a\n"
    assert "a.log@2026-01-01T00:00:00Z#14" in auditfs("ls", store, "/.audit/retired/app", check=True).out
    assert auditfs("cat", store, "/app/b.log", check=True).out == "c one\n"
    assert auditfs("verify", store).returncode == 0
