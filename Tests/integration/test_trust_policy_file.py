"""Issue 10 item 16: the daemon runs as root and takes orders from its
policy file (who may do what, which alert commands run as root). A policy
file, or an alert command, that anyone but root could change is refused —
at mount, at `auditfs policy reload` and at SIGHUP — the way sshd's
StrictModes refuses (owner, mode, every directory above it, no symlink
followed silently); a refused reload leaves the old policy in force and is
recorded as rejected (docs/POLICY.md "Who may change the policy")."""
import json
import os
import pathlib
import shutil
import signal
import tempfile

import pytest

from conftest import auditfs, run, tree_digest
from mountlib import TEST_USER, Mount, ensure_test_user, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mount tests need root and /dev/fuse")

POLICY = """apiVersion: auditfs/v1
roles:
  - name: admin
    rules: [{paths: ["/**"], verbs: [create, append, mkdir, read, list]}]
bindings:
  - role: admin
    subjects: [{user: root}]
"""


def write_policy(path, text=POLICY, mode=0o644):
    path.write_text(text)
    path.chmod(mode)
    return path


def mount_refused(store, place, policy):
    """Mounting with `policy` fails with one line; the store is untouched."""
    before = tree_digest(store)
    r = auditfs("mount", store, place / "mnt", "--policy", policy, timeout=60)
    assert r.returncode == 1, r.err
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert not os.path.ismount(place / "mnt") and tree_digest(store) == before
    return r.err.strip()


def changes(store):
    r = auditfs("cat", store, "/.audit/policy/changes.jsonl", check=True)
    return [json.loads(line) for line in r.out.splitlines() if line.strip()]


def alert_policy(hook, marker):
    return POLICY + f"""alerts:
  - name: page
    on: deny
    actions: [{{command: {{run: ["{hook}", "{marker}"], timeout: 5s}}}}]
"""


def make_hook(path):
    path.write_text("#!/bin/sh\ntouch \"$1\"\n")
    path.chmod(0o755)
    return path


def test_world_writable_policy_is_refused_at_mount(store, place):
    policy = write_policy(place / "policy.yaml", mode=0o666)
    (place / "mnt").mkdir()
    err = mount_refused(store, place, policy)
    assert f"policy {policy} is writable by others (mode 0666); refusing it" in err


def test_group_writable_policy_is_refused_at_mount(store, place):
    policy = write_policy(place / "policy.yaml", mode=0o664)
    (place / "mnt").mkdir()
    assert f"policy {policy} is writable by group (mode 0664); refusing it" in mount_refused(store, place, policy)


def test_policy_owned_by_a_user_is_refused(store, place):
    uid, gid = ensure_test_user()
    policy = write_policy(place / "policy.yaml")
    os.chown(policy, uid, gid)
    (place / "mnt").mkdir()
    assert f"policy {policy} is owned by uid {uid}, not root; refusing it" in mount_refused(store, place, policy)


def test_writable_directory_above_policy_is_refused(store, place):
    conf = place / "conf"
    conf.mkdir()
    policy = write_policy(conf / "policy.yaml")
    conf.chmod(0o777)   # anyone could replace policy.yaml (rename another file over it)
    (place / "mnt").mkdir()
    err = mount_refused(store, place, policy)
    assert f"directory {conf} is writable by others (mode 0777); refusing it" in err


def test_symlinked_policy_is_refused(store, place):
    real = write_policy(place / "real.yaml")
    link = place / "policy.yaml"
    link.symlink_to(real)
    (place / "mnt").mkdir()
    assert f"policy {link} is a symbolic link; refusing it" in mount_refused(store, place, link)


def test_user_owned_policy_in_sticky_directory_is_refused_root_owned_accepted(store, place):
    """A sticky, root-owned directory (1777, like /tmp) is accepted above a
    root-owned file (only its owner or root may rename or remove it there),
    never above a file a user owns."""
    uid, gid = ensure_test_user()
    sticky = place / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    theirs = write_policy(sticky / "theirs.yaml")
    os.chown(theirs, uid, gid)
    (place / "mnt").mkdir()
    assert "not root; refusing it" in mount_refused(store, place, theirs)
    ours = write_policy(sticky / "ours.yaml")
    m = Mount(store, place / "mnt", options=[f"policy={ours}"])
    try:
        assert os.listdir(m.path) is not None
    finally:
        m.cleanup()


def test_user_edit_of_a_loosened_policy_cannot_add_a_root_command(store, place):
    """The attack: the policy file is made group/world-writable after the
    mount; a user rewrites it to add an alert command and asks for a reload
    (auditfs policy reload, then SIGHUP). Both are rejected and recorded,
    the command never runs, and the old policy stays in force."""
    uid, _ = ensure_test_user()
    policy = write_policy(place / "policy.yaml")
    marker = place / "ran-as-root"
    hook = make_hook(place / "hook.sh")
    m = Mount(store, place / "mnt", options=[f"policy={policy}"])
    try:
        os.chmod(policy, 0o666)
        r = run("sh", "-c", f"cat > {policy}", input=alert_policy(hook, marker), user=TEST_USER)
        assert r.returncode == 0, r.err
        r = auditfs("policy", "reload", m.path)
        assert r.returncode == 1 and f"policy {policy} is writable by others (mode 0666); refusing it" in r.err, r.err
        os.kill(m.pid, signal.SIGHUP)
        wait_until(lambda: len(changes(store)) == 3, what="the SIGHUP reload's record")
        # A denial (EVE is not in the policy) would have run the command under the edited policy.
        assert run("ls", m.path, user=TEST_USER).returncode != 0
        m.unmount()
    finally:
        m.cleanup()
    assert not marker.exists()
    load, by_command, by_signal = changes(store)
    assert load["outcome"] == "accepted"
    for c, via in ((by_command, "auditfs policy reload"), (by_signal, "SIGHUP")):
        assert (c["outcome"], c["by"]["via"]) == ("rejected", via)
        assert c["new"] == c["previous"] == load["new"]
        assert "writable by others (mode 0666)" in c["error"]


def test_alert_command_in_a_writable_directory_is_refused(store, place):
    """The executable of an alert command, and every directory above it,
    must be root's too: a hook in a world-writable directory is refused at
    mount, and at reload (the old policy stays)."""
    bin_dir = place / "bin"
    bin_dir.mkdir()
    hook = make_hook(bin_dir / "hook.sh")
    bin_dir.chmod(0o777)
    policy = write_policy(place / "policy.yaml", alert_policy(hook, place / "ran"))
    (place / "mnt").mkdir()
    err = mount_refused(store, place, policy)
    assert f"alert 'page' command {hook}: directory {bin_dir} is writable by others (mode 0777)" in err
    write_policy(policy)
    m = Mount(store, place / "mnt", options=[f"policy={policy}"])
    try:
        write_policy(policy, alert_policy(hook, place / "ran"))
        r = auditfs("policy", "reload", m.path)
        assert r.returncode == 1 and f"directory {bin_dir} is writable by others" in r.err, r.err
        bin_dir.chmod(0o755)
        hook.chmod(0o777)
        r = auditfs("policy", "reload", m.path)
        assert r.returncode == 1 and f"command {hook} is writable by others (mode 0777)" in r.err, r.err
        hook.chmod(0o755)
        auditfs("policy", "reload", m.path, check=True)   # now only root could change it: accepted
    finally:
        m.cleanup()
    assert [c["outcome"] for c in changes(store)] == ["accepted", "rejected", "rejected", "accepted"]


def test_command_through_root_symlinks_is_accepted(store, place):
    """/bin/sh resolves through root-owned links (/bin -> usr/bin on merged
    /usr systems): accepted, because every link sits in a root-only directory."""
    policy = write_policy(place / "policy.yaml", POLICY + """alerts:
  - name: page
    on: deny
    actions: [{command: {run: ["/bin/sh", "-c", "true"], timeout: 5s}}]
""")
    m = Mount(store, place / "mnt", options=[f"policy={policy}"])
    m.cleanup()


def file_alert_policy(path):
    return POLICY + f"""alerts:
  - name: log
    on: deny
    actions: [{{file: {path}}}]
"""


def test_alert_file_in_a_directory_others_can_write_is_refused(store, place):
    """The daemon appends alert files as root: a file action in /tmp (sticky,
    world-writable: anyone may create the name first, as a link to
    /etc/shadow) or any directory others can write is refused."""
    (place / "mnt").mkdir()
    policy = write_policy(place / "policy.yaml", file_alert_policy("/tmp/auditfs-alerts.jsonl"))
    err = mount_refused(store, place, policy)
    assert "alert 'log' file /tmp/auditfs-alerts.jsonl: directory /tmp is writable by others (mode 1777)" in err
    pub = place / "pub"
    pub.mkdir()
    pub.chmod(0o775)
    write_policy(policy, file_alert_policy(pub / "a.jsonl"))
    assert f"directory {pub} is writable by group (mode 0775)" in mount_refused(store, place, policy)


def test_alert_file_is_never_written_through_a_symlink(store, place):
    victim = place / "victim"
    victim.write_text("root's file\n")
    link = place / "alerts.jsonl"
    link.symlink_to(victim)
    policy = write_policy(place / "policy.yaml", file_alert_policy(link))
    m = Mount(store, place / "mnt", options=[f"policy={policy}"])
    try:
        assert run("ls", m.path, user=TEST_USER).returncode != 0   # a denial: the alert fires
        def recorded():
            r = auditfs("cat", store, "/.audit/alerts.jsonl")
            return [json.loads(line) for line in r.out.splitlines() if line.strip()] if r.returncode == 0 else []
        wait_until(recorded, what="the alert's record")
        [alert] = recorded()
        assert alert["actions"][0]["outcome"] == "failed", alert
    finally:
        m.cleanup()
    assert victim.read_text() == "root's file\n" and link.is_symlink()
