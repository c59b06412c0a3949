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


@pytest.fixture
def place():
    """A 0755 directory for mount points (the test user must reach them)."""
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-input-"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


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
