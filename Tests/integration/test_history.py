"""History mode (issue 12, `-o history`): real programs that rotate their
logs by rename and unlink, unmodified, against a real FUSE mount. For each:
every line written is in the store, under its visible name or retired under
/.audit/retired; `auditfs verify` passes; the rename and retire records name
the program. Then what history mode must still refuse: users without the
`rename`/`remove` grants, writes to a retired file, moves into or out of
/.audit; and without `-o history` the same operations refused as before.

What each program does was measured with strace on tmpfs (Debian 12:
auditd 3.0.9, Python 3.11, OpenJDK 17 java.util.logging, logrotate
3.21.0, runit 2.1.2 svlogd, daemontools 0.76 multilog); each test's docstring says what it relies on."""
import collections
import errno
import fcntl
import gzip
import json
import os
import pathlib
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import auditfs, run
from mountlib import Mount, assert_user_files_unchanged, log_entries, user_state, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

SYSTEM_PYTHON = "/usr/bin/python3"
RETIRED = re.compile(r"^(?P<name>.+)@(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)#(?P<seq>\d+)(~\d+)?$")


# ---------------------------------------------------------------- helpers

@pytest.fixture
def hist(store, place):
    """A fresh store mounted with -o history (the built-in policy: root may
    do what the mount allows, rename and remove included)."""
    m = Mount(store, place / "mnt", options=["history"])
    try:
        yield m
    finally:
        m.cleanup()


def assert_verified(store):
    r = auditfs("verify", store)
    assert r.returncode == 0, f"verify failed: {r.out}{r.err}"


def stored(m, directory):
    """Every file that was ever in `directory` of the mount (not below it),
    read through the mount: {name: bytes} for the visible ones and
    {retired name: bytes} for those under /.audit/retired/DIRECTORY."""
    visible = {p.name: p.read_bytes() for p in sorted((m.path / directory).iterdir()) if p.is_file()}
    retired_dir = m.path / ".audit" / "retired" / directory
    retired = {}
    if retired_dir.is_dir():
        for p in sorted(retired_dir.iterdir()):
            if p.is_file():
                assert RETIRED.match(p.name), f"retired name {p.name!r} is not NAME@TIME#SEQ (FORMAT.md)"
                retired[p.name] = p.read_bytes()
    return visible, retired


def original(retired_name):
    return RETIRED.match(retired_name)["name"]


def numbers(blobs, pattern):
    """How many times each number matching `pattern` (one group) occurs in
    the byte strings `blobs`."""
    rx = re.compile(pattern.encode())
    return collections.Counter(int(n) for b in blobs for n in rx.findall(b))


def assert_each_once(counts, n, what):
    missing = [i for i in range(n) if counts[i] == 0]
    repeated = {i: c for i, c in counts.items() if c > 1}
    extra = [i for i in counts if not 0 <= i < n]
    assert not missing and not repeated and not extra, \
        f"{what}: {len(missing)} of {n} missing (first {missing[:5]}), repeated {list(repeated.items())[:5]}, unexpected {extra[:5]}"


def renames(store, under):
    """The rename records (renames and retires) of files under `under`
    (a mount path such as "/audit"), by either of their names."""
    def inside(p):
        return p == under or p.startswith(under + "/") or p.startswith("/.audit/retired" + under + "/")
    return [e for e in log_entries(store) if e["op"] == "rename" and (inside(e.get("from", "")) or inside(e.get("to", "")))]


def retires(records):
    return [e for e in records if e["to"].startswith("/.audit/retired/")]


def assert_records_name(records, commands):
    who = collections.Counter(e["command"] for e in records)
    assert records and set(who) <= set(commands), f"rename records by {dict(who)}, expected {commands}"


def assert_retired_match_records(m, directory, retired, records):
    """Each retired file listed through the mount is the target of exactly
    one retire record, and each retire record's target is listed."""
    listed = {f"/.audit/retired/{directory}/{name}" for name in retired}
    recorded = [e["to"] for e in retires(records)]
    assert sorted(recorded) == sorted(listed), f"retire records {sorted(recorded)[:5]} vs listed {sorted(listed)[:5]}"


def run_with_timeout(cmd, input=None, timeout=60, **kw):
    """Runs `cmd`; a program that pauses forever (svlogd, multilog) is killed
    at `timeout` and its stderr is in the failure."""
    p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE if input is not None else None,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    try:
        out, err = p.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"{cmd[0]} did not finish in {timeout}s: {err.decode(errors='replace')[-2000:]}")
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


# ---------------------------------------------------------------- auditd

NETLINK_AUDIT, AUDIT_USER, NLMSG_ERROR = 9, 1005, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4


def audit_status():
    r = run("auditctl", "-s", check=True)
    return dict(line.split(" ", 1) for line in r.out.splitlines() if " " in line)


def send_user_messages(n, padding, start, end):
    """Messages start..<end of n as AUDIT_USER messages straight to the
    kernel over netlink (what `auditctl -m` sends, without a process per
    message), each acknowledged; the kernel stamps each with its serial and
    queues it for auditd."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT) as s:
        s.bind((0, 0))
        for i in range(start, end):
            body = f"auditfs-history event {i:06d} of {n} {padding}".encode() + b"\0"
            s.send(struct.pack("=IHHII", 16 + len(body), AUDIT_USER, NLM_F_REQUEST | NLM_F_ACK, i + 1, 0) + body)
            reply = s.recv(8192)
            kind, error = struct.unpack("=H", reply[4:6])[0], struct.unpack("=i", reply[16:20])[0]
            assert kind == NLMSG_ERROR and error == 0, f"message {i}: netlink answered type {kind} error {error}"


class SyslogSink:
    """Collects syslog(3) lines sent to /dev/log while it runs, when nothing
    else listens there (no syslog daemon in CI): auditd reports suspending,
    rotation errors and write errors only through syslog."""

    def __init__(self):
        self.lines, self.sock = [], None
        self.listening = not os.path.exists("/dev/log")
        if not self.listening:
            return
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("/dev/log")
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                self.lines.append(self.sock.recv(65536).decode(errors="replace"))
            except socket.timeout:
                pass

    def close(self):
        if self.sock is None:
            return
        self.running = False
        self.thread.join()
        self.sock.close()
        os.unlink("/dev/log")
        self.sock = None


def test_auditd_rotates_on_the_mount_and_keeps_every_event(hist, tmp_path):
    """auditd 3.0.9 with Debian's auditd.conf, only log_file, max_log_file
    (1 MiB) and num_logs (5) changed; `auditd -n -c DIR` (no fork; -f would
    send the events to stderr instead of the log). At start it chmods and
    chowns the log directory (0750 root:adm), creates audit.log with
    O_CREAT|O_EXCL 0640 and reopens it O_WRONLY|O_APPEND, fchmod 0640 +
    fchown 0:adm. Rotation (strace): fchmod(log, 0440) of the full log, then
    rename .3→.4 (over the oldest: a replace), .2→.3, .1→.2, log→.1, and a
    new log as at start; it unlinks nothing. Refused (strict mode) it
    logged "Error rotating logs ... (Operation not permitted)" and "Audit
    daemon is suspending logging" to syslog and stored nothing more.
    Driven with padded AUDIT_USER messages sent over netlink (as
    `auditctl -m`) and real syscall events (an openat rule on a tmp dir);
    every kernel serial from the first to the last is stored once."""
    with open("/tmp/auditfs-test-auditd.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # one audit daemon per host: concurrent runs take turns
        status = audit_status()
        assert status["pid"] == "0", f"an audit daemon (pid {status['pid']}) already runs: stop it to run this test"
        run_auditd(hist, tmp_path, status)


def run_auditd(hist, tmp_path, status):
    rules_before = run("auditctl", "-l", check=True).out
    logdir = hist.path / "audit"
    logdir.mkdir()
    conf = tmp_path / "auditd"
    conf.mkdir()
    text = pathlib.Path("/etc/audit/auditd.conf").read_text()
    for key, value in (("log_file", logdir / "audit.log"), ("max_log_file", 1), ("num_logs", 5),
                       ("max_log_file_action", "ROTATE"), ("disk_error_action", "SUSPEND")):
        text, k = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert k == 1, key
    (conf / "auditd.conf").write_text(text)
    watched = tmp_path / "watched"
    watched.mkdir()
    rule = ["always,exit", "-F", "arch=b64", "-S", "openat", "-F", f"dir={watched}", "-k", "auditfs-history"]
    state_file = pathlib.Path("/var/run/auditd.state")
    state_existed = state_file.exists()
    n, opens = 7500, 300
    sink = SyslogSink()
    proc = None
    rule_added = False
    try:
        proc = subprocess.Popen(["auditd", "-n", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(lambda: audit_status()["pid"] == str(proc.pid) or proc.poll() is not None, what="auditd to register")
        assert proc.poll() is None, proc.stderr.read().decode()
        wait_until(lambda: (logdir / "audit.log").exists(), what="auditd's log")
        lost_before = int(audit_status()["lost"])
        run("auditctl", "-a", *rule, check=True)
        rule_added = True
        padding = "pad=" + "0123456789abcdef" * 50    # ~1 KiB a record: 1 MiB is ~1000 events
        for part in range(10):      # syscall events between the messages
            send_user_messages(n, padding, part * n // 10, (part + 1) * n // 10)
            for i in range(opens // 10):
                os.close(os.open(watched / f"f{part}-{i}", os.O_WRONLY | os.O_CREAT, 0o600))
        last = f"auditfs-history event {n - 1:06d} of {n}".encode()
        deadline = time.monotonic() + 120
        while not any(f.exists() and last in f.read_bytes() for f in (logdir / "audit.log", logdir / "audit.log.1")):
            assert time.monotonic() < deadline, "the last event never reached the log"
            time.sleep(0.3)
        os.kill(proc.pid, signal.SIGCONT)     # auditd dumps its state
        wait_until(lambda: state_file.exists() and "logging suspended" in state_file.read_text(), what="auditd.state")
        state = state_file.read_text()
        assert int(audit_status()["lost"]) == lost_before, "the kernel dropped events"
    finally:
        if rule_added:
            run("auditctl", "-d", *rule)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        run("auditctl", "-e", status["enabled"])
        if not state_existed:
            state_file.unlink(missing_ok=True)
        sink.close()
    assert run("auditctl", "-l", check=True).out == rules_before
    err = proc.stderr.read().decode(errors="replace")
    said = "\n".join(sink.lines) + err
    assert proc.returncode == 0, err
    assert "logging suspended = no" in state and "writing to logs = yes" in state and "disk error detected = no" in state, state
    for bad in ("suspend", "Error rotating", "Couldn't change permissions", "write error"):
        assert bad not in said, f"auditd said {bad!r}: {said[-3000:]}"
    if sink.listening:          # syslog was ours to read: it saw each rotation
        assert said.count("Audit daemon rotating log files") >= 6, said[-3000:]

    visible, retired = stored(hist, "audit")
    blobs = list(visible.values()) + list(retired.values())
    assert_each_once(numbers(blobs, r"auditfs-history event (\d+) of"), n, "user messages")
    records = re.findall(rb"type=(\S+) msg=audit\(\d+\.\d+:(\d+)\)", b"".join(blobs))
    serials = sorted({int(s) for kind, s in records if not kind.startswith(b"DAEMON_")})
    gaps = sorted(set(range(serials[0], serials[-1] + 1)) - set(serials))
    assert not gaps, f"{len(gaps)} kernel serials between {serials[0]} and {serials[-1]} are in no file: {gaps[:10]}"
    syscalls = [b for b in blobs for _ in re.finditer(rb"type=SYSCALL [^\n]*key=\"auditfs-history\"", b)]
    assert len(syscalls) == opens, f"{len(syscalls)} openat events of {opens}"
    assert b"type=DAEMON_END" in visible["audit.log"], "auditd wrote its end record after the rotations"

    records = renames(hist.store, "/audit")
    rotations = [e for e in records if (e["from"], e["to"]) == ("/audit/audit.log", "/audit/audit.log.1")]
    assert len(rotations) >= 6, f"{len(rotations)} rotations"
    replaced = retires(records)
    assert len(replaced) == len(rotations) - 4 and {original(r) for r in retired} == {"audit.log.4"}, \
        f"{len(replaced)} replaced of {len(rotations)} rotations, retired {sorted(retired)}"
    assert all(e["reason"] == "replaced" for e in replaced), replaced
    assert sorted(visible) == ["audit.log", "audit.log.1", "audit.log.2", "audit.log.3", "audit.log.4"]
    assert_records_name(records, {"auditd"})
    frozen = [e for e in log_entries(hist.store, "/audit") if e["op"] == "setattr" and e["command"] == "auditd"]
    assert len(frozen) >= len(rotations), "auditd's fchmod 0440 of each full log is recorded"
    assert_retired_match_records(hist, "audit", retired, records)
    hist.unmount()
    assert_verified(hist.store)
    print(f"auditd: {n} messages + {opens} syscall events, {len(serials)} serials, {len(rotations)} rotations, "
          f"{len(replaced)} logs retired, {sum(map(len, blobs))} bytes")


# ---------------------------------------------------------------- Python logging

ROTATING = """\
import logging, logging.handlers, sys, time
kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "size":
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2000, backupCount=3)
else:
    handler = logging.handlers.TimedRotatingFileHandler(path, when="S", interval=1, backupCount=2)
handler.setFormatter(logging.Formatter("%(message)s"))
log = logging.getLogger("app")
log.addHandler(handler)
log.setLevel(logging.INFO)
for i in range(n):
    log.info("record %06d of %d from the application", i, n)
    if kind == "time":
        time.sleep(0.02)
"""


@pytest.mark.parametrize("kind", ["size", "time"])
def test_python_rotating_handlers_keep_every_record(hist, tmp_path, kind):
    """RotatingFileHandler (maxBytes 2000, backupCount 3) at each rollover
    closes the log, unlinks log.3 once it exists, renames log.2→.3, .1→.2,
    log→.1 and reopens log O_WRONLY|O_CREAT|O_APPEND; it stats the path
    before each record. TimedRotatingFileHandler (when='S', backupCount 2)
    renames log→log.YYYY-MM-DD_HH-MM-SS, lists the directory and unlinks the
    backups beyond 2. Refused (strict mode) every record after the first
    rollover was lost with a traceback each. Here: exit 0, nothing on
    stderr, every record in exactly one file (visible or retired), and
    `auditfs log STORE /app/app.log` follows every file that bore the name."""
    (hist.path / "app").mkdir()
    script = tmp_path / "rotating.py"
    script.write_text(ROTATING)
    n = 400 if kind == "size" else 200
    r = run(SYSTEM_PYTHON, script, kind, hist.path / "app" / "app.log", n, timeout=120)
    assert (r.returncode, r.err) == (0, ""), r.err[-3000:]
    visible, retired = stored(hist, "app")
    assert_each_once(numbers(list(visible.values()) + list(retired.values()), r"record (\d+) of"), n, kind)
    records = renames(hist.store, "/app")
    assert_records_name(records, {"python3"})
    assert_retired_match_records(hist, "app", retired, records)
    moved = [e for e in records if e["from"] == "/app/app.log"]
    if kind == "size":
        assert sorted(visible) == ["app.log", "app.log.1", "app.log.2", "app.log.3"]
        assert len(moved) >= 8 and len(retired) == len(moved) - 3, (len(moved), sorted(retired))
        assert {original(name) for name in retired} == {"app.log.3"}
    else:
        assert len(moved) >= 3 and len(visible) == 3 and len(retired) == len(moved) - 2, (len(moved), sorted(visible), sorted(retired))
    assert all(e["reason"] == "unlink" for e in retires(records)), retires(records)
    # Every block written to a file while it was /app/app.log, under all its later names.
    followed = [e for e in log_entries(hist.store, "/app/app.log") if e["op"] == "append"]
    assert sum(e["length"] for e in followed) == sum(map(len, visible.values())) + sum(map(len, retired.values()))
    hist.unmount()
    assert_verified(hist.store)
    print(f"python {kind}: {n} records, {len(moved)} rollovers, {len(retired)} retired")


# ---------------------------------------------------------------- java.util.logging

JAVA = """\
import java.util.logging.*;

public class Rotating {
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[1]);
        FileHandler handler = new FileHandler(args[0], 2000, 4, true);
        handler.setFormatter(new Formatter() {
            public String format(LogRecord r) { return r.getMessage() + "\\n"; }
        });
        Logger log = Logger.getLogger("rotating");
        log.setUseParentHandlers(false);
        log.addHandler(handler);
        for (int i = 0; i < n; i++) log.info("record " + i + " of java");
        handler.close();
    }
}
"""


def test_java_util_logging_file_handler_keeps_every_record(hist, tmp_path):
    """java.util.logging's FileHandler (limit 2000, count 4, pattern
    app%g.log): it holds app0.log.lck (created O_EXCL, unlinked at close);
    at each rotation it closes app0.log, deletes app3.log when it exists,
    renames app2→app3, app1→app2, app0→app1 and opens a new app0.log.
    Without history its renameTo fails silently, then reopening app0.log
    with truncation is refused: one stack trace from its ErrorManager, 112
    of 1,000 records stored, exit 0 (measured). Here: nothing on stderr,
    every record in exactly one file (visible or retired)."""
    (hist.path / "app").mkdir()
    (tmp_path / "Rotating.java").write_text(JAVA)
    run("javac", "-d", tmp_path, tmp_path / "Rotating.java", check=True, timeout=120)
    n = 1000
    r = run("java", "-cp", tmp_path, "Rotating", hist.path / "app" / "app%g.log", n, timeout=120)
    assert (r.returncode, r.err) == (0, ""), r.err[-3000:]
    visible, retired = stored(hist, "app")
    assert_each_once(numbers(list(visible.values()) + list(retired.values()), r"record (\d+) of java"), n, "java")
    assert sorted(visible) == ["app0.log", "app1.log", "app2.log", "app3.log"], sorted(visible)
    records = renames(hist.store, "/app")
    assert_records_name(records, {"java"})
    assert_retired_match_records(hist, "app", retired, records)
    assert {original(name) for name in retired} == {"app3.log", "app0.log.lck"}, sorted(retired)
    hist.unmount()
    assert_verified(hist.store)
    print(f"java: {n} records, {len([e for e in records if e['from'] == '/app/app0.log'])} rotations, {len(retired)} retired")


# ---------------------------------------------------------------- logrotate

WRITER = """\
import os, signal, sys, time
path, ack = sys.argv[1], sys.argv[2]
reopen = stop = False
def hup(*_):
    global reopen
    reopen = True
def term(*_):
    global stop
    stop = True
signal.signal(signal.SIGHUP, hup)
signal.signal(signal.SIGTERM, term)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
i = 0
while not stop:
    if reopen:                  # logrotate's postrotate: reopen the new log, then say so
        reopen = False
        os.close(fd)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        open(ack, "w").close()
    os.write(fd, b"writer line %06d of the service\\n" % i)
    i += 1
    time.sleep(0.002)
print(i)
"""


def test_logrotate_create_compress_dateext_with_a_live_writer(hist, tmp_path):
    """logrotate 3.21 with create, compress, dateext, rotate 2, forced (-f)
    four times a second apart, while a writer appends to the log: rename
    log→log-DATE, create log O_RDWR|O_CREAT|O_EXCL 0600, fchmod/fchown it
    (empty), run postrotate (here: SIGHUP the writer and wait until it has
    reopened the new log), gzip log-DATE into log-DATE.gz (created O_EXCL
    0600; fsetxattr of an ACL, refused by the mount and ignored; utimensat
    of the non-empty .gz), unlink log-DATE, and unlink the oldest .gz beyond
    rotate 2. Refused (strict mode): "failed to rename". Here every line is
    in exactly one uncompressed file (the log or a retired log-DATE), each
    .gz holds exactly its log-DATE, logrotate exits 0 and says nothing."""
    d = hist.path / "app"
    d.mkdir()
    log = d / "app.log"
    ack = tmp_path / "reopened"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    writer = subprocess.Popen([SYSTEM_PYTHON, str(script), str(log), str(ack)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conf = tmp_path / "logrotate.conf"
    conf.write_text(f"""{log} {{
    create 0640 root adm
    compress
    dateext
    dateformat -%Y%m%d-%s
    rotate 2
    postrotate
        kill -HUP {writer.pid}
        while [ ! -e {ack} ]; do sleep 0.01; done
        rm -f {ack}
    endscript
}}
""")
    runs = 4
    try:
        wait_until(lambda: log.exists() and log.stat().st_size > 0, what="the writer's first line")
        for i in range(runs):
            time.sleep(1.1)          # dateformat -%s: a new name each second
            r = run("logrotate", "-f", "-s", tmp_path / "state", conf, timeout=60)
            assert (r.returncode, r.out, r.err) == (0, "", ""), r.err
        time.sleep(0.2)
    finally:
        writer.terminate()
        out, err = writer.communicate(timeout=30)
    assert (writer.returncode, err) == (0, b""), err.decode()[-2000:]
    n = int(out)
    visible, retired = stored(hist, "app")
    uncompressed = [b for name, b in visible.items() if not name.endswith(".gz")] + \
                   [b for name, b in retired.items() if not original(name).endswith(".gz")]
    assert_each_once(numbers(uncompressed, r"writer line (\d+) of"), n, "writer lines")
    gz = {name: b for name, b in visible.items() if name.endswith(".gz")}
    gz.update({original(name): b for name, b in retired.items() if original(name).endswith(".gz")})
    dated = {original(name): b for name, b in retired.items() if not original(name).endswith(".gz")}
    assert len(gz) == runs and len(dated) == runs, (sorted(gz), sorted(dated))
    for name, b in gz.items():
        assert gzip.decompress(b) == dated[name[:-len(".gz")]], name
    assert sorted(n for n in visible if n.endswith(".gz")) == sorted(gz)[-2:], "rotate 2 keeps the newest two"
    records = renames(hist.store, "/app")
    assert_records_name(records, {"logrotate"})
    assert_retired_match_records(hist, "app", retired, records)
    assert len([e for e in records if e["from"] == "/app/app.log"]) == runs
    assert len(retires(records)) == runs + runs - 2 and all(e["reason"] == "unlink" for e in retires(records))
    hist.unmount()
    assert_verified(hist.store)
    print(f"logrotate: {n} lines, {runs} rotations, {len(retired)} retired")


# ---------------------------------------------------------------- svlogd, multilog

def service_lines(n, name):
    return b"".join(b"%s line %06d of the service\n" % (name.encode(), i) for i in range(n))


def test_svlogd_rotates_by_size(hist):
    """runit's svlogd with `s4096` and `n3` in DIR/config: it takes a lock
    (flock on DIR/lock), opens current O_WRONLY|O_CREAT|O_APPEND 0600 and
    fchmods it 0644; to rotate it fsyncs current, fchmods it 0744 (a
    non-empty file), renames it to @TAI64N.s, opens a new current, and
    unlinks the oldest @*.s beyond 3. Refused (strict mode) it paused
    forever: "unable to set mode of current". Here it exits at the end of
    its input with every line in exactly one file."""
    d = hist.path / "sv"
    d.mkdir()
    (d / "config").write_text("s4096\nn3\n")
    n = 1000
    rc, out, err = run_with_timeout(["svlogd", d], input=service_lines(n, "svlogd"), timeout=60)
    assert (rc, err) == (0, ""), err[-2000:]
    visible, retired = stored(hist, "sv")
    logs = [b for name, b in visible.items() if name == "current" or name.startswith("@")] + list(retired.values())
    assert_each_once(numbers(logs, r"svlogd line (\d+) of"), n, "svlogd lines")
    records = renames(hist.store, "/sv")
    assert_records_name(records, {"svlogd"})
    assert_retired_match_records(hist, "sv", retired, records)
    rotations = [e for e in records if e["from"] == "/sv/current"]
    assert len(rotations) >= 6 and len([v for v in visible if v.startswith("@")]) == 3
    assert len(retired) == len(rotations) - 3 and all(original(r).startswith("@") for r in retired)
    assert all(e["reason"] == "unlink" for e in retires(records))
    assert all((hist.path / "sv" / v).stat().st_mode & 0o777 == 0o744 for v in visible if v.startswith("@"))
    hist.unmount()
    assert_verified(hist.store)
    print(f"svlogd: {n} lines, {len(rotations)} rotations, {len(retired)} retired")


def test_multilog_pauses_at_its_hard_link(hist, tmp_path):
    """daemontools' multilog `s4096 n3 DIR` cannot rotate even in history
    mode. It takes a lock (flock on DIR/lock), truncates DIR/state (empty),
    opens current O_WRONLY|O_CREAT|O_APPEND 0600 + fchmod 0644; to rotate:
    rename current→previous, a new current, chmod previous 0744, then
    link(previous, @TAI64N.s) and unlink(previous) — a hard link, which the
    mount refuses in every mode (a name added to a stored file). So the
    rename and the chmod are recorded, and multilog pauses, retrying every
    5 s ("unable to link to DIR/@…, pausing") and blocking its writer; what
    it wrote is kept (previous, current). Refused in strict mode it paused
    earlier: "unable to rename current to previous"."""
    d = hist.path / "ml"
    d.mkdir()
    n = 300                                       # ~9 KiB: two rotations' worth
    err_file = tmp_path / "multilog.err"
    with open(err_file, "wb") as err:
        p = subprocess.Popen(["multilog", "s4096", "n3", str(d)], stdin=subprocess.PIPE, stderr=err)
    try:
        p.stdin.write(service_lines(n, "multilog"))
        p.stdin.close()
        wait_until(lambda: b"unable to link to" in err_file.read_bytes() or p.poll() is not None,
                   timeout=30, what="multilog's link to fail")
    finally:
        p.kill()
        p.wait()
    assert re.match(rb"multilog: warning: unable to link to " + re.escape(str(d).encode()) + rb"/@[0-9a-f]{24}\.s, pausing: ",
                    err_file.read_bytes()), err_file.read_bytes()
    visible, retired = stored(hist, "ml")
    assert sorted(visible) == ["current", "lock", "previous", "state"] and retired == {}, (sorted(visible), sorted(retired))
    kept = numbers([visible["previous"], visible["current"]], r"multilog line (\d+) of")
    assert set(kept) == set(range(len(kept))) and max(kept.values()) == 1 and len(kept) >= 50, kept
    assert (d / "previous").stat().st_mode & 0o777 == 0o744, "the chmod of the full log is recorded and in force"
    records = renames(hist.store, "/ml")
    assert [(e["from"], e["to"], e["command"]) for e in records] == [("/ml/current", "/ml/previous", "multilog")]
    links = [dd for dd in decisions(hist.store) if dd["verb"] == "link"]
    assert links and all(dd["error"] == "EPERM" and dd["path"] == "/ml/previous" for dd in links), links
    hist.unmount()
    assert_verified(hist.store)


# ---------------------------------------------------------------- without -o history

def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, f"{fn.__name__}{args}: expected {errno.errorcode[code]}, got {e.value!r}"


STRICT = {
    "rename": lambda m: os.rename(m / "d" / "app.log", m / "d" / "app.log.1"),
    "rename-over": lambda m: os.rename(m / "d" / "app.log", m / "d" / "old.log"),
    "unlink": lambda m: os.unlink(m / "d" / "app.log"),
    "rmdir": lambda m: os.rmdir(m / "empty"),
    "chmod": lambda m: os.chmod(m / "d" / "app.log", 0o444),
}


@pytest.mark.parametrize("op", sorted(STRICT))
def test_without_history_namespace_changes_stay_refused(store, place, op):
    """The default mount is strict as before: rename, unlink, rmdir and a
    chmod of a non-empty file are EPERM, nothing is retired, no byte moves."""
    m = Mount(store, place / "mnt")
    try:
        (m / "d").mkdir()
        (m / "empty").mkdir()
        (m / "d" / "app.log").write_bytes(b"line 1\n")
        (m / "d" / "old.log").write_bytes(b"old\n")
        before = user_state(store)
        expect_errno(errno.EPERM, STRICT[op], m.path)
        assert_user_files_unchanged(store, before, op)
        assert (m / "d" / "app.log").read_bytes() == b"line 1\n" and (m / "empty").is_dir()
        assert not (m / ".audit" / "retired").exists()
    finally:
        m.cleanup()
    assert [e for e in log_entries(store) if e["op"] == "rename"] == []
    assert_verified(store)


def test_without_history_python_rotating_handler_loses_nothing_stored(store, place, tmp_path):
    """RotatingFileHandler on a strict mount: its first rollover's rename is
    EPERM (one traceback per later record, exit 0, as test_servers.py
    shows); what it wrote before stays byte for byte, nothing is renamed."""
    m = Mount(store, place / "mnt")
    try:
        (m / "app").mkdir()
        script = tmp_path / "rotating.py"
        script.write_text(ROTATING)
        r = run(SYSTEM_PYTHON, script, "size", m / "app" / "app.log", 100, timeout=60)
        assert r.returncode == 0
        assert "PermissionError: [Errno 1] Operation not permitted" in r.err
        kept = (m / "app" / "app.log").read_bytes()
        assert sorted(p.name for p in (m / "app").iterdir()) == ["app.log"]
        assert numbers([kept], r"record (\d+) of") == collections.Counter(range(len(kept.splitlines())))
    finally:
        m.cleanup()
    assert sum(e["length"] for e in log_entries(store, "/app/app.log") if e["op"] == "append") == len(kept)
    assert_verified(store)


# ---------------------------------------------------------------- attackers

ROTATOR, WRITER_ONLY = "auditfs-rotator", "auditfs-writer"

ATTACK_POLICY = f"""apiVersion: auditfs/v1
roles:
  - name: admin
    rules:
      - paths: ["/**"]
        verbs: [create, append, mkdir, read, list, setattr, rename, remove]
  - name: writer
    rules:
      - paths: ["/logs/**"]
        verbs: [create, append, read, list]
  - name: rotator
    rules:
      - paths: ["/logs/**"]
        verbs: [create, append, read, list, rename]
bindings:
  - role: admin
    subjects: [{{user: root}}]
  - role: writer
    subjects: [{{user: {WRITER_ONLY}}}]
  - role: rotator
    subjects: [{{user: {ROTATOR}}}]
"""


def ensure_user(name):
    if run("id", "-u", name).returncode != 0:
        run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name, check=True)
    return int(run("id", "-u", name, check=True).out)


def decisions(store):
    names = [line.split()[-1] for line in auditfs("ls", store, "/.audit/decisions", check=True).out.splitlines()]
    return [json.loads(line) for n in sorted(names)
            for line in auditfs("cat", store, f"/.audit/decisions/{n}", check=True).out.splitlines() if line.strip()]


@pytest.fixture
def guarded(store, place):
    """A history mount with ATTACK_POLICY and /logs (0777: the mode bits let
    anyone rename and remove there, so the policy decides) holding root's
    app.log, old.log and an empty directory."""
    uids = {ROTATOR: ensure_user(ROTATOR), WRITER_ONLY: ensure_user(WRITER_ONLY)}
    policy = place / "policy.yaml"
    policy.write_text(ATTACK_POLICY)
    assert auditfs("policy", "check", policy).returncode == 0
    m = Mount(store, place / "mnt", options=["history", f"policy={policy}"])
    try:
        (m / "logs").mkdir()
        os.chmod(m / "logs", 0o777)
        (m / "logs" / "app.log").write_bytes(b"app line 1\n")
        (m / "logs" / "old.log").write_bytes(b"old line 1\n")
        (m / "logs" / "sub").mkdir()
        yield m, uids
    finally:
        m.cleanup()
    assert_verified(store)


def refused_as(m, user, code, *cmd):
    """`cmd` as `user` fails with `code`'s message, and no stored byte or
    record outside /.audit changes."""
    before = user_state(m.store)
    r = run(*cmd, user=user, timeout=30)
    message = os.strerror(code)
    assert r.returncode != 0 and message in r.err, f"{cmd} as {user}: {r.returncode} {r.err!r}, expected {message}"
    assert_user_files_unchanged(m.store, before, f"{cmd[0]} as {user}")


def test_users_without_the_grants_cannot_rename_or_remove(guarded):
    m, uids = guarded
    logs = m / "logs"
    # No rename, no remove: mv and rm are EACCES, each decision recorded as a deny.
    refused_as(m, WRITER_ONLY, errno.EACCES, "mv", logs / "app.log", logs / "app.log.1")
    refused_as(m, WRITER_ONLY, errno.EACCES, "rm", "-f", logs / "app.log")
    refused_as(m, WRITER_ONLY, errno.EACCES, "rmdir", logs / "sub")
    # rename only: mv works; rm, rmdir and a mv over an existing name (which removes it) do not.
    refused_as(m, ROTATOR, errno.EACCES, "rm", "-f", logs / "app.log")
    refused_as(m, ROTATOR, errno.EACCES, "rmdir", logs / "sub")
    refused_as(m, ROTATOR, errno.EACCES, "mv", "-f", logs / "app.log", logs / "old.log")
    assert (logs / "app.log").read_bytes() == b"app line 1\n" and (logs / "old.log").read_bytes() == b"old line 1\n"
    r = run("mv", logs / "app.log", logs / "app.log.1", user=ROTATOR)
    assert r.returncode == 0, r.err
    assert (logs / "app.log.1").read_bytes() == b"app line 1\n" and not (logs / "app.log").exists()
    moved = [e for e in log_entries(m.store) if e["op"] == "rename"]
    assert [(e["from"], e["to"], e["uid"], e["command"]) for e in moved] == \
        [("/logs/app.log", "/logs/app.log.1", uids[ROTATOR], "mv")], moved
    assert not (m / ".audit" / "retired").exists() or not any((m / ".audit" / "retired").rglob("*.log*"))

    ds = decisions(m.store)
    denied = {(d["uid"], d["verb"], d["path"]) for d in ds if d["decision"] == "deny"}
    for who, verb, path in ((WRITER_ONLY, "rename", "/logs/app.log"), (WRITER_ONLY, "remove", "/logs/app.log"),
                            (WRITER_ONLY, "remove", "/logs/sub"), (ROTATOR, "remove", "/logs/app.log"),
                            (ROTATOR, "remove", "/logs/sub"), (ROTATOR, "remove", "/logs/old.log")):
        assert (uids[who], verb, path) in denied, (who, verb, path, sorted(denied))
    assert all(d["error"] == "EACCES" for d in ds if d["decision"] == "deny" and d["uid"] in uids.values())
    granted = [d for d in ds if d["decision"] == "grant" and d["uid"] == uids[ROTATOR] and d["verb"] == "rename"]
    assert granted, "the rotator's rename is recorded as granted"


def test_a_retired_file_is_frozen_and_kept(guarded):
    """A writer keeps its descriptor across an unlink by another process:
    its next write is EPERM (mount rule `retired`, not tamper), the retired
    bytes are unchanged and readable under /.audit/retired, through the
    mount and `auditfs cat`; the retired file cannot be removed, renamed,
    appended or chmodded there, nor anything moved into or out of /.audit."""
    m, _ = guarded
    logs = m / "logs"
    fd = os.open(logs / "app.log", os.O_WRONLY | os.O_APPEND)
    try:
        assert os.write(fd, b"app line 2\n") == 11
        r = run("rm", logs / "app.log")
        assert r.returncode == 0, r.err
        before = user_state(m.store)
        expect_errno(errno.EPERM, os.write, fd, b"after the unlink\n")
        assert_user_files_unchanged(m.store, before, "a write to a retired file")
    finally:
        os.close(fd)
    retired_dir = m / ".audit" / "retired" / "logs"
    [name] = [p.name for p in retired_dir.iterdir()]
    assert original(name) == "app.log", name
    retired = retired_dir / name
    assert retired.read_bytes() == b"app line 1\napp line 2\n"
    assert auditfs("cat", m.store, f"/.audit/retired/logs/{name}", check=True).stdout == b"app line 1\napp line 2\n"
    [rec] = [e for e in log_entries(m.store) if e["op"] == "rename"]
    assert (rec["from"], rec["to"], rec["reason"], rec["command"]) == ("/logs/app.log", f"/.audit/retired/logs/{name}", "unlink", "rm")
    refusal = [d for d in decisions(m.store) if d.get("mountRule") == "retired"]
    assert refusal and refusal[-1]["error"] == "EPERM" and refusal[-1]["tamper"] is False, refusal

    # Nothing moves into or out of /.audit, and nothing there changes.
    for fn, args in ((os.rename, (logs / "old.log", m / ".audit" / "old.log")),
                     (os.rename, (logs / "old.log", retired_dir / "old.log")),
                     (os.rename, (retired, logs / "back.log")),
                     (os.rename, (retired, retired_dir / "renamed")),
                     (os.unlink, (retired,)),
                     (os.rmdir, (retired_dir,)),
                     (os.chmod, (retired, 0o600)),
                     (os.rename, (m / ".audit" / "decisions", logs / "decisions"))):
        before = user_state(m.store)
        expect_errno(errno.EPERM, fn, *args)
        assert_user_files_unchanged(m.store, before, f"{fn.__name__}{args}")
    expect_errno(errno.EPERM, os.open, retired, os.O_WRONLY | os.O_APPEND)
    assert retired.read_bytes() == b"app line 1\napp line 2\n" and (logs / "old.log").read_bytes() == b"old line 1\n"
    tamper = [d for d in decisions(m.store) if d.get("mountRule") == "audit-namespace"]
    assert tamper and all(d["tamper"] and d["error"] == "EPERM" for d in tamper), tamper
