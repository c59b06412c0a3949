"""Real log writers against a real mount (issue 6): nginx, rsyslog, Python
logging, Apache rotatelogs and logrotate, each with a load, then: the line
count in the mount equals what the client sent, `auditfs verify` passes, and
`auditfs log` attributes the blocks to the client's uid and command. The
recipes that cannot work are run too, and the exact errors a user sees are
checked (docs/SERVERS.md quotes them). The configs come from fixtures/servers
with their paths rewritten to the test's mount."""
import gzip
import grp
import json
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, auditfs, run
from mountlib import TEST_USER, Mount, ensure_test_user, log_entries, wait_until

SERVERS = ROOT / "fixtures" / "servers"
POLICY = SERVERS / "policy.yaml"
SYSTEM_PYTHON = "/usr/bin/python3"   # the test user cannot reach a python under /root
FIXTURE_MOUNT = "/var/log/audit-store"


def www_data():
    return pwd.getpwnam("www-data").pw_uid


def ensure_app_user():
    """The test user, in group applog (the policy's app role)."""
    uid, gid = ensure_test_user()
    if run("getent", "group", "applog").returncode != 0:
        run("groupadd", "--system", "applog", check=True)
    run("usermod", "-a", "-G", "applog", TEST_USER, check=True)
    return uid, grp.getgrnam("applog").gr_gid


def lines(path):
    return pathlib.Path(path).read_bytes().count(b"\n")


def appends(store, path):
    return [e for e in log_entries(store, path) if e["op"] == "append"]


def assert_verified(store):
    r = auditfs("verify", store)
    assert r.returncode == 0, f"verify failed: {r.out}{r.err}"


def assert_attributed(store, path, uid, commands):
    """Every block of `path` was written by `uid` with a command in
    `commands`, and the blocks add up to the file."""
    blocks = appends(store, path)
    assert blocks, f"no blocks for {path}"
    who = {(e["uid"], e["command"]) for e in blocks}
    assert all(u == uid and c in commands for u, c in who), f"{path} written by {who}, expected uid {uid} {commands}"
    return blocks


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """A fresh store mounted with fixtures/servers/policy.yaml, with the tree
    an administrator sets up: /nginx, /rsyslog, /app (group applog, setgid)."""
    ensure_app_user()
    store = tmp_path / "store"
    auditfs("init", store, check=True)
    # Other users (www-data, the test user) must reach the mount point.
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-servers-"))
    parent.chmod(0o755)
    m = Mount(store, parent / "mnt", options=[f"policy={POLICY}"])
    try:
        for d in ("nginx", "rsyslog", "app"):
            run("install", "-d", m.path / d, check=True)
        os.chown(m.path / "app", 0, grp.getgrnam("applog").gr_gid)
        os.chmod(m.path / "app", 0o2775)
        yield m
    finally:
        m.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


# ---------------------------------------------------------------- nginx

class Nginx:
    def __init__(self, tmp_path, mount):
        self.port = free_port()
        www = mount.parent / "www"   # readable by www-data
        www.mkdir(exist_ok=True)
        (www / "index.html").write_text("ok\n")
        self.pidfile = tmp_path / "nginx.pid"
        self.conf = tmp_path / "nginx.conf"
        text = (SERVERS / "nginx.conf").read_text().replace(FIXTURE_MOUNT, str(mount))
        text = text.replace("/run/nginx-audit.pid", str(self.pidfile)).replace("/var/www/html", str(www))
        text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{self.port};")
        self.conf.write_text(text)
        self.error_log = mount / "nginx" / "error.log"
        self.access_log = mount / "nginx" / "access.log"

    def start(self):
        run("nginx", "-e", self.error_log, "-c", self.conf, check=True)
        wait_until(lambda: self.pidfile.exists() and self.pidfile.read_text().strip(), what="nginx's pid file")

    def signal(self, name):
        run("nginx", "-e", self.error_log, "-c", self.conf, "-s", name, check=True)

    def stop(self):
        if not self.pidfile.exists():
            return
        pid = int(self.pidfile.read_text())
        run("nginx", "-e", self.error_log, "-c", self.conf, "-s", "quit")
        wait_until(lambda: not pathlib.Path(f"/proc/{pid}").exists()
                   or pathlib.Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z", what="nginx to quit")

    def load(self, n, path="/", concurrency=8):
        r = run("ab", "-q", "-n", n, "-c", concurrency, f"http://127.0.0.1:{self.port}{path}", timeout=120)
        assert r.returncode == 0, r.err
        assert re.search(rf"Complete requests:\s+{n}\n", r.out), r.out
        assert re.search(r"Failed requests:\s+0\n", r.out), r.out


def test_nginx_logs_on_the_mount_and_reopen_refused_chown(served, tmp_path):
    """The master creates the logs as root; workers (www-data) write every
    line. `nginx -s reopen` wants to chown the non-empty logs to www-data:
    refused, one [emerg] line per log, nginx keeps logging on its old fds."""
    nginx = Nginx(tmp_path, served.path)
    nginx.start()
    try:
        nginx.load(3000)
        nginx.load(200, "/missing")
        wait_until(lambda: lines(nginx.access_log) == 3200, what="3,200 access lines")
        errors = nginx.error_log.read_text().splitlines()
        assert len([e for e in errors if "[error]" in e and "(2: No such file or directory)" in e]) == 200

        nginx.signal("reopen")
        emerg = rf'\[emerg\] \d+#\d+: chown\("{re.escape(str(served.path))}/nginx/(access|error)\.log", {www_data()}\) ' \
                r'failed \(1: Operation not permitted\)'
        wait_until(lambda: len(re.findall(emerg, nginx.error_log.read_text())) == 2, what="the two [emerg] chown lines")
        nginx.load(500)
        wait_until(lambda: lines(nginx.access_log) == 3700, what="3,700 access lines after the reopen")
    finally:
        nginx.stop()
    assert_verified(served.store)
    blocks = assert_attributed(served.store, "/nginx/access.log", www_data(), {"nginx"})
    assert len(blocks) == 3700, "one block per access line"
    assert sum(b["length"] for b in blocks) == nginx.access_log.stat().st_size
    create = [e for e in log_entries(served.store, "/nginx/access.log") if e["op"] == "create"]
    assert [(e["uid"], e["command"]) for e in create] == [(0, "nginx")], "the master creates the log as root"


def test_nginx_reopen_with_logs_handed_to_www_data(served, tmp_path):
    """The documented fix: create the logs empty and owned by www-data before
    the first start (chown of an empty file is allowed); reopen then has
    nothing to chown and logs no [emerg]."""
    for name in ("access.log", "error.log"):
        r = run("install", "-o", "www-data", "-g", "adm", "-m", "0640", "/dev/null", served.path / "nginx" / name)
        assert r.returncode == 0, r.err
    nginx = Nginx(tmp_path, served.path)
    nginx.start()
    try:
        nginx.load(1000)
        nginx.signal("reopen")
        nginx.load(1000)
        wait_until(lambda: lines(nginx.access_log) == 2000, what="2,000 access lines")
        assert "[emerg]" not in nginx.error_log.read_text()
    finally:
        nginx.stop()
    st = nginx.access_log.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (www_data(), grp.getgrnam("adm").gr_gid, 0o640)
    assert_verified(served.store)
    assert len(assert_attributed(served.store, "/nginx/access.log", www_data(), {"nginx"})) == 2000


# ---------------------------------------------------------------- rsyslog

def test_rsyslog_file_group_adm_and_sync(served, tmp_path):
    """rsyslogd with Debian's $FileGroup adm (fchown of the new, empty file:
    allowed, so the first batch is kept) and sync on (fdatasync per batch,
    seen with strace). Every message sent arrives once."""
    sock = tmp_path / "rsyslog.sock"
    work = tmp_path / "spool"
    work.mkdir()
    conf = tmp_path / "rsyslog.conf"
    text = (SERVERS / "rsyslog.conf").read_text().replace(FIXTURE_MOUNT, str(served.path))
    conf.write_text(text.replace("/run/rsyslog-audit.sock", str(sock)).replace("/var/spool/rsyslog", str(work)))
    trace = tmp_path / "strace.txt"
    proc = subprocess.Popen(["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=fdatasync,fsync", "-o", str(trace),
                             "rsyslogd", "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslogd.pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    target = served.path / "rsyslog" / "messages.log"
    n = 2000
    try:
        wait_until(lambda: sock.exists() or proc.poll() is not None, what="rsyslog's socket")
        assert proc.poll() is None, proc.stderr.read().decode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(str(sock))
            for i in range(n):
                s.send(f"<14>Nov 26 12:00:00 audittest: message {i} of {n}".encode())
        wait_until(lambda: target.exists() and lines(target) == n, timeout=60, what=f"{n} lines from rsyslog")
    finally:
        # SIGTERM to rsyslogd itself (strace would only detach).
        pidfile = tmp_path / "rsyslogd.pid"
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
        else:
            proc.kill()
        proc.wait(timeout=30)
    text = target.read_text()
    assert [int(m) for m in re.findall(r"message (\d+) of", text)] == list(range(n)), "lost or repeated messages"
    st = target.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, grp.getgrnam("adm").gr_gid, 0o640)
    syncs = trace.read_text()
    assert "fdatasync(" in syncs and re.search(r"fsync\(\d+\)\s+= 0", syncs), "sync on: fdatasync of the file, fsync of the directory"
    assert_verified(served.store)
    blocks = appends(served.store, "/rsyslog/messages.log")
    assert {e["uid"] for e in blocks} == {0}
    # rsyslog writes from its main queue worker thread, named "rs:main Q:Reg".
    assert {e["command"] for e in blocks} == {"rs:main Q:Reg"}, {e["command"] for e in blocks}
    chown = [e for e in log_entries(served.store, "/rsyslog/messages.log") if e["op"] == "setattr"]
    assert chown, "the fchown to group adm is recorded"


# ---------------------------------------------------------------- Python, rotatelogs

def test_python_file_and_watched_file_handlers(served):
    """FileHandler, WatchedFileHandler and a dated FileHandler, as a
    non-root user of group applog: every record, one block each."""
    uid, _ = ensure_app_user()
    n = 1500
    r = run(SYSTEM_PYTHON, SERVERS / "python_logging.py", served.path / "app", n, user=TEST_USER, timeout=120)
    assert r.returncode == 0 and r.err == "", r.err
    dated = f"app-{time.strftime('%Y-%m-%d')}.log"
    for name in ("app.log", "watched.log", dated):
        assert lines(served.path / "app" / name) == n, name
        assert len(assert_attributed(served.store, f"/app/{name}", uid, {"python3"})) == n
    assert_verified(served.store)


def test_rotatelogs_new_name_per_period(served):
    """Apache's rotatelogs with a 1-second period: a new file per second,
    nothing renamed, every line in exactly one file."""
    uid, _ = ensure_app_user()
    n = 300
    script = (f"for i in $(seq 1 {n}); do echo \"GET /item/$i HTTP/1.1 200\"; "
              f"[ $((i % 100)) -eq 0 ] && sleep 1.1; done | "
              f"rotatelogs {served.path}/app/access.%Y%m%d-%H%M%S.log 1")
    r = run("sh", "-c", script, user=TEST_USER, timeout=60)
    assert r.returncode == 0, r.err
    files = sorted((served.path / "app").glob("access.*.log"))
    assert len(files) >= 2, files
    got = [line for f in files for line in f.read_text().splitlines()]
    assert got == [f"GET /item/{i} HTTP/1.1 200" for i in range(1, n + 1)]
    for f in files:
        assert_attributed(served.store, f"/app/{f.name}", uid, {"rotatelogs"})
    assert_verified(served.store)


def test_python_rotating_file_handler_cannot_rotate(served):
    """RotatingFileHandler renames the log at rollover: EPERM. The user sees
    a '--- Logging error ---' traceback per record from then on, every later
    record is lost, and the program exits 0."""
    ensure_app_user()
    log = served.path / "app" / "rotating.log"
    program = ("import logging, logging.handlers, sys\n"
               f"h = logging.handlers.RotatingFileHandler('{log}', maxBytes=300, backupCount=3)\n"
               "log = logging.getLogger('app'); log.addHandler(h); log.setLevel(logging.INFO)\n"
               "for i in range(20): log.info('record %02d of the application', i)\n")
    r = run(SYSTEM_PYTHON, "-c", program, user=TEST_USER)
    assert r.returncode == 0
    error = f"PermissionError: [Errno 1] Operation not permitted: '{log}' -> '{log}.1'"
    kept = lines(log)
    assert kept == 300 // len("record 00 of the application\n")
    assert r.err.count("--- Logging error ---") == 20 - kept
    assert r.err.count(error) == 20 - kept, r.err[:2000]
    assert not pathlib.Path(f"{log}.1").exists()


# ---------------------------------------------------------------- logrotate

def write_log(path, n=100):
    with open(path, "a") as f:
        for i in range(n):
            f.write(f"line {i}\n")


def test_logrotate_recommended_recipe_twice(served, tmp_path):
    """fixtures/servers/logrotate.conf (copy, dateext, olddir on another file
    system, compress there): forced twice in a row, then once as cron runs it
    — no error; the copies are outside the mount and the logs are untouched."""
    for name in ("access.log", "error.log"):
        write_log(served.path / "nginx" / name)
    before = {n: (served.path / "nginx" / n).read_bytes() for n in ("access.log", "error.log")}
    backups = tmp_path / "backups"
    conf = tmp_path / "logrotate.conf"
    conf.write_text((SERVERS / "logrotate.conf").read_text().replace(FIXTURE_MOUNT, str(served.path))
                    .replace("/var/backups/audit-store", str(backups)))
    state = tmp_path / "logrotate.state"
    for forced in (True, True, False):
        time.sleep(1.1)   # dateformat -%Y%m%d-%s: a new name each second
        r = run("logrotate", *(["-f"] if forced else []), "-s", state, conf)
        assert (r.returncode, r.out, r.err) == (0, "", ""), r.err
    copies = sorted(backups.glob("access.log-*.gz"))
    assert len(copies) == 2 and len(list(backups.glob("error.log-*.gz"))) == 2
    assert all(gzip.decompress(c.read_bytes()) == before["access.log"] for c in copies)
    assert {n: (served.path / "nginx" / n).read_bytes() for n in before} == before
    assert_verified(served.store)


CANNOT_WORK = {
    # recipe: (config body, [error of the first run, error of the second run])
    "create": ("create 0640 root adm\n    rotate 2",
               ["error: failed to rename {d}/a.log to {d}/a.log.1: Operation not permitted"] * 2),
    "copytruncate": ("copytruncate\n    rotate 2",
                     ["error: error truncating {d}/a.log: Operation not permitted",
                      "error: error renaming {d}/a.log.1 to {d}/a.log.2: Operation not permitted"]),
    # The first run copies a.log to a.log.1 and gzips it, then cannot set the
    # .gz's times nor remove a.log.1: exit 1 without a message.
    "compress": ("copy\n    compress\n    rotate 2",
                 ["", "error: error renaming {d}/a.log.1.gz to {d}/a.log.2.gz: Operation not permitted"]),
}


@pytest.mark.parametrize("recipe", sorted(CANNOT_WORK))
def test_logrotate_recipes_that_cannot_work(served, tmp_path, recipe):
    """Rotation inside the mount: exit 1 with these exact errors, twice; the
    log itself is never changed."""
    body, errors = CANNOT_WORK[recipe]
    d = served.path / "nginx"
    write_log(d / "a.log")
    before = (d / "a.log").read_bytes()
    conf = tmp_path / "logrotate.conf"
    conf.write_text(f"{d}/a.log {{\n    {body}\n}}\n")
    for expected in errors:
        r = run("logrotate", "-f", "-s", tmp_path / "state", conf)
        assert r.returncode == 1
        assert r.err.strip() == expected.format(d=d), r.err
    assert (d / "a.log").read_bytes() == before
    assert_verified(served.store)


# ---------------------------------------------------------------- troubleshooting

def test_permission_errors_are_explained(served):
    """docs/SERVERS.md "Permission errors": EPERM is the mount's write-once
    rules, EACCES the policy (or the mode bits); policy denials are in
    /.audit/decisions, and `auditfs policy explain` says why."""
    app = served.path / "app" / "app.log"
    app.write_text("started\n")
    r = run("cat", app, user="www-data")
    assert (r.returncode, r.err) == (1, f"cat: {app}: Permission denied\n")
    r = run("sh", "-c", f"echo x > {app}")
    assert r.returncode != 0 and r.err.endswith(f"{app}: Operation not permitted\n"), r.err
    r = run("sh", "-c", f"grep -h '\"decision\":\"deny\"' {served.path}/.audit/decisions/*.jsonl")
    denials = [json.loads(line) for line in r.out.splitlines()]
    assert any(d["path"] == "/app/app.log" and d["uid"] == www_data() and d["reason"] == "default-deny"
               and d["error"] == "EACCES" for d in denials), denials
    assert any(d["path"] == "/app/app.log" and d["uid"] == 0 and d["mountRule"] == "no-truncate"
               and d["error"] == "EPERM" for d in denials), denials
    assert auditfs("policy", "check", POLICY).returncode == 0
    r = auditfs("policy", "explain", POLICY, "--user", "www-data", "--path", "/app/app.log", "--verb", "read")
    assert r.out.startswith("deny"), r.out + r.err
