"""Alerts from the policy's alerts: section (docs/QUERY.md "Alerts"): a real
rsyslogd receives the syslog alert of a tamper attempt within a second; a
command hook gets valid JSON on standard input; the deny-rate rule fires
once at N+1 denies and not at N; a slow command never slows a write; every
alert sent is in /.audit/alerts.jsonl."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import auditfs, run
from mountlib import Mount, wait_until

ROOT_POLICY = """apiVersion: auditfs/v1
roles:
  - name: admin
    rules: [{paths: ["/ok/**", "/.audit/**", "/"], verbs: [create, append, mkdir, read, list]}]
bindings:
  - role: admin
    subjects: [{user: root}]
alerts:
"""


def mount(place, alerts):
    store = place / "store"
    auditfs("init", store, check=True)
    policy = place / "policy.yaml"
    policy.write_text(ROOT_POLICY + alerts)
    r = auditfs("policy", "check", policy)
    assert r.returncode == 0, r.out + r.err
    m = Mount(store, place / "mnt", options=[f"policy={policy}"])
    (m.path / "ok").mkdir()
    return m


def alerts_recorded(m):
    f = m.path / ".audit" / "alerts.jsonl"
    return [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []


def tamper(m, name="ok/t.log"):
    (m.path / name).write_text("x\n")
    with pytest.raises(PermissionError):
        os.unlink(m.path / name)


@pytest.fixture
def rsyslog(place):
    """A real rsyslogd, on a test socket, writing what it receives to a file
    with the severity and facility names."""
    sock, out = place / "log.sock", place / "syslog.out"
    conf = place / "rsyslog.conf"
    conf.write_text(f"""
global(workDirectory="{place}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" CreatePath="on")
template(name="t" type="string" string="%syslogseverity-text% %syslogfacility-text% %programname% %msg%\\n")
*.* action(type="omfile" file="{out}" template="t")
""")
    p = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i", str(place / "rsyslog.pid")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until(lambda: sock.exists() or p.poll() is not None, what="rsyslogd's socket")
    assert p.poll() is None, p.stderr.read().decode()
    yield sock, out
    p.terminate()
    p.wait(timeout=10)


def test_tamper_reaches_rsyslog_within_a_second(place, rsyslog):
    sock, out = rsyslog
    m = mount(place, f"""  - name: tamper
    on: tamper
    actions: [{{syslog: {{facility: local3, socket: {sock}}}}}]
""")
    try:
        t0 = time.monotonic()
        tamper(m)
        wait_until(lambda: out.exists() and "tamper attempt" in out.read_text(), timeout=1.0, what="the syslog line")
        took = time.monotonic() - t0
        line = [l for l in out.read_text().splitlines() if "tamper attempt" in l][0]
        assert line.startswith("crit local3 auditfs "), line
        assert "unlink /ok/t.log refused (permanent-names)" in line and str(m.path) in line
        wait_until(lambda: alerts_recorded(m), what="alerts.jsonl")
        [a] = alerts_recorded(m)
        assert a["alert"] == "tamper" and a["event"] == "tamper" and a["severity"] == "crit"
        assert a["actions"] == [{"action": "syslog", "outcome": "sent", "detail": str(sock)}]
        assert a["decision"]["path"] == "/ok/t.log" and a["decision"]["tamper"] is True
        print(f"syslog line after {took * 1000:.0f} ms")
    finally:
        m.cleanup()


def test_command_hook_gets_json_and_file_action(place):
    got, sink = place / "hook.json", place / "alerts.out"
    hook = place / "hook.py"
    hook.write_text(f"import sys\nopen({str(got)!r}, 'wb').write(sys.stdin.buffer.read())\n")
    m = mount(place, f"""  - name: tamper
    on: tamper
    actions:
      - command: {{run: ["/usr/bin/env", "python3", "{hook}"], timeout: 5s}}
      - file: {sink}
""")
    try:
        tamper(m)
        wait_until(lambda: got.exists() and got.stat().st_size > 0, what="the hook's input")
        event = json.loads(got.read_text())
        assert event["alert"] == "tamper" and event["event"] == "tamper" and event["severity"] == "crit"
        assert event["decision"]["verb"] == "unlink" and event["decision"]["uid"] == 0 and "actions" not in event
        assert json.loads(sink.read_text())["decision"]["path"] == "/ok/t.log"
        wait_until(lambda: alerts_recorded(m), what="alerts.jsonl")
        [a] = alerts_recorded(m)
        assert [o["outcome"] for o in a["actions"]] == ["sent", "sent"]
        assert [o["action"] for o in a["actions"]] == ["file", "command"]
    finally:
        m.cleanup()


def test_rate_rule_fires_once_at_n_plus_one(place):
    m = mount(place, """  - name: burst
    on: deny
    moreThan: 3
    within: 60s
    actions: [{file: %s}]
""" % (place / "burst.out"))
    try:
        def deny(i):
            with pytest.raises(PermissionError):
                open(m.path / f"denied-{i}", "w")
        for i in range(3):
            deny(i)
        time.sleep(0.5)
        assert alerts_recorded(m) == [] and not (place / "burst.out").exists()
        deny(3)   # the 4th: more than 3
        wait_until(lambda: alerts_recorded(m), what="the rate alert")
        deny(4)   # the 5th: still the same burst, no second alert
        time.sleep(0.5)
        [a] = alerts_recorded(m)
        assert a["event"] == "deny-rate" and a["count"] == 4 and a["uid"] == 0 and a["windowNs"] == 60 * 10**9
        assert a["severity"] == "alert" and a["decision"]["path"] == "/denied-3"
        assert len((place / "burst.out").read_text().splitlines()) == 1
    finally:
        m.cleanup()


def test_slow_command_never_slows_a_write(place):
    """The alert command blocks until the test releases it; the writes all
    complete meanwhile, and the alert is recorded only once the command is
    done: the write path never waits for it (no timing involved)."""
    gate = place / "gate"
    os.mkfifo(gate)
    m = mount(place, f"""  - name: slow
    on: tamper
    actions: [{{command: {{run: ["/bin/sh", "-c", "cat > /dev/null; cat {gate} > /dev/null"], timeout: 60s}}}}]
""")
    try:
        tamper(m)
        with open(m.path / "ok" / "fast.log", "a") as f:
            for i in range(200):
                f.write(f"line {i}\n")
                f.flush()
        assert (m.path / "ok" / "fast.log").read_text().count("\n") == 200
        assert alerts_recorded(m) == []   # the command is still blocked on the gate
        with open(gate, "w") as g:        # release it
            g.write("go\n")
        wait_until(lambda: alerts_recorded(m), timeout=10, what="the command's record")
        [a] = alerts_recorded(m)
        assert a["actions"][0]["outcome"] == "sent"
    finally:
        m.cleanup()


def test_a_hanging_command_is_killed_at_its_timeout(place):
    m = mount(place, """  - name: hang
    on: tamper
    actions: [{command: {run: ["/bin/sleep", "300"], timeout: 1s}}]
""")
    try:
        tamper(m)
        wait_until(lambda: alerts_recorded(m), timeout=15, what="the timed-out command's record")
        [a] = alerts_recorded(m)
        assert a["actions"][0]["outcome"] == "timeout" and "killed after 1000 ms" in a["actions"][0]["detail"]
        assert run("pgrep", "-f", "/bin/sleep 300").returncode != 0   # killed, not left behind
    finally:
        m.cleanup()


def test_reload_and_rejected_reload_alert(place):
    m = mount(place, f"""  - name: reloads
    on: reload
    actions: [{{file: {place / 'r.out'}}}]
  - name: rejected
    on: reload-rejected
    actions: [{{file: {place / 'r.out'}}}]
""")
    try:
        auditfs("policy", "reload", m.path, check=True)
        policy = place / "policy.yaml"
        good = policy.read_text()
        policy.write_text(good + "  - broken: [\n")
        assert auditfs("policy", "reload", m.path).returncode == 1
        wait_until(lambda: len(alerts_recorded(m)) == 2, what="two alerts")
        assert [(a["alert"], a["event"], a["severity"]) for a in alerts_recorded(m)] == [
            ("reloads", "reload", "notice"), ("rejected", "reload-rejected", "err")]
        assert "policy.yaml" in alerts_recorded(m)[1]["change"]["error"]
    finally:
        m.cleanup()


def test_verification_failure_at_start(place):
    store = place / "store"
    auditfs("init", store, check=True)
    auditfs("append", store, "/a.log", input="hello\n", check=True)
    seg = sorted((store / "segments").glob("*.seg"))[0]
    data = bytearray(seg.read_bytes())
    data[-40] ^= 0x01   # inside the last record's header: its record hash no longer matches
    seg.write_bytes(bytes(data))
    policy = place / "policy.yaml"
    policy.write_text(ROOT_POLICY + f"""  - name: broken
    on: verification-failure
    actions: [{{file: {place / 'v.out'}}}]
""")
    (place / "mnt").mkdir()
    r = auditfs("mount", store, place / "mnt", "--policy", policy, timeout=60)
    assert r.returncode == 1 and "integrity" in r.err
    a = json.loads((place / "v.out").read_text())
    assert a["event"] == "verification-failure" and a["severity"] == "emerg" and str(store) in a["message"]
