// C shims for the parts of libfuse3 that Swift cannot import: function-like
// macros and variadic callbacks. Every function carries the auditfs_fuse_
// prefix and says why it exists.
#ifndef AUDITFS_CAUDITFUSESHIM_H
#define AUDITFS_CAUDITFUSESHIM_H

struct fuse_session;

/// Runs the multithreaded session loop with a config from fuse_loop_cfg_create().
/// Why: fuse_session_loop_mt is a macro in libfuse 3.14 (it picks
/// fuse_session_loop_mt_312 or _32 by FUSE_USE_VERSION); Swift cannot import
/// function-like macros, and calling a versioned symbol by hand from Swift
/// would reintroduce the mismatch this shim pins down at compile time.
int auditfs_fuse_session_loop_mt(struct fuse_session *se, unsigned max_idle_threads, unsigned max_threads);

/// Routes libfuse's log messages into a buffer (keeping the last line) and,
/// when `echo` is set, to stderr. Why: fuse_log_func_t takes a va_list,
/// which Swift cannot implement; the mount reports libfuse's own reason for
/// a failure (e.g. an unknown -o option) as its one-line error.
void auditfs_fuse_capture_log(int echo);

/// Copies the last captured libfuse log line (without its newline) into
/// `buf` and returns its length; 0 when none.
int auditfs_fuse_last_log(char *buf, int size);

#endif
