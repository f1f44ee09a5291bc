/* Signals: spec/zircon.md section 2 (ZX_VMO_ZERO_CHILDREN, zx_object_signal, zx_object_wait_one,
 * deadlines, the clock). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "check.h"

#define MS ((zx_duration_t)1000000)

static zx_handle_t make(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(2 * PAGE, 0, &h), ZX_OK);
    return h;
}

static zx_handle_t child(zx_handle_t parent, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(parent, options, 0, PAGE, &h), ZX_OK);
    return h;
}

static int zero_children(zx_handle_t h) {
    zx_signals_t observed = 0;
    zx_status_t st = zx_object_wait_one(h, ZX_VMO_ZERO_CHILDREN, ZX_TIME_INFINITE_PAST, &observed);
    if (st == ZX_OK) return (observed & ZX_VMO_ZERO_CHILDREN) ? 1 : -1;
    if (st == ZX_ERR_TIMED_OUT) return (observed & ZX_VMO_ZERO_CHILDREN) ? -1 : 0;
    return -1;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void test_zero_children(void) {
    const uint32_t kinds[] = {ZX_VMO_CHILD_SNAPSHOT, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                              ZX_VMO_CHILD_SLICE, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE};
    for (int k = 0; k < 4; k++) {
        zx_handle_t v = make();
        CHECK_EQ(zero_children(v), 1);
        zx_handle_t c = child(v, kinds[k]);
        CHECK_EQ(zero_children(v), 0);
        CHECK_EQ(zero_children(c), 1); /* the child itself has no children */
        /* A second child; closing one keeps the signal inactive. */
        zx_handle_t c2 = child(v, kinds[k]);
        zx_handle_close(c);
        CHECK_EQ(zero_children(v), 0);
        /* A duplicate handle of the child keeps it alive. */
        zx_handle_t d = dup_with(c2, ZX_RIGHT_SAME_RIGHTS);
        zx_handle_close(c2);
        CHECK_EQ(zero_children(v), 0);
        zx_handle_close(d);
        CHECK_EQ(zero_children(v), 1);
        zx_handle_close(v);
    }
    /* Legacy clones count too. */
    zx_handle_t v = make(), l = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_clone(v, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &l), ZX_OK);
    CHECK_EQ(zero_children(v), 0);
    zx_handle_close(l);
    CHECK_EQ(zero_children(v), 1);
    zx_handle_close(v);

    /* A child closed while a grandchild lives keeps the parent's signal inactive. */
    const uint32_t gkinds[] = {ZX_VMO_CHILD_SNAPSHOT, ZX_VMO_CHILD_SLICE};
    for (int k = 0; k < 2; k++) {
        v = make();
        zx_handle_t c = child(v, gkinds[k]);
        zx_handle_t g = child(c, gkinds[k]);
        CHECK_EQ(zero_children(c), 0);
        zx_handle_close(c);
        CHECK_EQ(zero_children(v), 0);
        zx_handle_close(g);
        CHECK_EQ(zero_children(v), 1);
        zx_handle_close(v);
    }
    /* Grandchild closed first: the child's signal comes back, the parent's only after the
     * child closes. */
    v = make();
    zx_handle_t c = child(v, ZX_VMO_CHILD_SNAPSHOT);
    zx_handle_t g = child(c, ZX_VMO_CHILD_SNAPSHOT);
    zx_handle_close(g);
    CHECK_EQ(zero_children(c), 1);
    CHECK_EQ(zero_children(v), 0);
    zx_handle_close(c);
    CHECK_EQ(zero_children(v), 1);
    /* The parent closing first: the child still works and has its own signal. */
    c = child(v, ZX_VMO_CHILD_SNAPSHOT);
    zx_handle_close(v);
    CHECK_EQ(zero_children(c), 1);
    zx_handle_close(c);
    /* Failed create_child calls do not clear the signal. */
    v = make();
    zx_handle_t out;
    CHECK_STATUS(zx_vmo_create_child(v, 0, 0, PAGE, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_child(v, ZX_VMO_CHILD_SLICE, 0, 10 * PAGE, &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_EQ(zero_children(v), 1);
    zx_handle_close(v);
}

static void test_object_signal(void) {
    zx_handle_t v = make();
    CHECK_STATUS(zx_object_signal(v, 0, ZX_USER_SIGNAL_0), ZX_OK);
    zx_signals_t s = signals_of(v);
    CHECK(s & ZX_USER_SIGNAL_0);
    CHECK(s & ZX_VMO_ZERO_CHILDREN);
    CHECK_EQ(s & ZX_USER_SIGNAL_1, 0);
    CHECK_STATUS(zx_object_signal(v, 0, ZX_USER_SIGNAL_7 | ZX_USER_SIGNAL_3), ZX_OK);
    s = signals_of(v);
    CHECK_EQ(s & 0xFF000000u, ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_3 | ZX_USER_SIGNAL_7);
    /* Clear and set at once. */
    CHECK_STATUS(zx_object_signal(v, ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_7, ZX_USER_SIGNAL_5), ZX_OK);
    s = signals_of(v);
    CHECK_EQ(s & 0xFF000000u, ZX_USER_SIGNAL_3 | ZX_USER_SIGNAL_5);
    /* Signals are per object: a duplicate sees them. */
    zx_handle_t d = dup_with(v, ZX_RIGHT_SAME_RIGHTS);
    CHECK_EQ(signals_of(d) & 0xFF000000u, ZX_USER_SIGNAL_3 | ZX_USER_SIGNAL_5);
    zx_handle_close(d);
    /* User signals only. */
    CHECK_STATUS(zx_object_signal(v, 0, ZX_VMO_ZERO_CHILDREN), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_signal(v, ZX_VMO_ZERO_CHILDREN, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_signal(v, 0, 1u), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_signal(v, 0, ZX_USER_SIGNAL_1 | (1u << 23)), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_signal(v, 1u << 4, ZX_USER_SIGNAL_1), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_signal(v, 0xFFFFFFFFu, 0), ZX_ERR_INVALID_ARGS);
    s = signals_of(v);
    CHECK_EQ(s & 0xFF000000u, ZX_USER_SIGNAL_3 | ZX_USER_SIGNAL_5); /* nothing changed */
    CHECK(s & ZX_VMO_ZERO_CHILDREN);
    /* Needs SIGNAL. */
    zx_handle_t nosig = dup_with(v, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_SIGNAL);
    CHECK_STATUS(zx_object_signal(nosig, 0, ZX_USER_SIGNAL_2), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nosig);
    CHECK_EQ(signals_of(v) & ZX_USER_SIGNAL_2, 0);
    CHECK_STATUS(zx_object_signal(v, 0xFF000000u, 0), ZX_OK);
    CHECK_EQ(signals_of(v) & 0xFF000000u, 0);
    CHECK_STATUS(zx_object_signal(ZX_HANDLE_INVALID, 0, ZX_USER_SIGNAL_0), ZX_ERR_BAD_HANDLE);
    zx_handle_close(v);
}

static void test_wait_basics(void) {
    zx_handle_t v = make();
    zx_signals_t observed = 0;
    /* Satisfied: returns at once, whatever the deadline. */
    zx_time_t t0 = zx_clock_get_monotonic();
    CHECK_STATUS(zx_object_wait_one(v, ZX_VMO_ZERO_CHILDREN, ZX_TIME_INFINITE, &observed), ZX_OK);
    CHECK(observed & ZX_VMO_ZERO_CHILDREN);
    observed = 0;
    CHECK_STATUS(zx_object_wait_one(v, ZX_VMO_ZERO_CHILDREN | ZX_USER_SIGNAL_0,
                                    ZX_TIME_INFINITE_PAST, &observed),
                 ZX_OK);
    CHECK(observed & ZX_VMO_ZERO_CHILDREN);
    observed = 0;
    CHECK_STATUS(zx_object_wait_one(v, ZX_VMO_ZERO_CHILDREN, 0, &observed), ZX_OK);
    CHECK(zx_clock_get_monotonic() - t0 < 1000 * MS);
    /* Not satisfied, deadline in the past: TIMED_OUT at once with observed filled. */
    observed = 0;
    t0 = zx_clock_get_monotonic();
    CHECK_STATUS(zx_object_wait_one(v, ZX_USER_SIGNAL_0, ZX_TIME_INFINITE_PAST, &observed),
                 ZX_ERR_TIMED_OUT);
    CHECK(observed & ZX_VMO_ZERO_CHILDREN);
    CHECK_EQ(observed & ZX_USER_SIGNAL_0, 0);
    observed = 0;
    CHECK_STATUS(zx_object_wait_one(v, ZX_USER_SIGNAL_0, t0 - 1, &observed), ZX_ERR_TIMED_OUT);
    CHECK(observed & ZX_VMO_ZERO_CHILDREN);
    CHECK(zx_clock_get_monotonic() - t0 < 1000 * MS);
    /* A deadline 50 ms ahead: TIMED_OUT no earlier than the deadline. */
    observed = 0;
    t0 = zx_clock_get_monotonic();
    zx_time_t deadline = zx_deadline_after(50 * MS);
    CHECK(deadline >= t0 + 50 * MS);
    CHECK_STATUS(zx_object_wait_one(v, ZX_USER_SIGNAL_1, deadline, &observed), ZX_ERR_TIMED_OUT);
    zx_time_t t1 = zx_clock_get_monotonic();
    CHECK(t1 >= deadline);
    CHECK(t1 - t0 >= 50 * MS);
    CHECK(observed & ZX_VMO_ZERO_CHILDREN);
    /* observed reflects a user signal that is set but not waited for. */
    CHECK_STATUS(zx_object_signal(v, 0, ZX_USER_SIGNAL_4), ZX_OK);
    observed = 0;
    CHECK_STATUS(zx_object_wait_one(v, ZX_USER_SIGNAL_1, zx_deadline_after(5 * MS), &observed),
                 ZX_ERR_TIMED_OUT);
    CHECK(observed & ZX_USER_SIGNAL_4);
    /* No signal asked for: none can become active, so the wait lasts until the deadline
     * ("blocks until one of `signals` is active or the deadline passes"). */
    observed = 0;
    t0 = zx_clock_get_monotonic();
    deadline = zx_deadline_after(30 * MS);
    CHECK_STATUS(zx_object_wait_one(v, 0, deadline, &observed), ZX_ERR_TIMED_OUT);
    t1 = zx_clock_get_monotonic();
    if (!CHECK(t1 >= deadline))
        fprintf(stderr, "    (a wait for no signal returned after %lld ns, deadline was %lld ns)\n",
                (long long)(t1 - t0), (long long)(deadline - t0));
    CHECK(observed & ZX_VMO_ZERO_CHILDREN);
    /* WAIT right needed. */
    zx_handle_t nowait = dup_with(v, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WAIT);
    CHECK_STATUS(zx_object_wait_one(nowait, ZX_VMO_ZERO_CHILDREN, ZX_TIME_INFINITE_PAST, &observed),
                 ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowait);
    CHECK_STATUS(zx_object_wait_one(ZX_HANDLE_INVALID, ZX_VMO_ZERO_CHILDREN, ZX_TIME_INFINITE_PAST,
                                    &observed),
                 ZX_ERR_BAD_HANDLE);
    zx_handle_close(v);
}

struct later {
    zx_handle_t h;
    long delay_ms;
    int action; /* 0: signal USER_1, 1: close h */
    zx_status_t result;
};

static void* do_later(void* arg) {
    struct later* l = arg;
    sleep_ms(l->delay_ms);
    if (l->action == 0)
        l->result = zx_object_signal(l->h, 0, ZX_USER_SIGNAL_1);
    else
        l->result = zx_handle_close(l->h);
    return NULL;
}

static void test_wait_blocks(void) {
    /* Another thread sets a user signal after 100 ms: the wait returns then. */
    zx_handle_t v = make();
    struct later l = {v, 100, 0, -999};
    pthread_t t;
    zx_time_t t0 = zx_clock_get_monotonic();
    if (!CHECK(pthread_create(&t, NULL, do_later, &l) == 0)) return;
    zx_signals_t observed = 0;
    CHECK_STATUS(zx_object_wait_one(v, ZX_USER_SIGNAL_1, ZX_TIME_INFINITE, &observed), ZX_OK);
    zx_time_t t1 = zx_clock_get_monotonic();
    CHECK(observed & ZX_USER_SIGNAL_1);
    CHECK(t1 - t0 >= 90 * MS);
    pthread_join(t, NULL);
    CHECK_STATUS(l.result, ZX_OK);

    /* Same with a finite deadline far ahead. */
    CHECK_STATUS(zx_object_signal(v, ZX_USER_SIGNAL_1, 0), ZX_OK);
    l.result = -999;
    t0 = zx_clock_get_monotonic();
    if (CHECK(pthread_create(&t, NULL, do_later, &l) == 0)) {
        observed = 0;
        CHECK_STATUS(zx_object_wait_one(v, ZX_USER_SIGNAL_1, zx_deadline_after(20000 * MS),
                                        &observed),
                     ZX_OK);
        t1 = zx_clock_get_monotonic();
        CHECK(observed & ZX_USER_SIGNAL_1);
        CHECK(t1 - t0 >= 90 * MS && t1 - t0 < 15000 * MS);
        pthread_join(t, NULL);
        CHECK_STATUS(l.result, ZX_OK);
    }

    /* Another thread closes the only child after 100 ms: ZERO_CHILDREN comes back then. */
    zx_handle_t c = child(v, ZX_VMO_CHILD_SNAPSHOT);
    struct later lc = {c, 100, 1, -999};
    t0 = zx_clock_get_monotonic();
    if (CHECK(pthread_create(&t, NULL, do_later, &lc) == 0)) {
        observed = 0;
        CHECK_STATUS(zx_object_wait_one(v, ZX_VMO_ZERO_CHILDREN, ZX_TIME_INFINITE, &observed),
                     ZX_OK);
        t1 = zx_clock_get_monotonic();
        CHECK(observed & ZX_VMO_ZERO_CHILDREN);
        CHECK(t1 - t0 >= 90 * MS);
        pthread_join(t, NULL);
        CHECK_STATUS(lc.result, ZX_OK);
    }

    /* Grandchild case across threads: the child is closed first (signal stays off), the
     * grandchild is closed by another thread later. */
    c = child(v, ZX_VMO_CHILD_SNAPSHOT);
    zx_handle_t g = child(c, ZX_VMO_CHILD_SNAPSHOT);
    zx_handle_close(c);
    observed = 0;
    CHECK_STATUS(zx_object_wait_one(v, ZX_VMO_ZERO_CHILDREN, zx_deadline_after(30 * MS), &observed),
                 ZX_ERR_TIMED_OUT);
    CHECK_EQ(observed & ZX_VMO_ZERO_CHILDREN, 0);
    struct later lg = {g, 50, 1, -999};
    if (CHECK(pthread_create(&t, NULL, do_later, &lg) == 0)) {
        observed = 0;
        CHECK_STATUS(zx_object_wait_one(v, ZX_VMO_ZERO_CHILDREN, zx_deadline_after(20000 * MS),
                                        &observed),
                     ZX_OK);
        CHECK(observed & ZX_VMO_ZERO_CHILDREN);
        pthread_join(t, NULL);
        CHECK_STATUS(lg.result, ZX_OK);
    }
    zx_handle_close(v);
}

/* Several threads wait on one object; one signal wakes them all. */
struct waiter {
    zx_handle_t h;
    zx_status_t st;
    zx_signals_t observed;
};

static void* do_wait(void* arg) {
    struct waiter* w = arg;
    w->st = zx_object_wait_one(w->h, ZX_USER_SIGNAL_6, zx_deadline_after(20000 * MS), &w->observed);
    return NULL;
}

static void test_many_waiters(void) {
    enum { N = 6 };
    zx_handle_t v = make();
    struct waiter w[N];
    pthread_t t[N];
    int started = 0;
    for (int i = 0; i < N; i++) {
        w[i].h = v;
        w[i].st = -999;
        w[i].observed = 0;
        if (pthread_create(&t[i], NULL, do_wait, &w[i]) == 0) started++;
        else break;
    }
    CHECK_EQ(started, N);
    sleep_ms(50);
    CHECK_STATUS(zx_object_signal(v, 0, ZX_USER_SIGNAL_6), ZX_OK);
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        CHECK_STATUS(w[i].st, ZX_OK);
        CHECK(w[i].observed & ZX_USER_SIGNAL_6);
    }
    zx_handle_close(v);
}

static void test_clock(void) {
    zx_time_t a = zx_clock_get_monotonic();
    zx_time_t b = zx_clock_get_monotonic();
    CHECK(a > 0);
    CHECK(b >= a);
    sleep_ms(20);
    zx_time_t c = zx_clock_get_monotonic();
    CHECK(c - b >= 20 * MS);
    zx_time_t d = zx_deadline_after(1000 * MS);
    zx_time_t e = zx_clock_get_monotonic();
    CHECK(d >= c + 1000 * MS && d <= e + 1000 * MS);
}

int main(void) {
    test_zero_children();
    test_object_signal();
    test_wait_basics();
    test_wait_blocks();
    test_many_waiters();
    test_clock();
    return finish();
}
