"""The daemon behind its seam: what the bridge hands the daemon from the
kernel is outside input too. Each test names the attack it reproduces."""
import os
import sys
import textwrap

import pytest

from conftest import auditfs, run
from mountlib import Mount, daemon_pids, ensure_test_user

USER = "auditfs-test"


def py_as_user(user, code, *args):
    return run(sys.executable, "-c", textwrap.dedent(code), *[str(a) for a in args], user=user, timeout=60)


@pytest.fixture
def mnt(store, place):
    ensure_test_user()
    m = Mount(store, place / "mnt")
    try:
        yield m
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0


def test_a_time_past_the_year_2262_cannot_crash_the_daemon(mnt):
    """utimensat with tv_sec = 10^13 (the kernel passes any 64-bit time to
    FUSE): in nanoseconds it overflows Int64. The owner of an empty file may
    set its times; the daemon must answer, not trap, and keep serving."""
    os.mkdir(mnt / "w", 0o777)
    os.chmod(mnt / "w", 0o777)
    pids = daemon_pids(mnt.path)
    r = py_as_user(USER, """
        import os, sys
        p = sys.argv[1]
        open(p, "a").close()
        os.utime(p, (1e13, 1e13))
        print(os.stat(p).st_mtime_ns)
        """, mnt / "w" / "far.log")
    assert r.returncode == 0, r.err
    # The latest time a store can hold (nanoseconds in an Int64), as the kernel clamps to a file system's range.
    assert int(r.out) == 2**63 - 1
    assert daemon_pids(mnt.path) == pids
    assert "far.log" in os.listdir(mnt / "w")
    r = py_as_user(USER, "import os, sys; os.utime(sys.argv[1], (-1e13, -1e13)); print(os.stat(sys.argv[1]).st_mtime_ns)",
                   mnt / "w" / "far.log")
    # Frozen? No: still empty, so the owner may set it again, to the earliest time a store can hold.
    assert r.returncode == 0, r.err
    assert int(r.out) == -2**63
