// nullfs: the FUSE round-trip limit for the auditfs benchmark.
//
// A minimal low-level libfuse3 file system that accepts and discards
// writes: a root directory in which every name is one empty regular file
// (inode 2). It is set up like auditfs — FUSE_USE_VERSION 314, the
// multithreaded loop from fuse_loop_cfg_create() with clone_fd off and the
// same thread limits, no writeback cache, allow_other,default_permissions —
// so the difference between the two is auditfs's own work per request.
//
// Build (bench/mounts.py does): cc -O2 -Wall nullfs.c ../Sources/CAuditFUSEShim/loop.c
//          -I ../Sources/CAuditFUSEShim/include $(pkg-config --cflags --libs fuse3) -o nullfs
// Run:   ./nullfs MOUNTPOINT [direct_io] [single | clone_fd] [threads=N]
//        (foreground; unmount with fusermount3 -u)
//        direct_io: open write handles with direct I/O, as auditfs does;
//        single: the single-threaded loop (fuse_session_loop) instead;
//        clone_fd: each worker thread reads its own clone of /dev/fuse;
//        leader: auditfs's own session loop (Sources/CAuditFUSEShim/loop.c, built
//        in): up to N threads, one reading at a time, small WRITEs answered in place;
//        threads=N: the multithreaded loop's max and idle threads (default 10);
//        backing=FILE: writes are appended to FILE (write() on an O_APPEND
//        descriptor) and fsync/fdatasync sync it: the least a FUSE file system
//        that keeps its bytes on a disk can do, for P3;
//        size=MIB: the file is MIB MiB long and reads return a fixed pattern,
//        generated in memory; read-only opens keep the page cache (as auditfs's
//        do for a file that has not grown): the FUSE read-path ceiling for P5.
// bench/bench.py runs every configuration and compares auditfs with the fastest.
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "CAuditFUSEShim.h"   // auditfs_fuse_session_loop, for `leader`

#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ROOT = FUSE_ROOT_ID, FILE_INO = 2 };

static int direct_io;
static int backing = -1;          // backing=FILE
static off_t file_size;           // size=MIB
static char *pattern;             // 2 MiB: pattern[i] == pattern[i % 1 MiB]
enum { PATTERN = 1 << 20 };

static void attributes(fuse_ino_t ino, struct stat *st) {
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    if (ino == ROOT) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0666;
        st->st_nlink = 1;
        st->st_size = file_size;
    }
}

static void reply_entry(fuse_req_t req) {
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = FILE_INO;
    e.attr_timeout = 1.0;
    e.entry_timeout = 1.0;
    attributes(FILE_INO, &e.attr);
    fuse_reply_entry(req, &e);
}

static void null_init(void *userdata, struct fuse_conn_info *conn) {
    (void)userdata;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void null_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    (void)name;
    if (parent != ROOT) { fuse_reply_err(req, ENOENT); return; }
    reply_entry(req);
}

static void null_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    struct stat st;
    attributes(ino, &st);
    fuse_reply_attr(req, &st, 1.0);
}

static void null_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
    (void)attr; (void)to_set; (void)fi;
    struct stat st;
    attributes(ino, &st);
    fuse_reply_attr(req, &st, 1.0);
}

static void null_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
    (void)name; (void)mode;
    if (parent != ROOT) { fuse_reply_err(req, ENOENT); return; }
    if (direct_io && (fi->flags & O_ACCMODE) != O_RDONLY) fi->direct_io = 1;
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = FILE_INO;
    e.attr_timeout = 1.0;
    e.entry_timeout = 1.0;
    attributes(FILE_INO, &e.attr);
    fuse_reply_create(req, &e, fi);
}

static void null_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino;
    if (direct_io && (fi->flags & O_ACCMODE) != O_RDONLY) fi->direct_io = 1;
    if ((fi->flags & O_ACCMODE) == O_RDONLY) fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void null_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)ino; (void)off; (void)fi;
    if (backing >= 0 && write(backing, buf, size) != (ssize_t)size) { fuse_reply_err(req, EIO); return; }
    fuse_reply_write(req, size);
}

static void null_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)ino; (void)fi;
    if (off >= file_size) { fuse_reply_buf(req, NULL, 0); return; }
    if ((off_t)size > file_size - off) size = (size_t)(file_size - off);
    if (size > PATTERN) size = PATTERN;
    fuse_reply_buf(req, pattern + off % PATTERN, size);
}

static void null_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino; (void)fi;
    fuse_reply_err(req, 0);
}

static void null_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
    (void)ino; (void)fi;
    if (backing >= 0 && (datasync ? fdatasync(backing) : fsync(backing)) != 0) { fuse_reply_err(req, errno); return; }
    fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
    .init = null_init,
    .lookup = null_lookup,
    .getattr = null_getattr,
    .setattr = null_setattr,
    .create = null_create,
    .open = null_open,
    .write = null_write,
    .read = null_read,
    .flush = null_ok,
    .release = null_ok,
    .fsync = null_fsync,
};

int main(int argc, char **argv) {
    int single = 0, clone_fd = 0, threads = 10, lead = 0, bad = argc < 2;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "direct_io") == 0) direct_io = 1;
        else if (strcmp(argv[i], "single") == 0) single = 1;
        else if (strcmp(argv[i], "clone_fd") == 0) clone_fd = 1;
        else if (strcmp(argv[i], "leader") == 0) lead = 1;
        else if (strncmp(argv[i], "threads=", 8) == 0 && atoi(argv[i] + 8) > 0) threads = atoi(argv[i] + 8);
        else if (strncmp(argv[i], "backing=", 8) == 0) {
            backing = open(argv[i] + 8, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (backing < 0) { perror(argv[i] + 8); return 1; }
        }
        else if (strncmp(argv[i], "size=", 5) == 0 && atoi(argv[i] + 5) > 0) file_size = (off_t)atoi(argv[i] + 5) << 20;
        else bad = 1;
    }
    if (bad) {
        fprintf(stderr, "usage: %s MOUNTPOINT [direct_io] [single | clone_fd | leader] [threads=N] [backing=FILE] [size=MIB]\n", argv[0]);
        return 2;
    }
    pattern = malloc(2 * PATTERN);
    if (pattern == NULL) return 1;
    for (int i = 0; i < PATTERN; i++) pattern[i] = pattern[i + PATTERN] = (char)(i * 131 + (i >> 12));
    char *fargv[] = { argv[0], "-o", "allow_other,default_permissions,fsname=nullfs,subtype=nullfs", NULL };
    struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
    struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
    if (se == NULL) return 1;
    int rc = 1;
    if (fuse_set_signal_handlers(se) == 0) {
        if (fuse_session_mount(se, argv[1]) == 0) {
            if (single) {
                rc = fuse_session_loop(se) < 0;
            } else if (lead) {
                rc = auditfs_fuse_session_loop(se, (unsigned)threads) < 0;
            } else {
                struct fuse_loop_config *config = fuse_loop_cfg_create();
                fuse_loop_cfg_set_clone_fd(config, clone_fd);
                fuse_loop_cfg_set_idle_threads(config, threads);
                fuse_loop_cfg_set_max_threads(config, threads);
                rc = fuse_session_loop_mt(se, config) < 0;
                fuse_loop_cfg_destroy(config);
            }
            fuse_session_unmount(se);
        }
        fuse_remove_signal_handlers(se);
    }
    fuse_session_destroy(se);
    return rc;
}
