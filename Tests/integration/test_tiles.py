"""`auditfs tiles`: the store's tree as C2SP tlog-tiles (FORMAT.md "Tiles"),
read by a client written with Go's golang.org/x/mod/sumdb/tlog (code nobody
here wrote: Tests/integration/tlog/tiles_client.go), which checks every tile
against the checkpoint's root and recomputes inclusion and consistency
proofs from the tiles alone."""
import hashlib
import os
import pathlib
import shutil

import pytest

from conftest import auditfs, go_run
from mountlib import Mount, ensure_test_user
from test_trust_signing import frames

def go_client(directory, *args, tmp_path):
    return go_run("tiles_client.go", directory, *args, tmp_path=tmp_path)


def append_lines(store, mountpoint, lines):
    """Mounts `store` (no interval checkpoints), appends each line with its own write, unmounts (the last checkpoint)."""
    m = Mount(store, mountpoint, args=["--checkpoint-interval", "0"])
    try:
        with open(m.path / "access.log", "ab", buffering=0) as f:
            for line in lines:
                f.write(line)
    finally:
        m.unmount()


def checkpoint_of(directory):
    lines = (pathlib.Path(directory) / "checkpoint").read_text().split("\n")
    return int(lines[1]), lines[2]


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    """A store past 65,536 records, so that it has full tiles at levels 0 and 1 and a partial one at level 2."""
    base = tmp_path_factory.mktemp("tiles")
    base.chmod(0o755)
    store = base / "store"
    auditfs("init", store, check=True)
    append_lines(store, base / "mnt", (b"10.0.0.1 - - GET /%d 200\n" % i for i in range(66_000)))
    return store


def test_a_go_tlog_client_recomputes_every_proof_from_the_tiles(big_store, tmp_path):
    tiles = tmp_path / "tiles"
    r = auditfs("tiles", big_store, tiles)
    assert r.returncode == 0, r.err
    size, root = checkpoint_of(tiles)
    assert size > 65_536
    # Full tiles at levels 0 and 1, partial ones on the right edge; 34-byte entries.
    assert (tiles / "tile/0/000").stat().st_size == 8192 and (tiles / "tile/1/000").stat().st_size == 8192
    assert size % 256 == 0 or (tiles / f"tile/0/{size // 256:03d}.p/{size % 256}").stat().st_size == 32 * (size % 256)
    assert (tiles / "tile/2/000.p/1").stat().st_size == 32
    assert (tiles / "tile/entries/000").stat().st_size == 256 * 34
    # Level 0 is the tree cache's level-00 file, byte for byte.
    assert (tiles / "tile/0/000").read_bytes() == (big_store / "cache/tree/level-00").read_bytes()[:8192]
    indexes = [0, 1, 255, 256, 65_535, 65_536, size - 1]
    c = go_client(tiles, "-old", 1, "-old", 300, "-old", 65_536, *indexes, tmp_path=tmp_path)
    assert c.returncode == 0 and c.out.splitlines()[-1].startswith(f"ok: tree of {size}, 7 inclusion and 3 consistency"), c.out + c.err
    # Each entry is its record's hash: the SHA-256 of the record's header in the segment.
    segment = sorted((big_store / "segments").iterdir())[0]
    _, records = frames(segment)
    entries = {int(l.split()[1]): l.split()[2] for l in c.out.splitlines() if l.startswith("entry ")}
    for i in indexes:
        assert entries[i] == hashlib.sha256(records[i][0]).hexdigest(), i


def test_tiles_grow_with_the_log_and_prove_it_consistent(big_store, tmp_path):
    tiles = tmp_path / "tiles"
    assert auditfs("tiles", big_store, tiles).returncode == 0
    old_size, old_root = checkpoint_of(tiles)
    grown = tmp_path / "grown"
    shutil.copytree(big_store, grown)
    append_lines(grown, tmp_path / "mnt", (b"more %d\n" % i for i in range(600)))
    r = auditfs("tiles", grown, tiles)
    assert r.returncode == 0, r.err
    kept = int(r.out.split(" full one(s) kept")[0].rsplit(", ", 1)[1])
    assert kept >= 257 + 257, r.out   # every full tile and bundle of before stays
    size, root = checkpoint_of(tiles)
    assert size > old_size + 600
    c = go_client(tiles, "-old", old_size, old_size, size - 1, tmp_path=tmp_path)
    assert c.returncode == 0, c.out + c.err
    assert f"root {old_size} {old_root}" in c.out.splitlines(), c.out


def test_a_changed_tile_or_entry_is_caught_by_the_client(big_store, tmp_path):
    tiles = tmp_path / "tiles"
    assert auditfs("tiles", big_store, tiles).returncode == 0
    pristine = tmp_path / "pristine"
    shutil.copytree(tiles, pristine)
    tile = tiles / "tile/0/000"
    data = bytearray(tile.read_bytes())
    data[100] ^= 1
    tile.write_bytes(bytes(data))
    c = go_client(tiles, 5, tmp_path=tmp_path)
    assert c.returncode == 1 and c.out.startswith("FAILED:"), c.out + c.err
    shutil.rmtree(tiles)
    shutil.copytree(pristine, tiles)
    bundle = tiles / "tile/entries/000"
    data = bytearray(bundle.read_bytes())
    data[2 + 34 * 5] ^= 1   # entry 5's first byte
    bundle.write_bytes(bytes(data))
    c = go_client(tiles, 5, tmp_path=tmp_path)
    assert c.returncode == 1 and "inclusion of 5" in c.out, c.out + c.err


def test_a_store_without_a_checkpoint_has_no_tiles(tmp_path):
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    r = auditfs("tiles", store, tmp_path / "tiles")
    assert r.returncode == 2 and "holds no checkpoint" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert not (tmp_path / "tiles").exists()


def test_tiles_refuse_a_directory_someone_else_may_write(big_store, tmp_path):
    """Tiles are written below DIR, often as root: a DIR another user owns or
    may write to (where a symbolic link could be put in a tile directory's
    place) is refused, and nothing is written."""
    uid, gid = ensure_test_user()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, uid, gid)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    for d in (theirs, shared, link):
        r = auditfs("tiles", big_store, d)
        assert r.returncode == 2 and len(r.err.strip().splitlines()) == 1, (d, r.err)
        assert list(d.iterdir()) == [], d
    ok = tmp_path / "mine"
    assert auditfs("tiles", big_store, ok).returncode == 0 and (ok / "checkpoint").exists()
