"""C2SP tlog-witness over HTTP (issue 15, part 1): a mount cosigned by two
witnesses that implement the spec independently of auditfs
(tlog_witness.py), cosignatures stored in /.audit/cosignatures and carried
in proof bundles, N-of-M quorums in verify and verify-bundle, a witness
that lost its state (the 409 path), and witnesses that refuse, answer
garbage or hang: failure events, and writes never wait."""
import base64
import json
import os
import time

from conftest import AUDITFS_CHECK, auditfs, go_run, run
from mountlib import Mount, daemon_pids, wait_until
from tlog_witness import Witness, parse_note, verify_cosignature


def new_store(tmp_path):
    s = tmp_path / "store"
    auditfs("init", s, check=True)
    log_key = (s / "log-key").read_text().strip()
    assert auditfs("log-key", s, check=True).out.strip() == log_key
    return s, log_key.split("+")[0], log_key


def witness_events(store):
    text = auditfs("cat", store, "/.audit/events.jsonl", check=True).out
    return [e for e in (json.loads(l) for l in text.splitlines() if l.strip()) if e["event"].startswith("witness-")]


def split_notes(text):
    """The notes of a file of notes each followed by a blank line."""
    parts = [p for p in text.split("\n\n") if p]
    return [parts[i] + "\n\n" + parts[i + 1] + "\n" for i in range(0, len(parts) - 1, 2)]


def write_fsync(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def test_two_witnesses_cosign_a_mount_and_a_quorum_is_required(tmp_path):
    store, origin, log_key = new_store(tmp_path)
    a = Witness("witness-a.test/w", {origin: [log_key]}).start()
    b = Witness("witness-b.test/w", {origin: [log_key]}).start()
    c = Witness("witness-c.test/w", {origin: [log_key]})   # never asked: its key cosigned nothing
    try:
        m = Mount(store, tmp_path / "mnt", options=["checkpoint=fsync", "checkpoint-interval=0", f"witness-url={a.url}"],
                  args=["--witness-url", b.url])
        try:
            for i in range(3):
                write_fsync(m / "app.log", f"line {i}\n".encode())
                wait_until(lambda: sum(e["event"] == "witness-delivered" for e in witness_events(store)) >= 2 * (i + 1),
                           timeout=30, what=f"both witnesses to cosign checkpoint {i + 1}")
            m.unmount()
        finally:
            m.cleanup()
    finally:
        a.stop()
        b.stop()
    # Each witness was given consistency proofs from the size it cosigned before.
    for w in (a, b):
        assert all(status == 200 for status, _, _ in w.requests), w.requests
        assert any(old != b"old 0" for _, old, _ in w.requests), w.requests
    assert not [e for e in witness_events(store) if e["event"] != "witness-delivered"]
    names = {e["witness"] for e in witness_events(store)}
    assert names == {f"witness {a.url}", f"witness {b.url}"}
    # The cosignatures are stored, one block per answer, each verifiable alone.
    stored = auditfs("cat", store, "/.audit/cosignatures", check=True).out
    notes = split_notes(stored)
    assert len(notes) >= 6
    for n in notes:
        assert parse_note(n)[0].startswith(origin + "\n")
    assert sum(1 for n in notes if _cosigned(n, a.vkey)) >= 3 and sum(1 for n in notes if _cosigned(n, b.vkey)) >= 3
    cosigned = tmp_path / "cosigned"
    cosigned.write_text(stored)
    key = store / "verifier-key"
    ok = auditfs("verify", store, "--key", key, "--checkpoint", cosigned, "--witness-key", a.vkey, "--witness-key", b.vkey,
                 "--witness-quorum", "1")
    assert ok.returncode == 0, ok.out
    # Each stored block is one witness's answer: verify merges the answers for one checkpoint onto one note,
    # so 2 of 2 holds on the file as the store holds it.
    both = cosigned
    two = auditfs("verify", store, "--key", key, "--checkpoint", both, "--witness-key", a.vkey, "--witness-key", b.vkey,
                  "--witness-quorum", "2")
    assert two.returncode == 0, two.out
    # Without a witness's copy, verify checks the quorum on the store's own newest cosigned checkpoint.
    own = auditfs("verify", store, "--key", key, "--witness-key", a.vkey, "--witness-key", b.vkey)
    assert own.returncode == 0 and "ok: /.audit/cosignatures, tree size " in own.out, own.out
    own_bad = auditfs("verify", store, "--key", key, "--witness-key", a.vkey, "--witness-key", c.vkey)
    assert own_bad.returncode == 1 and "FAILED checkpoint-cosignature: /.audit/cosignatures" in own_bad.out, own_bad.out
    # A quorum neither pair meets: 2 of {A, C}, or all 3.
    for args in (["--witness-key", a.vkey, "--witness-key", c.vkey, "--witness-quorum", "2"],
                 ["--witness-key", a.vkey, "--witness-key", b.vkey, "--witness-key", c.vkey]):
        bad = auditfs("verify", store, "--key", key, "--checkpoint", both, *args)
        assert bad.returncode == 1 and "FAILED checkpoint-cosignature" in bad.out, bad.out
    out_of_range = auditfs("verify", store, "--key", key, "--witness-key", a.vkey, "--witness-quorum", "2")
    assert out_of_range.returncode == 2 and "quorum of 2 of 1" in out_of_range.err
    # A proof bundle carries the cosignatures of its checkpoint: 2 of 2 holds, anywhere.
    bundle = tmp_path / "bundle.json"
    assert auditfs("prove", store, "/app.log", "-o", bundle).returncode == 0
    data = json.loads(bundle.read_text())
    assert len(data["cosignatures"]) == 2
    v = run(AUDITFS_CHECK, "verify-bundle", bundle, "--key", key, "--witness-key", a.vkey, "--witness-key", b.vkey)
    assert v.returncode == 0 and "cosigned by 2 or more of 2" in v.out, v.out + v.err
    v = run(AUDITFS_CHECK, "verify-bundle", bundle, "--key", key, "--witness-key", a.vkey, "--witness-key", c.vkey,
            "--witness-quorum", "2")
    assert v.returncode == 1 and "INVALID" in v.out, v.out
    data["cosignatures"] = data["cosignatures"][:1]
    (tmp_path / "one.json").write_text(json.dumps(data))
    v = run(AUDITFS_CHECK, "verify-bundle", tmp_path / "one.json", "--key", key, "--witness-key", a.vkey, "--witness-key", b.vkey)
    assert v.returncode == 1 and "cosigned by 1 of the 2" in v.out, v.out


def _cosigned(note, vkey):
    try:
        verify_cosignature(note, vkey)
        return True
    except ValueError:
        return False


def test_a_witness_that_lost_its_state_and_a_client_that_forgot(tmp_path):
    store, origin, log_key = new_store(tmp_path)
    w = Witness("witness-a.test/w", {origin: [log_key]}).start()
    try:
        # The CLI starts from size 0 every run: the second run learns the witness's size from a 409.
        auditfs("append", store, "/a.log", input="one\n", check=True)
        first = auditfs("checkpoint", store, "--witness-url", w.url)
        assert first.returncode == 0 and first.err == "", first.err
        auditfs("append", store, "/a.log", input="two\n", check=True)
        second = auditfs("checkpoint", store, "--witness-url", w.url)
        assert second.returncode == 0 and second.err == "", second.err
        assert [s for s, _, _ in w.requests] == [200, 409, 200]
        assert w.requests[2][1] != b"old 0"
        # The mount remembers the size; a witness restarted with its state lost answers 409 with 0.
        m = Mount(store, tmp_path / "mnt", options=["checkpoint=fsync", "checkpoint-interval=0"], args=["--witness-url", w.url])
        try:
            write_fsync(m / "a.log", b"three\n")
            wait_until(lambda: [e["event"] for e in witness_events(store)] == ["witness-delivered"], timeout=30,
                       what="the first delivery")
            w.forget()
            write_fsync(m / "a.log", b"four\n")
            wait_until(lambda: [e["event"] for e in witness_events(store)] == ["witness-delivered"] * 2, timeout=30,
                       what="the delivery after the witness forgot")
            m.unmount()
        finally:
            m.cleanup()
        # The mount's first request (old 0) met the size the CLI left: 409, then the proof from it.
        # After the witness forgot, the mount's old size met its 0: 409 again, then old 0.
        statuses = [s for s, _, _ in w.requests]
        assert statuses[3:7] == [409, 200, 409, 200], w.requests
        assert w.requests[4][1] != b"old 0" and w.requests[5][1] != b"old 0" and w.requests[6][1] == b"old 0", w.requests
    finally:
        w.stop()
    v = auditfs("verify", store, "--key", store / "verifier-key")
    assert v.returncode == 0, v.out


def test_witnesses_that_refuse_answer_garbage_or_hang_never_block_writes(tmp_path):
    store, origin, log_key = new_store(tmp_path)
    refusing = Witness("witness-r.test/w", {origin: [log_key]}).start()
    refusing.mode = "422"
    garbage = Witness("witness-g.test/w", {origin: [log_key]}).start()
    garbage.mode = "garbage"
    hanging = Witness("witness-h.test/w", {origin: [log_key]}).start()
    hanging.mode = "hang"
    wrong = Witness("witness-x.test/w", {}).start()   # knows no log: 404
    try:
        m = Mount(store, tmp_path / "mnt", options=["checkpoint=fsync", "checkpoint-interval=0"],
                  args=[x for w in (refusing, garbage, hanging, wrong) for x in ("--witness-url", w.url)])
        try:
            start = time.monotonic()
            for i in range(3):
                write_fsync(m / "app.log", f"line {i}\n".encode())
            assert time.monotonic() - start < 5, "an fsync waited for a witness"
            assert os.path.getsize(m / "app.log") == 3 * len(b"line 0\n")
            wait_until(lambda: {e["witness"] for e in witness_events(store) if e["event"] == "witness-failed"}
                       >= {f"witness {refusing.url}", f"witness {garbage.url}", f"witness {wrong.url}"},
                       timeout=30, what="the failures")
            wait_until(lambda: any(e["event"] == "witness-timed-out" for e in witness_events(store)), timeout=40,
                       what="the hanging witness's time-out")
            pids = daemon_pids(m.path)
            assert run("fusermount3", "-u", m.path, timeout=30).returncode == 0
            # Unmount gives the witnesses 12 s more, then cancels the one still waiting.
            wait_until(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids), timeout=60, what="the daemon to exit")
        finally:
            m.cleanup()
    finally:
        for w in (refusing, garbage, hanging, wrong):
            w.stop()
    events = witness_events(store)
    by = {}
    for e in events:
        by.setdefault(e["witness"], []).append(e)
    assert any("422" in e.get("error", "") for e in by[f"witness {refusing.url}"])
    assert any("without cosignatures" in e.get("error", "") for e in by[f"witness {garbage.url}"])
    assert any("404" in e.get("error", "") for e in by[f"witness {wrong.url}"])
    assert any(e["event"] == "witness-timed-out" and "no answer within 10 s" in e["error"] for e in by[f"witness {hanging.url}"])
    assert not [e for e in events if e["event"] == "witness-delivered"]
    assert "cosignatures" not in auditfs("ls", store, "/.audit").out
    v = auditfs("verify", store, "--key", store / "verifier-key")
    assert v.returncode == 0, v.out


def go_check(*args, tmp_path):
    return go_run("bundle_check.go", *args, tmp_path=tmp_path)


def test_go_x_mod_checks_a_bundle_cosigned_by_two_witnesses(tmp_path):
    """Code nobody here wrote: x/mod's note and tlog check the bundle's key chain,
    log-key signature, inclusion and consistency proofs; crypto/ed25519 the
    cosignatures (x/mod's note has no tlog-cosignature verifier)."""
    store, origin, log_key = new_store(tmp_path)
    a = Witness("witness-a.test/w", {origin: [log_key]}).start()
    b = Witness("witness-b.test/w", {origin: [log_key]}).start()
    c = Witness("witness-c.test/w", {origin: [log_key]})
    try:
        for i in range(4):
            auditfs("append", store, "/app/a.log", input=f"line {i}\n", check=True)
            r = auditfs("checkpoint", store, "--epoch-length", "0", "--witness-url", a.url, "--witness-url", b.url)
            assert r.returncode == 0 and r.err == "", r.err
    finally:
        a.stop()
        b.stop()
    bundle = tmp_path / "bundle.json"
    assert auditfs("prove", store, "/app/a.log", "--range", "7:14", "-o", bundle).returncode == 0
    data = json.loads(bundle.read_text())
    assert len(data["cosignatures"]) == 2 and len(data["certificates"]) >= 4
    key = store / "verifier-key"
    ok = go_check(bundle, key, store / "log-key", 2, a.vkey, b.vkey, tmp_path=tmp_path)
    assert ok.returncode == 0 and ok.out.startswith("ok: ") and "cosigned by 2 of 2" in ok.out, ok.out + ok.err
    assert auditfs("verify-bundle", bundle, "--key", key, "--witness-key", a.vkey, "--witness-key", b.vkey).returncode == 0
    short = go_check(bundle, key, store / "log-key", 2, a.vkey, c.vkey, tmp_path=tmp_path)
    assert short.returncode == 1 and "cosigned by 1 of 2" in short.out, short.out + short.err
    h = bytearray(base64.b64decode(data["records"][1]["inclusion"][0]))
    h[0] ^= 1
    data["records"][1]["inclusion"][0] = base64.b64encode(bytes(h)).decode()
    (tmp_path / "bad.json").write_text(json.dumps(data))
    bad = go_check(tmp_path / "bad.json", key, store / "log-key", 0, tmp_path=tmp_path)
    assert bad.returncode == 1 and "inclusion" in bad.out, bad.out + bad.err
