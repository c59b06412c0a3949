"""History mode (issue 12, `-o history`): real programs that rotate their
logs by rename and unlink, unmodified, against a real FUSE mount. Without
`-o history` (the default) the same operations stay refused as before.

What each program does was measured with strace on tmpfs (Debian 12:
auditd 3.0.9, Python 3.11, logrotate 3.21.0, runit 2.1.2 svlogd,
daemontools 0.76 multilog); each test's docstring says what it relies on."""
import collections
import errno
import os
import re

import pytest

from conftest import auditfs, run
from mountlib import Mount, assert_user_files_unchanged, log_entries, user_state

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

SYSTEM_PYTHON = "/usr/bin/python3"


def assert_verified(store):
    r = auditfs("verify", store)
    assert r.returncode == 0, f"verify failed: {r.out}{r.err}"


def numbers(blobs, pattern):
    """How many times each number matching `pattern` (one group) occurs in
    the byte strings `blobs`."""
    rx = re.compile(pattern.encode())
    return collections.Counter(int(n) for b in blobs for n in rx.findall(b))


ROTATING = """\
import logging, logging.handlers, sys, time
kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "size":
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2000, backupCount=3)
else:
    handler = logging.handlers.TimedRotatingFileHandler(path, when="S", interval=1, backupCount=2)
handler.setFormatter(logging.Formatter("%(message)s"))
log = logging.getLogger("app")
log.addHandler(handler)
log.setLevel(logging.INFO)
for i in range(n):
    log.info("record %06d of %d from the application", i, n)
    if kind == "time":
        time.sleep(0.02)
"""


# ---------------------------------------------------------------- without -o history

def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, f"{fn.__name__}{args}: expected {errno.errorcode[code]}, got {e.value!r}"


STRICT = {
    "rename": lambda m: os.rename(m / "d" / "app.log", m / "d" / "app.log.1"),
    "rename-over": lambda m: os.rename(m / "d" / "app.log", m / "d" / "old.log"),
    "unlink": lambda m: os.unlink(m / "d" / "app.log"),
    "rmdir": lambda m: os.rmdir(m / "empty"),
    "chmod": lambda m: os.chmod(m / "d" / "app.log", 0o444),
}


@pytest.mark.parametrize("op", sorted(STRICT))
def test_without_history_namespace_changes_stay_refused(store, place, op):
    """The default mount is strict as before: rename, unlink, rmdir and a
    chmod of a non-empty file are EPERM, nothing is retired, no byte moves."""
    m = Mount(store, place / "mnt")
    try:
        (m / "d").mkdir()
        (m / "empty").mkdir()
        (m / "d" / "app.log").write_bytes(b"line 1\n")
        (m / "d" / "old.log").write_bytes(b"old\n")
        before = user_state(store)
        expect_errno(errno.EPERM, STRICT[op], m.path)
        assert_user_files_unchanged(store, before, op)
        assert (m / "d" / "app.log").read_bytes() == b"line 1\n" and (m / "empty").is_dir()
        assert not (m / ".audit" / "retired").exists()
    finally:
        m.cleanup()
    assert [e for e in log_entries(store) if e["op"] == "rename"] == []
    assert_verified(store)


def test_without_history_python_rotating_handler_loses_nothing_stored(store, place, tmp_path):
    """RotatingFileHandler on a strict mount: its first rollover's rename is
    EPERM (one traceback per later record, exit 0, as test_servers.py
    shows); what it wrote before stays byte for byte, nothing is renamed."""
    m = Mount(store, place / "mnt")
    try:
        (m / "app").mkdir()
        script = tmp_path / "rotating.py"
        script.write_text(ROTATING)
        r = run(SYSTEM_PYTHON, script, "size", m / "app" / "app.log", 100, timeout=60)
        assert r.returncode == 0
        assert "PermissionError: [Errno 1] Operation not permitted" in r.err
        kept = (m / "app" / "app.log").read_bytes()
        assert sorted(p.name for p in (m / "app").iterdir()) == ["app.log"]
        assert numbers([kept], r"record (\d+) of") == collections.Counter(range(len(kept.splitlines())))
    finally:
        m.cleanup()
    assert sum(e["length"] for e in log_entries(store, "/app/app.log") if e["op"] == "append") == len(kept)
    assert_verified(store)
