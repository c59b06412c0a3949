"""The permission policy on a real mount, with real users (useradd/groupadd):
decisions by the policy and their records in /.audit/decisions, reloads
(auditfs policy reload and SIGHUP) and their records in
/.audit/policy/changes.jsonl, the daemon-only /.audit namespace, and the
mount rules' refusals, recorded as tamper or as plain refusals (docs/POLICY.md)."""
import errno
import hashlib
import json
import os
import pathlib
import shutil
import signal
import tempfile

import pytest

from conftest import ROOT, auditfs, run, tree_digest
from mountlib import Mount, assert_user_files_unchanged, daemon_pids, user_state, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

POLICIES = ROOT / "fixtures" / "policy"
WRITER_GROUP = "adm"          # the example binds log-writer to {group: adm}
ALICE, BOB, EVE = "auditfs-alice", "auditfs-bob", "auditfs-eve"


def ensure_group(name):
    if run("getent", "group", name).returncode != 0:
        run("groupadd", "--system", name, check=True)


def ensure_user(name, groups=()):
    if run("id", "-u", name).returncode != 0:
        run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name, check=True)
    for g in groups:
        run("usermod", "-a", "-G", g, name, check=True)
    return int(run("id", "-u", name, check=True).out)


@pytest.fixture(scope="session")
def people():
    """alice: log writer through a supplementary group (adm); bob: auditor
    (group auditors); eve: nobody in the policy; www-data: a user subject;
    uid 1001: a numeric subject."""
    ensure_group("auditors")
    return {"alice": ensure_user(ALICE, [WRITER_GROUP]), "bob": ensure_user(BOB, ["auditors"]),
            "eve": ensure_user(EVE), "www-data": int(run("id", "-u", "www-data", check=True).out)}


def as_user(who, *cmd):
    """Runs `cmd` as a user name (with its groups) or a bare numeric uid."""
    if isinstance(who, int):
        return run("setpriv", f"--reuid={who}", f"--regid={who}", "--clear-groups", "--", *cmd)
    return run(*cmd, user=who)


def append_as(who, path, text):
    return as_user(who, "sh", "-c", f"printf '%s' '{text}' >> '{path}'")


@pytest.fixture
def place(tmp_path):
    """A 0755 parent for the mount point and a policy file that tests rewrite."""
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-policy-"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def mount_with(store, mountpoint, *args):
    """`auditfs mount STORE MOUNTPOINT ARGS...` (background), as a mountlib.Mount."""
    mountpoint.mkdir(exist_ok=True)
    r = auditfs("mount", store, mountpoint, *args, timeout=60)
    assert r.returncode == 0, r.err
    m = Mount.__new__(Mount)
    m.store, m.path, m.proc = pathlib.Path(store), pathlib.Path(mountpoint), None
    return m


def audit_file(store, path):
    r = auditfs("cat", store, path)
    return r.out if r.returncode == 0 else ""


def audit_lines(store, path):
    return [json.loads(line) for line in audit_file(store, path).splitlines() if line.strip()]


def decisions(store):
    names = [line.split()[-1] for line in auditfs("ls", store, "/.audit/decisions", check=True).out.splitlines()]
    return [d for n in sorted(names) for d in audit_lines(store, f"/.audit/decisions/{n}")]


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def set_up_tree(m):
    """As root with the operators policy: /nginx and /app, writable by all
    (the kernel checks the mode bits before the policy is asked)."""
    for d in ("nginx", "app"):
        os.mkdir(m / d)
        os.chmod(m / d, 0o777)


@pytest.fixture
def operated(store, place, people):
    """A mount under the operators policy (example + root as admin), with
    /nginx and /app set up; the policy file is a copy tests may rewrite."""
    policy = place / "policy.yaml"
    shutil.copy(POLICIES / "operators.yaml", policy)
    m = mount_with(store, place / "mnt", "--policy", policy)
    try:
        set_up_tree(m)
        yield m, policy
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0


# ---- decisions ----------------------------------------------------------------------------------

def test_policy_decides_for_real_users_and_records_every_decision(operated, people):
    m, policy = operated
    store = m.store
    # Allowed: a user subject, a supplementary group, a numeric uid.
    assert append_as("www-data", m / "nginx" / "access.log", "GET /\n").returncode == 0
    assert append_as(ALICE, m / "app" / "alice.log", "alice\n").returncode == 0
    assert append_as(1001, m / "nginx" / "n.log", "1001\n").returncode == 0
    appends = {e["path"]: e for e in auditfs_log(store) if e["op"] == "append"}
    assert appends["/nginx/access.log"]["uid"] == people["www-data"]
    assert appends["/app/alice.log"]["uid"] == people["alice"]
    assert appends["/nginx/n.log"]["uid"] == 1001

    # Denied: EACCES, nothing stored, the denial recorded with what decided it.
    before = user_state(store)
    for who, path in ((EVE, m / "nginx" / "eve.log"), (ALICE, m / "app" / "notes.txt"),
                      (BOB, m / "nginx" / "bob.log")):
        r = append_as(who, path, "x\n")
        assert r.returncode != 0 and "Permission denied" in r.err, (who, path, r.err)
    r = as_user(ALICE, "cat", m / "nginx" / "access.log")     # log writers do not read
    assert r.returncode != 0 and "Permission denied" in r.err
    assert_user_files_unchanged(store, before, "denied opens")

    ds = decisions(store)
    grant = next(d for d in ds if d["path"] == "/nginx/access.log" and d["verb"] == "create")
    assert grant["decision"] == "grant" and grant["user"] == "www-data" and grant["uid"] == people["www-data"]
    assert (grant["role"], grant["binding"], grant["rule"], grant["glob"]) == ("log-writer", 2, 12, "/nginx/**")
    assert grant["errno"] == 0 and grant["tamper"] is False and grant["policy"] == sha256(policy.read_text())
    alice = next(d for d in ds if d["path"] == "/app/alice.log" and d["verb"] == "create")
    assert alice["decision"] == "grant" and 4 in alice["groups"]        # adm, from fuse_req_getgroups
    eve = next(d for d in ds if d["path"] == "/nginx/eve.log")
    assert (eve["decision"], eve["verb"], eve["user"], eve["errno"], eve["error"], eve["reason"], eve["tamper"]) == \
        ("deny", "create", EVE, errno.EACCES, "EACCES", "default-deny", False)
    assert "role" not in eve and eve["command"] == "sh"
    assert any(d["path"] == "/app/notes.txt" and d["decision"] == "deny" and d["user"] == ALICE for d in ds)
    assert any(d["path"] == "/nginx/access.log" and d["verb"] == "read" and d["decision"] == "deny"
               and d["user"] == ALICE for d in ds)

    # An auditor reads everything, /.audit included; reading /.audit records nothing.
    r = as_user(BOB, "cat", m / "nginx" / "access.log")
    assert r.returncode == 0 and r.out == "GET /\n"
    count = len(decisions(store))
    for _ in range(3):
        assert as_user(BOB, "cat", *sorted((m / ".audit" / "decisions").iterdir())).returncode == 0
        assert as_user(BOB, "ls", m / ".audit" / "policy").returncode == 0
    assert len(decisions(store)) == count


def test_root_denied_by_the_policy_is_denied(operated):
    m, policy = operated
    os.close(os.open(m / "nginx" / "root.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND))
    # The example names no root: after a reload root may do nothing.
    shutil.copy(POLICIES / "example.yaml", policy)
    assert auditfs("policy", "reload", m.path).returncode == 0
    before = user_state(m.store)
    for flags in (os.O_RDONLY, os.O_WRONLY | os.O_APPEND):
        with pytest.raises(PermissionError):
            os.open(m / "nginx" / "root.log", flags)
    with pytest.raises(PermissionError):
        os.open(m / "nginx" / "new.log", os.O_WRONLY | os.O_CREAT, 0o644)
    with pytest.raises(PermissionError):
        os.listdir(m.path)
    assert_user_files_unchanged(m.store, before, "root's denied opens")
    root = [d for d in decisions(m.store) if d["uid"] == 0 and d["decision"] == "deny"]
    assert {(d["verb"], d["path"]) for d in root} >= {("read", "/nginx/root.log"), ("append", "/nginx/root.log"),
                                                      ("create", "/nginx/new.log"), ("list", "/")}
    assert all(d["policy"] == sha256((POLICIES / "example.yaml").read_text()) for d in root)


# ---- reload -------------------------------------------------------------------------------------

def test_reload_revoking_a_binding_denies_the_next_open_and_names_the_revocation(operated):
    m, policy = operated
    log = m / "nginx" / "access.log"
    assert append_as("www-data", log, "one\n").returncode == 0
    old = policy.read_text()
    new = old.replace("{user: www-data}, ", "")
    policy.write_text(new)
    r = auditfs("policy", "reload", m.path)
    assert r.returncode == 0, r.err
    assert "revoked: role 'log-writer' from user:www-data" in r.out
    r = append_as("www-data", log, "two\n")
    assert r.returncode != 0 and "Permission denied" in r.err
    assert read_store_file(m.store, "/nginx/access.log") == "one\n"

    change = audit_lines(m.store, "/.audit/policy/changes.jsonl")[-1]
    assert (change["event"], change["outcome"], change["previous"], change["new"]) == \
        ("reload", "accepted", sha256(old), sha256(new))
    assert change["changes"]["revoked"] == [{"role": "log-writer", "subject": "user:www-data"}]
    assert change["changes"]["assigned"] == [] and change["by"]["via"] == "auditfs policy reload"
    assert change["by"]["uid"] == 0 and change["by"]["command"] == "auditfs"
    assert audit_file(m.store, f"/.audit/policy/{sha256(new)}.yaml") == new
    assert audit_file(m.store, f"/.audit/policy/{sha256(old)}.yaml") == old
    denial = decisions(m.store)[-1]
    assert (denial["user"], denial["verb"], denial["decision"], denial["policy"]) == \
        ("www-data", "append", "deny", sha256(new))

    # SIGHUP: the assignment comes back; the sender (this process) is recorded.
    policy.write_text(old)
    count = len(audit_lines(m.store, "/.audit/policy/changes.jsonl"))
    os.kill(daemon_pid(m), signal.SIGHUP)
    wait_until(lambda: len(audit_lines(m.store, "/.audit/policy/changes.jsonl")) > count, what="the SIGHUP reload")
    change = audit_lines(m.store, "/.audit/policy/changes.jsonl")[-1]
    assert change["by"] == {"via": "SIGHUP", "pid": os.getpid(), "uid": 0, "user": "root",
                            "command": pathlib.Path("/proc/self/comm").read_text().strip()}
    assert change["changes"]["assigned"] == [{"role": "log-writer", "subject": "user:www-data"}]
    assert append_as("www-data", log, "three\n").returncode == 0
    events = [e["event"] for e in audit_lines(m.store, "/.audit/events.jsonl")]
    assert events[-2:] == ["reload-accepted", "reload-accepted"]


def test_broken_reload_keeps_the_old_policy(operated):
    m, policy = operated
    good = policy.read_text()
    shutil.copy(POLICIES / "invalid" / "unknown-verb.yaml", policy)
    r = auditfs("policy", "reload", m.path)
    assert r.returncode == 1
    assert r.err.strip().endswith(f"{policy}:6:25: unknown verb 'delete' (expected one of create, append, mkdir, "
                                  "read, list, setattr, rename, remove; for delete the verb is 'remove')") \
        and len(r.err.strip().splitlines()) == 1
    assert append_as("www-data", m / "nginx" / "still.log", "ok\n").returncode == 0   # the old policy stays
    assert append_as(EVE, m / "nginx" / "eve.log", "no\n").returncode != 0
    change = audit_lines(m.store, "/.audit/policy/changes.jsonl")[-1]
    assert (change["outcome"], change["previous"], change["new"]) == ("rejected", sha256(good), sha256(good))
    assert "6:25: unknown verb 'delete'" in change["error"]
    # SIGHUP with a broken file: rejected and recorded too; the daemon serves on.
    os.kill(daemon_pid(m), signal.SIGHUP)
    wait_until(lambda: [e["event"] for e in audit_lines(m.store, "/.audit/events.jsonl")].count("reload-rejected") == 2,
               what="the rejected SIGHUP reload")
    assert append_as("www-data", m / "nginx" / "still.log", "ok\n").returncode == 0
    assert read_store_file(m.store, "/nginx/still.log") == "ok\nok\n"


# ---- the audit namespace ------------------------------------------------------------------------

def test_audit_namespace_refuses_root_and_records_tamper(store, place):
    m = mount_with(store, place / "mnt")        # the built-in policy: root may do all the mount allows
    try:
        with open(m / "f.log", "a") as f:
            f.write("user data\n")
        events = m / ".audit" / "events.jsonl"
        day = sorted((m / ".audit" / "decisions").iterdir())[0]
        attempts = [
            ("open-write", str(events), lambda: os.open(events, os.O_WRONLY | os.O_APPEND)),
            ("open-write", str(day), lambda: os.open(day, os.O_RDWR)),
            ("truncate", str(events), lambda: os.truncate(events, 0)),
            ("truncate", str(events), lambda: os.open(events, os.O_WRONLY | os.O_TRUNC)),
            ("unlink", str(events), lambda: os.unlink(events)),
            ("rename", str(day), lambda: os.rename(day, m / ".audit" / "decisions" / "old.jsonl")),
            ("rename", str(m / "f.log"), lambda: os.rename(m / "f.log", m / ".audit" / "f.log")),
            ("link", str(events), lambda: os.link(events, m / "copy")),
            ("symlink", str(m / ".audit" / "s"), lambda: os.symlink("/etc/passwd", m / ".audit" / "s")),
            ("create", str(m / ".audit" / "decisions" / "fake.jsonl"),
             lambda: os.open(m / ".audit" / "decisions" / "fake.jsonl", os.O_WRONLY | os.O_CREAT, 0o644)),
            ("mkdir", str(m / ".audit" / "new"), lambda: os.mkdir(m / ".audit" / "new")),
            ("chmod", str(m / ".audit"), lambda: os.chmod(m / ".audit", 0o777)),
            ("chown", str(events), lambda: os.chown(events, 1, 1)),
            ("rmdir", str(m / ".audit" / "policy"), lambda: os.rmdir(m / ".audit" / "policy")),
        ]
        for op, path, attempt in attempts:
            before = user_state(store)
            with pytest.raises(OSError) as e:
                attempt()
            assert e.value.errno == errno.EPERM, (op, path, e.value)
            assert_user_files_unchanged(store, before, f"{op} {path}")
            # The last line written as its own: a repeat (the second truncate) is folded into a count
            # line written later (docs/POLICY.md "Floods"), after the first of its kind.
            d = [d for d in decisions(store) if "folded" not in d][-1]
            rel = "/" + os.path.relpath(path, m.path)
            assert (d["verb"], d["path"], d["decision"], d["errno"], d["error"], d["tamper"], d["uid"]) == \
                (op, rel, "deny", errno.EPERM, "EPERM", True, 0), d
            assert d["mountRule"] == "audit-namespace" and d["reason"] == "mount-rule"
        assert open(m / "f.log").read() == "user data\n"
        # Reading the audit files is allowed (built-in policy) and records nothing.
        for _ in range(3):
            assert len(open(day).read()) > 0 and "decisions" in os.listdir(m / ".audit")
        m.unmount()
        assert not [d for d in decisions(store) if d["verb"] in ("read", "list") and d["path"].startswith("/.audit")]
    finally:
        m.cleanup()


def test_mount_rule_refusals_are_recorded_as_tamper_attempts(store, place):
    m = mount_with(store, place / "mnt")
    try:
        with open(m / "f", "ab") as f:
            f.write(b"0123456789")
        fd = os.open(m / "f", os.O_RDWR)
        try:
            before = user_state(store)
            with pytest.raises(PermissionError):
                os.pwrite(fd, b"X", 0)
            assert_user_files_unchanged(store, before, "pwrite at 0")
        finally:
            os.close(fd)
        for attempt in (lambda: os.truncate(m / "f", 0), lambda: os.unlink(m / "f"),
                        lambda: os.rename(m / "f", m / "g"), lambda: os.chmod(m / "f", 0o600)):
            before = user_state(store)
            with pytest.raises(PermissionError):
                attempt()
            assert_user_files_unchanged(store, before)
        tamper = [(d["verb"], d["path"], d.get("target"), d["mountRule"]) for d in decisions(store) if d["tamper"]]
        assert tamper == [("write", "/f", None, "append-only"), ("truncate", "/f", None, "no-truncate"),
                          ("unlink", "/f", None, "permanent-names"), ("rename", "/f", "/g", "permanent-names")]
        # A refused chmod changes no stored byte: a refusal, not tamper (docs/POLICY.md "Tamper and refusals").
        refused = [(d["verb"], d["path"], d["mountRule"], d["tamper"]) for d in decisions(store)
                   if d["reason"] == "mount-rule" and not d["tamper"]]
        assert refused == [("chmod", "/f", "frozen-attributes", False)]
        assert open(m / "f", "rb").read() == b"0123456789"
    finally:
        m.cleanup()


def test_verify_covers_the_audit_files(store, place):
    m = mount_with(store, place / "mnt")
    try:
        os.close(os.open(m / "f", os.O_WRONLY | os.O_CREAT))
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0
    audit = [e for e in auditfs_log(store) if e["path"].startswith("/.audit/")]
    assert {e["path"] for e in audit} >= {"/.audit/events.jsonl", "/.audit/policy/changes.jsonl"}
    # Flip one byte of a decision line inside the segment: verify names it.
    seg = sorted((store / "segments").iterdir())[-1]
    data = bytearray(seg.read_bytes())
    i = data.index(b'"decision":"grant"')
    data[i + 13] ^= 0x01
    seg.write_bytes(bytes(data))
    r = auditfs("verify", store)
    assert r.returncode == 1 and "payload-digest" in r.out + r.err
    data[i + 13] ^= 0x01
    seg.write_bytes(bytes(data))
    assert auditfs("verify", store).returncode == 0


# ---- loading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,where", [("unknown-verb", "6:25: unknown verb 'delete'"),
                                        ("bad-glob", "5:17: path glob '/logs/[ab].log'"),
                                        ("not-yaml", "5:1: YAML:"), ("unknown-role", "4:11: binding names role 'ghost'")])
def test_a_policy_that_fails_to_parse_stops_the_mount(store, place, name, where):
    before = tree_digest(store)
    (place / "mnt").mkdir()
    bad = POLICIES / "invalid" / f"{name}.yaml"
    r = auditfs("mount", store, place / "mnt", "--policy", bad, timeout=60)
    assert r.returncode == 1
    assert r.err.strip() == r.err.strip().splitlines()[0] and f"{bad}:{where}" in r.err, r.err
    assert not os.path.ismount(place / "mnt") and tree_digest(store) == before
    r = auditfs("mount", store, place / "mnt", "-o", f"policy={bad}", timeout=60)
    assert r.returncode == 1 and f"{bad}:{where}" in r.err


def test_loads_across_remounts_events_and_torn_tail(store, place, people):
    example, operators = POLICIES / "example.yaml", POLICIES / "operators.yaml"
    m = mount_with(store, place / "mnt", "-o", f"policy={example}")
    r = auditfs("policy", "reload", m.path)
    assert r.returncode == 0 and "unchanged" in r.out
    m.unmount()
    # A torn tail (the daemon died mid-append): zero bytes after the last record.
    seg = sorted((store / "segments").iterdir())[-1]
    with open(seg, "ab") as f:
        f.write(bytes(40))
    m = mount_with(store, place / "mnt", "--policy", operators)
    m.unmount()
    changes = audit_lines(store, "/.audit/policy/changes.jsonl")
    assert [(c["event"], c["outcome"]) for c in changes] == [("load", "accepted"), ("reload", "unchanged"),
                                                             ("load", "accepted")]
    first, _, second = changes
    assert "previous" not in first and first["new"] == sha256(example.read_text())
    assert (second["previous"], second["new"]) == (sha256(example.read_text()), sha256(operators.read_text()))
    assert second["changes"]["assigned"] == [{"role": "admin", "subject": "user:root"}]
    assert second["changes"]["rolesAdded"] == ["admin"] and second["by"]["via"] == "mount"
    events = audit_lines(store, "/.audit/events.jsonl")
    assert [e["event"] for e in events] == ["mount", "reload-unchanged", "unmount", "torn-tail-recovered", "mount",
                                            "unmount"]
    assert events[0]["policyFile"] == str(example) and "40 bytes" in events[3]["detail"]
    # A mount without --policy runs the built-in policy; reloading it is rejected.
    m = mount_with(store, place / "mnt")
    try:
        r = auditfs("policy", "reload", m.path)
        assert r.returncode == 1 and "built-in policy" in r.err
    finally:
        m.unmount()
    assert auditfs("policy", "reload", place / "mnt").returncode != 0   # no daemon


# ---- helpers ------------------------------------------------------------------------------------

def auditfs_log(store):
    return [json.loads(line) for line in auditfs("log", "--json", store, check=True).out.splitlines() if line.strip()]


def read_store_file(store, path):
    return auditfs("cat", store, path, check=True).out


def daemon_pid(m):
    """The daemon serving `m`, from its pid file (checked against /proc)."""
    # A pid file left by a killed daemon of another mount may name a reused pid: count each pid once.
    pids = {int(p.read_text()) for p in pathlib.Path("/run/auditfs").glob("*.pid")}
    pids = [p for p in pids if pathlib.Path(f"/proc/{p}").exists() and p in daemon_pids(m.path)]
    assert len(pids) == 1, pids
    return pids[0]
