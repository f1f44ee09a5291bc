/* Snapshots seen through mappings: spec/zircon.md section 6 ("a mapping sees the VMO's current
 * content at fault time; a write through a mapping of a snapshot or of its parent copies the page
 * exactly as zx_vmo_write would; creating a snapshot removes write access from existing mappings;
 * DECOMMIT and shrinking remove the affected pages from all mappings") with the accounting of
 * section 4. The acceptance test: a tree of four VMOs (P, snapshots A and B of P, snapshot AA of
 * A), each mapped read+write into a process (all in one process, and one process each), read
 * first through the mappings, then written through the mappings in all 24 orders; after every
 * write, every mapping (zx_process_read_memory) and every VMO (zx_vmo_read) shows its own write or
 * the original, the untouched second page shows the original everywhere, and the committed bytes
 * of the four sum to the frames that must exist. Then: a snapshot taken while its parent is mapped
 * and written (the snapshot keeps the old bytes), DECOMMIT / ZERO / shrink / grow of mapped VMOs.
 * Mapped memory is only ever reached through zx_process_read_memory / write_memory. */
#include <stdlib.h>

#include "check.h"
#include "mapping.h"

#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define SNAP ZX_VMO_CHILD_SNAPSHOT

/* Status of reading `len` bytes at `va` (actual stored in *actual). */
static zx_status_t mem_read(zx_handle_t proc, zx_vaddr_t va, size_t len, size_t* actual) {
    static uint8_t buf[4 * 4096];
    *actual = 12345;
    return zx_process_read_memory(proc, va, buf, len < sizeof buf ? len : sizeof buf, actual);
}

/* 1 if `len` bytes at `va` in the process all equal `byte`. */
static int mem_is(zx_handle_t proc, zx_vaddr_t va, size_t len, uint8_t byte) {
    static uint8_t buf[4 * 4096];
    if (len > sizeof buf) return 0;
    size_t actual = 0;
    if (zx_process_read_memory(proc, va, buf, len, &actual) != ZX_OK || actual != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] != byte) return 0;
    return 1;
}

/* ---- The acceptance test: four VMOs, 24 orders of writers ---- */

#define NV 4
enum { VP = 0, VA = 1, VB = 2, VAA = 3 };
static const char* const NAME[NV] = {"P", "A", "B", "AA"};
static const uint8_t WRITE_BYTE[NV] = {0xA1, 0xB2, 0xC3, 0xD4};
#define WRITE_OFF 1000u
#define WRITE_LEN 8u
#define TREE_SIZE (2 * PAGE)

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7u + 3u + (i >> 12) * 91u); }

struct tree {
    zx_handle_t vmo[NV];
    zx_handle_t proc[NV];
    zx_handle_t vmar[NV];
    zx_vaddr_t addr[NV];
    int separate;
};

/* What VMO `v` must show: the pattern, with its own write over it if it wrote. */
static void expected_view(uint8_t* out, int v, const int written[NV]) {
    for (size_t i = 0; i < TREE_SIZE; i++) out[i] = pattern(i);
    if (written[v]) memset(out + WRITE_OFF, WRITE_BYTE[v], WRITE_LEN);
}

static int make_tree(struct tree* t, int separate) {
    memset(t, 0, sizeof *t);
    t->separate = separate;
    static uint8_t buf[TREE_SIZE];
    for (size_t i = 0; i < TREE_SIZE; i++) buf[i] = pattern(i);
    t->vmo[VP] = make(TREE_SIZE, 0);
    if (!CHECK_STATUS(zx_vmo_write(t->vmo[VP], buf, 0, TREE_SIZE), ZX_OK)) return 0;
    t->vmo[VA] = snap(t->vmo[VP], TREE_SIZE);
    t->vmo[VB] = snap(t->vmo[VP], TREE_SIZE);
    t->vmo[VAA] = snap(t->vmo[VA], TREE_SIZE);
    for (int v = 0; v < NV; v++)
        if (t->vmo[v] == ZX_HANDLE_INVALID) return 0;
    for (int v = 0; v < NV; v++) {
        if (separate || v == 0) {
            if (!new_process(&t->proc[v], &t->vmar[v])) return 0;
        } else {
            t->proc[v] = t->proc[0];
            t->vmar[v] = t->vmar[0];
        }
        t->addr[v] = map_ok(t->vmar[v], RW, 0, t->vmo[v], 0, TREE_SIZE);
        if (t->addr[v] == 0) return 0;
        /* First fit from the lowest free address of a fresh root VMAR. */
        CHECK_EQ(t->addr[v], separate ? ROOT_BASE : ROOT_BASE + (zx_vaddr_t)v * TREE_SIZE);
    }
    for (int v = 0; v < NV; v++) {
        CHECK_EQ(vmo_info(t->vmo[v]).num_mappings, 1);
        CHECK_EQ(vmo_info(t->vmo[v]).share_count, 1);
    }
    return 1;
}

static void destroy_tree(struct tree* t) {
    for (int v = 0; v < NV; v++)
        if (t->separate || v == 0) end_process(t->proc[v], t->vmar[v]);
    /* The processes are gone, and their mappings with them. */
    for (int v = 0; v < NV; v++) CHECK_EQ(vmo_info(t->vmo[v]).num_mappings, 0);
    for (int v = NV - 1; v >= 0; v--) CHECK_STATUS(zx_handle_close(t->vmo[v]), ZX_OK);
}

/* Every mapping and every VMO shows what `written` says; the frames add up. */
static void check_views(const struct tree* t, const int written[NV], const char* ctx) {
    static uint8_t want[TREE_SIZE], got[TREE_SIZE];
    int writes = 0, any_original = 0;
    for (int v = 0; v < NV; v++) {
        writes += written[v];
        any_original |= !written[v];
    }
    for (int v = 0; v < NV; v++) {
        expected_view(want, v, written);
        /* Through the mapping. */
        memset(got, 0x5A, sizeof got);
        size_t actual = 0;
        int ok = CHECK_STATUS(
            zx_process_read_memory(t->proc[v], t->addr[v], got, TREE_SIZE, &actual), ZX_OK);
        ok &= CHECK_EQ(actual, TREE_SIZE);
        ok &= CHECK(memcmp(got, want, PAGE) == 0);
        ok &= CHECK(memcmp(got + PAGE, want + PAGE, PAGE) == 0);
        /* Through the VMO. */
        memset(got, 0x5A, sizeof got);
        ok &= CHECK_STATUS(zx_vmo_read(t->vmo[v], got, 0, TREE_SIZE), ZX_OK);
        ok &= CHECK(memcmp(got, want, PAGE) == 0);
        ok &= CHECK(memcmp(got + PAGE, want + PAGE, PAGE) == 0);
        ok &= CHECK_EQ(populated_of(t->vmo[v]), TREE_SIZE);
        if (!ok) fprintf(stderr, "    (%s, VMO %s)\n", ctx, NAME[v]);
    }
    uint64_t sum = 0;
    for (int v = 0; v < NV; v++) sum += committed_of(t->vmo[v]);
    /* The untouched page, one copy per writer, and the original first page while one VMO
     * still shows it. */
    if (!CHECK_EQ(sum, (uint64_t)(1 + writes + any_original) * PAGE))
        fprintf(stderr, "    (%s: committed P %" PRIu64 " A %" PRIu64 " B %" PRIu64
                        " AA %" PRIu64 ")\n",
                ctx, committed_of(t->vmo[VP]), committed_of(t->vmo[VA]),
                committed_of(t->vmo[VB]), committed_of(t->vmo[VAA]));
}

static void run_order(const int order[NV], int separate) {
    struct tree t;
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s, order %s %s %s %s",
             separate ? "one process each" : "one process", NAME[order[0]], NAME[order[1]],
             NAME[order[2]], NAME[order[3]]);
    if (!make_tree(&t, separate)) {
        fprintf(stderr, "    (%s: tree not built)\n", ctx);
        return;
    }
    int written[NV] = {0, 0, 0, 0};
    /* Read first: every mapping gets translations of the shared pages. */
    check_views(&t, written, ctx);
    for (int step = 0; step < NV; step++) {
        int w = order[step];
        uint8_t bytes[WRITE_LEN];
        memset(bytes, WRITE_BYTE[w], sizeof bytes);
        size_t actual = 0;
        if (!CHECK_STATUS(zx_process_write_memory(t.proc[w], t.addr[w] + WRITE_OFF, bytes,
                                                  WRITE_LEN, &actual),
                          ZX_OK) ||
            !CHECK_EQ(actual, WRITE_LEN))
            fprintf(stderr, "    (%s: write by %s)\n", ctx, NAME[w]);
        written[w] = 1;
        char step_ctx[128];
        snprintf(step_ctx, sizeof step_ctx, "%s, after %s wrote", ctx, NAME[w]);
        check_views(&t, written, step_ctx);
    }
    destroy_tree(&t);
}

static void test_all_orders(void) {
    int orders = 0;
    for (int a = 0; a < NV; a++)
        for (int b = 0; b < NV; b++)
            for (int c = 0; c < NV; c++)
                for (int d = 0; d < NV; d++) {
                    if (a == b || a == c || a == d || b == c || b == d || c == d) continue;
                    int order[NV] = {a, b, c, d};
                    run_order(order, 0);
                    run_order(order, 1);
                    orders++;
                }
    CHECK_EQ(orders, 24);
}

/* ---- A snapshot taken while the parent is mapped ---- */

static void test_snapshot_of_mapped_parent(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t p = make(2 * PAGE, 0);
    zx_vaddr_t pa = map_ok(vmar, RW, 0, p, 0, 2 * PAGE);
    size_t actual = 0;
    /* Written through the mapping: the mapping holds writable translations now. */
    CHECK_STATUS(mem_fill(proc, pa, 2 * PAGE, 0x11, &actual), ZX_OK);
    CHECK_EQ(actual, 2 * PAGE);
    CHECK(mem_is(proc, pa, 2 * PAGE, 0x11));
    CHECK(vmo_bytes_are(p, 0, 2 * PAGE, 0x11));
    CHECK_EQ(committed_of(p), 2 * PAGE);

    zx_handle_t s = snap(p, 2 * PAGE);
    /* The next write through the parent's mapping copies: the snapshot keeps the old bytes. */
    CHECK_STATUS(mem_fill(proc, pa, 1, 0x22, &actual), ZX_OK);
    CHECK_EQ(actual, 1);
    CHECK_STATUS(mem_fill(proc, pa + PAGE + 7, 3, 0x23, &actual), ZX_OK);
    CHECK_EQ(actual, 3);
    CHECK_EQ(vmo_byte(s, 0), 0x11);
    CHECK_EQ(vmo_byte(s, PAGE + 7), 0x11);
    CHECK(vmo_bytes_are(s, 0, 2 * PAGE, 0x11));
    CHECK_EQ(vmo_byte(p, 0), 0x22);
    CHECK_EQ(vmo_byte(p, 1), 0x11);
    CHECK_EQ(vmo_byte(p, PAGE + 7), 0x23);
    CHECK_EQ(mem_byte(proc, pa), 0x22);
    CHECK_EQ(mem_byte(proc, pa + 1), 0x11);
    CHECK_EQ(mem_byte(proc, pa + PAGE + 9), 0x23);
    CHECK_EQ(mem_byte(proc, pa + PAGE + 10), 0x11);
    /* Both pages were copied for the parent: two frames each (section 4's example). */
    CHECK_EQ(committed_of(p), 2 * PAGE);
    CHECK_EQ(committed_of(s), 2 * PAGE);

    /* The snapshot mapped too: it shows the old bytes; its writes stay its own. */
    zx_vaddr_t sa = map_ok(vmar, RW, 0, s, 0, 2 * PAGE);
    CHECK_EQ(sa, pa + 2 * PAGE);
    CHECK(mem_is(proc, sa, 2 * PAGE, 0x11));
    CHECK_STATUS(mem_fill(proc, sa + 100, 1, 0x33, &actual), ZX_OK);
    CHECK_EQ(mem_byte(proc, sa + 100), 0x33);
    CHECK_EQ(mem_byte(proc, pa + 100), 0x11);
    CHECK_EQ(vmo_byte(p, 100), 0x11);
    CHECK_EQ(vmo_byte(s, 100), 0x33);

    /* A snapshot of the snapshot while both are mapped and have been written. */
    zx_handle_t ss = snap(s, 2 * PAGE);
    CHECK_STATUS(mem_fill(proc, sa + 100, 1, 0x44, &actual), ZX_OK);
    CHECK_STATUS(mem_fill(proc, sa + PAGE, 1, 0x45, &actual), ZX_OK);
    CHECK_EQ(vmo_byte(ss, 100), 0x33);
    CHECK_EQ(vmo_byte(ss, PAGE), 0x11);
    CHECK_EQ(vmo_byte(s, 100), 0x44);
    CHECK_EQ(vmo_byte(s, PAGE), 0x45);
    CHECK_EQ(vmo_byte(p, 100), 0x11);
    CHECK_EQ(vmo_byte(p, PAGE), 0x11);
    /* zx_vmo_write to the parent while mapped: the mapping shows it, the snapshots do not. */
    CHECK_STATUS(vmo_fill(p, 200, 1, 0x55), ZX_OK);
    CHECK_EQ(mem_byte(proc, pa + 200), 0x55);
    CHECK_EQ(mem_byte(proc, sa + 200), 0x11);
    CHECK_EQ(vmo_byte(ss, 200), 0x11);
    /* zx_vmo_write to a mapped snapshot: its mapping shows it. */
    CHECK_STATUS(vmo_fill(s, 300, 1, 0x66), ZX_OK);
    CHECK_EQ(mem_byte(proc, sa + 300), 0x66);
    CHECK_EQ(mem_byte(proc, pa + 300), 0x11);

    /* A snapshot of a parent that was only read through its mapping. */
    zx_handle_t q = make(PAGE, 0);
    CHECK_STATUS(vmo_fill(q, 0, PAGE, 0x70), ZX_OK);
    zx_vaddr_t qa = map_ok(vmar, RW, 0, q, 0, PAGE);
    CHECK(mem_is(proc, qa, PAGE, 0x70));
    zx_handle_t qs = snap(q, PAGE);
    CHECK_STATUS(mem_fill(proc, qa, PAGE, 0x71, &actual), ZX_OK);
    CHECK_EQ(actual, PAGE);
    CHECK(vmo_bytes_are(qs, 0, PAGE, 0x70));
    CHECK(vmo_bytes_are(q, 0, PAGE, 0x71));
    CHECK(mem_is(proc, qa, PAGE, 0x71));
    CHECK_EQ(committed_of(q) + committed_of(qs), 2 * PAGE);

    end_process(proc, vmar);
    zx_handle_t all[] = {qs, q, ss, s, p};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK_STATUS(zx_handle_close(all[i]), ZX_OK);
}

/* ---- DECOMMIT and ZERO of a mapped VMO ---- */

static void test_decommit_and_zero(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t v = make(3 * PAGE, 0);
    zx_vaddr_t va = map_ok(vmar, RW, 0, v, 0, 3 * PAGE);
    size_t actual = 0;
    CHECK_STATUS(mem_fill(proc, va, 3 * PAGE, 0x5C, &actual), ZX_OK);
    CHECK_EQ(actual, 3 * PAGE);
    CHECK(mem_is(proc, va, 3 * PAGE, 0x5C));
    CHECK_EQ(committed_of(v), 3 * PAGE);

    /* DECOMMIT of page 1: the mapping reads zeros there, the rest is untouched. */
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_DECOMMIT, PAGE, PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(v), 2 * PAGE);
    CHECK(mem_is(proc, va, PAGE, 0x5C));
    CHECK(mem_is(proc, va + PAGE, PAGE, 0));
    CHECK(mem_is(proc, va + 2 * PAGE, PAGE, 0x5C));
    /* Reading through the mapping does not commit. */
    CHECK_EQ(committed_of(v), 2 * PAGE);
    /* Writing again commits a fresh page. */
    CHECK_STATUS(mem_fill(proc, va + PAGE + 5, 1, 0x5D, &actual), ZX_OK);
    CHECK_EQ(committed_of(v), 3 * PAGE);
    CHECK_EQ(vmo_byte(v, PAGE + 5), 0x5D);
    CHECK_EQ(vmo_byte(v, PAGE + 4), 0);

    /* DECOMMIT of everything. */
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 0, 3 * PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(v), 0);
    CHECK(mem_is(proc, va, 3 * PAGE, 0));

    /* ZERO (byte exact) through the VMO: the mapping sees it at once. */
    CHECK_STATUS(mem_fill(proc, va, 3 * PAGE, 0x5E, &actual), ZX_OK);
    CHECK(mem_is(proc, va, 3 * PAGE, 0x5E));
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_ZERO, PAGE - 10, PAGE + 20, NULL, 0), ZX_OK);
    CHECK(mem_is(proc, va, PAGE - 10, 0x5E));
    CHECK(mem_is(proc, va + PAGE - 10, PAGE + 20, 0));
    CHECK(mem_is(proc, va + 2 * PAGE + 10, PAGE - 10, 0x5E));

    /* A VMO with a snapshot child cannot decommit (section 3); the mapping is unchanged. */
    zx_handle_t s = snap(v, 3 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0), ZX_ERR_NOT_SUPPORTED);
    CHECK(mem_is(proc, va, PAGE - 10, 0x5E));
    /* ZERO of the mapped parent does not reach the snapshot. */
    CHECK_STATUS(zx_vmo_op_range(v, ZX_VMO_OP_ZERO, 0, PAGE, NULL, 0), ZX_OK);
    CHECK(mem_is(proc, va, PAGE, 0));
    CHECK(vmo_bytes_are(s, 0, PAGE - 10, 0x5E));
    CHECK_STATUS(zx_handle_close(s), ZX_OK);

    end_process(proc, vmar);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- Shrinking and growing a mapped resizable VMO ---- */

static void test_resize_mapped(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t v = make(3 * PAGE, ZX_VMO_RESIZABLE);
    zx_vaddr_t va = map_ok(vmar, RW, 0, v, 0, 3 * PAGE);
    size_t actual = 0;
    CHECK_STATUS(mem_fill(proc, va, 3 * PAGE, 0x7A, &actual), ZX_OK);
    CHECK_EQ(actual, 3 * PAGE);
    CHECK(mem_is(proc, va, 3 * PAGE, 0x7A));

    CHECK_STATUS(zx_vmo_set_size(v, PAGE), ZX_OK);
    CHECK_EQ(committed_of(v), PAGE);
    CHECK_EQ(vmo_info(v).num_mappings, 1); /* the mapping stays */
    CHECK(mem_is(proc, va, PAGE, 0x7A));
    /* Beyond the end: OUT_OF_RANGE when nothing can be copied, a partial copy otherwise. */
    CHECK_STATUS(mem_read(proc, va + PAGE, 1, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mem_read(proc, va + 2 * PAGE + 100, 10, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mem_fill(proc, va + 2 * PAGE, 1, 0x7B, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mem_read(proc, va + 100, 3 * PAGE - 100, &actual), ZX_OK);
    CHECK_EQ(actual, PAGE - 100);
    CHECK_STATUS(mem_fill(proc, va + PAGE - 4, 8, 0x7C, &actual), ZX_OK);
    CHECK_EQ(actual, 4);
    CHECK_EQ(vmo_byte(v, PAGE - 1), 0x7C);
    CHECK_EQ(size_of_vmo(v), PAGE);

    /* Growing again exposes zeros, never the old bytes. */
    CHECK_STATUS(zx_vmo_set_size(v, 3 * PAGE), ZX_OK);
    CHECK(mem_is(proc, va, PAGE - 4, 0x7A));
    CHECK(mem_is(proc, va + PAGE - 4, 4, 0x7C));
    CHECK(mem_is(proc, va + PAGE, 2 * PAGE, 0));
    CHECK_STATUS(mem_fill(proc, va + 2 * PAGE, 1, 0x7D, &actual), ZX_OK);
    CHECK_EQ(actual, 1);
    CHECK_EQ(vmo_byte(v, 2 * PAGE), 0x7D);

    /* Shrink to 0: nothing readable; grow: zeros. */
    CHECK_STATUS(zx_vmo_set_size(v, 0), ZX_OK);
    CHECK_STATUS(mem_read(proc, va, 1, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mem_fill(proc, va, 1, 1, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_EQ(committed_of(v), 0);
    CHECK_STATUS(zx_vmo_set_size(v, 2 * PAGE), ZX_OK);
    CHECK(mem_is(proc, va, 2 * PAGE, 0));
    CHECK_STATUS(mem_read(proc, va + 2 * PAGE, 1, &actual), ZX_ERR_OUT_OF_RANGE);

    /* A mapped resizable snapshot: the parent shrinking does not touch it (it was copied at
     * creation); the snapshot shrinking and growing again shows zeros, not the parent's data. */
    zx_handle_t p = make(2 * PAGE, ZX_VMO_RESIZABLE);
    CHECK_STATUS(vmo_fill(p, 0, 2 * PAGE, 0x81), ZX_OK);
    zx_handle_t c = make_child(p, SNAP | ZX_VMO_CHILD_RESIZABLE, 0, 2 * PAGE);
    zx_vaddr_t ca = map_ok(vmar, RW, 0, c, 0, 2 * PAGE);
    zx_vaddr_t pa = map_ok(vmar, RW, 0, p, 0, 2 * PAGE);
    CHECK(mem_is(proc, ca, 2 * PAGE, 0x81));
    CHECK(mem_is(proc, pa, 2 * PAGE, 0x81));
    CHECK_STATUS(zx_vmo_set_size(p, 0), ZX_OK);
    CHECK(mem_is(proc, ca, 2 * PAGE, 0x81));
    CHECK_STATUS(mem_read(proc, pa, 1, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_set_size(p, 2 * PAGE), ZX_OK);
    CHECK(mem_is(proc, pa, 2 * PAGE, 0));
    CHECK(mem_is(proc, ca, 2 * PAGE, 0x81));
    CHECK_STATUS(zx_vmo_set_size(c, PAGE), ZX_OK);
    CHECK_STATUS(mem_read(proc, ca + PAGE, 1, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK(mem_is(proc, ca, PAGE, 0x81));
    CHECK_STATUS(zx_vmo_set_size(c, 2 * PAGE), ZX_OK);
    CHECK(mem_is(proc, ca + PAGE, PAGE, 0));
    CHECK(mem_is(proc, ca, PAGE, 0x81));
    CHECK_STATUS(mem_fill(proc, ca + PAGE, 1, 0x82, &actual), ZX_OK);
    CHECK_EQ(vmo_byte(c, PAGE), 0x82);
    CHECK_EQ(vmo_byte(p, PAGE), 0);

    end_process(proc, vmar);
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    CHECK_STATUS(zx_handle_close(p), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

int main(void) {
    test_all_orders();
    test_snapshot_of_mapped_parent();
    test_decommit_and_zero();
    test_resize_mapped();
    return finish();
}
