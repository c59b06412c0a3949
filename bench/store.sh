#!/usr/bin/env bash
# Store benchmarks, side by side in one run (report ratios; the machine is shared):
#  1. open a store of N small blocks with cache/index, and without it (replay);
#     peak memory of each;
#  2. `auditfs-check verify` against `openssl dgst -sha256` over the same
#     segment bytes, for small (64 B) and large (1 MiB) blocks.
# Usage: bench/store.sh [BLOCKS=10000000]   (needs ~3 GB in $TMPDIR for 10M)
set -euo pipefail
cd "$(dirname "$0")/.."
blocks=${1:-10000000}
swift build -c release --product store-bench >/dev/null
swift build -c release --product auditfs-check >/dev/null
bin=$PWD/.build/release
work=$(mktemp -d "${TMPDIR:-/tmp}/auditfs-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

t() { local s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }

echo "== $blocks blocks of 64 bytes in 1000 files"
"$bin/store-bench" generate "$work/small" "$blocks" 1000 64
"$bin/store-bench" open "$work/small"
mv "$work/small/cache" "$work/small-cache"
"$bin/store-bench" open "$work/small"          # no index: full replay
mv "$work/small-cache" "$work/small/cache"
cat "$work"/small/segments/* >/dev/null         # warm the page cache for both
tv=$(t "$bin/auditfs-check" verify "$work/small")
to=$(t openssl dgst -sha256 "$work"/small/segments/*)
echo "verify ${tv}s, openssl ${to}s over $(du -sh "$work/small/segments" | cut -f1): verify/openssl speed ratio $(echo "scale=2; $to / $tv" | bc)"
rm -rf "$work/small"

echo "== 1000 blocks of 1 MiB in 4 files"
"$bin/store-bench" generate "$work/big" 1000 4 1048576
cat "$work"/big/segments/* >/dev/null
tv=$(t "$bin/auditfs-check" verify "$work/big")
to=$(t openssl dgst -sha256 "$work"/big/segments/*)
echo "verify ${tv}s, openssl ${to}s: verify/openssl speed ratio $(echo "scale=2; $to / $tv" | bc)"
