// The same header Swift imports, so both sides see FUSE_USE_VERSION 314.
#include "../CFuse3/CFuse3.h"
#include "CAuditFUSEShim.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Static_assert(FUSE_USE_VERSION >= 312,
               "fuse_session_loop_mt needs the 3.12 config layout to match fuse_loop_cfg_create()");

int auditfs_fuse_session_loop_mt(struct fuse_session *se, unsigned max_idle_threads, unsigned max_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL) return -1;
    fuse_loop_cfg_set_clone_fd(config, 0);
    fuse_loop_cfg_set_idle_threads(config, max_idle_threads);
    fuse_loop_cfg_set_max_threads(config, max_threads);
    int rc = fuse_session_loop_mt(se, config);
    fuse_loop_cfg_destroy(config);
    return rc;
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_log[512];
static int echo_log;

static void capture(enum fuse_log_level level, const char *fmt, va_list ap) {
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = 0;
    if (n == 0) return;
    pthread_mutex_lock(&log_lock);
    memcpy(last_log, line, n + 1);
    if (echo_log) fprintf(stderr, "auditfs: libfuse: %s\n", line);
    pthread_mutex_unlock(&log_lock);
    (void)level;
}

void auditfs_fuse_capture_log(int echo) {
    echo_log = echo;
    fuse_set_log_func(capture);
}

int auditfs_fuse_last_log(char *buf, int size) {
    if (size <= 0) return 0;
    pthread_mutex_lock(&log_lock);
    int n = (int)strnlen(last_log, sizeof last_log);
    if (n > size - 1) n = size - 1;
    memcpy(buf, last_log, n);
    buf[n] = 0;
    pthread_mutex_unlock(&log_lock);
    return n;
}
