/* Hostile arguments for every call: spec/README.md ("any argument values ... The answer is always a
 * status code, never a crash, a hang or a leak") and spec/zircon.md sections 1-3 and 5 (NULL
 * out-pointers -> INVALID_ARGS, dead or garbage handles -> BAD_HANDLE, wrong object type ->
 * WRONG_TYPE, missing rights -> ACCESS_DENIED, overflowing ranges -> OUT_OF_RANGE, misaligned
 * offsets -> INVALID_ARGS). After every group the victim VMO must be exactly as it was. */
#include <magenta/syscalls.h>

#include "check.h"

#define VSIZE (4 * PAGE)

/* What must not change. */
struct state {
    uint8_t bytes[4 * 4096];
    uint64_t size, committed, populated, children;
    char name[ZX_MAX_NAME_LEN];
    zx_signals_t signals;
};

static void capture(zx_handle_t h, struct state* s) {
    memset(s, 0, sizeof *s);
    CHECK_STATUS(zx_vmo_read(h, s->bytes, 0, sizeof s->bytes), ZX_OK);
    zx_info_vmo_t info = vmo_info(h);
    s->size = size_of_vmo(h);
    s->committed = info.committed_bytes;
    s->populated = info.populated_bytes;
    s->children = info.num_children;
    memcpy(s->name, info.name, sizeof s->name);
    s->signals = signals_of(h);
}

static struct state before, after;

#define UNCHANGED(h, what)                                                                     \
    do {                                                                                       \
        capture((h), &after);                                                                  \
        if (!CHECK(memcmp(&before, &after, sizeof before) == 0))                               \
            fprintf(stderr, "    (state changed after: %s; size %llu->%llu committed "           \
                            "%llu->%llu children %llu->%llu)\n",                               \
                    (what), (unsigned long long)before.size, (unsigned long long)after.size,   \
                    (unsigned long long)before.committed,                                      \
                    (unsigned long long)after.committed, (unsigned long long)before.children,  \
                    (unsigned long long)after.children);                                       \
    } while (0)

static zx_handle_t victim; /* resizable, 4 pages, pages 0 and 2 written, named */
static zx_handle_t fixed;  /* not resizable, 4 pages */
static zx_handle_t job;
static zx_handle_t proc = ZX_HANDLE_INVALID, proc_vmar = ZX_HANDLE_INVALID;

/* Handles that are never live: low bits not both set, or just closed. */
static zx_handle_t garbage[8];
static size_t n_garbage;

static void setup(void) {
    CHECK_STATUS(zx_vmo_create(VSIZE, ZX_VMO_RESIZABLE, &victim), ZX_OK);
    CHECK_STATUS(vmo_fill(victim, 0, PAGE, 0xA1), ZX_OK);
    CHECK_STATUS(vmo_fill(victim, 2 * PAGE + 5, 100, 0xA2), ZX_OK);
    CHECK_STATUS(zx_object_set_property(victim, ZX_PROP_NAME, "victim", 6), ZX_OK);
    CHECK_STATUS(zx_object_signal(victim, 0, ZX_USER_SIGNAL_2), ZX_OK);
    CHECK_STATUS(zx_vmo_create(VSIZE, 0, &fixed), ZX_OK);
    job = zx_job_default();
    CHECK(job != ZX_HANDLE_INVALID);
    zx_status_t st = zx_process_create(job, "hostile", 7, 0, &proc, &proc_vmar);
    CHECK_STATUS(st, ZX_OK);
    if (st != ZX_OK) proc = proc_vmar = ZX_HANDLE_INVALID;
    zx_handle_t dead = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &dead), ZX_OK);
    CHECK_STATUS(zx_handle_close(dead), ZX_OK);
    zx_handle_t vals[] = {ZX_HANDLE_INVALID, 1, 2, 0x7FFFFFF0u, 0xFFFFFFFCu, victim & ~3u,
                          victim ^ 1u, dead};
    memcpy(garbage, vals, sizeof vals);
    n_garbage = sizeof vals / sizeof vals[0];
    capture(victim, &before);
}

/* Handles of other types: the job, and the process and its VMAR when they exist. */
static size_t wrong_types(zx_handle_t out[3]) {
    size_t n = 0;
    out[n++] = job;
    if (proc != ZX_HANDLE_INVALID) out[n++] = proc;
    if (proc_vmar != ZX_HANDLE_INVALID) out[n++] = proc_vmar;
    return n;
}

static void test_null_out_pointers(void) {
    size_t a = 0, b = 0;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_read(victim, NULL, 0, 1), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_read(victim, NULL, PAGE, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_get_size(victim, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_child(victim, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, NULL),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_child(fixed, ZX_VMO_CHILD_SLICE, 0, PAGE, NULL),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_clone(victim, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, NULL),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_handle_duplicate(victim, ZX_RIGHT_SAME_RIGHTS, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_get_info(victim, ZX_INFO_VMO, NULL, sizeof(zx_info_vmo_t), &a, &b),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_get_info(victim, ZX_INFO_HANDLE_BASIC, NULL,
                                    sizeof(zx_info_handle_basic_t), &a, &b),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_get_property(victim, ZX_PROP_NAME, NULL, ZX_MAX_NAME_LEN),
                 ZX_ERR_INVALID_ARGS);
    /* LOOKUP's buffer (page 0 is committed, so only the pointer is wrong). */
    CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_LOOKUP, 0, PAGE, NULL, 8), ZX_ERR_INVALID_ARGS);
    /* Input pointers that are NULL with a non-zero length: Zircon reports INVALID_ARGS for a
     * buffer it cannot copy from (the spec only promises a status code). */
    CHECK_STATUS(zx_vmo_write(victim, NULL, 0, 16), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_set_property(victim, ZX_PROP_NAME, NULL, 4), ZX_ERR_INVALID_ARGS);
    /* Optional out-pointers: Zircon treats get_info's actual/avail and wait_one's observed as
     * optional, while the spec's general rule makes a NULL out-pointer INVALID_ARGS. Either
     * answer is accepted; it must be one of them, and nothing may change. */
    zx_info_handle_basic_t basic;
    zx_info_vmo_t vinfo;
    CHECK_STATUS2(zx_object_get_info(victim, ZX_INFO_HANDLE_BASIC, &basic, sizeof basic, NULL, &b),
                  ZX_OK, ZX_ERR_INVALID_ARGS);
    CHECK_STATUS2(zx_object_get_info(victim, ZX_INFO_HANDLE_BASIC, &basic, sizeof basic, &a, NULL),
                  ZX_OK, ZX_ERR_INVALID_ARGS);
    CHECK_STATUS2(zx_object_get_info(victim, ZX_INFO_VMO, &vinfo, sizeof vinfo, NULL, NULL), ZX_OK,
                  ZX_ERR_INVALID_ARGS);
    CHECK_STATUS2(zx_object_wait_one(victim, ZX_USER_SIGNAL_2, ZX_TIME_INFINITE_PAST, NULL), ZX_OK,
                  ZX_ERR_INVALID_ARGS);
    CHECK_STATUS2(zx_object_wait_one(victim, ZX_USER_SIGNAL_5, ZX_TIME_INFINITE_PAST, NULL),
                  ZX_ERR_TIMED_OUT, ZX_ERR_INVALID_ARGS);
    /* Magenta. */
    size_t actual = 0;
    uint8_t buf[8];
    CHECK_STATUS(mx_vmo_create(PAGE, 0, NULL), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_read(victim, buf, 0, 8, NULL), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_read(victim, NULL, 0, 8, &actual), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_write(victim, buf, 0, 8, NULL), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_get_size(victim, NULL), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_clone(victim, MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, NULL),
                 MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_handle_duplicate(victim, MX_RIGHT_SAME_RIGHTS, NULL), MX_ERR_INVALID_ARGS);
    UNCHANGED(victim, "NULL out-pointers");
}

static void test_bad_handles(void) {
    uint8_t buf[64];
    uint64_t size;
    size_t a, b, actual;
    zx_info_vmo_t info;
    zx_signals_t observed;
    zx_handle_t out = ZX_HANDLE_INVALID;
    for (size_t i = 0; i < n_garbage; i++) {
        zx_handle_t g = garbage[i];
        CHECK_STATUS(zx_vmo_read(g, buf, 0, 1), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_vmo_write(g, buf, 0, 1), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_vmo_get_size(g, &size), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_vmo_set_size(g, PAGE), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_vmo_op_range(g, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_vmo_op_range(g, ZX_VMO_OP_LOOKUP, 0, PAGE, buf, 8), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_vmo_create_child(g, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &out),
                     ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_vmo_clone(g, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &out),
                     ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_handle_duplicate(g, ZX_RIGHT_SAME_RIGHTS, &out), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_handle_replace(g, ZX_RIGHT_SAME_RIGHTS, &out), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_object_get_info(g, ZX_INFO_VMO, &info, sizeof info, &a, &b),
                     ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_object_get_info(g, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &a, &b),
                     ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_object_get_property(g, ZX_PROP_NAME, buf, ZX_MAX_NAME_LEN),
                     ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_object_set_property(g, ZX_PROP_NAME, "x", 1), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_object_signal(g, 0, ZX_USER_SIGNAL_0), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_object_wait_one(g, ZX_USER_SIGNAL_0, ZX_TIME_INFINITE_PAST, &observed),
                     ZX_ERR_BAD_HANDLE);
        /* A wait on a bad handle never blocks, even with an infinite deadline. */
        CHECK_STATUS(zx_object_wait_one(g, ZX_USER_SIGNAL_0, ZX_TIME_INFINITE, &observed),
                     ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(mx_vmo_read(g, buf, 0, 1, &actual), MX_ERR_BAD_HANDLE);
        CHECK_STATUS(mx_vmo_write(g, buf, 0, 1, &actual), MX_ERR_BAD_HANDLE);
        CHECK_STATUS(mx_vmo_get_size(g, &size), MX_ERR_BAD_HANDLE);
        CHECK_STATUS(mx_vmo_set_size(g, PAGE), MX_ERR_BAD_HANDLE);
        CHECK_STATUS(mx_vmo_op_range(g, MX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), MX_ERR_BAD_HANDLE);
        CHECK_STATUS(mx_vmo_clone(g, MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &out),
                     MX_ERR_BAD_HANDLE);
        CHECK_STATUS(mx_handle_duplicate(g, MX_RIGHT_SAME_RIGHTS, &out), MX_ERR_BAD_HANDLE);
        if (g != ZX_HANDLE_INVALID) {
            CHECK_STATUS(zx_handle_close(g), ZX_ERR_BAD_HANDLE);
            CHECK_STATUS(mx_handle_close(g), MX_ERR_BAD_HANDLE);
        }
    }
    UNCHANGED(victim, "bad handles");
}

static void test_wrong_types(void) {
    zx_handle_t others[3];
    size_t n = wrong_types(others);
    uint8_t buf[64];
    uint64_t size;
    size_t a, b, actual;
    zx_info_vmo_t info;
    zx_handle_t out = ZX_HANDLE_INVALID;
    for (size_t i = 0; i < n; i++) {
        zx_handle_t w = others[i];
        CHECK_STATUS(zx_vmo_read(w, buf, 0, 1), ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_vmo_write(w, buf, 0, 1), ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_vmo_get_size(w, &size), ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_vmo_set_size(w, PAGE), ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_vmo_op_range(w, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_vmo_create_child(w, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &out),
                     ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_vmo_clone(w, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &out),
                     ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_object_get_info(w, ZX_INFO_VMO, &info, sizeof info, &a, &b),
                     ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_object_get_info(w, ZX_INFO_VMO_V1, &info, sizeof info, &a, &b),
                     ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(mx_vmo_read(w, buf, 0, 1, &actual), MX_ERR_WRONG_TYPE);
        CHECK_STATUS(mx_vmo_write(w, buf, 0, 1, &actual), MX_ERR_WRONG_TYPE);
        CHECK_STATUS(mx_vmo_get_size(w, &size), MX_ERR_WRONG_TYPE);
        CHECK_STATUS(mx_vmo_set_size(w, PAGE), MX_ERR_WRONG_TYPE);
        CHECK_STATUS(mx_vmo_op_range(w, MX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), MX_ERR_WRONG_TYPE);
        CHECK_STATUS(mx_vmo_clone(w, MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &out),
                     MX_ERR_WRONG_TYPE);
        /* And a VMO where a job is expected. */
    }
    zx_handle_t p = ZX_HANDLE_INVALID, v = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_process_create(victim, "p", 1, 0, &p, &v), ZX_ERR_WRONG_TYPE);
    UNCHANGED(victim, "wrong types");
}

static void test_missing_rights(void) {
    const zx_rights_t all = rights_of(victim);
    CHECK_EQ(all, ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_RESIZE);
    uint8_t buf[64];
    memset(buf, 0x5C, sizeof buf);
    size_t a, b, actual;
    zx_info_vmo_t info;
    zx_signals_t observed;
    zx_handle_t out = ZX_HANDLE_INVALID;
#define WITHOUT(r) dup_with(victim, all & ~(r))
    zx_handle_t h;

    h = WITHOUT(ZX_RIGHT_READ);
    CHECK_STATUS(zx_vmo_read(h, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_vmo_read(h, buf, 0, 1, &actual), MX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_child(h, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &out),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_clone(h, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &out), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_CACHE_SYNC, 0, PAGE, NULL, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    h = WITHOUT(ZX_RIGHT_WRITE);
    CHECK_STATUS(zx_vmo_write(h, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_vmo_write(h, buf, 0, 1, &actual), MX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_set_size(h, 8 * PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_set_size(h, 0), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 0, VSIZE, NULL, 0), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 0, VSIZE, NULL, 0), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, 0, VSIZE, NULL, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    h = WITHOUT(ZX_RIGHT_RESIZE);
    CHECK_STATUS(zx_vmo_set_size(h, 8 * PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_vmo_set_size(h, 0), MX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    h = WITHOUT(ZX_RIGHT_DUPLICATE);
    CHECK_STATUS(zx_handle_duplicate(h, ZX_RIGHT_SAME_RIGHTS, &out), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_SAME_RIGHTS, &out), MX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_child(h, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &out),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_clone(h, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &out), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    h = WITHOUT(ZX_RIGHT_INSPECT);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO, &info, sizeof info, &a, &b),
                 ZX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    h = WITHOUT(ZX_RIGHT_GET_PROPERTY);
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, buf, ZX_MAX_NAME_LEN),
                 ZX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    h = WITHOUT(ZX_RIGHT_SET_PROPERTY);
    CHECK_STATUS(zx_object_set_property(h, ZX_PROP_NAME, "renamed", 7), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    h = WITHOUT(ZX_RIGHT_SIGNAL);
    CHECK_STATUS(zx_object_signal(h, ZX_USER_SIGNAL_2, ZX_USER_SIGNAL_3), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    h = WITHOUT(ZX_RIGHT_WAIT);
    CHECK_STATUS(zx_object_wait_one(h, ZX_USER_SIGNAL_2, ZX_TIME_INFINITE_PAST, &observed),
                 ZX_ERR_ACCESS_DENIED);
    zx_handle_close(h);

    /* No rights at all: only get_size, HANDLE_BASIC and close work. */
    h = dup_with(victim, ZX_RIGHT_NONE);
    uint64_t size = 0;
    CHECK_STATUS(zx_vmo_get_size(h, &size), ZX_OK);
    CHECK_STATUS(zx_vmo_read(h, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_write(h, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_set_size(h, PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, 0, PAGE, NULL, 0), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_handle_duplicate(h, ZX_RIGHT_NONE, &out), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_object_signal(h, 0, ZX_USER_SIGNAL_0), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
#undef WITHOUT
    UNCHANGED(victim, "missing rights");
}

static void test_ranges(void) {
    uint8_t buf[64];
    memset(buf, 0x6D, sizeof buf);
    zx_handle_t out = ZX_HANDLE_INVALID;
    const uint64_t big[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - PAGE + 1, 1ull << 63,
                            VSIZE + 1};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        uint64_t o = big[i];
        CHECK_STATUS(zx_vmo_read(victim, buf, o, 1), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_write(victim, buf, o, 1), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_read(victim, buf, o, sizeof buf), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_write(victim, buf, o, sizeof buf), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_COMMIT, o, PAGE, NULL, 0),
                     ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_ZERO, o, 1, NULL, 0), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_CACHE_CLEAN, o, 1, NULL, 0),
                     ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_LOOKUP, o, 1, buf, sizeof buf),
                     ZX_ERR_OUT_OF_RANGE);
        /* Lengths that overflow from offset 1 (the huge length is checked before any copy). */
        CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_COMMIT, PAGE, o, NULL, 0),
                     ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_ZERO, 1, o, NULL, 0), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_DECOMMIT, PAGE, o & ~(PAGE - 1), NULL, 0),
                     ZX_ERR_OUT_OF_RANGE);
        /* Aligned offsets beyond the end for DECOMMIT. */
        CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_DECOMMIT, o & ~(PAGE - 1), PAGE, NULL, 0),
                     ZX_ERR_OUT_OF_RANGE);
    }
    CHECK_STATUS(zx_vmo_read(victim, buf, 1, SIZE_MAX), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(victim, buf, 1, SIZE_MAX), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_read(victim, buf, 0, SIZE_MAX / 2 + 7), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(victim, buf, VSIZE - 1, 2), ZX_ERR_OUT_OF_RANGE);
    /* Sizes. */
    CHECK_STATUS(zx_vmo_set_size(victim, UINT64_MAX), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_set_size(victim, UINT64_MAX - PAGE + 2), ZX_ERR_OUT_OF_RANGE);
    zx_handle_t tmp = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(UINT64_MAX, 0, &tmp), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create(UINT64_MAX - PAGE + 2, ZX_VMO_RESIZABLE, &tmp),
                 ZX_ERR_OUT_OF_RANGE);
    /* Children and clones whose ranges overflow; children/clones with huge sizes. */
    CHECK_STATUS(zx_vmo_create_child(victim, ZX_VMO_CHILD_SNAPSHOT, 0, UINT64_MAX, &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create_child(victim, ZX_VMO_CHILD_SNAPSHOT, UINT64_MAX - PAGE + 1,
                                     2 * PAGE, &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create_child(fixed, ZX_VMO_CHILD_SLICE, 0, VSIZE + PAGE, &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create_child(fixed, ZX_VMO_CHILD_SLICE, UINT64_MAX - PAGE + 1, PAGE, &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_clone(victim, ZX_VMO_CLONE_COPY_ON_WRITE, UINT64_MAX - PAGE + 1, 2 * PAGE,
                              &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_clone(victim, ZX_VMO_CLONE_COPY_ON_WRITE, PAGE, UINT64_MAX - 10, &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mx_vmo_clone(victim, MX_VMO_CLONE_COPY_ON_WRITE, UINT64_MAX - PAGE + 1, 2 * PAGE,
                              &out),
                 MX_ERR_OUT_OF_RANGE);
    /* Misaligned offsets. */
    CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_DECOMMIT, 1, PAGE, NULL, 0),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_DECOMMIT, 0, 1, NULL, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_child(victim, ZX_VMO_CHILD_SNAPSHOT, 1, PAGE, &out),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_child(fixed, ZX_VMO_CHILD_SLICE, PAGE / 2, PAGE, &out),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_clone(victim, ZX_VMO_CLONE_COPY_ON_WRITE, 3, PAGE, &out),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_clone(victim, MX_VMO_CLONE_COPY_ON_WRITE, 3, PAGE, &out),
                 MX_ERR_INVALID_ARGS);
    /* Bad options and ops. */
    CHECK_STATUS(zx_vmo_create_child(victim, 0xFFFFFFFFu, 0, PAGE, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_child(victim, 0, 0, PAGE, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_clone(victim, 0, 0, PAGE, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_clone(victim, 0xFFFFFFFFu, 0, PAGE, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_clone(victim, 0, 0, PAGE, &out), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_op_range(victim, 0xFFFFFFFFu, 0, PAGE, NULL, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_LOCK, 0, PAGE, NULL, 0), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_create(PAGE, 0xFFFFFFFFu, &tmp), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_signal(victim, 0xFFFFFFFFu, 0xFFFFFFFFu), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_handle_duplicate(victim, 0x7FFFFFFFu, &out), ZX_ERR_INVALID_ARGS);
    /* LOOKUP buffer rules on the victim: too small, size 0, uncommitted page 1. */
    CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_LOOKUP, 0, PAGE, buf, 7),
                 ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_LOOKUP, 0, 0, buf, sizeof buf),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_op_range(victim, ZX_VMO_OP_LOOKUP, PAGE, PAGE, buf, sizeof buf),
                 ZX_ERR_NO_MEMORY);
    /* Small info buffers. */
    size_t a, b;
    CHECK_STATUS(zx_object_get_info(victim, ZX_INFO_VMO, buf, sizeof buf, &a, &b),
                 ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_object_get_info(victim, ZX_INFO_HANDLE_BASIC, buf, 8, &a, &b),
                 ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_object_get_property(victim, ZX_PROP_NAME, buf, 4), ZX_ERR_BUFFER_TOO_SMALL);
    /* Nothing leaked into children. */
    UNCHANGED(victim, "ranges and options");
}

/* A fixed-size VMO resisting set_size, and its state too. */
static void test_fixed(void) {
    struct state fb, fa;
    capture(fixed, &fb);
    CHECK_STATUS(zx_vmo_set_size(fixed, 0), ZX_ERR_UNAVAILABLE);
    CHECK_STATUS(zx_vmo_set_size(fixed, 8 * PAGE), ZX_ERR_UNAVAILABLE);
    CHECK_STATUS(mx_vmo_set_size(fixed, PAGE), MX_ERR_UNAVAILABLE);
    zx_handle_t out;
    CHECK_STATUS(zx_vmo_create_child(victim, ZX_VMO_CHILD_SLICE, 0, PAGE, &out),
                 ZX_ERR_NOT_SUPPORTED); /* resizable parent */
    capture(fixed, &fa);
    CHECK(memcmp(&fb, &fa, sizeof fb) == 0);
    UNCHANGED(victim, "fixed");
}

int main(void) {
    setup();
    test_null_out_pointers();
    test_bad_handles();
    test_wrong_types();
    test_missing_rights();
    test_ranges();
    test_fixed();
    /* The victim is still fully usable. */
    CHECK(vmo_bytes_are(victim, 0, PAGE, 0xA1));
    CHECK(vmo_bytes_are(victim, 2 * PAGE + 5, 100, 0xA2));
    CHECK_EQ(committed_of(victim), 2 * PAGE);
    CHECK_STATUS(zx_handle_close(victim), ZX_OK);
    CHECK_STATUS(zx_handle_close(fixed), ZX_OK);
    if (proc_vmar != ZX_HANDLE_INVALID) CHECK_STATUS(zx_handle_close(proc_vmar), ZX_OK);
    if (proc != ZX_HANDLE_INVALID) CHECK_STATUS(zx_handle_close(proc), ZX_OK);
    return finish();
}
