"""Signed checkpoints issued by the mount: every interval, on fsync when
asked, at unmount; /.audit/checkpoint; witnesses; bundles from a mount."""
import errno
import json
import os
import shutil
import time

import pytest
from conftest import AUDITFS_CHECK, auditfs, run, tree_digest
from mountlib import Mount, assert_user_files_unchanged, user_state, wait_until


def checkpoint_size(text):
    return int(text.splitlines()[1])


def records(store):
    return json.loads(auditfs("verify", store, "--json").out)["records"]


@pytest.fixture
def signed(tmp_path):
    s = tmp_path / "store"
    auditfs("init", s, check=True)
    key = tmp_path / "verifier-key"   # the copy kept off the host
    shutil.copy(s / "verifier-key", key)
    return s, key


def test_interval_unmount_witness_and_the_checkpoint_view(signed, tmp_path):
    store, key = signed
    witness = tmp_path / "witness"
    witness.mkdir()
    m = Mount(store, tmp_path / "mnt", options=["checkpoint-interval=1", f"witness-dir={witness}"])
    try:
        view = m / ".audit" / "checkpoint"
        with open(m / "app.log", "a") as f:
            f.write("first\n")
        wait_until(view.exists, timeout=5, what="the first checkpoint")
        first = view.read_text()
        origin = first.split("\n")[0]
        assert "/auditfs/" in origin and f"\n\n\u2014 {origin} " in first
        assert os.stat(view).st_mode & 0o777 == 0o444
        assert "checkpoint" in os.listdir(m / ".audit")
        # The view is read-only for everyone, root included, and the attempts are recorded.
        before = user_state(store)
        for attempt in (lambda: open(view, "a").write("x"), lambda: os.truncate(view, 0), lambda: os.chmod(view, 0o666),
                        lambda: os.unlink(view)):
            with pytest.raises(OSError) as e:
                attempt()
            assert e.value.errno == errno.EPERM
        assert_user_files_unchanged(store, before, "changing /.audit/checkpoint")
        # A quiet mount signs nothing new; a write is covered within the interval.
        time.sleep(1.5)
        quiet = view.read_text()
        time.sleep(1.5)
        assert view.read_text() == quiet
        with open(m / "app.log", "a") as f:
            f.write("second\n")
        wait_until(lambda: view.read_text() != quiet, timeout=5, what="a checkpoint after the write")
    finally:
        m.cleanup()
    # At unmount, a last checkpoint covers everything, the unmount event included.
    total = records(store)
    stored = auditfs("cat", store, "/.audit/checkpoints").out
    witnessed = next(witness.iterdir()).read_text()
    assert witnessed.count("\n\n\u2014 ") >= 3   # one signature block a note
    last = witnessed.strip().split("\n\n")[-2]
    assert checkpoint_size(last + "\n") == total - 1   # the checkpoint's own record is the last one
    v = auditfs("verify", store, "--key", key, "--checkpoint", next(witness.iterdir()))
    assert v.returncode == 0, v.out
    assert stored.count("\n\n\u2014 ") == witnessed.count("\n\n\u2014 ")


def test_checkpoint_on_fsync(signed, tmp_path):
    store, _ = signed
    m = Mount(store, tmp_path / "mnt", options=["checkpoint=fsync", "checkpoint-interval=0"])
    try:
        fd = os.open(m / "db.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, b"commit 1\n")
        os.fsync(fd)   # returns after the checkpoint is stored
        os.close(fd)
        signed_size = checkpoint_size((m / ".audit" / "checkpoint").read_text())
        entries = [json.loads(l) for l in auditfs("log", "--json", store, "/db.log").out.splitlines()]
        assert max(e["seq"] for e in entries if e["op"] == "append") < signed_size
    finally:
        m.cleanup()


def test_a_bundle_made_on_a_mount_verifies_elsewhere(signed, tmp_path):
    store, key = signed
    m = Mount(store, tmp_path / "mnt", options=["checkpoint-interval=1"])
    try:
        with open(m / "app.log", "a") as f:
            for i in range(20):
                f.write(f"request {i}\n")
                f.flush()
        wait_until(lambda: (m / ".audit" / "checkpoint").exists(), timeout=5, what="a checkpoint")
        time.sleep(1.5)
        bundle = tmp_path / "bundle.json"
        p = auditfs("prove", store, "/app.log", "-o", bundle)   # while mounted: the store opens read-only
        assert p.returncode == 0, p.err
    finally:
        m.cleanup()
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    shutil.copy(bundle, auditor / "b.json")
    shutil.copy(key, auditor / "key")
    v = run(AUDITFS_CHECK, "verify-bundle", "b.json", "--key", "key", "--extract", "out", cwd=auditor)
    assert v.returncode == 0, v.out + v.err
    assert (auditor / "out").read_text() == "".join(f"request {i}\n" for i in range(20))
    assert "python3" in v.out or "pytest" in v.out   # the writer's command name


def test_rolling_the_store_back_is_caught_by_the_witness(signed, tmp_path):
    store, key = signed
    witness = tmp_path / "witness"
    witness.mkdir()
    opts = [f"witness-dir={witness}", "checkpoint-interval=0"]
    m = Mount(store, tmp_path / "mnt", options=opts)
    try:
        (m / "a.log").write_text("before the copy\n")
    finally:
        m.cleanup()
    old = tmp_path / "old-copy"
    shutil.copytree(store, old)
    m = Mount(store, tmp_path / "mnt", options=opts)
    try:
        with open(m / "a.log", "a") as f:
            f.write("evidence the attacker wants gone\n")
    finally:
        m.cleanup()
    shutil.rmtree(store)
    shutil.copytree(old, store)
    witnessed = next(witness.iterdir())
    v = auditfs("verify", store, "--key", key, "--checkpoint", witnessed)
    assert v.returncode == 1 and "checkpoint-rollback" in v.out, v.out


@pytest.mark.parametrize("option,message", [
    ("checkpoint=always", "auditfs: -o checkpoint=always: the only value is fsync"),
    ("checkpoint-interval=soon", "auditfs: -o checkpoint-interval=soon: expected seconds from 0 to 86400 (a day)"),
])
def test_bad_checkpoint_options_are_one_line(signed, tmp_path, option, message):
    store, _ = signed
    (tmp_path / "mnt").mkdir()
    before = tree_digest(store)
    r = auditfs("mount", store, tmp_path / "mnt", "-o", option)
    assert r.returncode == 1 and r.err.strip().splitlines() == [message], r.err
    assert tree_digest(store) == before
