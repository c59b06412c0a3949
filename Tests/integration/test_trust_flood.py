"""Issue 10 item 3: the decision log has a bound. A user with no grant at
all floods the daemon with decisions — denied opendirs as fast as one
process can for 20 s (the issue saw 3,685/s, +41.7 MB), refused renames of
~4 KB paths for 10 s (297 MB) — and the store grows by a bounded amount,
while the sum of the decision lines' counts is exactly the number of
attempts. A full disk gives writers ENOSPC (never EIO), readers keep
reading, the store verifies, and writing resumes when space returns
(docs/POLICY.md "Floods")."""
import errno
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import auditfs, run
from mountlib import TEST_USER, Mount, ensure_test_user, wait_until
from test_metrics import free_port, scrape, value

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

POLICY = """apiVersion: auditfs/v1
roles:
  - name: admin
    rules: [{paths: ["/**"], verbs: [create, append, mkdir, read, list, setattr]}]
bindings:
  - role: admin
    subjects: [{user: root}]
"""

BUDGET = 1000          # the default --decision-budget: lines per uid per 10 s
MiB = 1 << 20


@pytest.fixture
def place():
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-flood-"))
    parent.chmod(0o755)
    (parent / "policy.yaml").write_text(POLICY)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def store_bytes(store):
    return sum(p.stat().st_size for p in (pathlib.Path(store) / "segments").iterdir())


def decision_lines(store):
    names = [line.split()[-1] for line in auditfs("ls", store, "/.audit/decisions", check=True).out.splitlines()]
    lines = []
    for n in names:
        out = auditfs("cat", store, f"/.audit/decisions/{n}", check=True).stdout
        lines += [json.loads(line) for line in out.splitlines() if line.strip()]
    return lines


def as_test_user(script, *args):
    """Runs a Python script as the test user (no grant in the policy);
    returns its stdout's last line."""
    r = run(sys.executable, "-c", script, *args, user=TEST_USER, timeout=300)
    assert r.returncode == 0, r.err
    return r.out.strip().splitlines()[-1]


FLOOD_OPENDIR = """
import errno, os, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])   # the mount point
attempts, other = 0, 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(100):
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_DIRECTORY))
            other += 1
        except PermissionError:
            attempts += 1
        except OSError:
            other += 1
print(attempts, other)
"""


def flood(store, place, script, seconds, setup=lambda m: None):
    """Mounts, runs `script` as the test user for `seconds` and unmounts;
    returns (attempts refused, other outcomes, store growth during the flood,
    the user's decision lines)."""
    uid, _ = ensure_test_user()
    m = Mount(store, place / "mnt", options=[f"policy={place / 'policy.yaml'}"])
    try:
        setup(m.path)
        before = store_bytes(store)
        attempts, other = map(int, as_test_user(script, str(m.path), str(seconds)).split())
        during = store_bytes(store) - before
        m.unmount()
    finally:
        m.cleanup()
    return attempts, other, during, [d for d in decision_lines(store) if d["uid"] == uid]


def test_denied_opendir_flood_is_bounded_and_every_attempt_counted(store, place):
    attempts, other, during, mine = flood(store, place, FLOOD_OPENDIR, 20)
    assert other == 0 and attempts > 5000, (attempts, other)
    assert {(d["verb"], d["decision"], d["path"]) for d in mine} == {("list", "deny", "/")}
    assert sum(d.get("count", 1) for d in mine) == attempts
    # Per second: the first denial written at once and one line counting its repeats.
    assert len(mine) <= 2 * 22, len(mine)
    assert all(d["folded"] == "repeats" for d in mine if "count" in d)
    # query counts a count line by its count, as JSON and in the table.
    uid = str(mine[0]["uid"])
    for fmt in (["--json"], []):
        r = auditfs("query", store, "--stats", "--uid", uid, *fmt, check=True)
        assert f"of " in r.err and f"lines ({attempts} decisions)" in r.err, r.err
    assert "× repeats, " in r.out
    # The bound: those lines (< 1 KB each) and the checkpoints; the old daemon wrote one line per attempt.
    line = max(len(json.dumps(d)) for d in mine)
    assert during < 256 * 1024, during
    print(f"\nopendir flood: {attempts} denials in 20 s ({attempts / 20:.0f}/s), store +{during} bytes, "
          f"{len(mine)} lines; one line each would have been ~{attempts * line / MiB:.1f} MiB")


def test_folded_denials_still_count_for_rate_alerts_and_metrics(store, place):
    """One process repeats one denial 500 times: nearly all of them are
    folded into count lines, yet the deny-rate rule (more than 100 within
    60 s) fires once, at the 101st, and the metrics count all 500."""
    uid, _ = ensure_test_user()
    out = place / "burst.jsonl"
    (place / "policy.yaml").write_text(POLICY + f"""alerts:
  - name: burst
    on: deny
    moreThan: 100
    within: 60s
    actions: [{{file: {out}}}]
  - name: each
    on: deny
    actions: [{{file: {place / "each.jsonl"}}}]
""")
    port = free_port()
    m = Mount(store, place / "mnt", options=[f"policy={place / 'policy.yaml'}", f"metrics={port}"])
    try:
        script = FLOOD_OPENDIR.replace("while time.monotonic() < end:", "for _ in range(5):")
        attempts, other = map(int, as_test_user(script, str(m.path), "0").split())
        assert (attempts, other) == (500, 0)
        assert value(scrape(port), "auditfs_denies_total") == 500
        wait_until(lambda: out.exists() and out.read_text().strip(), what="the rate alert")
        m.unmount()
    finally:
        m.cleanup()
    [alert] = [json.loads(line) for line in out.read_text().splitlines()]
    assert (alert["event"], alert["count"], alert["uid"]) == ("deny-rate", 101, uid)
    # A plain deny rule fires on the lines written as their own (the first of a kind), not on every repeat.
    each = [json.loads(line) for line in (place / "each.jsonl").read_text().splitlines()]
    mine = [d for d in decision_lines(store) if d["uid"] == uid]
    assert sum(d.get("count", 1) for d in mine) == 500
    assert len(each) == len([d for d in mine if "count" not in d]) < 10


FLOOD_RENAME = """
import errno, os, sys, time
mountpoint, seconds = sys.argv[1], float(sys.argv[2])
os.chdir(mountpoint)
for _ in range(15):
    os.chdir("d" * 255)   # one name at a time: the whole path is longer than a syscall takes
pad = "t" * 200
attempts, other = 0, 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(20):
        try:
            os.rename("f", "%s-%d" % (pad, attempts + other))
            other += 1
        except PermissionError as e:
            attempts += e.errno == errno.EPERM
            other += e.errno != errno.EPERM
        except OSError:
            other += 1
print(attempts, other)
"""


def deep_directory(root, levels=15):
    """/ddd…/ddd…/… (15 names of 255 bytes: a 3.8 KB path) made through the
    mount, the last one 0777 with a file `f` in it."""
    name = "d" * 255
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(levels):
            os.mkdir(name, dir_fd=fd)
            if i == levels - 1:
                os.chmod(name, 0o777, dir_fd=fd)   # the user may rename in it: the kernel's mode check passes
            nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


def test_refused_rename_flood_of_4k_paths_is_bounded_by_the_budget(store, place):
    attempts, other, during, mine = flood(store, place, FLOOD_RENAME, 10, setup=deep_directory)
    assert other == 0 and attempts > 2 * BUDGET, (attempts, other)
    assert {(d["verb"], d["decision"], d["mountRule"]) for d in mine} == {("rename", "deny", "permanent-names")}
    assert sum(d.get("count", 1) for d in mine) == attempts
    whole = [d for d in mine if "count" not in d]
    assert len(whole[0]["path"]) > 3800 and len(whole[0]["target"]) > 4000
    summaries = [d for d in mine if d.get("folded") == "over-budget"]
    assert summaries and all(d["path"] == "" and 0 < len(d["paths"]) <= 4 for d in summaries)
    assert all(len(p.encode()) <= 256 for d in summaries for p in d["paths"])
    # The bound: at most BUDGET whole lines per 10 s interval (a 10 s flood spans at most two), each
    # ~8.5 KB, and a few summary lines. The old daemon wrote one ~8.5 KB line per attempt.
    line = max(len(json.dumps(d)) for d in whole) + 300
    assert len(whole) <= 2 * BUDGET
    assert during <= 2 * BUDGET * line + MiB, during
    print(f"\nrename flood: {attempts} refusals in 10 s, store +{during / MiB:.1f} MiB, {len(whole)} whole lines, "
          f"{len(summaries)} summaries; one line each would have been ~{attempts * line / MiB:.0f} MiB")


def write_until_full(path, chunk):
    """Appends `chunk`-sized blocks until a write fails; returns (bytes written, errno)."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                written += os.write(fd, b"x" * chunk)
            except OSError as e:
                return written, e.errno
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def test_disk_full_gives_enospc_readers_read_store_verifies_writes_resume(place):
    uid, _ = ensure_test_user()
    fs = place / "fs"
    fs.mkdir()
    run("mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", fs, check=True)
    m = None
    try:
        store = fs / "store"
        auditfs("init", store, check=True)
        m = Mount(store, place / "mnt", options=[f"policy={place / 'policy.yaml'}", "reserve=8M"])
        os.mkdir(m / "data")
        os.chmod(m / "data", 0o755)
        # 1. A writer outside /.audit stops at the reserve: ENOSPC, and 8 MiB stay free for the records.
        written, err = write_until_full(m / "data" / "big", MiB)
        assert err == errno.ENOSPC, errno.errorcode.get(err)
        assert written > 40 * MiB
        free = os.statvfs(fs).f_bavail * os.statvfs(fs).f_frsize
        assert 7 * MiB < free < 10 * MiB, free
        # Decisions are still written from the reserve: the user's denied ls.
        r = run("ls", m.path, user=TEST_USER)
        assert r.returncode != 0 and "Permission denied" in r.err, r.err
        # 2. Something else takes the rest of the file system: the disk is really full.
        _, err = write_until_full(fs / "filler", 64 * 1024)
        assert err == errno.ENOSPC
        write_until_full(fs / "filler", 512)
        with pytest.raises(OSError) as e:
            with open(m / "data" / "big", "ab", buffering=0) as f:
                f.write(b"y" * 4096)
        assert e.value.errno == errno.ENOSPC
        with pytest.raises(OSError) as e:
            open(m / "data" / "new", "wb").close()
        assert e.value.errno == errno.ENOSPC
        # Readers keep reading; a denial is still a denial (not EIO). (Each reader is its own
        # process, so its decision is its own line: the first few may still fit in the
        # segment's last page.)
        for _ in range(12):
            assert run("head", "-c", "16", m / "data" / "big", check=True).stdout == b"x" * 16
        with open(m / "data" / "big", "rb") as f:
            assert f.read(MiB) == b"x" * MiB
        assert os.listdir(m / "data") == ["big"]
        r = run("ls", m.path, user=TEST_USER)
        assert r.returncode != 0 and "Permission denied" in r.err, r.err
        # 3. Space returns: writing resumes.
        os.unlink(fs / "filler")
        with open(m / "data" / "big", "ab", buffering=0) as f:
            assert f.write(b"z" * 4096) == 4096
        open(m / "data" / "after", "wb").close()
        m.unmount()
        assert auditfs("verify", store).returncode == 0
        data = auditfs("cat", store, "/data/big", check=True).stdout
        assert len(data) == written + 4096 and data.endswith(b"z" * 4096)
        lines = decision_lines(store)
        unrecorded = [d for d in lines if d.get("folded") == "unrecorded"]
        # The read, the listing and the user's denial made while the disk was full are counted.
        assert any(d["uid"] == uid and d["decision"] == "deny" and d["verb"] == "list" for d in unrecorded), unrecorded
        assert any(d["uid"] == 0 and d["verb"] == "read" and d["decision"] == "grant" for d in unrecorded), unrecorded
        assert all(d["firstNs"] <= d["lastNs"] and d["count"] >= 1 for d in unrecorded)
        denials = [d for d in lines if d["uid"] == uid]
        assert sum(d.get("count", 1) for d in denials) == 2
        reads = [d for d in lines if d["uid"] == 0 and d["verb"] == "read" and d["path"] in ("/data/big", "")]
        assert sum(d.get("count", 1) for d in reads) == 13
    finally:
        if m is not None:
            m.cleanup()
        subprocess.run(["umount", "-l", str(fs)], capture_output=True)


@pytest.mark.parametrize("args, message", [
    (["--reserve", "99%"], "--reserve '99%': expected bytes"),
    (["-o", "reserve=1.5G"], "--reserve '1.5G': expected bytes"),
    (["--decision-budget", "0"], "--decision-budget '0': expected N or N/SECONDS"),
    (["-o", "decision-budget=10/99999999999"], "--decision-budget '10/99999999999': expected N or N/SECONDS"),
])
def test_bad_flood_limits_are_one_line_errors(store, place, args, message):
    (place / "mnt").mkdir()
    r = auditfs("mount", store, place / "mnt", *args, timeout=60)
    assert r.returncode == 1 and message in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert not os.path.ismount(place / "mnt")
