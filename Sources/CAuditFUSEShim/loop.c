// The session loop: up to `max_threads` workers, one of which reads
// /dev/fuse at a time.
//
// libfuse 3.14's multithreaded loop keeps every idle worker blocked in
// read() on /dev/fuse, and the kernel wakes them in turn (first in, first
// out): one writer's WRITEs go to a different thread each time, on another
// CPU as often as not. Here the reading is a token held by one worker. A
// WRITE of up to 64 KiB is answered by the worker that read it, which then
// reads the next request itself, so a writer's requests stay on one warm
// thread as in the single-threaded loop; its handler appends to the store
// and returns, without waiting for the disk. Before any other request (an
// FSYNC that waits for the disk, an OPEN that records a decision, a READ,
// a lookup, a large WRITE) the reader passes the token to an idle worker,
// starting one if none is idle and the limit allows, so such a request
// never holds up the next one.
//
// Ending: libfuse's signal handlers (SIGTERM, SIGINT) mark the session
// exited; the signal interrupts the calling thread's sem_wait below (Linux
// offers a process-directed signal to the main thread first) or the
// reader's read(). An unmount makes the reader's read() fail with ENODEV,
// which libfuse turns into an exited session. The calling thread then
// cancels the reader if it is blocked in read() (workers accept
// cancellation only there, as libfuse's own workers do), wakes the idle
// ones, and joins every worker: requests in flight finish and are answered
// before the loop returns.
#include "../CFuse3/CFuse3.h"
#include "CAuditFUSEShim.h"

#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

enum {
    MAX_WORKERS = 64,
    INLINE_WRITE = 64 << 10,   // the largest request (header included) the reader answers itself
};

struct loop {
    struct fuse_session *se;
    pthread_mutex_t lock;
    pthread_cond_t turn;          // the token is free, or the loop is done
    sem_t finished;               // a worker saw the session end
    int reading;                  // a worker holds the token
    pthread_t reader;             // ... this one
    int done;                     // the session ended: workers leave (set under the lock, atomically:
                                  // the reader reads it without the lock)
    int error;                    // the first receive error (negative errno), 0 at a normal end
    unsigned idle;                // workers waiting for the token
    unsigned count, max;          // workers started, at most max
    pthread_t workers[MAX_WORKERS];
};

static void *worker(void *arg);

// The loop whose reading this thread holds while it answers a request
// itself; NULL once auditfs_fuse_may_block() passed the reading on.
static __thread struct loop *holding;

// Called with the lock held. Starts a worker; returns 0 when it could not.
static int start_worker(struct loop *l) {
    if (l->done || l->count >= l->max) return 0;   // once done, the joined set is final
    if (pthread_create(&l->workers[l->count], NULL, worker, l) != 0) return 0;
    l->count++;
    return 1;
}

// The reader gives up the token before handling a request that may block.
static void hand_off(struct loop *l) {
    pthread_mutex_lock(&l->lock);
    l->reading = 0;
    if (l->idle > 0) pthread_cond_signal(&l->turn);
    else start_worker(l);   // at the limit: the first worker to finish takes the token
    pthread_mutex_unlock(&l->lock);
}

// The requests the reader answers itself: those whose handlers work in
// memory and append to the store without waiting for the disk; a handler
// that may wait on something else (a user-database lookup) first calls
// auditfs_fuse_may_block(), which passes the reading on. A WRITE only
// up to 64 KiB: a large one may be held up by the kernel's dirty-page
// throttling, and its hand-off costs little beside its copy and hash.
// Everything else (FSYNC, READ, READDIR, MKDIR, RENAME, SETATTR, ...) is
// handled after the hand-off.
static int answered_by_reader(const struct fuse_in_header *in) {
    switch (in->opcode) {
    case FUSE_WRITE: return in->len <= INLINE_WRITE;
    case FUSE_OPEN: case FUSE_CREATE: case FUSE_RELEASE: case FUSE_FLUSH:
    case FUSE_LOOKUP: case FUSE_GETATTR: case FUSE_FORGET: case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
        return 1;
    default:
        return 0;
    }
}

static void end(struct loop *l, int error) {
    pthread_mutex_lock(&l->lock);
    if (error < 0 && l->error == 0) l->error = error;
    __atomic_store_n(&l->done, 1, __ATOMIC_RELEASE);
    l->reading = 0;
    pthread_cond_broadcast(&l->turn);
    pthread_mutex_unlock(&l->lock);
    fuse_session_exit(l->se);
    sem_post(&l->finished);
}

static void *worker(void *arg) {
    struct loop *l = arg;
    struct fuse_buf buf = { .mem = NULL };
    int mine = 0;   // this worker holds the token
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    for (;;) {
        if (mine) {
            // Still the reader (after a request answered in place): no lock on this path.
            if (__atomic_load_n(&l->done, __ATOMIC_ACQUIRE)) break;
        } else {
            pthread_mutex_lock(&l->lock);
            while (l->reading && !l->done) {
                l->idle++;
                pthread_cond_wait(&l->turn, &l->lock);
                l->idle--;
            }
            int done = l->done;
            if (!done) {
                l->reading = 1;
                l->reader = pthread_self();
                mine = 1;
            }
            pthread_mutex_unlock(&l->lock);
            if (done) break;
        }
        if (fuse_session_exited(l->se)) { end(l, 0); break; }   // a signal that interrupted this read()

        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        int res = fuse_session_receive_buf(l->se, &buf);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        if (res == -EINTR || res == -EAGAIN) continue;
        if (res <= 0) { end(l, res); break; }

        // A request libfuse kept in a pipe (splice) is a large WRITE.
        if ((buf.flags & FUSE_BUF_IS_FD) || !answered_by_reader(buf.mem)) {
            hand_off(l);
            mine = 0;
            fuse_session_process_buf(l->se, &buf);
        } else {
            holding = l;
            fuse_session_process_buf(l->se, &buf);
            if (holding == NULL) mine = 0;   // the handler passed the reading on
            holding = NULL;
        }
    }
    free(buf.mem);
    return NULL;
}

void auditfs_fuse_may_block(void) {
    struct loop *l = holding;
    if (l == NULL) return;
    holding = NULL;
    hand_off(l);
}

int auditfs_fuse_session_loop(struct fuse_session *se, unsigned max_threads) {
    struct loop *l = calloc(1, sizeof *l);
    if (l == NULL) return -ENOMEM;
    l->se = se;
    l->max = max_threads < 1 ? 1 : max_threads > MAX_WORKERS ? MAX_WORKERS : max_threads;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->turn, NULL);
    sem_init(&l->finished, 0, 0);

    pthread_mutex_lock(&l->lock);
    int started = start_worker(l);
    pthread_mutex_unlock(&l->lock);
    int rc = started ? 0 : -EAGAIN;
    if (started) {
        while (!fuse_session_exited(se)) sem_wait(&l->finished);
        pthread_mutex_lock(&l->lock);
        __atomic_store_n(&l->done, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&l->turn);
        if (l->reading) pthread_cancel(l->reader);
        unsigned count = l->count;
        pthread_mutex_unlock(&l->lock);
        // No worker starts once done is set (only the token holder starts one).
        for (unsigned i = 0; i < count; i++) pthread_join(l->workers[i], NULL);
        rc = l->error;
    }
    sem_destroy(&l->finished);
    pthread_cond_destroy(&l->turn);
    pthread_mutex_destroy(&l->lock);
    free(l);
    return rc;
}
