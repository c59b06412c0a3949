"""What bench/bench.py and bench/verify_read.py share: running a command,
telling whether a path is mounted, and finding the daemon serving a mount."""
import os
import pathlib
import subprocess


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
