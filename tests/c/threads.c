/* Concurrency: spec/README.md ("Every function is callable from any thread, at any time") with
 * the semantics of spec/zircon.md sections 2-4. Several pthreads create, write, snapshot, read and
 * close VMOs at once, share one VMO, and duplicate and close handles of it; every result is
 * checked. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "check.h"

enum { THREADS = 8, ROUNDS = 150, SHARED_PAGES = THREADS * 2 };

static zx_handle_t shared_vmo;

/* Each thread: private VMOs with snapshots and clones, checked against what it wrote. */
static void private_round(int id, int round) {
    uint8_t a = (uint8_t)(id * 31 + round), b = (uint8_t)(a + 1), c = (uint8_t)(a + 2);
    zx_handle_t v = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(4 * PAGE, round % 2 ? ZX_VMO_RESIZABLE : 0, &v), ZX_OK))
        return;
    CHECK_STATUS(vmo_fill(v, 0, 3 * PAGE, a), ZX_OK);
    zx_handle_t s = ZX_HANDLE_INVALID, l = ZX_HANDLE_INVALID, sl = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE, &s), ZX_OK);
    CHECK_STATUS(zx_vmo_clone(v, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 4 * PAGE, &l), ZX_OK);
    if (round % 2 == 0)
        CHECK_STATUS(zx_vmo_create_child(v, ZX_VMO_CHILD_SLICE, PAGE, PAGE, &sl), ZX_OK);
    CHECK_STATUS(vmo_fill(v, 0, PAGE, b), ZX_OK);
    CHECK_STATUS(vmo_fill(s, PAGE, PAGE, c), ZX_OK);
    CHECK(vmo_bytes_are(s, 0, PAGE, a));
    CHECK(vmo_bytes_are(s, PAGE, PAGE, c));
    CHECK(vmo_bytes_are(s, 2 * PAGE, PAGE, a));
    CHECK(vmo_bytes_are(v, 0, PAGE, b));
    CHECK(vmo_bytes_are(v, PAGE, 2 * PAGE, a));
    CHECK(vmo_bytes_are(l, 0, PAGE, b)); /* one-way: sees the parent's later write */
    CHECK_EQ(committed_of(v) + committed_of(s) + committed_of(l), 5 * PAGE);
    if (sl != ZX_HANDLE_INVALID) {
        CHECK_STATUS(vmo_fill(sl, 0, 1, c), ZX_OK);
        CHECK_EQ(vmo_byte(v, PAGE), c);
        CHECK_EQ(vmo_byte(s, PAGE), c);
        CHECK_EQ(vmo_byte(s, PAGE + 1), c);
        CHECK_STATUS(zx_handle_close(sl), ZX_OK);
    }
    CHECK_EQ(vmo_info(v).num_children, 2);
    /* Close in an order that depends on the round. */
    if (round % 3 == 0) {
        CHECK_STATUS(zx_handle_close(v), ZX_OK);
        CHECK(vmo_bytes_are(s, 0, PAGE, a));
        CHECK_STATUS(zx_handle_close(l), ZX_OK);
        CHECK_EQ(committed_of(s), 3 * PAGE);
        CHECK_STATUS(zx_handle_close(s), ZX_OK);
    } else if (round % 3 == 1) {
        CHECK_STATUS(zx_handle_close(s), ZX_OK);
        CHECK_STATUS(zx_handle_close(l), ZX_OK);
        CHECK_EQ(committed_of(v), 3 * PAGE);
        CHECK(signals_of(v) & ZX_VMO_ZERO_CHILDREN);
        CHECK_STATUS(zx_handle_close(v), ZX_OK);
    } else {
        CHECK_STATUS(zx_handle_close(l), ZX_OK);
        CHECK_STATUS(zx_handle_close(v), ZX_OK);
        CHECK(vmo_bytes_are(s, PAGE, PAGE, c));
        CHECK_STATUS(zx_handle_close(s), ZX_OK);
    }
}

/* Each thread owns two pages of the shared VMO: it writes them, snapshots the shared VMO and
 * checks its own pages in the snapshot, and reads through its own duplicate handle. */
static void shared_round(int id, int round) {
    uint64_t off = (uint64_t)id * 2 * PAGE;
    uint8_t val = (uint8_t)(round * 7 + id);
    CHECK_STATUS(vmo_fill(shared_vmo, off, 2 * PAGE, val), ZX_OK);
    zx_handle_t d = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_handle_duplicate(shared_vmo, ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE |
                                                     ZX_RIGHT_INSPECT | ZX_RIGHT_WAIT,
                                     &d),
                 ZX_OK);
    CHECK(vmo_bytes_are(d, off, 2 * PAGE, val));
    zx_handle_t s = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create_child(d, ZX_VMO_CHILD_SNAPSHOT, 0, SHARED_PAGES * PAGE, &s),
                     ZX_OK)) {
        CHECK(vmo_bytes_are(s, off, 2 * PAGE, val));
        /* Later writes by this thread are not seen by the snapshot. */
        CHECK_STATUS(vmo_fill(shared_vmo, off, 1, (uint8_t)(val + 1)), ZX_OK);
        CHECK_EQ(vmo_byte(s, off), val);
        CHECK_EQ(vmo_byte(shared_vmo, off), (uint8_t)(val + 1));
        /* The snapshot's own writes are private. */
        CHECK_STATUS(vmo_fill(s, off + PAGE, 1, (uint8_t)(val + 2)), ZX_OK);
        CHECK_EQ(vmo_byte(shared_vmo, off + PAGE), val);
        CHECK(vmo_info(s).parent_koid == vmo_info(d).koid);
        CHECK_STATUS(zx_handle_close(s), ZX_OK);
    }
    uint64_t size = 0;
    CHECK_STATUS(zx_vmo_get_size(d, &size), ZX_OK);
    CHECK_EQ(size, SHARED_PAGES * PAGE);
    CHECK_STATUS(zx_handle_close(d), ZX_OK);
}

static void* worker(void* arg) {
    int id = (int)(intptr_t)arg;
    for (int round = 0; round < ROUNDS; round++) {
        private_round(id, round);
        shared_round(id, round);
        /* Signals on the shared VMO: user signal per thread. */
        zx_signals_t mine = ZX_USER_SIGNAL_0 << (id % 8);
        CHECK_STATUS(zx_object_signal(shared_vmo, 0, mine), ZX_OK);
        zx_signals_t observed = 0;
        CHECK_STATUS(zx_object_wait_one(shared_vmo, mine, ZX_TIME_INFINITE_PAST, &observed),
                     ZX_OK);
        CHECK(observed & mine);
    }
    return NULL;
}

/* A thread that keeps creating and closing children of the shared VMO while the others run. */
static atomic_int stop_churn;

static void* churn(void* arg) {
    (void)arg;
    long n = 0;
    while (!atomic_load(&stop_churn)) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        uint32_t kind = n % 2 ? ZX_VMO_CHILD_SLICE : ZX_VMO_CHILD_SNAPSHOT;
        zx_status_t st = zx_vmo_create_child(shared_vmo, kind, 0, PAGE, &c);
        if (st != ZX_OK) {
            CHECK_STATUS(st, ZX_OK);
            break;
        }
        st = zx_handle_close(c);
        if (st != ZX_OK) {
            CHECK_STATUS(st, ZX_OK);
            break;
        }
        n++;
    }
    CHECK(n > 0);
    return NULL;
}

/* Racing closes of the same handle: exactly one wins. */
struct race {
    zx_handle_t h;
    zx_status_t st;
};

static void* close_it(void* arg) {
    struct race* r = arg;
    r->st = zx_handle_close(r->h);
    return NULL;
}

static void test_close_race(void) {
    for (int i = 0; i < 200; i++) {
        zx_handle_t h = ZX_HANDLE_INVALID;
        if (!CHECK_STATUS(zx_vmo_create(PAGE, 0, &h), ZX_OK)) return;
        struct race r[4];
        pthread_t t[4];
        int started = 0;
        for (int k = 0; k < 4; k++) {
            r[k].h = h;
            r[k].st = -999;
            if (pthread_create(&t[k], NULL, close_it, &r[k]) == 0) started++;
        }
        int ok = 0, bad = 0;
        for (int k = 0; k < started; k++) {
            pthread_join(t[k], NULL);
            ok += r[k].st == ZX_OK;
            bad += r[k].st == ZX_ERR_BAD_HANDLE;
        }
        if (!CHECK_EQ(started, 4)) return;
        CHECK_EQ(ok, 1);
        CHECK_EQ(bad, 3);
    }
}


/* ---- First use from many threads at once: the runtime starts itself on first use (README),
 * so the very first calls of the process may race. ---- */
enum { FIRST = 8 };
static pthread_barrier_t first_barrier;
static zx_handle_t first_handles[FIRST];
static zx_koid_t first_koids[FIRST];

static void* first_use(void* arg) {
    int id = (int)(intptr_t)arg;
    pthread_barrier_wait(&first_barrier);
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &h), ZX_OK);
    CHECK(zx_job_default() != ZX_HANDLE_INVALID);
    CHECK(zx_clock_get_monotonic() > 0);
    CHECK_STATUS(vmo_fill(h, 0, PAGE, (uint8_t)id), ZX_OK);
    first_handles[id] = h;
    first_koids[id] = koid_of(h);
    return NULL;
}

static void test_first_use(void) {
    pthread_t t[FIRST];
    if (!CHECK(pthread_barrier_init(&first_barrier, NULL, FIRST) == 0)) return;
    int started = 0;
    for (int i = 0; i < FIRST; i++) {
        if (pthread_create(&t[i], NULL, first_use, (void*)(intptr_t)i) != 0) break;
        started++;
    }
    if (!CHECK_EQ(started, FIRST)) {
        /* The barrier can never open: give up on this part (the other threads are stuck). */
        return;
    }
    for (int i = 0; i < FIRST; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&first_barrier);
    int dups = 0;
    for (int i = 0; i < FIRST; i++)
        for (int j = i + 1; j < FIRST; j++)
            dups += first_handles[i] == first_handles[j] || first_koids[i] == first_koids[j];
    CHECK_EQ(dups, 0);
    for (int i = 0; i < FIRST; i++) {
        CHECK(vmo_bytes_are(first_handles[i], 0, PAGE, (uint8_t)i));
        CHECK_STATUS(zx_handle_close(first_handles[i]), ZX_OK);
    }
}

/* ---- Snapshots taken while another thread writes the parent: each byte of the snapshot holds
 * a value the parent had around the snapshot's creation, and the snapshot never changes
 * afterwards (section 3: "as if the range had been copied eagerly at creation"). ---- */
enum { SNAP_PAGES = 8, WRITER_ROUNDS = 240, SNAPPERS = 3 };
static zx_handle_t written;
static atomic_int version;    /* last round fully written */
static atomic_int writer_done;

static void* writer(void* arg) {
    (void)arg;
    for (int k = 1; k <= WRITER_ROUNDS; k++) {
        for (int p = 0; p < SNAP_PAGES; p++)
            CHECK_STATUS(vmo_fill(written, (uint64_t)p * PAGE, PAGE, (uint8_t)k), ZX_OK);
        atomic_store(&version, k);
        if (k % 16 == 0) sched_yield();
    }
    atomic_store(&writer_done, 1);
    return NULL;
}

static void* snapper(void* arg) {
    (void)arg;
    static _Thread_local uint8_t first[SNAP_PAGES * 4096], again[SNAP_PAGES * 4096];
    int taken = 0;
    while (!atomic_load(&writer_done) || taken < 3) {
        int before = atomic_load(&version);
        zx_handle_t s = ZX_HANDLE_INVALID;
        if (!CHECK_STATUS(zx_vmo_create_child(written, ZX_VMO_CHILD_SNAPSHOT, 0,
                                              SNAP_PAGES * PAGE, &s),
                          ZX_OK))
            break;
        int after = atomic_load(&version);
        taken++;
        CHECK_STATUS(zx_vmo_read(s, first, 0, sizeof first), ZX_OK);
        int bad = 0;
        for (size_t i = 0; i < sizeof first; i++)
            bad += first[i] < before || first[i] > after + 1;
        if (!CHECK_EQ(bad, 0))
            fprintf(stderr, "    (snapshot between versions %d and %d)\n", before, after);
        sched_yield();
        CHECK_STATUS(zx_vmo_read(s, again, 0, sizeof again), ZX_OK);
        CHECK(memcmp(first, again, sizeof first) == 0);
        CHECK_STATUS(zx_handle_close(s), ZX_OK);
    }
    CHECK(taken > 0);
    return NULL;
}

static void test_snapshots_under_writes(void) {
    if (!CHECK_STATUS(zx_vmo_create(SNAP_PAGES * PAGE, 0, &written), ZX_OK)) return;
    pthread_t w, s[SNAPPERS];
    int ns = 0;
    for (int i = 0; i < SNAPPERS; i++)
        if (pthread_create(&s[i], NULL, snapper, NULL) == 0) ns++;
    int writer_started = pthread_create(&w, NULL, writer, NULL) == 0;
    CHECK(writer_started);
    if (!writer_started) atomic_store(&writer_done, 1);
    CHECK_EQ(ns, SNAPPERS);
    if (writer_started) pthread_join(w, NULL);
    for (int i = 0; i < ns; i++) pthread_join(s[i], NULL);
    CHECK(vmo_bytes_are(written, 0, SNAP_PAGES * PAGE, (uint8_t)WRITER_ROUNDS));
    CHECK_EQ(vmo_info(written).num_children, 0);
    CHECK_EQ(committed_of(written), SNAP_PAGES * PAGE);
    CHECK_STATUS(zx_handle_close(written), ZX_OK);
}

/* ---- Parents closed by another thread while their children are read. ---- */
static _Atomic zx_handle_t to_close;
static atomic_int closer_stop;

static void* closer(void* arg) {
    (void)arg;
    for (;;) {
        zx_handle_t h = atomic_exchange(&to_close, ZX_HANDLE_INVALID);
        if (h != ZX_HANDLE_INVALID) {
            CHECK_STATUS(zx_handle_close(h), ZX_OK);
        } else if (atomic_load(&closer_stop)) {
            break;
        } else {
            sched_yield();
        }
    }
    return NULL;
}

static void test_parent_closed_elsewhere(void) {
    pthread_t t;
    if (!CHECK(pthread_create(&t, NULL, closer, NULL) == 0)) return;
    for (int i = 0; i < 300; i++) {
        uint8_t val = (uint8_t)(i % 250 + 1);
        zx_handle_t v = ZX_HANDLE_INVALID, s = ZX_HANDLE_INVALID, l = ZX_HANDLE_INVALID;
        if (!CHECK_STATUS(zx_vmo_create(2 * PAGE, 0, &v), ZX_OK)) break;
        CHECK_STATUS(vmo_fill(v, 0, 2 * PAGE, val), ZX_OK);
        CHECK_STATUS(zx_vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT, 0, 3 * PAGE, &s), ZX_OK);
        CHECK_STATUS(zx_vmo_clone(v, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 3 * PAGE, &l), ZX_OK);
        while (atomic_load(&to_close) != ZX_HANDLE_INVALID) sched_yield();
        atomic_store(&to_close, v);
        for (int r = 0; r < 4; r++) {
            CHECK(vmo_bytes_are(s, 0, 2 * PAGE, val));
            CHECK(vmo_bytes_are(l, 0, 2 * PAGE, val));
            CHECK(vmo_bytes_are(s, 2 * PAGE, PAGE, 0));
            CHECK(vmo_bytes_are(l, 2 * PAGE, PAGE, 0));
        }
        CHECK_STATUS(vmo_fill(s, 0, 1, 0), ZX_OK);
        CHECK_STATUS(vmo_fill(l, PAGE, 1, 0), ZX_OK);
        CHECK_EQ(vmo_byte(l, 0), val);
        CHECK_EQ(vmo_byte(s, PAGE), val);
        CHECK_STATUS(zx_handle_close(i % 2 ? s : l), ZX_OK);
        CHECK_STATUS(zx_handle_close(i % 2 ? l : s), ZX_OK);
    }
    atomic_store(&closer_stop, 1);
    pthread_join(t, NULL);
}

/* ---- Random operations by several threads on one family at once. Each result must be one the
 * spec allows for some interleaving; afterwards the accounting invariant of section 4 holds:
 * the sum of committed_bytes equals the distinct pages LOOKUP reports, and populated_bytes
 * equals each VMO's look-up-able pages. ---- */
enum { MIX_THREADS = 4, MIX_OPS = 3000, MIX_PAGES = 16 };
static zx_handle_t mix[3]; /* V (resizable), S (resizable snapshot of V), L (legacy clone of V) */

static int allowed(zx_status_t st, zx_status_t a, zx_status_t b, zx_status_t c) {
    return st == a || st == b || st == c;
}

static void* mixer(void* arg) {
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    static _Thread_local uint8_t buf[2 * 4096];
    for (int i = 0; i < MIX_OPS; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        zx_handle_t h = mix[r % 3];
        uint64_t page = (r / 3) % MIX_PAGES;
        uint64_t off = page * PAGE + (r / 64) % 100;
        zx_status_t st;
        switch ((r / 7) % 9) {
        case 0:
        case 1:
            memset(buf, (int)(r & 0xFF), sizeof buf);
            st = zx_vmo_write(h, buf, off, (r / 11) % sizeof buf + 1);
            if (!CHECK(allowed(st, ZX_OK, ZX_ERR_OUT_OF_RANGE, ZX_OK))) return NULL;
            break;
        case 2:
            st = zx_vmo_read(h, buf, off, (r / 11) % sizeof buf + 1);
            if (!CHECK(allowed(st, ZX_OK, ZX_ERR_OUT_OF_RANGE, ZX_OK))) return NULL;
            break;
        case 3:
            st = zx_vmo_op_range(h, ZX_VMO_OP_ZERO, off, (r / 13) % (2 * PAGE) + 1, NULL, 0);
            if (!CHECK(allowed(st, ZX_OK, ZX_ERR_OUT_OF_RANGE, ZX_OK))) return NULL;
            break;
        case 4:
            st = zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, off, PAGE, NULL, 0);
            if (!CHECK(allowed(st, ZX_OK, ZX_ERR_OUT_OF_RANGE, ZX_OK))) return NULL;
            break;
        case 5:
            st = zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, page * PAGE, PAGE, NULL, 0);
            if (!CHECK(allowed(st, ZX_OK, ZX_ERR_OUT_OF_RANGE, ZX_ERR_NOT_SUPPORTED)))
                return NULL;
            break;
        case 6:
            st = zx_vmo_set_size(h, ((r / 17) % (MIX_PAGES + 1)) * PAGE);
            if (!CHECK_STATUS(st, ZX_OK)) return NULL;
            break;
        case 7: {
            zx_handle_t c = ZX_HANDLE_INVALID;
            if (h == mix[2]) { /* children of the legacy clone: only a legacy clone of it */
                st = zx_vmo_clone(h, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 4 * PAGE, &c);
            } else {
                st = zx_vmo_create_child(h, ZX_VMO_CHILD_SNAPSHOT, page * PAGE, 4 * PAGE, &c);
            }
            if (!CHECK_STATUS(st, ZX_OK)) return NULL;
            st = zx_vmo_write(c, buf, 0, 1);
            if (!CHECK_STATUS(st, ZX_OK)) return NULL;
            if (!CHECK_STATUS(zx_handle_close(c), ZX_OK)) return NULL;
            break;
        }
        default: {
            zx_info_vmo_t info;
            size_t a, b;
            st = zx_object_get_info(h, ZX_INFO_VMO, &info, sizeof info, &a, &b);
            if (!CHECK_STATUS(st, ZX_OK)) return NULL;
            if (!CHECK(info.committed_bytes <= 64 * MIX_PAGES * PAGE)) return NULL;
            break;
        }
        }
    }
    return NULL;
}

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static void test_mixed_family(void) {
    if (!CHECK_STATUS(zx_vmo_create(MIX_PAGES * PAGE, ZX_VMO_RESIZABLE, &mix[0]), ZX_OK)) return;
    CHECK_STATUS(vmo_fill(mix[0], 0, MIX_PAGES * PAGE, 0x11), ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(mix[0], ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE, 0,
                                     MIX_PAGES * PAGE, &mix[1]),
                 ZX_OK);
    CHECK_STATUS(zx_vmo_clone(mix[0], ZX_VMO_CLONE_COPY_ON_WRITE, 0, MIX_PAGES * PAGE, &mix[2]),
                 ZX_OK);
    pthread_t t[MIX_THREADS];
    int started = 0;
    for (int i = 0; i < MIX_THREADS; i++)
        if (pthread_create(&t[i], NULL, mixer, (void*)(uintptr_t)(i + 1)) == 0) started++;
    CHECK_EQ(started, MIX_THREADS);
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);

    for (int round = 0; round < 3; round++) {
        static uint64_t addrs[3 * (MIX_PAGES + 1)];
        size_t n = 0;
        uint64_t committed = 0;
        for (int i = 0; i < 3; i++) {
            if (mix[i] == ZX_HANDLE_INVALID) continue;
            uint64_t size = size_of_vmo(mix[i]), found = 0;
            for (uint64_t p = 0; p * PAGE < size; p++) {
                uint64_t a = 0;
                zx_status_t st = zx_vmo_op_range(mix[i], ZX_VMO_OP_LOOKUP, p * PAGE, PAGE, &a, 8);
                if (st == ZX_OK) {
                    addrs[n++] = a;
                    found++;
                } else {
                    CHECK_STATUS(st, ZX_ERR_NO_MEMORY);
                }
            }
            zx_info_vmo_t info = vmo_info(mix[i]);
            committed += info.committed_bytes;
            CHECK_EQ(info.populated_bytes, found * PAGE);
        }
        qsort(addrs, n, sizeof addrs[0], cmp_u64);
        size_t distinct = 0;
        for (size_t i = 0; i < n; i++) distinct += i == 0 || addrs[i] != addrs[i - 1];
        CHECK_EQ(committed, distinct * PAGE);
        /* Close one member per round: V, then S, then L. */
        CHECK_STATUS(zx_handle_close(mix[round]), ZX_OK);
        mix[round] = ZX_HANDLE_INVALID;
    }
}

int main(void) {
    test_first_use();
    if (!CHECK_STATUS(zx_vmo_create(SHARED_PAGES * PAGE, 0, &shared_vmo), ZX_OK)) return finish();
    pthread_t t[THREADS], ch;
    int started = 0;
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&t[i], NULL, worker, (void*)(intptr_t)i) != 0) break;
        started++;
    }
    CHECK_EQ(started, THREADS);
    int churn_started = pthread_create(&ch, NULL, churn, NULL) == 0;
    CHECK(churn_started);
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    atomic_store(&stop_churn, 1);
    if (churn_started) pthread_join(ch, NULL);

    /* Afterwards: the shared VMO holds each thread's last values and has no children left. */
    for (int id = 0; id < THREADS; id++) {
        uint8_t val = (uint8_t)((ROUNDS - 1) * 7 + id);
        CHECK_EQ(vmo_byte(shared_vmo, (uint64_t)id * 2 * PAGE), (uint8_t)(val + 1));
        CHECK(vmo_bytes_are(shared_vmo, (uint64_t)id * 2 * PAGE + 1, 2 * PAGE - 1, val));
    }
    zx_info_vmo_t info = vmo_info(shared_vmo);
    CHECK_EQ(info.num_children, 0);
    CHECK_EQ(info.committed_bytes, SHARED_PAGES * PAGE);
    CHECK(signals_of(shared_vmo) & ZX_VMO_ZERO_CHILDREN);
    CHECK_STATUS(zx_handle_close(shared_vmo), ZX_OK);

    test_close_race();
    test_snapshots_under_writes();
    test_parent_closed_elsewhere();
    test_mixed_family();
    return finish();
}
