"""A throw-away single-host Ceph cluster as the real S3 Object Lock engine of
the tests: one monitor, one OSD on memstore (the data lives in the OSD's
memory) and one radosgw on 127.0.0.1, no manager. Everything — keys, conf,
monitor and OSD data, run dir, admin sockets, pid files, logs — lives under
the directory given to `start`; nothing is written under /etc/ceph,
/var/lib/ceph or /var/log/ceph. Daemons run in the foreground as children of
the test process (with PR_SET_PDEATHSIG, so they die with it even if it is
killed) and are stopped by their own pid files: radosgw, then the OSD, then
the monitor (radosgw hangs if the OSD goes first).

Needs the Debian 12 packages ceph-mon ceph-osd radosgw ceph-common (16.2.15)
and boto3; scripts/setup installs them. See docs/TESTING.md."""
import ctypes
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import uuid

# Ports: a block of BLOCK ports starting at one of these bases is used:
# base+0 mon v2, base+1 mon v1, base+10..base+39 the OSD's messengers,
# base+80 radosgw. No other integration test binds a fixed port there (the
# nginx and metrics tests take ephemeral ports from the kernel, which are
# above 32767). The first base whose ports are all free is taken, so two
# clusters (two test runs) on one machine do not collide.
PORT_BASES = [int(os.environ["AUDITFS_CEPH_PORT_BASE"])] if "AUDITFS_CEPH_PORT_BASE" in os.environ \
    else list(range(17300, 18000, 100))

ACCESS_KEY = "AUDITFSTESTACCESSKEY"
SECRET_KEY = "auditfs-test-secret-key-not-a-secret-0000"
REGION = "us-east-1"  # radosgw's default zonegroup accepts any SigV4 region name
RGW_NAME = "client.rgw.auditfs"
DAEMONS = ("ceph-mon", "ceph-osd", "radosgw")

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _pdeathsig():
    # PR_SET_PDEATHSIG fires when the *thread* that forked the child ends,
    # so it is set only for daemons started from the main thread: a gateway
    # restarted from a test's worker thread must outlive that thread (it is
    # still stopped by stop() or by the fixture's teardown).
    return _die_with_parent if threading.current_thread() is threading.main_thread() else None


def _port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class CephError(AssertionError):
    pass


class Radosgw:
    """A started cluster. `start(directory)` makes one; `stop()` ends it."""

    def __init__(self, directory, base):
        self.dir = pathlib.Path(directory)
        self.base = base
        self.mon_ports = (base, base + 1)
        self.osd_ports = (base + 10, base + 39)
        self.port = base + 80
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION
        self.conf = self.dir / "ceph.conf"
        self.procs = {}  # daemon name -> Popen
        self.timings = {}  # step -> seconds, for docs/TESTING.md
        self._buckets = 0

    # -- what tests use -------------------------------------------------

    def env(self):
        """Environment for a child process that talks S3 to this gateway."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region}

    def s3(self, **config):
        """A boto3 S3 client for this gateway (path-style addressing)."""
        import boto3
        from botocore.config import Config
        cfg = Config(s3={"addressing_style": "path"}, signature_version="s3v4", **config)
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                            config=cfg)

    def make_bucket(self, name=None, object_lock=True):
        """Creates a bucket (with Object Lock, so versioned, unless told not
        to) and returns its name; a unique name when none is given."""
        if name is None:
            self._buckets += 1
            name = f"auditfs-{os.getpid()}-{self._buckets}-{uuid.uuid4().hex[:8]}"
        self.s3().create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
        return name

    def stop_gateway(self):
        """Stops only radosgw (the cluster keeps its data): S3 requests are
        refused until start_gateway()."""
        self._stop("radosgw")

    def start_gateway(self, timeout=60):
        """Starts radosgw again and returns when it answers a signed request."""
        self._start_daemon("radosgw", ["radosgw", "-c", self.conf, "-n", RGW_NAME, "-f"])
        self._wait_s3(timeout)

    def stop(self):
        """Stops radosgw, the OSD, the monitor, in that order. Never raises;
        safe to call twice."""
        for name in ("radosgw", "ceph-osd", "ceph-mon"):
            try:
                self._stop(name)
            except Exception:
                pass

    def log_tail(self, lines=25):
        """The last lines of every daemon's log and console output."""
        out = []
        logs = self.dir / "log"
        files = sorted(logs.glob("*"), key=lambda f: (f.suffix != ".console", f.name)) if logs.is_dir() else []
        for f in files:
            text = f.read_text(errors="replace").splitlines()[-lines:]
            if not text:
                continue
            out.append(f"--- {f} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out)

    def rss_kib(self):
        """Resident memory of each running daemon, in KiB."""
        rss = {}
        for name in DAEMONS:
            pid = self._pid(name)
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmRSS:"):
                        rss[name] = int(line.split()[1])
            except (OSError, TypeError):
                pass
        return rss

    # -- start ----------------------------------------------------------

    def _run(self, *args, input=None, timeout=60):
        cmd = [str(a) for a in args]
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                           env=self._ceph_env(), preexec_fn=_pdeathsig())
        if p.returncode != 0:
            raise CephError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout.decode(errors='replace')}"
                            f"{p.stderr.decode(errors='replace')}")
        return p.stdout.decode()

    def _ceph_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CEPH_")}
        env["CEPH_CONF"] = str(self.conf)
        return env

    def _write_conf(self, fsid):
        d = self.dir
        mon_addr = f"[v2:127.0.0.1:{self.mon_ports[0]},v1:127.0.0.1:{self.mon_ports[1]}]"
        self.conf.write_text(f"""[global]
fsid = {fsid}
mon host = {mon_addr}
mon initial members = a
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = {d}/keyring
run dir = {d}/run
admin socket = {d}/run/$cluster-$name.$pid.asok
pid file = {d}/run/$name.pid
log file = {d}/log/$name.log
log to stderr = false
err to stderr = true
mon cluster log file = {d}/log/cluster.log
mon data = {d}/mon/$cluster-$id
osd data = {d}/osd/$cluster-$id
crash dir = {d}/crash
exporter sock dir = {d}/run
ms bind port min = {self.osd_ports[0]}
ms bind port max = {self.osd_ports[1]}
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
paxos propose interval = 0.05
paxos min wait = 0.01
mon warn on pool no redundancy = false
[client.rgw.auditfs]
rgw frontends = beast endpoint=127.0.0.1:{self.port}
rgw data = {d}/rgw
rgw enable lc threads = false
rgw enable gc threads = false
rgw enable quota threads = false
""")

    def _start_daemon(self, name, cmd):
        out = open(self.dir / "log" / f"{name}.console", "ab")
        self.procs[name] = subprocess.Popen([str(a) for a in cmd], stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, env=self._ceph_env(),
                                            preexec_fn=_pdeathsig())
        out.close()

    def _wait_s3(self, timeout):
        from botocore.exceptions import BotoCoreError, ClientError
        client = self.s3(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            p = self.procs.get("radosgw")
            if p is not None and p.poll() is not None:
                raise CephError(f"radosgw exited {p.returncode}")
            try:
                client.list_buckets()
                return
            except (BotoCoreError, ClientError) as e:
                last = e
            time.sleep(0.1)
        raise CephError(f"radosgw did not answer a signed request within {timeout}s: {last}")

    def _start(self, timeout):
        t0 = time.monotonic()
        for sub in ("run", "log", "mon/ceph-a", "osd/ceph-0", "rgw", "crash"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        fsid, osd_uuid = str(uuid.uuid4()), str(uuid.uuid4())
        self._write_conf(fsid)
        # One keyring with every key: the monitor's (copied into its data by
        # --mkfs), the admin's, the OSD's and the gateway's, so no `auth add`.
        keyring = self.dir / "keyring"
        for name, caps in (("mon.", ["mon", "allow *"]),
                           ("client.admin", ["mon", "allow *", "osd", "allow *", "mgr", "allow *", "mds", "allow *"]),
                           ("osd.0", ["mon", "allow profile osd", "mgr", "allow profile osd", "osd", "allow *"]),
                           (RGW_NAME, ["mon", "allow rw", "osd", "allow rwx"])):
            cap_args = [a for i in range(0, len(caps), 2) for a in ("--cap", caps[i], caps[i + 1])]
            self._run("ceph-authtool", keyring, *([] if keyring.exists() else ["--create-keyring"]),
                      "--gen-key", "-n", name, *cap_args)
        self._run("monmaptool", "--create", "--fsid", fsid, "--addv", "a",
                  f"[v2:127.0.0.1:{self.mon_ports[0]},v1:127.0.0.1:{self.mon_ports[1]}]", self.dir / "monmap")
        self._run("ceph-mon", "-c", self.conf, "--mkfs", "-i", "a", "--monmap", self.dir / "monmap",
                  "--keyring", keyring)
        self._start_daemon("ceph-mon", ["ceph-mon", "-c", self.conf, "-i", "a", "-f"])
        # `ceph osd new` waits for the monitor to form its quorum of one.
        osd_id = self._run("ceph", "-c", self.conf, "--connect-timeout", str(int(timeout)),
                           "osd", "new", osd_uuid, timeout=timeout).strip()
        if osd_id != "0":
            raise CephError(f"ceph osd new gave id {osd_id!r}, not 0")
        self.timings["mon"] = time.monotonic() - t0
        self._run("ceph-osd", "-c", self.conf, "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        self._start_daemon("ceph-osd", ["ceph-osd", "-c", self.conf, "-i", "0", "-f"])
        self._start_daemon("radosgw", ["radosgw", "-c", self.conf, "-n", RGW_NAME, "-f"])
        # radosgw makes its pools once the OSD is up; the user needs them.
        self._run("radosgw-admin", "-c", self.conf, "user", "create", "--uid", "auditfs-test",
                  "--display-name", "auditfs tests", "--access-key", self.access_key,
                  "--secret-key", self.secret_key, timeout=timeout)
        self._wait_s3(max(5.0, timeout - (time.monotonic() - t0)))
        self.timings["s3"] = time.monotonic() - t0

    # -- stop -----------------------------------------------------------

    def _pid(self, name):
        short = {"ceph-mon": "mon.a", "ceph-osd": "osd.0", "radosgw": RGW_NAME}[name]
        try:
            return int((self.dir / "run" / f"{short}.pid").read_text().strip())
        except (OSError, ValueError):
            p = self.procs.get(name)
            return p.pid if p is not None and p.poll() is None else None

    def _stop(self, name, timeout=20):
        pid = self._pid(name)
        proc = self.procs.pop(name, None)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pid = None
        if proc is not None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        elif pid is not None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.05)
            if os.path.exists(f"/proc/{pid}"):
                os.kill(pid, signal.SIGKILL)
        short = {"ceph-mon": "mon.a", "ceph-osd": "osd.0", "radosgw": RGW_NAME}[name]
        (self.dir / "run" / f"{short}.pid").unlink(missing_ok=True)


def start(directory, timeout=120):
    """Starts a cluster under `directory` and returns its Radosgw once a
    signed S3 request is answered. On failure nothing is left running and
    the CephError carries the daemons' log tails."""
    for base in PORT_BASES:
        ports = [base, base + 1, base + 80] + list(range(base + 10, base + 40))
        if all(_port_free(p) for p in ports):
            break
    else:
        raise CephError(f"no free block of ports at {PORT_BASES} (set AUDITFS_CEPH_PORT_BASE)")
    gw = Radosgw(directory, base)
    try:
        gw._start(timeout)
    except BaseException as e:
        gw.stop()
        raise CephError(f"the Ceph cluster under {directory} did not start: {e}\n{gw.log_tail()}") from e
    return gw
