// appendbench: COUNT write() calls of SIZE bytes each to PATH, opened
// O_WRONLY|O_CREAT|O_APPEND (one write per record, as loggers do). Prints
// the elapsed seconds of the write loop (the open and close are outside it).
//
// Build: cc -O2 -Wall appendbench.c -o appendbench
// Run:   ./appendbench PATH SIZE COUNT [fsync]
//        fsync: end with fsync(), inside the timed part (bytes on disk).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) { fprintf(stderr, "usage: %s PATH SIZE COUNT [fsync]\n", argv[0]); return 2; }
    int sync_at_end = argc == 5 && strcmp(argv[4], "fsync") == 0;
    size_t size = strtoul(argv[2], NULL, 10);
    long count = strtol(argv[3], NULL, 10);
    char *buf = malloc(size);
    if (buf == NULL || size == 0) { fprintf(stderr, "bad size\n"); return 2; }
    for (size_t i = 0; i < size; i++) buf[i] = (char)('a' + i % 26);
    buf[size - 1] = '\n';
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) { perror(argv[1]); return 1; }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) {
        ssize_t n = write(fd, buf, size);
        if (n != (ssize_t)size) { perror("write"); return 1; }
    }
    if (sync_at_end && fsync(fd) != 0) { perror("fsync"); return 1; }
    clock_gettime(CLOCK_MONOTONIC, &end);
    close(fd);
    printf("%.6f\n", (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
    return 0;
}
