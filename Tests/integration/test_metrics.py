"""`auditfs mount --metrics`: the endpoint, scraped with curl, parses with
the reference Prometheus parser (prometheus_client) and its counters match
what the test did (docs/QUERY.md "Metrics")."""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import auditfs, run
from mountlib import Mount

POLICY = """apiVersion: auditfs/v1
roles:
  - name: admin
    rules: [{paths: ["/ok/**", "/"], verbs: [create, append, mkdir, read, list]}]
bindings:
  - role: admin
    subjects: [{user: root}]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    r = run("curl", "-sS", "--fail", "-D", "-", f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.returncode == 0, r.err
    head, _, body = r.out.partition("\r\n\r\n")
    assert "text/plain; version=0.0.4" in head
    samples = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def place():
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-metrics-"))
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def test_metrics_match_the_actions(place):
    store = place / "store"
    auditfs("init", store, check=True)
    (place / "policy.yaml").write_text(POLICY)
    port = free_port()
    m = Mount(store, place / "mnt", options=[f"policy={place / 'policy.yaml'}", f"metrics={port}"])
    try:
        before = scrape(port)
        assert value(before, "auditfs_writes_total") == 0
        assert value(before, "auditfs_tamper_attempts_total", kind="append-only") == 0
        (m.path / "ok").mkdir()                       # grant 1 (mkdir)
        sizes = [10, 200, 4096, 1]
        fd = os.open(m.path / "ok" / "a.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)   # grants 2, 3 (create, append: the creator's handle writes)
        open_now = value(scrape(port), "auditfs_open_files")
        for n in sizes:
            os.write(fd, b"x" * n)
        os.fsync(fd)
        os.close(fd)
        with pytest.raises(PermissionError):
            open(m.path / "nope.log", "w")            # deny 1 (no create on /)
        with pytest.raises(PermissionError):
            os.unlink(m.path / "ok" / "a.log")        # tamper: permanent-names
        with pytest.raises(OSError):
            os.truncate(m.path / "ok" / "a.log", 0)   # tamper: no-truncate
        s = scrape(port)
        assert open_now == 1 and value(s, "auditfs_open_files") == 0
        assert value(s, "auditfs_writes_total") == len(sizes)
        assert value(s, "auditfs_appended_bytes_total") == sum(sizes)
        assert value(s, "auditfs_write_duration_seconds_count") == len(sizes)
        assert value(s, "auditfs_write_duration_seconds_bucket", le="+Inf") == len(sizes)
        assert value(s, "auditfs_fsyncs_total") == 1 and value(s, "auditfs_fsync_duration_seconds_count") == 1
        assert value(s, "auditfs_grants_total") == 3
        assert value(s, "auditfs_denies_total") == 3   # the denial and the two refusals
        assert value(s, "auditfs_tamper_attempts_total", kind="permanent-names") == 1
        assert value(s, "auditfs_tamper_attempts_total", kind="no-truncate") == 1
        assert value(s, "auditfs_tamper_attempts_total", kind="append-only") == 0
        assert value(s, "auditfs_checkpoint_age_seconds") >= -1
        # Loopback only by default.
        addrs = [l.split()[1] for l in pathlib.Path("/proc/net/tcp").read_text().splitlines()[1:] if l.split()[3] == "0A"]
        assert f"0100007F:{port:04X}" in addrs
    finally:
        m.cleanup()


def test_checkpoint_hook_counts_and_ages(place):
    store = place / "store"
    auditfs("init", store, check=True)
    port = free_port()
    m = Mount(store, place / "mnt", options=[f"metrics=127.0.0.1:{port}", "checkpoint=fsync"])
    try:
        fd = os.open(m.path / "c.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, b"one\n")
        os.fsync(fd)
        os.close(fd)
        s = scrape(port)
        assert value(s, "auditfs_checkpoints_total") >= 1
        assert 0 <= value(s, "auditfs_checkpoint_age_seconds") < 60
    finally:
        m.cleanup()


def test_bad_metrics_address_is_one_line(place):
    store = place / "store"
    auditfs("init", store, check=True)
    (place / "mnt").mkdir()
    r = auditfs("mount", store, place / "mnt", "--metrics", "not-an-address:x", timeout=30)
    assert r.returncode == 1 and r.err.strip().splitlines() == [
        "auditfs: --metrics 'not-an-address:x': expected PORT, ADDR:PORT or [ADDR6]:PORT"], r.err
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        r = auditfs("mount", store, place / "mnt", "--metrics", str(port), timeout=30)
        assert r.returncode == 1 and "could not listen" in r.err and len(r.err.strip().splitlines()) == 1, r.err
