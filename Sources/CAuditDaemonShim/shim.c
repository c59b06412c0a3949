#define _GNU_SOURCE   /* struct ucred, for auditfs_peer_credentials */
#include "CAuditDaemonShim.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile int reload_fd = -1;

static void on_reload_signal(int sig, siginfo_t *info, void *context) {
    int saved = errno;
    int32_t message[2] = { info != NULL ? (int32_t)info->si_pid : 0, info != NULL ? (int32_t)info->si_uid : -1 };
    if (reload_fd >= 0) {
        ssize_t n = write(reload_fd, message, sizeof message);   /* atomic: <= PIPE_BUF */
        (void)n;
    }
    errno = saved;
    (void)sig;
    (void)context;
}

int auditfs_catch_reload_signal(int fd) {
    reload_fd = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_reload_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGHUP, &sa, NULL);
}

int auditfs_peer_credentials(int fd, int *pid, unsigned *uid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    return 0;
}
