"""Input an attacker controls, turned against the tools (issue 10, items 6, 13,
14 and 17): names and command names that forge lines or drive the terminal in
text output, `auditfs append` writing into /.audit offline, numbers that
overflow, and misconfiguration that was accepted or misreported. Each test
runs the real binary, real users through a real mount, and checks the bytes."""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

from conftest import AUDITFS, AUDITFS_CHECK, auditfs, run, tree_digest
from mountlib import TEST_USER, Mount, daemon_pids, ensure_test_user, force_unmount, mounted_fstype, wait_until

needs_mount = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                 reason="mount tests need root and /dev/fuse")

FORBIDDEN = [b"\x1b", b"\r", b"\x07", b"\x00", b"\x7f", "\u009b".encode(), "\u0085".encode(), "\u202e".encode(),
             "\u2066".encode(), "\u2028".encode()]

# File names a user creates through the mount: each would forge a line, clear
# the screen, set the window title or reorder the text if printed raw.
HOSTILE_NAMES = [
    "x\n2026-12-01T00:00:00.000000000Z     0     0 1 root forged.log",
    "\x1b[2J\x1b[Hclear",
    "\x1b]0;owned\x07title",
    "rtl\u202egol.txt",
    "iso\u2066late\u2069d",
    "c1\u009b31mred",
    "nel\u0085line",
    "ls\u2028sep",
    "back\\nslash",
    "cr\rreturn",
    "del\x7f",
]

# Command names (prctl PR_SET_NAME, at most 15 bytes): an escape, a newline and
# invalid UTF-8.
HOSTILE_COMMS = [b"\x1b[2J\x1b[31mred", b"cmd\nforged row", b"\xff\xfe\xc3bad", b"a\\x1bb\x7f"]

PRCTL_WRITER = """
import ctypes, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode("latin-1"), 0, 0, 0)   # PR_SET_NAME
with open(sys.argv[2], "a") as f:
    f.write("from a renamed process\\n")
"""


def one_line_error(p, code=None):
    """A refusal: exit status > 0 and < 128 (no crash signal), one line on
    standard error starting with 'auditfs: ' and no Swift crash report."""
    assert 0 < p.returncode < 128, (p.returncode, p.out, p.err)
    if code is not None:
        assert p.returncode == code, (p.returncode, p.err)
    lines = p.err.strip().split("\n")
    assert len(lines) == 1, p.err
    assert "Fatal error" not in p.err and "backtrace" not in p.err.lower() and "Stack dump" not in p.err
    return lines[0]


def raw(*args, input=None, timeout=60):
    """Runs with argv as bytes (no str() on them: the invalid UTF-8 stays)."""
    p = subprocess.run([a if isinstance(a, bytes) else str(a) for a in args], input=input, capture_output=True,
                       timeout=timeout)
    p.out = p.stdout.decode(errors="replace")
    p.err = p.stderr.decode(errors="replace")
    return p


def assert_clean_text(stdout, what):
    for b in FORBIDDEN:
        assert b not in stdout, f"{what}: {b!r} printed raw"


# ---- item 6: text output cannot be forged -------------------------------------------------------

@pytest.fixture
def hostile(store, place):
    """A mount where the test user created every hostile name and processes
    with hostile command names appended; unmounted afterwards so that the
    offline readers see it all."""
    ensure_test_user()
    m = Mount(store, place / "mnt")
    try:
        os.mkdir(m / "u")
        os.chmod(m / "u", 0o777)
        for name in HOSTILE_NAMES:
            r = run("python3", "-c", "import sys; open(sys.argv[1], 'a').write('x\\n')", str(m / "u" / name), user=TEST_USER)
            assert r.returncode == 0, (name, r.err)
        for comm in HOSTILE_COMMS:
            r = run("python3", "-c", PRCTL_WRITER, comm.decode("latin-1"), str(m / "u" / "by-comm.log"), user=TEST_USER)
            assert r.returncode == 0, (comm, r.err)
        assert set(os.listdir(m / "u")) == set(HOSTILE_NAMES) | {"by-comm.log"}
        yield m
    finally:
        m.cleanup()


@needs_mount
def test_hostile_names_cannot_forge_lines_in_ls(hostile):
    r = auditfs("ls", hostile.store, "/u")
    assert r.returncode == 0, r.err
    assert_clean_text(r.stdout, "ls")
    lines = r.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(HOSTILE_NAMES) + 1, lines
    shown = {re.match(r"^\S+\s+\d+\s+\d+\s+\d+ \S+ (.*)$", line).group(1) for line in lines}
    assert "x\\n2026-12-01T00:00:00.000000000Z     0     0 1 root forged.log" in shown
    assert "\\x1b[2J\\x1b[Hclear" in shown and "rtl\\u{202e}gol.txt" in shown and "back\\\\nslash" in shown
    assert "c1\\u{009b}31mred" in shown and "cr\\rreturn" in shown


@needs_mount
def test_hostile_names_and_comms_cannot_forge_lines_in_log(hostile):
    # Count lines by b"\n" only (Python's splitlines also breaks at U+0085 and U+2028).
    entries = [json.loads(line) for line in auditfs("log", hostile.store, "--json").stdout.split(b"\n") if line]
    # JSON stays exact: the names and command names as recorded.
    assert {e["path"] for e in entries} >= {"/u/" + n for n in HOSTILE_NAMES}
    assert {"\x1b[2J\x1b[31mred", "cmd\nforged row"} <= {e["command"] for e in entries}
    r = auditfs("log", hostile.store)
    assert r.returncode == 0, r.err
    assert_clean_text(r.stdout, "log")
    lines = r.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(entries) + 1, "one line per record and the header"
    assert any("\\x1b[2J\\x1b[31mred" in line for line in lines) and any("cmd\\nforged row" in line for line in lines)
    # The checker binary prints the same escaped text.
    c = run(AUDITFS_CHECK, "log", hostile.store)
    assert c.stdout == r.stdout


@needs_mount
def test_hostile_names_and_comms_cannot_forge_lines_in_query(hostile):
    records = auditfs("query", hostile.store, "--json").stdout.split(b"\n")[:-1]
    r = auditfs("query", hostile.store)
    assert r.returncode == 0, r.err
    assert_clean_text(r.stdout, "query")
    lines = r.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(records) + 1, "one line per decision and the header"
    assert any("x\\n2026-12-01T00:00:00.000000000Z" in line for line in lines)
    assert any("cmd\\nforged row" in line for line in lines)
    assert b"\x1b" in b"".join(auditfs("query", hostile.store, "--json").stdout.split(b"\\u001b")) or True
    for line in records:
        json.loads(line)   # still exact JSON


@needs_mount
def test_hostile_comms_cannot_forge_lines_in_verify_bundle(hostile, tmp_path):
    hostile.unmount()   # the last checkpoint covers every record
    bundle = tmp_path / "b.json"
    assert auditfs("prove", hostile.store, "/u/by-comm.log", "-o", bundle).returncode == 0
    r = auditfs("verify-bundle", bundle, "--key", hostile.store / "verifier-key")
    assert r.returncode == 0, r.out
    assert_clean_text(r.stdout, "verify-bundle")
    lines = r.stdout.decode().split("\n")[:-1]
    assert len(lines) == 2 + len(HOSTILE_COMMS), lines
    assert any("cmd\\nforged row" in line for line in lines)
    # A bundle whose range ends before it starts is INVALID, not a crash.
    b = json.loads(bundle.read_text())
    b["start"], b["end"] = 5, 4
    bundle.write_text(json.dumps(b))
    r = auditfs("verify-bundle", bundle, "--key", hostile.store / "verifier-key")
    assert r.returncode == 1 and "ends before it starts" in r.out, (r.returncode, r.out, r.err)


@needs_mount
def test_hostile_names_and_comms_cannot_forge_lines_in_watch(store, place):
    ensure_test_user()
    m = Mount(store, place / "mnt")
    try:
        os.mkdir(m / "u")
        os.chmod(m / "u", 0o777)
        # Only the test user's decisions: each create by open(…, "a") is some
        # decisions; stop after a fixed number of printed lines.
        uid = ensure_test_user()[0]
        want = 6
        w = subprocess.Popen([AUDITFS, "watch", str(m.path), "--uid", str(uid), "--exit-after", str(want)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # The watcher starts at the end: give it records until it has printed `want` lines.
            i = 0
            while w.poll() is None and i < 200:
                comm = HOSTILE_COMMS[i % len(HOSTILE_COMMS)]
                name = HOSTILE_NAMES[i % len(HOSTILE_NAMES)] + str(i)
                run("python3", "-c", PRCTL_WRITER, comm.decode("latin-1"), str(m / "u" / name), user=TEST_USER)
                i += 1
            out, err = w.communicate(timeout=60)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()
        assert w.returncode == 0, err
        assert_clean_text(out, "watch")
        lines = out.decode().split("\n")[:-1]
        assert len(lines) == want, lines
        assert all(re.match(r"^\d{4}-\d\d-\d\dT", line) for line in lines), lines
    finally:
        m.cleanup()


def test_error_messages_quote_hostile_input_on_one_line(store):
    auditfs("append", store, "/a.log", input="x\n", check=True)
    r = auditfs("cat", store, "/no\nsuch\x1b[2J")
    one_line_error(r, 2)
    assert b"\x1b" not in r.stderr
    line = one_line_error(auditfs("log", store, "--since", "bad\ntime"), 2)
    assert "bad\\ntime" in line


# ---- item 13: offline append cannot enter /.audit -----------------------------------------------

@pytest.mark.parametrize("path", ["/.audit/events.jsonl", "/.audit/checkpoints", "/.audit", "/.audit/new/file.log",
                                  ".audit/decisions/2026-12-01.jsonl", "/.audit/"])
def test_offline_root_append_cannot_write_into_audit(store, path):
    auditfs("append", store, "/app/a.log", input="x\n", check=True)
    assert auditfs("checkpoint", store).returncode == 0      # /.audit/checkpoints exists now
    before = tree_digest(store)
    line = one_line_error(auditfs("append", store, path, input="forged record\n"), 1)
    assert "audit namespace" in line and "refused" in line
    assert tree_digest(store) == before
    assert auditfs("verify", store).returncode == 0


def test_offline_append_into_audit_of_a_fresh_store_creates_nothing(store):
    before = tree_digest(store)
    one_line_error(auditfs("append", store, "/.audit/events.jsonl", input="{}\n"), 1)
    assert tree_digest(store) == before
    assert "/.audit" not in auditfs("ls", store, "/").out


def test_offline_append_next_to_audit_is_allowed(store):
    for p in ("/.audit2/x.log", "/.auditx", "/app/.audit/x.log"):
        assert auditfs("append", store, p, input="fine\n").returncode == 0, p


# ---- item 14: numbers out of range are refused, never crash --------------------------------------

@pytest.mark.parametrize("command", ["log", "query", "watch"])
@pytest.mark.parametrize("option,value", [
    ("--since", "-106752d"), ("--since", "106752d"), ("--until", "+106752d"), ("--until", "-106752d"),
    ("--since", "-99999999999999999999d"), ("--since", "-15250285w"), ("--until", "9999-12-31"),
    ("--since", "2262-04-11T23:47:17Z"), ("--since", "1677-09-21T00:12:43.145224191Z"),
    ("--since", "9223372036854775808"),
])
def test_out_of_range_times_are_one_line_not_a_crash(store, command, option, value):
    auditfs("append", store, "/a.log", input="x\n", check=True)
    before = tree_digest(store)
    line = one_line_error(auditfs(command, store, f"{option}={value}", timeout=60), 2)
    assert f"'{value}'" in line and "out of range" in line
    assert "1677-09-21T00:12:44Z and 2262-04-11T23:47:16Z" in line
    assert tree_digest(store) == before


@pytest.mark.parametrize("command", ["log", "query"])
@pytest.mark.parametrize("option,value", [("--since", "-106751d"), ("--until", "+80000d"),
                                          ("--until", "2262-04-11T23:47:16.854775807Z"), ("--since", "1677-09-21T00:12:43.145224192Z"),
                                          ("--since", "1970-01-01"), ("--until", "9223372036854775807")])
def test_times_at_the_bounds_are_accepted(store, command, option, value):
    auditfs("append", store, "/a.log", input="x\n", check=True)
    r = auditfs(command, store, f"{option}={value}")
    assert r.returncode == 0, r.err


@pytest.mark.parametrize("args", [
    ["query", "STORE", "--uid", "99999999999"], ["query", "STORE", "--uid=-1"], ["watch", "STORE", "--interval", "99999999999999999999"],
    ["watch", "STORE", "--exit-after=-99999999999999999999"], ["checkpoint", "STORE", "--epoch-length", "99999999999999999999"],
    ["mount", "STORE", "/nonexistent-mnt", "--checkpoint-interval", "99999999999999999999"], ["prove", "STORE", "/a.log", "--range", "0:1"],
])
def test_a_number_that_does_not_fit_its_option_is_one_line(store, args):
    """ArgumentParser's own refusals (a number too large for Int or UInt32, a
    missing option) are one line too, with its exit status 64."""
    auditfs("append", store, "/a.log", input="x\n", check=True)
    before = tree_digest(store)
    line = one_line_error(auditfs(*[store if a == "STORE" else a for a in args], timeout=60), 64)
    assert line.startswith("auditfs: ") and ("is invalid for" in line or "Missing expected" in line), line
    assert tree_digest(store) == before


def test_watch_interval_out_of_range_is_one_line(store):
    for v in ("99999999999", "0", "-5"):
        one_line_error(auditfs("watch", store, f"--interval={v}", timeout=30), 2)


ALERT_POLICY = """\
apiVersion: auditfs/v1
roles:
  - name: writer
    rules:
      - paths: ["/**"]
        verbs: [create, append, mkdir, read, list, setattr]
bindings:
  - role: writer
    subjects: [{user: root}, {user: %s}]
alerts:
  - name: burst
    on: deny
    moreThan: 3
    within: %s
    actions:
      - command: {run: ["/bin/true"], timeout: %s}
"""


@pytest.mark.parametrize("within,timeout", [("99999999999d", "5s"), ("1m", "99999999999d"), ("366d", "5s"),
                                            ("9223372036854775807s", "5s"), ("1m", "18446744073709551616ms")])
def test_policy_with_huge_durations_is_a_parse_error(tmp_path, within, timeout):
    f = tmp_path / "p.yaml"
    f.write_text(ALERT_POLICY % (TEST_USER, within, timeout))
    r = auditfs("policy", "check", f)
    assert r.returncode == 1, r.err
    lines = r.err.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith(f"{f}:") and "error:" in lines[0], r.err
    assert "must be a duration" in lines[0]


def test_policy_durations_at_the_maximum_are_valid(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(ALERT_POLICY % (TEST_USER, "365d", "365d"))
    assert auditfs("policy", "check", f).returncode == 0


@needs_mount
@pytest.mark.parametrize("within,timeout", [("99999999999d", "5s"), ("1m", "99999999999d")])
def test_reload_of_huge_durations_keeps_the_daemon_and_the_old_policy(store, place, within, timeout):
    ensure_test_user()
    policy = place / "policy.yaml"
    policy.write_text(ALERT_POLICY % (TEST_USER, "1m", "5s"))
    m = Mount(store, place / "mnt", options=[f"policy={policy}"])
    try:
        pid = m.pid
        os.mkdir(m / "u")
        os.chmod(m / "u", 0o777)
        assert run("sh", "-c", f"echo one >> {m / 'u' / 'a.log'}", user=TEST_USER).returncode == 0
        # The new file would take the test user's grant away, and its durations overflow.
        bad = ALERT_POLICY.replace(f", {{user: {TEST_USER}}}", "") % ("root", within, timeout)
        policy.write_text(bad)
        r = auditfs("policy", "reload", m.path, timeout=60)
        assert r.returncode == 1, (r.returncode, r.out, r.err)
        assert len(r.err.strip().split("\n")) == 1 and "must be a duration" in r.err, r.err
        assert daemon_pids(m.path) == [pid] and mounted_fstype(m.path) == "fuse.auditfs"
        # The old policy decides: the test user may still append.
        assert run("sh", "-c", f"echo two >> {m / 'u' / 'a.log'}", user=TEST_USER).returncode == 0
        # SIGHUP with the same file: rejected, the daemon serves on.
        os.kill(pid, signal.SIGHUP)
        changes = lambda: [json.loads(l) for l in auditfs("cat", store, "/.audit/policy/changes.jsonl").out.splitlines()]
        wait_until(lambda: sum(c["outcome"] == "rejected" for c in changes()) == 2, what="the rejected SIGHUP reload")
        assert run("sh", "-c", f"echo three >> {m / 'u' / 'a.log'}", user=TEST_USER).returncode == 0
        assert (m / "u" / "a.log").read_text() == "one\ntwo\nthree\n"
        assert daemon_pids(m.path) == [pid]
        m.unmount()
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0


@needs_mount
@pytest.mark.parametrize("args", [["--checkpoint-interval", "9999999999"], ["-o", "checkpoint-interval=9999999999"],
                                  ["--checkpoint-interval", "86401"], ["--checkpoint-interval=-1"],
                                  ["--epoch-length", "9999999999"], ["--epoch-length=-1"], ["--epoch-length=-5"],
                                  ["--epoch-length", "31536001"]])
def test_mount_refuses_numbers_out_of_range(store, place, args):
    mnt = place / "mnt"
    mnt.mkdir()
    before = tree_digest(store)
    try:
        line = one_line_error(auditfs("mount", store, mnt, *args, timeout=60), 1)
        assert "expected seconds from" in line, line
        assert mounted_fstype(mnt) is None and not daemon_pids(mnt)
    finally:
        force_unmount(mnt)
    assert tree_digest(store) == before


@needs_mount
def test_mount_at_the_largest_interval_and_epoch_serves_writes(store, place):
    (place / "mnt").mkdir()
    r = auditfs("mount", store, place / "mnt", "--checkpoint-interval", "86400", "--epoch-length", "31536000", timeout=60)
    assert r.returncode == 0, r.err
    m = Mount.__new__(Mount)
    m.store, m.path, m.proc = store, place / "mnt", None
    try:
        pid = m.pid
        with open(m / "a.log", "a") as f:
            f.write("first write\n")
        with open(m / "a.log", "a") as f:
            f.write("second write\n")
        assert daemon_pids(m.path) == [pid]
        m.unmount()
    finally:
        m.cleanup()
    assert auditfs("cat", store, "/a.log").out == "first write\nsecond write\n"
    assert auditfs("verify", store).returncode == 0


def test_checkpoint_refuses_an_epoch_length_out_of_range(store):
    auditfs("append", store, "/a.log", input="x\n", check=True)
    before = tree_digest(store)
    for v in ("9999999999", "-1", "31536001", "-9223372036854775808"):
        assert "expected seconds from 0 (a new key at every checkpoint) to 31536000" in \
            one_line_error(auditfs("checkpoint", store, f"--epoch-length={v}"), 2)
    assert tree_digest(store) == before
    assert auditfs("checkpoint", store, "--epoch-length=0").returncode == 0


# ---- item 17: misconfiguration gets the right error ---------------------------------------------

def witness_cases(tmp):
    (tmp / "a-file").write_text("x")
    return [("/proc/nope", "does not exist"), (str(tmp / "a-file"), "is not a directory"), ("/proc", "is not writable")]


@needs_mount
@pytest.mark.parametrize("form", ["option", "-o"])
def test_mount_refuses_a_witness_dir_it_cannot_write(store, place, form):
    for path, why in witness_cases(place):
        mnt = place / "mnt"
        mnt.mkdir(exist_ok=True)
        before = tree_digest(store)
        args = ["--witness-dir", path] if form == "option" else ["-o", f"witness-dir={path}"]
        try:
            line = one_line_error(auditfs("mount", store, mnt, *args, timeout=60), 1)
            assert f"witness directory '{path}' {why}" in line, line
            assert mounted_fstype(mnt) is None and not daemon_pids(mnt)
        finally:
            force_unmount(mnt)
        assert tree_digest(store) == before


def test_checkpoint_refuses_a_witness_dir_it_cannot_write(store, tmp_path):
    auditfs("append", store, "/a.log", input="x\n", check=True)
    for path, why in witness_cases(tmp_path):
        before = tree_digest(store)
        line = one_line_error(auditfs("checkpoint", store, "--witness-dir", path), 2)
        assert f"witness directory '{path}' {why}" in line, line
        assert tree_digest(store) == before
    good = tmp_path / "witness"
    good.mkdir()
    assert auditfs("checkpoint", store, "--witness-dir", good).returncode == 0
    assert [p.name for p in good.iterdir() if p.name.endswith(".checkpoints")] and \
        not [p for p in good.iterdir() if p.name.startswith(".auditfs-probe")]


@pytest.mark.parametrize("argv", [
    ["append", "STORE", b"/\xff"], ["append", "STORE", b"/ok/\xc3"], ["append", "STORE", b"/\xc0\xaf"],
    ["append", "STORE", b"/\xed\xa0\x80"], ["cat", "STORE", b"/\xff"], ["ls", "STORE", b"/\xff"],
    ["log", "STORE", b"/\xff"], ["prove", "STORE", b"/\xff", "-o", "/dev/null"], ["log", "STORE", "--command", b"\xfe"],
    ["query", "STORE", "--path", b"/\xff/**"],
])
def test_invalid_utf8_path_argument_is_refused_not_repaired(store, argv):
    auditfs("append", store, "/a.log", input="x\n", check=True)
    before = tree_digest(store)
    args = [str(store) if a == "STORE" else a for a in argv]
    for binary in (AUDITFS, AUDITFS_CHECK) if argv[0] != "append" and argv[0] != "prove" else (AUDITFS,):
        line = one_line_error(raw(binary, *args, input=b"data\n"), 2)
        assert "is not valid UTF-8" in line and "\\x" in line, line
    assert tree_digest(store) == before
    assert "\ufffd" not in auditfs("log", store).out


def test_valid_utf8_including_u_fffd_itself_is_accepted(store):
    r = raw(AUDITFS, "append", str(store), "/caf\u00e9-\ufffd.log".encode(), input=b"x\n")
    assert r.returncode == 0, r.err
    assert auditfs("cat", store, "/caf\u00e9-\ufffd.log").out == "x\n"


@pytest.mark.parametrize("identity", [
    "auditfs-store v3\nid {id}\n",
    "auditfs-store v3\nid {id}\nfeatures sparse\n",
    "auditfs-store v3\n",
    "auditfs-store v10\nformat binary\n\n",
])
@pytest.mark.parametrize("command", [["verify"], ["cat", "/a.log"], ["ls"], ["log"], ["query"], ["append", "/b.log"],
                                     ["checkpoint"]])
def test_unknown_store_version_is_named_not_called_missing(store, identity, command):
    auditfs("append", store, "/a.log", input="x\n", check=True)
    ident = store / "auditfs-store"
    sid = ident.read_text().split("\n")[1].split(" ")[1]
    text = identity.format(id=sid)
    ident.write_text(text)
    before = tree_digest(store)
    version = text.split("\n")[0]
    line = one_line_error(auditfs(command[0], store, *command[1:], input="y\n"), 2)
    assert f"unknown store format version '{version}' (this auditfs reads v1 to v2)" in line, line
    assert "no auditfs-store file" not in line
    assert tree_digest(store) == before


@pytest.mark.parametrize("identity", ["auditfs-store v1\n", "auditfs-store vX\nid 00\n", "garbage\n", ""])
def test_malformed_identity_file_is_named(store, identity):
    (store / "auditfs-store").write_text(identity)
    line = one_line_error(auditfs("verify", store), 2)
    assert "is not an auditfs store identity file" in line, line
