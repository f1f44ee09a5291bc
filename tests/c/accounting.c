/* Copy-on-write memory accounting: spec/zircon.md section 4. committed_bytes attributes each page
 * to exactly one VMO (the oldest living one that can see it), populated_bytes counts every
 * committed page a VMO can see, nothing leaks, closed middle members of a chain collapse. */
#include <stdlib.h>

#include "check.h"

static zx_handle_t make(uint64_t size, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(size, options, &h), ZX_OK);
    return h;
}

static zx_handle_t snap(zx_handle_t parent, uint64_t size) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, size, &h), ZX_OK);
    return h;
}

#define C(h) committed_of(h)
#define POP(h) populated_of(h)

/* The example of section 4, then the survivor inherits the bill. */
static void test_spec_example(void) {
    zx_handle_t v = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, 2 * PAGE, 1), ZX_OK);
    CHECK_EQ(C(v), 2 * PAGE);
    zx_handle_t c = snap(v, 2 * PAGE);
    CHECK_EQ(C(v), 2 * PAGE);
    CHECK_EQ(C(c), 0);
    CHECK_EQ(POP(v), 2 * PAGE);
    CHECK_EQ(POP(c), 2 * PAGE);
    CHECK_STATUS(vmo_fill(v, 0, 1, 2), ZX_OK); /* V writes page 0 */
    CHECK_EQ(C(v), 2 * PAGE);
    CHECK_EQ(C(c), PAGE);
    CHECK_EQ(POP(v), 2 * PAGE);
    CHECK_EQ(POP(c), 2 * PAGE);
    CHECK_STATUS(vmo_fill(c, PAGE, 1, 3), ZX_OK); /* C writes page 1 */
    CHECK_EQ(C(v), 2 * PAGE);
    CHECK_EQ(C(c), 2 * PAGE);
    /* Writing again to private pages allocates nothing. */
    CHECK_STATUS(vmo_fill(v, 0, PAGE, 4), ZX_OK);
    CHECK_STATUS(vmo_fill(c, 0, PAGE, 5), ZX_OK);
    CHECK_EQ(C(v) + C(c), 4 * PAGE);
    CHECK_EQ(C(c), 2 * PAGE);
    zx_handle_close(c);
    CHECK_EQ(C(v), 2 * PAGE);
    zx_handle_close(v);

    /* After V closes, C pays for everything it still sees. */
    v = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, 2 * PAGE, 1), ZX_OK);
    c = snap(v, 2 * PAGE);
    CHECK_STATUS(vmo_fill(v, 0, 1, 2), ZX_OK);
    CHECK_EQ(C(c), PAGE);
    zx_handle_close(v);
    CHECK_EQ(C(c), 2 * PAGE);
    CHECK_EQ(POP(c), 2 * PAGE);
    CHECK(vmo_bytes_are(c, 0, 2 * PAGE, 1));
    zx_handle_close(c);

    /* Shared pages with the parent closed right away. */
    v = make(3 * PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, 3 * PAGE, 1), ZX_OK);
    c = snap(v, 3 * PAGE);
    zx_handle_close(v);
    CHECK_EQ(C(c), 3 * PAGE);
    CHECK_STATUS(vmo_fill(c, 0, 3 * PAGE, 9), ZX_OK); /* no copy needed: nobody else sees them */
    CHECK_EQ(C(c), 3 * PAGE);
    zx_handle_close(c);
}

/* A chain V -> S1 -> S2 -> S3 of snapshots: the sum of committed_bytes is always the number of
 * distinct pages live VMOs can see. */
static void test_chain(void) {
    zx_handle_t v = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, 4 * PAGE, 'v'), ZX_OK);
    zx_handle_t s1 = snap(v, 4 * PAGE);
    zx_handle_t s2 = snap(s1, 4 * PAGE);
    zx_handle_t s3 = snap(s2, 4 * PAGE);
    CHECK_EQ(C(v), 4 * PAGE);
    CHECK_EQ(C(s1), 0);
    CHECK_EQ(C(s2), 0);
    CHECK_EQ(C(s3), 0);
    CHECK_EQ(POP(s3), 4 * PAGE);
    CHECK_EQ(POP(s1), 4 * PAGE);

    /* S2 writes page 0: one new page, S2's. */
    CHECK_STATUS(vmo_fill(s2, 0, 1, '2'), ZX_OK);
    CHECK_EQ(C(v), 4 * PAGE);
    CHECK_EQ(C(s2), PAGE);
    CHECK_EQ(C(s1) + C(s3), 0);
    CHECK_EQ(POP(s2), 4 * PAGE);
    /* Close the middle S1: nothing it alone saw, so no change. */
    zx_handle_close(s1);
    CHECK_EQ(C(v), 4 * PAGE);
    CHECK_EQ(C(s2), PAGE);
    CHECK_EQ(C(s3), 0);
    CHECK(vmo_bytes_are(s3, 0, 4 * PAGE, 'v'));
    CHECK(vmo_bytes_are(s2, 1, 4 * PAGE - 1, 'v'));
    CHECK_EQ(vmo_byte(s2, 0), '2');
    /* Close V: the oldest survivor (S2) pays for pages 1..3 and its own page 0; S3 pays for the
     * original page 0, which only it still sees. */
    zx_handle_close(v);
    CHECK_EQ(C(s2), 4 * PAGE);
    CHECK_EQ(C(s3), PAGE);
    CHECK_EQ(POP(s2), 4 * PAGE);
    CHECK_EQ(POP(s3), 4 * PAGE);
    CHECK(vmo_bytes_are(s3, 0, 4 * PAGE, 'v'));
    /* Close S2: S3 pays for all it sees; S2's private page is gone. */
    zx_handle_close(s2);
    CHECK_EQ(C(s3), 4 * PAGE);
    CHECK(vmo_bytes_are(s3, 0, 4 * PAGE, 'v'));
    zx_handle_close(s3);
}

/* A long chain of snapshots, each writing one page; closing the middle ones keeps everything
 * readable and the total exact. */
static void test_long_chain(void) {
    enum { N = 40 };
    zx_handle_t hs[N];
    hs[0] = make(N * PAGE, 0);
    CHECK_STATUS(vmo_fill(hs[0], 0, N * PAGE, 0xFF), ZX_OK);
    for (int i = 1; i < N; i++) {
        hs[i] = snap(hs[i - 1], N * PAGE);
        CHECK_STATUS(vmo_fill(hs[i], (uint64_t)i * PAGE, PAGE, (uint8_t)i), ZX_OK);
    }
    /* Expected: N original pages + one private page per snapshot. */
    uint64_t total = 0;
    for (int i = 0; i < N; i++) total += C(hs[i]);
    CHECK_EQ(total, (uint64_t)(2 * N - 1) * PAGE);
    CHECK_EQ(C(hs[0]), (uint64_t)N * PAGE);
    /* The last one sees every earlier snapshot's page. */
    int ok = 1;
    for (int i = 1; i < N; i++) ok &= vmo_byte(hs[N - 1], (uint64_t)i * PAGE) == i;
    CHECK(ok);
    /* Close every odd member (the middles). */
    for (int i = 1; i < N - 1; i += 2) {
        zx_handle_close(hs[i]);
        hs[i] = ZX_HANDLE_INVALID;
    }
    ok = 1;
    for (int i = 1; i < N; i++) ok &= vmo_byte(hs[N - 1], (uint64_t)i * PAGE) == i;
    CHECK(ok);
    /* Snapshot k sees the page written by j for every 1 <= j <= k (one physical page shared by
     * all k >= j) and the original of every other page. hs[N-1] is alive, so every written page
     * is still visible, and the root sees every original: nothing was freed. */
    total = 0;
    for (int i = 0; i < N; i++)
        if (hs[i] != ZX_HANDLE_INVALID) total += C(hs[i]);
    CHECK_EQ(total, (uint64_t)(2 * N - 1) * PAGE); /* every written page is still visible */
    /* Close the root: the original of page j stays only if some live k sees it (j == 0, or a
     * live k < j); the page written by j stays if some live k >= j. */
    zx_handle_close(hs[0]);
    hs[0] = ZX_HANDLE_INVALID;
    uint64_t expect = 0;
    for (int j = 0; j < N; j++) {
        int seen_orig = 0, seen_new = 0;
        for (int k = 1; k < N; k++) {
            if (hs[k] == ZX_HANDLE_INVALID) continue;
            if (j == 0 || k < j) seen_orig = 1;
            if (j >= 1 && k >= j) seen_new = 1;
        }
        expect += (uint64_t)(seen_orig + seen_new) * PAGE;
    }
    total = 0;
    for (int i = 0; i < N; i++)
        if (hs[i] != ZX_HANDLE_INVALID) total += C(hs[i]);
    CHECK_EQ(total, expect);
    for (int i = 0; i < N; i++)
        if (hs[i] != ZX_HANDLE_INVALID) zx_handle_close(hs[i]);
}

/* ZERO, shrink and close never leave pages nobody can read. */
static void test_no_leak(void) {
    zx_handle_t v = make(2 * PAGE, ZX_VMO_RESIZABLE);
    CHECK_STATUS(vmo_fill(v, 0, 2 * PAGE, 1), ZX_OK);
    zx_handle_t c = snap(v, 2 * PAGE);
    CHECK_STATUS(vmo_fill(v, 0, 1, 2), ZX_OK);
    /* V: page 0' (own) + page 1 (shared) = 2P; C: page 0 = 1P. */
    CHECK_EQ(C(v), 2 * PAGE);
    CHECK_EQ(C(c), PAGE);
    /* V zeroes page 1: only C sees the original page 1 now, so C pays for it. */
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_ZERO, PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(C(c), 2 * PAGE);
    CHECK(C(v) == PAGE || C(v) == 2 * PAGE); /* "releasing fully covered pages where it can" */
    CHECK(vmo_bytes_are(v, PAGE, PAGE, 0));
    CHECK(vmo_bytes_are(c, 0, 2 * PAGE, 1));
    /* V shrinks to nothing: V pays nothing, C still pays for what it sees. */
    CHECK_STATUS(zx_vmo_set_size(v, 0), ZX_OK);
    CHECK_EQ(C(v), 0);
    CHECK_EQ(POP(v), 0);
    CHECK_EQ(C(c), 2 * PAGE);
    CHECK(vmo_bytes_are(c, 0, 2 * PAGE, 1));
    zx_handle_close(v);
    CHECK_EQ(C(c), 2 * PAGE);
    zx_handle_close(c);

    /* A resizable snapshot shrinking releases what only it saw. */
    v = make(4 * PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, 4 * PAGE, 1), ZX_OK);
    zx_handle_t r = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE, 0,
                                     4 * PAGE, &r),
                 ZX_OK);
    CHECK_STATUS(vmo_fill(r, 0, 4 * PAGE, 2), ZX_OK);
    CHECK_EQ(C(r), 4 * PAGE);
    CHECK_STATUS(zx_vmo_set_size(r, PAGE), ZX_OK);
    CHECK_EQ(C(r), PAGE);
    CHECK_EQ(C(v), 4 * PAGE);
    zx_handle_close(v);
    CHECK_EQ(C(r), PAGE);
    CHECK_EQ(POP(r), PAGE);
    zx_handle_close(r);

    /* A snapshot that sees pages the parent has not committed: a write there costs one page. */
    v = make(2 * PAGE, 0);
    c = snap(v, 2 * PAGE);
    CHECK_STATUS(vmo_fill(c, PAGE, 1, 7), ZX_OK);
    CHECK_EQ(C(c), PAGE);
    CHECK_EQ(C(v), 0);
    CHECK_EQ(POP(v), 0);
    CHECK_STATUS(vmo_fill(v, PAGE, 1, 8), ZX_OK);
    CHECK_EQ(C(v), PAGE);
    CHECK_EQ(vmo_byte(c, PAGE), 7);
    zx_handle_close(c);
    zx_handle_close(v);
}

/* Legacy one-way clones and slices are accounted for too: the clone pays only for its own
 * pages; a clone write costs one page. */
static void test_legacy_clone(void) {
    zx_handle_t v = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, 2 * PAGE, 1), ZX_OK);
    zx_handle_t l = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_clone(v, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE, &l), ZX_OK);
    CHECK_EQ(C(v), 2 * PAGE);
    CHECK_EQ(C(l), 0);
    CHECK_EQ(POP(l), 2 * PAGE);
    CHECK_STATUS(vmo_fill(l, 0, 1, 2), ZX_OK);
    CHECK_EQ(C(v), 2 * PAGE);
    CHECK_EQ(C(l), PAGE);
    CHECK_EQ(POP(l), 2 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(l, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(C(l), 0);
    CHECK_EQ(C(v), 2 * PAGE);
    zx_handle_close(l);
    CHECK_EQ(C(v), 2 * PAGE);
    zx_handle_close(v);
}

/* "A chain of snapshots whose middle members close collapses": thousands of generations, each
 * snapshotting the previous one, writing one page and closing its parent, stay exact and fast
 * (the program's time limit catches a chain that is walked level by level). */
static void test_rolling_chain(void) {
    enum { GENERATIONS = 5000, PAGES = 8 };
    zx_handle_t cur = make(PAGES * PAGE, 0);
    CHECK_STATUS(vmo_fill(cur, 0, PAGES * PAGE, 0), ZX_OK);
    int fails = 0;
    for (int g = 1; g <= GENERATIONS; g++) {
        zx_handle_t next = ZX_HANDLE_INVALID;
        if (zx_vmo_create_child(cur, ZX_VMO_CHILD_SNAPSHOT, 0, PAGES * PAGE, &next) != ZX_OK) {
            fails++;
            break;
        }
        uint8_t v = (uint8_t)(g % 251 + 1);
        fails += zx_vmo_write(next, &v, (uint64_t)(g % PAGES) * PAGE, 1) != ZX_OK;
        fails += zx_handle_close(cur) != ZX_OK;
        cur = next;
    }
    CHECK_EQ(fails, 0);
    CHECK_EQ(C(cur), PAGES * PAGE);
    CHECK_EQ(POP(cur), PAGES * PAGE);
    int ok = 1;
    for (int p = 0; p < PAGES; p++) {
        int last = GENERATIONS - ((GENERATIONS - p) % PAGES); /* last generation writing page p */
        ok &= vmo_byte(cur, (uint64_t)p * PAGE) == (last % 251 + 1);
    }
    CHECK(ok);
    zx_handle_close(cur);

    /* A chain kept alive: 1000 live levels, every one still reads its own view. */
    enum { LEVELS = 1000 };
    static zx_handle_t hs[LEVELS];
    hs[0] = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(hs[0], 0, 2 * PAGE, 1), ZX_OK);
    fails = 0;
    for (int i = 1; i < LEVELS; i++) {
        hs[i] = ZX_HANDLE_INVALID;
        fails += zx_vmo_create_child(hs[i - 1], ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE, &hs[i]) != ZX_OK;
        if (i % 10 == 0) {
            uint8_t v = (uint8_t)(i / 10 % 250 + 2);
            fails += zx_vmo_write(hs[i], &v, PAGE, 1) != ZX_OK;
        }
    }
    CHECK_EQ(fails, 0);
    uint64_t total = 0;
    for (int i = 0; i < LEVELS; i++) total += C(hs[i]);
    CHECK_EQ(total, (2 + (LEVELS - 1) / 10) * PAGE);
    ok = 1;
    for (int i = 0; i < LEVELS; i++) {
        int expect = i < 10 ? 1 : (i / 10) % 250 + 2;
        ok &= vmo_byte(hs[i], PAGE) == expect && vmo_byte(hs[i], 0) == 1;
    }
    CHECK(ok);
    /* Close from the root upwards: the last one keeps its view, paying for exactly 2 pages. */
    for (int i = 0; i < LEVELS - 1; i++) fails += zx_handle_close(hs[i]) != ZX_OK;
    CHECK_EQ(fails, 0);
    CHECK_EQ(C(hs[LEVELS - 1]), 2 * PAGE);
    CHECK_EQ(vmo_byte(hs[LEVELS - 1], PAGE), (LEVELS - 1) / 10 % 250 + 2);
    CHECK_EQ(vmo_byte(hs[LEVELS - 1], 0), 1);
    zx_handle_close(hs[LEVELS - 1]);
}

/* ---- Every close order of a family, checked against LOOKUP ----
 * LOOKUP reports one "physical address" per visible committed page ("in a clone, unmodified
 * pages report the parent's page"). Since committed_bytes attributes every page in use to exactly
 * one VMO and no page outlives the last VMO that can see it, the sum of committed_bytes over the
 * live VMOs must equal the number of distinct addresses they report; each VMO's populated_bytes
 * must equal the number of its pages LOOKUP finds; and contents never change when a relative
 * closes. */
enum { FAM = 4, FPAGES = 4 };

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static void check_family(zx_handle_t* hs, uint8_t (*expect)[FPAGES * 4096], const char* when) {
    uint64_t addrs[FAM * FPAGES];
    size_t n = 0;
    uint64_t committed = 0;
    for (int i = 0; i < FAM; i++) {
        if (hs[i] == ZX_HANDLE_INVALID) continue;
        uint64_t found = 0;
        for (int p = 0; p < FPAGES; p++) {
            uint64_t a = 0;
            zx_status_t st =
                zx_vmo_op_range(hs[i], ZX_VMO_OP_LOOKUP, (uint64_t)p * PAGE, PAGE, &a, sizeof a);
            if (st == ZX_OK) {
                addrs[n++] = a;
                found++;
            } else {
                CHECK_STATUS(st, ZX_ERR_NO_MEMORY);
            }
        }
        zx_info_vmo_t info = vmo_info(hs[i]);
        committed += info.committed_bytes;
        if (!CHECK_EQ(info.populated_bytes, found * PAGE))
            fprintf(stderr, "    (VMO %d, %s)\n", i, when);
        static uint8_t got[FPAGES * 4096];
        CHECK_STATUS(zx_vmo_read(hs[i], got, 0, sizeof got), ZX_OK);
        if (!CHECK(memcmp(got, expect[i], sizeof got) == 0))
            fprintf(stderr, "    (content of VMO %d changed, %s)\n", i, when);
    }
    qsort(addrs, n, sizeof addrs[0], cmp_u64);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) distinct += i == 0 || addrs[i] != addrs[i - 1];
    if (!CHECK_EQ(committed, distinct * PAGE)) fprintf(stderr, "    (%s)\n", when);
}

static void test_close_orders(void) {
    static uint8_t expect[FAM][FPAGES * 4096];
    int perm[FAM] = {0, 1, 2, 3};
    int count = 0;
    for (;;) {
        /* Family: V; S1 = snapshot of V; L = legacy clone of V; S2 = snapshot of S1. */
        zx_handle_t hs[FAM] = {make(FPAGES * PAGE, 0), 0, 0, 0};
        CHECK_STATUS(vmo_fill(hs[0], 0, 3 * PAGE, 'v'), ZX_OK); /* page 3 uncommitted */
        hs[1] = snap(hs[0], FPAGES * PAGE);
        CHECK_STATUS(vmo_fill(hs[1], PAGE, PAGE, '1'), ZX_OK);
        CHECK_STATUS(vmo_fill(hs[0], 0, 1, 'V'), ZX_OK);
        CHECK_STATUS(zx_vmo_clone(hs[0], ZX_VMO_CLONE_COPY_ON_WRITE, 0, FPAGES * PAGE, &hs[2]),
                     ZX_OK);
        CHECK_STATUS(vmo_fill(hs[2], 2 * PAGE, 10, 'L'), ZX_OK);
        hs[3] = snap(hs[1], FPAGES * PAGE);
        CHECK_STATUS(vmo_fill(hs[3], 3 * PAGE, 1, '2'), ZX_OK);
        CHECK_STATUS(vmo_fill(hs[1], 2 * PAGE + 100, 1, 'x'), ZX_OK);
        for (int i = 0; i < FAM; i++)
            CHECK_STATUS(zx_vmo_read(hs[i], expect[i], 0, sizeof expect[i]), ZX_OK);
        check_family(hs, expect, "before any close");
        for (int k = 0; k < FAM; k++) {
            CHECK_STATUS(zx_handle_close(hs[perm[k]]), ZX_OK);
            hs[perm[k]] = ZX_HANDLE_INVALID;
            char when[64];
            snprintf(when, sizeof when, "order %d%d%d%d, after %d closes", perm[0], perm[1],
                     perm[2], perm[3], k + 1);
            check_family(hs, expect, when);
        }
        count++;
        /* Next permutation (lexicographic). */
        int i = FAM - 2;
        while (i >= 0 && perm[i] > perm[i + 1]) i--;
        if (i < 0) break;
        int j = FAM - 1;
        while (perm[j] < perm[i]) j--;
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        for (int a = i + 1, b = FAM - 1; a < b; a++, b--) {
            t = perm[a];
            perm[a] = perm[b];
            perm[b] = t;
        }
    }
    CHECK_EQ(count, 24);
}

int main(void) {
    test_spec_example();
    test_chain();
    test_long_chain();
    test_no_leak();
    test_legacy_clone();
    test_rolling_chain();
    test_close_orders();
    return finish();
}
