"""Tamper means tamper (docs/POLICY.md "Tamper and refusals"), with real
programs on a real mount: what cp --preserve=all, install, chmod and touch
try routinely (extended attributes, a chmod, chown or utimens of a
non-empty file), ln -s and mkfifo are refused but recorded as a refusal (`tamper: false`),
counted in auditfs_refusals_total, and a `tamper` alert rule does not fire;
an overwrite (dd conv=notrunc), a truncate, rm, mv and fallocate are tamper lines,
counted in auditfs_tamper_attempts_total, and the alert fires for each."""
import json
import os

from conftest import auditfs, run
from mountlib import Mount, wait_until
from test_alerts import ROOT_POLICY
from test_metrics import free_port, scrape, value

TAMPER_ALERT = """  - name: tamper
    on: tamper
    actions:
      - file: %s
"""


def mount(place):
    store = place / "store"
    auditfs("init", store, check=True)
    sink = place / "alerts.out"
    policy = place / "policy.yaml"
    policy.write_text(ROOT_POLICY + TAMPER_ALERT % sink)
    r = auditfs("policy", "check", policy)
    assert r.returncode == 0, r.out + r.err
    port = free_port()
    m = Mount(store, place / "mnt", options=[f"policy={policy}", f"metrics={port}"])
    (m.path / "ok").mkdir()
    return m, sink, port


def refusals(m):
    """Every decision line a mount rule refused, read through the mount."""
    out = []
    for day in sorted((m.path / ".audit" / "decisions").iterdir()):
        out += [d for d in map(json.loads, day.read_text().splitlines()) if d.get("reason") == "mount-rule"]
    return out


def sent(sink):
    return [json.loads(l) for l in sink.read_text().splitlines()] if sink.exists() else []


def test_routine_refusals_raise_no_tamper_alert_but_overwrite_truncate_rm_mv_fallocate_do(place):
    m, sink, port = mount(place)
    try:
        src = place / "src.log"
        src.write_text("line one\nline two\n")
        os.setxattr(src, "user.origin", b"host")    # for cp to copy: a setxattr through the mount
        log = m.path / "ok" / "app.log"

        # Routine: each program's copy or file keeps its bytes; what it could not set is a refusal.
        run("cp", "--preserve=all", src, log, timeout=60)
        run("install", "-m", "0640", src, m.path / "ok" / "installed.log", timeout=60)
        assert log.read_text() == "line one\nline two\n"
        assert (m.path / "ok" / "installed.log").read_text() == "line one\nline two\n"
        assert run("chmod", "0604", log, timeout=60).returncode != 0
        assert run("touch", log, timeout=60).returncode != 0
        assert run("chown", "1:1", log, timeout=60).returncode != 0
        assert run("ln", "-s", "app.log", m.path / "ok" / "current", timeout=60).returncode != 0
        assert run("mkfifo", m.path / "ok" / "pipe", timeout=60).returncode != 0
        assert run("ln", log, m.path / "ok" / "second-name", timeout=60).returncode != 0   # multilog's rotation
        routine = refusals(m)
        kinds = {(d["verb"], d["mountRule"]) for d in routine}
        assert {("setxattr", "no-xattr"), ("chmod", "frozen-attributes"), ("utimens", "frozen-attributes"),
                ("chown", "frozen-attributes"), ("symlink", "no-special-files"), ("mknod", "no-special-files"),
                ("link", "no-hard-links")} <= kinds, kinds
        assert {d["mountRule"] for d in routine} <= {"no-xattr", "frozen-attributes", "no-special-files", "no-hard-links"}, routine
        assert not [d for d in routine if d["tamper"]], routine
        s = scrape(port)
        assert value(s, "auditfs_refusals_total", kind="no-xattr") >= 1
        assert value(s, "auditfs_refusals_total", kind="frozen-attributes") >= 3
        assert value(s, "auditfs_refusals_total", kind="no-special-files") == 2
        assert value(s, "auditfs_refusals_total", kind="no-hard-links") == 1
        assert all(value(s, "auditfs_tamper_attempts_total", kind=k) == 0
                   for k in ("append-only", "no-truncate", "permanent-names", "no-fallocate", "audit-namespace"))

        # Tamper: each would change or remove stored bytes.
        r = run("dd", "if=/dev/zero", f"of={log}", "bs=1", "count=4", "seek=0", "conv=notrunc", timeout=60)
        assert r.returncode != 0, r.err
        assert run("truncate", "-s", "4", log, timeout=60).returncode != 0
        assert run("rm", "-f", log, timeout=60).returncode != 0
        assert run("mv", log, m.path / "ok" / "app.log.1", timeout=60).returncode != 0
        assert run("fallocate", "-o", "0", "-l", "4096", log, timeout=60).returncode != 0
        assert log.read_text() == "line one\nline two\n"
        want = [("write", "/ok/app.log", "append-only"), ("truncate", "/ok/app.log", "no-truncate"),
                ("unlink", "/ok/app.log", "permanent-names"), ("rename", "/ok/app.log", "permanent-names"),
                ("fallocate", "/ok/app.log", "no-fallocate")]
        tamper = [(d["verb"], d["path"], d["mountRule"]) for d in refusals(m) if d["tamper"] and "folded" not in d]
        assert tamper == want
        # The alert fires for each of them and for nothing before them (one serial queue, in order).
        wait_until(lambda: len(sent(sink)) >= len(want), timeout=30, what="the tamper alerts")
        alerts = sent(sink)
        assert [(a["event"], a["decision"]["verb"], a["decision"]["path"], a["decision"]["mountRule"])
                for a in alerts] == [("tamper",) + w for w in want]
        s = scrape(port)
        assert value(s, "auditfs_tamper_attempts_total", kind="append-only") == 1
        assert value(s, "auditfs_tamper_attempts_total", kind="no-truncate") == 1
        assert value(s, "auditfs_tamper_attempts_total", kind="permanent-names") == 2
        assert value(s, "auditfs_tamper_attempts_total", kind="no-fallocate") == 1
        m.unmount()
        assert auditfs("verify", m.store).returncode == 0
    finally:
        m.cleanup()
