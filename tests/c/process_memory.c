/* zx_process_read_memory / zx_process_write_memory: spec/zircon.md section 6, with the order
 * documented on the kernel's process calls (kernel/src/zircon/process_calls.rs): the process
 * handle (BAD_HANDLE, WRONG_TYPE, READ|WRITE for reads and WRITE for writes: ACCESS_DENIED); a
 * length of 0 or above 64 MiB (INVALID_ARGS); no mapping at vaddr (NO_MEMORY); a mapping without
 * the permission (ACCESS_DENIED); a bad buffer (INVALID_ARGS); a page past the VMO's end
 * (OUT_OF_RANGE when nothing could be copied). The copy stops at the end of the mapping holding
 * vaddr and at a page past the VMO's end (ZX_OK, actual < len); actual may be NULL. A write through
 * a mapping of a snapshot copies exactly as zx_vmo_write would; through a slice it reaches the
 * parent. Closing the last process handle releases the process's mappings. */
#include <stdlib.h>

#include "check.h"
#include "mapping.h"

#define R ZX_VM_PERM_READ
#define W ZX_VM_PERM_WRITE
#define X ZX_VM_PERM_EXECUTE
#define RW (R | W)
#define MAX_CALL ((size_t)64 << 20)

static zx_handle_t make_filled(uint64_t size, uint8_t byte) {
    zx_handle_t h = make(size, 0);
    CHECK_STATUS(vmo_fill(h, 0, size, byte), ZX_OK);
    return h;
}

static uint8_t scratch[4 * 4096];

/* Reads `len` bytes (at most 4 pages) at `va` into `scratch`; *actual gets what the call says. */
static zx_status_t rd(zx_handle_t proc, zx_vaddr_t va, size_t len, size_t* actual) {
    memset(scratch, 0xEE, sizeof scratch);
    *actual = 0xDEAD;
    return zx_process_read_memory(proc, va, scratch, len, actual);
}

static int scratch_is(size_t from, size_t len, uint8_t byte) {
    for (size_t i = from; i < from + len; i++)
        if (scratch[i] != byte) return 0;
    return 1;
}

/* ---- The process handle ---- */

static void test_handles(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t vmo = make_filled(2 * PAGE, 0x11);
    zx_vaddr_t a = map_ok(vmar, RW, 0, vmo, 0, 2 * PAGE);
    size_t actual;
    uint8_t buf[16] = {0};

    CHECK_EQ(rights_of(proc) & (ZX_RIGHT_READ | ZX_RIGHT_WRITE), ZX_RIGHT_READ | ZX_RIGHT_WRITE);
    CHECK_STATUS(rd(proc, a, 16, &actual), ZX_OK);
    CHECK_EQ(actual, 16);
    CHECK(scratch_is(0, 16, 0x11));

    zx_handle_t closed = dup_with(proc, ZX_RIGHT_SAME_RIGHTS);
    CHECK_STATUS(zx_handle_close(closed), ZX_OK);
    CHECK_STATUS(zx_process_read_memory(ZX_HANDLE_INVALID, a, buf, 16, &actual), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_process_write_memory(ZX_HANDLE_INVALID, a, buf, 16, &actual),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_process_read_memory(closed, a, buf, 16, &actual), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_process_write_memory(closed, a, buf, 16, &actual), ZX_ERR_BAD_HANDLE);
    /* Wrong types: a VMO, a VMAR, a job. */
    zx_handle_t wrong[] = {vmo, vmar, zx_vmar_root_self(), zx_job_default()};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        CHECK_STATUS(zx_process_read_memory(wrong[i], a, buf, 16, &actual), ZX_ERR_WRONG_TYPE);
        CHECK_STATUS(zx_process_write_memory(wrong[i], a, buf, 16, &actual), ZX_ERR_WRONG_TYPE);
    }

    /* Rights: reading needs READ and WRITE, writing needs WRITE. */
    zx_handle_t no_read = dup_with(proc, rights_of(proc) & ~ZX_RIGHT_READ);
    zx_handle_t no_write = dup_with(proc, rights_of(proc) & ~ZX_RIGHT_WRITE);
    zx_handle_t rw_only = dup_with(proc, ZX_RIGHT_READ | ZX_RIGHT_WRITE);
    zx_handle_t w_only = dup_with(proc, ZX_RIGHT_WRITE);
    zx_handle_t none = dup_with(proc, ZX_RIGHT_NONE);
    CHECK(no_read && no_write && rw_only && w_only && none);
    CHECK_STATUS(zx_process_read_memory(no_read, a, buf, 16, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_process_write_memory(no_read, a, buf, 16, &actual), ZX_OK);
    CHECK_STATUS(zx_process_read_memory(no_write, a, buf, 16, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_process_write_memory(no_write, a, buf, 16, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_process_read_memory(w_only, a, buf, 16, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_process_write_memory(w_only, a, buf, 16, &actual), ZX_OK);
    CHECK_STATUS(zx_process_read_memory(none, a, buf, 16, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_process_write_memory(none, a, buf, 16, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_process_read_memory(rw_only, a, buf, 16, &actual), ZX_OK);
    CHECK_EQ(actual, 16);
    CHECK_STATUS(zx_process_write_memory(rw_only, a, buf, 16, &actual), ZX_OK);
    CHECK_EQ(actual, 16);

    /* Order: the handle before the length, the address and the buffer. */
    CHECK_STATUS(zx_process_read_memory(ZX_HANDLE_INVALID, 0, NULL, 0, NULL), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_process_write_memory(ZX_HANDLE_INVALID, 0, NULL, 0, NULL), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_process_read_memory(vmo, 0, NULL, 0, NULL), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_process_write_memory(vmo, 0, NULL, 0, NULL), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_process_read_memory(no_read, 0, NULL, 0, NULL), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_process_write_memory(no_write, 0, NULL, 0, NULL), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_process_read_memory(no_write, ROOT_END, buf, MAX_CALL + 1, NULL),
                 ZX_ERR_ACCESS_DENIED);

    zx_handle_t all[] = {no_read, no_write, rw_only, w_only, none, vmo};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK_STATUS(zx_handle_close(all[i]), ZX_OK);
    end_process(proc, vmar);
}

/* ---- Lengths, buffers, actual ---- */

static void test_lengths_and_buffers(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t vmo = make_filled(2 * PAGE, 0x22);
    zx_vaddr_t a = map_ok(vmar, RW, 0, vmo, 0, 2 * PAGE);
    zx_vaddr_t ro = map_ok(vmar, R, 0, vmo, 0, PAGE);
    size_t actual = 0;
    /* A buffer as large as the largest length passed (never touched beyond what is copied). */
    uint8_t* big = malloc(MAX_CALL + PAGE);
    if (!CHECK(big != NULL)) return;

    /* Length 0 or above 64 MiB: INVALID_ARGS, before the address is looked at. */
    CHECK_STATUS(zx_process_read_memory(proc, a, big, 0, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_write_memory(proc, a, big, 0, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_read_memory(proc, 0, big, 0, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_write_memory(proc, 0, big, 0, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_read_memory(proc, a, big, MAX_CALL + 1, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_write_memory(proc, a, big, MAX_CALL + 1, &actual),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_read_memory(proc, 0, big, MAX_CALL + PAGE, &actual),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_read_memory(proc, a, NULL, SIZE_MAX, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_write_memory(proc, a, NULL, SIZE_MAX, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_read_memory(proc, a, NULL, 0, NULL), ZX_ERR_INVALID_ARGS);
    /* Exactly 64 MiB is a valid length: an unmapped address is the next error. */
    CHECK_STATUS(zx_process_read_memory(proc, ROOT_END - PAGE, big, MAX_CALL, &actual),
                 ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_process_write_memory(proc, ROOT_END - PAGE, big, MAX_CALL, &actual),
                 ZX_ERR_NO_MEMORY);
    /* ... and is cut at the end of the mapping. */
    CHECK_STATUS(zx_process_read_memory(proc, a, big, MAX_CALL, &actual), ZX_OK);
    CHECK_EQ(actual, 2 * PAGE);

    /* A NULL buffer with a length: INVALID_ARGS, after the address and permission checks. */
    CHECK_STATUS(zx_process_read_memory(proc, a, NULL, 16, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_write_memory(proc, a, NULL, 16, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_read_memory(proc, a, (void*)16, 16, &actual), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_read_memory(proc, 0x10000, NULL, 16, &actual), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_process_write_memory(proc, 0x10000, NULL, 16, &actual), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_process_write_memory(proc, ro, NULL, 16, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK(vmo_bytes_are(vmo, 0, 2 * PAGE, 0x22)); /* nothing was written */

    /* actual may be NULL. */
    uint8_t b = 0;
    CHECK_STATUS(zx_process_read_memory(proc, a + 5, &b, 1, NULL), ZX_OK);
    CHECK_EQ(b, 0x22);
    b = 0x23;
    CHECK_STATUS(zx_process_write_memory(proc, a + 5, &b, 1, NULL), ZX_OK);
    CHECK_EQ(vmo_byte(vmo, 5), 0x23);
    CHECK_STATUS(zx_process_read_memory(proc, a + PAGE - 1, big, 3 * PAGE, NULL), ZX_OK);
    CHECK_EQ(big[0], 0x22);
    CHECK_STATUS(zx_process_write_memory(proc, a + 2 * PAGE - 2, big, 100, NULL), ZX_OK);
    /* Unaligned addresses and lengths are fine. */
    CHECK_STATUS(mem_fill(proc, a + 4093, 7, 0x24, &actual), ZX_OK);
    CHECK_EQ(actual, 7);
    CHECK_EQ(vmo_byte(vmo, 4092), 0x22);
    CHECK_EQ(vmo_byte(vmo, 4093), 0x24);
    CHECK_EQ(vmo_byte(vmo, 4099), 0x24);
    CHECK_EQ(vmo_byte(vmo, 4100), 0x22);
    CHECK_STATUS(rd(proc, a + 4090, 12, &actual), ZX_OK);
    CHECK_EQ(actual, 12);
    CHECK(scratch_is(0, 3, 0x22) && scratch_is(3, 7, 0x24) && scratch_is(10, 2, 0x22));

    /* A full 64 MiB read and write through one mapping. */
    zx_handle_t large = make(MAX_CALL, 0);
    CHECK_STATUS(vmo_fill(large, 0, 1, 0x31), ZX_OK);
    CHECK_STATUS(vmo_fill(large, MAX_CALL - 1, 1, 0x32), ZX_OK);
    zx_vaddr_t l = map_ok(vmar, RW, 0, large, 0, MAX_CALL);
    memset(big, 0xEE, MAX_CALL);
    CHECK_STATUS(zx_process_read_memory(proc, l, big, MAX_CALL, &actual), ZX_OK);
    CHECK_EQ(actual, MAX_CALL);
    CHECK_EQ(big[0], 0x31);
    CHECK_EQ(big[1], 0);
    CHECK_EQ(big[MAX_CALL / 2], 0);
    CHECK_EQ(big[MAX_CALL - 2], 0);
    CHECK_EQ(big[MAX_CALL - 1], 0x32);
    memset(big, 0x33, MAX_CALL);
    CHECK_STATUS(zx_process_write_memory(proc, l, big, MAX_CALL, &actual), ZX_OK);
    CHECK_EQ(actual, MAX_CALL);
    CHECK_EQ(committed_of(large), MAX_CALL);
    CHECK_EQ(vmo_byte(large, 0), 0x33);
    CHECK_EQ(vmo_byte(large, MAX_CALL / 3), 0x33);
    CHECK_EQ(vmo_byte(large, MAX_CALL - 1), 0x33);
    CHECK_STATUS(zx_vmar_unmap(vmar, l, MAX_CALL), ZX_OK);
    CHECK_STATUS(zx_handle_close(large), ZX_OK);

    free(big);
    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);
    end_process(proc, vmar);
}

/* ---- Addresses: unmapped, end of a mapping, end of the VMO ---- */

static void test_addresses(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t v = make_filled(2 * PAGE, 0x41);
    zx_handle_t w = make_filled(2 * PAGE, 0x51);
    size_t actual = 0;

    /* Two adjacent mappings, then a hole, then another. */
    zx_vaddr_t a = map_ok(vmar, RW, 0, v, 0, 2 * PAGE);
    zx_vaddr_t b = map_ok(vmar, RW, 0, w, 0, 2 * PAGE);
    CHECK_EQ(a, ROOT_BASE);
    CHECK_EQ(b, a + 2 * PAGE);
    zx_vaddr_t c = map_ok(vmar, RW | ZX_VM_SPECIFIC, 6 * PAGE, v, PAGE, PAGE);
    CHECK_EQ(c, ROOT_BASE + 6 * PAGE);

    /* No mapping at the address. */
    const zx_vaddr_t unmapped[] = {0,           PAGE,         ROOT_BASE - 1, ROOT_BASE - PAGE,
                                   a + 4 * PAGE, a + 5 * PAGE + 123, c + PAGE, ROOT_END - 1,
                                   ROOT_END,    (zx_vaddr_t)1 << 47, (zx_vaddr_t)1 << 63,
                                   UINTPTR_MAX, UINTPTR_MAX - 10};
    for (size_t i = 0; i < sizeof unmapped / sizeof unmapped[0]; i++) {
        if (!CHECK_STATUS(rd(proc, unmapped[i], 16, &actual), ZX_ERR_NO_MEMORY) |
            !CHECK_STATUS(mem_fill(proc, unmapped[i], 16, 1, &actual), ZX_ERR_NO_MEMORY))
            fprintf(stderr, "    (vaddr 0x%zx)\n", (size_t)unmapped[i]);
    }
    /* Just before a mapping: the address is what counts, not the range. */
    CHECK_STATUS(rd(proc, a - 1, 16, &actual), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(rd(proc, c - 8, 16, &actual), ZX_ERR_NO_MEMORY);

    /* The copy stops at the end of the mapping holding vaddr, even if another follows. */
    CHECK_STATUS(rd(proc, a, 4 * PAGE, &actual), ZX_OK);
    CHECK_EQ(actual, 2 * PAGE);
    CHECK(scratch_is(0, 2 * PAGE, 0x41));
    CHECK(scratch_is(2 * PAGE, 2 * PAGE, 0xEE)); /* nothing beyond `actual` was written */
    CHECK_STATUS(rd(proc, a + PAGE + 100, 2 * PAGE, &actual), ZX_OK);
    CHECK_EQ(actual, PAGE - 100);
    CHECK_STATUS(rd(proc, b + PAGE, 4 * PAGE, &actual), ZX_OK); /* a hole follows */
    CHECK_EQ(actual, PAGE);
    CHECK(scratch_is(0, PAGE, 0x51));
    CHECK_STATUS(mem_fill(proc, a + 2 * PAGE - 10, 20, 0x42, &actual), ZX_OK);
    CHECK_EQ(actual, 10);
    CHECK(vmo_bytes_are(v, 2 * PAGE - 10, 10, 0x42));
    CHECK(vmo_bytes_are(w, 0, 2 * PAGE, 0x51)); /* the next mapping was not touched */
    CHECK_STATUS(mem_fill(proc, c + 100, 2 * PAGE, 0x43, &actual), ZX_OK);
    CHECK_EQ(actual, PAGE - 100);
    CHECK(vmo_bytes_are(v, PAGE + 100, PAGE - 110, 0x43));
    CHECK_EQ(mem_byte(proc, a + PAGE + 100), 0x43); /* the same VMO page, seen through `a` */

    /* A mapping longer than its VMO: pages past the end fault. */
    zx_handle_t s = make_filled(PAGE, 0x61);
    zx_vaddr_t m = map_ok(vmar, RW, 0, s, 0, 3 * PAGE);
    CHECK_STATUS(rd(proc, m, 3 * PAGE, &actual), ZX_OK); /* partial */
    CHECK_EQ(actual, PAGE);
    CHECK(scratch_is(0, PAGE, 0x61));
    CHECK(scratch_is(PAGE, PAGE, 0xEE));
    CHECK_STATUS(rd(proc, m + PAGE - 1, 2, &actual), ZX_OK);
    CHECK_EQ(actual, 1);
    CHECK_STATUS(rd(proc, m + PAGE, 1, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(rd(proc, m + 2 * PAGE + 7, 100, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mem_fill(proc, m + PAGE - 5, 10, 0x62, &actual), ZX_OK);
    CHECK_EQ(actual, 5);
    CHECK(vmo_bytes_are(s, PAGE - 5, 5, 0x62));
    CHECK(vmo_bytes_are(s, 0, PAGE - 5, 0x61));
    CHECK_STATUS(mem_fill(proc, m + PAGE, 1, 0x63, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mem_fill(proc, m + 3 * PAGE - 1, 1, 0x63, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_EQ(size_of_vmo(s), PAGE);
    /* A mapping that starts past the VMO's end. */
    zx_vaddr_t past = map_ok(vmar, RW, 0, s, 4 * PAGE, PAGE);
    CHECK_STATUS(rd(proc, past, 1, &actual), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(mem_fill(proc, past, 1, 1, &actual), ZX_ERR_OUT_OF_RANGE);

    /* A resizable VMO grown under its mapping: the new pages read as zeros. */
    zx_handle_t g = make(PAGE, ZX_VMO_RESIZABLE);
    CHECK_STATUS(vmo_fill(g, 0, PAGE, 0x71), ZX_OK);
    zx_vaddr_t gm = map_ok(vmar, RW, 0, g, 0, 3 * PAGE);
    CHECK_STATUS(rd(proc, gm, 3 * PAGE, &actual), ZX_OK);
    CHECK_EQ(actual, PAGE);
    CHECK_STATUS(zx_vmo_set_size(g, 3 * PAGE), ZX_OK);
    CHECK_STATUS(rd(proc, gm, 3 * PAGE, &actual), ZX_OK);
    CHECK_EQ(actual, 3 * PAGE);
    CHECK(scratch_is(0, PAGE, 0x71) && scratch_is(PAGE, 2 * PAGE, 0));
    CHECK_STATUS(zx_vmo_set_size(g, PAGE + 1), ZX_OK); /* rounded up to two pages */
    CHECK_STATUS(rd(proc, gm + PAGE, 2 * PAGE, &actual), ZX_OK);
    CHECK_EQ(actual, PAGE);

    end_process(proc, vmar);
    zx_handle_t all[] = {g, s, w, v};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK_STATUS(zx_handle_close(all[i]), ZX_OK);
}

/* ---- Mapping permissions ---- */

static void test_permissions(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t v = make_filled(2 * PAGE, 0x81);
    size_t actual = 0;
    zx_vaddr_t rw = map_ok(vmar, RW, 0, v, 0, PAGE);
    zx_vaddr_t ro = map_ok(vmar, R, 0, v, 0, PAGE);
    zx_vaddr_t rx = map_ok(vmar, R | X, 0, v, 0, PAGE);
    zx_vaddr_t none = map_ok(vmar, 0, 0, v, 0, PAGE);
    CHECK_EQ(ro, rw + PAGE);

    CHECK_STATUS(mem_fill(proc, ro, 1, 0x82, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mem_fill(proc, ro + PAGE - 1, 1, 0x82, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mem_fill(proc, rx, 1, 0x82, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mem_fill(proc, none, 1, 0x82, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(rd(proc, none, 1, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK(vmo_bytes_are(v, 0, 2 * PAGE, 0x81));
    CHECK_STATUS(rd(proc, ro, PAGE, &actual), ZX_OK);
    CHECK_EQ(actual, PAGE);
    CHECK_STATUS(rd(proc, rx, PAGE, &actual), ZX_OK);
    CHECK_EQ(actual, PAGE);
    /* From a writable mapping into a read-only one: the copy stops at the first's end. */
    CHECK_STATUS(mem_fill(proc, rw + PAGE - 3, 6, 0x83, &actual), ZX_OK);
    CHECK_EQ(actual, 3);
    CHECK(vmo_bytes_are(v, PAGE - 3, 3, 0x83));
    CHECK_EQ(mem_byte(proc, ro + PAGE - 1), 0x83); /* the same VMO page */
    CHECK_EQ(mem_byte(proc, ro), 0x81);
    /* After a protect the permissions change for these calls at once. */
    CHECK_STATUS(zx_vmar_protect(vmar, RW, ro, PAGE), ZX_OK);
    CHECK_STATUS(mem_fill(proc, ro, 1, 0x84, &actual), ZX_OK);
    CHECK_EQ(vmo_byte(v, 0), 0x84);
    CHECK_STATUS(zx_vmar_protect(vmar, R, rw, PAGE), ZX_OK);
    CHECK_STATUS(mem_fill(proc, rw, 1, 0x85, &actual), ZX_ERR_ACCESS_DENIED);
    CHECK_EQ(vmo_byte(v, 0), 0x84);

    end_process(proc, vmar);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- Copy on write through mappings ---- */

static void test_copy_on_write(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t p = make(2 * PAGE, 0);
    uint8_t pat[2 * 4096];
    for (size_t i = 0; i < sizeof pat; i++) pat[i] = (uint8_t)(i * 13u + 1u);
    CHECK_STATUS(zx_vmo_write(p, pat, 0, sizeof pat), ZX_OK);
    zx_handle_t s1 = make_child(p, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE);
    zx_handle_t s2 = make_child(p, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE);
    size_t actual = 0;

    zx_vaddr_t m1 = map_ok(vmar, RW, 0, s1, 0, 2 * PAGE);
    zx_vaddr_t mp = map_ok(vmar, RW, 0, p, 0, 2 * PAGE);
    /* Read first: the translations point at the shared pages. */
    CHECK_STATUS(rd(proc, m1, 2 * PAGE, &actual), ZX_OK);
    CHECK(memcmp(scratch, pat, 2 * PAGE) == 0);
    CHECK_STATUS(rd(proc, mp, 2 * PAGE, &actual), ZX_OK);
    CHECK(memcmp(scratch, pat, 2 * PAGE) == 0);
    CHECK_EQ(committed_of(p), 2 * PAGE);
    CHECK_EQ(committed_of(s1), 0);

    /* The same writes through s1's mapping and with zx_vmo_write to s2. */
    const uint8_t bytes[] = {'a', 'b', 'c', 'd', 'e', 'f'};
    CHECK_STATUS(zx_process_write_memory(proc, m1 + 10, bytes, 5, &actual), ZX_OK);
    CHECK_EQ(actual, 5);
    CHECK_STATUS(zx_vmo_write(s2, bytes, 10, 5), ZX_OK);
    CHECK_EQ(committed_of(s1), PAGE);
    CHECK_EQ(committed_of(s2), PAGE);
    CHECK_STATUS(zx_process_write_memory(proc, m1 + PAGE - 3, bytes, 6, &actual), ZX_OK);
    CHECK_EQ(actual, 6);
    CHECK_STATUS(zx_vmo_write(s2, bytes, PAGE - 3, 6), ZX_OK);
    uint8_t got1[2 * 4096], got2[2 * 4096], gotp[2 * 4096];
    CHECK_STATUS(zx_vmo_read(s1, got1, 0, sizeof got1), ZX_OK);
    CHECK_STATUS(zx_vmo_read(s2, got2, 0, sizeof got2), ZX_OK);
    CHECK_STATUS(zx_vmo_read(p, gotp, 0, sizeof gotp), ZX_OK);
    CHECK(memcmp(got1, got2, sizeof got1) == 0);
    CHECK(memcmp(gotp, pat, sizeof pat) == 0); /* the parent is unaffected */
    CHECK(memcmp(got1, pat, 10) == 0 && memcmp(got1 + 10, bytes, 5) == 0);
    CHECK(memcmp(got1 + 15, pat + 15, PAGE - 18) == 0);
    CHECK(memcmp(got1 + PAGE - 3, bytes, 6) == 0);
    CHECK(memcmp(got1 + PAGE + 3, pat + PAGE + 3, PAGE - 3) == 0);
    CHECK_EQ(committed_of(p), 2 * PAGE);
    CHECK_EQ(committed_of(s1), 2 * PAGE);
    CHECK_EQ(committed_of(s2), 2 * PAGE);
    CHECK_EQ(populated_of(s1), 2 * PAGE);
    CHECK_STATUS(rd(proc, m1, 2 * PAGE, &actual), ZX_OK);
    CHECK(memcmp(scratch, got1, 2 * PAGE) == 0);
    CHECK_STATUS(rd(proc, mp, 2 * PAGE, &actual), ZX_OK);
    CHECK(memcmp(scratch, pat, 2 * PAGE) == 0);

    /* A write through the parent's mapping copies for the parent; the snapshots keep theirs. */
    CHECK_STATUS(mem_fill(proc, mp + 20, 4, 0xF0, &actual), ZX_OK);
    CHECK_EQ(vmo_byte(p, 20), 0xF0);
    CHECK_EQ(vmo_byte(s1, 20), pat[20]);
    CHECK_EQ(vmo_byte(s2, 20), pat[20]);
    CHECK_EQ(mem_byte(proc, m1 + 20), pat[20]);

    /* A snapshot of a window, mapped at an offset. */
    zx_handle_t s3 = make_child(p, ZX_VMO_CHILD_SNAPSHOT, PAGE, PAGE);
    zx_vaddr_t m3 = map_ok(vmar, RW, 0, s3, 0, PAGE);
    CHECK_EQ(mem_byte(proc, m3 + 7), pat[PAGE + 7]);
    CHECK_STATUS(mem_fill(proc, m3 + 7, 1, 0xF1, &actual), ZX_OK);
    CHECK_EQ(vmo_byte(s3, 7), 0xF1);
    CHECK_EQ(vmo_byte(p, PAGE + 7), pat[PAGE + 7]);
    CHECK_EQ(mem_byte(proc, mp + PAGE + 7), pat[PAGE + 7]);

    /* A slice: writes through its mapping reach the parent's pages (section 3). */
    zx_handle_t sl = make_child(p, ZX_VMO_CHILD_SLICE, PAGE, PAGE);
    zx_vaddr_t msl = map_ok(vmar, RW, 0, sl, 0, PAGE);
    CHECK_EQ(mem_byte(proc, msl + 9), pat[PAGE + 9]);
    CHECK_STATUS(mem_fill(proc, msl + 9, 1, 0xF2, &actual), ZX_OK);
    CHECK_EQ(vmo_byte(p, PAGE + 9), 0xF2);
    CHECK_EQ(vmo_byte(sl, 9), 0xF2);
    CHECK_EQ(mem_byte(proc, mp + PAGE + 9), 0xF2);
    CHECK_EQ(vmo_byte(s1, PAGE + 9), pat[PAGE + 9]);
    CHECK_EQ(vmo_byte(s3, 9), pat[PAGE + 9]);
    CHECK_STATUS(mem_fill(proc, mp + PAGE + 11, 1, 0xF3, &actual), ZX_OK);
    CHECK_EQ(mem_byte(proc, msl + 11), 0xF3);

    end_process(proc, vmar);
    zx_handle_t all[] = {sl, s3, s2, s1, p};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK_STATUS(zx_handle_close(all[i]), ZX_OK);
}

/* ---- Closing a process releases its mappings ---- */

static void test_release(void) {
    zx_handle_t v = make_filled(2 * PAGE, 0x91);
    zx_handle_t proc, vmar;
    size_t actual = 0;

    /* The VMAR handle closed first: the mappings stay while the process lives. */
    if (new_process(&proc, &vmar)) {
        zx_vaddr_t a = map_ok(vmar, RW, 0, v, 0, 2 * PAGE);
        map_ok(vmar, R, 0, v, PAGE, PAGE);
        CHECK_EQ(vmo_info(v).num_mappings, 2);
        CHECK_STATUS(zx_handle_close(vmar), ZX_OK);
        CHECK_EQ(vmo_info(v).num_mappings, 2);
        CHECK_EQ(mem_byte(proc, a), 0x91);
        CHECK_STATUS(zx_handle_close(proc), ZX_OK);
        CHECK_EQ(vmo_info(v).num_mappings, 0);
        CHECK_EQ(vmo_info(v).share_count, 1);
        CHECK_STATUS(rd(proc, a, 1, &actual), ZX_ERR_BAD_HANDLE);
    }

    /* The process handle closed first: the VMAR handle then answers BAD_STATE. */
    if (new_process(&proc, &vmar)) {
        zx_vaddr_t a = map_ok(vmar, RW, 0, v, 0, 2 * PAGE);
        CHECK_EQ(vmo_info(v).num_mappings, 1);
        CHECK_STATUS(zx_handle_close(proc), ZX_OK);
        CHECK_EQ(vmo_info(v).num_mappings, 0);
        zx_vaddr_t addr = 0;
        CHECK_STATUS(zx_vmar_map(vmar, R, 0, v, 0, PAGE, &addr), ZX_ERR_BAD_STATE);
        CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_ERR_BAD_STATE);
        CHECK_STATUS(zx_vmar_protect(vmar, R, a, PAGE), ZX_ERR_BAD_STATE);
        CHECK_EQ(vmo_info(v).num_mappings, 0);
        CHECK_STATUS(zx_handle_close(vmar), ZX_OK);
    }

    /* Only the last process handle counts. */
    if (new_process(&proc, &vmar)) {
        zx_vaddr_t a = map_ok(vmar, RW, 0, v, 0, 2 * PAGE);
        zx_handle_t dup = dup_with(proc, ZX_RIGHT_SAME_RIGHTS);
        CHECK_STATUS(zx_handle_close(proc), ZX_OK);
        CHECK_EQ(vmo_info(v).num_mappings, 1);
        CHECK_STATUS(mem_fill(dup, a + 1, 1, 0x92, &actual), ZX_OK);
        CHECK_EQ(vmo_byte(v, 1), 0x92);
        CHECK_STATUS(zx_handle_close(dup), ZX_OK);
        CHECK_EQ(vmo_info(v).num_mappings, 0);
        CHECK_STATUS(zx_handle_close(vmar), ZX_OK);
    }

    /* Many processes mapping the same VMO, each released in turn. */
    int bad = 0;
    for (int i = 0; i < 50; i++) {
        zx_handle_t pp = ZX_HANDLE_INVALID, vv = ZX_HANDLE_INVALID;
        if (zx_process_create(zx_job_default(), "churn", 5, 0, &pp, &vv) != ZX_OK) {
            bad++;
            continue;
        }
        zx_vaddr_t a = 0;
        bad += zx_vmar_map(vv, RW, 0, v, 0, 2 * PAGE, &a) != ZX_OK;
        uint8_t byte = (uint8_t)i;
        bad += zx_process_write_memory(pp, a + PAGE, &byte, 1, NULL) != ZX_OK;
        bad += vmo_info(v).num_mappings != 1;
        bad += zx_handle_close(pp) != ZX_OK;
        bad += vmo_info(v).num_mappings != 0;
        bad += zx_handle_close(vv) != ZX_OK;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(vmo_byte(v, PAGE), 49);
    CHECK_EQ(vmo_info(v).num_mappings, 0);

    /* A VMO whose only reference is a mapping goes with the process (its pages too). */
    zx_handle_t parent = make_filled(PAGE, 0x95);
    if (new_process(&proc, &vmar)) {
        zx_handle_t c = make_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE);
        zx_vaddr_t a = map_ok(vmar, RW, 0, c, 0, PAGE);
        CHECK_STATUS(zx_handle_close(c), ZX_OK);
        CHECK_STATUS(mem_fill(proc, a, 1, 0x96, &actual), ZX_OK);
        CHECK_EQ(mem_byte(proc, a), 0x96);
        CHECK_EQ(vmo_byte(parent, 0), 0x95);
        CHECK_EQ(vmo_info(parent).num_children, 1);
        end_process(proc, vmar);
        CHECK_EQ(vmo_info(parent).num_children, 0);
        CHECK_EQ(committed_of(parent), PAGE);
    }
    CHECK_STATUS(zx_handle_close(parent), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

int main(void) {
    test_handles();
    test_lengths_and_buffers();
    test_addresses();
    test_permissions();
    test_copy_on_write();
    test_release();
    return finish();
}
