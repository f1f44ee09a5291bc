/* zx_vmo_create_child: spec/zircon.md section 3 (check order, rights, snapshot / at-least-on-write /
 * slice semantics, windows past the end, IMMUTABLE, name inheritance) and section 2 (names). */
#include "check.h"

#define SNAP ZX_VMO_CHILD_SNAPSHOT
#define AOW ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE
#define SLICE ZX_VMO_CHILD_SLICE
#define RESIZABLE ZX_VMO_CHILD_RESIZABLE
#define NO_WRITE ZX_VMO_CHILD_NO_WRITE

static zx_handle_t make(uint64_t size, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(size, options, &h), ZX_OK);
    return h;
}

/* Calls create_child, expects `expected`, closes any handle it returns. */
#define EXPECT_CHILD(h, opts, off, sz, expected)                                         \
    do {                                                                                  \
        zx_handle_t out_ = ZX_HANDLE_INVALID;                                             \
        zx_status_t st_ = zx_vmo_create_child((h), (opts), (off), (sz), &out_);           \
        if (!CHECK_STATUS(st_, (expected)))                                               \
            fprintf(stderr, "    (options 0x%x offset 0x%llx size 0x%llx)\n", (unsigned)(opts), \
                    (unsigned long long)(off), (unsigned long long)(sz));                 \
        if (st_ == ZX_OK) zx_handle_close(out_);                                          \
    } while (0)

/* ---- Check order ---- */
static void test_check_order(void) {
    zx_handle_t vmo = make(4 * PAGE, 0);
    zx_handle_t rvmo = make(4 * PAGE, ZX_VMO_RESIZABLE);
    zx_handle_t job = zx_job_default();
    zx_handle_t no_read = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    zx_handle_t no_dup = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_DUPLICATE);
    zx_handle_t no_dup_r = dup_with(rvmo, ZX_RIGHT_READ | ZX_RIGHT_WRITE);
    const uint64_t huge_off = 0xFFFFFFFFFFFFF000ull; /* page aligned; + 2 pages overflows */
    CHECK(no_read != ZX_HANDLE_INVALID && no_dup != ZX_HANDLE_INVALID &&
          no_dup_r != ZX_HANDLE_INVALID);

    /* Each error alone. */
    EXPECT_CHILD(vmo, SNAP, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(vmo, SNAP | NO_WRITE | RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(job, SNAP, 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_CHILD(no_read, SNAP, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(no_dup, SNAP, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(vmo, 0, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP | AOW, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP | SLICE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, AOW | SLICE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP | AOW | SLICE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP | (1u << 6), 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP | (1u << 1), 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP | (1u << 31), 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, NO_WRITE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SLICE | RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP, 1, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP, PAGE - 1, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP, huge_off, 2 * PAGE, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(vmo, SNAP, huge_off, 1, ZX_ERR_OUT_OF_RANGE); /* offset + rounded size = 2^64 */
    EXPECT_CHILD(vmo, SLICE, 0, 5 * PAGE, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(vmo, SLICE, 4 * PAGE, PAGE, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(rvmo, SLICE, 0, PAGE, ZX_ERR_NOT_SUPPORTED);

    /* 1. Size rounding (OUT_OF_RANGE) comes before everything. */
    EXPECT_CHILD(vmo, SNAP | NO_WRITE | RESIZABLE, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(job, SNAP, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(no_read, SNAP, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(no_dup, SNAP, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(vmo, 0, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(vmo, SNAP | SLICE | (1u << 7), 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(vmo, SLICE | RESIZABLE, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(vmo, SNAP, 3, UINT64_MAX - PAGE + 2, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(rvmo, SLICE, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(job, 0xFFFFFFFFu, 1, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);

    /* 2. NO_WRITE + RESIZABLE (INVALID_ARGS) before the handle type and rights. */
    EXPECT_CHILD(job, SNAP | NO_WRITE | RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(no_read, SNAP | NO_WRITE | RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(no_dup, AOW | NO_WRITE | RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP | NO_WRITE | RESIZABLE, huge_off, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(rvmo, SLICE | NO_WRITE | RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);

    /* 3. Handle type (WRONG_TYPE) before rights and the remaining option checks. */
    EXPECT_CHILD(job, 0, 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_CHILD(job, SNAP | SLICE, 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_CHILD(job, SNAP | (1u << 9), 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_CHILD(job, SLICE | RESIZABLE, 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_CHILD(job, SNAP, 5, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_CHILD(job, SNAP, huge_off, 2 * PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_CHILD(job, SLICE, 100 * PAGE, PAGE, ZX_ERR_WRONG_TYPE);
    {
        /* A job handle without any right: still WRONG_TYPE rather than ACCESS_DENIED. Only if
         * the job handle can be duplicated at all (its rights are not in the spec). */
        zx_handle_t weak_job = ZX_HANDLE_INVALID;
        if (zx_handle_duplicate(job, ZX_RIGHT_NONE, &weak_job) == ZX_OK) {
            EXPECT_CHILD(weak_job, SNAP, 0, PAGE, ZX_ERR_WRONG_TYPE);
            zx_handle_close(weak_job);
        }
    }
    zx_handle_t proc = ZX_HANDLE_INVALID, vmar = ZX_HANDLE_INVALID;
    if (zx_process_create(job, "child-test", 10, 0, &proc, &vmar) == ZX_OK) {
        EXPECT_CHILD(proc, SNAP, 0, PAGE, ZX_ERR_WRONG_TYPE);
        EXPECT_CHILD(proc, 0, 0, PAGE, ZX_ERR_WRONG_TYPE);
        EXPECT_CHILD(vmar, SNAP, 3, PAGE, ZX_ERR_WRONG_TYPE);
        zx_handle_close(vmar);
        zx_handle_close(proc);
    }

    /* 4. Rights (DUPLICATE and READ: ACCESS_DENIED) before the type bits, alignment, overflow
     *    and type-specific checks. */
    EXPECT_CHILD(no_read, 0, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(no_dup, SNAP | SLICE, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(no_read, SNAP | (1u << 6), 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(no_read, SLICE | RESIZABLE, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(no_dup, SNAP, 7, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(no_read, SNAP, huge_off, 2 * PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(no_dup, SLICE, 0, 100 * PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_CHILD(no_dup_r, SLICE, 0, PAGE, ZX_ERR_ACCESS_DENIED); /* not NOT_SUPPORTED */

    /* 5. Exactly one type bit and no unknown bit (INVALID_ARGS) before alignment/overflow/type. */
    EXPECT_CHILD(vmo, 0, huge_off, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SNAP | SLICE, huge_off, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, AOW | (1u << 6), huge_off, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(rvmo, SLICE | (1u << 6), 0, PAGE, ZX_ERR_INVALID_ARGS); /* not NOT_SUPPORTED */
    EXPECT_CHILD(vmo, SLICE | (1u << 30), 0, 100 * PAGE, ZX_ERR_INVALID_ARGS); /* not OUT_OF_RANGE */

    /* 6. SLICE combined with anything but NO_WRITE (INVALID_ARGS) before overflow/type checks. */
    EXPECT_CHILD(vmo, SLICE | RESIZABLE, huge_off, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(rvmo, SLICE | RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SLICE | RESIZABLE, 0, 100 * PAGE, ZX_ERR_INVALID_ARGS);

    /* 7. Offset alignment (INVALID_ARGS) before overflow and type-specific checks. */
    EXPECT_CHILD(vmo, SNAP, UINT64_MAX - 10, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(vmo, SLICE, 1, 100 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(rvmo, SLICE, 1, PAGE, ZX_ERR_INVALID_ARGS);

    /* 8. Offset + size overflow (OUT_OF_RANGE) before type-specific checks. */
    EXPECT_CHILD(rvmo, SLICE, huge_off, 2 * PAGE, ZX_ERR_OUT_OF_RANGE); /* not NOT_SUPPORTED */

    /* NULL out-pointer when it is the only thing wrong; nothing is created. */
    CHECK_STATUS(zx_vmo_create_child(vmo, SNAP, 0, PAGE, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_child(vmo, SLICE, 0, PAGE, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_child(vmo, AOW | RESIZABLE, 0, PAGE, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(vmo_info(vmo).num_children, 0);
    CHECK(signals_of(vmo) & ZX_VMO_ZERO_CHILDREN);

    /* Bad handles. The handle is looked up at the "handle type" step (as in Zircon, where the
     * handle table answers BAD_HANDLE or WRONG_TYPE together): after the size and NO_WRITE +
     * RESIZABLE checks, before the option bits, alignment and overflow. */
    EXPECT_CHILD(ZX_HANDLE_INVALID, SNAP, 0, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_CHILD(ZX_HANDLE_INVALID, SNAP, 0, UINT64_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(ZX_HANDLE_INVALID, SNAP | NO_WRITE | RESIZABLE, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_CHILD(ZX_HANDLE_INVALID, 0, 0, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_CHILD(ZX_HANDLE_INVALID, SNAP | SLICE, 3, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_CHILD(ZX_HANDLE_INVALID, SNAP, huge_off, 2 * PAGE, ZX_ERR_BAD_HANDLE);

    /* Nothing of the above created a child. */
    CHECK_EQ(vmo_info(vmo).num_children, 0);
    CHECK_EQ(vmo_info(rvmo).num_children, 0);

    zx_handle_close(no_read);
    zx_handle_close(no_dup);
    zx_handle_close(no_dup_r);
    zx_handle_close(vmo);
    zx_handle_close(rvmo);
}

/* ---- Rights ---- */
static zx_rights_t expected_child_rights(zx_rights_t parent, uint32_t options) {
    zx_rights_t r = (parent & ~ZX_RIGHT_RESIZE) | ZX_RIGHT_GET_PROPERTY | ZX_RIGHT_SET_PROPERTY;
    if (options & RESIZABLE) r |= ZX_RIGHT_RESIZE;
    if (options & NO_WRITE) {
        r &= ~ZX_RIGHT_WRITE;
    } else if (options & (SNAP | AOW)) {
        r |= ZX_RIGHT_WRITE;
        r &= ~ZX_RIGHT_EXECUTE;
    }
    return r;
}

static void test_rights(void) {
    static const uint32_t options[] = {
        SNAP, SNAP | RESIZABLE, SNAP | NO_WRITE, AOW, AOW | RESIZABLE, AOW | NO_WRITE,
        SLICE, SLICE | NO_WRITE,
    };
    zx_handle_t base = make(2 * PAGE, 0);
    zx_handle_t rbase = make(2 * PAGE, ZX_VMO_RESIZABLE);
    struct {
        zx_handle_t h;
        int resizable;
    } parents[] = {
        {base, 0},
        {rbase, 1},
        {dup_with(base, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ), 0},
        {dup_with(base, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_EXECUTE), 0},
        {dup_with(base, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_INSPECT), 0},
        {dup_with(base, ZX_DEFAULT_VMO_RIGHTS & ~(ZX_RIGHT_GET_PROPERTY | ZX_RIGHT_WRITE)), 0},
        {dup_with(rbase, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_RESIZE | ZX_RIGHT_EXECUTE |
                             ZX_RIGHT_MAP | ZX_RIGHT_WAIT),
         1},
        {dup_with(base, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_TRANSFER | ZX_RIGHT_SIGNAL |
                            ZX_RIGHT_INSPECT | ZX_RIGHT_MAP),
         0},
    };
    for (size_t p = 0; p < sizeof parents / sizeof parents[0]; p++) {
        zx_handle_t parent = parents[p].h;
        if (!CHECK(parent != ZX_HANDLE_INVALID)) continue;
        zx_rights_t prights = rights_of(parent);
        for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
            uint32_t opt = options[o];
            if ((opt & SLICE) && parents[p].resizable) continue; /* NOT_SUPPORTED, tested above */
            zx_handle_t child = ZX_HANDLE_INVALID;
            if (!CHECK_STATUS(zx_vmo_create_child(parent, opt, 0, PAGE, &child), ZX_OK)) continue;
            zx_rights_t want = expected_child_rights(prights, opt);
            zx_rights_t got = rights_of(child);
            if (!CHECK_EQ(got, want))
                fprintf(stderr, "    (parent rights 0x%x, options 0x%x)\n", prights, opt);
            if (got & ZX_RIGHT_INSPECT) {
                if (!CHECK_EQ(vmo_info(child).handle_rights, want))
                    fprintf(stderr, "    (parent rights 0x%x, options 0x%x)\n", prights, opt);
            } else {
                zx_info_vmo_t info;
                size_t a, b;
                CHECK_STATUS(zx_object_get_info(child, ZX_INFO_VMO, &info, sizeof info, &a, &b),
                             ZX_ERR_ACCESS_DENIED);
            }
            /* The rights are enforced: writes exactly when WRITE is held. */
            zx_status_t wst = zx_vmo_write(child, "w", 0, 1);
            CHECK_STATUS(wst, (want & ZX_RIGHT_WRITE) ? ZX_OK : ZX_ERR_ACCESS_DENIED);
            zx_handle_close(child);
        }
    }
    for (size_t p = 2; p < sizeof parents / sizeof parents[0]; p++) zx_handle_close(parents[p].h);
    zx_handle_close(base);
    zx_handle_close(rbase);
}

/* ---- Snapshot isolation both ways ---- */
static void test_snapshot_isolation(uint32_t kind) {
    zx_handle_t parent = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 3 * PAGE, 'A'), ZX_OK); /* page 3 uncommitted */
    zx_handle_t child = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create_child(parent, kind, 0, 4 * PAGE, &child), ZX_OK)) {
        zx_handle_close(parent);
        return;
    }
    CHECK_EQ(size_of_vmo(child), 4 * PAGE);
    CHECK(vmo_bytes_are(child, 0, 3 * PAGE, 'A'));
    CHECK(vmo_bytes_are(child, 3 * PAGE, PAGE, 0));

    /* The child writes: the parent does not see it. */
    CHECK_STATUS(vmo_fill(child, PAGE, PAGE, 'C'), ZX_OK);
    CHECK_STATUS(vmo_fill(child, 3 * PAGE + 7, 1, 'c'), ZX_OK);
    CHECK(vmo_bytes_are(parent, 0, 3 * PAGE, 'A'));
    CHECK(vmo_bytes_are(parent, 3 * PAGE, PAGE, 0));
    CHECK(vmo_bytes_are(child, PAGE, PAGE, 'C'));

    if (kind == SNAP) {
        /* The parent writes: the snapshot never sees it (eager-copy semantics). */
        CHECK_STATUS(vmo_fill(parent, 0, PAGE, 'P'), ZX_OK);
        CHECK_STATUS(vmo_fill(parent, 2 * PAGE + 100, 10, 'Q'), ZX_OK);
        CHECK_STATUS(vmo_fill(parent, 3 * PAGE, PAGE, 'R'), ZX_OK);
        CHECK(vmo_bytes_are(child, 0, PAGE, 'A'));
        CHECK(vmo_bytes_are(child, 2 * PAGE, PAGE, 'A'));
        CHECK(vmo_bytes_are(child, 3 * PAGE, 7, 0));
        CHECK_EQ(vmo_byte(child, 3 * PAGE + 7), 'c');
        CHECK(vmo_bytes_are(child, 3 * PAGE + 8, PAGE - 8, 0));
    } else {
        /* At least on write: once the child wrote a page, the parent's writes there are never
         * seen; pages it has not written may show either content. */
        CHECK_STATUS(vmo_fill(parent, PAGE, PAGE, 'P'), ZX_OK);
        CHECK(vmo_bytes_are(child, PAGE, PAGE, 'C'));
        CHECK_STATUS(vmo_fill(parent, 0, PAGE, 'P'), ZX_OK);
        int b = vmo_byte(child, 0);
        CHECK(b == 'A' || b == 'P');
    }
    CHECK(vmo_bytes_are(child, PAGE, PAGE, 'C'));

    /* A snapshot of the snapshot is isolated from both. */
    zx_handle_t grand = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create_child(child, SNAP, 0, 4 * PAGE, &grand), ZX_OK)) {
        CHECK(vmo_bytes_are(grand, PAGE, PAGE, 'C'));
        CHECK_STATUS(vmo_fill(child, PAGE, PAGE, 'D'), ZX_OK);
        CHECK(vmo_bytes_are(grand, PAGE, PAGE, 'C'));
        CHECK_STATUS(vmo_fill(grand, 2 * PAGE, PAGE, 'G'), ZX_OK);
        CHECK(vmo_bytes_are(child, 2 * PAGE, PAGE, 'A'));
        CHECK(vmo_bytes_are(parent, 2 * PAGE, 100, 'A'));
        /* Closing the middle one leaves the grandchild intact. */
        zx_handle_close(child);
        child = ZX_HANDLE_INVALID;
        CHECK(vmo_bytes_are(grand, PAGE, PAGE, 'C'));
        CHECK(vmo_bytes_are(grand, 2 * PAGE, PAGE, 'G'));
        if (kind == SNAP) CHECK(vmo_bytes_are(grand, 0, PAGE, 'A'));
        zx_handle_close(grand);
    }
    if (child != ZX_HANDLE_INVALID) zx_handle_close(child);
    /* The parent never saw any of it. */
    CHECK(vmo_bytes_are(parent, 0, PAGE, 'P'));
    CHECK(vmo_bytes_are(parent, 2 * PAGE, 100, 'A'));
    zx_handle_close(parent);
}

/* Closing the parent first: the snapshot keeps its content. */
static void test_snapshot_outlives_parent(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 'x'), ZX_OK);
    zx_handle_t child = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(parent, SNAP, 0, 2 * PAGE, &child), ZX_OK);
    CHECK_STATUS(vmo_fill(parent, 0, PAGE, 'y'), ZX_OK);
    CHECK_STATUS(zx_handle_close(parent), ZX_OK);
    CHECK(vmo_bytes_are(child, 0, 2 * PAGE, 'x'));
    CHECK_STATUS(vmo_fill(child, PAGE, 1, 'z'), ZX_OK);
    CHECK_EQ(vmo_byte(child, PAGE), 'z');
    CHECK_EQ(committed_of(child), 2 * PAGE);
    CHECK_STATUS(zx_handle_close(child), ZX_OK);
}

/* ---- Windows: offsets, sizes rounded, past the parent's end ---- */
static void test_windows(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, PAGE, '0'), ZX_OK);
    CHECK_STATUS(vmo_fill(parent, PAGE, PAGE, '1'), ZX_OK);
    const uint32_t kinds[] = {SNAP, AOW};
    for (int k = 0; k < 2; k++) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        /* Offset one page, size rounded up to 4 pages: page 0 = parent page 1, rest zeros. */
        if (CHECK_STATUS(zx_vmo_create_child(parent, kinds[k], PAGE, 3 * PAGE + 1, &c), ZX_OK)) {
            CHECK_EQ(size_of_vmo(c), 4 * PAGE);
            CHECK(vmo_bytes_are(c, 0, PAGE, '1'));
            CHECK(vmo_bytes_are(c, PAGE, 3 * PAGE, 0));
            /* Writes past the parent's end allocate zero-filled pages. */
            CHECK_STATUS(zx_vmo_write(c, "w", 2 * PAGE + 5, 1), ZX_OK);
            CHECK(vmo_bytes_are(c, 2 * PAGE, 5, 0));
            CHECK_EQ(vmo_byte(c, 2 * PAGE + 5), 'w');
            CHECK(vmo_bytes_are(c, 2 * PAGE + 6, PAGE - 6, 0));
            CHECK_EQ(size_of_vmo(parent), 2 * PAGE);
            zx_handle_close(c);
        }
        /* Entirely past the parent's end. */
        if (CHECK_STATUS(zx_vmo_create_child(parent, kinds[k], 10 * PAGE, 2 * PAGE, &c), ZX_OK)) {
            CHECK_EQ(size_of_vmo(c), 2 * PAGE);
            CHECK(vmo_bytes_are(c, 0, 2 * PAGE, 0));
            CHECK_EQ(committed_of(c), 0);
            zx_handle_close(c);
        }
        /* Size rounded up. */
        if (CHECK_STATUS(zx_vmo_create_child(parent, kinds[k], 0, 1, &c), ZX_OK)) {
            CHECK_EQ(size_of_vmo(c), PAGE);
            CHECK(vmo_bytes_are(c, 0, PAGE, '0'));
            zx_handle_close(c);
        }
    }
    /* Slices: inside the parent, rounded, acting on the parent's pages. */
    zx_handle_t s = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create_child(parent, SLICE, PAGE, 1, &s), ZX_OK)) {
        CHECK_EQ(size_of_vmo(s), PAGE);
        CHECK(vmo_bytes_are(s, 0, PAGE, '1'));
        zx_handle_close(s);
    }
    EXPECT_CHILD(parent, SLICE, PAGE, PAGE + 1, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(parent, SLICE, 2 * PAGE, PAGE, ZX_ERR_OUT_OF_RANGE);
    EXPECT_CHILD(parent, SLICE, 0, 2 * PAGE, ZX_OK);
    EXPECT_CHILD(parent, SLICE, 2 * PAGE, 0, ZX_OK);
    zx_handle_close(parent);
}

/* ---- Slices act on the parent ---- */
static void test_slices(void) {
    zx_handle_t parent = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 's'), ZX_OK);
    zx_handle_t slice = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create_child(parent, SLICE, PAGE, 2 * PAGE, &slice), ZX_OK)) {
        zx_handle_close(parent);
        return;
    }
    CHECK(vmo_bytes_are(slice, 0, 2 * PAGE, 's'));
    /* Slice writes land in the parent ... */
    CHECK_STATUS(zx_vmo_write(slice, "slice", 10, 5), ZX_OK);
    char buf[5];
    CHECK_STATUS(zx_vmo_read(parent, buf, PAGE + 10, 5), ZX_OK);
    CHECK(memcmp(buf, "slice", 5) == 0);
    /* ... and parent writes show in the slice, also after creation. */
    CHECK_STATUS(zx_vmo_write(parent, "PARENT", 2 * PAGE + 1, 6), ZX_OK);
    char buf6[6];
    CHECK_STATUS(zx_vmo_read(slice, buf6, PAGE + 1, 6), ZX_OK);
    CHECK(memcmp(buf6, "PARENT", 6) == 0);
    /* The slice cannot reach outside its window. */
    CHECK_STATUS(zx_vmo_write(slice, "x", 2 * PAGE, 1), ZX_ERR_OUT_OF_RANGE);
    CHECK(vmo_bytes_are(parent, 3 * PAGE, PAGE, 's'));
    /* A NO_WRITE slice reads through but cannot write. */
    zx_handle_t ro = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create_child(parent, SLICE | NO_WRITE, 0, PAGE, &ro), ZX_OK)) {
        CHECK_EQ(rights_of(ro) & ZX_RIGHT_WRITE, 0);
        CHECK_STATUS(zx_vmo_write(ro, "x", 0, 1), ZX_ERR_ACCESS_DENIED);
        CHECK_STATUS(zx_vmo_write(parent, "seen", 0, 4), ZX_OK);
        char b4[4];
        CHECK_STATUS(zx_vmo_read(ro, b4, 0, 4), ZX_OK);
        CHECK(memcmp(b4, "seen", 4) == 0);
        zx_handle_close(ro);
    }
    /* The slice survives the parent's handle being closed and still shares with other
     * children of the same pages. */
    zx_handle_t slice2 = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(parent, SLICE, 2 * PAGE, PAGE, &slice2), ZX_OK);
    CHECK_STATUS(zx_handle_close(parent), ZX_OK);
    CHECK_STATUS(zx_vmo_write(slice, "after", PAGE, 5), ZX_OK);
    char b5[5];
    CHECK_STATUS(zx_vmo_read(slice2, b5, 0, 5), ZX_OK);
    CHECK(memcmp(b5, "after", 5) == 0);
    zx_handle_close(slice2);
    zx_handle_close(slice);
}

/* A snapshot of a parent with a slice sees the content at creation; slice writes after that are
 * not visible in the snapshot (they are parent writes). */
static void test_snapshot_vs_slice(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 2 * PAGE, 'a'), ZX_OK);
    zx_handle_t slice = ZX_HANDLE_INVALID, snap = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(parent, SLICE, 0, 2 * PAGE, &slice), ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(parent, SNAP, 0, 2 * PAGE, &snap), ZX_OK);
    CHECK_STATUS(vmo_fill(slice, 0, PAGE, 'b'), ZX_OK);
    CHECK(vmo_bytes_are(parent, 0, PAGE, 'b'));
    CHECK(vmo_bytes_are(snap, 0, 2 * PAGE, 'a'));
    CHECK_STATUS(vmo_fill(snap, PAGE, PAGE, 'c'), ZX_OK);
    CHECK(vmo_bytes_are(slice, PAGE, PAGE, 'a'));
    zx_handle_close(slice);
    zx_handle_close(snap);
    zx_handle_close(parent);
}

/* ---- IMMUTABLE ---- */
static void test_immutable(void) {
    zx_handle_t parent = make(PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, PAGE, 'i'), ZX_OK);
    zx_handle_t c = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create_child(parent, SNAP | NO_WRITE, 0, PAGE, &c), ZX_OK)) {
        zx_info_vmo_t info = vmo_info(c);
        CHECK(info.flags & ZX_INFO_VMO_IMMUTABLE);
        CHECK_EQ(info.handle_rights & ZX_RIGHT_WRITE, 0);
        CHECK_STATUS(zx_vmo_write(c, "x", 0, 1), ZX_ERR_ACCESS_DENIED);
        /* WRITE cannot be regained by duplication. */
        zx_handle_t d = ZX_HANDLE_INVALID;
        CHECK_STATUS(zx_handle_duplicate(c, rights_of(c) | ZX_RIGHT_WRITE, &d),
                     ZX_ERR_INVALID_ARGS);
        /* The snapshot still does not see the parent's writes. */
        CHECK_STATUS(vmo_fill(parent, 0, PAGE, 'j'), ZX_OK);
        CHECK(vmo_bytes_are(c, 0, PAGE, 'i'));
        zx_handle_close(c);
    }
    if (CHECK_STATUS(zx_vmo_create_child(parent, SNAP, 0, PAGE, &c), ZX_OK)) {
        CHECK_EQ(vmo_info(c).flags & ZX_INFO_VMO_IMMUTABLE, 0);
        zx_handle_close(c);
    }
    zx_handle_close(parent);
}

/* ---- Names ---- */
static void test_names(void) {
    zx_handle_t parent = make(PAGE, 0);
    const char name[] = "parent-name";
    CHECK_STATUS(zx_object_set_property(parent, ZX_PROP_NAME, name, sizeof name - 1), ZX_OK);
    const uint32_t kinds[] = {SNAP, AOW, SLICE, SNAP | NO_WRITE, SLICE | NO_WRITE};
    for (int k = 0; k < 5; k++) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        if (!CHECK_STATUS(zx_vmo_create_child(parent, kinds[k], 0, PAGE, &c), ZX_OK)) continue;
        char got[ZX_MAX_NAME_LEN];
        memset(got, 0x7F, sizeof got);
        CHECK_STATUS(zx_object_get_property(c, ZX_PROP_NAME, got, sizeof got), ZX_OK);
        CHECK(strcmp(got, name) == 0);
        CHECK(strcmp(vmo_info(c).name, name) == 0);
        /* Inherited at creation only: renaming either side later does not affect the other. */
        CHECK_STATUS(zx_object_set_property(c, ZX_PROP_NAME, "kid", 3), ZX_OK);
        memset(got, 0x7F, sizeof got);
        CHECK_STATUS(zx_object_get_property(parent, ZX_PROP_NAME, got, sizeof got), ZX_OK);
        CHECK(strcmp(got, name) == 0);
        CHECK_STATUS(zx_object_set_property(parent, ZX_PROP_NAME, "renamed", 7), ZX_OK);
        memset(got, 0x7F, sizeof got);
        CHECK_STATUS(zx_object_get_property(c, ZX_PROP_NAME, got, sizeof got), ZX_OK);
        CHECK(strcmp(got, "kid") == 0);
        CHECK_STATUS(zx_object_set_property(parent, ZX_PROP_NAME, name, sizeof name - 1), ZX_OK);
        zx_handle_close(c);
    }
    /* Legacy clones are children too. */
    zx_handle_t l = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_clone(parent, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &l), ZX_OK)) {
        CHECK(strcmp(vmo_info(l).name, name) == 0);
        zx_handle_close(l);
    }
    /* A grandchild inherits its own parent's current name. */
    zx_handle_t c = ZX_HANDLE_INVALID, g = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(parent, SNAP, 0, PAGE, &c), ZX_OK);
    CHECK_STATUS(zx_object_set_property(c, ZX_PROP_NAME, "middle", 6), ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(c, SNAP, 0, PAGE, &g), ZX_OK);
    CHECK(strcmp(vmo_info(g).name, "middle") == 0);
    zx_handle_close(g);
    zx_handle_close(c);
    zx_handle_close(parent);
}

/* ---- Info of children ---- */
static void test_child_info(void) {
    zx_handle_t parent = make(2 * PAGE, 0);
    zx_koid_t pk = koid_of(parent);
    const uint32_t kinds[] = {SNAP, AOW, SLICE};
    zx_handle_t kids[3];
    for (int k = 0; k < 3; k++) {
        kids[k] = ZX_HANDLE_INVALID;
        CHECK_STATUS(zx_vmo_create_child(parent, kinds[k], 0, PAGE, &kids[k]), ZX_OK);
        zx_info_vmo_t info = vmo_info(kids[k]);
        CHECK_EQ(info.parent_koid, pk);
        CHECK(info.koid != pk && info.koid >= 1024);
        CHECK_EQ(info.size_bytes, PAGE);
        CHECK_EQ(vmo_info(parent).num_children, (uint64_t)k + 1);
        CHECK_EQ(koid_of(kids[k]), info.koid);
        CHECK_EQ(info.num_children, 0);
    }
    CHECK(koid_of(kids[0]) != koid_of(kids[1]) && koid_of(kids[1]) != koid_of(kids[2]) &&
          koid_of(kids[0]) != koid_of(kids[2]));
    for (int k = 0; k < 3; k++) {
        zx_handle_close(kids[k]);
        CHECK_EQ(vmo_info(parent).num_children, (uint64_t)(2 - k));
    }
    CHECK_EQ(vmo_info(parent).parent_koid, 0);
    zx_handle_close(parent);
}

/* Sparse children of a 2^40-byte VMO (the spec's minimum maximum). */
static void test_huge(void) {
    const uint64_t big = 1ull << 40;
    zx_handle_t v = make(big, 0);
    CHECK_STATUS(zx_vmo_write(v, "end", big - 3, 3), ZX_OK);
    CHECK_STATUS(zx_vmo_write(v, "mid", big / 2, 3), ZX_OK);
    const uint32_t kinds[] = {SNAP, AOW, SLICE};
    for (int k = 0; k < 3; k++) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        if (!CHECK_STATUS(zx_vmo_create_child(v, kinds[k], big / 2, big / 2, &c), ZX_OK)) continue;
        char buf[3];
        CHECK_STATUS(zx_vmo_read(c, buf, 0, 3), ZX_OK);
        CHECK(memcmp(buf, "mid", 3) == 0);
        CHECK_STATUS(zx_vmo_read(c, buf, big / 2 - 3, 3), ZX_OK);
        CHECK(memcmp(buf, "end", 3) == 0);
        CHECK_STATUS(zx_vmo_write(c, "kid", big / 4, 3), ZX_OK);
        if (kinds[k] == SLICE) {
            CHECK_EQ(vmo_byte(v, big / 2 + big / 4), 'k');
        } else {
            CHECK_EQ(vmo_byte(v, big / 2 + big / 4), 0);
            CHECK_EQ(committed_of(c), PAGE);
            CHECK_EQ(populated_of(c), 3 * PAGE);
        }
        zx_handle_close(c);
    }
    CHECK_EQ(committed_of(v), 3 * PAGE); /* the slice's write landed in v */
    zx_handle_close(v);
}

/* Snapshots of a slice: section 3 does not refuse them, so they behave as an eager copy of the
 * slice's window, with zeros past the slice's end. */
static void test_snapshot_of_slice(void) {
    zx_handle_t parent = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(parent, 0, 4 * PAGE, 'p'), ZX_OK);
    zx_handle_t slice = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create_child(parent, SLICE, PAGE, 2 * PAGE, &slice), ZX_OK)) {
        zx_handle_close(parent);
        return;
    }
    const uint32_t kinds[] = {SNAP, AOW};
    for (int k = 0; k < 2; k++) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        if (!CHECK_STATUS(zx_vmo_create_child(slice, kinds[k], PAGE, 3 * PAGE, &c), ZX_OK))
            continue;
        CHECK(vmo_bytes_are(c, 0, PAGE, 'p'));
        CHECK(vmo_bytes_are(c, PAGE, 2 * PAGE, 0)); /* past the slice's end */
        CHECK_STATUS(vmo_fill(c, 0, PAGE, 'c'), ZX_OK);
        CHECK(vmo_bytes_are(slice, PAGE, PAGE, 'p'));
        CHECK(vmo_bytes_are(parent, 2 * PAGE, PAGE, 'p'));
        zx_handle_t fresh = ZX_HANDLE_INVALID;
        if (kinds[k] == SNAP &&
            CHECK_STATUS(zx_vmo_create_child(slice, SNAP, PAGE, PAGE, &fresh), ZX_OK)) {
            /* Writes under the window, through the parent or the slice, are not seen. */
            CHECK_STATUS(vmo_fill(parent, 2 * PAGE, 10, 'q'), ZX_OK);
            CHECK(vmo_bytes_are(fresh, 0, PAGE, 'p'));
            CHECK_STATUS(vmo_fill(slice, PAGE + 10, 10, 'r'), ZX_OK);
            CHECK(vmo_bytes_are(fresh, 0, PAGE, 'p'));
            CHECK_STATUS(vmo_fill(parent, 2 * PAGE, PAGE, 'p'), ZX_OK);
            zx_handle_close(fresh);
        }
        CHECK_EQ(vmo_info(c).parent_koid, koid_of(slice));
        zx_handle_close(c);
    }
    zx_handle_close(slice);
    zx_handle_close(parent);
}

int main(void) {
    test_check_order();
    test_rights();
    test_snapshot_isolation(SNAP);
    test_snapshot_isolation(AOW);
    test_snapshot_outlives_parent();
    test_windows();
    test_slices();
    test_snapshot_vs_slice();
    test_immutable();
    test_names();
    test_child_info();
    test_huge();
    test_snapshot_of_slice();
    return finish();
}
