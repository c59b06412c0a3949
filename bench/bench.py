#!/usr/bin/env python3
"""The mount benchmark (issue 13): every ratio the issue sets a goal for, in
one run on one machine, in interleaved rounds, reported as medians.

  sudo bench/bench.py [--rounds 5] [--small-count 50000] [--sync-count 2000]
                      [--shared-count 1000] [--node-lines 2000] [--large] [--policy] [--dir DIR]

Builds auditfs (release, scratch path .build-fuse unless AUDITFS_BIN_DIR is
set), nullfs.c and appendbench.c, mounts the file systems, and runs, in each
round, every workload on every target it is measured on:

  P1   200 B       SMALL_COUNT write()s of 200 bytes, one each, on an O_APPEND fd;
                   auditfs against the fastest null FUSE configuration (nullfs.c:
                   multithreaded, single-threaded, clone_fd; with and without
                   direct I/O on write handles)
  P3   200 B+sync  SYNC_COUNT appends of 200 bytes, each followed by fdatasync():
                   one writer, and 8 writers one file each; auditfs against a
                   plain directory on the same disk; nullfs-sync (nullfs.c
                   backing=FILE: appends to one file there, syncs it at each
                   fsync) shows what FUSE's round trips leave
  P7   shared      32 processes appending SHARED_COUNT lines of 200 bytes each to
                   one O_APPEND file; auditfs's aggregate against auditfs's own
                   one writer (P1's auditfs run); every line is then read back
                   and checked: none lost, none torn. The same on nullfs-dio-single
                   against its own one writer: the bound the kernel sets
  node             Node's fs.appendFileSync (open, write, close per line),
                   NODE_LINES lines: auditfs against a plain directory, and the
                   bytes of decisions recorded per byte of log (no goal: the
                   decision log's cost, docs/MOUNT.md "Benchmark")
  --large          also 1 MiB appends (256 MiB, without and with a final fsync)
                   against a plain directory and nullfs
  --policy         also P1 with a 100-rule policy (auditfs-policy)

P4 (verify) and P5 (reads) come from bench/verify_read.py when it is there:
its `run(args)` returns rows like these (id, workload, reference, ratio, goal,
detail); it runs its own interleaved rounds.

Every file lives on the file system of --dir (default: a new directory under
/var/tmp), so the plain directory and the store share a disk. The summary
table at the end is what the README's performance table shows.
"""
import argparse
import importlib.util
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mounts import OUT, ROOT, build_nullfs, daemon_pids, mounted, sh, wait_mounted  # noqa: E402


# P7 is also run on this null FUSE configuration: the ratio the kernel allows
# 32 writers of one file against one writer when the daemon does nothing.
P7_NULL = "nullfs-dio-single"

# P3's FUSE reference: nullfs (direct I/O, auditfs's one-reader loop) that
# appends each write to a file on the same disk and syncs it at each fsync.
P3_NULL = "nullfs-sync"

# The null FUSE configurations P1 compares against (bench/nullfs.c arguments).
NULL_CONFIGS = {
    "nullfs": [],
    "nullfs-dio": ["direct_io"],
    "nullfs-single": ["single"],
    "nullfs-dio-single": ["direct_io", "single"],
    "nullfs-clone": ["clone_fd"],
    "nullfs-dio-clone": ["direct_io", "clone_fd"],
    "nullfs-dio-leader": ["direct_io", "leader"],
}

NODE_SCRIPT = r"""
const fs = require('fs');
const [path, n] = [process.argv[2], Number(process.argv[3])];
const line = 'x'.repeat(199) + '\n';
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) fs.appendFileSync(path, line);
console.log(Number(process.hrtime.bigint() - t0) / 1e9);
"""




def build(args):
    build_nullfs()
    sh("cc", "-O2", "-Wall", ROOT / "bench" / "appendbench.c", "-o", OUT / "appendbench")
    (OUT / "append-file-sync.js").write_text(NODE_SCRIPT)
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


def run_writer(path, size, count, *extra):
    r = subprocess.run([OUT / "appendbench", path, str(size), str(count), *extra], check=True,
                       capture_output=True, text=True)
    return float(r.stdout)


def check_lines(path, writers, count, size):
    """Every writer's COUNT lines, each whole and in its writer's order: (lost, torn)."""
    data = pathlib.Path(path).read_bytes()
    seen = [0] * writers
    torn = 0
    pattern = re.compile(rb"w(\d{3}) (\d{10}) ")
    for line in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        m = pattern.match(line)
        if len(line) != size - 1 or not m or int(m.group(1)) >= writers or int(m.group(2)) != seen[int(m.group(1))]:
            torn += 1
            continue
        seen[int(m.group(1))] += 1
    return writers * count - sum(seen), torn


def tree_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def load_verify_read():
    path = ROOT / "bench" / "verify_read.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("verify_read", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small-count", type=int, default=50_000)
    ap.add_argument("--sync-count", type=int, default=2_000)
    ap.add_argument("--shared-count", type=int, default=1_000, help="lines per process for P7 (32 processes)")
    ap.add_argument("--node-lines", type=int, default=2_000)
    ap.add_argument("--large", action="store_true", help="also 1 MiB appends")
    ap.add_argument("--large-mib", type=int, default=256)
    ap.add_argument("--policy", action="store_true", help="also P1 with a 100-rule policy")
    ap.add_argument("--before", default=None, metavar="BIN",
                    help="another auditfs binary (an earlier build) measured beside this one as auditfs-before")
    ap.add_argument("--only", default=None, help="comma-separated: P1,P3,P7,node,P4,P5 (default all)")
    ap.add_argument("--dir", default=None, help="where the plain directory and the store go (default /var/tmp)")
    ap.add_argument("--records", type=int, default=None, help="P4: lines written into the verified store (verify_read.py)")
    ap.add_argument("--read-mib", type=int, default=None, help="P5: size of the file read (verify_read.py)")
    verify_read = load_verify_read()
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it mounts FUSE file systems)")
    only = set(args.only.split(",")) if args.only else {"P1", "P3", "P7", "node", "P4", "P5"}
    auditfs = build(args)
    args.auditfs = auditfs
    node = shutil.which("node")

    work = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-bench-", dir=args.dir or "/var/tmp"))
    plain, store, amnt = work / "plain", work / "store", work / "auditfs"
    pstore, pmnt = work / "store-policy", work / "auditfs-policy"
    bstore, bmnt = work / "store-before", work / "auditfs-before"
    for d in (plain, amnt, pmnt, bmnt):
        d.mkdir()
    sh(auditfs, "init", store, stdout=subprocess.DEVNULL)
    nulls = {name: work / name for name in NULL_CONFIGS}
    procs = []
    daemons = []
    rows = []
    try:
        for name, extra in NULL_CONFIGS.items():
            nulls[name].mkdir()
            procs.append(subprocess.Popen([OUT / "nullfs", nulls[name], *extra]))
            wait_mounted(nulls[name], procs[-1])
        sh(auditfs, "mount", store, amnt)
        daemons += daemon_pids(amnt)
        targets = {"plain": plain, "auditfs": amnt, **nulls}
        if "P3" in only:
            # P3's FUSE reference: nullfs with auditfs's loop, keeping the bytes in
            # a file on the same disk and syncing it at each fsync.
            sync_null = work / P3_NULL
            sync_null.mkdir()
            procs.append(subprocess.Popen([OUT / "nullfs", sync_null, "direct_io", "leader",
                                           f"backing={work / 'nullfs-backing.log'}"]))
            wait_mounted(sync_null, procs[-1])
            nulls[P3_NULL] = sync_null
            targets[P3_NULL] = sync_null
        mine = ["auditfs"]
        if args.before:
            sh(args.before, "init", bstore, stdout=subprocess.DEVNULL)
            sh(args.before, "mount", bstore, bmnt)
            daemons += daemon_pids(bmnt)
            targets["auditfs-before"] = bmnt
            mine.append("auditfs-before")
        if args.policy:
            sh(auditfs, "init", pstore, stdout=subprocess.DEVNULL)
            sh(auditfs, "mount", pstore, pmnt, "--policy", hundred_rule_policy(work / "policy-100.yaml"))
            daemons += daemon_pids(pmnt)
            targets["auditfs-policy"] = pmnt

        # workload -> (targets, runner(path) -> writes (or bytes) per second)
        workloads = {}
        if "P1" in only or "P7" in only:
            p1 = ["plain", *mine] + (list(NULL_CONFIGS) + (["auditfs-policy"] if args.policy else [])
                                         if "P1" in only else [P7_NULL])
            workloads["200 B"] = (p1, lambda p: args.small_count / run_writer(p, 200, args.small_count))
        if "P3" in only:
            workloads["200 B+fdatasync"] = (["plain", *mine, P3_NULL],
                                            lambda p: args.sync_count / run_writer(p, 200, args.sync_count, "datasync-each"))
            workloads["200 B+fdatasync x8"] = (["plain", *mine, P3_NULL],
                                               lambda p: 8 * args.sync_count / run_writer(p, 200, args.sync_count,
                                                                                          "datasync-each", "procs=8"))
        shared_checks = []
        if "P7" in only:
            def shared(p):
                seconds = run_writer(p, 200, args.shared_count, "procs=32", "shared")
                if not str(p).startswith(str(nulls[P7_NULL]) + "/"):   # nullfs keeps no bytes to check
                    shared_checks.append(check_lines(p, 32, args.shared_count, 200))
                return 32 * args.shared_count / seconds
            workloads["200 B x32 one file"] = ([*mine, P7_NULL], shared)
        decisions = []
        if "node" in only and node:
            def node_run(p):
                mnt = next((targets[t] for t in mine if str(p).startswith(str(targets[t]) + "/")), None)
                audit = mnt / ".audit" / "decisions" if mnt else None
                before = tree_bytes(audit) if mnt else 0
                r = subprocess.run([node, OUT / "append-file-sync.js", p, str(args.node_lines)], check=True,
                                   capture_output=True, text=True)
                if mnt == amnt:
                    decisions.append((tree_bytes(audit) - before) / (200 * args.node_lines))
                return args.node_lines / float(r.stdout)
            workloads["node appendFileSync"] = (["plain", *mine], node_run)
        if args.large:
            for w, sync in (("1 MiB", ()), ("1 MiB+fsync", ("fsync",))):
                workloads[w] = (["plain", "nullfs-dio", "auditfs"],
                                lambda p, sync=sync: args.large_mib / run_writer(p, 1 << 20, args.large_mib, *sync))

        results = {(w, t): [] for w, (ts, _) in workloads.items() for t in ts}
        for r in range(args.rounds):
            for w, (ts, runner) in workloads.items():
                for t in ts:
                    path = targets[t] / f"{re.sub(r'[^A-Za-z0-9]+', '-', w)}-{r}.log"
                    os.sync()   # start each run with no dirty pages from the one before
                    results[(w, t)].append(runner(path))

        print(f"{'workload':22} {'target':18} {'median':>12} {'min':>12} {'max':>12}   ({args.rounds} rounds)")
        for (w, t), rates in results.items():
            unit = "MB/s" if w.startswith("1 MiB") else "/s"
            scale = 1.048576 if unit == "MB/s" else 1
            print(f"{w:22} {t:18} {statistics.median(rates) * scale:>10,.0f}{unit:>2} "
                  f"{min(rates) * scale:>10,.0f}{unit:>2} {max(rates) * scale:>10,.0f}{unit:>2}")

        def med(w, t):
            return statistics.median(results[(w, t)])

        def ratio(w, a, b):
            return med(w, a) / med(w, b)

        def before(w, reference):
            """The earlier build's ratio against the same reference, in the same rounds."""
            return f"; before: {ratio(w, 'auditfs-before', reference):.2f}×" if args.before else ""

        if "P1" in only:
            best = max(NULL_CONFIGS, key=lambda t: med("200 B", t))
            others = ", ".join(f"{t} {ratio('200 B', 'auditfs', t):.2f}" for t in NULL_CONFIGS if t != best)
            rows.append(dict(id="P1", workload="200 B O_APPEND writes, one writer",
                             reference=f"fastest null FUSE fs ({best}, {med('200 B', best):,.0f} w/s)",
                             ratio=ratio("200 B", "auditfs", best), goal=0.90,
                             detail=f"auditfs {med('200 B', 'auditfs'):,.0f} w/s; against {others}" + before("200 B", best)))
            if args.policy:
                rows.append(dict(id="P1-policy", workload="P1 with a 100-rule policy", reference="auditfs",
                                 ratio=ratio("200 B", "auditfs-policy", "auditfs"), goal=None, detail=""))
        if "P3" in only:
            for w, n, goal in (("200 B+fdatasync", "one writer", 0.90), ("200 B+fdatasync x8", "8 writers, one file each", 1.0)):
                rows.append(dict(id="P3", workload=f"200 B append + fdatasync, {n}", reference="plain directory, same disk",
                                 ratio=ratio(w, "auditfs", "plain"), goal=goal,
                                 detail=f"auditfs {med(w, 'auditfs'):,.0f}/s, plain {med(w, 'plain'):,.0f}/s; "
                                        f"{P3_NULL} (a null FUSE fs that appends to a file and syncs it) "
                                        f"{ratio(w, P3_NULL, 'plain'):.2f}× of plain" + before(w, "plain")))
        if "P7" in only:
            lost = sum(c[0] for c in shared_checks)
            torn = sum(c[1] for c in shared_checks)
            rows.append(dict(id="P7", workload="32 processes appending 200 B lines to one O_APPEND file",
                             reference=f"auditfs, one writer ({med('200 B', 'auditfs'):,.0f} w/s)",
                             ratio=med("200 B x32 one file", "auditfs") / med("200 B", "auditfs"),
                             goal=0.80,
                             detail=f"aggregate {med('200 B x32 one file', 'auditfs'):,.0f} w/s; "
                                    f"{lost} lines lost, {torn} torn in {len(shared_checks)} runs; "
                                    f"the same on {P7_NULL} (the kernel's one WRITE at a time per inode, "
                                    f"no daemon work): {med('200 B x32 one file', P7_NULL) / med('200 B', P7_NULL):.2f}× "
                                    f"of its one writer"
                                    + (f"; before: {med('200 B x32 one file', 'auditfs-before') / med('200 B', 'auditfs-before'):.2f}×"
                                       if args.before else "")))
        if "node" in only and node:
            rows.append(dict(id="node", workload="Node fs.appendFileSync, one open per 200 B line",
                             reference="plain directory", ratio=ratio("node appendFileSync", "auditfs", "plain"),
                             goal=None,
                             detail=f"auditfs {med('node appendFileSync', 'auditfs'):,.0f} lines/s, plain "
                                    f"{med('node appendFileSync', 'plain'):,.0f}; decisions recorded: "
                                    f"{statistics.median(decisions):.2f} bytes per byte of log"
                                    + before("node appendFileSync", "plain")))
        if args.large:
            for w in ("1 MiB", "1 MiB+fsync"):
                rows.append(dict(id="large", workload=f"{w} appends", reference="plain directory",
                                 ratio=ratio(w, "auditfs", "plain"), goal=None,
                                 detail=f"auditfs/nullfs-dio {ratio(w, 'auditfs', 'nullfs-dio'):.2f}"))
    finally:
        daemons = daemons or daemon_pids(amnt) + daemon_pids(pmnt) + daemon_pids(bmnt)
        for m in (amnt, pmnt, bmnt, *nulls.values()):
            if mounted(m):
                subprocess.run(["fusermount3", "-u", m])
        for p in procs:
            p.wait(timeout=30)
        deadline = time.monotonic() + 60   # the daemon syncs and closes the store after unmount
        while any(os.path.exists(f"/proc/{p}") for p in daemons) and time.monotonic() < deadline:
            time.sleep(0.05)
    for s in (store, pstore, bstore):
        if s.exists():
            ok = subprocess.run([auditfs if s != bstore else args.before, "verify", s], capture_output=True)
            print(f"verify {s.name} after the run:", "ok" if ok.returncode == 0 else ok.stderr.decode().strip())
    shutil.rmtree(work, ignore_errors=True)

    if verify_read is not None and ({"P4", "P5"} & only):
        # verify_read.py's options: ours where they share a name; None takes its default.
        theirs = argparse.Namespace(rounds=args.rounds, dir=args.dir,
                                    only=None if {"P4", "P5"} <= only else ("P4" if "P4" in only else "P5"),
                                    **{k: v for k, v in (("records", args.records), ("read_mib", args.read_mib)) if v is not None})
        rows += verify_read.run(theirs, auditfs=auditfs)
    elif verify_read is None:
        print("bench/verify_read.py is not there: no P4, P5")

    print()
    print("| id | workload | reference | ratio | goal | detail |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        goal = row.get("goal")
        met = "" if goal is None else (" (met)" if row["ratio"] >= goal else " (**not met**)")
        print(f"| {row['id']} | {row['workload']} | {row['reference']} | {row['ratio']:.2f}×{met} | "
              f"{'' if goal is None else f'≥ {goal:.2f}×'} | {row.get('detail', '')} |")
    (OUT / "last-run.json").write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=1))



if __name__ == "__main__":
    main()
