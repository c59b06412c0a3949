"""auditfs query, log filters and watch (docs/QUERY.md): results on a
generated store equal a brute-force filter of the same JSONL; the index is
derived, updated incrementally and rebuilt when damaged; a live mount is
queried and watched while the daemon writes."""
import fnmatch
import json
import os
import pathlib
import select
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import AUDITFS, BIN_DIR, auditfs, run
from mountlib import Mount, ensure_test_user, wait_until

QUERY_GEN = str(BIN_DIR / "query-gen")
END = 1_795_730_400_000_000_000   # 2026-11-26T22:00:00Z
HOUR = 3_600_000_000_000


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    base = tmp_path_factory.mktemp("gen")
    store, export = base / "store", base / "jsonl"
    run(QUERY_GEN, store, export, 30000, 5, 42, END, check=True)
    lines = []
    for f in sorted(export.glob("*.jsonl")):
        lines += [json.loads(l) for l in f.read_text().splitlines() if l]
    return store, export, lines


def glob_match(glob, path):
    """The policy's globs: * and ? within a component, ** whole components."""
    g, p = glob.strip("/").split("/"), path.strip("/").split("/")
    if path == "/":
        p = []

    def m(i, j):
        if i == len(g):
            return j == len(p)
        if g[i] == "**":
            return any(m(i + 1, k) for k in range(j, len(p) + 1))
        return j < len(p) and fnmatch.fnmatchcase(p[j], g[i]) and m(i + 1, j + 1)
    return m(0, 0)


def brute(lines, since=None, until=None, user=None, uid=None, path=None, verb=None, decision=None, tamper=False):
    out = []
    for d in lines:
        if since is not None and d["timeNs"] < since:
            continue
        if until is not None and d["timeNs"] >= until:
            continue
        if user is not None and d.get("user") != user:
            continue
        if uid is not None and d["uid"] != uid:
            continue
        if path is not None and not (glob_match(path, d["path"]) or ("target" in d and glob_match(path, d["target"]))):
            continue
        if verb is not None and d["verb"] != verb:
            continue
        if decision is not None and d["decision"] != decision:
            continue
        if tamper and not d["tamper"]:
            continue
        out.append(d)
    return out


def query(source, *args):
    r = auditfs("query", source, "--json", *args)
    assert r.returncode == 0, r.err
    return [json.loads(l) for l in r.out.splitlines() if l]


def rfc(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


CASES = [
    ("one hour", ["--since", rfc(END - 30 * HOUR), "--until", rfc(END - 29 * HOUR)], dict(since=END - 30 * HOUR, until=END - 29 * HOUR)),
    ("one user", ["--user", "user07"], dict(user="user07")),
    ("uid and deny", ["--uid", "2003", "--decision", "deny"], dict(uid=2003, decision="deny")),
    ("tamper", ["--tamper"], dict(tamper=True)),
    ("path glob", ["--path", "/nginx/**"], dict(path="/nginx/**")),
    ("glob with star", ["--path", "/*/user01/log-1?.log"], dict(path="/*/user01/log-1?.log")),
    ("rename target", ["--path", "/db/**/*.old"], dict(path="/db/**/*.old")),
    ("verb and grant", ["--verb", "mkdir", "--decision", "grant"], dict(verb="mkdir", decision="grant")),
    ("everything combined", ["--since", rfc(END - 72 * HOUR), "--user", "user00", "--decision", "deny", "--path", "/app/**"],
     dict(since=END - 72 * HOUR, user="user00", decision="deny", path="/app/**")),
    ("unknown user", ["--user", "nobody-here"], dict(user="nobody-here")),
    ("unknown verb", ["--verb", "explode"], dict(verb="explode")),
    ("no filter", [], dict()),
]


@pytest.mark.parametrize("name,args,kw", CASES, ids=[c[0] for c in CASES])
def test_query_equals_brute_force(generated, name, args, kw):
    store, _, lines = generated
    got = query(store, *args)
    want = brute(lines, **kw)
    assert got == want, f"{name}: {len(got)} records, brute force {len(want)}"
    if name in ("one hour", "one user"):
        assert len(want) > 50


def test_relative_times_and_table(generated, tmp_path):
    store, _, _ = generated
    # Relative to now: the generated store ends at END, in the past; -1h finds nothing newer.
    assert query(store, "--since", "-1h") == [] or END > time.time_ns() - HOUR
    r = auditfs("query", store, "--user", "user03", "--tamper")
    assert r.returncode == 0
    rows = r.out.splitlines()
    assert rows[0].split()[:4] == ["TIME", "USER", "UID", "COMMAND"]
    assert all(" user03 " in row and "TAMPER" in row for row in rows[1:]) and len(rows) > 1
    for bad in (["--since", "yesterday"], ["--until", "2026-13-01"], ["--path", "relative/*"]):
        r = auditfs("query", store, *bad)
        assert r.returncode == 2 and len(r.err.strip().splitlines()) == 1 and ("not a time" in r.err or "must start" in r.err), r.err
    r = auditfs("query", tmp_path)
    assert r.returncode == 2 and r.err.strip().endswith("is neither an auditfs store nor an auditfs mount point")


def copy_store(src, dst):
    shutil.copytree(src, dst)
    return dst


def stats(store, *args):
    r = auditfs("query", store, "--stats", "--json", *args)
    assert r.returncode == 0, r.err
    return r.err.strip(), [json.loads(l) for l in r.out.splitlines() if l]


def test_index_is_incremental_and_never_trusted(generated, tmp_path):
    src, _, lines = generated
    store = copy_store(src, tmp_path / "store")
    shutil.rmtree(store / "cache" / "query", ignore_errors=True)
    note, got = stats(store, "--user", "user09")
    assert "rebuilt (no index yet)" in note and got == brute(lines, user="user09")
    note, _ = stats(store, "--user", "user09")
    assert "up to date" in note
    # A new line appended to the store is found without a rebuild.
    extra = dict(lines[-1], user="user09", uid=2009, timeNs=END + 5, time=rfc(END + 5), path="/new/line")
    day = time.strftime("%Y-%m-%d", time.gmtime(END // 10**9))
    run(QUERY_GEN, "--append", store, f"/.audit/decisions/{day}.jsonl",   # as the daemon would: auditfs append refuses /.audit
        input=json.dumps(extra, sort_keys=True, separators=(",", ":")) + "\n", check=True)
    note, got = stats(store, "--user", "user09")
    assert "up to date" in note and got[-1]["path"] == "/new/line" and got[:-1] == brute(lines, user="user09")
    # A damaged entries file: its chunk digest fails, the index is rebuilt, the answer is right.
    entries = store / "cache" / "query" / "entries"
    data = bytearray(entries.read_bytes())
    data[100] ^= 0xFF
    entries.write_bytes(bytes(data))
    note, got = stats(store, "--user", "user09")
    assert "rebuilt" in note and "digest" in note and got[-1]["path"] == "/new/line"
    # A line changed in its segment after it was indexed (same length): its
    # hash no longer matches, so it is decoded and filtered again, not trusted.
    seg = sorted((store / "segments").glob("*.seg"))[0]
    data = seg.read_bytes()
    first = json.dumps(got[0], sort_keys=True, separators=(",", ":")).encode()
    at = data.index(first)
    changed = first.replace(b'"user":"user09"', b'"user":"user0X"')
    seg.write_bytes(data[:at] + changed + data[at + len(first):])
    _, after = stats(store, "--user", "user09")
    assert after == got[1:]
    seg.write_bytes(data)
    # An index taken from another store (same layout, other id) is refused.
    other = copy_store(src, tmp_path / "other")
    shutil.rmtree(other / "cache" / "query", ignore_errors=True)
    (other / "cache" / "query").mkdir(parents=True)
    other_new = tmp_path / "fresh"
    run(QUERY_GEN, other_new, tmp_path / "fresh-jsonl", 500, 1, 7, END, check=True)
    stats(other_new)
    for f in ("state", "entries"):
        shutil.copy(other_new / "cache" / "query" / f, other / "cache" / "query" / f)
    note, got = stats(other, "--user", "user09")
    assert "rebuilt" in note and got == brute(lines, user="user09")


def test_index_of_a_store_cut_back_is_rebuilt(tmp_path):
    store, export = tmp_path / "store", tmp_path / "jsonl"
    run(QUERY_GEN, store, export, 2000, 1, 3, END, check=True)
    stats(store)
    # The store as it was before its last records: an older copy put back.
    seg = sorted((store / "segments").glob("*.seg"))[-1]
    data = seg.read_bytes()
    lines = [json.loads(l) for f in sorted(export.glob("*.jsonl")) for l in f.read_text().splitlines() if l]
    # Cut exactly at a frame boundary: the end of the 1500th decision's frame.
    last = lines[1499]
    needle = json.dumps(last, sort_keys=True, separators=(",", ":")).replace("/", "\\/").encode()
    needle = json.dumps(last, sort_keys=True, separators=(",", ":")).encode()
    at = data.index(needle) + len(needle) + 1 + 32
    seg.write_bytes(data[:at])
    shutil.rmtree(store / "cache" / "index", ignore_errors=True)
    shutil.rmtree(store / "cache" / "tree", ignore_errors=True)
    note, got = stats(store)
    assert "rebuilt" in note and got == lines[:1500]


def test_log_filters(tmp_path):
    store = tmp_path / "s"
    auditfs("init", store, check=True)
    uid, _ = ensure_test_user()
    store.chmod(0o777)
    for sub in ("segments",):
        (store / sub).chmod(0o777)
    auditfs("append", store, "/a.log", input="root line\n", check=True)
    t_mid = time.time_ns()
    time.sleep(0.05)
    auditfs("append", store, "/b.log", input="second\n", check=True)
    everything = [json.loads(l) for l in auditfs("log", store, "--json", check=True).out.splitlines()]
    def log(*args):
        r = auditfs("log", store, "--json", *args)
        assert r.returncode == 0, r.err
        return [json.loads(l) for l in r.out.splitlines()]
    assert log("--since", rfc(t_mid)) == [e for e in everything if e["timeNs"] >= t_mid]
    assert log("--until", rfc(t_mid)) == [e for e in everything if e["timeNs"] < t_mid]
    assert log("--user", "root") == everything
    assert log("--user", "0") == everything and log("--user", str(uid)) == []
    assert log("--command", "auditfs") == [e for e in everything if e["command"] == "auditfs"] != []
    assert log("--command", "nginx") == []
    assert log("--since", "-1h", "/b.log") == [e for e in everything if e["path"] == "/b.log"]
    r = auditfs("log", store, "--user", "no-such-user-zz")
    assert r.returncode == 2 and "no such user" in r.err and len(r.err.strip().splitlines()) == 1


class LineReader:
    """JSON lines from a pipe as they come (no buffering hiding them from select)."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.pending = b""

    def until(self, done, into, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            self.pending += chunk
            *lines, self.pending = self.pending.split(b"\n")
            into.extend(json.loads(l) for l in lines if l)


POLICY = """apiVersion: auditfs/v1
roles:
  - name: writer
    rules: [{paths: ["/pub/**"], verbs: [create, append, mkdir, read, list]}]
  - name: admin
    rules: [{paths: ["/**"], verbs: [create, append, mkdir, read, list, setattr]}]
bindings:
  - role: writer
    subjects: [{user: auditfs-test}]
  - role: admin
    subjects: [{user: root}]
"""


def test_live_mount_query_and_watch(tmp_path):
    uid, _ = ensure_test_user()
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-query-"))   # /tmp/pytest-of-root is 0700
    parent.chmod(0o755)
    m = Mount(store, parent / "mnt", options=[f"policy={policy}"])
    watcher = None
    try:
        for d in ("pub", "secret"):
            (m.path / d).mkdir()
            os.chmod(m.path / d, 0o777)
        watcher = subprocess.Popen([AUDITFS, "watch", str(m.path), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)   # watch starts at the end
        r = run("sh", "-c", f"echo x >> {m.path}/secret/s.log", user="auditfs-test")
        assert r.returncode != 0
        run("sh", "-c", f"echo y >> {m.path}/pub/p.log", user="auditfs-test", check=True)
        r = run("rm", "-f", f"{m.path}/pub/p.log")
        assert r.returncode != 0
        denied = query(m.path, "--user", "auditfs-test", "--decision", "deny", "--since", "-1h")
        assert [(d["verb"], d["path"]) for d in denied] == [("create", "/secret/s.log")]
        assert [(d["verb"], d["path"], d["mountRule"]) for d in query(m.path, "--tamper")] == [("unlink", "/pub/p.log", "permanent-names")]
        assert {d["path"] for d in query(m.path, "--uid", str(uid))} == {"/secret/s.log", "/pub/p.log"}
        # watch saw them as they were recorded, in order.
        seen = []
        reader = LineReader(watcher.stdout)
        reader.until(lambda: len([s for s in seen if s["source"] == "decisions"]) >= 4, seen)
        decisions = [s["record"] for s in seen if s["source"] == "decisions"]
        # The create of p.log is two decisions: the file, and its creator's handle (append).
        assert [(d["verb"], d["path"], d["decision"]) for d in decisions[:4]] == [
            ("create", "/secret/s.log", "deny"), ("create", "/pub/p.log", "grant"), ("append", "/pub/p.log", "grant"),
            ("unlink", "/pub/p.log", "deny")]
        # A reload is a policy change and an event: watch shows both.
        auditfs("policy", "reload", m.path, check=True)
        reader.until(lambda: {"policy", "events"} <= {s["source"] for s in seen}, seen)
        assert {"policy", "events"} <= {s["source"] for s in seen}
    finally:
        if watcher:
            watcher.kill()
            watcher.wait()
        m.cleanup()
        shutil.rmtree(parent, ignore_errors=True)
    # Offline, on the store itself: the same answers.
    assert [(d["verb"], d["path"]) for d in query(store, "--user", "auditfs-test", "--decision", "deny")] == [("create", "/secret/s.log")]


def test_watch_filters_tamper_only(tmp_path):
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    m = Mount(store, tmp_path / "mnt")
    watcher = None
    try:
        watcher = subprocess.Popen([AUDITFS, "watch", str(m.path), "--tamper", "--exit-after", "1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)
        (m.path / "f.log").write_text("a\n")
        assert run("truncate", "-s", "0", m.path / "f.log").returncode != 0
        out, err = watcher.communicate(timeout=10)
        line = out.decode().strip()
        assert "TAMPER" in line and "/f.log" in line and "truncate" in line, (out, err)
    finally:
        if watcher and watcher.poll() is None:
            watcher.kill()
        m.cleanup()
