"""Nothing slow under a lock on a FUSE thread: a user-database lookup that
hangs (an LDAP server gone) holds up the request that needed it, not every
other caller of the mount. The daemon runs with a preloaded getpwuid_r (and
getpwuid) that sleeps for one uid, built here from C."""
import os
import pwd
import shutil
import subprocess
import threading

import pytest
from conftest import auditfs, run
from mountlib import TEST_USER, Mount, ensure_test_user, wait_until

SLOW_SECONDS = 30

PRELOAD = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void slow(uid_t uid) {
    const char *u = getenv("AUDITFS_SLOW_UID"), *d = getenv("AUDITFS_SLOW_DIR"), *s = getenv("AUDITFS_SLOW_SECONDS");
    if (!u || !d || !s || (uid_t)atol(u) != uid) return;
    char p[4096];
    snprintf(p, sizeof p, "%s/begin", d);
    close(open(p, O_WRONLY | O_CREAT, 0644));
    sleep((unsigned)atoi(s));
    snprintf(p, sizeof p, "%s/end", d);
    close(open(p, O_WRONLY | O_CREAT, 0644));
}

struct passwd *getpwuid(uid_t uid) {
    slow(uid);
    struct passwd *(*real)(uid_t) = (struct passwd *(*)(uid_t))dlsym(RTLD_NEXT, "getpwuid");
    return real(uid);
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **result) {
    slow(uid);
    int (*real)(uid_t, struct passwd *, char *, size_t, struct passwd **) =
        (int (*)(uid_t, struct passwd *, char *, size_t, struct passwd **))dlsym(RTLD_NEXT, "getpwuid_r");
    return real(uid, pw, buf, size, result);
}
"""


# The slow user lists the mount (OPENDIR: a worker handles it while another
# reads on) or opens a file (OPEN: the reading thread answers it itself, and
# passes the reading on before the lookup).
@pytest.mark.parametrize("request_kind", ["list", "open"])
def test_a_hung_user_lookup_stalls_no_other_caller(store, place, tmp_path, request_kind):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler for the preloaded lookup")
    ensure_test_user()
    uid = pwd.getpwnam(TEST_USER).pw_uid
    src, lib = tmp_path / "slowpw.c", tmp_path / "slowpw.so"
    src.write_text(PRELOAD)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src, "-ldl"], check=True)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = dict(os.environ, LD_PRELOAD=str(lib), AUDITFS_SLOW_UID=str(uid), AUDITFS_SLOW_DIR=str(marks),
               AUDITFS_SLOW_SECONDS=str(SLOW_SECONDS))
    m = Mount(store, place / "mnt", env=env)
    try:
        with open(m / "root.log", "a") as f:   # root's names are looked up (fast) and kept
            f.write("before\n")
        command = ("ls", m.path) if request_kind == "list" else ("cat", m / "root.log")
        slow_caller = threading.Thread(target=run, args=command, kwargs={"user": TEST_USER, "timeout": 120},
                                       daemon=True)
        slow_caller.start()
        wait_until(lambda: (marks / "begin").exists(), timeout=60, what="the daemon to look the test user up")
        # While that lookup hangs, root's writes are decided, recorded and answered.
        for i in range(3):
            with open(m / "root.log", "a") as f:
                f.write(f"during {i}\n")
            os.stat(m / "root.log")
        assert not (marks / "end").exists(), "root's requests waited for another user's lookup"
        slow_caller.join(timeout=SLOW_SECONDS * 3)
        assert not slow_caller.is_alive()
        m.unmount()
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0
