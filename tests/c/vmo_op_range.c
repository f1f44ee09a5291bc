/* zx_vmo_op_range: spec/zircon.md section 3 (every op) and section 5 for legacy clones. */
#include "check.h"

static zx_handle_t make(uint64_t size, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(size, options, &h), ZX_OK);
    return h;
}

static zx_handle_t child_of(zx_handle_t parent, uint32_t options, uint64_t offset, uint64_t size) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(parent, options, offset, size, &h), ZX_OK);
    return h;
}

static void test_commit(void) {
    zx_handle_t h = make(8 * PAGE, 0);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 0, 3 * PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 3 * PAGE);
    CHECK(vmo_bytes_are(h, 0, 8 * PAGE, 0));
    /* Page-rounded range: [100, 110) commits page 0 only (already there), [4P-1, 4P+1) commits
     * pages 3 and 4. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 100, 10, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 3 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 4 * PAGE - 1, 2, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 5 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 7 * PAGE + 5, 1, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 6 * PAGE);
    /* Committing again keeps content. */
    CHECK_STATUS(vmo_fill(h, 0, PAGE, 0x77), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 0, 8 * PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 8 * PAGE);
    CHECK(vmo_bytes_are(h, 0, PAGE, 0x77));
    CHECK(vmo_bytes_are(h, PAGE, 7 * PAGE, 0));
    /* Range checks. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 0, 9 * PAGE, NULL, 0), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 8 * PAGE, 1, NULL, 0), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, UINT64_MAX - PAGE + 1, 2 * PAGE, NULL, 0),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, PAGE, UINT64_MAX, NULL, 0),
                 ZX_ERR_OUT_OF_RANGE);
    /* Rights: COMMIT needs WRITE. */
    zx_handle_t ro = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t fresh = make(PAGE, 0);
    zx_handle_t fresh_ro = dup_with(fresh, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    CHECK_STATUS(zx_vmo_op_range(fresh_ro, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_EQ(committed_of(fresh), 0);
    zx_handle_t write_only = dup_with(fresh, ZX_RIGHT_WRITE);
    CHECK_STATUS(zx_vmo_op_range(write_only, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(fresh), PAGE);
    zx_handle_close(write_only);
    zx_handle_close(ro);
    zx_handle_close(fresh_ro);
    zx_handle_close(fresh);
    zx_handle_close(h);
}

/* COMMIT in a copy-on-write child: the new page has the content the child currently sees. */
static void test_commit_in_child(void) {
    zx_handle_t parent = make(3 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 0xC1), ZX_OK); /* page 2 uncommitted */
    const uint32_t kinds[] = {ZX_VMO_CHILD_SNAPSHOT, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE};
    for (int k = 0; k < 2; k++) {
        zx_handle_t child = child_of(parent, kinds[k], 0, 3 * PAGE);
        CHECK_EQ(committed_of(child), 0);
        CHECK_STATUS(zx_vmo_op_range(child, ZX_VMO_OP_COMMIT, 0, 3 * PAGE, NULL, 0), ZX_OK);
        CHECK(vmo_bytes_are(child, 0, 2 * PAGE, 0xC1));
        CHECK(vmo_bytes_are(child, 2 * PAGE, PAGE, 0));
        /* The child now owns its pages: the parent's later writes stay invisible. */
        CHECK_STATUS(vmo_fill(parent, 0, 3 * PAGE, 0xC2), ZX_OK);
        CHECK(vmo_bytes_are(child, 0, 2 * PAGE, 0xC1));
        CHECK(vmo_bytes_are(child, 2 * PAGE, PAGE, 0));
        CHECK_EQ(committed_of(child), 3 * PAGE);
        /* And the child's writes stay invisible to the parent. */
        CHECK_STATUS(vmo_fill(child, 0, PAGE, 0xC3), ZX_OK);
        CHECK(vmo_bytes_are(parent, 0, 3 * PAGE, 0xC2));
        zx_handle_close(child);
        CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 0xC1), ZX_OK);
        CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_DECOMMIT, 2 * PAGE, PAGE, NULL, 0), ZX_OK);
    }
    zx_handle_close(parent);
}

static void test_decommit(void) {
    zx_handle_t h = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(h, 0, 4 * PAGE, 0xD1), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 3 * PAGE);
    CHECK(vmo_bytes_are(h, 0, PAGE, 0xD1));
    CHECK(vmo_bytes_are(h, PAGE, PAGE, 0));
    CHECK(vmo_bytes_are(h, 2 * PAGE, 2 * PAGE, 0xD1));
    /* Decommitting uncommitted pages is fine. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 0, 2 * PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 2 * PAGE);
    CHECK(vmo_bytes_are(h, 0, 2 * PAGE, 0));
    /* Alignment: offset and size must be page aligned. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 1, PAGE, NULL, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 2 * PAGE, PAGE - 1, NULL, 0),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 2 * PAGE + 100, 100, NULL, 0),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 2 * PAGE, PAGE + 1, NULL, 0),
                 ZX_ERR_INVALID_ARGS);
    CHECK(vmo_bytes_are(h, 2 * PAGE, 2 * PAGE, 0xD1));
    CHECK_EQ(committed_of(h), 2 * PAGE);
    /* Range. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 3 * PAGE, 2 * PAGE, NULL, 0),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 8 * PAGE, PAGE, NULL, 0),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, UINT64_MAX - PAGE + 1, 2 * PAGE, NULL, 0),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK(vmo_bytes_are(h, 2 * PAGE, 2 * PAGE, 0xD1));
    /* Rights: WRITE. */
    zx_handle_t ro = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    CHECK_STATUS(zx_vmo_op_range(ro, ZX_VMO_OP_DECOMMIT, 2 * PAGE, PAGE, NULL, 0),
                 ZX_ERR_ACCESS_DENIED);
    CHECK(vmo_bytes_are(h, 2 * PAGE, 2 * PAGE, 0xD1));
    zx_handle_close(ro);
    /* The whole VMO. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_DECOMMIT, 0, 4 * PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(h), 0);
    CHECK(vmo_bytes_are(h, 0, 4 * PAGE, 0));
    zx_handle_close(h);
}

/* DECOMMIT: NOT_SUPPORTED on snapshot-type children and on VMOs with non-slice children; on a
 * slice it acts on the parent. */
static void test_decommit_children(void) {
    zx_handle_t parent = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 0xE1), ZX_OK);

    const uint32_t kinds[] = {ZX_VMO_CHILD_SNAPSHOT, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                              ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE};
    for (int k = 0; k < 3; k++) {
        zx_handle_t child = child_of(parent, kinds[k], 0, 4 * PAGE);
        CHECK_STATUS(vmo_fill(child, 0, PAGE, 0xE2), ZX_OK);
        CHECK_STATUS(zx_vmo_op_range(child, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                     ZX_ERR_NOT_SUPPORTED);
        CHECK(vmo_bytes_are(child, 0, PAGE, 0xE2));
        CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                     ZX_ERR_NOT_SUPPORTED);
        CHECK(vmo_bytes_are(parent, 0, 4 * PAGE, 0xE1));
        zx_handle_close(child);
        /* Without the child, decommit works again. */
        CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_DECOMMIT, 3 * PAGE, PAGE, NULL, 0), ZX_OK);
        CHECK(vmo_bytes_are(parent, 3 * PAGE, PAGE, 0));
        CHECK_STATUS(vmo_fill(parent, 3 * PAGE, PAGE, 0xE1), ZX_OK);
    }

    /* A legacy clone is a non-slice child too. */
    zx_handle_t lc = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_clone(parent, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &lc), ZX_OK)) {
        CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                     ZX_ERR_NOT_SUPPORTED);
        CHECK(vmo_bytes_are(parent, 0, 4 * PAGE, 0xE1));
        zx_handle_close(lc);
    }
    /* A slice acts on its parent: while the parent has a snapshot child, DECOMMIT through the
     * slice is refused like DECOMMIT on the parent. */
    {
        zx_handle_t sl = child_of(parent, ZX_VMO_CHILD_SLICE, 0, 2 * PAGE);
        zx_handle_t sn = child_of(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE);
        CHECK_STATUS(zx_vmo_op_range(sl, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                     ZX_ERR_NOT_SUPPORTED);
        CHECK(vmo_bytes_are(parent, 0, 4 * PAGE, 0xE1));
        CHECK(vmo_bytes_are(sn, 0, 4 * PAGE, 0xE1));
        zx_handle_close(sn);
        zx_handle_close(sl);
    }

    /* A slice child: decommit on the parent is allowed, and on the slice acts on the parent. */
    zx_handle_t slice = child_of(parent, ZX_VMO_CHILD_SLICE, PAGE, 2 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_DECOMMIT, 3 * PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(parent), 3 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(slice, ZX_VMO_OP_DECOMMIT, PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(slice, PAGE, PAGE, 0));
    CHECK(vmo_bytes_are(slice, 0, PAGE, 0xE1));
    CHECK(vmo_bytes_are(parent, 2 * PAGE, PAGE, 0)); /* slice page 1 = parent page 2 */
    CHECK(vmo_bytes_are(parent, 0, 2 * PAGE, 0xE1));
    CHECK_EQ(committed_of(parent), 2 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(slice, ZX_VMO_OP_DECOMMIT, 2 * PAGE, PAGE, NULL, 0),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(slice, ZX_VMO_OP_DECOMMIT, 1, PAGE, NULL, 0),
                 ZX_ERR_INVALID_ARGS);
    /* COMMIT on the slice commits the parent's page. */
    CHECK_STATUS(zx_vmo_op_range(slice, ZX_VMO_OP_COMMIT, PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(parent), 3 * PAGE);
    zx_handle_close(slice);
    zx_handle_close(parent);
}

static void test_zero(void) {
    zx_handle_t h = make(3 * PAGE, 0);
    CHECK_STATUS(vmo_fill(h, 0, 3 * PAGE, 0xAB), ZX_OK);
    /* Byte-exact: [100, 2P+50). */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, 100, 2 * PAGE - 50, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(h, 0, 100, 0xAB));
    CHECK(vmo_bytes_are(h, 100, 2 * PAGE - 50, 0));
    CHECK(vmo_bytes_are(h, 2 * PAGE + 50, PAGE - 50, 0xAB));
    CHECK(committed_of(h) <= 3 * PAGE);
    /* A single byte. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, 3 * PAGE - 1, 1, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(h, 2 * PAGE + 50, PAGE - 51, 0xAB));
    CHECK_EQ(vmo_byte(h, 3 * PAGE - 1), 0);
    /* Whole range of a VMO with no children: pages may be released; never more committed. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, 0, 3 * PAGE, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(h, 0, 3 * PAGE, 0));
    CHECK(committed_of(h) <= 3 * PAGE);
    /* Zero of uncommitted pages commits nothing visible: still zeros. */
    zx_handle_t e = make(2 * PAGE, 0);
    CHECK_STATUS(zx_vmo_op_range(e, ZX_VMO_OP_ZERO, 10, PAGE, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(e, 0, 2 * PAGE, 0));
    zx_handle_close(e);
    /* Range and rights. */
    CHECK_STATUS(vmo_fill(h, 0, 3 * PAGE, 0xAB), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, 3 * PAGE - 10, 11, NULL, 0),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, 3 * PAGE, 1, NULL, 0), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, UINT64_MAX, 2, NULL, 0), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_ZERO, 5, UINT64_MAX, NULL, 0), ZX_ERR_OUT_OF_RANGE);
    zx_handle_t ro = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    CHECK_STATUS(zx_vmo_op_range(ro, ZX_VMO_OP_ZERO, 0, PAGE, NULL, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    CHECK(vmo_bytes_are(h, 0, 3 * PAGE, 0xAB));
    zx_handle_close(h);
}

/* ZERO must never re-expose an ancestor's content in a child. */
static void test_zero_in_children(void) {
    zx_handle_t parent = make(3 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 3 * PAGE, 0x5A), ZX_OK);
    const uint32_t kinds[] = {ZX_VMO_CHILD_SNAPSHOT, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE};
    for (int k = 0; k < 2; k++) {
        zx_handle_t child = child_of(parent, kinds[k], 0, 3 * PAGE);
        CHECK_STATUS(vmo_fill(child, 0, PAGE, 0x6B), ZX_OK); /* child's own page 0 */
        /* Zero the child's own page, a page it shares, and a partial page. */
        CHECK_STATUS(zx_vmo_op_range(child, ZX_VMO_OP_ZERO, 0, 2 * PAGE, NULL, 0), ZX_OK);
        CHECK_STATUS(zx_vmo_op_range(child, ZX_VMO_OP_ZERO, 2 * PAGE + 1, 10, NULL, 0), ZX_OK);
        CHECK(vmo_bytes_are(child, 0, 2 * PAGE, 0));
        CHECK_EQ(vmo_byte(child, 2 * PAGE), 0x5A);
        CHECK(vmo_bytes_are(child, 2 * PAGE + 1, 10, 0));
        CHECK(vmo_bytes_are(child, 2 * PAGE + 11, PAGE - 11, 0x5A));
        /* The parent is untouched. */
        CHECK(vmo_bytes_are(parent, 0, 3 * PAGE, 0x5A));
        /* A grandchild of the zeroed child sees the zeros too. */
        zx_handle_t grand = child_of(child, ZX_VMO_CHILD_SNAPSHOT, 0, 3 * PAGE);
        CHECK(vmo_bytes_are(grand, 0, 2 * PAGE, 0));
        CHECK(vmo_bytes_are(grand, 2 * PAGE + 11, PAGE - 11, 0x5A));
        CHECK_STATUS(zx_vmo_op_range(grand, ZX_VMO_OP_ZERO, 2 * PAGE, PAGE, NULL, 0), ZX_OK);
        CHECK(vmo_bytes_are(grand, 0, 3 * PAGE, 0));
        CHECK_EQ(vmo_byte(child, 2 * PAGE), 0x5A);
        zx_handle_close(grand);
        zx_handle_close(child);
    }
    /* A slice: ZERO acts on the parent. */
    zx_handle_t slice = child_of(parent, ZX_VMO_CHILD_SLICE, PAGE, PAGE);
    CHECK_STATUS(zx_vmo_op_range(slice, ZX_VMO_OP_ZERO, 10, 20, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(parent, PAGE + 10, 20, 0));
    CHECK(vmo_bytes_are(parent, PAGE, 10, 0x5A));
    CHECK(vmo_bytes_are(parent, PAGE + 30, PAGE - 30, 0x5A));
    zx_handle_close(slice);
    zx_handle_close(parent);
}

static void test_lookup(void) {
    zx_handle_t h = make(4 * PAGE, 0);
    uint64_t addrs[8];
    memset(addrs, 0, sizeof addrs);
    /* Uncommitted pages -> NO_MEMORY. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, PAGE, addrs, sizeof addrs),
                 ZX_ERR_NO_MEMORY);
    CHECK_STATUS(vmo_fill(h, 0, 3 * PAGE, 0x10), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, 3 * PAGE, addrs, 3 * sizeof(uint64_t)),
                 ZX_OK);
    CHECK(addrs[0] != addrs[1] && addrs[1] != addrs[2] && addrs[0] != addrs[2]);
    /* Stable. */
    uint64_t again[3] = {0};
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, 3 * PAGE, again, sizeof again), ZX_OK);
    CHECK(memcmp(again, addrs, sizeof again) == 0);
    /* Unaligned range: pages of the page-rounded range. */
    uint64_t one = 0;
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, PAGE + 100, 10, &one, sizeof one), ZX_OK);
    CHECK_EQ(one, addrs[1]);
    uint64_t two[2] = {0};
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, PAGE - 1, 2, two, sizeof two), ZX_OK);
    CHECK_EQ(two[0], addrs[0]);
    CHECK_EQ(two[1], addrs[1]);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, PAGE - 1, 2, two, sizeof(uint64_t)),
                 ZX_ERR_BUFFER_TOO_SMALL);
    /* Buffer rules: size 0 -> INVALID_ARGS; buffer_size < 8 * pages -> BUFFER_TOO_SMALL. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, 0, addrs, sizeof addrs),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, 3 * PAGE, addrs, 3 * 8 - 1),
                 ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, 3 * PAGE, addrs, 16),
                 ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, PAGE, addrs, 0), ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, PAGE, addrs, 7), ZX_ERR_BUFFER_TOO_SMALL);
    /* A bigger buffer is fine. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, PAGE, addrs + 4, 4 * sizeof(uint64_t)),
                 ZX_OK);
    CHECK_EQ(addrs[4], addrs[0]);
    /* NULL buffer (an out-pointer) with an otherwise valid request. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, PAGE, NULL, 8), ZX_ERR_INVALID_ARGS);
    /* One uncommitted page in the range -> NO_MEMORY. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, 4 * PAGE, addrs, sizeof addrs),
                 ZX_ERR_NO_MEMORY);
    /* Range. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 3 * PAGE, 2 * PAGE, addrs, sizeof addrs),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, UINT64_MAX - PAGE + 1, 2 * PAGE, addrs,
                                 sizeof addrs),
                 ZX_ERR_OUT_OF_RANGE);
    /* COMMIT makes the page look-up-able. */
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 3 * PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(h, ZX_VMO_OP_LOOKUP, 0, 4 * PAGE, addrs, 4 * sizeof(uint64_t)),
                 ZX_OK);
    CHECK(addrs[3] != addrs[0] && addrs[3] != addrs[1] && addrs[3] != addrs[2]);
    /* Two VMOs never report the same page. */
    zx_handle_t other = make(PAGE, 0);
    CHECK_STATUS(vmo_fill(other, 0, PAGE, 1), ZX_OK);
    uint64_t oaddr = 0;
    CHECK_STATUS(zx_vmo_op_range(other, ZX_VMO_OP_LOOKUP, 0, PAGE, &oaddr, sizeof oaddr), ZX_OK);
    CHECK(oaddr != addrs[0] && oaddr != addrs[1] && oaddr != addrs[2] && oaddr != addrs[3]);
    zx_handle_close(other);
    zx_handle_close(h);
}

/* LOOKUP in a clone: unmodified pages report the parent's page. */
static void test_lookup_in_child(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 0x20), ZX_OK);
    uint64_t p[2] = {0}, c[2] = {0};
    CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_LOOKUP, 0, 2 * PAGE, p, sizeof p), ZX_OK);
    zx_handle_t child = child_of(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(child, ZX_VMO_OP_LOOKUP, 0, 2 * PAGE, c, sizeof c), ZX_OK);
    CHECK_EQ(c[0], p[0]);
    CHECK_EQ(c[1], p[1]);
    /* After the child writes page 1, its page 1 is its own. */
    CHECK_STATUS(vmo_fill(child, PAGE, 1, 0x21), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(child, ZX_VMO_OP_LOOKUP, 0, 2 * PAGE, c, sizeof c), ZX_OK);
    uint64_t p2[2] = {0};
    CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_LOOKUP, 0, 2 * PAGE, p2, sizeof p2), ZX_OK);
    CHECK(c[1] != p2[1]);
    CHECK_EQ(c[0], p2[0]);
    /* A page neither has committed is NO_MEMORY in the child as well. */
    zx_handle_t wide = child_of(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 3 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(wide, ZX_VMO_OP_LOOKUP, 2 * PAGE, PAGE, c, sizeof c),
                 ZX_ERR_NO_MEMORY);
    zx_handle_close(wide);
    /* A slice reports the parent's pages. */
    zx_handle_t slice = child_of(parent, ZX_VMO_CHILD_SLICE, PAGE, PAGE);
    CHECK_STATUS(zx_vmo_op_range(slice, ZX_VMO_OP_LOOKUP, 0, PAGE, c, sizeof c[0]), ZX_OK);
    CHECK_EQ(c[0], p2[1]);
    zx_handle_close(slice);
    zx_handle_close(child);
    zx_handle_close(parent);
}

static void test_cache_ops(void) {
    static const uint32_t ops[] = {ZX_VMO_OP_CACHE_SYNC, ZX_VMO_OP_CACHE_INVALIDATE,
                                   ZX_VMO_OP_CACHE_CLEAN, ZX_VMO_OP_CACHE_CLEAN_INVALIDATE};
    zx_handle_t h = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(h, 0, 2 * PAGE, 0x33), ZX_OK);
    zx_handle_t ro = dup_with(h, ZX_RIGHT_READ);
    zx_handle_t no_read = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    for (int i = 0; i < 4; i++) {
        uint32_t op = ops[i];
        /* No-op on valid ranges, committed or not, aligned or not; READ is enough. */
        CHECK_STATUS(zx_vmo_op_range(h, op, 0, 4 * PAGE, NULL, 0), ZX_OK);
        CHECK_STATUS(zx_vmo_op_range(h, op, 13, 100, NULL, 0), ZX_OK);
        CHECK_STATUS(zx_vmo_op_range(h, op, 3 * PAGE, PAGE, NULL, 0), ZX_OK);
        CHECK_STATUS(zx_vmo_op_range(ro, op, 0, PAGE, NULL, 0), ZX_OK);
        /* Size 0, beyond the end, rights. */
        CHECK_STATUS(zx_vmo_op_range(h, op, 0, 0, NULL, 0), ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmo_op_range(h, op, PAGE, 0, NULL, 0), ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmo_op_range(h, op, 0, 4 * PAGE + 1, NULL, 0), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(h, op, 4 * PAGE, 1, NULL, 0), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(h, op, UINT64_MAX, 2, NULL, 0), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_op_range(no_read, op, 0, PAGE, NULL, 0), ZX_ERR_ACCESS_DENIED);
    }
    CHECK(vmo_bytes_are(h, 0, 2 * PAGE, 0x33));
    CHECK(vmo_bytes_are(h, 2 * PAGE, 2 * PAGE, 0));
    CHECK_EQ(committed_of(h), 2 * PAGE);
    zx_handle_close(ro);
    zx_handle_close(no_read);
    zx_handle_close(h);
}

static void test_unsupported_and_unknown(void) {
    static const uint32_t unsupported[] = {ZX_VMO_OP_LOCK, ZX_VMO_OP_TRY_LOCK, ZX_VMO_OP_UNLOCK,
                                           ZX_VMO_OP_DONT_NEED, ZX_VMO_OP_ALWAYS_NEED};
    zx_handle_t h = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(h, 0, 2 * PAGE, 0x44), ZX_OK);
    zx_handle_t r = make(2 * PAGE, ZX_VMO_RESIZABLE);
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        CHECK_STATUS(zx_vmo_op_range(h, unsupported[i], 0, PAGE, NULL, 0), ZX_ERR_NOT_SUPPORTED);
        CHECK_STATUS(zx_vmo_op_range(h, unsupported[i], 0, 2 * PAGE, NULL, 0),
                     ZX_ERR_NOT_SUPPORTED);
        CHECK_STATUS(zx_vmo_op_range(r, unsupported[i], 0, PAGE, NULL, 0), ZX_ERR_NOT_SUPPORTED);
    }
    static const uint32_t unknown[] = {0, 14, 15, 100, 0x80000000u, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STATUS(zx_vmo_op_range(h, unknown[i], 0, PAGE, NULL, 0), ZX_ERR_INVALID_ARGS);
    }
    CHECK(vmo_bytes_are(h, 0, 2 * PAGE, 0x44));
    CHECK_EQ(committed_of(h), 2 * PAGE);
    zx_handle_close(r);
    zx_handle_close(h);
}

static void test_bad_handles(void) {
    CHECK_STATUS(zx_vmo_op_range(ZX_HANDLE_INVALID, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmo_op_range(zx_job_default(), ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0),
                 ZX_ERR_WRONG_TYPE);
}

int main(void) {
    test_commit();
    test_commit_in_child();
    test_decommit();
    test_decommit_children();
    test_zero();
    test_zero_in_children();
    test_lookup();
    test_lookup_in_child();
    test_cache_ops();
    test_unsupported_and_unknown();
    test_bad_handles();
    return finish();
}
