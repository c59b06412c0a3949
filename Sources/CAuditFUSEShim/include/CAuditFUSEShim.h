// C shims for the parts of libfuse3 that Swift cannot import: function-like
// macros and variadic callbacks. Every function carries the auditfs_fuse_
// prefix and says why it exists.
#ifndef AUDITFS_CAUDITFUSESHIM_H
#define AUDITFS_CAUDITFUSESHIM_H

struct fuse_session;

/// Runs the session loop (loop.c): up to `max_threads` workers, one reading
/// /dev/fuse at a time; a WRITE is answered by the worker that read it, any
/// other request after the reading passed to another worker. Returns 0 when
/// the session ended (unmount or signal), else a negative errno. Why:
/// libfuse 3.14's multithreaded loop wakes its idle workers in turn, so one
/// writer's requests land on a different thread, often another CPU, each
/// time (docs/MOUNT.md "Benchmark").
int auditfs_fuse_session_loop(struct fuse_session *se, unsigned max_threads);

/// Called by a request's handler before it may wait on something outside the
/// mount: when the calling thread answers the request in place of reading
/// the next one, the reading passes to another worker first. Does nothing on
/// any other thread. Why: installed as FUSEInterface's `RequestThread` hook,
/// so the daemon says so without importing the bridge.
void auditfs_fuse_may_block(void);

/// Routes libfuse's log messages into a buffer (keeping the last line) and,
/// when `echo` is set, to stderr. Why: fuse_log_func_t takes a va_list,
/// which Swift cannot implement; the mount reports libfuse's own reason for
/// a failure (e.g. an unknown -o option) as its one-line error.
void auditfs_fuse_capture_log(int echo);

/// Copies the last captured libfuse log line (without its newline) into
/// `buf` and returns its length; 0 when none.
int auditfs_fuse_last_log(char *buf, int size);

#endif
