"""Shipping a store to S3 Object Lock (docs/SHIPPING.md, FORMAT.md "Shipped
objects") against a real engine: Ceph's radosgw from Debian's packages
(cephlib.py, the session fixture `radosgw`), never a mock. The bucket is read
back with boto3, a client independent of auditfs's own."""
import json
import os
import pathlib
import re
import shutil
import threading
import time

import pytest

from conftest import AUDITFS_CHECK, auditfs, run, tree_digest
from mountlib import Mount, alerting_policy, wait_until
from test_trust_signing import frames, rechain

RETAIN = "1d"


def env_of(gw):
    return {**os.environ, **gw.env()}


def ship_args(bucket, prefix="fleet"):
    return ["--ship", f"s3://{bucket}/{prefix}", "--ship-retain", RETAIN, "--checkpoint-interval", "1"]


def versions(gw, bucket, prefix=""):
    """Every version and delete marker under `prefix`, as boto3 lists them."""
    s3 = gw.s3()
    out, markers = [], []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        out += page.get("Versions", [])
        markers += page.get("DeleteMarkers", [])
    return out, markers


def store_id(store):
    return (pathlib.Path(store) / "auditfs-store").read_text().split("\n")[1].split(" ")[1]


def key_copy(store, tmp_path):
    """The verifier key, copied where an auditor keeps it (off the host)."""
    k = tmp_path / "auditor" / "verifier-key"
    k.parent.mkdir(exist_ok=True)
    shutil.copy(pathlib.Path(store) / "verifier-key", k)
    return k


def verify_bucket(gw, url, key, *extra, binary=None, cwd=None):
    args = ["verify", url, "--key", key, "--json", *extra]
    r = run(binary, *args, env=env_of(gw), cwd=cwd) if binary else auditfs(*args, env=env_of(gw), cwd=cwd)
    try:
        report = json.loads(r.out)
    except json.JSONDecodeError:
        raise AssertionError(f"verify {url}: {r.returncode} {r.out} {r.err}")
    return r.returncode, report


def segment_bytes(store):
    return {p.name: p.read_bytes() for p in sorted((pathlib.Path(store) / "segments").iterdir())}


def write_lines(path, count, tag, size=150):
    """nginx-like access lines, appended one write each."""
    lines = []
    with open(path, "ab", buffering=0) as f:
        for i in range(count):
            line = (f'127.0.0.1 - - [07/Dec/2026:02:00:00 +0000] "GET /{tag}/{i} HTTP/1.1" 200 612 "-" "load" ').ljust(size - 1, "x") + "\n"
            f.write(line.encode())
            lines.append(line)
    return lines


def shipped_lines(gw, bucket, store, place, name, count, tag):
    """Mounts `store` shipping to `bucket` under "fleet", appends `count`
    lines to /`name` (directories made), unmounts (the last checkpoint is
    shipped); returns the lines."""
    m = Mount(store, place / "mnt", args=ship_args(bucket), env=env_of(gw))
    try:
        (m.path / name).parent.mkdir(parents=True, exist_ok=True)
        return write_lines(m.path / name, count, tag)
    finally:
        m.unmount()


def events(mount):
    text = (mount.path / ".audit" / "events.jsonl").read_text()
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def test_a_mount_ships_under_load_and_the_bucket_verifies_with_only_the_key(radosgw, store, place, tmp_path):
    gw = radosgw
    bucket = gw.make_bucket()
    key = key_copy(store, tmp_path)
    m = Mount(store, place / "mnt", args=ship_args(bucket), env=env_of(gw))
    try:
        (m.path / "nginx").mkdir()
        written = []
        stop = threading.Event()

        def writer(t):
            # nginx-like: one access line per request, until the objects are seen (at most 200,000 lines).
            for batch in range(2000):
                if stop.is_set():
                    break
                written.extend(write_lines(m.path / "nginx" / f"access-{t}.log", 100, f"{t}-{batch}"))

        writers = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for w in writers:
            w.start()
        try:
            # Objects land while the load runs, checkpoint by checkpoint, not at a segment's end:
            # the identity and at least two chunks before the writers are told to stop.
            wait_until(lambda: len(versions(gw, bucket, "fleet/")[0]) >= 3, timeout=60, what="objects in the bucket during the load")
            assert all(w.is_alive() for w in writers), "the load ended before the objects were seen"
        finally:
            stop.set()
            for w in writers:
                w.join()
        lines = len(written)
        # Within seconds of a checkpoint, its bytes are in the bucket.
        def newest_size():
            text = (m.path / ".audit" / "checkpoint").read_text()
            return int(text.split("\n")[1])
        target = None
        wait_until(lambda: newest_size() > lines, timeout=30, what="a checkpoint covering the load")
        target = newest_size()
        t0 = time.monotonic()
        def shipped_through():
            code, rep = verify_bucket(gw, f"s3://{bucket}/fleet", key)
            size = ((rep.get("store") or {}).get("signing") or {}).get("checkpointSize") or 0
            return size >= target
        wait_until(shipped_through, timeout=30, what="the checkpoint's bytes in the bucket")
        latency = time.monotonic() - t0
        print(f"checkpoint of size {target} ({lines} lines) verified from the bucket {latency:.1f} s after it was seen on the mount")
    finally:
        m.cleanup()
    # An auditor's machine: only the key, the bucket and the read-only checker (auditfs-check).
    code, report = verify_bucket(gw, f"s3://{bucket}/fleet", key, binary=AUDITFS_CHECK, cwd=key.parent)
    assert code == 0, report
    assert report["storeID"] == store_id(store)
    assert report["store"]["status"] == "intact" and report["store"]["signing"]["unsignedRecords"] == 0, report
    assert not [f for f in report["findings"] if f["failure"]], report["findings"]
    # Every object is locked in COMPLIANCE mode, with a checksum the server checked.
    vs, markers = versions(gw, bucket)
    assert vs and not markers
    s3 = gw.s3()
    for v in vs:
        assert v["Key"].startswith(f"fleet/{store_id(store)}/"), v["Key"]
        r = s3.get_object_retention(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Retention"]
        assert r["Mode"] == "COMPLIANCE", (v["Key"], r)
    # What was shipped is exactly the host's store: segments and identity, nothing else.
    names = {v["Key"].split("/", 2)[2] for v in vs}
    assert "auditfs-store" in names and all(n == "auditfs-store" or n.startswith("segments/") for n in names), names
    local = segment_bytes(store)
    for seg, data in local.items():
        parts = sorted((v for v in vs if v["Key"].split("/")[3:4] == [seg]), key=lambda v: v["Key"])
        joined = b"".join(s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read() for v in parts)
        assert joined == data, seg


def test_restore_after_the_host_is_lost_gives_identical_records(radosgw, store, place, tmp_path):
    gw = radosgw
    bucket = gw.make_bucket()
    key = key_copy(store, tmp_path)
    lines = shipped_lines(gw, bucket, store, place, "app/app.log", 500, "r")
    before = segment_bytes(store)
    log_before = auditfs("log", "--json", store, check=True).out
    shutil.rmtree(store)   # the host is lost
    restored = tmp_path / "restored"
    r = auditfs("restore", f"s3://{bucket}/fleet", restored, "--key", key, env=env_of(gw))
    assert r.returncode == 0, r.err
    assert segment_bytes(restored) == before
    assert auditfs("log", "--json", restored, check=True).out == log_before
    assert auditfs("cat", restored, "/app/app.log", check=True).out == "".join(lines)
    assert auditfs("verify", restored, "--key", key).returncode == 0
    # Restoring over a store refuses, and changes nothing there.
    digest = tree_digest(restored)
    again = auditfs("restore", f"s3://{bucket}/fleet", restored, env=env_of(gw))
    assert again.returncode == 2 and len(again.err.strip().splitlines()) == 1, again.err
    assert tree_digest(restored) == digest


def test_verify_against_names_a_rollback_and_a_rewrite_on_the_host(radosgw, store, place, tmp_path):
    gw = radosgw
    bucket = gw.make_bucket()
    shipped_lines(gw, bucket, store, place, "a.log", 200, "a")
    url = f"s3://{bucket}/fleet"
    same = auditfs("verify", store, "--against", url, env=env_of(gw))
    assert same.returncode == 0 and "same as" in same.out, same.out + same.err
    pristine = tmp_path / "pristine"
    shutil.copytree(store, pristine)
    # Root with the daemon stopped cuts the last records off: a rollback.
    segment = sorted((store / "segments").iterdir())[-1]
    data = segment.read_bytes()
    segment.write_bytes(data[:len(data) - 600])
    shutil.rmtree(store / "cache", ignore_errors=True)
    cut = auditfs("verify", store, "--against", url, env=env_of(gw))
    assert cut.returncode == 1, cut.out
    assert re.search(r"DIFFERS from s3://.*: segment \S+ ends at byte \d+ on the host; the bucket holds it to \d+ .*cut or rolled back", cut.out), cut.out
    # Root rewrites a line and recomputes every hash and chain: a well-formed store, but not the shipped one.
    shutil.rmtree(store)
    shutil.copytree(pristine, store)
    segment = sorted((store / "segments").iterdir())[-1]
    header, records = frames(segment)
    changed = [[h, p.replace(b"/a/100 ", b"/a/999 ")] for h, p in records]
    segment.write_bytes(header + rechain(changed))
    shutil.rmtree(store / "cache", ignore_errors=True)
    rewritten = auditfs("verify", store, "--against", url, env=env_of(gw))
    assert rewritten.returncode == 1, rewritten.out
    m2 = re.search(r"DIFFERS from s3://.*: segment (\S+) byte (\d+), in record (\d+) .*differs from \S+: the host's store was rewritten", rewritten.out)
    assert m2, rewritten.out
    at = int(m2.group(2))
    original = (sorted((pristine / "segments").iterdir())[-1]).read_bytes()
    assert original[:at] == segment.read_bytes()[:at] and original[at] != segment.read_bytes()[at]


def test_the_server_refuses_to_remove_a_shipped_object_and_verify_names_what_root_adds(radosgw, store, place, tmp_path):
    gw = radosgw
    bucket = gw.make_bucket()
    key = key_copy(store, tmp_path)
    shipped_lines(gw, bucket, store, place, "b.log", 100, "b")
    url = f"s3://{bucket}/fleet"
    assert verify_bucket(gw, url, key)[0] == 0
    import botocore.exceptions
    s3 = gw.s3()
    vs, _ = versions(gw, bucket)
    chunk = next(v for v in vs if "/segments/" in v["Key"])
    original = s3.get_object(Bucket=bucket, Key=chunk["Key"], VersionId=chunk["VersionId"])["Body"].read()
    # The host's credentials cannot delete a locked version, nor shorten its lock.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_object(Bucket=bucket, Key=chunk["Key"], VersionId=chunk["VersionId"])
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.put_object_retention(Bucket=bucket, Key=chunk["Key"], VersionId=chunk["VersionId"],
                                Retention={"Mode": "GOVERNANCE", "RetainUntilDate": "2027-01-01T00:00:00Z"})
    # They can add: a delete marker, a new version with other bytes, an object outside the layout.
    s3.delete_object(Bucket=bucket, Key=chunk["Key"])
    forged = original.replace(b"/b/5", b"/b/X")
    assert forged != original
    s3.put_object(Bucket=bucket, Key=chunk["Key"], Body=forged)
    sid = store_id(store)
    s3.put_object(Bucket=bucket, Key=f"fleet/{sid}/segments/extra", Body=b"x")
    code, report = verify_bucket(gw, url, key)
    assert code == 1, report
    found = {(f["check"], f["failure"]) for f in report["findings"]}
    assert ("object-version", True) in found and ("object-delete-marker", False) in found and ("object-name", True) in found, found
    assert ("object-retention", True) in found, found   # the forged version and the stranger are not locked
    # The first version is the record: still byte-identical, and the store read back from the first versions is intact.
    assert s3.get_object(Bucket=bucket, Key=chunk["Key"], VersionId=chunk["VersionId"])["Body"].read() == original
    assert report["store"]["status"] == "intact", report["store"]
    # Records appended after the newest checkpoint, with fresh hashes, fit no checkpoint.
    seg = sorted(v["Key"] for v in vs if "/segments/" in v["Key"])[-1]
    end = int(seg.rsplit("-", 1)[1])
    segname = seg.split("/")[3]
    _, recs = frames(store / "segments" / segname)
    tail = rechain(recs + [[bytearray(recs[-1][0]), b"forged\n"]])
    extra = tail[len(rechain(recs)):]
    s3.put_object(Bucket=bucket, Key=f"fleet/{sid}/segments/{segname}/{end:020d}-{end + len(extra):020d}", Body=extra)
    code, report = verify_bucket(gw, url, key)
    assert code == 1
    assert any(f["check"] == "object-unsigned" or (report["store"] or {}).get("status") == "damaged" for f in report["findings"]), report


def test_the_gateway_stopped_mid_load_writes_go_on_and_the_backlog_catches_up(radosgw, store, place, tmp_path):
    gw = radosgw
    bucket = gw.make_bucket()
    key = key_copy(store, tmp_path)
    port = 19187
    sink = tmp_path / "alerts.jsonl"
    policy = alerting_policy(tmp_path / "policy.yaml", "offsite", "ship-failure", sink)
    # The fstab form: every --ship option as -o.
    m = Mount(store, place / "mnt", options=[f"ship=s3://{bucket}/fleet,ship-retain={RETAIN},checkpoint-interval=1",
                                             f"metrics={port}", f"policy={policy}"], env=env_of(gw))
    lines = []
    try:
        lines += write_lines(m.path / "c.log", 200, "before")
        wait_until(lambda: len(versions(gw, bucket)[0]) >= 2, timeout=30, what="the first objects")
        gw.stop_gateway()
        try:
            t0 = time.monotonic()
            lines += write_lines(m.path / "c.log", 2000, "during")
            took = time.monotonic() - t0
            wait_until(lambda: any(e["event"] == "ship-failed" for e in events(m)), timeout=60, what="a ship-failed event")
            failed = next(e for e in events(m) if e["event"] == "ship-failed")
            assert failed["backlog"] > 0 and failed["bucket"].startswith(f"s3://{bucket}/fleet/"), failed
            metrics = run("curl", "-sS", f"http://127.0.0.1:{port}/metrics", timeout=10).out
            backlog = float(re.search(r"^auditfs_ship_backlog_bytes (\S+)$", metrics, re.M).group(1))
            failures = float(re.search(r"^auditfs_ship_failures_total (\S+)$", metrics, re.M).group(1))
            assert backlog > 0 and failures >= 1, metrics
            lines += write_lines(m.path / "c.log", 200, "still")
            print(f"2000 writes with the gateway down took {took:.2f} s")
            wait_until(sink.exists, timeout=30, what="the ship-failure alert")
            alert = json.loads(sink.read_text().splitlines()[0])
            assert alert["event"] == "ship-failure" and "ship-failed" in alert["message"], alert
        finally:
            gw.start_gateway()
        wait_until(lambda: any(e["event"] == "ship-resumed" for e in events(m)), timeout=90, what="a ship-resumed event")
        lines += write_lines(m.path / "c.log", 100, "after")
    finally:
        m.cleanup()
    assert (store / "segments").exists()
    code, report = verify_bucket(gw, f"s3://{bucket}/fleet", key)
    assert code == 0, report
    restored = tmp_path / "restored"
    assert auditfs("restore", f"s3://{bucket}/fleet", restored, env=env_of(gw)).returncode == 0
    assert auditfs("cat", restored, "/c.log", check=True).out == "".join(lines)
    # No object was put twice: a put that failed was listed for before it was retried.
    vs, _ = versions(gw, bucket)
    assert len({v["Key"] for v in vs}) == len(vs)


def test_a_crash_and_a_restart_resume_from_what_the_bucket_holds(radosgw, store, place, tmp_path):
    gw = radosgw
    bucket = gw.make_bucket()
    key = key_copy(store, tmp_path)
    m = Mount(store, place / "mnt", args=ship_args(bucket), env=env_of(gw))
    try:
        lines = write_lines(m.path / "d.log", 300, "one")
        wait_until(lambda: len(versions(gw, bucket)[0]) >= 2, timeout=30, what="objects")
        pid = m.pid
        os.kill(pid, 9)   # no last checkpoint, no drain
        wait_until(lambda: not pathlib.Path(f"/proc/{pid}").exists(), what="the killed daemon to go")
    finally:
        m.cleanup()
    lines += shipped_lines(gw, bucket, store, place, "d.log", 300, "two")
    code, report = verify_bucket(gw, f"s3://{bucket}/fleet", key)
    assert code == 0, report
    vs, _ = versions(gw, bucket)
    assert len({v["Key"] for v in vs}) == len(vs), "an object was put twice"
    restored = tmp_path / "restored"
    assert auditfs("restore", f"s3://{bucket}/fleet", restored, env=env_of(gw)).returncode == 0
    assert auditfs("cat", restored, "/d.log", check=True).out == "".join(lines)
    # `auditfs ship` on the unmounted store finds nothing left to ship.
    r = auditfs("ship", store, f"s3://{bucket}/fleet", "--retain", RETAIN, env=env_of(gw))
    assert r.returncode == 0 and r.out.startswith("shipped 0 object(s)"), r.out + r.err


def test_a_bucket_without_object_lock_is_a_one_line_error(radosgw, store, place):
    gw = radosgw
    bucket = gw.make_bucket(object_lock=False)
    before = tree_digest(store)
    (place / "mnt").mkdir()
    r = auditfs("mount", store, place / "mnt", *ship_args(bucket), env=env_of(gw), timeout=60)
    assert r.returncode == 1, r.err
    assert r.err.strip().splitlines() == [r.err.strip()] and "has no Object Lock" in r.err, r.err
    assert tree_digest(store) == before
    s = auditfs("ship", store, f"s3://{bucket}/x", "--retain", RETAIN, env=env_of(gw))
    assert s.returncode == 2 and "has no Object Lock" in s.err and len(s.err.strip().splitlines()) == 1, s.err
    assert versions(gw, bucket)[0] == []


@pytest.mark.parametrize("args,message", [
    (["--ship", "s3://bkt/p"], "--ship needs --ship-retain"),
    (["--ship", "s3://bkt/p", "--ship-retain", "0d"], "--ship-retain '0d'"),
    (["--ship", "s3://bkt/p", "--ship-retain", "400"], "--ship-retain '400'"),
    (["--ship", "s3://bkt/p", "--ship-retain", "101y"], "--ship-retain '101y'"),
    (["--ship", "http://bkt/p", "--ship-retain", "1d"], "--ship"),
    (["--ship", "s3://b/p", "--ship-retain", "1d"], "bucket name"),
    (["--ship", "s3://bkt/p/../q", "--ship-retain", "1d"], "--ship"),
    (["--ship-retain", "1d"], "need --ship"),
])
def test_bad_ship_options_are_one_line_errors_before_the_store_is_touched(store, place, args, message):
    before = tree_digest(store)
    (place / "mnt").mkdir()
    r = auditfs("mount", store, place / "mnt", *args, timeout=60)
    assert r.returncode == 1 and message in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert tree_digest(store) == before
