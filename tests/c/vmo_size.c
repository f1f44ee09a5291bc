/* zx_vmo_get_size / zx_vmo_set_size: spec/zircon.md section 3 and the clipping rule of section 4. */
#include "check.h"

static void test_get_size(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(3 * PAGE + 1, 0, &h), ZX_OK)) return;
    uint64_t size = 0;
    CHECK_STATUS(zx_vmo_get_size(h, &size), ZX_OK);
    CHECK_EQ(size, 4 * PAGE);
    /* No right needed. */
    zx_handle_t none = dup_with(h, ZX_RIGHT_NONE);
    CHECK(none != ZX_HANDLE_INVALID);
    size = 0;
    CHECK_STATUS(zx_vmo_get_size(none, &size), ZX_OK);
    CHECK_EQ(size, 4 * PAGE);
    zx_handle_close(none);
    /* NULL out-pointer. */
    CHECK_STATUS(zx_vmo_get_size(h, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_get_size(ZX_HANDLE_INVALID, &size), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmo_get_size(zx_job_default(), &size), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

static void test_set_size_rights(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(2 * PAGE, ZX_VMO_RESIZABLE, &h), ZX_OK)) return;
    zx_rights_t all = rights_of(h);
    CHECK_EQ(all, ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_RESIZE);

    zx_handle_t no_write = dup_with(h, all & ~ZX_RIGHT_WRITE);
    zx_handle_t no_resize = dup_with(h, all & ~ZX_RIGHT_RESIZE);
    zx_handle_t just = dup_with(h, ZX_RIGHT_WRITE | ZX_RIGHT_RESIZE);
    CHECK_STATUS(zx_vmo_set_size(no_write, 4 * PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_set_size(no_resize, 4 * PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_EQ(size_of_vmo(h), 2 * PAGE);
    CHECK_STATUS(zx_vmo_set_size(just, 4 * PAGE), ZX_OK);
    CHECK_EQ(size_of_vmo(h), 4 * PAGE);
    zx_handle_close(no_write);
    zx_handle_close(no_resize);
    zx_handle_close(just);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);

    /* Not resizable: UNAVAILABLE (with full rights). */
    if (CHECK_STATUS(zx_vmo_create(2 * PAGE, 0, &h), ZX_OK)) {
        CHECK_STATUS(zx_vmo_set_size(h, 4 * PAGE), ZX_ERR_UNAVAILABLE);
        CHECK_STATUS(zx_vmo_set_size(h, PAGE), ZX_ERR_UNAVAILABLE);
        CHECK_STATUS(zx_vmo_set_size(h, 0), ZX_ERR_UNAVAILABLE);
        CHECK_EQ(size_of_vmo(h), 2 * PAGE);
        CHECK_STATUS(zx_handle_close(h), ZX_OK);
    }
}

static void test_set_size_values(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(PAGE, ZX_VMO_RESIZABLE, &h), ZX_OK)) return;
    CHECK_STATUS(zx_vmo_set_size(h, PAGE + 1), ZX_OK);
    CHECK_EQ(size_of_vmo(h), 2 * PAGE);
    CHECK_STATUS(zx_vmo_set_size(h, 1), ZX_OK);
    CHECK_EQ(size_of_vmo(h), PAGE);
    CHECK_STATUS(zx_vmo_set_size(h, 0), ZX_OK);
    CHECK_EQ(size_of_vmo(h), 0);
    uint8_t b = 0;
    CHECK_STATUS(zx_vmo_read(h, &b, 0, 1), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_read(h, &b, 0, 0), ZX_OK);
    CHECK_STATUS(zx_vmo_set_size(h, 7 * PAGE - 5), ZX_OK);
    CHECK_EQ(size_of_vmo(h), 7 * PAGE);
    CHECK_EQ(vmo_info(h).size_bytes, 7 * PAGE);

    /* Rounding overflow. */
    CHECK_STATUS(zx_vmo_set_size(h, UINT64_MAX), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_set_size(h, UINT64_MAX - PAGE + 2), ZX_ERR_OUT_OF_RANGE);
    CHECK_EQ(size_of_vmo(h), 7 * PAGE);
    /* Above the maximum (which the spec leaves to the implementation): OK or OUT_OF_RANGE. */
    zx_status_t st = zx_vmo_set_size(h, 1ull << 63);
    CHECK_STATUS2(st, ZX_ERR_OUT_OF_RANGE, ZX_OK);
    if (st != ZX_OK) CHECK_EQ(size_of_vmo(h), 7 * PAGE);
    /* 2^40 is within every implementation's maximum. */
    CHECK_STATUS(zx_vmo_set_size(h, 1ull << 40), ZX_OK);
    CHECK_EQ(size_of_vmo(h), 1ull << 40);
    CHECK_STATUS(zx_vmo_write(h, "z", (1ull << 40) - 1, 1), ZX_OK);
    CHECK_EQ(vmo_byte(h, (1ull << 40) - 1), 'z');
    CHECK_STATUS(zx_vmo_set_size(h, PAGE), ZX_OK);
    CHECK_EQ(committed_of(h), 0);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

static void test_shrink_grow(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(4 * PAGE, ZX_VMO_RESIZABLE, &h), ZX_OK)) return;
    CHECK_STATUS(vmo_fill(h, 0, 4 * PAGE, 0xA5), ZX_OK);
    CHECK_EQ(committed_of(h), 4 * PAGE);

    /* Shrinking frees the dropped pages. */
    CHECK_STATUS(zx_vmo_set_size(h, PAGE), ZX_OK);
    CHECK_EQ(committed_of(h), PAGE);
    CHECK_EQ(populated_of(h), PAGE);
    uint8_t b;
    CHECK_STATUS(zx_vmo_read(h, &b, PAGE, 1), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, &b, PAGE, 1), ZX_ERR_OUT_OF_RANGE);

    /* Growing exposes zeros, never the old data. */
    CHECK_STATUS(zx_vmo_set_size(h, 4 * PAGE), ZX_OK);
    CHECK(vmo_bytes_are(h, 0, PAGE, 0xA5));
    CHECK(vmo_bytes_are(h, PAGE, 3 * PAGE, 0));
    CHECK_EQ(committed_of(h), PAGE);

    /* Shrink to zero and grow again. */
    CHECK_STATUS(zx_vmo_set_size(h, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 0);
    CHECK_STATUS(zx_vmo_set_size(h, 2 * PAGE), ZX_OK);
    CHECK(vmo_bytes_are(h, 0, 2 * PAGE, 0));
    CHECK_EQ(committed_of(h), 0);

    /* Shrinking to a size inside a page rounds up and keeps that page whole. */
    CHECK_STATUS(vmo_fill(h, 0, 2 * PAGE, 0x3C), ZX_OK);
    CHECK_STATUS(zx_vmo_set_size(h, PAGE + 10), ZX_OK);
    CHECK_EQ(size_of_vmo(h), 2 * PAGE);
    CHECK(vmo_bytes_are(h, 0, 2 * PAGE, 0x3C));
    CHECK_EQ(committed_of(h), 2 * PAGE);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

/* Section 4: "A child's view of its parent is clipped for ever when either side shrinks: growing
 * again shows zeros, never stale parent data." With snapshot semantics the child keeps what it
 * saw at creation when the parent shrinks. */
static void test_children_clipping(void) {
    zx_handle_t parent = ZX_HANDLE_INVALID, child = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(4 * PAGE, ZX_VMO_RESIZABLE, &parent), ZX_OK)) return;
    CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 0xAA), ZX_OK);
    if (!CHECK_STATUS(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE,
                                          0, 4 * PAGE, &child),
                      ZX_OK)) {
        zx_handle_close(parent);
        return;
    }
    CHECK_EQ(rights_of(child) & ZX_RIGHT_RESIZE, ZX_RIGHT_RESIZE);

    /* Parent shrinks and grows: the parent sees zeros; the snapshot still sees its copy. */
    CHECK_STATUS(zx_vmo_set_size(parent, PAGE), ZX_OK);
    CHECK(vmo_bytes_are(child, 0, 4 * PAGE, 0xAA));
    CHECK_STATUS(zx_vmo_set_size(parent, 4 * PAGE), ZX_OK);
    CHECK(vmo_bytes_are(parent, 0, PAGE, 0xAA));
    CHECK(vmo_bytes_are(parent, PAGE, 3 * PAGE, 0));
    CHECK(vmo_bytes_are(child, 0, 4 * PAGE, 0xAA));

    /* The child shrinks and grows: it sees zeros past its shrink point, the parent is intact. */
    CHECK_STATUS(zx_vmo_set_size(child, 2 * PAGE), ZX_OK);
    CHECK_EQ(size_of_vmo(child), 2 * PAGE);
    CHECK_STATUS(zx_vmo_set_size(child, 4 * PAGE), ZX_OK);
    CHECK(vmo_bytes_are(child, 0, 2 * PAGE, 0xAA));
    CHECK(vmo_bytes_are(child, 2 * PAGE, 2 * PAGE, 0));
    CHECK(vmo_bytes_are(parent, 0, PAGE, 0xAA));
    CHECK(vmo_bytes_are(parent, PAGE, 3 * PAGE, 0));

    /* The parent writes where the child was clipped: still invisible to the child. */
    CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 0xBB), ZX_OK);
    CHECK(vmo_bytes_are(child, 0, 2 * PAGE, 0xAA));
    CHECK(vmo_bytes_are(child, 2 * PAGE, 2 * PAGE, 0));

    /* Closing the parent leaves the child whole. */
    CHECK_STATUS(zx_handle_close(parent), ZX_OK);
    CHECK(vmo_bytes_are(child, 0, 2 * PAGE, 0xAA));
    CHECK(vmo_bytes_are(child, 2 * PAGE, 2 * PAGE, 0));
    CHECK_EQ(committed_of(child), 2 * PAGE);
    CHECK_STATUS(zx_handle_close(child), ZX_OK);
}

/* Shrinking a snapshot child past pages it shares, then growing: zeros (section 4), and the
 * parent's pages stay. A non-resizable child cannot be resized. */
static void test_child_resizability(void) {
    zx_handle_t parent = ZX_HANDLE_INVALID, child = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(2 * PAGE, 0, &parent), ZX_OK)) return;
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 0x5E), ZX_OK);
    if (CHECK_STATUS(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE, &child),
                     ZX_OK)) {
        CHECK_STATUS(zx_vmo_set_size(child, PAGE), ZX_ERR_UNAVAILABLE);
        CHECK_EQ(size_of_vmo(child), 2 * PAGE);
        CHECK_EQ(vmo_info(child).flags & ZX_INFO_VMO_RESIZABLE, 0);
        zx_handle_close(child);
    }
    if (CHECK_STATUS(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE |
                                                     ZX_VMO_CHILD_RESIZABLE,
                                         0, 2 * PAGE, &child),
                     ZX_OK)) {
        CHECK(vmo_info(child).flags & ZX_INFO_VMO_RESIZABLE);
        CHECK_STATUS(zx_vmo_set_size(child, 0), ZX_OK);
        CHECK_STATUS(zx_vmo_set_size(child, 3 * PAGE), ZX_OK);
        CHECK(vmo_bytes_are(child, 0, 3 * PAGE, 0));
        CHECK(vmo_bytes_are(parent, 0, 2 * PAGE, 0x5E));
        zx_handle_close(child);
    }
    /* A slice is never resizable. */
    if (CHECK_STATUS(zx_vmo_create_child(parent, ZX_VMO_CHILD_SLICE, 0, PAGE, &child), ZX_OK)) {
        CHECK_STATUS(zx_vmo_set_size(child, 2 * PAGE), ZX_ERR_UNAVAILABLE);
        CHECK_EQ(size_of_vmo(child), PAGE);
        zx_handle_close(child);
    }
    CHECK_STATUS(zx_handle_close(parent), ZX_OK);
}

/* "Growing exposes zeros, never old data (also in children)": a resizable child that grows past
 * the window it was created with sees zeros there, not the parent's data; a snapshot created
 * past the parent's end does not see what the parent later writes there. */
static void test_child_growth(void) {
    zx_handle_t parent = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(4 * PAGE, ZX_VMO_RESIZABLE, &parent), ZX_OK)) return;
    CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 0x61), ZX_OK);
    const uint32_t kinds[] = {ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE,
                              ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_RESIZABLE};
    for (int k = 0; k < 2; k++) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        if (!CHECK_STATUS(zx_vmo_create_child(parent, kinds[k], PAGE, PAGE, &c), ZX_OK)) continue;
        CHECK(vmo_bytes_are(c, 0, PAGE, 0x61));
        CHECK_STATUS(zx_vmo_set_size(c, 3 * PAGE), ZX_OK);
        CHECK(vmo_bytes_are(c, 0, PAGE, 0x61));
        CHECK(vmo_bytes_are(c, PAGE, 2 * PAGE, 0));
        CHECK_STATUS(zx_handle_close(c), ZX_OK);
    }
    /* The same for a legacy clone (resizable by default). */
    zx_handle_t l = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_clone(parent, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE, &l), ZX_OK)) {
        CHECK_STATUS(zx_vmo_set_size(l, 4 * PAGE), ZX_OK);
        CHECK(vmo_bytes_are(l, 0, 2 * PAGE, 0x61));
        CHECK(vmo_bytes_are(l, 2 * PAGE, 2 * PAGE, 0));
        CHECK_STATUS(zx_handle_close(l), ZX_OK);
    }
    /* A snapshot whose window goes past the parent's end: the parent grows and writes there,
     * the snapshot keeps reading zeros (eager-copy semantics). */
    CHECK_STATUS(zx_vmo_set_size(parent, PAGE), ZX_OK);
    zx_handle_t s = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE, &s), ZX_OK)) {
        CHECK_STATUS(zx_vmo_set_size(parent, 4 * PAGE), ZX_OK);
        CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 0x62), ZX_OK);
        CHECK(vmo_bytes_are(s, 0, PAGE, 0x61));
        CHECK(vmo_bytes_are(s, PAGE, 3 * PAGE, 0));
        CHECK_STATUS(zx_handle_close(s), ZX_OK);
    }
    CHECK_STATUS(zx_handle_close(parent), ZX_OK);
}

static void test_bad_handles(void) {
    CHECK_STATUS(zx_vmo_set_size(ZX_HANDLE_INVALID, PAGE), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmo_set_size(zx_job_default(), PAGE), ZX_ERR_WRONG_TYPE);
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create(PAGE, ZX_VMO_RESIZABLE, &h), ZX_OK)) {
        CHECK_STATUS(zx_handle_close(h), ZX_OK);
        CHECK_STATUS(zx_vmo_set_size(h, PAGE), ZX_ERR_BAD_HANDLE);
        uint64_t size;
        CHECK_STATUS(zx_vmo_get_size(h, &size), ZX_ERR_BAD_HANDLE);
    }
}

int main(void) {
    test_get_size();
    test_set_size_rights();
    test_set_size_values();
    test_shrink_grow();
    test_children_clipping();
    test_child_resizability();
    test_child_growth();
    test_bad_handles();
    return finish();
}
