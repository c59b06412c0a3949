// C for the daemon's system calls that Swift cannot write safely: a signal
// handler and `struct ucred`. No libfuse. Every function carries the
// auditfs_ prefix and says why it exists.
#ifndef AUDITFS_CAUDITDAEMONSHIM_H
#define AUDITFS_CAUDITDAEMONSHIM_H

/// Makes SIGHUP ask for a policy reload instead of ending the daemon: the
/// handler writes the sender's pid and uid (from siginfo) as two 32-bit
/// integers, 8 bytes, to `fd` (the non-blocking write end of a pipe) for a
/// thread to read. Why C: a signal handler may only call async-signal-safe
/// functions, and a Swift closure gives no such guarantee. Install it before
/// fuse_set_signal_handlers, which then leaves SIGHUP alone (it only replaces
/// default dispositions). Returns 0, or -1 with errno.
int auditfs_catch_reload_signal(int fd);

/// The pid and uid of the process at the other end of a Unix socket
/// (SO_PEERCRED). Why C: `struct ucred` is declared only under _GNU_SOURCE,
/// which Swift's Glibc module does not define. Returns 0, or -1 with errno.
int auditfs_peer_credentials(int fd, int *pid, unsigned *uid);

#endif
