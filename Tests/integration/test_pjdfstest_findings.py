"""What pjdfstest found on a real mount that is not a write-once refusal
(docs/TESTING.md "pjdfstest"): each a test of the POSIX behaviour it checks,
on a real mount, with the kernel's own view (stat, find)."""
import os
import subprocess

import pytest

from mountlib import Mount

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")


def test_directory_link_count_counts_subdirectories(store, tmp_path):
    """rename/24.t 4: after `mkdir a/b` the link count of a is 3 (its entry,
    its ".", b's ".."), as on ext4; auditfs said 2 for every directory, which
    tells a leaf-optimising walker that a holds no subdirectory."""
    m = Mount(store, tmp_path / "mnt")
    try:
        a = m / "a"
        a.mkdir()
        assert os.stat(a).st_nlink == 2
        (a / "b").mkdir()
        (a / "c").mkdir()
        (a / "c" / "d").mkdir()
        (a / "f.log").write_text("a file is no link\n")
        assert os.stat(a).st_nlink == 4
        assert os.stat(a / "c").st_nlink == 3
        assert os.stat(a / "b").st_nlink == 2
        assert os.stat(a / "f.log").st_nlink == 1
        root_dirs = sum(1 for e in os.scandir(m.path) if e.is_dir(follow_symlinks=False))
        assert os.stat(m.path).st_nlink == 2 + root_dirs   # a and /.audit
        # find's own count of the directories agrees with the link counts.
        found = subprocess.run(["find", str(a), "-type", "d"], capture_output=True, text=True, check=True).stdout.split()
        assert len(found) == 4
        m.unmount()
        # The same after a remount, from the replayed (or indexed) store.
        m = Mount(store, tmp_path / "mnt")
        assert os.stat(m / "a").st_nlink == 4
        assert os.stat(m / "a" / "c").st_nlink == 3
    finally:
        m.cleanup()
