"""Witness delivery off the FUSE threads: a slow witness cannot stall fsync
(-o checkpoint=fsync), each outcome is an event in /.audit/events.jsonl,
and unmount waits a bounded time for a witness that never answers."""
import json
import os
import pathlib
import shutil
import threading
import time

import pytest
from conftest import auditfs, run
from mountlib import Mount, daemon_pids, wait_until

# WitnessCommand's timeout (seconds) and what unmount allows the witnesses
# (CheckpointSchedule.stop): only used as generous bounds for waiting.
WITNESS_TIMEOUT = 10


@pytest.fixture
def signed(tmp_path):
    s = tmp_path / "store"
    auditfs("init", s, check=True)
    return s


def events(store):
    text = auditfs("cat", store, "/.audit/events.jsonl", check=True).out
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def witness_events(store):
    return [e for e in events(store) if e["event"].startswith("witness-")]


def checkpoints(store):
    text = auditfs("cat", store, "/.audit/checkpoints").out
    return text.count("\n\n\u2014 ")   # one signature block a note


def alive(pid):
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def write_and_fsync(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)   # with checkpoint=fsync: returns once the checkpoint is signed and stored
    finally:
        os.close(fd)


def unmount_and_wait(m, timeout):
    pids = daemon_pids(m.path)
    assert run("fusermount3", "-u", m.path, timeout=30).returncode == 0
    wait_until(lambda: not any(pathlib.Path(f"/proc/{p}").exists() for p in pids), timeout=timeout,
               what="the daemon to exit")


def test_sleeping_witness_cannot_stall_fsync(signed, tmp_path):
    """The attack: a witness command that hangs (a dead ssh peer). Before,
    the checkpoint on fsync ran it under the Checkpointer's lock on the
    FUSE thread, so every fsync of the mount waited behind it."""
    store = signed
    spool = tmp_path / "witness"
    spool.mkdir()
    witness = f"echo $$ >> {spool}/started; sleep 30; cat >> {spool}/got"
    m = Mount(store, tmp_path / "mnt", options=["checkpoint=fsync", "checkpoint-interval=0"],
              args=["--witness-cmd", witness])
    try:
        first = threading.Thread(target=write_and_fsync, args=(m / "first.log", b"one\n"), daemon=True)
        first.start()
        # The shell creates the file for `>>` before echo writes the pid into it: wait for the line.
        wait_until(lambda: (spool / "started").exists() and (spool / "started").read_text().endswith("\n"), timeout=60,
                   what="the witness to get the first checkpoint")
        pid = int((spool / "started").read_text().split()[0])
        # Ten writers fsync at once while the witness sleeps.
        writers = [threading.Thread(target=write_and_fsync, args=(m / f"w{i}.log", f"line {i}\n".encode()), daemon=True)
                   for i in range(10)]
        for t in writers:
            t.start()
        deadline = time.monotonic() + 60   # generous: each fsync signs one checkpoint, milliseconds
        for t in [first] + writers:
            t.join(timeout=max(deadline - time.monotonic(), 0))
        assert not any(t.is_alive() for t in [first] + writers), "an fsync waited for the witness"
        # ... and all returned while the witness was still running, its input unread.
        assert alive(pid), "the witness ended before the fsyncs returned"
        assert not (spool / "got").exists()
        # Every fsynced write is covered by a stored checkpoint.
        signed_size = int((m / ".audit" / "checkpoint").read_text().splitlines()[1])
        appends = [json.loads(l) for l in auditfs("log", "--json", store).out.splitlines() if l.strip()]
        assert max(e["seq"] for e in appends if e["op"] == "append" and not e["path"].startswith("/.audit")) < signed_size
        # The witness is killed at its deadline, and that is recorded.
        wait_until(lambda: any(e["event"] == "witness-timed-out" for e in witness_events(store)),
                   timeout=WITNESS_TIMEOUT * 6, what="the witness-timed-out event")
        timed_out = next(e for e in witness_events(store) if e["event"] == "witness-timed-out")
        assert timed_out["witness"] == f"witness command {witness}"
        assert timed_out["error"] == f"witness command timed out after {WITNESS_TIMEOUT} s: {witness}"
        assert timed_out["checkpoint"] >= 1 and timed_out["daemon"] > 0
        assert not alive(pid)
        # Unmount waits a bounded time for the checkpoints still queued, then gives up on them.
        unmount_and_wait(m, timeout=WITNESS_TIMEOUT * 6)
    finally:
        m.cleanup()
    outcomes = witness_events(store)
    assert {e["event"] for e in outcomes} <= {"witness-timed-out", "witness-dropped"}
    assert any(e["event"] == "witness-dropped" and "the mount ended before their turn" in e["error"] for e in outcomes)
    assert not (spool / "got").exists()
    for p in (spool / "started").read_text().split():
        assert not alive(int(p)), "a witness outlived the mount"
    assert auditfs("verify", store).returncode == 0


def test_each_witness_outcome_is_an_event_and_calls_for_no_checkpoint(signed, tmp_path):
    store = signed
    spool = tmp_path / "witness"
    spool.mkdir()
    m = Mount(store, tmp_path / "mnt", options=["checkpoint=fsync", "checkpoint-interval=0", f"witness-dir={spool}"],
              args=["--witness-cmd", "exit 3"])
    try:
        write_and_fsync(m / "db.log", b"commit 1\n")
        size = int((m / ".audit" / "checkpoint").read_text().splitlines()[1])
        wait_until(lambda: len(witness_events(store)) == 2, timeout=60, what="both outcomes")
        by_event = {e["event"]: e for e in witness_events(store)}
        assert by_event["witness-delivered"]["witness"] == f"witness directory {spool}"
        assert by_event["witness-delivered"]["checkpoint"] == size
        assert "error" not in by_event["witness-delivered"]
        assert by_event["witness-failed"]["witness"] == "witness command exit 3"
        assert by_event["witness-failed"]["error"] == "witness command exited 3: exit 3"
        assert by_event["witness-failed"]["checkpoint"] == size
        # The directory witness holds exactly what the store holds.
        held = next(spool.iterdir()).read_text()
        assert held.count("\n\n\u2014 ") == checkpoints(store) == 1
        # The outcome events are records, but no reason to sign again: an fsync with nothing new signs nothing.
        write_and_fsync(m / "db.log", b"")
        assert checkpoints(store) == 1
        assert len(witness_events(store)) == 2
        # A write after them is signed, and its checkpoint covers them.
        write_and_fsync(m / "db.log", b"commit 2\n")
        assert checkpoints(store) == 2
        wait_until(lambda: len(witness_events(store)) == 4, timeout=60, what="the second checkpoint's outcomes")
        m.unmount()
    finally:
        m.cleanup()
    # At unmount the last checkpoint (covering the unmount event and every earlier outcome) reaches
    # the directory witness too; that success is only logged, the command's failure is recorded.
    held = next(spool.iterdir()).read_text()
    assert held.count("\n\n\u2014 ") == checkpoints(store) == 3
    last = int(held.strip().split("\n\n")[-2].splitlines()[1])
    final = [(e["event"], e["witness"]) for e in witness_events(store) if e["checkpoint"] == last]
    assert final == [("witness-failed", "witness command exit 3")]
    assert auditfs("verify", store).returncode == 0
