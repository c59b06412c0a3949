"""Signatures that cannot simply be removed (issue 10 item 9) and keys bound
to their epochs (item 10): `verify --key` says which records a signed
checkpoint covers and fails when none or too many are unsigned; a mount
that cannot sign does not run silently unsigned; a key copied during an
old epoch cannot sign a bundle for a later record."""
import base64
import hashlib
import json
import re
import shutil
import struct
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from conftest import AUDITFS_CHECK, auditfs, run
from mountlib import Mount, wait_until, alerting_policy
from test_metrics import free_port, scrape, value
from test_mount_checkpoints import signed  # noqa: F401  (the fixture: a new store and its verifier key kept off the host)

def test_a_key_file_with_an_extreme_not_before_is_refused_not_a_crash(signed, tmp_path):
    """Root offline edits the key file: not-before at the edge of Int64 once made
    the checkpointer's epoch age overflow (a trap). Now the key is not a key."""
    store, _ = signed
    (tmp_path / "mnt").mkdir()
    for value in ("-9223372036854775808", "-1", "9223372036854775807"):
        for k in (store / "keys").glob("epoch-*.key"):   # the epoch key (log.key has no times)
            lines = k.read_text().split("\n")
            lines[2] = "not-before " + value
            if value.startswith("9"):
                lines[3] = "not-after " + value
            k.write_text("\n".join(lines))
        before = sorted((p.name, p.stat().st_size) for p in (store / "segments").iterdir())
        c = auditfs("checkpoint", store, timeout=60)
        assert 0 < c.returncode < 128 or (value.startswith("9") and c.returncode == 0), (value, c.returncode, c.err)
        assert c.err.strip().count("\n") == 0, c.err
        m = auditfs("mount", store, tmp_path / "mnt", timeout=60)
        if m.returncode == 0:
            run("fusermount3", "-u", tmp_path / "mnt", timeout=30)
        assert 0 <= m.returncode < 128, (value, m.returncode, m.err)
        if value.startswith("-"):
            assert m.returncode == 1 and "cannot sign checkpoints, not mounting" in m.err, m.err
            assert sorted((p.name, p.stat().st_size) for p in (store / "segments").iterdir()) == before


AUDIT_SIGNED = ("/.audit/checkpoints", "/.audit/keys")




# --- A store rewriter, as root offline does it (FORMAT.md "Segment file", "Header") ---

def frames(segment):
    data = segment.read_bytes()
    pos, out = 104, []
    while pos < len(data):
        magic, hlen, plen, _ = struct.unpack_from("<IIII", data, pos)
        assert magic == 0x31434552
        header = bytearray(data[pos + 16:pos + 16 + hlen])
        payload = data[pos + 16 + hlen:pos + 16 + hlen + plen]
        out.append([header, payload])
        pos += 16 + hlen + plen + 32
    return data[:104], out


def body_path(header):
    cmd = header[144]
    start = 145 + cmd + 12
    (n,) = struct.unpack_from("<H", header, start)
    return header[start + 2:start + 2 + n].decode()


def rechain(records):
    """Renumbers (seq, file ids), recomputes digests, both chains and every hash."""
    ids, last, last_of_file, out = {}, b"\0" * 32, {}, []
    for seq, (header, payload) in enumerate(records):
        kind = header[0]
        (old_seq,) = struct.unpack_from("<Q", header, 4)
        (old_file,) = struct.unpack_from("<Q", header, 32)
        if kind in (1, 2):
            ids[old_seq + 1] = seq + 1
            file = seq + 1
        else:
            file = ids[old_file]
        struct.pack_into("<Q", header, 4, seq)
        struct.pack_into("<Q", header, 32, file)
        header[40:72] = b"\0" * 32 if kind in (1, 2) else last_of_file[file]
        header[72:104] = last
        struct.pack_into("<Q", header, 104, len(payload))
        header[112:144] = hashlib.sha256(payload).digest()
        h = hashlib.sha256(header).digest()
        last = last_of_file[file] = h
        lengths = struct.pack("<III", 0x31434552, len(header), len(payload))
        out.append(lengths + hashlib.sha256(lengths).digest()[:4] + bytes(header) + payload + h)
    return b"".join(out)


def test_stripped_signatures_and_a_rechained_rewrite_fail_verify_with_the_key(signed):
    store, key = signed
    for line in ("alpha\n", "bravo\n"):
        auditfs("append", store, "/app/a.log", input=line, check=True)
        auditfs("checkpoint", store, "--epoch-length", "0", check=True)   # two epochs, two certificates
    assert auditfs("verify", store, "--key", key).returncode == 0
    segment = next((store / "segments").iterdir())
    seg_header, records = frames(segment)
    dropped, kept = set(), []
    for header, payload in records:
        (seq,) = struct.unpack_from("<Q", header, 4)
        (file,) = struct.unpack_from("<Q", header, 32)
        if header[0] in (1, 2) and body_path(header).startswith(AUDIT_SIGNED):
            dropped.add(seq + 1)
        elif file not in dropped:
            kept.append([header, payload.replace(b"bravo", b"BRAVO")])
    assert len(kept) < len(records)
    segment.write_bytes(seg_header + rechain(kept))
    shutil.rmtree(store / "cache", ignore_errors=True)
    plain = auditfs("verify", store, "--json", "--key", key, "--max-unsigned", "1000d")
    report = json.loads(plain.out)
    assert report["signing"]["signedRecords"] == 0 and report["signing"]["unsignedRecords"] == len(kept), plain.out
    assert auditfs("cat", store, "/app/a.log").out == "alpha\nBRAVO\n"   # the rewrite is a well-formed store
    v = auditfs("verify", store, "--key", key)
    assert v.returncode == 1, v.out
    assert v.out.splitlines()[0].startswith("UNSIGNED: no record is covered by a checkpoint signed through the verifier key's chain")


def test_a_fresh_store_with_no_checkpoint_fails_verify_with_the_key(signed):
    store, key = signed
    v = auditfs("verify", store, "--key", key)
    assert v.returncode == 1 and v.out.startswith("UNSIGNED: "), v.out
    assert "signed: 0 of 5 records" in v.out
    # Without --key (only the host's own copy of the key) coverage is reported, not enforced.
    plain = auditfs("verify", store)
    assert plain.returncode == 0 and "signed: 0 of 5 records" in plain.out, plain.out


def test_unsigned_records_older_than_max_unsigned_after_the_checkpoint_fail(signed):
    store, key = signed
    auditfs("append", store, "/app/a.log", input="signed\n", check=True)
    auditfs("checkpoint", store, check=True)
    for i in range(20):
        auditfs("append", store, "/app/a.log", input=f"unsigned {i}\n", check=True)
    time.sleep(1.2)
    auditfs("append", store, "/app/a.log", input="unsigned, a second later\n", check=True)
    v = auditfs("verify", store, "--key", key, "--max-unsigned", "1s")
    assert v.returncode == 1, v.out
    assert re.match(r"UNSIGNED: the 21 unsigned records after the last signed checkpoint span \d+\.\d s;", v.out), v.out
    assert v.out.splitlines()[0].endswith("at most 1.0 s allowed (--max-unsigned)")
    assert "unsigned: 21 (" in v.out
    ok = auditfs("verify", store, "--key", key)   # the default, 60 s
    assert ok.returncode == 0, ok.out
    assert auditfs("verify", store, "--key", key, "--max-unsigned-records", "20").returncode == 1
    report = json.loads(auditfs("verify", store, "--key", key, "--json").out)["signing"]
    assert report["unsignedRecords"] == 21 and report["unsignedSpanNs"] > 1_000_000_000
    assert report["maxUnsignedNs"] == 60_000_000_000 and report.get("check") is None
    assert report["signedRecords"] + 1 + 21 == json.loads(auditfs("verify", store, "--json").out)["records"]
    bad = auditfs("verify", store, "--key", key, "--max-unsigned", "99999999999999d")
    assert bad.returncode == 2 and "--max-unsigned" in bad.err and len(bad.err.strip().splitlines()) == 1


def test_a_cleanly_unmounted_store_passes_with_nothing_unsigned(signed, tmp_path):
    store, key = signed
    m = Mount(store, tmp_path / "mnt", options=["checkpoint-interval=0"])
    try:
        with open(m / "app.log", "a") as f:
            f.write("one\n")
    finally:
        m.cleanup()
    # Only at unmount was anything signed: the checkpoint covers the unmount event; its own record is the signature.
    v = auditfs("verify", store, "--key", key, "--max-unsigned", "0s", "--max-unsigned-records", "0")
    assert v.returncode == 0, v.out
    assert "; unsigned: 0" in v.out


def test_a_mount_without_a_usable_signing_key_refuses_to_start(signed, tmp_path):
    store, _ = signed
    before = (store / "segments").stat().st_mtime_ns, sorted(p.stat().st_size for p in (store / "segments").iterdir())
    for damage in ("removed", "garbled"):
        if damage == "removed":
            shutil.move(store / "keys", tmp_path / "keys-elsewhere")
        else:
            shutil.move(tmp_path / "keys-elsewhere", store / "keys")
            for k in (store / "keys").iterdir():
                k.write_text("not a key\n")
        (tmp_path / "mnt").mkdir(exist_ok=True)
        r = auditfs("mount", store, tmp_path / "mnt", timeout=60)
        assert r.returncode == 1, r.out + r.err
        assert r.err.strip().count("\n") == 0 and "cannot sign checkpoints, not mounting" in r.err, r.err
    after = (store / "segments").stat().st_mtime_ns, sorted(p.stat().st_size for p in (store / "segments").iterdir())
    assert after == before   # nothing written


def test_signing_failing_while_mounted_is_recorded_alerted_and_writes_go_on(signed, tmp_path):
    store, key = signed
    place = tmp_path / "place"
    place.mkdir()
    place.chmod(0o755)
    sink = place / "alerts.out"
    policy = alerting_policy(place / "policy.yaml", "unsigned", "checkpoint-failure", sink)
    m = Mount.__new__(Mount)   # a Mount with --epoch-length, which has no -o form
    m.store, m.path, m.proc = store, tmp_path / "mnt", None
    m.path.mkdir()
    port = free_port()
    r = auditfs("mount", store, m.path, "--epoch-length", "1", "-o", f"policy={policy}", "-o", "checkpoint-interval=1",
                "-o", f"metrics={port}", timeout=60)
    assert r.returncode == 0, r.err
    try:
        # The signing key goes away (and with it every key the next epoch needs).
        shutil.move(store / "keys", tmp_path / "keys-away")
        with open(m / "app.log", "a") as f:
            f.write("written while signing fails\n")
        events = m / ".audit" / "events.jsonl"
        wait_until(lambda: "checkpoint-failed" in events.read_text(), timeout=60, what="the checkpoint-failed event")
        wait_until(sink.exists, timeout=30, what="the checkpoint-failure alert")
        alert = json.loads(sink.read_text().splitlines()[0])
        assert alert["event"] == "checkpoint-failure" and "unsigned" in alert["message"]
        assert value(scrape(port), "auditfs_checkpoint_failures_total") >= 1
        # Writes go on.
        with open(m / "app.log", "a") as f:
            f.write("and still accepted\n")
        assert (m / "app.log").read_text().endswith("and still accepted\n")
        # What was written since the last signature is unsigned; a tight limit says so.
        v = auditfs("verify", store, "--key", key, "--max-unsigned-records", "0")
        assert v.returncode == 1 and v.out.startswith("UNSIGNED: "), v.out
        # The keys come back: the next epoch starts, signing resumes and covers all of it.
        shutil.move(tmp_path / "keys-away", store / "keys")
        wait_until(lambda: "checkpoint-resumed" in events.read_text(), timeout=60, what="the checkpoint-resumed event")
        lines = [json.loads(l) for l in events.read_text().splitlines()]
        failed = [e for e in lines if e["event"] == "checkpoint-failed"]
        assert len(failed) == 1 and failed[0]["error"], failed   # once per run of failures
        assert "failed attempt" in next(e for e in lines if e["event"] == "checkpoint-resumed")["detail"]
    finally:
        m.cleanup()
    v = auditfs("verify", store, "--key", key, "--max-unsigned-records", "0")
    assert v.returncode == 0, v.out
    assert len(sink.read_text().splitlines()) == 1


# --- Item 10: keys bound to their epochs ---

def sign_note(text, seed, name):
    """A C2SP signed note, as the thief makes it with a copied key file's seed."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    sig = base64.b64encode(key_id + key.sign(text.encode())).decode()
    return f"{text}\n\u2014 {name} {sig}\n"


def verify_bundle(bundle, key, tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    return run(AUDITFS_CHECK, "verify-bundle", path, "--key", key)


def test_a_key_copied_during_epoch_two_cannot_sign_a_bundle_for_a_later_record(signed, tmp_path):
    store, key = signed
    auditfs("append", store, "/app/a.log", input="written in epoch 2\n", check=True)
    auditfs("checkpoint", store, "--epoch-length", "0", check=True)   # epoch 2 begins (each checkpoint starts one)
    stolen = (store / "keys" / "epoch-2.key").read_text().splitlines()   # the thief's copy, while it is current
    assert stolen[0] == "auditfs signing key v2" and stolen[1] == "epoch 2"
    not_after = int(stolen[3].split()[1])
    seed = base64.b64decode(stolen[4].split()[1])
    early = json.loads(open_bundle(store, tmp_path, "early"))
    time.sleep(1.2)   # epoch 2's window (1 s with --epoch-length 0) is over
    for i in range(3):
        auditfs("append", store, "/app/a.log", input=f"written in epoch {3 + i}\n", check=True)
        auditfs("checkpoint", store, "--epoch-length", "0", check=True)
    assert not (store / "keys" / "epoch-2.key").exists()   # erased on the host long ago
    late = json.loads(open_bundle(store, tmp_path, "late"))
    # Genuine bundles from both epochs verify.
    for b, epoch in ((early, 2), (late, 5)):
        v = verify_bundle(b, key, tmp_path)
        assert v.returncode == 0 and f"signed by key epoch {epoch}" in v.out, v.out
    text = late["checkpoint"].split("\n\n")[0] + "\n"
    origin, size, root = text.splitlines()[:3]

    def forged(t, chain):
        b = dict(late)
        b["checkpoint"] = sign_note(f"{origin}\n{size}\n{root}\ntime {t}\n", seed, origin)
        b["certificates"] = late["certificates"][:chain]
        return verify_bundle(b, key, tmp_path)

    now = time.time_ns()
    for t, chain, check in ((now, 2, "checkpoint-window"), (not_after, 2, "checkpoint-time"), (not_after, 5, "checkpoint-epoch")):
        v = forged(t, chain)
        assert v.returncode == 1 and v.out.startswith(f"INVALID: {check}: "), (t, chain, v.out)


def open_bundle(store, tmp_path, name):
    out = tmp_path / f"{name}.json"
    p = auditfs("prove", store, "/app/a.log", "-o", out)
    assert p.returncode == 0, p.err
    return out.read_text()
