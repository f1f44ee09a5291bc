/* The Magenta generation (seed 000): spec/zircon.md sections 1 (Magenta rights) and 5 (mx_ calls,
 * mx_vmo_clone options and rights, one-way semantics, MX_ names). zx_object_get_info is used to
 * observe rights: both generations share the process's handle table. */
#include <magenta/syscalls.h>

#include "check.h"

#define MAGENTA_RIGHTS ((zx_rights_t)0xFFu | ZX_RIGHT_RESIZE)

/* The MX_ spelling has the same numbers. */
_Static_assert(MX_OK == ZX_OK, "MX_OK");
_Static_assert(MX_ERR_INVALID_ARGS == ZX_ERR_INVALID_ARGS, "INVALID_ARGS");
_Static_assert(MX_ERR_BAD_HANDLE == ZX_ERR_BAD_HANDLE, "BAD_HANDLE");
_Static_assert(MX_ERR_ACCESS_DENIED == ZX_ERR_ACCESS_DENIED, "ACCESS_DENIED");
_Static_assert(MX_ERR_OUT_OF_RANGE == ZX_ERR_OUT_OF_RANGE, "OUT_OF_RANGE");
_Static_assert(MX_ERR_WRONG_TYPE == ZX_ERR_WRONG_TYPE, "WRONG_TYPE");
_Static_assert(MX_ERR_NOT_SUPPORTED == ZX_ERR_NOT_SUPPORTED, "NOT_SUPPORTED");
_Static_assert(MX_ERR_NO_MEMORY == ZX_ERR_NO_MEMORY, "NO_MEMORY");
_Static_assert(MX_ERR_UNAVAILABLE == ZX_ERR_UNAVAILABLE, "UNAVAILABLE");
_Static_assert(MX_RIGHT_DUPLICATE == ZX_RIGHT_DUPLICATE, "DUPLICATE");
_Static_assert(MX_RIGHT_READ == ZX_RIGHT_READ, "READ");
_Static_assert(MX_RIGHT_WRITE == ZX_RIGHT_WRITE, "WRITE");
_Static_assert(MX_RIGHT_EXECUTE == ZX_RIGHT_EXECUTE, "EXECUTE");
_Static_assert(MX_RIGHT_MAP == ZX_RIGHT_MAP, "MAP");
_Static_assert(MX_RIGHT_RESIZE == ZX_RIGHT_RESIZE, "RESIZE");
_Static_assert(MX_RIGHT_SAME_RIGHTS == ZX_RIGHT_SAME_RIGHTS, "SAME_RIGHTS");
_Static_assert(MX_VMO_CLONE_COPY_ON_WRITE == 1u, "COW");
_Static_assert(MX_VMO_OP_COMMIT == ZX_VMO_OP_COMMIT, "COMMIT");
_Static_assert(MX_VMO_OP_DECOMMIT == ZX_VMO_OP_DECOMMIT, "DECOMMIT");
_Static_assert(MX_VMO_OP_LOOKUP == ZX_VMO_OP_LOOKUP, "LOOKUP");
_Static_assert(MX_VMO_OP_ZERO == ZX_VMO_OP_ZERO, "ZERO");
_Static_assert(MX_HANDLE_INVALID == 0, "INVALID");

static void test_create(void) {
    mx_handle_t h = MX_HANDLE_INVALID;
    if (!CHECK_STATUS(mx_vmo_create(2 * PAGE + 1, 0, &h), MX_OK)) return;
    CHECK(h != MX_HANDLE_INVALID);
    CHECK_EQ(h & 3u, 3u);
    CHECK_EQ(rights_of(h), MAGENTA_RIGHTS);
    uint64_t size = 0;
    CHECK_STATUS(mx_vmo_get_size(h, &size), MX_OK);
    CHECK_EQ(size, 3 * PAGE);
    /* Resizable by default. */
    CHECK_STATUS(mx_vmo_set_size(h, 5 * PAGE), MX_OK);
    CHECK_STATUS(mx_vmo_get_size(h, &size), MX_OK);
    CHECK_EQ(size, 5 * PAGE);
    CHECK_STATUS(mx_vmo_set_size(h, PAGE + 1), MX_OK);
    CHECK_STATUS(mx_vmo_get_size(h, &size), MX_OK);
    CHECK_EQ(size, 2 * PAGE);
    /* No INSPECT in the Magenta set. */
    zx_info_vmo_t info;
    size_t a, b;
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO, &info, sizeof info, &a, &b),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_vmo_create(PAGE, 0, NULL), MX_ERR_INVALID_ARGS);
    mx_handle_t big = MX_HANDLE_INVALID;
    CHECK_STATUS(mx_vmo_create(UINT64_MAX, 0, &big), MX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mx_handle_close(h), MX_OK);
}

static void test_read_write(void) {
    mx_handle_t h = MX_HANDLE_INVALID;
    if (!CHECK_STATUS(mx_vmo_create(2 * PAGE, 0, &h), MX_OK)) return;
    char data[300];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)('a' + i % 26);
    size_t actual = 12345;
    CHECK_STATUS(mx_vmo_write(h, data, PAGE - 100, sizeof data, &actual), MX_OK);
    CHECK_EQ(actual, sizeof data);
    char back[300];
    memset(back, 0, sizeof back);
    actual = 12345;
    CHECK_STATUS(mx_vmo_read(h, back, PAGE - 100, sizeof back, &actual), MX_OK);
    CHECK_EQ(actual, sizeof back);
    CHECK(memcmp(back, data, sizeof data) == 0);
    /* The same object through the zx_ calls. */
    CHECK_STATUS(zx_vmo_read(h, back, PAGE - 100, 10), ZX_OK);
    CHECK(memcmp(back, data, 10) == 0);
    /* Zeros where nothing was written. */
    actual = 0;
    CHECK_STATUS(mx_vmo_read(h, back, 0, 100, &actual), MX_OK);
    CHECK_EQ(actual, 100);
    int zeros = 1;
    for (int i = 0; i < 100; i++) zeros &= back[i] == 0;
    CHECK(zeros);
    /* NULL out-pointers (the only thing wrong). */
    CHECK_STATUS(mx_vmo_read(h, back, 0, 10, NULL), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_write(h, data, 0, 10, NULL), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_read(h, NULL, 0, 10, &actual), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_get_size(h, NULL), MX_ERR_INVALID_ARGS);
    CHECK(vmo_bytes_are(h, 0, PAGE - 100, 0));
    /* Rights. */
    mx_handle_t ro = MX_HANDLE_INVALID, wo = MX_HANDLE_INVALID;
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_READ, &ro), MX_OK);
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_WRITE, &wo), MX_OK);
    CHECK_STATUS(mx_vmo_write(ro, data, 0, 1, &actual), MX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_vmo_read(wo, back, 0, 1, &actual), MX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_vmo_set_size(ro, PAGE), MX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_handle_close(ro), MX_OK);
    CHECK_STATUS(mx_handle_close(wo), MX_OK);
    /* Bad handles. */
    CHECK_STATUS(mx_vmo_read(MX_HANDLE_INVALID, back, 0, 1, &actual), MX_ERR_BAD_HANDLE);
    CHECK_STATUS(mx_vmo_write(MX_HANDLE_INVALID, back, 0, 1, &actual), MX_ERR_BAD_HANDLE);
    CHECK_STATUS(mx_vmo_read(zx_job_default(), back, 0, 1, &actual), MX_ERR_WRONG_TYPE);
    uint64_t size = 0;
    CHECK_STATUS(mx_vmo_get_size(MX_HANDLE_INVALID, &size), MX_ERR_BAD_HANDLE);
    CHECK_STATUS(mx_vmo_set_size(MX_HANDLE_INVALID, PAGE), MX_ERR_BAD_HANDLE);
    CHECK_STATUS(mx_handle_close(h), MX_OK);
}

static void test_op_range(void) {
    mx_handle_t h = MX_HANDLE_INVALID;
    if (!CHECK_STATUS(mx_vmo_create(3 * PAGE, 0, &h), MX_OK)) return;
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_COMMIT, 0, 2 * PAGE, NULL, 0), MX_OK);
    uint64_t addrs[2] = {0};
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_LOOKUP, 0, 2 * PAGE, addrs, sizeof addrs), MX_OK);
    CHECK(addrs[0] != addrs[1]);
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_LOOKUP, 0, 3 * PAGE, addrs, 3 * 8 - 1),
                 MX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0), MX_OK);
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_LOOKUP, 0, PAGE, addrs, 8), MX_ERR_NO_MEMORY);
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_DECOMMIT, 1, PAGE, NULL, 0), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_COMMIT, 0, 4 * PAGE, NULL, 0), MX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_LOCK, 0, PAGE, NULL, 0), MX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(mx_vmo_op_range(h, 0, 0, PAGE, NULL, 0), MX_ERR_INVALID_ARGS);
    size_t actual = 0;
    CHECK_STATUS(mx_vmo_write(h, "zz", 10, 2, &actual), MX_OK);
    CHECK_STATUS(mx_vmo_op_range(h, MX_VMO_OP_ZERO, 11, 1, NULL, 0), MX_OK);
    CHECK_EQ(vmo_byte(h, 10), 'z');
    CHECK_EQ(vmo_byte(h, 11), 0);
    CHECK_STATUS(mx_vmo_op_range(MX_HANDLE_INVALID, MX_VMO_OP_COMMIT, 0, PAGE, NULL, 0),
                 MX_ERR_BAD_HANDLE);
    CHECK_STATUS(mx_handle_close(h), MX_OK);
}

#define EXPECT_MX_CLONE(h, opts, off, sz, expected)                                \
    do {                                                                            \
        mx_handle_t out_ = MX_HANDLE_INVALID;                                       \
        mx_status_t st_ = mx_vmo_clone((h), (opts), (off), (sz), &out_);            \
        if (!CHECK_STATUS(st_, (expected)))                                         \
            fprintf(stderr, "    (options 0x%x offset 0x%llx size 0x%llx)\n",       \
                    (unsigned)(opts), (unsigned long long)(off),                    \
                    (unsigned long long)(sz));                                      \
        if (st_ == MX_OK) mx_handle_close(out_);                                    \
    } while (0)

static void test_clone_options(void) {
    mx_handle_t h = MX_HANDLE_INVALID;
    if (!CHECK_STATUS(mx_vmo_create(2 * PAGE, 0, &h), MX_OK)) return;
    EXPECT_MX_CLONE(h, MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, MX_OK);
    EXPECT_MX_CLONE(h, 0, 0, PAGE, MX_ERR_INVALID_ARGS);
    EXPECT_MX_CLONE(h, 1u << 1, 0, PAGE, MX_ERR_INVALID_ARGS);
    EXPECT_MX_CLONE(h, MX_VMO_CLONE_COPY_ON_WRITE | (1u << 1), 0, PAGE, MX_ERR_INVALID_ARGS);
    EXPECT_MX_CLONE(h, MX_VMO_CLONE_COPY_ON_WRITE | (1u << 31), 0, PAGE, MX_ERR_INVALID_ARGS);
    EXPECT_MX_CLONE(h, 0xFFFFFFFFu, 0, PAGE, MX_ERR_INVALID_ARGS);
    EXPECT_MX_CLONE(h, MX_VMO_CLONE_COPY_ON_WRITE, 5, PAGE, MX_ERR_INVALID_ARGS);
    EXPECT_MX_CLONE(h, MX_VMO_CLONE_COPY_ON_WRITE, 0xFFFFFFFFFFFFF000ull, 2 * PAGE,
                    MX_ERR_OUT_OF_RANGE);
    EXPECT_MX_CLONE(h, MX_VMO_CLONE_COPY_ON_WRITE, 4 * PAGE, 4 * PAGE, MX_OK);
    EXPECT_MX_CLONE(MX_HANDLE_INVALID, MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, MX_ERR_BAD_HANDLE);
    EXPECT_MX_CLONE(zx_job_default(), MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, MX_ERR_WRONG_TYPE);
    CHECK_STATUS(mx_vmo_clone(h, MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, NULL), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_handle_close(h), MX_OK);
}

static void test_clone_rights(void) {
    mx_handle_t h = MX_HANDLE_INVALID;
    if (!CHECK_STATUS(mx_vmo_create(2 * PAGE, 0, &h), MX_OK)) return;
    zx_handle_t z = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(2 * PAGE, 0, &z), ZX_OK);
    mx_handle_t parents[4] = {h, z, MX_HANDLE_INVALID, MX_HANDLE_INVALID};
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_DUPLICATE | MX_RIGHT_READ, &parents[2]), MX_OK);
    CHECK_STATUS(mx_handle_duplicate(z, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_INSPECT |
                                            ZX_RIGHT_WAIT,
                                     &parents[3]),
                 MX_OK);
    for (int p = 0; p < 4; p++) {
        zx_rights_t pr = rights_of(parents[p]);
        mx_handle_t c = MX_HANDLE_INVALID;
        if (!CHECK_STATUS(mx_vmo_clone(parents[p], MX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE, &c),
                          MX_OK))
            continue;
        /* Rights = parent's + WRITE + EXECUTE + MAP; and (section 1) the handle of every
         * resizable VMO carries RESIZE. The spec does not say whether an mx_ clone of a
         * non-resizable VMO is resizable, so RESIZE must be present exactly when it is. */
        zx_rights_t want = pr | MX_RIGHT_WRITE | MX_RIGHT_EXECUTE | MX_RIGHT_MAP;
        zx_rights_t got = rights_of(c);
        if (!CHECK_EQ(got & ~MX_RIGHT_RESIZE, want & ~MX_RIGHT_RESIZE))
            fprintf(stderr, "    (parent rights 0x%x)\n", pr);
        if (want & MX_RIGHT_RESIZE) CHECK(got & MX_RIGHT_RESIZE);
        CHECK_STATUS(mx_vmo_set_size(c, 3 * PAGE),
                     (got & MX_RIGHT_RESIZE) ? MX_OK : MX_ERR_UNAVAILABLE);
        size_t actual = 0;
        CHECK_STATUS(mx_vmo_write(c, "w", 0, 1, &actual), MX_OK);
        CHECK_EQ(actual, 1);
        CHECK_STATUS(mx_handle_close(c), MX_OK);
    }
    CHECK_EQ(rights_of(parents[2]), MX_RIGHT_DUPLICATE | MX_RIGHT_READ);
    mx_handle_close(parents[2]);
    mx_handle_close(parents[3]);
    CHECK_STATUS(mx_handle_close(z), MX_OK);
    CHECK_STATUS(mx_handle_close(h), MX_OK);
}

/* One-way copy-on-write (section 5). */
static void test_clone_semantics(void) {
    mx_handle_t p = MX_HANDLE_INVALID, c = MX_HANDLE_INVALID;
    if (!CHECK_STATUS(mx_vmo_create(3 * PAGE, 0, &p), MX_OK)) return;
    size_t actual = 0;
    static char buf[4096];
    memset(buf, 'a', sizeof buf);
    CHECK_STATUS(mx_vmo_write(p, buf, 0, PAGE, &actual), MX_OK);
    CHECK_STATUS(mx_vmo_write(p, buf, PAGE, PAGE, &actual), MX_OK);
    if (!CHECK_STATUS(mx_vmo_clone(p, MX_VMO_CLONE_COPY_ON_WRITE, 0, 4 * PAGE, &c), MX_OK)) {
        mx_handle_close(p);
        return;
    }
    CHECK(vmo_bytes_are(c, 0, 2 * PAGE, 'a'));
    CHECK(vmo_bytes_are(c, 2 * PAGE, 2 * PAGE, 0)); /* page 3 is past the parent's end */
    /* Parent writes show through unwritten pages. */
    CHECK_STATUS(mx_vmo_write(p, "B", 0, 1, &actual), MX_OK);
    CHECK_EQ(vmo_byte(c, 0), 'B');
    /* Clone writes copy; the parent does not see them, nor the clone the parent's later ones. */
    CHECK_STATUS(mx_vmo_write(c, "C", PAGE, 1, &actual), MX_OK);
    CHECK_EQ(vmo_byte(p, PAGE), 'a');
    CHECK_STATUS(mx_vmo_write(p, "D", PAGE + 1, 1, &actual), MX_OK);
    CHECK_EQ(vmo_byte(c, PAGE + 1), 'a');
    CHECK_EQ(vmo_byte(c, PAGE), 'C');
    /* DECOMMIT in the clone shows the parent again. */
    CHECK_STATUS(mx_vmo_op_range(c, MX_VMO_OP_DECOMMIT, PAGE, PAGE, NULL, 0), MX_OK);
    CHECK_EQ(vmo_byte(c, PAGE), 'a');
    CHECK_EQ(vmo_byte(c, PAGE + 1), 'D');
    /* COMMIT copies. */
    CHECK_STATUS(mx_vmo_op_range(c, MX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), MX_OK);
    CHECK_STATUS(mx_vmo_write(p, "E", 0, 1, &actual), MX_OK);
    CHECK_EQ(vmo_byte(c, 0), 'B');
    /* Writes past the parent's end allocate zero-filled pages. */
    CHECK_STATUS(mx_vmo_write(c, "F", 3 * PAGE + 1, 1, &actual), MX_OK);
    CHECK_EQ(vmo_byte(c, 3 * PAGE), 0);
    CHECK_EQ(vmo_byte(c, 3 * PAGE + 1), 'F');
    /* A shrink of the parent clips the clone's view. */
    CHECK_STATUS(mx_vmo_set_size(p, 0), MX_OK);
    CHECK_EQ(vmo_byte(c, PAGE), 0);
    CHECK_EQ(vmo_byte(c, 0), 'B'); /* committed in the clone */
    CHECK_STATUS(mx_vmo_set_size(p, 3 * PAGE), MX_OK);
    CHECK_STATUS(mx_vmo_write(p, "G", PAGE, 1, &actual), MX_OK);
    CHECK_EQ(vmo_byte(c, PAGE), 0);
    CHECK_STATUS(mx_handle_close(c), MX_OK);
    CHECK_STATUS(mx_handle_close(p), MX_OK);
}

static void test_handles(void) {
    mx_handle_t h = MX_HANDLE_INVALID, d = MX_HANDLE_INVALID;
    CHECK_STATUS(mx_handle_close(MX_HANDLE_INVALID), MX_OK);
    if (!CHECK_STATUS(mx_vmo_create(PAGE, 0, &h), MX_OK)) return;
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_SAME_RIGHTS, &d), MX_OK);
    CHECK(d != h);
    CHECK_EQ(d & 3u, 3u);
    CHECK_EQ(rights_of(d), MAGENTA_RIGHTS);
    CHECK_EQ(koid_of(d), koid_of(h));
    CHECK_STATUS(mx_handle_close(d), MX_OK);
    CHECK_STATUS(mx_handle_close(d), MX_ERR_BAD_HANDLE);
    /* Rights only shrink. */
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_READ | MX_RIGHT_INSPECT, &d), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_READ | MX_RIGHT_DUPLICATE, &d), MX_OK);
    CHECK_EQ(rights_of(d), MX_RIGHT_READ | MX_RIGHT_DUPLICATE);
    mx_handle_t e = MX_HANDLE_INVALID;
    CHECK_STATUS(mx_handle_duplicate(d, MX_RIGHT_READ | MX_RIGHT_WRITE, &e), MX_ERR_INVALID_ARGS);
    mx_handle_t nodup = MX_HANDLE_INVALID;
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_READ, &nodup), MX_OK);
    CHECK_STATUS(mx_handle_duplicate(nodup, MX_RIGHT_READ, &e), MX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mx_handle_duplicate(h, MX_RIGHT_SAME_RIGHTS, NULL), MX_ERR_INVALID_ARGS);
    CHECK_STATUS(mx_handle_duplicate(MX_HANDLE_INVALID, MX_RIGHT_SAME_RIGHTS, &e),
                 MX_ERR_BAD_HANDLE);
    CHECK_STATUS(mx_handle_close(nodup), MX_OK);
    CHECK_STATUS(mx_handle_close(d), MX_OK);
    /* Handles made by the zx_ calls close with mx_handle_close and the other way round. */
    zx_handle_t z = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &z), ZX_OK);
    CHECK_STATUS(mx_handle_close(z), MX_OK);
    CHECK_STATUS(zx_handle_close(z), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
    CHECK_STATUS(mx_handle_close(h), MX_ERR_BAD_HANDLE);
}

int main(void) {
    test_create();
    test_read_write();
    test_op_range();
    test_clone_options();
    test_clone_rights();
    test_clone_semantics();
    test_handles();
    return finish();
}
