"""Names are bytes, listing is bounded (issue 10, items 1 and 2), on a real
mount with a real user: a name that starts with a combining mark or a
joiner never fuses with the "/" before it, names equal only by canonical
equivalence are two files, a glob's `*` never crosses a "/", nothing enters
/.audit through a disguised name, and open directory handles cost the
daemon no copy of the directory."""
import errno
import json
import os
import pathlib
import subprocess

import pytest

from conftest import BIN_DIR, auditfs, run
from mountlib import Mount, TEST_USER, ensure_test_user, log_entries, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

# Combining acute, zero-width joiner, zero-width space, right-to-left mark,
# right-to-left override, Cyrillic а (a look-alike of Latin a).
MARKS = ["\u0301", "\u200d", "\u200b", "\u200f", "\u202e", "\u0430"]
NFC, NFD = "caf\u00e9", "cafe\u0301"


def policy_text(user_rules):
    """root administers everything; the test user gets `user_rules`."""
    return json.dumps({
        "apiVersion": "auditfs/v1",
        "roles": [
            {"name": "admin", "rules": [{"paths": ["/**"], "verbs": ["create", "append", "mkdir", "read", "list", "setattr"]}]},
            {"name": "user", "rules": user_rules},
        ],
        "bindings": [
            {"role": "admin", "subjects": [{"user": "root"}]},
            {"role": "user", "subjects": [{"user": TEST_USER}]},
        ],
    })


@pytest.fixture
def place(place):
    """conftest's 0755 place (the test user must reach the mount point), for
    the policy file and the mount point; the test user exists."""
    ensure_test_user()
    return place


def mount(store, place, user_rules=None, options=()):
    """Mounts `store` at place/mnt, with a policy giving the test user
    `user_rules` (the built-in policy when None)."""
    args = [a for o in options for a in ("-o", o)]
    if user_rules is not None:
        policy = place / "policy.yaml"
        policy.write_text(policy_text(user_rules))   # JSON is YAML
        policy.chmod(0o644)
        args.append(f"--policy={policy}")
    (place / "mnt").mkdir(exist_ok=True)
    r = auditfs("mount", store, place / "mnt", *args, timeout=60)
    assert r.returncode == 0, r.err
    m = Mount.__new__(Mount)
    m.store, m.path, m.proc = pathlib.Path(store), place / "mnt", None
    return m


def as_test_user(script, *args):
    """Runs a Python script as the test user; its stdout is JSON."""
    r = run("python3", "-c", script, *args, user=TEST_USER, timeout=120)
    assert r.returncode == 0, r.err
    return json.loads(r.out)


# Creates each path (bytes, hex-encoded) as a file or, when it ends in "/",
# a directory; answers the errno of each (0 for success).
CREATE = r"""
import json, os, sys
out = []
for h in sys.argv[1:]:
    p = bytes.fromhex(h)
    try:
        if p.endswith(b"/"):
            os.mkdir(p[:-1], 0o755)
        else:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            os.write(fd, p + b"\n")
            os.close(fd)
        out.append(0)
    except OSError as e:
        out.append(e.errno)
print(json.dumps(out))
"""


def create_as_user(mountpoint, paths):
    """paths are store paths (str); a trailing "/" makes a directory."""
    hexes = [(str(mountpoint) + p).encode().hex() for p in paths]
    return dict(zip(paths, as_test_user(CREATE, *hexes)))


def listing(directory):
    """Every name readdir gives (bytes), in order, with its inode."""
    with os.scandir(os.fsencode(directory)) as it:
        return [(e.name, e.inode()) for e in it]


def tree(mountpoint):
    """{store path (bytes): inode} of everything under the mount, walked by
    readdir alone (a name with "/" in it would fail or mis-walk)."""
    out = {}
    base = os.fsencode(str(mountpoint))
    todo = [b""]
    while todo:
        rel = todo.pop()
        for name, ino in listing(base + rel):
            assert b"/" not in name, name
            out[rel + b"/" + name] = ino
            if os.path.isdir(base + rel + b"/" + name):
                todo.append(rel + b"/" + name)
    return out


def marked_names():
    """Every mark at the start, in the middle and at the end of a name."""
    return [n for m in MARKS for n in (m + "ab", "a" + m + "b", "ab" + m)]


def test_mark_after_a_slash_cannot_make_a_directory_unlistable(store, place):
    """A user with a create grant makes names that start with a mark right
    after every "/": before the fix "/u/d/\u0301x" became the entry
    "d/\u0301x" of /u, and readdir of /u failed with EIO for good."""
    m = mount(store, place, [{"paths": ["/u/**"], "verbs": ["create", "append", "mkdir", "read", "list"]},
                             {"paths": ["/"], "verbs": ["list"]}])
    try:
        os.mkdir(m / "u")
        os.chmod(m / "u", 0o777)
        paths = []
        for name in marked_names():
            paths += [f"/u/{name}", f"/u/d{name}/"]
        for mark in MARKS:
            paths += [f"/u/{mark}/", f"/u/{mark}/{mark}x", f"/u/{mark}/{mark}{mark}/", f"/u/{mark}/{mark}{mark}/{mark}"]
        paths += ["/u/d/", "/u/d/\u0301x", "/u/d/\u200dy", "/u/d/\u200b", "/u/d/\u202ez"]
        results = create_as_user(m.path, paths)
        assert all(e == 0 for e in results.values()), {p: e for p, e in results.items() if e}
        want = {("/" + p.strip("/")).encode() for p in paths} | {b"/u"}
        seen = tree(m.path)
        audit = {p for p in seen if p == b"/.audit" or p.startswith(b"/.audit/")}
        assert set(seen) - audit == want
        assert len(set(seen.values())) == len(seen), "two names share an inode"
        for p in want:
            if not p.endswith(b"/"):
                full = os.fsencode(str(m.path)) + p
                if os.path.isfile(full):
                    assert open(full, "rb").read() == full + b"\n"
        m.unmount()
        m = mount(store, place, [{"paths": ["/u/**"], "verbs": ["read", "list"]}, {"paths": ["/"], "verbs": ["list"]}])
        again = tree(m.path)
        assert {p: i for p, i in again.items() if p in want} == {p: i for p, i in seen.items() if p in want}
    finally:
        m.cleanup()
    r = auditfs("verify", store)
    assert r.returncode == 0, r.out + r.err
    ls = auditfs("ls", store, "/u/d", check=True).stdout.splitlines()
    # ls prints a bidi control escaped (README "Text output"); marks and joiners as they are.
    assert sorted(line.split(b" ")[-1] for line in ls) == sorted(["\u0301x".encode(), "\u200dy".encode(),
                                                                  "\u200b".encode(), b"\\u{202e}z"])


def test_canonically_equivalent_names_are_two_files(store, place):
    """NFC "café" and NFD "cafe\u0301" are one String to Swift: before the
    fix the second create opened the first file and appended to it."""
    m = mount(store, place, [{"paths": ["/u/**"], "verbs": ["create", "append", "mkdir", "read", "list"]}])
    try:
        os.mkdir(m / "u")
        os.chmod(m / "u", 0o777)
        files = [f"/u/{NFC}", f"/u/{NFD}", f"/u/d{NFD}/{NFC}", f"/u/d{NFD}/{NFD}"]
        results = create_as_user(m.path, [f"/u/{NFC}", f"/u/{NFD}", f"/u/d{NFD}/", f"/u/d{NFC}/",
                                          f"/u/d{NFD}/{NFC}", f"/u/d{NFD}/{NFD}"])
        assert all(e == 0 for e in results.values()), results
        base = os.fsencode(str(m.path))
        for p in files:
            full = base + p.encode()
            assert open(full, "rb").read() == full + b"\n"
        u = base + b"/u"
        assert sorted(n for n, _ in listing(u)) == sorted(x.encode() for x in (NFC, NFD, "d" + NFC, "d" + NFD))
        assert os.stat(u + f"/{NFC}".encode()).st_ino != os.stat(u + f"/{NFD}".encode()).st_ino
        assert sorted(n for n, _ in listing(u + f"/d{NFD}".encode())) == sorted([NFC.encode(), NFD.encode()])
        assert listing(u + f"/d{NFC}".encode()) == []
        m.unmount()
        m = mount(store, place, [{"paths": ["/u/**"], "verbs": ["read", "list"]}])
        for p in files:
            full = base + p.encode()
            assert open(full, "rb").read() == full + b"\n"
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0
    for p in files:
        r = subprocess.run([str(BIN_DIR / "auditfs"), "cat", str(store), p], capture_output=True)
        assert r.stdout.endswith(p.encode() + b"\n"), p


def test_glob_star_never_crosses_a_slash_before_a_mark(store, place):
    """A user may create logs only directly in /pub (`/pub/*.log`). Before
    the fix "/pub/app/\u0301x.log" split into "pub" and "app/\u0301x.log"
    and `*` matched "app/\u0301x": the user created files inside /pub/app."""
    m = mount(store, place, [{"paths": ["/pub/*.log"], "verbs": ["create", "append"]},
                             {"paths": ["/**"], "verbs": ["list", "read"]}])
    try:
        for d in (m / "pub", m / "pub" / "app"):   # a non-empty directory's mode is frozen
            os.mkdir(d)
            os.chmod(d, 0o777)
        attacks = [f"/pub/app/{mark}x.log" for mark in MARKS] + [f"/pub/app/{mark}.log" for mark in MARKS]
        results = create_as_user(m.path, attacks + ["/pub/top.log", f"/pub/{NFD}.log"])
        assert results.pop("/pub/top.log") == 0 and results.pop(f"/pub/{NFD}.log") == 0   # the grant works
        assert results == {p: errno.EACCES for p in attacks}
        assert listing(m / "pub" / "app") == []
    finally:
        m.cleanup()
    assert not [e for e in log_entries(store) if e["path"].startswith("/pub/app/")]


# Disguised names under /.audit: each starts with a mark right after a "/".
AUDIT_DISGUISES = ["/.audit/\u200devents.jsonl", "/.audit/\u200bevents.jsonl", "/.audit/\u0301x",
                   "/.audit/decisions/\u200dfake.jsonl", "/.audit/policy/\u202echanges.jsonl", "/.audit/\u200f"]


def test_root_cannot_create_in_audit_through_a_disguised_name(store, place):
    """Before the fix "/.audit/\u200devents.jsonl" was not an audit path to
    the daemon (hasPrefix by grapheme), and root created and appended it: a
    root-level entry ".audit/\u200devents.jsonl" whose records every reader
    took for the audit log's."""
    m = mount(store, place)      # the built-in policy: root may do all the mount allows
    try:
        before = sorted(listing(m / ".audit"))
        for p in AUDIT_DISGUISES:
            full = os.fsencode(str(m.path)) + p.encode()
            with pytest.raises(OSError) as e:
                os.close(os.open(full, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
            assert e.value.errno == errno.EPERM, p
            with pytest.raises(OSError) as e:
                os.mkdir(full)
            assert e.value.errno == errno.EPERM, p
        # A look-alike of /.audit is another name: it is not /.audit and
        # nothing written there is.
        look_alike = os.fsencode(str(m.path)) + "/.audit\u0301".encode()
        os.mkdir(look_alike)
        with open(look_alike + b"/events.jsonl", "ab") as f:
            f.write(b"{}\n")
        assert os.stat(look_alike).st_ino != os.stat(m / ".audit").st_ino
        assert sorted(listing(m / ".audit")) == before
        assert all(b"/" not in n for n, _ in listing(m.path))
    finally:
        m.cleanup()
    paths = {e["path"] for e in log_entries(store)}
    assert not paths & set(AUDIT_DISGUISES)
    assert "/.audit\u0301/events.jsonl" in paths
    assert auditfs("verify", store).returncode == 0


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# Opens N handles on a directory with one getdents each (os.scandir reads its
# first batch on the first next()), prints "open", waits for a line on stdin.
HOLD = r"""
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
handles = []
for _ in range(n):
    it = os.scandir(path)
    next(it)
    handles.append(it)
print("open", flush=True)
sys.stdin.readline()
for it in handles:
    it.close()
"""

ENTRIES = 100_000


def test_directory_handles_cost_no_copy_of_the_directory(tmp_path, place):
    """500 handles on a 100k-entry directory: before the fix each opendir
    copied the listing (2.24 GB for 500), now a handle holds nothing and the
    daemon's RSS barely moves; a full listing still gives every name once."""
    store = tmp_path / "big"
    auditfs("init", store, check=True)   # the mount signs checkpoints: the store needs its key
    r = run(BIN_DIR / "store-bench", "generate", store, 0, ENTRIES, 1, timeout=600)
    assert r.returncode == 0, r.err
    m = mount(store, place)
    try:
        names = os.listdir(m.path)
        want = {f"f{i}.log" for i in range(ENTRIES)}
        assert len(names) == len(set(names)) and set(names) - {".audit"} == want
        pid = m.pid
        idle = rss_kib(pid)
        holder = subprocess.Popen(["python3", "-c", HOLD, str(m.path), "500"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "open"
            held = rss_kib(pid)
            print(f"daemon RSS: {idle} KiB idle, {held} KiB with 500 handles on {ENTRIES} entries "
                  f"(+{(held - idle) / 1024:.1f} MiB)")
            assert held - idle < 100 * 1024, (idle, held)
            # Listing while the handles are open is still complete and exact.
            again = os.listdir(m.path)
            assert len(again) == len(names) and set(again) == set(names)
        finally:
            holder.stdin.write("\n")
            holder.stdin.close()
            holder.wait(timeout=120)
    finally:
        m.cleanup()


def test_names_created_during_a_listing_skip_and_repeat_nothing(store, place):
    """A listing read in many readdir calls while names are created: every
    name that existed at opendir appears exactly once, new ones at most once."""
    m = mount(store, place)
    try:
        os.mkdir(m / "d")
        for i in range(1500):
            open(m / "d" / f"old-{i:04d}-{'x' * 40}", "w").close()
        old = {f"old-{i:04d}-{'x' * 40}" for i in range(1500)}
        seen, new = [], set()
        with os.scandir(m / "d") as it:
            for i, e in enumerate(it):
                seen.append(e.name)
                if i % 100 == 0:
                    new.add(f"new-{i:04d}")
                    open(m / "d" / f"new-{i:04d}", "w").close()
        assert len(seen) == len(set(seen))
        assert {n for n in seen if n.startswith("old-")} == old
        assert set(seen) - old <= new
        assert sorted(os.listdir(m / "d")) == sorted(old | new)
    finally:
        m.cleanup()


def test_audit_checkpoint_view_is_listed_once(store, place):
    """/.audit/checkpoint has no record of its own: it has its own readdir
    offset in /.audit, and is listed exactly once, with the view's inode."""
    m = mount(store, place, options=["checkpoint-interval=1"])
    try:
        with open(m / "app.log", "a") as f:
            f.write("x\n")
        wait_until((m / ".audit" / "checkpoint").exists, timeout=10, what="the first checkpoint")
        entries = listing(m / ".audit")
        names = [n for n, _ in entries]
        assert len(names) == len(set(names)) and b"checkpoint" in names and b"checkpoints" in names
        assert dict(entries)[b"checkpoint"] == os.stat(m / ".audit" / "checkpoint").st_ino
        assert b"checkpoint" not in [n for n, _ in listing(m.path)]
    finally:
        m.cleanup()


def test_bundle_for_an_nfd_file_cannot_prove_the_nfc_one(tmp_path):
    """A proof bundle names its file; verify-bundle compared that name with
    the create record's by canonical equivalence, so the bundle of NFD
    "/cafe\u0301" relabelled "/café" was VALID for a file it never covered."""
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    auditfs("append", store, f"/{NFC}", input="the real one\n", check=True)
    auditfs("append", store, f"/{NFD}", input="the other one\n", check=True)
    auditfs("checkpoint", store, check=True)
    bundle = tmp_path / "bundle.json"
    auditfs("prove", store, f"/{NFD}", "-o", bundle, check=True)
    assert run(BIN_DIR / "auditfs-check", "verify-bundle", bundle, "--key", store / "verifier-key").returncode == 0
    b = json.loads(bundle.read_text())
    assert b["path"].encode() == f"/{NFD}".encode()
    b["path"] = f"/{NFC}"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(b, ensure_ascii=False))
    v = run(BIN_DIR / "auditfs-check", "verify-bundle", forged, "--key", store / "verifier-key")
    assert v.returncode == 1 and "INVALID" in v.out and "VALID: /" not in v.out, v.out + v.err


def test_cli_append_refuses_a_disguised_audit_name(store):
    """`auditfs append` (root, offline) refuses /.audit through the same
    bytewise Store.isAuditPath as the mount: a mark right after "/.audit/"
    does not take a path out of the audit namespace."""
    before = log_entries(store)
    for p in AUDIT_DISGUISES:
        r = auditfs("append", store, p, input="forged\n")
        assert r.returncode != 0 and "audit namespace" in r.err, (p, r.err)
    assert log_entries(store) == before
    # A look-alike of /.audit is an ordinary name, outside it.
    auditfs("append", store, "/.audit\u0301/events.jsonl", input="{}\n", check=True)
    look_alike = "/.audit\u0301"
    added = [e["path"] for e in log_entries(store)][len(before):]
    assert added == [look_alike, look_alike + "/events.jsonl", look_alike + "/events.jsonl"]   # mkdir, create, append
