"""Shared fixtures for the integration tests: they run the real `auditfs`
binary (built by scripts/test) against real stores and real mounts."""
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("AUDITFS_BIN_DIR", ROOT / ".build" / "debug"))
AUDITFS = str(BIN_DIR / "auditfs")
AUDITFS_CHECK = str(BIN_DIR / "auditfs-check")


def run(*args, input=None, check=False, user=None, **kw):
    """Runs a command, returns CompletedProcess with text output.
    `user` runs it as that user through setpriv (real uid/gid switch)."""
    cmd = [str(a) for a in args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + cmd
    if isinstance(input, str):
        input = input.encode()
    p = subprocess.run(cmd, input=input, capture_output=True, **kw)
    p.out = p.stdout.decode(errors="replace")
    p.err = p.stderr.decode(errors="replace")
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} exited {p.returncode}: {p.err}")
    return p


def auditfs(*args, **kw):
    return run(AUDITFS, *args, **kw)


GO_PROGRAMS = ROOT / "Tests" / "integration" / "tlog"


def go_run(program, *args, tmp_path):
    """Runs Tests/integration/tlog/`program` (Go, on Debian's x/mod in GOPATH
    mode: code nobody here wrote) with `args`."""
    env = {**os.environ, "GOPATH": "/usr/share/gocode", "GO111MODULE": "off", "GOCACHE": str(tmp_path / "gocache")}
    return run("go", "run", GO_PROGRAMS / program, *[str(a) for a in args], env=env, timeout=300)


def tree_digest(path):
    """SHA-256 over every file's relative name and bytes under `path`: equal
    digests mean byte-identical stores."""
    h = hashlib.sha256()
    base = pathlib.Path(path)
    for p in sorted(base.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(base)).encode() + b"\0")
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def store(tmp_path):
    s = tmp_path / "store"
    auditfs("init", s, check=True)
    return s


@pytest.fixture
def place():
    """A root-owned 0755 directory under /tmp (pytest's tmp_path is 0700), so
    that other users reach a mount point made in it."""
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def radosgw(tmp_path_factory):
    """A real S3 Object Lock engine for the whole session: a single-host Ceph
    cluster with radosgw on 127.0.0.1 (Tests/integration/cephlib.py), started
    on first use (~5 s) under pytest's temp directory and stopped at the end
    of the session, also after a failure. If it cannot start, every test that
    uses it fails with the daemons' log tails; it is never skipped."""
    import cephlib
    try:
        gw = cephlib.start(tmp_path_factory.mktemp("ceph"))
    except cephlib.CephError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield gw
    finally:
        gw.stop()
