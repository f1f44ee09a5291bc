/* The calling program's own mappings, reached through real pointers: spec/zircon.md section 6 ("a
 * mapping sees the VMO's current content at fault time; a write through a mapping of a snapshot or
 * of its parent copies the page exactly as zx_vmo_write would; creating a snapshot removes write
 * access from existing mappings; DECOMMIT and shrinking remove the affected pages from all
 * mappings") with sections 3-5, and README.md "Known limits and decisions" (the root VMAR is a
 * reserved host range, faults are resolved by a SIGSEGV handler, an access a mapping does not
 * allow kills the program with SIGSEGV, faults elsewhere go to the previous handler, buffers of
 * kernel calls may lie in mappings and must be mapped with the needed permission, host mappings
 * are budgeted). Every VMO here is mapped with zx_vmar_map(zx_vmar_root_self(), ...) and the
 * returned address is dereferenced:
 *   1. snapshots: writes after a snapshot stay private to the writer (parent or snapshot), also
 *      when the parent's mapping already held writable translations; snapshots of snapshots; all
 *      24 write orders of the tree P, A = snap(P), B = snap(P), AA = snap(A), each pointer and
 *      each VMO (zx_vmo_read) checked after every write, with and without reading first;
 *   2. DECOMMIT, ZERO, and shrink-then-grow of mapped VMOs read zeros through the pointer;
 *   3. a legacy one-way clone's mapping follows the parent's later writes (through the parent's
 *      pointer and through zx_vmo_write) until the clone writes the page itself;
 *   4. kernel calls whose buffers lie in mappings (same VMO, sibling, out-pointers of
 *      zx_object_get_info / zx_vmo_get_size / zx_vmo_create), a read-only mapping as the
 *      destination (INVALID_ARGS, nothing changed), an unmapped hole of the reserved range, and a
 *      mapping past its VMO's end (INVALID_ARGS);
 *   5. forbidden accesses kill the program with SIGSEGV (checked in forked children): a write to
 *      a read-only mapping, a read past the VMO's end, a write after zx_vmar_protect lowered the
 *      mapping to read-only, an access to an unmapped hole of the reserved range, and an
 *      ordinary NULL dereference (chained to the default action); the parent's memory is
 *      unchanged and keeps working;
 *   6. four threads hammering one VMO through two mappings (interleaved bytes and pages, own
 *      read-back, some zx_vmo_write), compared with a model; then a snapshot and a second round:
 *      the snapshot keeps round one, the VMO shows round two;
 *   7. a 1 GiB mapping written once per page (even pages, then odd ones, so that no host
 *      mappings can merge), read back through zx_vmo_read and the pointer, committed_bytes ==
 *      1 GiB, then closed and unmapped; the program must not run out of host mappings. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mapping.h"

#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define RO ZX_VM_PERM_READ
#define SNAP ZX_VMO_CHILD_SNAPSHOT

/* ---- Helpers ---- */

/* Maps `len` bytes of `vmo` at `offset` into the calling program; NULL if zx_vmar_map failed
 * (which is a check failure). */
#define map_self(vmo, offset, len, perms) \
    ((uint8_t*)map_ok(zx_vmar_root_self(), (perms), 0, (vmo), (offset), (len)))

static void unmap_self(const volatile void* p, size_t len) {
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)(uintptr_t)p, len), ZX_OK);
}

/* 1 if `len` bytes at `p` all equal `byte`. */
static int mem_is(const volatile uint8_t* p, size_t len, uint8_t byte) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != byte) return 0;
    return 1;
}

/* 1 if `len` bytes of the VMO at `offset` equal `want`. */
static int vmo_equals(zx_handle_t h, uint64_t offset, const uint8_t* want, size_t len) {
    static uint8_t got[4 * 4096];
    if (len > sizeof got) return 0;
    memset(got, 0x5A, len);
    if (zx_vmo_read(h, got, offset, len) != ZX_OK) return 0;
    return memcmp(got, want, len) == 0;
}

static zx_handle_t clone_cow(zx_handle_t parent, uint64_t size) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_clone(parent, ZX_VMO_CLONE_COPY_ON_WRITE, 0, size, &h), ZX_OK);
    return h;
}

static void close_all(const zx_handle_t* h, size_t n) {
    for (size_t i = 0; i < n; i++) CHECK_STATUS(zx_handle_close(h[i]), ZX_OK);
}

/* ---- 1. Snapshots through pointers ---- */

static void test_snapshot_writes_stay_private(void) {
    zx_handle_t p = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(p, 0, 2 * PAGE, 0x11), ZX_OK);
    uint8_t* pp = map_self(p, 0, 2 * PAGE, RW);
    zx_handle_t s = snap(p, 2 * PAGE);
    uint8_t* sp = map_self(s, 0, 2 * PAGE, RW);
    if (!pp || !sp) return;
    /* Both read the shared pages first (read translations of the same frames). */
    CHECK(mem_is(pp, 2 * PAGE, 0x11));
    CHECK(mem_is(sp, 2 * PAGE, 0x11));

    /* The parent writes through its pointer: the snapshot keeps the old bytes. */
    pp[10] = 0x22;
    memset(pp + PAGE + 5, 0x23, 3);
    CHECK_EQ(pp[10], 0x22);
    CHECK_EQ(pp[PAGE + 6], 0x23);
    CHECK_EQ(sp[10], 0x11);
    CHECK_EQ(sp[PAGE + 6], 0x11);
    CHECK(mem_is(sp, 2 * PAGE, 0x11));
    CHECK(vmo_bytes_are(s, 0, 2 * PAGE, 0x11));
    CHECK_EQ(vmo_byte(p, 10), 0x22);
    CHECK_EQ(vmo_byte(p, 11), 0x11);
    CHECK_EQ(vmo_byte(p, PAGE + 7), 0x23);
    CHECK_EQ(vmo_byte(p, PAGE + 8), 0x11);

    /* The snapshot writes through its pointer: the parent is unaffected. */
    sp[20] = 0x33;
    sp[PAGE + 6] = 0x34;
    CHECK_EQ(sp[20], 0x33);
    CHECK_EQ(sp[PAGE + 6], 0x34);
    CHECK_EQ(pp[20], 0x11);
    CHECK_EQ(pp[PAGE + 6], 0x23);
    CHECK_EQ(pp[10], 0x22);
    CHECK_EQ(sp[10], 0x11);
    CHECK_EQ(vmo_byte(p, 20), 0x11);
    CHECK_EQ(vmo_byte(s, 20), 0x33);
    CHECK_EQ(vmo_byte(s, PAGE + 6), 0x34);
    /* Two frames each (section 4's example). */
    CHECK_EQ(committed_of(p), 2 * PAGE);
    CHECK_EQ(committed_of(s), 2 * PAGE);
    /* zx_vmo_write to either side shows in its own pointer only. */
    CHECK_STATUS(vmo_fill(p, 30, 1, 0x44), ZX_OK);
    CHECK_STATUS(vmo_fill(s, 31, 1, 0x45), ZX_OK);
    CHECK_EQ(pp[30], 0x44);
    CHECK_EQ(sp[30], 0x11);
    CHECK_EQ(sp[31], 0x45);
    CHECK_EQ(pp[31], 0x11);
    CHECK_EQ(vmo_info(p).num_mappings, 1);
    CHECK_EQ(vmo_info(s).num_mappings, 1);

    /* Written before the snapshot was mapped at all: a write through the parent before the
     * snapshot's first read. */
    zx_handle_t q = make(PAGE, 0);
    uint8_t* qp = map_self(q, 0, PAGE, RW);
    if (qp) {
        memset(qp, 0x61, PAGE);
        zx_handle_t qs = snap(q, PAGE);
        qp[0] = 0x62;
        uint8_t* qsp = map_self(qs, 0, PAGE, RW);
        if (qsp) {
            CHECK(mem_is(qsp, PAGE, 0x61));
            CHECK_EQ(qp[0], 0x62);
            CHECK(mem_is(qp + 1, PAGE - 1, 0x61));
            unmap_self(qsp, PAGE);
        }
        CHECK(vmo_bytes_are(qs, 0, PAGE, 0x61));
        unmap_self(qp, PAGE);
        CHECK_STATUS(zx_handle_close(qs), ZX_OK);
    }
    CHECK_STATUS(zx_handle_close(q), ZX_OK);

    unmap_self(sp, 2 * PAGE);
    unmap_self(pp, 2 * PAGE);
    CHECK_EQ(vmo_info(p).num_mappings, 0);
    CHECK_EQ(vmo_info(s).num_mappings, 0);
    zx_handle_t all[] = {s, p};
    close_all(all, 2);
}

static void test_snapshot_of_written_mapping(void) {
    zx_handle_t q = make(3 * PAGE, 0);
    uint8_t* qp = map_self(q, 0, 3 * PAGE, RW);
    if (!qp) return;
    /* Written through the pointer: the mapping holds writable translations now. */
    memset(qp, 0x41, 3 * PAGE);
    CHECK(vmo_bytes_are(q, 0, 3 * PAGE, 0x41));
    CHECK_EQ(committed_of(q), 3 * PAGE);

    zx_handle_t s = snap(q, 3 * PAGE);
    /* The snapshot must have taken write access away: these writes copy. */
    qp[0] = 0x42;
    qp[PAGE + 1] = 0x43;
    CHECK_EQ(vmo_byte(s, 0), 0x41);
    CHECK_EQ(vmo_byte(s, PAGE + 1), 0x41);
    CHECK(vmo_bytes_are(s, 0, 3 * PAGE, 0x41));
    CHECK_EQ(vmo_byte(q, 0), 0x42);
    CHECK_EQ(vmo_byte(q, PAGE + 1), 0x43);
    CHECK_EQ(vmo_byte(q, 2 * PAGE), 0x41);
    CHECK_EQ(qp[0], 0x42);
    CHECK_EQ(qp[1], 0x41);
    CHECK_EQ(qp[PAGE + 1], 0x43);
    /* Page 2 was not written: still shared (Q pays for it, being the oldest). */
    CHECK_EQ(committed_of(q), 3 * PAGE);
    CHECK_EQ(committed_of(s), 2 * PAGE);

    uint8_t* sp = map_self(s, 0, 3 * PAGE, RW);
    if (!sp) return;
    CHECK(mem_is(sp, 3 * PAGE, 0x41));
    /* The snapshot writes through its pointer (also the still shared page 2). */
    sp[100] = 0x51;
    sp[2 * PAGE + 100] = 0x52;
    CHECK_EQ(qp[100], 0x41);
    CHECK_EQ(qp[2 * PAGE + 100], 0x41);
    CHECK_EQ(vmo_byte(q, 2 * PAGE + 100), 0x41);
    CHECK_EQ(vmo_byte(s, 2 * PAGE + 100), 0x52);
    CHECK_EQ(committed_of(q) + committed_of(s), 6 * PAGE);

    /* A snapshot of the snapshot, taken while the snapshot's mapping is writable: the next write
     * through the snapshot's pointer does not show in it. */
    zx_handle_t ss = snap(s, 3 * PAGE);
    sp[100] = 0x53;
    sp[PAGE] = 0x54;
    sp[2 * PAGE + 100] = 0x55;
    CHECK_EQ(vmo_byte(ss, 100), 0x51);
    CHECK_EQ(vmo_byte(ss, PAGE), 0x41);
    CHECK_EQ(vmo_byte(ss, 2 * PAGE + 100), 0x52);
    CHECK_EQ(vmo_byte(s, 100), 0x53);
    CHECK_EQ(vmo_byte(s, PAGE), 0x54);
    CHECK_EQ(vmo_byte(s, 2 * PAGE + 100), 0x55);
    CHECK_EQ(vmo_byte(q, 100), 0x41);
    CHECK_EQ(vmo_byte(q, PAGE), 0x41);
    uint8_t* ssp = map_self(ss, 0, 3 * PAGE, RW);
    if (ssp) {
        CHECK_EQ(ssp[100], 0x51);
        CHECK_EQ(ssp[PAGE], 0x41);
        CHECK_EQ(ssp[PAGE + 1], 0x41); /* the grandparent's write came after S was taken */
        CHECK_EQ(ssp[2 * PAGE + 100], 0x52);
        CHECK_EQ(ssp[0], 0x41);
        /* The grandchild writes: neither ancestor sees it. */
        ssp[200] = 0x56;
        ssp[2 * PAGE + 200] = 0x57;
        CHECK_EQ(sp[200], 0x41);
        CHECK_EQ(qp[200], 0x41);
        CHECK_EQ(sp[2 * PAGE + 200], 0x41);
        CHECK_EQ(qp[2 * PAGE + 200], 0x41);
        CHECK_EQ(vmo_byte(ss, 200), 0x56);
        CHECK_EQ(vmo_byte(ss, 2 * PAGE + 200), 0x57);
        /* The parent writing again after everything: only the parent sees it. */
        qp[300] = 0x58;
        CHECK_EQ(sp[300], 0x41);
        CHECK_EQ(ssp[300], 0x41);
        unmap_self(ssp, 3 * PAGE);
    }
    unmap_self(sp, 3 * PAGE);
    unmap_self(qp, 3 * PAGE);
    zx_handle_t all[] = {ss, s, q};
    close_all(all, 3);
}

/* The 4-VMO tree, written through pointers in all 24 orders. */
#define NV 4
enum { VP = 0, VA = 1, VB = 2, VAA = 3 };
static const char* const NAME[NV] = {"P", "A", "B", "AA"};
static const uint8_t WRITE_BYTE[NV] = {0xA1, 0xB2, 0xC3, 0xD4};
#define WRITE_OFF 1000u
#define WRITE_LEN 8u
#define TREE_SIZE (2 * PAGE)

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7u + 3u + (i >> 12) * 91u); }

static void expected_view(uint8_t* out, int v, const int written[NV]) {
    for (size_t i = 0; i < TREE_SIZE; i++) out[i] = pattern(i);
    if (written[v]) memset(out + WRITE_OFF, WRITE_BYTE[v], WRITE_LEN);
}

static void check_tree(const zx_handle_t vmo[NV], uint8_t* const ptr[NV], const int written[NV],
                       const char* ctx) {
    static uint8_t want[TREE_SIZE];
    int writes = 0, any_original = 0;
    for (int v = 0; v < NV; v++) {
        writes += written[v];
        any_original |= !written[v];
    }
    for (int v = 0; v < NV; v++) {
        expected_view(want, v, written);
        int ok = CHECK(memcmp(ptr[v], want, PAGE) == 0);
        ok &= CHECK(memcmp(ptr[v] + PAGE, want + PAGE, PAGE) == 0);
        ok &= CHECK(vmo_equals(vmo[v], 0, want, PAGE));
        ok &= CHECK(vmo_equals(vmo[v], PAGE, want + PAGE, PAGE));
        ok &= CHECK_EQ(populated_of(vmo[v]), TREE_SIZE);
        if (!ok) fprintf(stderr, "    (%s, VMO %s)\n", ctx, NAME[v]);
    }
    uint64_t sum = 0;
    for (int v = 0; v < NV; v++) sum += committed_of(vmo[v]);
    if (!CHECK_EQ(sum, (uint64_t)(1 + writes + any_original) * PAGE))
        fprintf(stderr, "    (%s: committed P %" PRIu64 " A %" PRIu64 " B %" PRIu64 " AA %" PRIu64
                        ")\n",
                ctx, committed_of(vmo[VP]), committed_of(vmo[VA]), committed_of(vmo[VB]),
                committed_of(vmo[VAA]));
}

static void run_order(const int order[NV], int read_first) {
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s, order %s %s %s %s", read_first ? "read first" : "no read",
             NAME[order[0]], NAME[order[1]], NAME[order[2]], NAME[order[3]]);
    static uint8_t buf[TREE_SIZE];
    for (size_t i = 0; i < TREE_SIZE; i++) buf[i] = pattern(i);
    zx_handle_t vmo[NV];
    uint8_t* ptr[NV];
    vmo[VP] = make(TREE_SIZE, 0);
    /* The parent's content is written through its own pointer when mapped first. */
    ptr[VP] = map_self(vmo[VP], 0, TREE_SIZE, RW);
    if (!ptr[VP]) return;
    memcpy(ptr[VP], buf, TREE_SIZE);
    vmo[VA] = snap(vmo[VP], TREE_SIZE);
    vmo[VB] = snap(vmo[VP], TREE_SIZE);
    vmo[VAA] = snap(vmo[VA], TREE_SIZE);
    for (int v = 1; v < NV; v++) {
        ptr[v] = map_self(vmo[v], 0, TREE_SIZE, RW);
        if (!ptr[v]) {
            fprintf(stderr, "    (%s: tree not mapped)\n", ctx);
            return;
        }
    }
    int written[NV] = {0, 0, 0, 0};
    if (read_first) check_tree(vmo, ptr, written, ctx);
    for (int step = 0; step < NV; step++) {
        int w = order[step];
        memset(ptr[w] + WRITE_OFF, WRITE_BYTE[w], WRITE_LEN);
        written[w] = 1;
        char step_ctx[128];
        snprintf(step_ctx, sizeof step_ctx, "%s, after %s wrote", ctx, NAME[w]);
        check_tree(vmo, ptr, written, step_ctx);
    }
    for (int v = 0; v < NV; v++) unmap_self(ptr[v], TREE_SIZE);
    for (int v = 0; v < NV; v++) CHECK_EQ(vmo_info(vmo[v]).num_mappings, 0);
    for (int v = NV - 1; v >= 0; v--) CHECK_STATUS(zx_handle_close(vmo[v]), ZX_OK);
}

static void test_all_orders(void) {
    int orders = 0;
    for (int a = 0; a < NV; a++)
        for (int b = 0; b < NV; b++)
            for (int c = 0; c < NV; c++)
                for (int d = 0; d < NV; d++) {
                    if (a == b || a == c || a == d || b == c || b == d || c == d) continue;
                    int order[NV] = {a, b, c, d};
                    run_order(order, 1);
                    run_order(order, 0);
                    orders++;
                }
    CHECK_EQ(orders, 24);
}

/* ---- 2. DECOMMIT, ZERO, shrink and grow while mapped ---- */

static void test_decommit_zero_resize(void) {
    zx_handle_t v = make(3 * PAGE, 0);
    uint8_t* vp = map_self(v, 0, 3 * PAGE, RW);
    if (!vp) return;
    memset(vp, 0x5C, 3 * PAGE);
    CHECK(vmo_bytes_are(v, 0, 3 * PAGE, 0x5C));
    CHECK_EQ(committed_of(v), 3 * PAGE);

    /* DECOMMIT of page 1: the pointer reads zeros there, the rest is untouched. */
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_DECOMMIT, PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(v), 2 * PAGE);
    CHECK(mem_is(vp, PAGE, 0x5C));
    CHECK(mem_is(vp + PAGE, PAGE, 0));
    CHECK(mem_is(vp + 2 * PAGE, PAGE, 0x5C));
    CHECK_EQ(committed_of(v), 2 * PAGE); /* reading does not commit */
    /* Writing again commits a fresh page. */
    vp[PAGE + 5] = 0x5D;
    CHECK_EQ(committed_of(v), 3 * PAGE);
    CHECK_EQ(vmo_byte(v, PAGE + 5), 0x5D);
    CHECK_EQ(vmo_byte(v, PAGE + 4), 0);
    CHECK_EQ(vp[PAGE + 4], 0);

    /* DECOMMIT of everything. */
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 0, 3 * PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(v), 0);
    CHECK(mem_is(vp, 3 * PAGE, 0));
    vp[2 * PAGE + 9] = 0x5F;
    CHECK_EQ(vmo_byte(v, 2 * PAGE + 9), 0x5F);
    CHECK_EQ(committed_of(v), PAGE);

    /* ZERO (byte exact): the pointer sees it at once, also where it held writable pages. */
    memset(vp, 0x5E, 3 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_ZERO, PAGE - 10, PAGE + 20, NULL, 0), ZX_OK);
    CHECK(mem_is(vp, PAGE - 10, 0x5E));
    CHECK(mem_is(vp + PAGE - 10, PAGE + 20, 0));
    CHECK(mem_is(vp + 2 * PAGE + 10, PAGE - 10, 0x5E));
    CHECK(vmo_bytes_are(v, PAGE - 10, PAGE + 20, 0));
    /* And a write through the pointer afterwards lands in the VMO. */
    vp[PAGE + 1] = 0x60;
    CHECK_EQ(vmo_byte(v, PAGE + 1), 0x60);
    unmap_self(vp, 3 * PAGE);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);

    /* Shrink then grow a resizable mapped VMO (never touching pages past the end meanwhile). */
    zx_handle_t r = make(3 * PAGE, ZX_VMO_RESIZABLE);
    uint8_t* rp = map_self(r, 0, 3 * PAGE, RW);
    if (!rp) return;
    memset(rp, 0x7A, 3 * PAGE);
    CHECK_EQ(committed_of(r), 3 * PAGE);
    CHECK_STATUS(zx_vmo_set_size(r, PAGE), ZX_OK);
    CHECK_EQ(committed_of(r), PAGE);
    CHECK_EQ(vmo_info(r).num_mappings, 1);
    CHECK(mem_is(rp, PAGE, 0x7A));
    rp[PAGE - 1] = 0x7C;
    CHECK_EQ(vmo_byte(r, PAGE - 1), 0x7C);
    CHECK_STATUS(zx_vmo_set_size(r, 3 * PAGE), ZX_OK);
    CHECK(mem_is(rp, PAGE - 1, 0x7A));
    CHECK_EQ(rp[PAGE - 1], 0x7C);
    CHECK(mem_is(rp + PAGE, 2 * PAGE, 0));
    CHECK(vmo_bytes_are(r, PAGE, 2 * PAGE, 0));
    rp[2 * PAGE] = 0x7D;
    CHECK_EQ(vmo_byte(r, 2 * PAGE), 0x7D);
    CHECK_EQ(committed_of(r), 2 * PAGE);

    /* Shrink to 0 and grow: everything reads zeros. */
    CHECK_STATUS(zx_vmo_set_size(r, 0), ZX_OK);
    CHECK_EQ(committed_of(r), 0);
    CHECK_STATUS(zx_vmo_set_size(r, 3 * PAGE), ZX_OK);
    CHECK(mem_is(rp, 3 * PAGE, 0));
    rp[0] = 0x7E;
    CHECK_EQ(vmo_byte(r, 0), 0x7E);

    /* A mapped resizable snapshot shrunk and grown shows zeros, not the parent's bytes. */
    zx_handle_t c = make_child(r, SNAP | ZX_VMO_CHILD_RESIZABLE, 0, 3 * PAGE);
    uint8_t* cp = map_self(c, 0, 3 * PAGE, RW);
    if (cp) {
        memset(rp, 0x7F, 3 * PAGE); /* the parent writes after the snapshot */
        CHECK_EQ(cp[0], 0x7E);
        CHECK(mem_is(cp + 1, 3 * PAGE - 1, 0));
        CHECK_STATUS(vmo_fill(r, 0, 3 * PAGE, 0x80), ZX_OK);
        CHECK_STATUS(zx_vmo_set_size(c, PAGE), ZX_OK);
        CHECK_EQ(cp[0], 0x7E);
        CHECK_STATUS(zx_vmo_set_size(c, 3 * PAGE), ZX_OK);
        CHECK(mem_is(cp + PAGE, 2 * PAGE, 0));
        CHECK(mem_is(rp, 3 * PAGE, 0x80));
        unmap_self(cp, 3 * PAGE);
    }
    unmap_self(rp, 3 * PAGE);
    zx_handle_t all[] = {c, r};
    close_all(all, 2);
}

/* ---- 3. A legacy one-way clone's mapping ---- */

static void test_legacy_clone(void) {
    zx_handle_t p = make(3 * PAGE, 0);
    CHECK_STATUS(vmo_fill(p, 0, 2 * PAGE, 0x10), ZX_OK); /* page 2 stays uncommitted */
    uint8_t* pp = map_self(p, 0, 3 * PAGE, RW);
    zx_handle_t c = clone_cow(p, 3 * PAGE);
    uint8_t* cp = map_self(c, 0, 3 * PAGE, RW);
    if (!pp || !cp) return;
    /* The clone reads first: its mapping holds translations of the parent's pages. */
    CHECK(mem_is(cp, 2 * PAGE, 0x10));
    CHECK(mem_is(cp + 2 * PAGE, PAGE, 0));

    /* The parent writes through its pointer: the clone shows it (pages it has not written). */
    pp[5] = 0x20;
    pp[2 * PAGE + 5] = 0x22; /* a page the parent had not committed */
    CHECK_EQ(cp[5], 0x20);
    CHECK_EQ(cp[2 * PAGE + 5], 0x22);
    CHECK_EQ(vmo_byte(c, 5), 0x20);
    CHECK_EQ(vmo_byte(c, 2 * PAGE + 5), 0x22);
    /* ... and through zx_vmo_write. */
    CHECK_STATUS(vmo_fill(p, PAGE + 3, 1, 0x21), ZX_OK);
    CHECK_STATUS(vmo_fill(p, 6, 1, 0x23), ZX_OK);
    CHECK_EQ(cp[PAGE + 3], 0x21);
    CHECK_EQ(cp[6], 0x23);
    CHECK_EQ(vmo_byte(c, PAGE + 3), 0x21);
    CHECK_EQ(committed_of(c), 0);

    /* The clone writes page 0 through its pointer: a private copy of what it saw. */
    cp[7] = 0x30;
    CHECK_EQ(cp[7], 0x30);
    CHECK_EQ(cp[5], 0x20);
    CHECK_EQ(cp[6], 0x23);
    CHECK_EQ(pp[7], 0x10);
    CHECK_EQ(vmo_byte(p, 7), 0x10);
    CHECK_EQ(committed_of(c), PAGE);
    /* From now on the parent's writes to page 0 no longer show there ... */
    pp[5] = 0x40;
    CHECK_STATUS(vmo_fill(p, 6, 1, 0x41), ZX_OK);
    CHECK_EQ(cp[5], 0x20);
    CHECK_EQ(cp[6], 0x23);
    CHECK_EQ(vmo_byte(c, 5), 0x20);
    CHECK_EQ(vmo_byte(c, 6), 0x23);
    CHECK_EQ(pp[5], 0x40);
    CHECK_EQ(pp[6], 0x41);
    /* ... but still on pages 1 and 2, which the clone has not written. */
    pp[PAGE + 3] = 0x42;
    CHECK_STATUS(vmo_fill(p, 2 * PAGE + 5, 1, 0x43), ZX_OK);
    CHECK_EQ(cp[PAGE + 3], 0x42);
    CHECK_EQ(cp[2 * PAGE + 5], 0x43);
    /* The clone writes page 2 with zx_vmo_write: that page stops following too. */
    CHECK_STATUS(vmo_fill(c, 2 * PAGE + 100, 1, 0x50), ZX_OK);
    pp[2 * PAGE + 5] = 0x44;
    CHECK_EQ(cp[2 * PAGE + 5], 0x43);
    CHECK_EQ(cp[2 * PAGE + 100], 0x50);
    CHECK_EQ(pp[2 * PAGE + 100], 0);
    /* DECOMMIT on the clone drops its own page: the parent's shows again (section 5). */
    CHECK_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(cp[5], 0x40);
    CHECK_EQ(cp[6], 0x41);
    CHECK_EQ(cp[7], 0x10);
    pp[8] = 0x45;
    CHECK_EQ(cp[8], 0x45);

    unmap_self(cp, 3 * PAGE);
    unmap_self(pp, 3 * PAGE);
    zx_handle_t all[] = {c, p};
    close_all(all, 2);
}

/* ---- 4. Kernel calls with buffers inside mappings ---- */

static void test_kernel_buffers(void) {
    zx_info_vmar_t root = root_vmar_info();
    uint8_t src[2 * 4096];
    for (size_t i = 0; i < sizeof src; i++) src[i] = pattern(i);

    zx_handle_t v = make(2 * PAGE, 0);
    CHECK_STATUS(zx_vmo_write(v, src, 0, 2 * PAGE), ZX_OK);
    uint8_t* vp = map_self(v, 0, 2 * PAGE, RW);
    if (!vp) return;
    CHECK((uintptr_t)vp >= root.base && (uintptr_t)vp + 2 * PAGE <= root.base + root.len);

    /* zx_vmo_read of a VMO into its own mapping (page 0 into page 1). */
    CHECK_STATUS(zx_vmo_read(v, vp + PAGE + 16, 0, 100), ZX_OK);
    CHECK(memcmp(vp + PAGE + 16, src, 100) == 0);
    CHECK(memcmp(vp + PAGE, src + PAGE, 16) == 0);
    CHECK(memcmp(vp + PAGE + 116, src + PAGE + 116, PAGE - 116) == 0);
    CHECK(vmo_equals(v, PAGE + 16, src, 100));
    /* Overlapping source and destination in the same VMO (the kernel copy is bounced). */
    CHECK_STATUS(zx_vmo_read(v, vp + 10, 0, 200), ZX_OK);
    CHECK(memcmp(vp + 10, src, 200) == 0);
    CHECK(memcmp(vp, src, 10) == 0);
    /* zx_vmo_write from the VMO's own mapping into itself. */
    CHECK_STATUS(zx_vmo_write(v, vp + PAGE + 16, 2 * PAGE - 50, 50), ZX_OK);
    CHECK(memcmp(vp + 2 * PAGE - 50, src, 50) == 0);
    memcpy(vp, src, 2 * PAGE); /* back to the pattern */
    CHECK(vmo_equals(v, 0, src, 2 * PAGE));

    /* Siblings: A and B snapshots of V; zx_vmo_read(B) into A's mapping copies A's page. */
    zx_handle_t a = snap(v, 2 * PAGE), b = snap(v, 2 * PAGE);
    uint8_t* ap = map_self(a, 0, 2 * PAGE, RW);
    if (ap) {
        CHECK(memcmp(ap, src, 2 * PAGE) == 0);
        CHECK_STATUS(vmo_fill(b, 0, 64, 0xB0), ZX_OK);
        CHECK_STATUS(zx_vmo_read(b, ap + 8, 0, 64), ZX_OK);
        CHECK(mem_is(ap + 8, 64, 0xB0));
        CHECK(memcmp(ap, src, 8) == 0);
        CHECK(vmo_bytes_are(a, 8, 64, 0xB0));
        CHECK(vmo_equals(v, 0, src, 2 * PAGE));
        CHECK(memcmp(vp, src, 2 * PAGE) == 0);
        CHECK_EQ(vmo_byte(b, 100), pattern(100));
        /* zx_vmo_write from A's mapping into V: V and V's pointer change, A and B do not. */
        CHECK_STATUS(zx_vmo_write(v, ap + 8, PAGE, 64), ZX_OK);
        CHECK(mem_is(vp + PAGE, 64, 0xB0));
        CHECK_EQ(vmo_byte(b, PAGE), pattern(PAGE));
        CHECK_EQ(ap[PAGE], pattern(PAGE));
        /* A buffer spanning A's mapping and the next page of it (two pages, one call). */
        CHECK_STATUS(zx_vmo_read(b, ap + PAGE - 32, 0, 64), ZX_OK);
        CHECK(mem_is(ap + PAGE - 32, 32, 0xB0));
        CHECK(mem_is(ap + PAGE, 32, 0xB0));
        unmap_self(ap, 2 * PAGE);
    }

    /* Out-pointers in mapped memory: zx_object_get_info, zx_vmo_get_size, zx_vmo_create. */
    zx_handle_t w = make(PAGE, 0);
    uint8_t* wp = map_self(w, 0, PAGE, RW);
    if (wp) {
        memset(wp, 0xEE, PAGE);
        zx_info_vmo_t* info = (zx_info_vmo_t*)(void*)(wp + 64);
        size_t* actual = (size_t*)(void*)(wp + 1024);
        size_t* avail = (size_t*)(void*)(wp + 1032);
        CHECK_STATUS(zx_object_get_info(v, ZX_INFO_VMO, info, sizeof *info, actual, avail), ZX_OK);
        CHECK_EQ(info->koid, koid_of(v));
        CHECK_EQ(info->size_bytes, 2 * PAGE);
        CHECK_EQ(info->num_children, 2);
        CHECK_EQ(info->num_mappings, 1);
        CHECK_EQ(*actual, 1);
        CHECK_EQ(*avail, 1);
        CHECK(mem_is(wp, 64, 0xEE));
        zx_info_handle_basic_t* basic = (zx_info_handle_basic_t*)(void*)(wp + 2048);
        CHECK_STATUS(zx_object_get_info(w, ZX_INFO_HANDLE_BASIC, basic, sizeof *basic, NULL, NULL),
                     ZX_OK);
        CHECK_EQ(basic->koid, koid_of(w));
        CHECK_EQ(basic->type, ZX_OBJ_TYPE_VMO);
        uint64_t* size = (uint64_t*)(void*)(wp + 3000);
        CHECK_STATUS(zx_vmo_get_size(v, size), ZX_OK);
        CHECK_EQ(*size, 2 * PAGE);
        zx_handle_t* out = (zx_handle_t*)(void*)(wp + 3100);
        *out = ZX_HANDLE_INVALID;
        CHECK_STATUS(zx_vmo_create(PAGE, 0, out), ZX_OK);
        CHECK(*out != ZX_HANDLE_INVALID);
        CHECK_EQ(size_of_vmo(*out), PAGE);
        CHECK_STATUS(zx_handle_close(*out), ZX_OK);
        CHECK(vmo_bytes_are(w, 0, 64, 0xEE));
        CHECK_EQ(vmo_byte(w, 3000), (uint8_t)(2 * PAGE));
        unmap_self(wp, PAGE);
    }

    /* A read-only mapping as a destination: INVALID_ARGS, nothing changed. */
    uint8_t* ro = map_self(v, 0, 2 * PAGE, RO);
    if (ro) {
        CHECK(memcmp(ro, vp, 2 * PAGE) == 0);
        uint8_t before[2 * 4096];
        memcpy(before, ro, sizeof before);
        CHECK_STATUS(vmo_fill(b, 0, PAGE, 0xB1), ZX_OK);
        CHECK_STATUS(zx_vmo_read(b, ro + 100, 0, 10), ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmo_read(v, ro, PAGE, PAGE), ZX_ERR_INVALID_ARGS);
        size_t got = 0;
        CHECK_STATUS(zx_object_get_info(v, ZX_INFO_VMO, ro, sizeof(zx_info_vmo_t), &got, NULL),
                     ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmo_get_size(v, (uint64_t*)(void*)(ro + 8)), ZX_ERR_INVALID_ARGS);
        zx_handle_t* out = (zx_handle_t*)(void*)(ro + 16);
        CHECK_STATUS(zx_vmo_create(PAGE, 0, out), ZX_ERR_INVALID_ARGS);
        CHECK(memcmp(ro, before, sizeof before) == 0);
        CHECK(vmo_equals(v, 0, before, 2 * PAGE));
        CHECK(vmo_bytes_are(b, 0, PAGE, 0xB1));
        /* A buffer half in a writable mapping, half in a read-only one right after it is
         * refused whole: map two pages RW, unmap the second, map V read-only there. */
        zx_handle_t x = make(PAGE, 0);
        uint8_t* xp = map_self(x, 0, 2 * PAGE, RW);
        zx_vaddr_t ro_next = 0;
        if (xp) {
            memset(xp, 0x12, PAGE);
            unmap_self(xp + PAGE, PAGE);
            CHECK_STATUS(zx_vmar_map(zx_vmar_root_self(), RO | ZX_VM_SPECIFIC,
                                     (size_t)((uintptr_t)xp + PAGE - root.base), v, 0, PAGE,
                                     &ro_next),
                         ZX_OK);
            CHECK_EQ(ro_next, (zx_vaddr_t)(uintptr_t)xp + PAGE);
            if (ro_next == (zx_vaddr_t)(uintptr_t)xp + PAGE) {
                CHECK_STATUS(zx_vmo_read(b, xp + PAGE - 8, 0, 16), ZX_ERR_INVALID_ARGS);
                CHECK(mem_is(xp, PAGE, 0x12));
                CHECK(memcmp(xp + PAGE, before, PAGE) == 0);
                /* Reading from it (zx_vmo_write's source) is allowed. */
                CHECK_STATUS(zx_vmo_write(x, xp + PAGE - 8, 0, 16), ZX_OK);
                CHECK(mem_is(xp, 8, 0x12));
                CHECK(memcmp(xp + 8, before, 8) == 0);
                unmap_self((void*)(uintptr_t)ro_next, PAGE);
            }
            unmap_self(xp, PAGE);
        }
        CHECK_STATUS(zx_handle_close(x), ZX_OK);
        /* zx_vmo_write may read from a read-only mapping. */
        CHECK_STATUS(zx_vmo_write(b, ro + 100, 0, 10), ZX_OK);
        CHECK(vmo_equals(b, 0, before + 100, 10));
        unmap_self(ro, 2 * PAGE);
    }

    /* A hole of the reserved range (mapped, then unmapped): INVALID_ARGS both ways. */
    zx_handle_t h = make(4 * PAGE, 0);
    uint8_t* hole = map_self(h, 0, 4 * PAGE, RW);
    if (hole) {
        unmap_self(hole, 4 * PAGE);
        CHECK((uintptr_t)hole >= root.base && (uintptr_t)hole + 4 * PAGE <= root.base + root.len);
        uint8_t before[2 * 4096];
        CHECK_STATUS(zx_vmo_read(v, before, 0, sizeof before), ZX_OK);
        CHECK_STATUS(zx_vmo_read(v, hole, 0, 10), ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmo_write(v, hole + PAGE, 0, 10), ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmo_get_size(v, (uint64_t*)(void*)hole), ZX_ERR_INVALID_ARGS);
        CHECK(vmo_equals(v, 0, before, sizeof before));
        /* Half mapped: the first page mapped again (specific), the buffer runs into the hole. */
        zx_vaddr_t again = 0;
        CHECK_STATUS(zx_vmar_map(zx_vmar_root_self(), RW | ZX_VM_SPECIFIC,
                                 (size_t)((uintptr_t)hole - root.base), h, 0, PAGE, &again),
                     ZX_OK);
        CHECK_EQ(again, (zx_vaddr_t)(uintptr_t)hole);
        if (again == (zx_vaddr_t)(uintptr_t)hole) {
            memset(hole, 0x13, PAGE);
            CHECK_STATUS(zx_vmo_read(v, hole + PAGE - 10, 0, 20), ZX_ERR_INVALID_ARGS);
            CHECK_STATUS(zx_vmo_write(v, hole + PAGE - 10, 0, 20), ZX_ERR_INVALID_ARGS);
            CHECK(mem_is(hole, PAGE, 0x13));
            CHECK(vmo_equals(v, 0, before, sizeof before));
            unmap_self(hole, PAGE);
        }
    }
    CHECK_STATUS(zx_handle_close(h), ZX_OK);

    /* A buffer in the part of a mapping past its VMO's end: INVALID_ARGS, nothing changed. */
    zx_handle_t small = make(PAGE, 0);
    uint8_t* sp = map_self(small, 0, 2 * PAGE, RW);
    if (sp) {
        sp[0] = 0x14;
        CHECK_STATUS(zx_vmo_read(v, sp + PAGE, 0, 10), ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmo_read(v, sp + PAGE - 5, 0, 10), ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmo_write(v, sp + PAGE - 5, 0, 10), ZX_ERR_INVALID_ARGS);
        CHECK_EQ(sp[0], 0x14);
        CHECK(mem_is(sp + 1, PAGE - 1, 0));
        unmap_self(sp, 2 * PAGE);
    }
    CHECK_STATUS(zx_handle_close(small), ZX_OK);

    unmap_self(vp, 2 * PAGE);
    zx_handle_t all[] = {b, a, w, v};
    close_all(all, 4);
}

/* ---- 5. Forbidden accesses kill the program (forked children) ---- */

static volatile uintptr_t zero_address; /* 0, read at run time so the compiler cannot see it */

struct poke {
    volatile uint8_t* at;
    int write;
    zx_handle_t map_vmo; /* if not invalid: the child maps it read-only and writes there */
};

static void child_poke(const struct poke* p) {
    volatile uint8_t* at = p->at;
    if (p->map_vmo != ZX_HANDLE_INVALID) {
        zx_vaddr_t addr = 0;
        if (zx_vmar_map(zx_vmar_root_self(), RO, 0, p->map_vmo, 0, PAGE, &addr) != ZX_OK)
            _exit(70);
        at = (volatile uint8_t*)(uintptr_t)addr;
        if (at[0] != 0x11) _exit(71); /* reading is allowed */
    }
    if (p->write)
        at[0] = 0x99;
    else
        (void)at[0];
}

/* Runs `p` in a forked child; checks that the child died of SIGSEGV. */
static void dies_of_segv(const char* what, const struct poke* p) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (!CHECK(pid >= 0)) return;
    if (pid == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none); /* no core files for the expected deaths */
        child_poke(p);
        _exit(72); /* survived: the access was allowed */
    }
    int status = 0;
    pid_t got;
    do got = waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    int ok = CHECK_EQ(got, pid);
    ok &= CHECK(WIFSIGNALED(status));
    ok &= CHECK_EQ(WIFSIGNALED(status) ? WTERMSIG(status) : -1, SIGSEGV);
    if (!ok)
        fprintf(stderr, "    (%s: child %s %d)\n", what,
                WIFEXITED(status) ? "exited with status" : "killed by signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void test_forbidden_accesses(void) {
    zx_info_vmar_t root = root_vmar_info();
    zx_handle_t v = make(PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, PAGE, 0x11), ZX_OK);

    /* The child maps read-only and writes through the pointer. */
    struct poke p = {NULL, 1, v};
    dies_of_segv("write to a read-only mapping made in the child", &p);
    CHECK(vmo_bytes_are(v, 0, PAGE, 0x11));

    /* A read-only mapping made (and read) in the parent, written by the child. */
    uint8_t* ro = map_self(v, 0, PAGE, RO);
    if (ro) {
        CHECK_EQ(ro[0], 0x11);
        p = (struct poke){ro, 1, ZX_HANDLE_INVALID};
        dies_of_segv("write to a read-only mapping read by the parent", &p);
        CHECK(mem_is(ro, PAGE, 0x11));
        CHECK(vmo_bytes_are(v, 0, PAGE, 0x11));
        unmap_self(ro, PAGE);
    }
    /* A read-only mapping of a VMO with nothing committed (the zero page). */
    zx_handle_t e = make(PAGE, 0);
    uint8_t* ero = map_self(e, 0, PAGE, RO);
    if (ero) {
        CHECK_EQ(ero[0], 0);
        p = (struct poke){ero, 1, ZX_HANDLE_INVALID};
        dies_of_segv("write to a read-only mapping of the zero page", &p);
        CHECK(mem_is(ero, PAGE, 0));
        CHECK_EQ(committed_of(e), 0);
        unmap_self(ero, PAGE);
    }
    CHECK_STATUS(zx_handle_close(e), ZX_OK);

    /* A read (and a write) past the VMO's end inside a mapping. */
    uint8_t* past = map_self(v, 0, 2 * PAGE, RW);
    if (past) {
        CHECK_EQ(past[PAGE - 1], 0x11);
        p = (struct poke){past + PAGE, 0, ZX_HANDLE_INVALID};
        dies_of_segv("read past the VMO's end", &p);
        p = (struct poke){past + 2 * PAGE - 1, 1, ZX_HANDLE_INVALID};
        dies_of_segv("write past the VMO's end", &p);
        CHECK_EQ(past[PAGE - 1], 0x11);
        CHECK_EQ(committed_of(v), PAGE);
        unmap_self(past, 2 * PAGE);
    }
    /* Past the end after a shrink of a mapped resizable VMO. */
    zx_handle_t r = make(2 * PAGE, ZX_VMO_RESIZABLE);
    uint8_t* rp = map_self(r, 0, 2 * PAGE, RW);
    if (rp) {
        memset(rp, 0x21, 2 * PAGE);
        CHECK_STATUS(zx_vmo_set_size(r, PAGE), ZX_OK);
        p = (struct poke){rp + PAGE + 5, 0, ZX_HANDLE_INVALID};
        dies_of_segv("read past the end of a shrunk VMO", &p);
        CHECK(mem_is(rp, PAGE, 0x21));
        CHECK_EQ(committed_of(r), PAGE);
        unmap_self(rp, 2 * PAGE);
    }
    CHECK_STATUS(zx_handle_close(r), ZX_OK);

    /* A write after zx_vmar_protect lowered the mapping to read-only. */
    zx_handle_t q = make(2 * PAGE, 0);
    uint8_t* qp = map_self(q, 0, 2 * PAGE, RW);
    if (qp) {
        memset(qp, 0x51, 2 * PAGE);
        CHECK_STATUS(zx_vmar_protect(zx_vmar_root_self(), RO, (zx_vaddr_t)(uintptr_t)qp + PAGE,
                                     PAGE),
                     ZX_OK);
        CHECK_EQ(qp[PAGE + 10], 0x51);
        p = (struct poke){qp + PAGE + 10, 1, ZX_HANDLE_INVALID};
        dies_of_segv("write after protect lowered to read-only", &p);
        CHECK(mem_is(qp, 2 * PAGE, 0x51));
        CHECK(vmo_bytes_are(q, 0, 2 * PAGE, 0x51));
        /* The page still writable stays writable; raising the protection back works. */
        qp[0] = 0x52;
        CHECK_EQ(vmo_byte(q, 0), 0x52);
        CHECK_STATUS(zx_vmar_protect(zx_vmar_root_self(), RW, (zx_vaddr_t)(uintptr_t)qp + PAGE,
                                     PAGE),
                     ZX_OK);
        qp[PAGE + 10] = 0x53;
        CHECK_EQ(vmo_byte(q, PAGE + 10), 0x53);
        /* The whole mapping lowered: a write to either page dies. */
        CHECK_STATUS(zx_vmar_protect(zx_vmar_root_self(), RO, (zx_vaddr_t)(uintptr_t)qp,
                                     2 * PAGE),
                     ZX_OK);
        p = (struct poke){qp + 1, 1, ZX_HANDLE_INVALID};
        dies_of_segv("write after protect of the whole mapping", &p);
        CHECK_EQ(qp[1], 0x51);
        CHECK_EQ(qp[0], 0x52);
        unmap_self(qp, 2 * PAGE);
    }
    CHECK_STATUS(zx_handle_close(q), ZX_OK);

    /* An address of the reserved range with no mapping. */
    zx_handle_t h = make(PAGE, 0);
    uint8_t* hole = map_self(h, 0, PAGE, RW);
    if (hole) {
        unmap_self(hole, PAGE);
        CHECK((uintptr_t)hole >= root.base && (uintptr_t)hole < root.base + root.len);
        p = (struct poke){hole, 0, ZX_HANDLE_INVALID};
        dies_of_segv("read of an unmapped address of the reserved range", &p);
        p = (struct poke){hole + 7, 1, ZX_HANDLE_INVALID};
        dies_of_segv("write to an unmapped address of the reserved range", &p);
    }
    CHECK_STATUS(zx_handle_close(h), ZX_OK);

    /* A fault that is not the library's: NULL, chained to the default action. */
    p = (struct poke){(volatile uint8_t*)zero_address, 0, ZX_HANDLE_INVALID};
    dies_of_segv("NULL read", &p);
    p = (struct poke){(volatile uint8_t*)(zero_address + 16), 1, ZX_HANDLE_INVALID};
    dies_of_segv("NULL write", &p);

    /* The parent's mappings keep working after all these deaths. */
    uint8_t* again = map_self(v, 0, PAGE, RW);
    if (again) {
        CHECK(mem_is(again, PAGE, 0x11));
        again[3] = 0x12;
        CHECK_EQ(vmo_byte(v, 3), 0x12);
        unmap_self(again, PAGE);
    }
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- 6. Threads hammering a shared mapping ---- */

enum { THREADS = 4, TPAGES = 8, ITERATIONS = 20000, WINDOW = 64, OWNED = 2 * 4096 };

/* Offset of thread t's j-th byte: pages 0-3 are interleaved byte by byte (offset % 4 == t),
 * page 4 + t is thread t's alone. */
static size_t owned_offset(int t, size_t j) {
    return j < 4096 ? j * 4 + (size_t)t : (size_t)(4 + t) * PAGE + (j - 4096);
}

static uint8_t value_of(int round, int t, size_t j, int k) {
    return (uint8_t)(k * 13 + (int)j * 7 + t * 59 + round * 101 + 1);
}

struct hammer {
    int t, round;
    zx_handle_t vmo;
    uint8_t* write_map;
    uint8_t* read_map; /* NULL: no read-back */
    pthread_barrier_t* start;
    long mismatches;
};

static void* hammer_thread(void* arg) {
    struct hammer* h = arg;
    pthread_barrier_wait(h->start);
    volatile uint8_t* w = h->write_map;
    volatile uint8_t* r = h->read_map;
    for (int k = 0; k < ITERATIONS; k++) {
        size_t first = ((size_t)k * WINDOW) % OWNED;
        int by_syscall = h->t == 3 && k % 50 == 7;
        for (size_t m = 0; m < WINDOW; m++) {
            size_t j = first + m;
            uint8_t val = value_of(h->round, h->t, j, k);
            size_t off = owned_offset(h->t, j);
            if (by_syscall) {
                if (zx_vmo_write(h->vmo, &val, off, 1) != ZX_OK) h->mismatches++;
            } else {
                w[off] = val;
            }
        }
        if (r) {
            for (size_t m = 0; m < WINDOW; m++) {
                size_t j = first + m;
                if (r[owned_offset(h->t, j)] != value_of(h->round, h->t, j, k)) h->mismatches++;
            }
        }
        if (k % 256 == 255) {
            size_t off = owned_offset(h->t, first);
            uint8_t b = 0;
            if (zx_vmo_read(h->vmo, &b, off, 1) != ZX_OK || b != value_of(h->round, h->t, first, k))
                h->mismatches++;
        }
    }
    return NULL;
}

static void hammer_model(int round, uint8_t* model) {
    for (int t = 0; t < THREADS; t++)
        for (int k = 0; k < ITERATIONS; k++) {
            size_t first = ((size_t)k * WINDOW) % OWNED;
            for (size_t m = 0; m < WINDOW; m++)
                model[owned_offset(t, first + m)] = value_of(round, t, first + m, k);
        }
}

static void hammer_round(int round, zx_handle_t vmo, uint8_t* m1, uint8_t* m2) {
    pthread_barrier_t start;
    CHECK_EQ(pthread_barrier_init(&start, NULL, THREADS), 0);
    pthread_t threads[THREADS];
    struct hammer h[THREADS];
    for (int t = 0; t < THREADS; t++) {
        h[t] = (struct hammer){t,  round, vmo, (t & 1) ? m2 : m1, NULL, &start, 0};
        if (t < 2) h[t].read_map = (t & 1) ? m1 : m2; /* read back through the other mapping */
        CHECK_EQ(pthread_create(&threads[t], NULL, hammer_thread, &h[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK_EQ(pthread_join(threads[t], NULL), 0);
        if (!CHECK_EQ(h[t].mismatches, 0))
            fprintf(stderr, "    (round %d, thread %d)\n", round, t);
    }
    pthread_barrier_destroy(&start);
}

static void test_threads(void) {
    static uint8_t model1[TPAGES * 4096], model2[TPAGES * 4096], got[TPAGES * 4096];
    const size_t size = TPAGES * PAGE;
    zx_handle_t v = make(size, 0);
    uint8_t* m1 = map_self(v, 0, size, RW);
    uint8_t* m2 = map_self(v, 0, size, RW);
    if (!m1 || !m2) return;
    CHECK(m1 != m2);
    CHECK_EQ(vmo_info(v).num_mappings, 2);

    memset(model1, 0, sizeof model1);
    hammer_model(1, model1);
    hammer_round(1, v, m1, m2);
    CHECK(memcmp(m1, model1, size) == 0);
    CHECK(memcmp(m2, model1, size) == 0);
    CHECK_STATUS(zx_vmo_read(v, got, 0, size), ZX_OK);
    CHECK(memcmp(got, model1, size) == 0);
    CHECK_EQ(committed_of(v), size);

    /* A snapshot, then a second round: every first write of a page faults and copies, with four
     * threads racing for the same pages. */
    zx_handle_t s = snap(v, size);
    uint8_t* sp = map_self(s, 0, size, RO);
    memcpy(model2, model1, sizeof model2);
    hammer_model(2, model2);
    hammer_round(2, v, m1, m2);
    CHECK(memcmp(m1, model2, size) == 0);
    CHECK(memcmp(m2, model2, size) == 0);
    CHECK_STATUS(zx_vmo_read(v, got, 0, size), ZX_OK);
    CHECK(memcmp(got, model2, size) == 0);
    memset(got, 0, sizeof got);
    CHECK_STATUS(zx_vmo_read(s, got, 0, size), ZX_OK);
    CHECK(memcmp(got, model1, size) == 0);
    if (sp) {
        CHECK(memcmp(sp, model1, size) == 0);
        unmap_self(sp, size);
    }
    CHECK_EQ(committed_of(v), size);
    CHECK_EQ(committed_of(s), size);

    unmap_self(m2, size);
    unmap_self(m1, size);
    zx_handle_t all[] = {s, v};
    close_all(all, 2);
}

/* ---- 7. A 1 GiB mapping, one write per page ---- */

static uint8_t gib_marker(size_t page) { return (uint8_t)(page * 7 + 1); }

/* Lines of /proc/self/maps (-1 if it cannot be read). */
static long count_host_mappings(void) {
    FILE* f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    long lines = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n') lines++;
    fclose(f);
    return lines;
}

static void test_one_gib(void) {
    const size_t size = (size_t)1 << 30;
    const size_t pages = size / PAGE; /* 262144 */
    zx_handle_t v = make(size, 0);
    uint8_t* p = map_self(v, 0, size, RW);
    if (!p) return;
    /* Even pages first, then odd ones: no two neighbouring pages get neighbouring frames, so no
     * host mappings can merge (131072 separate runs after the first pass alone, twice what
     * vm.max_map_count allows): the library's budget must keep them in check. */
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = pass; i < pages; i += 2) p[i * PAGE + (i % 4000)] = gib_marker(i);
    CHECK_EQ(committed_of(v), size);
    CHECK_EQ(vmo_info(v).num_mappings, 1);
    /* The host mappings of the program stay well under vm.max_map_count (65530 by default). */
    long host_mappings = count_host_mappings();
    if (!CHECK(host_mappings > 0 && host_mappings < 60000))
        fprintf(stderr, "    (%ld lines in /proc/self/maps)\n", host_mappings);

    /* Every page through zx_vmo_read (1 MiB at a time): its marker and zeros elsewhere. */
    static uint8_t chunk[1 << 20];
    long wrong = 0;
    for (size_t at = 0; at < size; at += sizeof chunk) {
        memset(chunk, 0x5A, sizeof chunk);
        if (!CHECK_STATUS(zx_vmo_read(v, chunk, at, sizeof chunk), ZX_OK)) break;
        for (size_t in = 0; in < sizeof chunk; in += PAGE) {
            size_t i = (at + in) / PAGE;
            uint8_t* pg = chunk + in;
            if (pg[i % 4000] != gib_marker(i)) wrong++;
            pg[i % 4000] = 0;
            if (pg[0] != 0 || pg[PAGE - 1] != 0 || memcmp(pg, pg + 1, PAGE - 1) != 0) wrong++;
        }
    }
    CHECK_EQ(wrong, 0);
    /* Back through the pointer: every 61st page (most were evicted and fault in again). */
    wrong = 0;
    for (size_t i = 0; i < pages; i += 61)
        if (p[i * PAGE + (i % 4000)] != gib_marker(i) || p[i * PAGE + 4001] != 0) wrong++;
    CHECK_EQ(wrong, 0);
    CHECK_EQ(p[(pages - 1) * PAGE + ((pages - 1) % 4000)], gib_marker(pages - 1));
    CHECK_EQ(committed_of(v), size);

    /* Close the handle first: the mapping keeps the VMO alive; then unmap. */
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
    CHECK_EQ(p[12345 * PAGE + (12345 % 4000)], gib_marker(12345));
    unmap_self(p, size);

    /* Everything still works afterwards: a new mapping, written and read. */
    zx_handle_t after = make(16 * PAGE, 0);
    uint8_t* ap = map_self(after, 0, 16 * PAGE, RW);
    if (ap) {
        for (size_t i = 0; i < 16; i++) ap[i * PAGE] = (uint8_t)(i + 1);
        for (size_t i = 0; i < 16; i++) CHECK_EQ(vmo_byte(after, i * PAGE), i + 1);
        CHECK(mem_is(ap + 1, PAGE - 1, 0));
        unmap_self(ap, 16 * PAGE);
    }
    CHECK_STATUS(zx_handle_close(after), ZX_OK);
}

int main(void) {
    test_snapshot_writes_stay_private();
    test_snapshot_of_written_mapping();
    test_all_orders();
    test_decommit_zero_resize();
    test_legacy_clone();
    test_kernel_buffers();
    /* Forks only while no other thread runs: before the threads of test_threads. */
    test_forbidden_accesses();
    test_threads();
    test_one_gib();
    return finish();
}
