"""Access on a real mount, attacked by real users (issue 10, items 4, 5, 7):
a create-only user must get no handle that reads; the daemon checks the mode
bits itself (no default_permissions) and records every such denial in
/.audit/decisions with reason "mode-bits", including a walk through a name
the kernel cached for another user; a multithreaded writer's blocks carry
its process id, and the decision records its process and thread."""
import errno
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

from conftest import auditfs, run
from mountlib import Mount, log_entries

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

USER = "auditfs-test"            # uid 995, member of the supplementary group applog
OUTSIDER = "nobody"              # uid and gid 65534, no supplementary groups
SUPPLEMENTARY = "applog"


def uid_of(name):
    return int(run("id", "-u", name, check=True).out)


def gid_of_group(name):
    return int(run("getent", "group", name, check=True).out.split(":")[2])


def as_user(name, *cmd, **kw):
    """`cmd` as user `name` with its real groups (setpriv --init-groups);
    the outsider as uid and gid 65534 with no groups."""
    if name == OUTSIDER:
        return run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", *cmd, **kw)
    return run(*cmd, user=name, **kw)


def py_as(name, code, *args, **kw):
    return as_user(name, sys.executable, "-c", textwrap.dedent(code), *[str(a) for a in args], **kw)


@pytest.fixture(scope="module", autouse=True)
def users():
    if run("id", "-u", USER).returncode != 0:
        run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER, check=True)
    if run("getent", "group", SUPPLEMENTARY).returncode != 0:
        run("groupadd", "--system", SUPPLEMENTARY, check=True)
    run("usermod", "-a", "-G", SUPPLEMENTARY, USER, check=True)


@pytest.fixture
def place():
    """A 0755 parent (not pytest's 0700 tmp) so that other users reach the mount."""
    parent = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-access-"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def mount(store, place, *options):
    m = Mount(store, place / "mnt", options=options)
    return m


@pytest.fixture
def mnt(store, place):
    """The built-in policy (everyone may do what the mount allows): every
    denial here comes from the mode bits."""
    m = mount(store, place)
    try:
        yield m
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0


def decisions(store):
    names = [line.split()[-1] for line in auditfs("ls", store, "/.audit/decisions", check=True).out.splitlines()]
    out = []
    for n in sorted(names):
        text = auditfs("cat", store, f"/.audit/decisions/{n}", check=True).out
        out += [json.loads(line) for line in text.splitlines() if line.strip()]
    return out


def mode_bit_denials(store, **match):
    return [d for d in decisions(store) if d["reason"] == "mode-bits"
            and all(d.get(k) == v for k, v in match.items())]


def make_file(path, data=b"", mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    try:
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)


# ---- item 4: the creator's handle is decided like an open -------------------------------------

DROPBOX_POLICY = """\
apiVersion: auditfs/v1
roles:
  - name: admin
    rules:
      - paths: ["/**"]
        verbs: [create, append, mkdir, read, list, setattr]
  - name: dropbox
    rules:
      - paths: ["/drop/**"]
        verbs: [create, append]
bindings:
  - role: admin
    subjects: [{user: root}]
  - role: dropbox
    subjects: [{user: %s}]
""" % USER

# Opens PATH with O_CREAT and the access mode in argv[2]; on success says
# "opened", waits for a line on stdin (root appends meanwhile) and prints what
# the handle reads. On failure prints the errno name.
CREATE_AND_READ_LATER = """
import errno, os, sys
flags = {"rdwr": os.O_RDWR, "rdonly": os.O_RDONLY}[sys.argv[2]] | os.O_CREAT
try:
    fd = os.open(sys.argv[1], flags, 0o644)
except OSError as e:
    print("refused", errno.errorcode[e.errno], flush=True)
    sys.exit(0)
print("opened", flush=True)
sys.stdin.readline()
print("read", os.pread(fd, 4096, 0).decode(errors="replace"), flush=True)
"""


@pytest.mark.parametrize("access", ["rdwr", "rdonly"])
def test_create_only_user_gets_no_handle_that_reads_what_others_append(store, place, access):
    policy = place / "policy.yaml"
    policy.write_text(DROPBOX_POLICY)
    m = mount(store, place, f"policy={policy}")
    try:
        os.mkdir(m / "drop", 0o777)
        os.chmod(m / "drop", 0o777)
        target = m / "drop" / "shared.log"
        p = subprocess.Popen(["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "--",
                              sys.executable, "-c", CREATE_AND_READ_LATER, str(target), access],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            first = p.stdout.readline().split()
            if first == ["opened"]:
                make_file(target, b"root's secret line\n")     # another writer appends later
                p.stdin.write("go\n")
                p.stdin.flush()
            out, _ = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert first == ["refused", "EACCES"], f"the create-only user got a handle: {first} then {out!r}"
        assert not target.exists(), "a refused create must make nothing"
        denied = [d for d in decisions(store) if d["path"] == "/drop/shared.log" and d["decision"] == "deny"]
        assert [(d["verb"], d["uid"], d["errno"]) for d in denied] == [("read", uid_of(USER), errno.EACCES)]

        # What the grant is for still works: create, append, never read.
        r = as_user(USER, "sh", "-c", f"printf 'mine\\n' >> '{target}'")
        assert r.returncode == 0, r.err
        r = py_as(USER, """
            import os, sys
            fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(fd, b"more\\n")
            """, target)
        assert r.returncode == 0, r.err
        assert target.read_bytes() == b"mine\nmore\n"
        assert as_user(USER, "cat", target).returncode != 0
    finally:
        m.cleanup()
    assert auditfs("verify", store).returncode == 0


# ---- item 7: the process id, not the thread id ----------------------------------------------

THREADED_WRITER = """
import os, sys, threading
base = sys.argv[1]
tids = []
barrier = threading.Barrier(4)
def work(i):
    tids.append(threading.get_native_id())
    barrier.wait()
    fd = os.open(os.path.join(base, f"t{i}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for n in range(5):
        os.write(fd, f"thread {i} line {n}\\n".encode())
    os.close(fd)
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(os.getpid(), " ".join(map(str, tids)))
"""


def test_threaded_writer_blocks_carry_the_process_id(mnt):
    os.mkdir(mnt / "threads", 0o777)
    os.chmod(mnt / "threads", 0o777)
    r = as_user(USER, sys.executable, "-c", THREADED_WRITER, mnt / "threads")
    assert r.returncode == 0, r.err
    pid, *tids = (int(x) for x in r.out.split())
    assert len(set(tids)) == 4 and pid not in tids
    blocks = [e for e in log_entries(mnt.store) if e["path"].startswith("/threads/t")]
    assert len([b for b in blocks if b["op"] == "append"]) == 20
    assert {b["pid"] for b in blocks} == {pid}, "every block names the process, not its threads"
    ds = [d for d in decisions(mnt.store) if d["path"].startswith("/threads/t")]
    assert ds and {d["pid"] for d in ds} == {pid}
    assert {d["tid"] for d in ds} == set(tids), "each decision names the thread that asked"
