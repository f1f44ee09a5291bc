/* zx_vmo_clone (seed 001): spec/zircon.md section 5 (options, rights, one-way copy-on-write,
 * COMMIT / DECOMMIT / LOOKUP in the clone, reads past the parent's end, shrink of the parent). */
#include "check.h"

#define COW ZX_VMO_CLONE_COPY_ON_WRITE
#define NONRES ZX_VMO_CLONE_NON_RESIZEABLE

static zx_handle_t make(uint64_t size, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(size, options, &h), ZX_OK);
    return h;
}

static zx_handle_t clone_of(zx_handle_t parent, uint32_t options, uint64_t offset, uint64_t size) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_clone(parent, options, offset, size, &h), ZX_OK);
    return h;
}

#define EXPECT_CLONE(h, opts, off, sz, expected)                                   \
    do {                                                                            \
        zx_handle_t out_ = ZX_HANDLE_INVALID;                                       \
        zx_status_t st_ = zx_vmo_clone((h), (opts), (off), (sz), &out_);            \
        if (!CHECK_STATUS(st_, (expected)))                                         \
            fprintf(stderr, "    (options 0x%x offset 0x%llx size 0x%llx)\n",       \
                    (unsigned)(opts), (unsigned long long)(off),                    \
                    (unsigned long long)(sz));                                      \
        if (st_ == ZX_OK) zx_handle_close(out_);                                    \
    } while (0)

static void test_options_and_errors(void) {
    zx_handle_t vmo = make(2 * PAGE, 0);
    EXPECT_CLONE(vmo, COW, 0, PAGE, ZX_OK);
    EXPECT_CLONE(vmo, COW | NONRES, 0, PAGE, ZX_OK);
    EXPECT_CLONE(vmo, 0, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CLONE(vmo, NONRES, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CLONE(vmo, COW | (1u << 2), 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CLONE(vmo, COW | NONRES | (1u << 3), 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CLONE(vmo, COW | (1u << 31), 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CLONE(vmo, 0xFFFFFFFFu, 0, PAGE, ZX_ERR_INVALID_ARGS);
    /* Offset alignment and overflow. */
    EXPECT_CLONE(vmo, COW, 1, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CLONE(vmo, COW, PAGE + 17, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CLONE(vmo, COW, 0xFFFFFFFFFFFFF000ull, 2 * PAGE, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CLONE(vmo, COW, PAGE, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    /* Offset and size may lie beyond the parent's size. */
    EXPECT_CLONE(vmo, COW, 10 * PAGE, 3 * PAGE, ZX_OK);
    EXPECT_CLONE(vmo, COW | NONRES, PAGE, 5 * PAGE, ZX_OK);
    /* Rights: DUPLICATE and READ. */
    zx_handle_t no_dup = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_DUPLICATE);
    zx_handle_t no_read = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    EXPECT_CLONE(no_dup, COW, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CLONE(no_read, COW, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CLONE(no_dup, COW | NONRES, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    zx_handle_close(no_dup);
    zx_handle_close(no_read);
    /* Handles. */
    EXPECT_CLONE(ZX_HANDLE_INVALID, COW, 0, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_CLONE(zx_job_default(), COW, 0, PAGE, ZX_ERR_WRONG_TYPE);
    /* NULL out-pointer alone; nothing created. */
    CHECK_STATUS(zx_vmo_clone(vmo, COW, 0, PAGE, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(vmo_info(vmo).num_children, 0);
    CHECK(signals_of(vmo) & ZX_VMO_ZERO_CHILDREN);
    zx_handle_close(vmo);
}

static void test_rights_and_resizability(void) {
    zx_handle_t base = make(2 * PAGE, 0);
    zx_handle_t rbase = make(2 * PAGE, ZX_VMO_RESIZABLE);
    zx_handle_t parents[] = {
        base,
        rbase,
        dup_with(base, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ),
        dup_with(base, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_EXECUTE | ZX_RIGHT_INSPECT),
        dup_with(rbase, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_RESIZE | ZX_RIGHT_WAIT),
        dup_with(base, ZX_DEFAULT_VMO_RIGHTS & ~(ZX_RIGHT_WRITE | ZX_RIGHT_SET_PROPERTY)),
    };
    for (size_t p = 0; p < sizeof parents / sizeof parents[0]; p++) {
        if (!CHECK(parents[p] != ZX_HANDLE_INVALID)) continue;
        zx_rights_t pr = rights_of(parents[p]);
        for (int nonres = 0; nonres < 2; nonres++) {
            zx_handle_t c = ZX_HANDLE_INVALID;
            if (!CHECK_STATUS(zx_vmo_clone(parents[p], nonres ? COW | NONRES : COW, 0, 2 * PAGE,
                                           &c),
                              ZX_OK))
                continue;
            zx_rights_t want = (pr | ZX_RIGHT_WRITE) & ~ZX_RIGHT_RESIZE;
            if (!nonres) want |= ZX_RIGHT_RESIZE;
            if (!CHECK_EQ(rights_of(c), want))
                fprintf(stderr, "    (parent rights 0x%x, non-resizeable %d)\n", pr, nonres);
            /* Resizable exactly unless NON_RESIZEABLE was given. */
            if (nonres) {
                CHECK_STATUS(zx_vmo_set_size(c, 3 * PAGE), ZX_ERR_UNAVAILABLE);
                CHECK_EQ(size_of_vmo(c), 2 * PAGE);
            } else {
                CHECK_STATUS(zx_vmo_set_size(c, 3 * PAGE), ZX_OK);
                CHECK_EQ(size_of_vmo(c), 3 * PAGE);
            }
            if (want & ZX_RIGHT_INSPECT) {
                zx_info_vmo_t info = vmo_info(c);
                CHECK_EQ(info.handle_rights, want);
                CHECK_EQ(!!(info.flags & ZX_INFO_VMO_RESIZABLE), !nonres);
                CHECK_EQ(info.parent_koid, koid_of(parents[p]));
            }
            /* The clone is writable. */
            CHECK_STATUS(zx_vmo_write(c, "w", 0, 1), ZX_OK);
            zx_handle_close(c);
        }
    }
    for (size_t p = 2; p < sizeof parents / sizeof parents[0]; p++) zx_handle_close(parents[p]);
    zx_handle_close(base);
    zx_handle_close(rbase);
}

/* One-way copy-on-write: unwritten pages show the parent's current content. */
static void test_one_way(void) {
    zx_handle_t parent = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 3 * PAGE, 'A'), ZX_OK); /* page 3 uncommitted */
    zx_handle_t c = clone_of(parent, COW, 0, 4 * PAGE);
    CHECK_EQ(size_of_vmo(c), 4 * PAGE);
    CHECK(vmo_bytes_are(c, 0, 3 * PAGE, 'A'));
    CHECK(vmo_bytes_are(c, 3 * PAGE, PAGE, 0));
    CHECK_EQ(committed_of(c), 0);

    /* The parent's later writes are visible where the clone has not written. */
    CHECK_STATUS(vmo_fill(parent, 0, PAGE, 'B'), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE, 'B'));
    CHECK_STATUS(vmo_fill(parent, 3 * PAGE, PAGE, 'b'), ZX_OK);
    CHECK(vmo_bytes_are(c, 3 * PAGE, PAGE, 'b'));

    /* The clone's first write copies the page; the parent does not see it. */
    CHECK_STATUS(zx_vmo_write(c, "C", PAGE + 10, 1), ZX_OK);
    CHECK_EQ(vmo_byte(c, PAGE + 10), 'C');
    CHECK(vmo_bytes_are(c, PAGE, 10, 'A'));
    CHECK(vmo_bytes_are(c, PAGE + 11, PAGE - 11, 'A'));
    CHECK(vmo_bytes_are(parent, PAGE, PAGE, 'A'));
    CHECK_EQ(committed_of(c), PAGE);
    /* ... and from then on the parent's writes to that page are not seen by the clone. */
    CHECK_STATUS(vmo_fill(parent, PAGE, PAGE, 'D'), ZX_OK);
    CHECK_EQ(vmo_byte(c, PAGE + 10), 'C');
    CHECK(vmo_bytes_are(c, PAGE, 10, 'A'));

    /* DECOMMIT in the clone frees only its own page; the parent's page shows again. */
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_DECOMMIT, PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(c, PAGE, PAGE, 'D'));
    CHECK(vmo_bytes_are(parent, PAGE, PAGE, 'D'));
    CHECK_EQ(committed_of(c), 0);
    CHECK_EQ(committed_of(parent), 4 * PAGE);
    /* Decommit of a page the clone never had: still the parent's content, parent untouched. */
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE, 'B'));
    CHECK(vmo_bytes_are(parent, 0, PAGE, 'B'));
    /* Still copy-on-write afterwards. */
    CHECK_STATUS(vmo_fill(c, PAGE, 1, 'E'), ZX_OK);
    CHECK_EQ(vmo_byte(parent, PAGE), 'D');

    /* COMMIT copies the parent's page into the clone: later parent writes are not seen. */
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_COMMIT, 2 * PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(c, 2 * PAGE, PAGE, 'A'));
    CHECK_STATUS(vmo_fill(parent, 2 * PAGE, PAGE, 'F'), ZX_OK);
    CHECK(vmo_bytes_are(c, 2 * PAGE, PAGE, 'A'));
    CHECK_EQ(committed_of(c), 2 * PAGE);
    zx_handle_close(c);

    /* COMMIT where the parent has no page zero-fills; the parent's later page is not seen. */
    zx_handle_t p2 = make(2 * PAGE, 0);
    c = clone_of(p2, COW, 0, 2 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(c), PAGE);
    CHECK(vmo_bytes_are(c, 0, PAGE, 0));
    CHECK_STATUS(vmo_fill(p2, 0, 2 * PAGE, 'G'), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE, 0));
    CHECK(vmo_bytes_are(c, PAGE, PAGE, 'G')); /* uncommitted in the clone: parent's content */
    zx_handle_close(c);
    zx_handle_close(p2);
    zx_handle_close(parent);
}

static void test_lookup(void) {
    zx_handle_t parent = make(3 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 'L'), ZX_OK);
    uint64_t p[2] = {0}, c2[2] = {0};
    CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_LOOKUP, 0, 2 * PAGE, p, sizeof p), ZX_OK);
    zx_handle_t c = clone_of(parent, COW, 0, 3 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_LOOKUP, 0, 2 * PAGE, c2, sizeof c2), ZX_OK);
    CHECK_EQ(c2[0], p[0]);
    CHECK_EQ(c2[1], p[1]);
    /* Page 2: neither has it. */
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_LOOKUP, 2 * PAGE, PAGE, c2, sizeof c2),
                 ZX_ERR_NO_MEMORY);
    /* After the clone writes page 0 it reports its own page there. */
    CHECK_STATUS(vmo_fill(c, 0, 1, 'M'), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_LOOKUP, 0, 2 * PAGE, c2, sizeof c2), ZX_OK);
    CHECK(c2[0] != p[0]);
    CHECK_EQ(c2[1], p[1]);
    uint64_t p_again[2] = {0};
    CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_LOOKUP, 0, 2 * PAGE, p_again, sizeof p_again),
                 ZX_OK);
    CHECK(memcmp(p, p_again, sizeof p) == 0);
    /* After the parent commits page 2 the clone reports it there. */
    CHECK_STATUS(vmo_fill(parent, 2 * PAGE, 1, 'N'), ZX_OK);
    uint64_t pp = 0, cp = 0;
    CHECK_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_LOOKUP, 2 * PAGE, PAGE, &pp, 8), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_LOOKUP, 2 * PAGE, PAGE, &cp, 8), ZX_OK);
    CHECK_EQ(cp, pp);
    zx_handle_close(c);
    zx_handle_close(parent);
}

/* Reads beyond the parent's size are zeros; writes there allocate zero-filled pages. Offsets
 * shift the window. */
static void test_windows(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, PAGE, '0'), ZX_OK);
    CHECK_STATUS(vmo_fill(parent, PAGE, PAGE, '1'), ZX_OK);
    zx_handle_t c = clone_of(parent, COW, PAGE, 3 * PAGE + 5);
    CHECK_EQ(size_of_vmo(c), 4 * PAGE);
    CHECK(vmo_bytes_are(c, 0, PAGE, '1'));
    CHECK(vmo_bytes_are(c, PAGE, 3 * PAGE, 0));
    CHECK_STATUS(zx_vmo_write(c, "z", 2 * PAGE + 3, 1), ZX_OK);
    CHECK(vmo_bytes_are(c, 2 * PAGE, 3, 0));
    CHECK(vmo_bytes_are(c, 2 * PAGE + 4, PAGE - 4, 0));
    CHECK_EQ(size_of_vmo(parent), 2 * PAGE);
    CHECK_EQ(committed_of(c), PAGE);
    /* The parent's later writes through the window are seen. */
    CHECK_STATUS(vmo_fill(parent, PAGE, PAGE, '2'), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE, '2'));
    zx_handle_close(c);
    c = clone_of(parent, COW, 8 * PAGE, PAGE);
    CHECK(vmo_bytes_are(c, 0, PAGE, 0));
    zx_handle_close(c);
    zx_handle_close(parent);
}

/* A shrink of the parent clips the clone's view (zeros afterwards, for ever). */
static void test_parent_shrink(void) {
    zx_handle_t parent = make(4 * PAGE, ZX_VMO_RESIZABLE);
    CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 'S'), ZX_OK);
    zx_handle_t c = clone_of(parent, COW, 0, 4 * PAGE);
    CHECK_STATUS(vmo_fill(c, 3 * PAGE, PAGE, 'c'), ZX_OK); /* the clone's own page 3 */
    CHECK_STATUS(zx_vmo_set_size(parent, PAGE), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE, 'S'));
    CHECK(vmo_bytes_are(c, PAGE, 2 * PAGE, 0));
    CHECK(vmo_bytes_are(c, 3 * PAGE, PAGE, 'c')); /* its own page stays */
    /* The parent grows and writes again: the clipped range stays zero in the clone. */
    CHECK_STATUS(zx_vmo_set_size(parent, 4 * PAGE), ZX_OK);
    CHECK(vmo_bytes_are(parent, PAGE, 3 * PAGE, 0));
    CHECK(vmo_bytes_are(c, PAGE, 2 * PAGE, 0));
    CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 'T'), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE, 'T')); /* still a live view below the clip */
    CHECK(vmo_bytes_are(c, PAGE, 2 * PAGE, 0));
    CHECK(vmo_bytes_are(c, 3 * PAGE, PAGE, 'c'));
    /* The clone shrinking and growing shows zeros, not the parent. */
    CHECK_STATUS(zx_vmo_set_size(c, 0), ZX_OK);
    CHECK_STATUS(zx_vmo_set_size(c, 4 * PAGE), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, 4 * PAGE, 0));
    zx_handle_close(c);
    zx_handle_close(parent);
}

/* ZERO in a legacy clone gives zeros, never the parent's content. */
static void test_zero(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 'Z'), ZX_OK);
    zx_handle_t c = clone_of(parent, COW, 0, 2 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_ZERO, 0, PAGE + 10, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE + 10, 0));
    CHECK(vmo_bytes_are(c, PAGE + 10, PAGE - 10, 'Z'));
    CHECK(vmo_bytes_are(parent, 0, 2 * PAGE, 'Z'));
    /* ZERO writes the clone's pages: the parent's later writes there are not seen (that would
     * re-expose an ancestor's content, section 3), neither in the fully zeroed page 0 nor in
     * the partly zeroed page 1 (a first write copies the page, section 5). */
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 'Y'), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE + 10, 0));
    CHECK(vmo_bytes_are(c, PAGE + 10, PAGE - 10, 'Z'));
    zx_handle_close(c);
    zx_handle_close(parent);
}

/* Clones of clones, and the parent closing first. */
static void test_chains(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 'p'), ZX_OK);
    zx_handle_t c = clone_of(parent, COW, 0, 2 * PAGE);
    zx_handle_t g = clone_of(c, COW, 0, 2 * PAGE);
    CHECK(vmo_bytes_are(g, 0, 2 * PAGE, 'p'));
    CHECK_STATUS(vmo_fill(parent, 0, PAGE, 'q'), ZX_OK);
    CHECK(vmo_bytes_are(g, 0, PAGE, 'q'));
    CHECK_STATUS(vmo_fill(c, 0, PAGE, 'r'), ZX_OK);
    CHECK(vmo_bytes_are(g, 0, PAGE, 'r'));
    CHECK(vmo_bytes_are(parent, 0, PAGE, 'q'));
    CHECK_STATUS(vmo_fill(g, PAGE, PAGE, 's'), ZX_OK);
    CHECK(vmo_bytes_are(c, PAGE, PAGE, 'p'));
    /* Closing the parent handle: the clones keep what they see. */
    CHECK_STATUS(zx_handle_close(parent), ZX_OK);
    CHECK(vmo_bytes_are(c, 0, PAGE, 'r'));
    CHECK(vmo_bytes_are(c, PAGE, PAGE, 'p'));
    CHECK(vmo_bytes_are(g, 0, PAGE, 'r'));
    CHECK(vmo_bytes_are(g, PAGE, PAGE, 's'));
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    CHECK(vmo_bytes_are(g, 0, PAGE, 'r'));
    CHECK(vmo_bytes_are(g, PAGE, PAGE, 's'));
    CHECK_STATUS(zx_handle_close(g), ZX_OK);
}

/* Children of a legacy clone. Section 3 refuses SNAPSHOT only on physical, contiguous or
 * pager-backed VMOs and their descendants (BAD_STATE when pages are pinned), and
 * SNAPSHOT_AT_LEAST_ON_WRITE only on physical or contiguous ones; a legacy clone of an anonymous
 * VMO is none of these, so both must succeed, and a snapshot behaves "as if the range had been
 * copied eagerly at creation". SLICE is refused on a resizable parent (the default clone) but
 * allowed on a NON_RESIZEABLE clone. */
static void test_children_of_clone(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 'a'), ZX_OK);
    zx_handle_t l = clone_of(parent, COW, 0, 2 * PAGE);
    CHECK_STATUS(vmo_fill(l, PAGE, PAGE, 'b'), ZX_OK);

    zx_handle_t s = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create_child(l, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE, &s), ZX_OK)) {
        CHECK(vmo_bytes_are(s, 0, PAGE, 'a'));
        CHECK(vmo_bytes_are(s, PAGE, PAGE, 'b'));
        /* The grandparent writes page 0: the clone sees it (one-way), the snapshot does not. */
        CHECK_STATUS(vmo_fill(parent, 0, PAGE, 'c'), ZX_OK);
        CHECK(vmo_bytes_are(l, 0, PAGE, 'c'));
        CHECK(vmo_bytes_are(s, 0, PAGE, 'a'));
        /* The clone writes page 1: the snapshot does not see it. */
        CHECK_STATUS(vmo_fill(l, PAGE, PAGE, 'd'), ZX_OK);
        CHECK(vmo_bytes_are(s, PAGE, PAGE, 'b'));
        /* The snapshot's writes stay private. */
        CHECK_STATUS(vmo_fill(s, 0, 2 * PAGE, 'e'), ZX_OK);
        CHECK(vmo_bytes_are(l, 0, PAGE, 'c'));
        CHECK(vmo_bytes_are(l, PAGE, PAGE, 'd'));
        CHECK(vmo_bytes_are(parent, 0, PAGE, 'c'));
        CHECK(vmo_bytes_are(parent, PAGE, PAGE, 'a'));
        zx_handle_close(s);
    }
    zx_handle_t w = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create_child(l, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, 2 * PAGE,
                                         &w),
                     ZX_OK)) {
        CHECK(vmo_bytes_are(w, PAGE, PAGE, 'd'));
        CHECK_STATUS(vmo_fill(w, PAGE, PAGE, 'f'), ZX_OK);
        CHECK(vmo_bytes_are(l, PAGE, PAGE, 'd'));
        zx_handle_close(w);
    }
    /* SLICE: the default clone is resizable -> NOT_SUPPORTED. */
    zx_handle_t sl = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(l, ZX_VMO_CHILD_SLICE, 0, PAGE, &sl), ZX_ERR_NOT_SUPPORTED);
    zx_handle_close(l);

    zx_handle_t fixed = clone_of(parent, COW | NONRES, 0, 2 * PAGE);
    if (CHECK_STATUS(zx_vmo_create_child(fixed, ZX_VMO_CHILD_SLICE, PAGE, PAGE, &sl), ZX_OK)) {
        CHECK(vmo_bytes_are(sl, 0, PAGE, 'a'));
        CHECK_STATUS(vmo_fill(sl, 0, 1, 'g'), ZX_OK);
        CHECK_EQ(vmo_byte(fixed, PAGE), 'g');
        CHECK_EQ(vmo_byte(parent, PAGE), 'a');
        zx_handle_close(sl);
    }
    zx_handle_close(fixed);
    zx_handle_close(parent);
}

int main(void) {
    test_options_and_errors();
    test_rights_and_resizability();
    test_one_way();
    test_lookup();
    test_windows();
    test_parent_shrink();
    test_zero();
    test_chains();
    test_children_of_clone();
    return finish();
}
