#!/usr/bin/env python3
"""The mount benchmark: in one run on one machine, appends through auditfs
against the same appends into a plain directory and through nullfs (a C
FUSE file system that discards writes: the FUSE round-trip limit).

  sudo bench/bench.py [--rounds 5] [--small-count 50000] [--large-mib 256] [--dir DIR]

Builds auditfs (release, scratch path .build-fuse unless AUDITFS_BIN_DIR is
set), nullfs.c and appendbench.c, mounts both file systems, then runs each
workload on each target in interleaved rounds and reports medians:

  200 B        SMALL_COUNT write()s of 200 bytes, one each, on an O_APPEND fd
  1 MiB        LARGE_MIB write()s of 1 MiB on an O_APPEND fd (into the page cache)
  1 MiB+fsync  the same, ending with fsync() inside the timed part (on disk)

Targets: plain directory; nullfs (write-through, the minimal FUSE fs);
nullfs-dio (nullfs opening write handles with direct I/O, as auditfs does);
auditfs (the built-in policy, every decision recorded under /.audit);
auditfs-policy (200 B only: the same with a 100-rule policy loaded, whose
only granting rule is the last one tried, and group subjects, so each open
also reads the caller's supplementary groups). The ratios the README reports: auditfs over the faster nullfs for
200 B appends (target >= 0.9) and auditfs over plain for 1 MiB appends
(target >= 0.8), both without and with the final fsync.
Every file lives on the file system of --dir (default: a new directory under
/var/tmp), so the plain directory and the store share a disk.
"""
import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split(" ")[4] == path for line in f)


def wait_mounted(path, proc=None, timeout=20):
    deadline = time.monotonic() + timeout
    while not mounted(path):
        if proc is not None and proc.poll() is not None:
            sys.exit(f"bench: {path}: mount exited with {proc.returncode}")
        if time.monotonic() > deadline:
            sys.exit(f"bench: {path} did not mount")
        time.sleep(0.02)
    os.stat(path)   # answered by the daemon once INIT is done


def build(args):
    OUT.mkdir(parents=True, exist_ok=True)
    cflags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], check=True, capture_output=True,
                            text=True).stdout.split()
    sh("cc", "-O2", "-Wall", ROOT / "bench" / "nullfs.c", *cflags, "-o", OUT / "nullfs")
    sh("cc", "-O2", "-Wall", ROOT / "bench" / "appendbench.c", "-o", OUT / "appendbench")
    if os.environ.get("AUDITFS_BIN_DIR"):
        return pathlib.Path(os.environ["AUDITFS_BIN_DIR"]) / "auditfs"
    sh("swift", "build", "-c", "release", "--scratch-path", ROOT / ".build-fuse", "--product", "auditfs", cwd=ROOT)
    return ROOT / ".build-fuse" / "release" / "auditfs"


def hundred_rule_policy(path):
    """100 rules: 99 that never match the bench's paths, then the one that
    grants; subjects include groups (so decisions read supplementary groups)."""
    lines = ["apiVersion: auditfs/v1", "roles:"]
    for i in range(99):
        lines += [f"  - name: service-{i}", "    rules:",
                  f'      - paths: ["/service-{i}/**", "/var/service-{i}/*.log"]', "        verbs: [create, append, mkdir]"]
    lines += ["  - name: bench", "    rules:", '      - paths: ["/**"]', "        verbs: [create, append, read, list]",
              "bindings:"]
    for i in range(99):
        lines += [f"  - role: service-{i}", f"    subjects: [{{gid: {20000 + i}}}, {{uid: {30000 + i}}}]"]
    lines += ["  - role: bench", "    subjects: [{group: root}, {user: root}]", ""]
    path.write_text("\n".join(lines))
    return path


def run_writer(path, size, count, sync):
    cmd = [OUT / "appendbench", path, str(size), str(count)] + (["fsync"] if sync else [])
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return float(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small-count", type=int, default=50_000)
    ap.add_argument("--large-mib", type=int, default=256)
    ap.add_argument("--dir", default=None, help="where the plain directory and the store go (default /var/tmp)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it mounts FUSE file systems)")
    auditfs = build(args)

    work = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-bench-", dir=args.dir or "/var/tmp"))
    plain, store, amnt, nmnt, dmnt = (work / n for n in ("plain", "store", "auditfs", "nullfs", "nullfs-dio"))
    pstore, pmnt = work / "store-policy", work / "auditfs-policy"
    for d in (plain, amnt, nmnt, dmnt, pmnt):
        d.mkdir()
    sh(auditfs, "init", store, stdout=subprocess.DEVNULL)
    sh(auditfs, "init", pstore, stdout=subprocess.DEVNULL)
    policy = hundred_rule_policy(work / "policy-100.yaml")
    nullfs = [subprocess.Popen([OUT / "nullfs", nmnt]), subprocess.Popen([OUT / "nullfs", dmnt, "direct_io"])]
    try:
        wait_mounted(nmnt, nullfs[0])
        wait_mounted(dmnt, nullfs[1])
        sh(auditfs, "mount", store, amnt)
        sh(auditfs, "mount", pstore, pmnt, "--policy", policy)
        targets = {"plain": plain, "nullfs": nmnt, "nullfs-dio": dmnt, "auditfs": amnt, "auditfs-policy": pmnt}
        workloads = {"200 B": (200, args.small_count, False), "1 MiB": (1 << 20, args.large_mib, False),
                     "1 MiB+fsync": (1 << 20, args.large_mib, True)}
        def measured(w, t):
            return t != "auditfs-policy" or w == "200 B"
        results = {(w, t): [] for w in workloads for t in targets if measured(w, t)}
        for r in range(args.rounds):
            for w, (size, count, sync) in workloads.items():
                for t, base in targets.items():
                    if not measured(w, t):
                        continue
                    path = base / f"{w.replace(' ', '').replace('+', '-')}-{r}.log"
                    os.sync()   # start each run with no dirty pages from the one before
                    seconds = run_writer(path, size, count, sync)
                    results[(w, t)].append(size * count / seconds)
        print(f"{'workload':12} {'target':10} {'median':>14} {'min':>14} {'max':>14}   ({args.rounds} rounds)")
        for (w, t), rates in results.items():
            size = workloads[w][0]
            if size < 4096:
                fmt = lambda v: f"{v / size:,.0f} w/s"
            else:
                fmt = lambda v: f"{v / 1e6:,.0f} MB/s"
            print(f"{w:12} {t:10} {fmt(statistics.median(rates)):>14} {fmt(min(rates)):>14} {fmt(max(rates)):>14}")

        def ratio(w, a, b):
            return statistics.median(results[(w, a)]) / statistics.median(results[(w, b)])
        null = max(("nullfs", "nullfs-dio"), key=lambda t: statistics.median(results[("200 B", t)]))
        print(f"200 B appends:       auditfs/{null} = {ratio('200 B', 'auditfs', null):.2f} (target >= 0.9)"
              f"   auditfs/nullfs = {ratio('200 B', 'auditfs', 'nullfs'):.2f}"
              f"   auditfs/nullfs-dio = {ratio('200 B', 'auditfs', 'nullfs-dio'):.2f}"
              f"   auditfs/plain = {ratio('200 B', 'auditfs', 'plain'):.3f}")
        print(f"200 B appends, 100-rule policy: auditfs-policy/auditfs = "
              f"{ratio('200 B', 'auditfs-policy', 'auditfs'):.2f}"
              f"   auditfs-policy/{null} = {ratio('200 B', 'auditfs-policy', null):.2f} (target >= 0.9)")
        for w in ("1 MiB", "1 MiB+fsync"):
            print(f"{w + ' appends:':20} auditfs/plain = {ratio(w, 'auditfs', 'plain'):.2f} (target >= 0.8)"
                  f"   auditfs/nullfs-dio = {ratio(w, 'auditfs', 'nullfs-dio'):.2f}")
    finally:
        daemons = daemon_pids(amnt) + daemon_pids(pmnt)
        for m in (amnt, pmnt, nmnt, dmnt):
            if mounted(m):
                subprocess.run(["fusermount3", "-u", m])
        for p in nullfs:
            p.wait(timeout=30)
        deadline = time.monotonic() + 60   # the daemon syncs and closes the store after unmount
        while any(os.path.exists(f"/proc/{p}") for p in daemons) and time.monotonic() < deadline:
            time.sleep(0.05)
    for s in (store, pstore):
        ok = subprocess.run([auditfs, "verify", s], capture_output=True)
        print(f"verify {s.name} after the run:", "ok" if ok.returncode == 0 else ok.stderr.decode().strip())
    shutil.rmtree(work, ignore_errors=True)


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

if __name__ == "__main__":
    main()
