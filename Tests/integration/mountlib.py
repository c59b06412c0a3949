"""Helpers for the mount tests: mounting a store for real, unmounting even
after a failure or a killed daemon, and finding the daemon of a mount."""
import json
import os
import pathlib
import subprocess
import time

from conftest import AUDITFS, auditfs, run

TEST_USER = "auditfs-test"


def mounted_fstype(mountpoint):
    """The file system type at `mountpoint` from /proc/self/mountinfo, or None."""
    path = os.path.realpath(str(mountpoint))
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split(" ")
            point = fields[4].encode().decode("unicode_escape")
            if point == path:
                found = fields[fields.index("-") + 1]
    return found


def daemon_pids(mountpoint):
    """The pids of `auditfs mount ... MOUNTPOINT` processes (matched by their
    exact mountpoint argument, which is a unique tmp path per test)."""
    want = str(mountpoint).encode()
    pids = []
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            argv = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) > 3 and argv[0].endswith(b"auditfs") and argv[1] == b"mount" and want in argv[2:4]:
            pids.append(int(p.name))
    return pids


def wait_until(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def force_unmount(mountpoint):
    """Unmounts whatever is at `mountpoint` (live or dead): fusermount3 -u,
    then umount -l. Never raises."""
    for cmd in (["fusermount3", "-u", str(mountpoint)], ["umount", "-l", str(mountpoint)]):
        if mounted_fstype(mountpoint) is None:
            return
        subprocess.run(cmd, capture_output=True, timeout=30)


class Mount:
    """A store mounted by `auditfs mount` (background mode by default)."""

    def __init__(self, store, mountpoint, foreground=False, options=(), args=(), env=None):
        self.store = pathlib.Path(store)
        self.path = pathlib.Path(mountpoint)
        self.path.mkdir(exist_ok=True)
        self.proc = None
        opts = [a for o in options for a in ("-o", o)] + [str(a) for a in args]
        if foreground:
            self.proc = subprocess.Popen([AUDITFS, "mount", str(self.store), str(self.path), "-f", *opts],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            wait_until(lambda: mounted_fstype(self.path) == "fuse.auditfs" or self.proc.poll() is not None,
                       what="the foreground mount")
            assert self.proc.poll() is None, f"auditfs mount -f exited: {self.proc.stderr.read().decode()}"
            # Mounted means the kernel has it; wait for INIT to be served too.
            os.listdir(self.path)
        else:
            r = auditfs("mount", self.store, self.path, *opts, timeout=60, env=env)
            assert r.returncode == 0, f"auditfs mount failed: {r.err}"

    @property
    def pid(self):
        if self.proc is not None:
            return self.proc.pid
        pids = daemon_pids(self.path)
        assert len(pids) == 1, f"expected one daemon for {self.path}, found {pids}"
        return pids[0]

    def __truediv__(self, name):
        return self.path / name

    def unmount(self):
        """Unmounts with fusermount3 -u and waits for the daemon to exit (so
        the store's lock is free again)."""
        pids = daemon_pids(self.path) if self.proc is None else [self.proc.pid]
        r = run("fusermount3", "-u", self.path, timeout=30)
        assert r.returncode == 0, f"fusermount3 -u failed: {r.err}"
        self.wait_gone(pids)

    def wait_gone(self, pids):
        if self.proc is not None:
            self.proc.wait(timeout=30)
        else:
            wait_until(lambda: not any(pathlib.Path(f"/proc/{p}").exists() for p in pids), what="the daemon to exit")

    def cleanup(self):
        """For finally-blocks: unmount whatever is left and reap the daemon."""
        force_unmount(self.path)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        else:
            wait_until(lambda: not daemon_pids(self.path), what="the daemon to exit")


def log_entries(store, path=None):
    args = ["log", "--json", store] + ([path] if path else [])
    r = auditfs(*args, check=True)
    return [json.loads(line) for line in r.out.splitlines() if line.strip()]


def ensure_test_user():
    r = run("id", "-u", TEST_USER)
    if r.returncode != 0:
        run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER, check=True)
        r = run("id", "-u", TEST_USER, check=True)
    uid = int(r.out.strip())
    gid = int(run("id", "-g", TEST_USER, check=True).out.strip())
    return uid, gid


def store_files(store):
    """Every data file of a store (cache/ is derived) by relative name."""
    base = pathlib.Path(store)
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file() and p.relative_to(base).parts[0] != "cache"}


def is_audit_path(path):
    return path == "/.audit" or path.startswith("/.audit/")


def user_state(store):
    """What a refusal must leave unchanged: the store's bytes (which may only
    grow) and every record of a file outside /.audit. The daemon records
    each decision and refusal under /.audit, so the store itself does grow."""
    return store_files(store), [e for e in log_entries(store) if not is_audit_path(e["path"])]


def assert_user_files_unchanged(store, before, what="the operation"):
    """Since `before` (user_state): the old bytes are a prefix of the new ones
    (nothing rewritten), no file outside /.audit has a new record, and every
    record appended since is under /.audit."""
    files_before, records_before = before
    files_after, records_after = user_state(store)
    for name, data in files_before.items():
        assert files_after.get(name, b"")[:len(data)] == data, f"{what} rewrote bytes of {name}"
    assert records_after == records_before, f"{what} changed a file outside /.audit"
    seen = {e["recordHash"] for e in records_before}
    last = max((e["seq"] for e in log_entries(store) if e["recordHash"] in seen), default=-1)
    added = [e for e in log_entries(store) if e["seq"] > last]
    assert all(is_audit_path(e["path"]) for e in added), f"{what} appended outside /.audit: {added}"


def alerting_policy(path, name, event, sink):
    """Writes a policy at `path` that lets root create, append, mkdir, read
    and list everywhere, with one alert rule `name` on `event` that appends
    to the file `sink`; returns `path`."""
    pathlib.Path(path).write_text(f"""apiVersion: auditfs/v1
roles:
  - name: admin
    rules: [{{paths: ["/**", "/"], verbs: [create, append, mkdir, read, list]}}]
bindings:
  - role: admin
    subjects: [{{user: root}}]
alerts:
  - name: {name}
    on: {event}
    actions: [{{file: {sink}}}]
""")
    return path
