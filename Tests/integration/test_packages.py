"""The Debian packages (issue 16), installed the way a sysadmin would on a
server without Swift: `scripts/package` builds them once; debootstrap makes a
minimal Debian 12 root (--variant=minbase, from Debian's packages) alongside,
kept as a tarball from which each test unpacks a fresh root. In the first,
apt installs auditfs (resolving its Depends) and a store is made, mounted
through fstab and the mount(8) helper, written as root and as a user,
unmounted and verified, `man auditfs` read, then the packages removed and
purged, the store left as it was. In the second, only auditfs-check is
installed (no fuse3, no libfuse) and checks a bundle.

Each root lives in its own mount namespace (a `sleep` started by `unshare
--mount --propagation private` holds it; every command enters it with
nsenter and chroots): /proc and /dev/fuse are mounted there, and so is the
auditfs mount, so nothing is ever mounted in the host's namespace, and
killing the root's processes and the holder takes every mount with them,
even after a failure. A pytest file rather than a script of its own so that
its failures read like every other test's, and a failure of one step names
the command, its status and its output. AUDITFS_PACKAGE_NO_BUILD=1 packages
the release build .build holds (`scripts/package --no-build`), for working
on this file."""
import base64
import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from conftest import AUDITFS, ROOT, run, tree_digest

PACKAGE = ROOT / "scripts" / "package"
SUITE = "bookworm"
MIRROR = os.environ.get("AUDITFS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STORE = "/var/lib/auditfs/store"
MOUNTPOINT = "/srv/audit"
POLICY = """\
apiVersion: auditfs/v1
roles:
  - name: admin
    rules:
      - paths: ["/**"]
        verbs: [create, append, mkdir, read, list, setattr]
  - name: writer
    rules:
      - paths: ["/shared/**"]
        verbs: [create, append]
      - paths: ["/", "/shared"]
        verbs: [list]
bindings:
  - role: admin
    subjects: [{user: root}]
  - role: writer
    subjects: [{user: alice}]
"""


def swift_files(root):
    """Whatever in `root` looks like part of a Swift toolchain."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not os.path.ismount(os.path.join(dirpath, d))]
        found += [os.path.join(dirpath, f) for f in filenames
                  if f.startswith(("libswift", "libFoundation", "libdispatch")) or f in ("swift", "swiftc")]
    return found


class DebianRoot:
    """A minimal Debian 12 root unpacked from a tarball into `path` by
    `start()`, in a mount namespace of its own. `close()` ends every process
    in it and the namespace, then removes the root."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.holder = None

    def start(self, tarball):
        self.path.mkdir()
        subprocess.run(["tar", "-C", self.path, "--numeric-owner", "-xpf", tarball], check=True)
        shutil.copy("/etc/resolv.conf", self.path / "etc/resolv.conf")
        # Start no service while installing, as in any chroot.
        (self.path / "usr/sbin/policy-rc.d").write_text("#!/bin/sh\nexit 101\n")
        (self.path / "usr/sbin/policy-rc.d").chmod(0o755)
        self.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sleep", "infinity"])
        own = os.readlink("/proc/self/ns/mnt")
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{self.holder.pid}/ns/mnt") == own:
            assert time.monotonic() < deadline, "unshare made no mount namespace"
            time.sleep(0.01)
        self.host("mount", "-t", "proc", "proc", self.path / "proc")
        (self.path / "dev/fuse").touch()
        self.host("mount", "--bind", "/dev/fuse", self.path / "dev/fuse")

    def host(self, *args):
        """Runs a host command in the root's mount namespace (not chrooted)."""
        r = run("nsenter", f"--target={self.holder.pid}", "--mount", "--", *args, timeout=60)
        assert r.returncode == 0, (args, r.returncode, r.err)

    def sh(self, script, user=None, expect=0, timeout=120):
        """Runs `script` with /bin/sh inside the root, with a clean
        environment, as root or as `user`; checks the exit status (None:
        any) and returns the CompletedProcess."""
        cmd = ["/bin/sh", "-c", script]
        if user is not None:
            cmd = ["/usr/bin/setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + cmd
        env = ["/usr/bin/env", "-i", f"PATH={PATH}", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb",
               "DEBIAN_FRONTEND=noninteractive"]
        r = run("nsenter", f"--target={self.holder.pid}", "--mount", "--", "chroot", self.path, *env, *cmd,
                timeout=timeout)
        if expect is not None:
            assert r.returncode == expect, f"{script!r} exited {r.returncode}, not {expect}\n{r.out}\n{r.err}"
        return r

    def processes(self):
        """Pids of the processes whose root is this root."""
        pids = []
        for p in pathlib.Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    if os.readlink(p / "root") == str(self.path):
                        pids.append(int(p.name))
                except OSError:
                    pass
        return pids

    def daemons(self):
        pids = []
        for pid in self.processes():
            try:
                if os.readlink(f"/proc/{pid}/exe") == f"{self.path}/usr/bin/auditfs":
                    pids.append(pid)
            except OSError:
                pass
        return pids

    def install(self, *debs, extra=()):
        """apt-get install of the given .debs (copied in) and Debian packages."""
        names = []
        for deb in debs:
            shutil.copy(deb, self.path / "tmp")
            names.append(f"/tmp/{pathlib.Path(deb).name}")
        self.sh("apt-get update -qq", timeout=600)
        self.sh(f"apt-get install -y -q --no-install-recommends {' '.join(names + list(extra))}", timeout=900)

    def installed(self, package):
        r = self.sh(f"dpkg-query -W -f '${{Status}}' {package}", expect=None)
        return r.returncode == 0 and r.out == "install ok installed"

    def close(self):
        for _ in range(50):
            pids = self.processes()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait()
        if not self.path.exists():
            return
        # The namespace is gone with its last process, and its mounts with it:
        # none of them was ever in this namespace.
        with open("/proc/self/mountinfo") as f:
            assert not [l for l in f if f" {self.path}/" in l or f" {self.path} " in l], "a mount in the host's namespace"
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.path)], check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The packages, from one release build; and the base root as a tarball.
    debootstrap (network and dpkg, little CPU) runs while the build does, in
    a mount namespace of its own (it mounts /proc and /sys in its target)."""
    work = tmp_path_factory.mktemp("packages")
    base = work / "base"
    try:
        with open(work / "debootstrap.log", "wb") as log:
            deboot = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private",
                 "debootstrap", "--variant=minbase", SUITE, str(base), MIRROR],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            started = time.monotonic()
            reuse = ["--no-build"] if os.environ.get("AUDITFS_PACKAGE_NO_BUILD") else []
            r = run(PACKAGE, "--out", work / "debs", *reuse, timeout=3600)
            print(f"scripts/package: {time.monotonic() - started:.0f} s")
            assert r.returncode == 0, f"scripts/package exited {r.returncode}\n{r.out}\n{r.err}"
            rc = deboot.wait(timeout=1800)
            print(f"debootstrap done after {time.monotonic() - started:.0f} s")
        finally:
            if deboot.poll() is None:
                os.killpg(deboot.pid, 9)   # debootstrap and the dpkg and apt it runs
                deboot.wait()
        assert rc == 0, (work / "debootstrap.log").read_text()[-3000:]
        tarball = work / "base.tar"
        subprocess.run(["tar", "-C", base, "--numeric-owner", "-cf", tarball, "."], check=True)
        subprocess.run(["rm", "-rf", "--one-file-system", str(base)], check=True)
        debs = {p.name.split("_")[0]: p for p in (work / "debs").glob("*.deb")}
        assert set(debs) == {"auditfs", "auditfs-check"}, debs
        yield debs, tarball
    finally:
        # debootstrap ran in a namespace of its own: nothing is mounted here.
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)


@pytest.fixture
def debian_root(built, tmp_path):
    roots = []

    def make(name):
        root = DebianRoot(tmp_path / name)
        roots.append(root)   # closed even when starting it fails half way
        root.start(built[1])
        return root

    yield make
    for root in roots:
        root.close()


def field(deb, name):
    return run("dpkg-deb", "-f", deb, name, check=True).out.strip()


def test_the_packages(built, tmp_path):
    """What the packages hold and depend on, and that the version is the
    binary's."""
    debs, _ = built
    version = run(ROOT / ".build/release/auditfs", "--version", check=True).out.strip()
    for name, deb in debs.items():
        assert deb.name == f"{name}_{version}_{field(deb, 'Architecture')}.deb"
        assert field(deb, "Version") == version
    contents = {name: run("dpkg-deb", "-c", deb, check=True).out for name, deb in debs.items()}
    for path in ("./usr/bin/auditfs", "./usr/sbin/mount.fuse.auditfs", "./usr/sbin/mount.auditfs -> mount.fuse.auditfs",
                 "./usr/lib/systemd/system/auditfs@.service", "./usr/share/man/man1/auditfs.1.gz",
                 "./usr/share/bash-completion/completions/auditfs", "./usr/share/zsh/vendor-completions/_auditfs",
                 "./usr/share/fish/vendor_completions.d/auditfs.fish", "./usr/share/doc/auditfs/copyright"):
        assert path in contents["auditfs"], path
    for path in ("./usr/bin/auditfs-check", "./usr/share/man/man1/auditfs-check.1.gz",
                 "./usr/share/bash-completion/completions/auditfs-check", "./usr/share/doc/auditfs-check/copyright"):
        assert path in contents["auditfs-check"], path
    depends = {name: field(deb, "Depends") for name, deb in debs.items()}
    assert depends["auditfs"].startswith("fuse3, ") and "libfuse3-3" in depends["auditfs"]
    assert "fuse" not in depends["auditfs-check"]
    # libcurl for both: the S3 client (verify s3://, restore; the mount's
    # --ship) is FoundationNetworking's URLSession, which is libcurl on Linux.
    assert "libcurl4" in depends["auditfs-check"] and "libcurl4" in depends["auditfs"]
    for name in debs:
        assert "swift" not in depends[name].lower(), depends[name]
    # Maintainer scripts: a daemon-reload and nothing else.
    work = tmp_path / "control"
    for name, deb in debs.items():
        shutil.rmtree(work, ignore_errors=True)
        run("dpkg-deb", "-e", deb, work, check=True)
        for script in ("preinst", "postinst", "prerm", "postrm"):
            if (work / script).exists():
                body = (work / script).read_text()
                assert "systemctl daemon-reload" in body and "enable" not in body and "auditfs " not in body, body


def test_install_mount_write_verify_and_purge_on_a_clean_root(built, debian_root):
    debs, _ = built
    root = debian_root("server")
    assert swift_files(root.path) == []
    root.install(debs["auditfs"], debs["auditfs-check"], extra=["man-db"])
    assert root.installed("fuse3") and root.installed("libfuse3-3"), "Depends resolved by apt"
    assert swift_files(root.path) == [], "no Swift anywhere in the root"
    assert "not found" not in root.sh("ldd /usr/bin/auditfs /usr/bin/auditfs-check").out
    version = field(debs["auditfs"], "Version")
    assert root.sh("auditfs --version").out.strip() == version

    # A store, a policy, a user and an fstab line, as a sysadmin makes them.
    root.sh(f"useradd -m alice && mkdir -p /var/lib/auditfs /etc/auditfs {MOUNTPOINT}")
    (root.path / "etc/auditfs/policy.yaml").write_text(POLICY)
    with open(root.path / "etc/fstab", "a") as f:
        f.write(f"{STORE} {MOUNTPOINT} fuse.auditfs policy=/etc/auditfs/policy.yaml,noauto,_netdev 0 0\n")
    out = root.sh(f"auditfs init {STORE}").out
    key = (root.path / STORE.lstrip("/") / "verifier-key").read_text().strip()
    assert key in out
    (root.path / "root/verifier-key").write_text(key + "\n")

    # mount(8) through the fstab line and the helper; root and alice write.
    root.sh(f"mount {MOUNTPOINT}", timeout=60)
    mounts = root.sh("cat /proc/self/mounts").out
    assert f"{STORE} {MOUNTPOINT} fuse.auditfs " in mounts, mounts
    root.sh(f"echo 'root was here' >>{MOUNTPOINT}/root.log && mkdir -m 1777 {MOUNTPOINT}/shared")
    root.sh(f"echo 'alice was here' >>{MOUNTPOINT}/shared/alice.log", user="alice")
    root.sh(f"echo 'and again' >>{MOUNTPOINT}/shared/alice.log", user="alice")
    r = root.sh(f"echo gone >{MOUNTPOINT}/shared/alice.log", expect=None)
    assert r.returncode != 0 and "Operation not permitted" in r.err, "write-once for root too"
    r = root.sh(f"echo x >>{MOUNTPOINT}/root.log", user="alice", expect=None)
    assert r.returncode != 0 and "Permission denied" in r.err, "the policy holds"
    assert len(root.daemons()) == 1
    root.sh(f"umount {MOUNTPOINT}", timeout=60)
    deadline = time.monotonic() + 30
    while root.daemons():
        assert time.monotonic() < deadline, "the daemon did not exit after umount"
        time.sleep(0.05)

    # Again by type, as `mount -t fuse.auditfs` does without fstab.
    root.sh(f"mount -t fuse.auditfs -o policy=/etc/auditfs/policy.yaml {STORE} {MOUNTPOINT}", timeout=60)
    assert root.sh(f"cat {MOUNTPOINT}/shared/alice.log", user="alice", expect=None).returncode != 0, "alice may not read"
    assert root.sh(f"cat {MOUNTPOINT}/shared/alice.log").out == "alice was here\nand again\n"
    root.sh(f"umount {MOUNTPOINT}", timeout=60)
    deadline = time.monotonic() + 30
    while root.daemons():
        assert time.monotonic() < deadline, "the daemon did not exit after umount"
        time.sleep(0.05)

    root.sh(f"auditfs verify {STORE} --key /root/verifier-key")
    uid = int(root.sh("id -u alice").out)
    entries = [json.loads(l) for l in root.sh(f"auditfs log {STORE} /shared/alice.log --json").out.splitlines()]
    assert {e["uid"] for e in entries if e["op"] == "append"} == {uid}, entries

    # The man page and the completions.
    page = root.sh("MANPAGER=cat MANWIDTH=100 man auditfs").out
    for word in ("auditfs", "mount", "verify-bundle", "--policy"):
        assert word in page, word
    assert "auditfs-check" in root.sh("MANPAGER=cat man auditfs-check").out
    root.sh("bash -n /usr/share/bash-completion/completions/auditfs")

    # install.sh, the source install, on this machine without Swift: a static
    # binary goes in and runs; one that needs the toolchain's libraries is
    # refused, saying so.
    shutil.copytree(ROOT / "mount-scripts", root.path / "tmp/mount-scripts")
    shutil.copy(ROOT / ".build/release/auditfs", root.path / "tmp/auditfs-static")
    shutil.copy(AUDITFS, root.path / "tmp/auditfs-dynamic")
    r = root.sh("DESTDIR=/tmp/dest /tmp/mount-scripts/install.sh --bin /tmp/auditfs-static")
    assert "note:" not in r.out and r.err == "", r.out + r.err
    assert root.sh("/tmp/dest/usr/local/bin/auditfs --version").out.strip() == version
    r = root.sh("DESTDIR=/tmp/dest2 /tmp/mount-scripts/install.sh --bin /tmp/auditfs-dynamic", expect=1)
    assert r.err == ("install.sh: /tmp/auditfs-dynamic needs the Swift toolchain's libraries, which this machine lacks"
                     " (install the auditfs package, or build with --static-swift-stdlib)\n"), r.err
    assert not (root.path / "tmp/dest2/usr/local/bin/auditfs").exists()

    # Remove, then purge: the store, the policy and the mount point stay.
    store = root.path / STORE.lstrip("/")
    before = tree_digest(store)
    root.sh("apt-get remove -y -q auditfs", timeout=300)
    assert not (root.path / "usr/bin/auditfs").exists() and not (root.path / "usr/sbin/mount.fuse.auditfs").exists()
    root.sh("apt-get purge -y -q auditfs", timeout=300)
    assert tree_digest(store) == before, "removing the package touched the store"
    root.sh(f"auditfs-check verify {STORE} --key /root/verifier-key")
    root.sh("apt-get purge -y -q auditfs-check", timeout=300)
    assert not root.installed("auditfs") and not root.installed("auditfs-check")
    assert tree_digest(store) == before and (root.path / "etc/auditfs/policy.yaml").exists()
    assert (root.path / MOUNTPOINT.lstrip("/")).is_dir()
    check = run(ROOT / ".build/release/auditfs-check", "verify", store, "--key", root.path / "root/verifier-key")
    assert check.returncode == 0, check.out + check.err


def test_checker_alone_on_a_root_without_fuse(built, debian_root, tmp_path):
    debs, _ = built
    # A store and a bundle made by the packaged auditfs (extracted, run here).
    unpacked = tmp_path / "unpacked"
    run("dpkg-deb", "-x", debs["auditfs"], unpacked, check=True)
    auditfs = unpacked / "usr/bin/auditfs"
    store = tmp_path / "store"
    run(auditfs, "init", store, check=True)
    run(auditfs, "append", store, "/app/audit.log", input="first\n", check=True)
    run(auditfs, "append", store, "/app/audit.log", input="second\n", check=True)
    run(auditfs, "checkpoint", store, check=True)
    run(auditfs, "prove", store, "/app/audit.log", "-o", tmp_path / "bundle.json", check=True)

    root = debian_root("auditor")
    root.install(debs["auditfs-check"])
    for package in ("fuse3", "libfuse3-3", "auditfs"):
        assert not root.installed(package), package
    assert not list((root.path / "usr/lib").rglob("libfuse3.so*")), "no libfuse in the root"
    assert swift_files(root.path) == []
    shutil.copy(tmp_path / "bundle.json", root.path / "tmp/bundle.json")
    shutil.copy(store / "verifier-key", root.path / "tmp/verifier-key")
    out = root.sh("auditfs-check verify-bundle /tmp/bundle.json --key /tmp/verifier-key").out
    assert "/app/audit.log" in out, out
    shutil.copytree(store, root.path / "tmp/store", symlinks=True)
    root.sh("auditfs-check verify /tmp/store --key /tmp/verifier-key")
    assert root.sh("auditfs-check cat /tmp/store /app/audit.log").out == "first\nsecond\n"
    # A bundle changed by one byte is refused.
    bundle = json.loads((root.path / "tmp/bundle.json").read_text())
    record = next(r for r in bundle["records"] if r["payload"])
    record["payload"] = base64.b64encode(b"FIRST\n").decode()
    (root.path / "tmp/bundle.json").write_text(json.dumps(bundle))
    assert root.sh("auditfs-check verify-bundle /tmp/bundle.json --key /tmp/verifier-key", expect=None).returncode != 0
