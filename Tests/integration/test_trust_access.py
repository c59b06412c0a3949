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


# ---- item 5: the mode bits, checked and recorded by the daemon ---------------------------------

def test_mount_has_no_default_permissions(mnt):
    with open("/proc/self/mountinfo") as f:
        line = next(line for line in f if line.split(" ")[4] == str(mnt.path))
    assert "default_permissions" not in line and "allow_other" in line


def test_file_0600_of_root_read_by_user_is_denied_and_recorded(mnt):
    make_file(mnt / "secret.log", b"root only\n", 0o600)
    r = as_user(USER, "cat", mnt / "secret.log")
    assert r.returncode != 0 and "Permission denied" in r.err
    r = as_user(USER, "sh", "-c", f"printf x >> '{mnt / 'secret.log'}'")
    assert r.returncode != 0 and "Permission denied" in r.err
    assert (mnt / "secret.log").read_bytes() == b"root only\n"
    ds = mode_bit_denials(mnt.store, path="/secret.log", verb="open")
    assert {d["needed"] for d in ds} == {"r", "w"}, ds
    for d in ds:
        assert (d["decision"], d["errno"], d["error"], d["uid"]) == ("deny", errno.EACCES, "EACCES", uid_of(USER))
        assert (d["modePath"], d["mode"], d["ownerUid"], d["ownerGid"]) == ("/secret.log", "0600", 0, 0)


def private_tree(m):
    """/private: 0700, owned by nobody (chown while empty), holding f, made by root."""
    os.mkdir(m / "private", 0o700)
    os.chown(m / "private", uid_of(OUTSIDER), -1)
    make_file(m / "private" / "f", b"private bytes\n", 0o644)


def test_directory_0700_of_another_user_denies_search_and_list_and_is_recorded(mnt):
    private_tree(mnt)
    for cmd in (["cat", mnt / "private" / "f"], ["stat", mnt / "private" / "f"], ["ls", mnt / "private"],
                ["sh", "-c", f"printf x >> '{mnt / 'private' / 'new.log'}'"], ["mkdir", mnt / "private" / "d"]):
        r = as_user(USER, *cmd)
        assert r.returncode != 0 and "Permission denied" in r.err, (cmd, r.err)
    assert not (mnt / "private" / "new.log").exists() and not (mnt / "private" / "d").exists()
    ds = mode_bit_denials(mnt.store, uid=uid_of(USER))
    lookups = [d for d in ds if d["verb"] == "lookup"]
    assert {d["path"] for d in lookups} >= {"/private/f", "/private/new.log", "/private/d"}
    for d in lookups:
        assert (d["modePath"], d["mode"], d["ownerUid"], d["needed"]) == ("/private", "0700", uid_of(OUTSIDER), "x")
    assert any(d["verb"] == "opendir" and d["path"] == "/private" and d["needed"] == "r" for d in ds), ds
    # The owner gets in; root bypasses the bits.
    assert as_user(OUTSIDER, "cat", mnt / "private" / "f").out == "private bytes\n"
    assert (mnt / "private" / "f").read_bytes() == b"private bytes\n"


# Run by root: stats the path (the kernel now holds its names in its dentry
# cache), then a forked child becomes the user and walks the same names at
# once, long before any entry timeout.
DENTRY_TRICK = """
import errno, os, sys
path, uid, gid, groups = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(g) for g in sys.argv[4].split(",")]
os.stat(path)
with open(path, "rb") as f:
    f.read()
pid = os.fork()
if pid == 0:
    os.setgroups(groups); os.setgid(gid); os.setuid(uid)
    results = []
    for what in (lambda: os.stat(path), lambda: open(path, "rb").read(), lambda: os.access(path, os.F_OK) or 1 / 0):
        try:
            what()
            results.append("ok")
        except ZeroDivisionError:
            results.append("EACCES-by-access")
        except OSError as e:
            results.append(errno.errorcode[e.errno])
    print(" ".join(results), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_user_cannot_walk_a_name_the_kernel_cached_for_root(mnt):
    private_tree(mnt)
    groups = ",".join(str(g) for g in os.getgrouplist(USER, int(run("id", "-g", USER, check=True).out)))
    r = run(sys.executable, "-c", DENTRY_TRICK, mnt / "private" / "f", uid_of(USER),
            run("id", "-g", USER, check=True).out.strip(), groups)
    assert r.returncode == 0, r.err
    assert r.out.split() == ["EACCES", "EACCES", "EACCES-by-access"], r.out
    ds = mode_bit_denials(mnt.store, uid=uid_of(USER), path="/private/f")
    assert ds and all(d["modePath"] == "/private" and d["needed"] == "x" for d in ds), ds


def test_supplementary_group_grants_and_others_are_denied(mnt):
    os.mkdir(mnt / "team", 0o750)
    os.chown(mnt / "team", 0, gid_of_group(SUPPLEMENTARY))
    make_file(mnt / "team" / "notes.log", b"team\n", 0o640)
    # auditfs-test is in applog only as a supplementary group.
    assert as_user(USER, "ls", mnt / "team").out.split() == ["notes.log"]
    r = as_user(OUTSIDER, "ls", mnt / "team")
    assert r.returncode != 0 and "Permission denied" in r.err
    d = mode_bit_denials(mnt.store, uid=uid_of(OUTSIDER), path="/team")
    assert d and d[0]["mode"] == "0750" and d[0]["ownerGid"] == gid_of_group(SUPPLEMENTARY)
    # The file's group is root's: the user is an "other" there, with r.
    assert as_user(USER, "cat", mnt / "team" / "notes.log").returncode != 0


def test_chmod_chown_and_times_by_a_non_owner_are_denied_and_recorded(mnt):
    make_file(mnt / "empty.log", b"", 0o666)            # empty: the mount rules would allow a change
    os.chmod(mnt / "empty.log", 0o666)                  # (past the umask)
    before = os.stat(mnt / "empty.log")
    cases = [(["chmod", "600", mnt / "empty.log"], "chmod", "owner", errno.EPERM),
             (["chown", USER, mnt / "empty.log"], "chown", "root", errno.EPERM),
             (["touch", "-d", "2001-01-01", mnt / "empty.log"], "utimens", "owner", errno.EPERM)]
    for cmd, verb, needed, code in cases:
        r = as_user(USER, *cmd)
        assert r.returncode != 0, (cmd, r.err)
        d = mode_bit_denials(mnt.store, uid=uid_of(USER), verb=verb, path="/empty.log")
        assert d and d[-1]["needed"] == needed and d[-1]["errno"] == code, (verb, d)
    after = os.stat(mnt / "empty.log")
    assert (after.st_mode, after.st_uid, after.st_mtime_ns) == (before.st_mode, before.st_uid, before.st_mtime_ns)
    # utimes(NULL) by a writer who is not the owner: allowed (0666 gives w).
    r = as_user(USER, "touch", mnt / "empty.log")
    assert r.returncode == 0, r.err


def test_create_and_mkdir_in_a_directory_without_w_are_denied_and_recorded(mnt):
    os.mkdir(mnt / "ro", 0o755)                          # root's, searchable, not writable by others
    r = as_user(USER, "sh", "-c", f"printf x >> '{mnt / 'ro' / 'new.log'}'")
    assert r.returncode != 0 and "Permission denied" in r.err
    r = as_user(USER, "mkdir", mnt / "ro" / "sub")
    assert r.returncode != 0 and "Permission denied" in r.err
    assert os.listdir(mnt / "ro") == []
    for verb, path in (("create", "/ro/new.log"), ("mkdir", "/ro/sub")):
        d = mode_bit_denials(mnt.store, uid=uid_of(USER), verb=verb, path=path)
        assert d and (d[0]["modePath"], d[0]["mode"], d[0]["needed"]) == ("/ro", "0755", "w"), (verb, d)


def test_chgrp_by_owner_only_to_its_own_groups(mnt):
    os.mkdir(mnt / "open", 0o777)
    os.chmod(mnt / "open", 0o777)
    target = mnt / "open" / "mine.log"
    assert as_user(USER, "sh", "-c", f": >> '{target}'").returncode == 0
    assert as_user(USER, "chgrp", SUPPLEMENTARY, target).returncode == 0     # a supplementary group of its own
    assert os.stat(target).st_gid == gid_of_group(SUPPLEMENTARY)
    r = as_user(USER, "chgrp", "root", target)
    assert r.returncode != 0 and "Operation not permitted" in r.err
    assert os.stat(target).st_gid == gid_of_group(SUPPLEMENTARY)
    d = mode_bit_denials(mnt.store, uid=uid_of(USER), verb="chown", path="/open/mine.log")
    assert d and d[-1]["needed"] == "member of group 0" and d[-1]["errno"] == errno.EPERM


def test_chmod_by_owner_outside_the_group_drops_setgid(mnt):
    os.mkdir(mnt / "open", 0o777)
    os.chmod(mnt / "open", 0o777)
    target = mnt / "open" / "mine.log"
    assert as_user(USER, "sh", "-c", f": >> '{target}'").returncode == 0
    os.chown(target, uid_of(USER), 0)        # group root: the user is not in it
    assert as_user(USER, "chmod", "2644", target).returncode == 0
    assert os.stat(target).st_mode & 0o7777 == 0o644


def test_access_answers_from_the_same_check_and_is_recorded(mnt):
    make_file(mnt / "secret.log", b"x\n", 0o600)
    os.mkdir(mnt / "open", 0o777)
    os.chmod(mnt / "open", 0o777)
    r = py_as(USER, """
        import os, sys
        print(os.access(sys.argv[1], os.R_OK), os.access(sys.argv[1], os.F_OK), os.access(sys.argv[2], os.W_OK))
        """, mnt / "secret.log", mnt / "open")
    assert r.out.split() == ["False", "True", "True"], r.err
    d = mode_bit_denials(mnt.store, uid=uid_of(USER), verb="access", path="/secret.log")
    assert d and d[0]["needed"] == "r"
    # chdir asks the same check (X_OK on the directory).
    private_tree(mnt)
    r = as_user(USER, "sh", "-c", f"cd '{mnt / 'private'}'")
    assert r.returncode != 0


def test_exec_needs_the_callers_x_bit(mnt):
    make_file(mnt / "tool.sh", b"#!/bin/sh\necho ran\n", 0o744)
    assert run(mnt / "tool.sh").out == "ran\n"                  # root: one x bit is enough
    r = as_user(USER, mnt / "tool.sh")
    assert r.returncode != 0 and "Permission denied" in r.err
    d = mode_bit_denials(mnt.store, uid=uid_of(USER), verb="open", path="/tool.sh")
    assert d and d[0]["needed"] == "rx", d


def test_successful_lookups_are_not_recorded(mnt):
    make_file(mnt / "public.log", b"x\n")
    count = len(decisions(mnt.store))
    for _ in range(3):
        assert as_user(USER, "stat", mnt / "public.log").returncode == 0
    assert len(decisions(mnt.store)) == count


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
