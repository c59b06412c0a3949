"""The shared plumbing on the real binary: the one-line error (ErrorLine)
keeps a hostile name on its line wherever the message is printed — by the
mount command itself or relayed from its background daemon — and the
daemon's pid file is written atomically in place of whatever is at its name
(AtomicFile.replace), never through a link planted there."""
import os
import pathlib
import subprocess

import pytest

from conftest import AUDITFS, auditfs
from mountlib import Mount, wait_until

needs_mount = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                 reason="mount tests need root and /dev/fuse")

FORGED = "auditfs: serving store '/srv/real' on /mnt/real"


@needs_mount
@pytest.mark.parametrize("foreground", [True, False], ids=["foreground", "background"])
def test_newline_in_mountpoint_name_cannot_forge_a_second_error_line(store, place, foreground):
    mountpoint = f"{place}/missing\n{FORGED}"
    args = [AUDITFS, "mount", str(store), mountpoint] + (["-f"] if foreground else [])
    r = subprocess.run(args, capture_output=True, timeout=60)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    lines = err.splitlines()
    assert len(lines) == 1, f"one error became {len(lines)} lines: {lines}"
    assert lines[0] == f"auditfs: mountpoint '{place}/missing\\n{FORGED}' does not exist"


@needs_mount
def test_pid_file_link_is_replaced_not_written_through(store, place, tmp_path):
    mnt, pid_file = place / "mnt", None
    m = Mount(store, mnt)
    try:
        pid = m.pid
        pid_files = [p for p in pathlib.Path("/run/auditfs").glob("*.pid") if p.read_text().strip() == str(pid)]
        assert len(pid_files) == 1, pid_files
        pid_file = pid_files[0]
        m.unmount()
        assert not pid_file.exists()   # removed at unmount

        victim = tmp_path / "victim"
        victim.write_text("precious\n")
        pid_file.symlink_to(victim)
        m = Mount(store, mnt)
        new_pid = m.pid
        assert victim.read_text() == "precious\n", "the daemon wrote its pid through a planted link"
        assert not pid_file.is_symlink() and pid_file.read_text() == f"{new_pid}\n"
        # A reader finds the store through it: query by mount point reads the store.
        r = auditfs("query", mnt, "--json")
        assert r.returncode == 0, r.err
        m.unmount()
    finally:
        m.cleanup()
        if pid_file is not None and pid_file.is_symlink():
            pid_file.unlink()
