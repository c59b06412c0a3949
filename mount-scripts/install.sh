#!/bin/sh
# Installs auditfs on this machine, or removes it again:
#
#   mount-scripts/install.sh [--bin PATH]     install (or update; safe to run again)
#   mount-scripts/install.sh --uninstall      remove what install put there (safe to run again)
#
# For a source install (a server without Swift takes the Debian package:
# scripts/package, README "Install"). Installs /usr/local/bin/auditfs
# (default: .build/release/auditfs, build it with `swift build -c release
# --product auditfs`), the mount(8) helpers
# /usr/sbin/mount.fuse.auditfs and /usr/sbin/mount.auditfs (for fstab types
# fuse.auditfs and auditfs), and the unit /etc/systemd/system/auditfs@.service.
# It never touches a store, /etc/auditfs or a mount point: uninstall leaves
# every store and every config file in place. DESTDIR=DIR installs under DIR
# (for packaging and tests; systemd is then not told). A binary built without
# --static-swift-stdlib loads the Swift toolchain's libraries: install says
# so, and refuses one whose libraries this machine lacks.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=${DESTDIR:-}
bindir=$root/usr/local/bin
sbindir=$root/usr/sbin
unitdir=$root/etc/systemd/system
bin=$here/../.build/release/auditfs
mode=install

while [ $# -gt 0 ]; do
    case $1 in
        --bin) [ $# -ge 2 ] || { echo "install.sh: --bin needs a path" >&2; exit 2; }; bin=$2; shift 2 ;;
        --uninstall) mode=uninstall; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

# Tells a running systemd (PID 1) about changed unit files; quiet without one.
daemon_reload() {
    if [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl daemon-reload
    fi
}

if [ "$mode" = uninstall ]; then
    if [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        active=$(systemctl list-units --state=active --plain --no-legend 'auditfs@*.service' 2>/dev/null | awk '{print $1}')
        [ -z "$active" ] || { echo "install.sh: stop these first: $active" >&2; exit 1; }
    fi
    rm -f "$bindir/auditfs" "$sbindir/mount.fuse.auditfs" "$sbindir/mount.auditfs" "$unitdir/auditfs@.service"
    daemon_reload
    echo "auditfs uninstalled (stores, /etc/auditfs and mount points are left as they were)"
    exit 0
fi

[ -f "$bin" ] && [ -x "$bin" ] || { echo "install.sh: no auditfs binary at $bin (build it: swift build -c release --product auditfs)" >&2; exit 1; }
# A binary built without --static-swift-stdlib loads the Swift runtime and
# Foundation from the toolchain's directory (libswiftCore.so, ...): it starts
# only where that toolchain is installed.
toolchain=$(ldd "$bin" 2>/dev/null | grep -E 'lib(swift|Foundation|dispatch|BlocksRuntime)' || true)
case $toolchain in
    *"not found"*)
        echo "install.sh: $bin needs the Swift toolchain's libraries, which this machine lacks (install the auditfs package, or build with --static-swift-stdlib)" >&2
        exit 1 ;;
esac
install -d -m 0755 "$bindir" "$sbindir" "$unitdir"
# Copy to a temporary name, then rename: a daemon running the old binary keeps it.
install -m 0755 "$bin" "$bindir/.auditfs.new" && mv -f "$bindir/.auditfs.new" "$bindir/auditfs"
install -m 0755 "$here/mount.fuse.auditfs" "$sbindir/mount.fuse.auditfs"
ln -sfn mount.fuse.auditfs "$sbindir/mount.auditfs"
install -m 0644 "$here/auditfs@.service" "$unitdir/auditfs@.service"
daemon_reload
echo "auditfs installed: $bindir/auditfs, $sbindir/mount.fuse.auditfs, $sbindir/mount.auditfs, $unitdir/auditfs@.service"
if [ -n "$toolchain" ]; then
    lib=$(printf '%s\n' "$toolchain" | awk '/libswiftCore/ {print $3}')
    echo "note: this auditfs needs the Swift toolchain's libraries (${lib:-libswiftCore.so}): it runs only where that toolchain is installed; for a machine without Swift, install the package (scripts/package) or build with --static-swift-stdlib"
fi
