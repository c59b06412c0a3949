// appendbench: COUNT write() calls of SIZE bytes each to PATH, opened
// O_WRONLY|O_CREAT|O_APPEND (one write per record, as loggers do). Prints
// the elapsed seconds of the write loop (the opens and closes are outside it).
//
// Build: cc -O2 -Wall appendbench.c -o appendbench
// Run:   ./appendbench PATH SIZE COUNT [fsync | datasync-each] [procs=N] [shared]
//        fsync: end with fsync(), inside the timed part (bytes on disk);
//        datasync-each: fdatasync() after every write (a logger that syncs each line);
//        procs=N: N processes write COUNT records each, to PATH.0 … PATH.N-1,
//        or all to PATH with `shared`; the time runs from their common start
//        to the last one's end.
// Every record is one line: "wNNN SSSSSSSSSS " (writer and sequence number,
// so bench/bench.py can tell a lost or torn line), filler, '\n'.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int writer(const char *path, int id, size_t size, long count, int sync_at_end, int sync_each, int go) {
    char *buf = malloc(size);
    if (buf == NULL) return 2;
    for (size_t i = 0; i < size; i++) buf[i] = (char)('a' + i % 26);
    buf[size - 1] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) { perror(path); return 1; }
    if (go >= 0) { char c; if (read(go, &c, 1) < 0) return 1; }   // wait for the common start
    for (long i = 0; i < count; i++) {
        char tag[32];
        int n = snprintf(tag, sizeof tag, "w%03d %010ld ", id, i);
        if ((size_t)n < size) memcpy(buf, tag, (size_t)n);
        ssize_t w = write(fd, buf, size);
        if (w != (ssize_t)size) { perror("write"); return 1; }
        if (sync_each && fdatasync(fd) != 0) { perror("fdatasync"); return 1; }
    }
    if (sync_at_end && fsync(fd) != 0) { perror("fsync"); return 1; }
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PATH SIZE COUNT [fsync | datasync-each] [procs=N] [shared]\n", argv[0]);
        return 2;
    }
    int sync_at_end = 0, sync_each = 0, procs = 1, shared = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "fsync") == 0) sync_at_end = 1;
        else if (strcmp(argv[i], "datasync-each") == 0) sync_each = 1;
        else if (strncmp(argv[i], "procs=", 6) == 0) procs = atoi(argv[i] + 6);
        else if (strcmp(argv[i], "shared") == 0) shared = 1;
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    size_t size = strtoul(argv[2], NULL, 10);
    long count = strtol(argv[3], NULL, 10);
    if (size == 0 || procs < 1) { fprintf(stderr, "bad size or procs\n"); return 2; }
    struct timespec start, end;
    if (procs == 1 && !shared) {
        // One writer in this process: the timed part is the write loop alone.
        char *buf = malloc(size);
        for (size_t i = 0; i < size; i++) buf[i] = (char)('a' + i % 26);
        buf[size - 1] = '\n';
        int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0) { perror(argv[1]); return 1; }
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (long i = 0; i < count; i++) {
            char tag[32];
            int n = snprintf(tag, sizeof tag, "w%03d %010ld ", 0, i);
            if ((size_t)n < size) memcpy(buf, tag, (size_t)n);
            if (write(fd, buf, size) != (ssize_t)size) { perror("write"); return 1; }
            if (sync_each && fdatasync(fd) != 0) { perror("fdatasync"); return 1; }
        }
        if (sync_at_end && fsync(fd) != 0) { perror("fsync"); return 1; }
        clock_gettime(CLOCK_MONOTONIC, &end);
        close(fd);
    } else {
        int go[2];
        if (pipe(go) != 0) { perror("pipe"); return 1; }
        for (int p = 0; p < procs; p++) {
            pid_t pid = fork();
            if (pid < 0) { perror("fork"); return 1; }
            if (pid == 0) {
                close(go[1]);
                char path[4096];
                if (shared) snprintf(path, sizeof path, "%s", argv[1]);
                else snprintf(path, sizeof path, "%s.%d", argv[1], p);
                _exit(writer(path, p, size, count, sync_at_end, sync_each, go[0]));
            }
        }
        close(go[0]);
        usleep(200000);   // let every writer open its file
        clock_gettime(CLOCK_MONOTONIC, &start);
        close(go[1]);     // every read() returns 0: all start
        int failed = 0, status;
        while (wait(&status) > 0) failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        clock_gettime(CLOCK_MONOTONIC, &end);
        if (failed) { fprintf(stderr, "a writer failed\n"); return 1; }
    }
    printf("%.6f\n", (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
    return 0;
}
