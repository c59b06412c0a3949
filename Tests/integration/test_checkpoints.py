"""Signed checkpoints, witnesses and proof bundles through the CLI."""
import json
import re
import shutil
import subprocess

import pytest
from conftest import AUDITFS_CHECK, auditfs, run


@pytest.fixture
def signed(tmp_path):
    s = tmp_path / "store"
    out = auditfs("init", s, check=True).out
    key = out.splitlines()[2]
    # The origin, and the key's name: "<host name>/auditfs/<store id>" (FORMAT.md "Keys").
    assert re.fullmatch(r"[^/\s+]+/auditfs/[0-9a-f]+", key.split("+")[0]) and key.count("+") >= 2
    assert (s / "verifier-key").read_text().strip() == key
    offhost = tmp_path / "offhost"
    offhost.mkdir()
    (offhost / "verifier-key").write_text(key + "\n")
    return s, offhost


def test_checkpoints_witness_dir_and_verify(signed, tmp_path):
    store, offhost = signed
    witness = tmp_path / "witness"
    witness.mkdir()
    auditfs("append", store, "/app/a.log", input="one\n", check=True)
    note = auditfs("checkpoint", store, "--witness-dir", witness, check=True).out
    lines = note.splitlines()
    origin = lines[0]
    assert "/auditfs/" in origin and lines[1].isdigit() and lines[3].startswith("time ")
    # Signed by the epoch key and by the log key, both named by the origin.
    assert lines[4] == "" and lines[5].startswith(f"\u2014 {origin} ") and lines[6].startswith(f"\u2014 {origin} ")
    files = list(witness.iterdir())
    assert len(files) == 1 and files[0].read_text() == note + "\n"
    v = auditfs("verify", store, "--key", offhost / "verifier-key", "--checkpoint", files[0])
    assert v.returncode == 0, v.out
    assert "consistent" in v.out and "1 stored checkpoint(s) verified" in v.out


def test_rollback_and_fork_are_named(signed, tmp_path):
    store, offhost = signed
    witness = tmp_path / "witness"
    witness.mkdir()
    auditfs("append", store, "/a.log", input="one\n", check=True)
    auditfs("checkpoint", store, check=True)
    old = tmp_path / "old"
    shutil.copytree(store, old)
    auditfs("append", store, "/a.log", input="two\n", check=True)
    auditfs("checkpoint", store, "--witness-dir", witness, check=True)
    witnessed = next(witness.iterdir())
    # Roll back: the older copy is well formed on its own ...
    assert auditfs("verify", old, "--key", offhost / "verifier-key").returncode == 0
    # ... but not against the witness's checkpoint.
    v = auditfs("verify", old, "--key", offhost / "verifier-key", "--checkpoint", witnessed)
    assert v.returncode == 1 and "checkpoint-rollback" in v.out and "rolled back or truncated" in v.out, v.out
    # Fork: the old copy goes on differently to the same size.
    auditfs("append", old, "/a.log", input="TWO\n", check=True)
    auditfs("checkpoint", old, check=True)
    v = auditfs("verify", old, "--key", offhost / "verifier-key", "--checkpoint", witnessed)
    assert v.returncode == 1 and "checkpoint-fork" in v.out and "a fork" in v.out, v.out


def test_witness_command_gets_each_checkpoint(signed, tmp_path):
    store, _ = signed
    got = tmp_path / "got"
    auditfs("append", store, "/a.log", input="x\n", check=True)
    note = auditfs("checkpoint", store, "--witness-cmd", f"cat > {got}", check=True).out
    assert got.read_text() == note
    failing = auditfs("checkpoint", store, "--witness-cmd", "exit 3")
    assert failing.returncode == 0 and "witness command exited 3" in failing.err


def test_bundle_verifies_in_a_fresh_directory_with_only_the_key(signed, tmp_path):
    store, offhost = signed
    for i in range(5):
        auditfs("append", store, "/app/a.log", input=f"line {i}\n", check=True)
    auditfs("checkpoint", store, "--epoch-length", "0", check=True)   # a new key epoch
    auditfs("append", store, "/app/a.log", input="line 5\n", check=True)
    auditfs("checkpoint", store, "--epoch-length", "0", check=True)
    bundle = offhost / "bundle.json"
    p = auditfs("prove", store, "/app/a.log", "--range", "7:21", "-o", bundle)
    assert p.returncode == 0, p.err
    fresh = tmp_path / "auditor"
    fresh.mkdir()
    shutil.copy(bundle, fresh / "bundle.json")
    shutil.copy(offhost / "verifier-key", fresh / "key")
    v = run(AUDITFS_CHECK, "verify-bundle", "bundle.json", "--key", "key", "--extract", "bytes", cwd=fresh)
    assert v.returncode == 0, v.out + v.err
    assert "VALID: /app/a.log bytes 7..<21" in v.out and "epoch 3" in v.out   # epoch 1 began at init
    assert (fresh / "bytes").read_text() == "line 1\nline 2\n"
    # Any change to the bundle is caught.
    b = json.loads(bundle.read_text())
    b["records"][2]["payload"] = b["records"][1]["payload"]
    (fresh / "bad.json").write_text(json.dumps(b))
    bad = run(AUDITFS_CHECK, "verify-bundle", "bad.json", "--key", "key", cwd=fresh)
    assert bad.returncode == 1 and "INVALID" in bad.out
    # A bundle without a covering checkpoint is refused with a hint.
    auditfs("append", store, "/app/a.log", input="line 6\n", check=True)
    late = auditfs("prove", store, "/app/a.log", "-o", tmp_path / "late.json")
    assert late.returncode == 2 and "no stored checkpoint covers" in late.err
