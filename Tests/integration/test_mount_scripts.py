"""mount-scripts/ (issue 6): install.sh, the mount(8) helper driven by fstab
lines (`mount -a`, `mount MOUNTPOINT`, `umount`), systemd's fstab generator,
and the auditfs@.service unit. systemd is not PID 1 where CI runs, so the
unit is checked with `systemd-analyze verify` and its command lines are run
by hand the way systemd runs them: ExecStart with $NOTIFY_SOCKET (READY=1
only once the mount serves), ExecReload, SIGHUP, the stop signal, and
ExecStopPost after a crash."""
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from conftest import AUDITFS, ROOT, auditfs, run, tree_digest
from mountlib import daemon_pids, force_unmount, log_entries, mounted_fstype, wait_until

SCRIPTS = ROOT / "mount-scripts"
INSTALL = SCRIPTS / "install.sh"
POLICY = ROOT / "fixtures" / "servers" / "policy.yaml"
INSTALLED = {
    "usr/local/bin/auditfs": 0o755,
    "usr/sbin/mount.fuse.auditfs": 0o755,
    "usr/sbin/mount.auditfs": None,   # a symlink
    "etc/systemd/system/auditfs@.service": 0o644,
}
FSTAB_GENERATOR = "/lib/systemd/system-generators/systemd-fstab-generator"


@pytest.fixture
def parent():
    """A directory other users can traverse, removed after the test (its
    mounts first)."""
    p = pathlib.Path(tempfile.mkdtemp(prefix="auditfs-scripts-"))
    p.chmod(0o755)
    yield p
    for d in p.iterdir():
        if d.is_dir():
            force_unmount(d)
            wait_until(lambda: not daemon_pids(d), what="the daemon to exit")
    shutil.rmtree(p, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """install.sh for real (mount(8) looks for helpers only in /sbin), with
    the files it replaces saved and put back afterwards."""
    saved = tmp_path_factory.mktemp("saved")
    for rel in INSTALLED:
        p = pathlib.Path("/") / rel
        if p.exists() or p.is_symlink():
            (saved / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, saved / rel, follow_symlinks=False)
    r = run(INSTALL, "--bin", AUDITFS)
    assert r.returncode == 0, r.err
    yield
    r = run(INSTALL, "--uninstall")
    assert r.returncode == 0, r.err
    for rel in INSTALLED:
        if (saved / rel).exists() or (saved / rel).is_symlink():
            shutil.copy2(saved / rel, pathlib.Path("/") / rel, follow_symlinks=False)


# ---------------------------------------------------------------- install.sh

def test_install_and_uninstall_are_idempotent_and_keep_stores(tmp_path):
    root = tmp_path / "root"
    store = root / "var/lib/auditfs/store"
    store.parent.mkdir(parents=True)
    auditfs("init", store, check=True)
    config = root / "etc/auditfs/audit-store.conf"
    config.parent.mkdir(parents=True)
    shutil.copy(ROOT / "fixtures/systemd/audit-store.conf", config)
    env = {**os.environ, "DESTDIR": str(root)}

    digests = []
    for _ in range(2):
        r = run(INSTALL, "--bin", AUDITFS, env=env)
        assert r.returncode == 0 and r.err == "", r.err
        assert "note: this auditfs needs the Swift toolchain's libraries" in r.out, "the debug build is not static"
        digests.append(tree_digest(root))
    assert digests[0] == digests[1], "a second install changes nothing"
    for rel, mode in INSTALLED.items():
        p = root / rel
        if mode is None:
            assert os.readlink(p) == "mount.fuse.auditfs"
        else:
            assert p.stat().st_mode & 0o7777 == mode, rel
    assert (root / "usr/local/bin/auditfs").read_bytes() == pathlib.Path(AUDITFS).read_bytes()
    assert (root / "usr/sbin/mount.fuse.auditfs").read_bytes() == (SCRIPTS / "mount.fuse.auditfs").read_bytes()

    store_digest = tree_digest(store)
    for _ in range(2):
        r = run(INSTALL, "--uninstall", env=env)
        assert r.returncode == 0 and r.err == "", r.err
        for rel in INSTALLED:
            assert not (root / rel).exists() and not (root / rel).is_symlink(), rel
    assert tree_digest(store) == store_digest and config.exists(), "uninstall never touches a store or a config"
    assert auditfs("verify", store).returncode == 0


def test_install_errors_are_one_line(tmp_path):
    env = {**os.environ, "DESTDIR": str(tmp_path)}
    r = run(INSTALL, "--bin", tmp_path / "nope", env=env)
    assert r.returncode == 1
    assert r.err == f"install.sh: no auditfs binary at {tmp_path}/nope (build it: swift build -c release --product auditfs)\n"
    r = run(INSTALL, "--frobnicate", env=env)
    assert (r.returncode, r.err) == (2, "install.sh: unknown argument '--frobnicate' (try --help)\n")


# ---------------------------------------------------------------- fstab

def test_fstab_mount_a_by_mount_point_and_umount(installed, parent):
    """Both types (fuse.auditfs, auditfs), the options mount(8) and systemd
    add (_netdev, nofail, x-systemd.*, defaults, noauto, ro), and umount."""
    s1, s2 = parent / "store1", parent / "store2"
    m1, m2 = parent / "mnt1", parent / "mnt2"
    for s, m in ((s1, m1), (s2, m2)):
        auditfs("init", s, check=True)
        m.mkdir()
    fstab = parent / "fstab"
    fstab.write_text(
        f"{s1} {m1} fuse.auditfs policy={POLICY},allow_other,_netdev,nofail,"
        f"x-systemd.requires-mounts-for={parent},defaults 0 0\n"
        f"{s2} {m2} auditfs noauto,ro 0 0\n")

    r = run("mount", "-a", "-T", fstab, timeout=60)
    assert (r.returncode, r.err) == (0, ""), r.err
    assert mounted_fstype(m1) == "fuse.auditfs" and mounted_fstype(m2) is None, "noauto is left alone"
    (m1 / "boot.log").write_text("up\n")
    r = run("mount", "-a", "-T", fstab, timeout=60)
    assert r.returncode == 0, "mount -a again: already mounted, nothing to do"
    assert len(daemon_pids(m1)) == 1

    r = run("umount", m1, timeout=30)
    assert r.returncode == 0, r.err
    assert mounted_fstype(m1) is None
    wait_until(lambda: not daemon_pids(m1), what="the daemon to exit after umount")
    assert auditfs("verify", s1).returncode == 0
    policy_loads = [e for e in log_entries(s1) if e["path"].startswith("/.audit/policy")]
    assert policy_loads, "the policy= option reached the daemon"

    r = run("mount", "-T", fstab, m1, timeout=60)
    assert r.returncode == 0, r.err
    assert (m1 / "boot.log").read_text() == "up\n"
    r = run("mount", "-T", fstab, m2, timeout=60)
    assert r.returncode == 0, r.err
    assert "ro" in next(l for l in open("/proc/self/mounts") if f" {m2} " in l).split()[3].split(",")
    with pytest.raises(OSError) as e:
        (m2 / "x").write_text("no\n")
    assert e.value.errno == 30   # EROFS
    for m in (m1, m2):
        assert run("umount", m, timeout=30).returncode == 0
        wait_until(lambda: not daemon_pids(m), what="the daemon to exit after umount")


def test_fstab_mount_errors(installed, parent):
    """A missing store: mount(8) exits 32 (mount failure) with auditfs's
    one-line reason; an option libfuse does not know is refused the same way."""
    m = parent / "mnt"
    m.mkdir()
    fstab = parent / "fstab"
    fstab.write_text(f"{parent}/missing {m} fuse.auditfs defaults 0 0\n")
    r = run("mount", "-T", fstab, m, timeout=60)
    assert r.returncode == 32
    assert len(r.err.splitlines()) == 1 and r.err.startswith("auditfs: "), r.err
    assert mounted_fstype(m) is None

    auditfs("init", parent / "store", check=True)
    fstab.write_text(f"{parent}/store {m} fuse.auditfs bogus_option 0 0\n")
    r = run("mount", "-T", fstab, m, timeout=60)
    assert r.returncode == 32
    assert len(r.err.splitlines()) == 1 and r.err.startswith("auditfs: "), r.err
    assert mounted_fstype(m) is None

    r = run(SCRIPTS / "mount.fuse.auditfs", "only-one-argument")
    assert (r.returncode, r.err) == (1, "mount.fuse.auditfs: usage: mount.fuse.auditfs STORE MOUNTPOINT "
                                        "[-sfnv] [-o OPTIONS] [-t TYPE]\n")


def test_helper_option_filtering():
    """-f (fake) and -v (verbose), as mount(8) passes them: the command the
    helper would run, with the options for mount(8) and systemd dropped."""
    r = run(SCRIPTS / "mount.fuse.auditfs", "/srv/store", "/srv/mnt", "-fv", "-o",
            "rw,defaults,_netdev,nofail,noauto,user,x-systemd.automount,comment=x,allow_other,"
            "default_permissions,policy=/etc/auditfs/policy.yaml,noatime", "-t", "fuse.auditfs",
            env={**os.environ, "AUDITFS": "/bin/true"})
    assert (r.returncode, r.out) == (0, "")
    assert r.err == ("mount.fuse.auditfs: /bin/true mount /srv/store /srv/mnt "
                     "-o fsname=/srv/store,policy=/etc/auditfs/policy.yaml,noatime\n")


def test_fstab_generator_makes_the_boot_mount_unit(installed, parent):
    """At boot systemd turns the fstab line into a .mount unit and runs
    `mount WHAT WHERE -t TYPE -o OPTIONS`: both done here."""
    store, m = parent / "store", parent / "mnt"
    auditfs("init", store, check=True)
    m.mkdir()
    fstab = parent / "fstab"
    options = f"policy={POLICY},nofail,x-systemd.requires-mounts-for={parent}"
    fstab.write_text(f"{store} {m} fuse.auditfs {options} 0 0\n")
    out = parent / "generated"
    dirs = [out / d for d in ("normal", "early", "late")]
    for d in dirs:
        d.mkdir(parents=True)
    r = run(FSTAB_GENERATOR, *dirs, env={**os.environ, "SYSTEMD_FSTAB": str(fstab), "SYSTEMD_PROC_CMDLINE": ""})
    assert r.returncode == 0, r.err
    name = run("systemd-escape", "--path", "--suffix=mount", m, check=True).out.strip()
    unit = (dirs[0] / name).read_text()
    fields = dict(re.findall(r"^(What|Where|Type|Options)=(.*)$", unit, re.M))
    assert fields == {"What": str(store), "Where": str(m), "Type": "fuse.auditfs", "Options": options}
    assert f"RequiresMountsFor={parent}" in unit
    assert (dirs[0] / "local-fs.target.wants" / name).exists(), "nofail: wanted by local-fs.target"

    r = run("mount", fields["What"], fields["Where"], "-t", fields["Type"], "-o", fields["Options"], timeout=60)
    assert r.returncode == 0, r.err
    assert mounted_fstype(m) == "fuse.auditfs"
    assert run("umount", m, timeout=30).returncode == 0
    wait_until(lambda: not daemon_pids(m), what="the daemon to exit")


# ---------------------------------------------------------------- systemd unit

def service_commands(unit):
    """The [Service] Exec* lines of a unit file, by key."""
    commands = {}
    section = None
    for line in unit.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line.startswith("Exec"):
            key, value = line.split("=", 1)
            commands[key] = value
    return commands


def expand(command, env):
    """A systemd command line as systemd runs it: a leading '-' only means
    "failure is ignored", ${VAR} is one argument, a lone $VAR is split at
    white space."""
    command = command.lstrip("-")
    args = []
    for word in shlex.split(command):
        if m := re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word):
            args += env.get(m[1], "").split()
        else:
            args.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m[1], ""), word))
    return args


class Notifications:
    """A $NOTIFY_SOCKET, as systemd provides it to a Type=notify service."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(30)

    def next(self):
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.split("\n") if line)


def test_systemd_unit(installed, parent):
    unit_path = pathlib.Path("/etc/systemd/system/auditfs@.service")
    r = run("systemd-analyze", "verify", "/etc/systemd/system/auditfs@audit-store.service")
    assert (r.returncode, r.out, r.err) == (0, "", ""), r.err
    unit = unit_path.read_text()
    assert re.search(r"^Type=notify$", unit, re.M) and "EnvironmentFile=/etc/auditfs/%i.conf" in unit
    commands = service_commands(unit)
    assert commands["ExecStopPost"].startswith("-"), "a failing cleanup must not fail the stop"

    store, m = parent / "store", parent / "mnt"
    auditfs("init", store, check=True)
    m.mkdir()
    policy = parent / "policy.yaml"
    shutil.copy(POLICY, policy)
    conf = (ROOT / "fixtures/systemd/audit-store.conf").read_text()
    conf = conf.replace("/var/lib/auditfs/store", str(store)).replace("/var/log/audit-store", str(m))
    conf = conf.replace("/etc/auditfs/policy.yaml", str(policy))
    env = dict(re.findall(r"^([A-Z_]+)=(.*)$", conf, re.M))
    assert set(env) == {"STORE", "MOUNTPOINT", "MOUNT_OPTIONS"}
    notify = Notifications(parent / "notify")
    service_env = {**os.environ, "NOTIFY_SOCKET": notify.path}

    def start():
        proc = subprocess.Popen(expand(commands["ExecStart"], env), env=service_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        state = notify.next()
        assert state.get("READY") == "1" and state.get("MAINPID") == str(proc.pid), state
        # READY=1 means serving: no waiting, no retry.
        assert mounted_fstype(m) == "fuse.auditfs"
        os.listdir(m)
        return proc

    proc = start()
    try:
        (m / "app").mkdir()
        (m / "app" / "ready.log").write_text("written right after READY=1\n")

        r = run(*expand(commands["ExecReload"], env))
        assert r.returncode == 0 and r.out.startswith("reloaded: policy unchanged"), r.out + r.err
        policy.write_text("apiVersion: auditfs/v1\nroles: [\n")
        r = run(*expand(commands["ExecReload"], env))
        assert r.returncode == 1 and len(r.err.splitlines()) == 1
        assert r.err.startswith("auditfs: policy reload rejected, the policy in force"), r.err
        shutil.copy(POLICY, policy)

        changes = m / ".audit" / "policy" / "changes.jsonl"
        before = changes.read_text().count("SIGHUP")
        os.kill(proc.pid, signal.SIGHUP)
        wait_until(lambda: changes.read_text().count("SIGHUP") == before + 1, what="the SIGHUP reload")
        assert proc.poll() is None and mounted_fstype(m) == "fuse.auditfs", "SIGHUP reloads, it does not stop"

        proc.send_signal(signal.SIGTERM)   # KillSignal
        assert notify.next().get("STOPPING") == "1"
        assert proc.wait(timeout=30) == 0
        assert mounted_fstype(m) is None
        r = run(*expand(commands["ExecStopPost"], env))
        assert r.out == "" and r.err == "", "nothing to clean up after a clean stop, and quietly so"

        # A crash: the kernel keeps a dead mount that refuses the restart...
        proc = start()
        proc.kill()
        proc.wait()
        r = run("ls", m)
        assert r.err == f"ls: cannot open directory '{m}': Transport endpoint is not connected\n"
        r = run(*expand(commands["ExecStart"], env), timeout=30)
        assert r.returncode == 1 and len(r.err.splitlines()) == 1 and "fusermount3 -u" in r.err, r.err
        # ... until ExecStopPost (run by systemd after every stop) detaches it.
        r = run(*expand(commands["ExecStopPost"], env))
        assert r.returncode == 0, r.err
        assert mounted_fstype(m) is None
        proc = start()
        assert (m / "app" / "ready.log").read_text() == "written right after READY=1\n"
        proc.send_signal(signal.SIGTERM)
        assert notify.next().get("STOPPING") == "1"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        force_unmount(m)
    assert auditfs("verify", store).returncode == 0
