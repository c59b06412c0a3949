// libfuse log capture. The same header Swift imports, so both sides see FUSE_USE_VERSION 314.
#include "../CFuse3/CFuse3.h"
#include "CAuditFUSEShim.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_log[512];
static int echo_log;

/* libfuse writes some messages in pieces ("unknown option(s): `-o " then
 * "bogus'\n"): pieces are joined until a newline ends the line. */
static char partial[512];

static void capture(enum fuse_log_level level, const char *fmt, va_list ap) {
    char piece[512];
    vsnprintf(piece, sizeof piece, fmt, ap);
    pthread_mutex_lock(&log_lock);
    size_t have = strlen(partial);
    snprintf(partial + have, sizeof partial - have, "%s", piece);
    size_t n = strlen(partial);
    if (n == 0 || partial[n - 1] != '\n') { pthread_mutex_unlock(&log_lock); return; }
    while (n > 0 && (partial[n - 1] == '\n' || partial[n - 1] == ' ')) partial[--n] = 0;
    if (n > 0) {
        memcpy(last_log, partial, n + 1);
        if (echo_log) fprintf(stderr, "auditfs: libfuse: %s\n", partial);
    }
    partial[0] = 0;
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
    const char *line = partial[0] != 0 ? partial : last_log;   /* a message still waiting for its newline */
    int n = (int)strnlen(line, sizeof last_log);
    if (n > size - 1) n = size - 1;
    memcpy(buf, line, n);
    buf[n] = 0;
    pthread_mutex_unlock(&log_lock);
    return n;
}
