#!/usr/bin/env python3
"""Query speed against grep and jq over the same JSONL (docs/QUERY.md).

Generates a store of N decisions over D days (bench/QueryGen, default 1
million over 30 days) and its JSONL export, builds the query index once,
then times, as medians of R runs each (warm page cache):
  - a one-hour window:   auditfs query --since/--until   vs  grep -h '"time":"YYYY-MM-DDTHH'  vs  jq select(timeNs in range)
  - one user:            auditfs query --user U          vs  grep -h '"user":"U"'               vs  jq select(.user==U)
  - denials of one user in one day (--user --decision deny --since --until)
and prints the ratios (grep time / query time). No timed assertions.
Usage: bench/query.py [--count N] [--days D] [--runs R] [--bin DIR] [--keep DIR]
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def timed(cmd, runs, shell=False):
    times, out = [], b""
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, shell=shell, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        if p.returncode not in (0, 1):
            sys.exit(f"{cmd}: exit {p.returncode}: {p.stderr.decode()}")
        out = p.stdout
    return statistics.median(times), out.count(b"\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release"))
    ap.add_argument("--keep", help="reuse/keep the generated data in this directory")
    a = ap.parse_args()
    auditfs, gen = os.path.join(a.bin, "auditfs"), os.path.join(a.bin, "query-gen")
    work = pathlib.Path(a.keep) if a.keep else pathlib.Path(tempfile.mkdtemp(prefix="auditfs-qbench-"))
    store, export = work / "store", work / "jsonl"
    end = 1_795_730_400_000_000_000   # 2026-11-26T22:00:00Z
    if not (store / "auditfs-store").exists():
        t0 = time.perf_counter()
        subprocess.run([gen, store, export, str(a.count), str(a.days), "1", str(end)], check=True)
        print(f"generated {a.count} decisions over {a.days} days in {time.perf_counter() - t0:.1f} s")
    files = sorted(str(p) for p in export.glob("*.jsonl"))
    size = sum(os.path.getsize(f) for f in files)
    print(f"JSONL: {len(files)} files, {size / 1e6:.0f} MB; store {sum(p.stat().st_size for p in (store / 'segments').glob('*')) / 1e6:.0f} MB")
    shutil.rmtree(store / "cache" / "query", ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([auditfs, "query", store, "--uid", "1"], check=True, stdout=subprocess.DEVNULL)
    print(f"index build (first query): {time.perf_counter() - t0:.2f} s")
    # Warm the page cache for everyone.
    subprocess.run(["cat"] + files, stdout=subprocess.DEVNULL)

    hour_start = end - 10 * 24 * 3600 * 10**9 - 5 * 3600 * 10**9
    hour = time.strftime("%Y-%m-%dT%H", time.gmtime(hour_start // 10**9))
    since = hour + ":00:00Z"
    until = time.strftime("%Y-%m-%dT%H", time.gmtime(hour_start // 10**9 + 3600)) + ":00:00Z"
    day_files = [f for f in files if os.path.basename(f).startswith(hour[:10])]
    cases = [
        ("one hour", ["--since", since, "--until", until], f"grep -h '\"time\":\"{hour}' {' '.join(day_files)}",
         f"grep -h '' {' '.join(files)} | jq -c 'select(.timeNs >= {hour_start} and .timeNs < {hour_start + 3600 * 10**9})'",
         f"grep -h '\"time\":\"{hour}' {' '.join(files)}"),
        ("one user (user20, ~0.5%)", ["--user", "user20"], f"grep -h '\"user\":\"user20\"' {' '.join(files)}",
         f"jq -c 'select(.user == \"user20\")' {' '.join(files)}", None),
        ("one user (user00, ~22%)", ["--user", "user00"], f"grep -h '\"user\":\"user00\"' {' '.join(files)}",
         f"jq -c 'select(.user == \"user00\")' {' '.join(files)}", None),
        ("user20's denials in a day", ["--user", "user20", "--decision", "deny", "--since", hour[:10], "--until", hour[:10] + "T23:59:59.999999999Z"],
         f"grep -h '\"decision\":\"deny\"' {' '.join(day_files)} | grep '\"user\":\"user20\"'",
         f"jq -c 'select(.user == \"user20\" and .decision == \"deny\")' {' '.join(day_files)}", None),
    ]
    print(f"\n{'query':28} {'auditfs':>9} {'grep':>9} {'jq':>9} {'rows':>8}  grep/auditfs  jq/auditfs")
    for name, args, grep, jq, grep_all in cases:
        tq, nq = timed([auditfs, "query", str(store), "--json"] + args, a.runs)
        tg, ng = timed(grep, a.runs, shell=True)
        tj, nj = timed(jq, max(1, a.runs // 2), shell=True)
        print(f"{name:28} {tq * 1000:7.0f}ms {tg * 1000:7.0f}ms {tj * 1000:7.0f}ms {nq:8}  {tg / tq:11.2f}x {tj / tq:10.1f}x")
        if grep_all:
            ta, _ = timed(grep_all, a.runs, shell=True)
            print(f"{'  (grep over every file)':28} {'':9} {ta * 1000:7.0f}ms {'':9} {'':8}  {ta / tq:11.2f}x")
        if nq != ng and "user00" not in name:
            print(f"  note: auditfs found {nq} rows, grep {ng}")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
