"""What bench/bench.py and bench/verify_read.py share: running a command,
telling whether a path is mounted, waiting for a mount, building nullfs, and
finding the daemon serving a mount."""
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split(" ")[4] == path for line in f)


def daemon_pids(mountpoint):
    """The auditfs daemon serving `mountpoint` (by its exact argument)."""
    want = str(mountpoint).encode()
    pids = []
    for p in pathlib.Path("/proc").iterdir():
        try:
            argv = (p / "cmdline").read_bytes().split(b"\0") if p.name.isdigit() else []
        except OSError:
            continue
        if len(argv) > 3 and argv[1] == b"mount" and argv[3] == want:
            pids.append(int(p.name))
    return pids


def wait_mounted(path, proc=None, timeout=20):
    deadline = time.monotonic() + timeout
    while not mounted(path):
        if proc is not None and proc.poll() is not None:
            sys.exit(f"bench: {path}: mount exited with {proc.returncode}")
        if time.monotonic() > deadline:
            sys.exit(f"bench: {path} did not mount")
        time.sleep(0.02)
    os.stat(path)   # answered by the daemon once INIT is done


def build_nullfs():
    """Builds bench/nullfs.c, with auditfs's session loop (its `leader` mode), into OUT/nullfs; returns its path."""
    OUT.mkdir(parents=True, exist_ok=True)
    cflags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], check=True, capture_output=True,
                            text=True).stdout.split()
    shim = ROOT / "Sources" / "CAuditFUSEShim"
    sh("cc", "-O2", "-Wall", ROOT / "bench" / "nullfs.c", shim / "loop.c", "-I", shim / "include", *cflags,
       "-pthread", "-o", OUT / "nullfs")
    return OUT / "nullfs"
