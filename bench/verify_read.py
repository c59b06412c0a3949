#!/usr/bin/env python3
"""The verify and read benchmarks of issue 13 (P4, P5), side by side in one
run on one machine, each against its reference:

  sudo bench/verify_read.py [--rounds 5] [--records 500000] [--read-mib 256] [--dir DIR]

P4  `auditfs verify STORE` against `openssl dgst -sha256` over the same
    segment bytes (STORE/segments/*), both warm in the page cache. The store
    is made through a mount: RECORDS write()s of nginx-like access-log lines
    (~150 B, one line a write) into one O_APPEND file, with the built-in
    policy (each open's decision recorded under /.audit). It is verified as
    the mount left it, caches (cache/index, cache/tree) included.
    Ratio: openssl's time / verify's time (goal >= 0.9).
P5  Sequential 1 MiB read()s (dd bs=1M) of a READ_MIB MiB file, each round
    a new open() of it, warm (read once before the rounds), through auditfs
    against the same file in a plain directory on the same disk, and a file
    of the same size in bench/nullfs.c (size=MIB: made in memory, its page
    cache kept), the FUSE read path's own ceiling.
    Ratio: auditfs MB/s / plain MB/s (goal >= 0.8).

Rounds are interleaved (reference, auditfs, reference, …); each ratio is of
the medians. The release binary is built as bench/bench.py builds it
(scratch path .build-fuse, unless AUDITFS_BIN_DIR names a directory holding
`auditfs`). As a module: `run(args)` returns one row a ratio, each a dict
with id, workload, reference, ratio, goal and detail; `add_arguments(parser)`
adds the options above (bench/bench.py reports the rows with its own).
"""
import argparse
import os
import pathlib
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mounts import ROOT, build_nullfs, daemon_pids, mounted, sh, wait_mounted  # noqa: E402




def auditfs_binary():
    """The release `auditfs`, built like bench/bench.py builds it."""
    if os.environ.get("AUDITFS_BIN_DIR"):
        return pathlib.Path(os.environ["AUDITFS_BIN_DIR"]) / "auditfs"
    sh("swift", "build", "-c", "release", "--scratch-path", ROOT / ".build-fuse", "--product", "auditfs", cwd=ROOT)
    return ROOT / ".build-fuse" / "release" / "auditfs"




def unmount(mountpoint):
    """Unmounts and waits for the daemon to sync and close the store."""
    daemons = daemon_pids(mountpoint)
    if mounted(mountpoint):
        subprocess.run(["fusermount3", "-u", str(mountpoint)])
    deadline = time.monotonic() + 60
    while any(os.path.exists(f"/proc/{p}") for p in daemons) and time.monotonic() < deadline:
        time.sleep(0.05)


def access_lines(count, seed=13):
    """`count` lines in nginx's combined format, ~150 bytes on average."""
    rnd = random.Random(seed)
    paths = ["/", "/index.html", "/api/v1/items", "/api/v1/items/42", "/static/app.js", "/static/style.css",
             "/login", "/healthz", "/favicon.ico", "/api/v1/orders?page=3"]
    agents = ["curl/7.88.1", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "kube-probe/1.29",
              "Go-http-client/1.1", "python-requests/2.31.0"]
    for i in range(count):
        ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        t = 1_700_000_000 + i // 50
        when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
        referer = rnd.choice(("-", "https://shop.example.com/catalog/", f"https://shop.example.com/catalog/page-{rnd.randrange(99)}?ref=home"))
        line = (f'{ip} - - [{when}] "GET {rnd.choice(paths)} HTTP/1.1" {rnd.choice((200, 200, 200, 304, 404))} '
                f'{rnd.randrange(100, 60000)} "{referer}" "{rnd.choice(agents)}"\n')
        yield line.encode()


def seconds(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def p4(args, auditfs, work):
    """auditfs verify vs openssl dgst -sha256 over the segments."""
    store, mnt = work / "p4-store", work / "p4-mnt"
    mnt.mkdir()
    sh(auditfs, "init", store, stdout=subprocess.DEVNULL)
    sh(auditfs, "mount", store, mnt)
    try:
        fd = os.open(mnt / "access.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            for line in access_lines(args.records):
                os.write(fd, line)
        finally:
            os.close(fd)
    finally:
        unmount(mnt)
    segments = sorted(str(p) for p in (store / "segments").iterdir())
    size = sum(os.path.getsize(p) for p in segments)
    for p in segments:   # warm
        with open(p, "rb") as f:
            while f.read(1 << 20):
                pass
    verify = [str(auditfs), "verify", str(store)]
    openssl = ["openssl", "dgst", "-sha256", *segments]
    check = subprocess.run(verify, capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"verify_read: verify of the P4 store failed: {check.stdout}{check.stderr}")
    times = {"openssl": [], "verify": []}
    for _ in range(args.rounds):
        times["openssl"].append(seconds(lambda: sh(*openssl, stdout=subprocess.DEVNULL)))
        times["verify"].append(seconds(lambda: sh(*verify, stdout=subprocess.DEVNULL)))
    o, v = statistics.median(times["openssl"]), statistics.median(times["verify"])
    return {"id": "P4", "workload": f"auditfs verify, {args.records:,} nginx-like lines (~150 B), {size / 1e6:.0f} MB of segments",
            "reference": "openssl dgst -sha256 over the same segment bytes", "ratio": o / v, "goal": 0.9,
            "detail": f"verify {v:.3f} s (min {min(times['verify']):.3f}), openssl {o:.3f} s "
                      f"(min {min(times['openssl']):.3f}), medians of {args.rounds} interleaved rounds"}


def read_all(path):
    """Reads `path` front to back in 1 MiB read()s with dd (a C reader: a
    Python loop is slower than the page cache it reads); returns (bytes,
    seconds) as dd measured them, without its start-up."""
    r = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=1M"], check=True, capture_output=True,
                       text=True, env={**os.environ, "LC_ALL": "C"})
    m = re.search(r"^(\d+) bytes .* copied, ([0-9.e+-]+) s", r.stderr, re.M)
    if not m:
        sys.exit(f"verify_read: dd said {r.stderr.strip()!r}")
    return int(m.group(1)), max(float(m.group(2)), 1e-9)


def p5(args, auditfs, work):
    """Warm sequential 1 MiB reads, auditfs vs a plain directory; nullfs
    (bench/nullfs.c size=MIB: a file of the same size made in memory, its
    page cache kept across opens) shows what the kernel's FUSE read path
    allows."""
    store, mnt, plain, null = work / "p5-store", work / "p5-mnt", work / "p5-plain", work / "p5-nullfs"
    for d in (mnt, plain, null):
        d.mkdir()
    sh(auditfs, "init", store, stdout=subprocess.DEVNULL)
    sh(auditfs, "mount", store, mnt)
    nullfs = subprocess.Popen([build_nullfs(), null, "single", f"size={args.read_mib}"])
    try:
        wait_mounted(null, nullfs)
        chunk = bytes(random.Random(5).randbytes(1 << 20))
        for target in (plain, mnt):
            fd = os.open(target / "big.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                for _ in range(args.read_mib):
                    os.write(fd, chunk)
            finally:
                os.close(fd)
        os.sync()
        want = args.read_mib << 20
        files = {"plain": plain / "big.bin", "auditfs": mnt / "big.bin", "nullfs": null / "big.bin"}
        for f in files.values():   # warm
            if read_all(f)[0] != want:
                sys.exit(f"verify_read: {f}: read back fewer than {want} bytes")
        rates = {t: [] for t in files}
        for _ in range(args.rounds):
            for t, f in files.items():
                n, s = read_all(f)
                if n != want:
                    sys.exit(f"verify_read: {f}: read {n} bytes, not {want}")
                rates[t].append(n / s)
        with open(files["auditfs"], "rb") as a, open(files["plain"], "rb") as p:
            if a.read() != p.read():
                sys.exit("verify_read: the file read through auditfs differs from the plain one")
    finally:
        unmount(mnt)
        unmount(null)
        nullfs.wait(timeout=30)
    a, p, z = (statistics.median(rates[t]) for t in ("auditfs", "plain", "nullfs"))
    return {"id": "P5", "workload": f"sequential 1 MiB read()s of a {args.read_mib} MiB file, warm, a new open each round",
            "reference": "the same file in a plain directory on the same disk", "ratio": a / p, "goal": 0.8,
            "detail": f"auditfs {a / 1e6:,.0f} MB/s (max {max(rates['auditfs']) / 1e6:,.0f}), plain {p / 1e6:,.0f} MB/s "
                      f"(max {max(rates['plain']) / 1e6:,.0f}); nullfs from memory {z / 1e6:,.0f} MB/s "
                      f"({z / p:.2f}× of plain: the FUSE read path's ceiling); medians of {args.rounds} interleaved rounds"}


DEFAULTS = {"rounds": 5, "records": 500_000, "read_mib": 256, "dir": None, "only": None}


def add_arguments(ap):
    ap.add_argument("--rounds", type=int, default=DEFAULTS["rounds"])
    ap.add_argument("--records", type=int, default=DEFAULTS["records"], help="P4: lines written into the verified store")
    ap.add_argument("--read-mib", type=int, default=DEFAULTS["read_mib"], help="P5: size of the file read")
    ap.add_argument("--dir", default=None, help="where the stores and the plain directory go (default /var/tmp)")
    ap.add_argument("--only", choices=("P4", "P5"), default=None, help="run one of the two")


def run(args, auditfs=None):
    """Runs P4 and P5 (or `args.only`); returns their rows. `args` may be
    another script's namespace: options it lacks take their defaults.
    `auditfs`: the binary to use (default: built as bench/bench.py does)."""
    if os.geteuid() != 0:
        sys.exit("verify_read: run as root (it mounts auditfs)")
    args = argparse.Namespace(**{k: getattr(args, k, v) for k, v in DEFAULTS.items()})
    auditfs = auditfs or auditfs_binary()
    work = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-verify-read-", dir=args.dir or "/var/tmp"))
    rows = []
    try:
        if args.only in (None, "P4"):
            rows.append(p4(args, auditfs, work))
        if args.only in (None, "P5"):
            rows.append(p5(args, auditfs, work))
    finally:
        for m in work.glob("*-mnt"):
            unmount(m)
        shutil.rmtree(work, ignore_errors=True)
    return rows


def report(rows):
    for r in rows:
        met = "met" if r["ratio"] >= r["goal"] else "NOT met"
        print(f"{r['id']}  {r['ratio']:.2f}x (goal >= {r['goal']}x, {met})  {r['workload']}; vs {r['reference']}")
        print(f"    {r['detail']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    report(run(ap.parse_args()))


if __name__ == "__main__":
    main()
