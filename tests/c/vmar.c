/* VMARs: spec/zircon.md section 6 (zx_vmar_map / unmap / protect / allocate / destroy) with the
 * check order documented on the kernel's VMAR calls (kernel/src/zircon/vmar_calls.rs) and the
 * engine's address-space module. Hostile arguments to every call: bad, closed and wrong-type
 * handles, option bits, permissions and rights, alignment, offsets and lengths that overflow,
 * placement outside the VMAR, collisions of several shapes, SPECIFIC_OVERWRITE replacing and
 * splitting, no room, NULL out-pointers; sub-VMARs (CAN_MAP_* limits, handle rights, destroy);
 * unmap and protect splitting mappings; num_mappings and share_count; ZX_VMO_ZERO_CHILDREN kept
 * inactive by a mapped child. Root VMARs cover [16 MiB, 2^47 - 4 KiB); non-specific placement is
 * first fit from the lowest free address. Mapped memory is never dereferenced: it is reached
 * through zx_process_read_memory / write_memory on processes made with zx_process_create. */
#include <stdlib.h>

#include "check.h"
#include "mapping.h"

/* The first multiple of `align` at or above `base` that a first-fit placement can use when
 * [base, base + 2 MiB) already holds the small mappings of the alignment test: `base` itself
 * only if it is aligned and free, which it is not there. */
static zx_vaddr_t first_free_multiple(zx_vaddr_t base, zx_vaddr_t align) {
    zx_vaddr_t up = (base + align - 1) & ~(align - 1);
    return up == base ? base + align : up;
}

#define R ZX_VM_PERM_READ
#define W ZX_VM_PERM_WRITE
#define X ZX_VM_PERM_EXECUTE
#define RW (R | W)
#define SPEC ZX_VM_SPECIFIC
#define OVER ZX_VM_SPECIFIC_OVERWRITE
#define DEFAULT_VMAR_RIGHTS                                                                 \
    (ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER | ZX_RIGHT_READ | ZX_RIGHT_WRITE |             \
     ZX_RIGHT_EXECUTE | ZX_RIGHT_MAP | ZX_RIGHT_WAIT | ZX_RIGHT_INSPECT)

/* A VMO of `pages` pages whose page i is filled with base + i. */
static zx_handle_t make_paged(uint64_t pages, uint8_t base) {
    zx_handle_t h = make(pages * PAGE, 0);
    for (uint64_t i = 0; i < pages; i++)
        CHECK_STATUS(vmo_fill(h, i * PAGE, PAGE, (uint8_t)(base + i)), ZX_OK);
    return h;
}

/* Maps, expects `expected`; a mapping made anyway is left alone (its address is reported). */
#define EXPECT_MAP(vmar, options, vmar_offset, vmo, vmo_offset, len, expected)                   \
    do {                                                                                         \
        zx_vaddr_t a_ = 0;                                                                       \
        if (!CHECK_STATUS(zx_vmar_map((vmar), (options), (vmar_offset), (vmo), (vmo_offset),     \
                                      (len), &a_),                                               \
                          (expected)))                                                           \
            fprintf(stderr, "    (options 0x%x; mapped at 0x%zx)\n", (unsigned)(options),        \
                    (size_t)a_);                                                                 \
    } while (0)

static zx_status_t allocate(zx_handle_t parent, uint32_t options, size_t offset, size_t size,
                            zx_handle_t* child, zx_vaddr_t* addr) {
    *child = ZX_HANDLE_INVALID;
    *addr = 0;
    return zx_vmar_allocate(parent, options, offset, size, child, addr);
}

/* Allocates, expects `expected`, closes any handle returned. */
#define EXPECT_ALLOC(parent, options, offset, size, expected)                                   \
    do {                                                                                         \
        zx_handle_t c_ = ZX_HANDLE_INVALID;                                                      \
        zx_vaddr_t a_ = 0;                                                                       \
        zx_status_t st_ = allocate((parent), (options), (offset), (size), &c_, &a_);            \
        if (!CHECK_STATUS(st_, (expected)))                                                      \
            fprintf(stderr, "    (options 0x%x offset 0x%zx size 0x%zx)\n", (unsigned)(options), \
                    (size_t)(offset), (size_t)(size));                                           \
        if (st_ == ZX_OK) {                                                                      \
            zx_vmar_destroy(c_);                                                                 \
            zx_handle_close(c_);                                                                 \
        }                                                                                        \
    } while (0)

static uint64_t mappings_of(zx_handle_t vmo) { return vmo_info(vmo).num_mappings; }
static uint64_t shares_of(zx_handle_t vmo) { return vmo_info(vmo).share_count; }

static int zero_children_active(zx_handle_t vmo) {
    zx_signals_t observed = 0;
    zx_status_t st = zx_object_wait_one(vmo, ZX_VMO_ZERO_CHILDREN, 0, &observed);
    if (st == ZX_OK) return (observed & ZX_VMO_ZERO_CHILDREN) ? 1 : -1;
    if (st == ZX_ERR_TIMED_OUT) return (observed & ZX_VMO_ZERO_CHILDREN) ? -1 : 0;
    return -2;
}

/* ---- Handles ---- */

static void test_handles(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t vmo = make(4 * PAGE, 0);
    zx_handle_t job = zx_job_default();
    zx_handle_t closed_vmar = dup_with(vmar, ZX_RIGHT_SAME_RIGHTS);
    zx_handle_t closed_vmo = dup_with(vmo, ZX_RIGHT_SAME_RIGHTS);
    CHECK(closed_vmar != ZX_HANDLE_INVALID && closed_vmo != ZX_HANDLE_INVALID);
    CHECK_STATUS(zx_handle_close(closed_vmar), ZX_OK);
    CHECK_STATUS(zx_handle_close(closed_vmo), ZX_OK);

    /* Root VMARs are VMARs with the default VMAR rights. */
    zx_info_handle_basic_t info;
    size_t a = 0, b = 0;
    CHECK_STATUS(zx_object_get_info(zx_vmar_root_self(), ZX_INFO_HANDLE_BASIC, &info, sizeof info,
                                    &a, &b),
                 ZX_OK);
    CHECK_EQ(info.type, ZX_OBJ_TYPE_VMAR);
    CHECK_STATUS(zx_object_get_info(vmar, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &a, &b), ZX_OK);
    CHECK_EQ(info.type, ZX_OBJ_TYPE_VMAR);
    CHECK_EQ(info.rights, DEFAULT_VMAR_RIGHTS);

    /* zx_vmar_map: the VMAR handle, then the VMO handle. */
    EXPECT_MAP(ZX_HANDLE_INVALID, R, 0, vmo, 0, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_MAP(closed_vmar, R, 0, vmo, 0, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_MAP(vmar, R, 0, ZX_HANDLE_INVALID, 0, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_MAP(vmar, R, 0, closed_vmo, 0, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_MAP(vmo, R, 0, vmo, 0, PAGE, ZX_ERR_WRONG_TYPE);   /* VMO given as the VMAR */
    EXPECT_MAP(vmar, R, 0, vmar, 0, PAGE, ZX_ERR_WRONG_TYPE); /* VMAR given as the VMO */
    EXPECT_MAP(proc, R, 0, vmo, 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_MAP(job, R, 0, vmo, 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_MAP(vmar, R, 0, proc, 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_MAP(vmar, R, 0, job, 0, PAGE, ZX_ERR_WRONG_TYPE);
    /* Order: the VMAR handle first, handles before everything else. */
    EXPECT_MAP(vmo, R, 0, closed_vmo, 0, PAGE, ZX_ERR_WRONG_TYPE);
    EXPECT_MAP(closed_vmar, R, 0, vmar, 0, PAGE, ZX_ERR_BAD_HANDLE);
    EXPECT_MAP(ZX_HANDLE_INVALID, W | (1u << 31), 1, vmo, 1, 0, ZX_ERR_BAD_HANDLE);
    EXPECT_MAP(vmar, W | (1u << 31), 1, vmar, 1, 0, ZX_ERR_WRONG_TYPE);
    EXPECT_MAP(vmar, W | (1u << 31), 1, closed_vmo, 1, 0, ZX_ERR_BAD_HANDLE);
    CHECK_EQ(mappings_of(vmo), 0);

    /* The other calls. */
    zx_handle_t child = ZX_HANDLE_INVALID;
    zx_vaddr_t addr = 0;
    CHECK_STATUS(zx_vmar_unmap(ZX_HANDLE_INVALID, ROOT_BASE, PAGE), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmar_unmap(closed_vmar, ROOT_BASE, PAGE), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmar_unmap(vmo, ROOT_BASE, PAGE), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmar_unmap(proc, ROOT_BASE, PAGE), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmar_unmap(vmo, 1, 0), ZX_ERR_WRONG_TYPE); /* handle before arguments */
    CHECK_STATUS(zx_vmar_protect(ZX_HANDLE_INVALID, R, ROOT_BASE, PAGE), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmar_protect(closed_vmar, R, ROOT_BASE, PAGE), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmar_protect(vmo, R, ROOT_BASE, PAGE), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmar_protect(vmo, W | (1u << 31), 1, 0), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmar_allocate(ZX_HANDLE_INVALID, ZX_VM_CAN_MAP_READ, 0, PAGE, &child, &addr),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmar_allocate(closed_vmar, ZX_VM_CAN_MAP_READ, 0, PAGE, &child, &addr),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmar_allocate(vmo, ZX_VM_CAN_MAP_READ, 0, PAGE, &child, &addr),
                 ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmar_allocate(job, ZX_VM_CAN_MAP_READ, 0, PAGE, &child, &addr),
                 ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmar_allocate(vmo, R | (1u << 31), 1, 0, &child, &addr), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmar_destroy(ZX_HANDLE_INVALID), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmar_destroy(closed_vmar), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmar_destroy(vmo), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmar_destroy(proc), ZX_ERR_WRONG_TYPE);

    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);
    end_process(proc, vmar);
}

/* ---- zx_vmar_map: options, permissions, rights, offsets, lengths (each alone, then order) ---- */

static void test_map_arguments(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t vmo = make(4 * PAGE, 0);
    zx_handle_t rvmo = make(4 * PAGE, ZX_VMO_RESIZABLE);
    zx_handle_t no_map = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_MAP);
    zx_handle_t no_read = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    zx_handle_t no_write = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t no_exec = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_EXECUTE);
    zx_handle_t rno_map = dup_with(rvmo, ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_INSPECT);
    zx_handle_t vmar_no_write = dup_with(vmar, DEFAULT_VMAR_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t vmar_no_exec = dup_with(vmar, DEFAULT_VMAR_RIGHTS & ~ZX_RIGHT_EXECUTE);
    zx_handle_t vmar_no_read = dup_with(vmar, DEFAULT_VMAR_RIGHTS & ~ZX_RIGHT_READ);
    CHECK(no_map && no_read && no_write && no_exec && rno_map && vmar_no_write && vmar_no_exec &&
          vmar_no_read);
    const uint64_t top = 0xFFFFFFFFFFFFF000ull; /* page aligned; + a page overflows */

    /* Unknown option bits, CAN_MAP_* and COMPACT (allocate-only) bits. */
    const uint32_t bad_bits[] = {1u << 3,  1u << 12, 1u << 15, 1u << 20, 1u << 23,
                                 1u << 30, 1u << 31, ZX_VM_CAN_MAP_SPECIFIC, ZX_VM_CAN_MAP_READ,
                                 ZX_VM_CAN_MAP_WRITE, ZX_VM_CAN_MAP_EXECUTE};
    for (size_t i = 0; i < sizeof bad_bits / sizeof bad_bits[0]; i++)
        EXPECT_MAP(vmar, R | bad_bits[i], 0, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    /* The alignment field: 0 or 10..32. */
    const uint32_t bad_align[] = {1, 2, 5, 9};
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++)
        EXPECT_MAP(vmar, R | (bad_align[i] << ZX_VM_ALIGN_BASE), 0, vmo, 0, PAGE,
                   ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | ZX_VM_MAP_RANGE | OVER, 0, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    /* Write or execute without read. */
    EXPECT_MAP(vmar, W, 0, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, X, 0, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, W | X, 0, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    /* Offsets and length. */
    EXPECT_MAP(vmar, R | SPEC, 1, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | SPEC, PAGE + 8, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R, 0, vmo, 1, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R, 0, vmo, PAGE - 1, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R, 0, vmo, 0, 0, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, 0, 0, vmo, 0, 0, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R, PAGE, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS); /* offset without SPECIFIC */
    EXPECT_MAP(vmar, R | ZX_VM_MAP_RANGE, PAGE, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    /* Rights of the VMO handle: MAP even for no permissions, then one per permission. */
    EXPECT_MAP(vmar, R, 0, no_map, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar, 0, 0, no_map, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar, R, 0, no_read, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar, RW, 0, no_write, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar, R | X, 0, no_exec, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar, RW | X, 0, no_exec, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    /* A snapshot child loses EXECUTE (section 3). */
    zx_handle_t child = snap(vmo, 4 * PAGE);
    CHECK_EQ(rights_of(child) & ZX_RIGHT_EXECUTE, 0);
    EXPECT_MAP(vmar, R | X, 0, child, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    /* REQUIRE_NON_RESIZABLE on a resizable VMO. */
    EXPECT_MAP(vmar, R | ZX_VM_REQUIRE_NON_RESIZABLE, 0, rvmo, 0, PAGE, ZX_ERR_NOT_SUPPORTED);
    /* Length rounding and vmo_offset + len overflow. */
    EXPECT_MAP(vmar, R, 0, vmo, top, PAGE, ZX_ERR_OUT_OF_RANGE);
    EXPECT_MAP(vmar, R, 0, vmo, top, 1, ZX_ERR_OUT_OF_RANGE);
    EXPECT_MAP(vmar, R, 0, vmo, PAGE, (size_t)top, ZX_ERR_OUT_OF_RANGE);
    EXPECT_MAP(vmar, R, 0, vmo, 0, SIZE_MAX, ZX_ERR_OUT_OF_RANGE);
    EXPECT_MAP(vmar, R, 0, vmo, 0, SIZE_MAX - PAGE + 2, ZX_ERR_OUT_OF_RANGE);
    EXPECT_MAP(vmar, R | SPEC, 0, vmo, 0, SIZE_MAX - 100, ZX_ERR_OUT_OF_RANGE);
    /* ... but an aligned length near SIZE_MAX at offset 0 does not overflow: no room. */
    EXPECT_MAP(vmar, R, 0, vmo, 0, (size_t)top, ZX_ERR_NO_RESOURCES);
    /* Rights of the VMAR handle, one per permission. */
    EXPECT_MAP(vmar_no_write, RW, 0, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar_no_exec, R | X, 0, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar_no_read, R, 0, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    CHECK_EQ(mappings_of(vmo), 0);
    CHECK_EQ(mappings_of(rvmo), 0);
    CHECK_EQ(mappings_of(child), 0);

    /* Order of the checks, two errors at a time (the earlier one wins). */
    EXPECT_MAP(vmar, W | (1u << 12), 0, no_map, 1, 0, ZX_ERR_INVALID_ARGS);   /* bits < rights */
    EXPECT_MAP(vmar, R | (5u << ZX_VM_ALIGN_BASE), 0, no_map, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, W, 0, no_map, 0, PAGE, ZX_ERR_INVALID_ARGS);             /* perms < rights */
    EXPECT_MAP(vmar, X, 0, no_exec, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R, 0, no_map, 0, 0, ZX_ERR_INVALID_ARGS);                /* len < rights */
    EXPECT_MAP(vmar, R, 0, no_read, 1, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R, PAGE, no_map, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | ZX_VM_REQUIRE_NON_RESIZABLE, 0, rno_map, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar, R, 0, no_read, top, PAGE, ZX_ERR_ACCESS_DENIED);         /* rights < range */
    EXPECT_MAP(vmar, R | ZX_VM_REQUIRE_NON_RESIZABLE, 0, rvmo, top, PAGE, ZX_ERR_NOT_SUPPORTED);
    EXPECT_MAP(vmar_no_write, RW, 0, vmo, top, PAGE, ZX_ERR_OUT_OF_RANGE);    /* range < VMAR */
    EXPECT_MAP(vmar_no_write, RW, 0, no_write, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(vmar_no_write, RW | SPEC, ROOT_SIZE, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);

    /* What is allowed. */
    zx_vaddr_t a;
    a = map_ok(vmar, 0, 0, vmo, 0, PAGE); /* no permission at all */
    CHECK_EQ(mem_byte(proc, a), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, 0, 0, no_read, 0, PAGE); /* MAP without READ, no permission */
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, R, 0, no_write, 0, PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, RW, 0, no_exec, 0, PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, R | X, 0, vmo, 0, PAGE); /* default VMO rights include EXECUTE */
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, RW | X, 0, vmo, 0, PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, RW, 0, child, 0, PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, RW | ZX_VM_REQUIRE_NON_RESIZABLE, 0, vmo, 0, PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, RW, 0, rvmo, 0, PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar_no_write, R, 0, vmo, 0, PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    a = map_ok(vmar, R | SPEC, 0, vmo, 0, PAGE); /* SPECIFIC at offset 0 */
    CHECK_EQ(a, ROOT_BASE);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    /* A length that is not a page multiple is rounded up. */
    a = map_ok(vmar, RW, 0, vmo, 0, PAGE + 1);
    CHECK_EQ(a, ROOT_BASE);
    CHECK_EQ(mem_byte(proc, a + PAGE), 0);
    CHECK_EQ(mem_byte(proc, a + 2 * PAGE), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, 2 * PAGE), ZX_OK);
    /* A VMO offset: the mapping starts at that page. */
    CHECK_STATUS(vmo_fill(vmo, 2 * PAGE, PAGE, 0x42), ZX_OK);
    a = map_ok(vmar, R, 0, vmo, 2 * PAGE, PAGE);
    CHECK_EQ(mem_byte(proc, a), 0x42);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK);
    /* ZX_VM_MAP_RANGE is accepted and changes nothing visible. */
    a = map_ok(vmar, RW | ZX_VM_MAP_RANGE, 0, vmo, 0, 4 * PAGE);
    CHECK_EQ(mem_byte(proc, a + 2 * PAGE + 5), 0x42);
    CHECK_EQ(mem_byte(proc, a), 0);
    CHECK_STATUS(mem_poke(proc, a + 2 * PAGE, 0x43), ZX_OK);
    CHECK_EQ(vmo_byte(vmo, 2 * PAGE), 0x43);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, 4 * PAGE), ZX_OK);
    /* Alignment: 1 KiB is a page; larger ones place at a multiple (first fit). */
    a = map_ok(vmar, R | ZX_VM_ALIGN_1KB, 0, vmo, 0, PAGE);
    CHECK_EQ(a, ROOT_BASE);
    zx_vaddr_t b = map_ok(vmar, R | ZX_VM_ALIGN_1MB, 0, vmo, 0, PAGE);
    CHECK_EQ(b, ROOT_BASE + (1u << 20));
    zx_vaddr_t c = map_ok(vmar, R | ZX_VM_ALIGN_4KB, 0, vmo, 0, PAGE);
    CHECK_EQ(c, ROOT_BASE + PAGE);
    zx_vaddr_t d = map_ok(vmar, R | (31u << ZX_VM_ALIGN_BASE), 0, vmo, 0, PAGE);
    CHECK_EQ(d, first_free_multiple(ROOT_BASE, (zx_vaddr_t)1 << 31));
    /* ZX_VM_ALIGN_4GB (32 << ZX_VM_ALIGN_BASE) is declared by the header and documented as
     * accepted ("the field is 0 (a page) or 10..=32"). */
    zx_vaddr_t e = map_ok(vmar, R | ZX_VM_ALIGN_4GB, 0, vmo, 0, PAGE);
    zx_vaddr_t e_expected = first_free_multiple(ROOT_BASE, (zx_vaddr_t)1 << 32);
    if (e_expected == d) e_expected += (zx_vaddr_t)1 << 32;
    CHECK_EQ(e, e_expected);
    /* SPECIFIC with an alignment the place does not have. */
    EXPECT_MAP(vmar, R | SPEC | ZX_VM_ALIGN_1MB, 0x300000 + PAGE, vmo, 0, PAGE,
               ZX_ERR_INVALID_ARGS);
    zx_vaddr_t f = map_ok(vmar, R | SPEC | ZX_VM_ALIGN_1MB, 0x300000, vmo, 0, PAGE);
    CHECK_EQ(f, ROOT_BASE + 0x300000);
    CHECK_EQ(mappings_of(vmo), 5u + (e != 0)); /* (e counted only if it was made) */
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_BASE, (size_t)1 << 33), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);

    /* Mapping into the calling process: an address in the user range (never dereferenced). */
    zx_vaddr_t self = map_ok(zx_vmar_root_self(), RW, 0, vmo, 0, 2 * PAGE);
    CHECK(self >= ROOT_BASE && self + 2 * PAGE <= ROOT_END);
    CHECK_EQ(self % PAGE, 0);
    CHECK_EQ(mappings_of(vmo), 1);
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), self, 2 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);

    zx_handle_t all[] = {child, no_map, no_read, no_write, no_exec, rno_map, vmar_no_write,
                         vmar_no_exec, vmar_no_read, rvmo, vmo};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK_STATUS(zx_handle_close(all[i]), ZX_OK);
    end_process(proc, vmar);
}

/* ---- Placement: first fit, SPECIFIC inside / outside, collisions, overwrite, no room ---- */

static void test_placement(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t vmo = make(4 * PAGE, 0);

    /* First fit from the lowest free address. */
    zx_vaddr_t m1 = map_ok(vmar, R, 0, vmo, 0, 2 * PAGE);
    zx_vaddr_t m2 = map_ok(vmar, R, 0, vmo, 0, PAGE);
    CHECK_EQ(m1, ROOT_BASE);
    CHECK_EQ(m2, ROOT_BASE + 2 * PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, m1, 2 * PAGE), ZX_OK);
    zx_vaddr_t m3 = map_ok(vmar, R, 0, vmo, 0, PAGE);
    CHECK_EQ(m3, ROOT_BASE);
    zx_vaddr_t m4 = map_ok(vmar, R, 0, vmo, 0, 2 * PAGE); /* the one-page hole is too small */
    CHECK_EQ(m4, ROOT_BASE + 3 * PAGE);
    zx_vaddr_t m5 = map_ok(vmar, R, 0, vmo, 0, PAGE);
    CHECK_EQ(m5, ROOT_BASE + PAGE);
    CHECK_EQ(mappings_of(vmo), 4);
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_BASE, 5 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);

    /* SPECIFIC: vmar_offset is relative to the VMAR's base. */
    zx_vaddr_t s = map_ok(vmar, R | SPEC, 0x40000, vmo, 0, PAGE);
    CHECK_EQ(s, ROOT_BASE + 0x40000);
    CHECK_STATUS(zx_vmar_unmap(vmar, s, PAGE), ZX_OK);
    /* Outside the VMAR. */
    EXPECT_MAP(vmar, R | SPEC, ROOT_SIZE, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | SPEC, ROOT_SIZE - PAGE, vmo, 0, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | SPEC, ROOT_SIZE + PAGE, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | SPEC, (size_t)1 << 60, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | SPEC, SIZE_MAX - PAGE + 1, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | SPEC, PAGE, vmo, 0, ROOT_SIZE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | OVER, ROOT_SIZE, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    /* The last page is inside; the whole VMAR at offset 0 too. */
    zx_vaddr_t last = map_ok(vmar, R | SPEC, ROOT_SIZE - PAGE, vmo, 0, PAGE);
    CHECK_EQ(last, ROOT_END - PAGE);
    CHECK_EQ(mem_byte(proc, last), 0);
    CHECK_STATUS(zx_vmar_unmap(vmar, last, PAGE), ZX_OK);
    zx_vaddr_t whole = map_ok(vmar, R | SPEC, 0, vmo, 0, ROOT_SIZE);
    CHECK_EQ(whole, ROOT_BASE);
    EXPECT_MAP(vmar, R, 0, vmo, 0, PAGE, ZX_ERR_NO_RESOURCES);
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_BASE, ROOT_SIZE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);

    /* Collisions with a 4-page mapping at offset O: every overlap shape. */
    const size_t o = 0x100000;
    zx_vaddr_t m = map_ok(vmar, RW | SPEC, o, vmo, 0, 4 * PAGE);
    CHECK_EQ(m, ROOT_BASE + o);
    EXPECT_MAP(vmar, R | SPEC, o, vmo, 0, 4 * PAGE, ZX_ERR_ALREADY_EXISTS);         /* same */
    EXPECT_MAP(vmar, R | SPEC, o, vmo, 0, PAGE, ZX_ERR_ALREADY_EXISTS);             /* first page */
    EXPECT_MAP(vmar, R | SPEC, o - PAGE, vmo, 0, 2 * PAGE, ZX_ERR_ALREADY_EXISTS);  /* start */
    EXPECT_MAP(vmar, R | SPEC, o + 3 * PAGE, vmo, 0, 2 * PAGE, ZX_ERR_ALREADY_EXISTS); /* end */
    EXPECT_MAP(vmar, R | SPEC, o + PAGE, vmo, 0, PAGE, ZX_ERR_ALREADY_EXISTS);      /* inside */
    EXPECT_MAP(vmar, R | SPEC, o + 3 * PAGE, vmo, 0, PAGE, ZX_ERR_ALREADY_EXISTS);  /* last page */
    EXPECT_MAP(vmar, R | SPEC, o - PAGE, vmo, 0, 6 * PAGE, ZX_ERR_ALREADY_EXISTS);  /* covering */
    EXPECT_MAP(vmar, R | SPEC, o - 8 * PAGE, vmo, 0, 9 * PAGE, ZX_ERR_ALREADY_EXISTS);
    CHECK_EQ(mappings_of(vmo), 1);
    /* Adjacent on both sides is fine. */
    zx_vaddr_t before = map_ok(vmar, R | SPEC, o - PAGE, vmo, 0, PAGE);
    zx_vaddr_t after = map_ok(vmar, R | SPEC, o + 4 * PAGE, vmo, 0, PAGE);
    CHECK_EQ(before, m - PAGE);
    CHECK_EQ(after, m + 4 * PAGE);
    CHECK_EQ(mappings_of(vmo), 3);
    /* Collision across several mappings, and a non-specific map skips them all. */
    EXPECT_MAP(vmar, R | SPEC, o - PAGE, vmo, 0, 6 * PAGE, ZX_ERR_ALREADY_EXISTS);
    CHECK_STATUS(zx_vmar_unmap(vmar, before, 6 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);

    /* A sub-VMAR in the way. */
    zx_handle_t sub;
    zx_vaddr_t sub_addr;
    CHECK_STATUS(allocate(vmar, ZX_VM_CAN_MAP_READ | SPEC, 0x200000, 4 * PAGE, &sub, &sub_addr),
                 ZX_OK);
    CHECK_EQ(sub_addr, ROOT_BASE + 0x200000);
    EXPECT_MAP(vmar, R | SPEC, 0x200000 + PAGE, vmo, 0, PAGE, ZX_ERR_ALREADY_EXISTS);
    EXPECT_MAP(vmar, R | SPEC, 0x200000 - PAGE, vmo, 0, 2 * PAGE, ZX_ERR_ALREADY_EXISTS);
    EXPECT_MAP(vmar, R | OVER, 0x200000 - PAGE, vmo, 0, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(vmar, R | OVER, 0x200000, vmo, 0, 4 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_ALLOC(vmar, ZX_VM_CAN_MAP_READ | SPEC, 0x200000 + 3 * PAGE, 2 * PAGE,
                 ZX_ERR_ALREADY_EXISTS);
    zx_vaddr_t near = map_ok(vmar, R | SPEC, 0x200000 + 4 * PAGE, vmo, 0, PAGE);
    CHECK_EQ(near, sub_addr + 4 * PAGE);
    EXPECT_ALLOC(vmar, ZX_VM_CAN_MAP_READ | SPEC, 0x200000 + 4 * PAGE, PAGE,
                 ZX_ERR_ALREADY_EXISTS);
    CHECK_STATUS(zx_vmar_unmap(vmar, near, PAGE), ZX_OK);
    CHECK_STATUS(zx_vmar_destroy(sub), ZX_OK);
    CHECK_STATUS(zx_handle_close(sub), ZX_OK);
    /* After the destroy the place is free. */
    near = map_ok(vmar, R | SPEC, 0x200000, vmo, 0, 4 * PAGE);
    CHECK_EQ(near, ROOT_BASE + 0x200000);
    CHECK_STATUS(zx_vmar_unmap(vmar, near, 4 * PAGE), ZX_OK);

    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);
    end_process(proc, vmar);
}

static void test_overwrite(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t v = make_paged(4, 0x10);
    zx_handle_t w = make_paged(4, 0x20);
    const size_t o = 0x80000;
    zx_vaddr_t a = map_ok(vmar, RW | SPEC, o, v, 0, 4 * PAGE);
    CHECK_EQ(a, ROOT_BASE + o);
    for (int i = 0; i < 4; i++) CHECK_EQ(mem_byte(proc, a + (zx_vaddr_t)i * PAGE), 0x10 + i);

    /* Overwrite the second page with W's first: V's mapping is split in two. */
    zx_vaddr_t b = map_ok(vmar, R | OVER, o + PAGE, w, 0, PAGE);
    CHECK_EQ(b, a + PAGE);
    CHECK_EQ(mappings_of(v), 2);
    CHECK_EQ(mappings_of(w), 1);
    CHECK_EQ(mem_byte(proc, a), 0x10);
    CHECK_EQ(mem_byte(proc, a + PAGE), 0x20);
    CHECK_EQ(mem_byte(proc, a + 2 * PAGE), 0x12);
    CHECK_EQ(mem_byte(proc, a + 3 * PAGE), 0x13);
    CHECK_STATUS(mem_poke(proc, a + PAGE, 1), ZX_ERR_ACCESS_DENIED); /* W's mapping is R */
    CHECK_STATUS(mem_poke(proc, a + 2 * PAGE + 1, 0x99), ZX_OK);    /* V's piece is RW */
    CHECK_EQ(vmo_byte(v, 2 * PAGE + 1), 0x99);

    /* Overwrite V's whole right piece (and the rest) with W's pages 2..3. */
    zx_vaddr_t c = map_ok(vmar, RW | OVER, o + 2 * PAGE, w, 2 * PAGE, 2 * PAGE);
    CHECK_EQ(c, a + 2 * PAGE);
    CHECK_EQ(mappings_of(v), 1);
    CHECK_EQ(mappings_of(w), 2);
    CHECK_EQ(mem_byte(proc, a + 2 * PAGE), 0x22);
    CHECK_EQ(mem_byte(proc, a + 3 * PAGE), 0x23);

    /* Overwrite everything, and more (beyond V's end is allowed), with V from page 0. */
    zx_vaddr_t d = map_ok(vmar, R | OVER, o - PAGE, v, 0, 6 * PAGE);
    CHECK_EQ(d, a - PAGE);
    CHECK_EQ(mappings_of(v), 1);
    CHECK_EQ(mappings_of(w), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(mem_byte(proc, d + (zx_vaddr_t)i * PAGE), 0x10 + i);
    CHECK_EQ(mem_byte(proc, d + 4 * PAGE), ZX_ERR_OUT_OF_RANGE);
    CHECK_EQ(mem_byte(proc, d + 5 * PAGE), ZX_ERR_OUT_OF_RANGE);

    /* Overwrite with several mappings under it, splitting both ends. */
    zx_vaddr_t e = map_ok(vmar, R | SPEC, o + 5 * PAGE, w, 0, 2 * PAGE);
    CHECK_EQ(e, a + 5 * PAGE);
    CHECK_EQ(mappings_of(w), 1);
    zx_vaddr_t f = map_ok(vmar, R | OVER, o + 3 * PAGE, w, 3 * PAGE, 3 * PAGE);
    CHECK_EQ(f, a + 3 * PAGE);
    CHECK_EQ(mappings_of(v), 1); /* [a - P, a + 3P) remains */
    CHECK_EQ(mappings_of(w), 2); /* the new one and [a + 6P, a + 7P) */
    CHECK_EQ(mem_byte(proc, a + 2 * PAGE), 0x13);
    CHECK_EQ(mem_byte(proc, a + 3 * PAGE), 0x23);
    CHECK_EQ(mem_byte(proc, a + 4 * PAGE), ZX_ERR_OUT_OF_RANGE); /* W page 4: past its end */
    CHECK_EQ(mem_byte(proc, a + 6 * PAGE), 0x21);
    CHECK_EQ(mem_byte(proc, a + 7 * PAGE), ZX_ERR_NO_MEMORY);

    /* Overwrite into empty space is a plain specific mapping. */
    zx_vaddr_t g = map_ok(vmar, R | OVER, 0x400000, v, 0, PAGE);
    CHECK_EQ(g, ROOT_BASE + 0x400000);
    CHECK_EQ(mappings_of(v), 2);

    end_process(proc, vmar);
    CHECK_EQ(mappings_of(v), 0);
    CHECK_EQ(mappings_of(w), 0);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
    CHECK_STATUS(zx_handle_close(w), ZX_OK);
}

static void test_no_room_and_null_out(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t vmo = make(PAGE, 0);
    /* A little more than half, so that what is left is smaller. */
    const size_t half = ((ROOT_SIZE / 2) & ~(size_t)(PAGE - 1)) + PAGE;

    /* Mappings may reach beyond the VMO's end; the VMAR's size is the limit. */
    EXPECT_MAP(vmar, R, 0, vmo, 0, (size_t)1 << 47, ZX_ERR_NO_RESOURCES);
    EXPECT_MAP(vmar, R, 0, vmo, 0, ROOT_SIZE + PAGE, ZX_ERR_NO_RESOURCES);
    zx_vaddr_t a = map_ok(vmar, R, 0, vmo, 0, half);
    CHECK_EQ(a, ROOT_BASE);
    EXPECT_MAP(vmar, R, 0, vmo, 0, half, ZX_ERR_NO_RESOURCES); /* the rest is smaller */
    zx_vaddr_t b = map_ok(vmar, R, 0, vmo, 0, ROOT_SIZE - half);
    CHECK_EQ(b, ROOT_BASE + half);
    EXPECT_MAP(vmar, R, 0, vmo, 0, PAGE, ZX_ERR_NO_RESOURCES);
    EXPECT_ALLOC(vmar, ZX_VM_CAN_MAP_READ, 0, PAGE, ZX_ERR_NO_RESOURCES);
    CHECK_EQ(mappings_of(vmo), 2);
    CHECK_EQ(mem_byte(proc, a), 0);
    CHECK_EQ(mem_byte(proc, a + PAGE), ZX_ERR_OUT_OF_RANGE);
    CHECK_EQ(mem_byte(proc, ROOT_END - 1), ZX_ERR_OUT_OF_RANGE);
    /* Room again. */
    CHECK_STATUS(zx_vmar_unmap(vmar, a + PAGE, PAGE), ZX_OK);
    zx_vaddr_t c = map_ok(vmar, R, 0, vmo, 0, PAGE);
    CHECK_EQ(c, ROOT_BASE + PAGE);
    CHECK_EQ(mappings_of(vmo), 4); /* the first one was split by the unmap */
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_BASE, ROOT_SIZE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);

    /* A NULL mapped_addr: INVALID_ARGS after every other check, and the mapping is gone. */
    CHECK_STATUS(zx_vmar_map(vmar, R, 0, vmo, 0, PAGE, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(mappings_of(vmo), 0);
    CHECK_EQ(mem_byte(proc, ROOT_BASE), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_vmar_map(vmar, R | SPEC, 0x10000, vmo, 0, 3 * PAGE, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(mappings_of(vmo), 0);
    zx_handle_t no_map = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_MAP);
    CHECK_STATUS(zx_vmar_map(vmar, R, 0, no_map, 0, PAGE, NULL), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_map(vmar, R, 0, vmo, 0, SIZE_MAX, NULL), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmar_map(ZX_HANDLE_INVALID, R, 0, vmo, 0, PAGE, NULL), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_handle_close(no_map), ZX_OK);
    /* ... and the places are free. */
    zx_vaddr_t d = map_ok(vmar, R, 0, vmo, 0, PAGE);
    CHECK_EQ(d, ROOT_BASE);
    zx_vaddr_t e = map_ok(vmar, R | SPEC, 0x10000, vmo, 0, 3 * PAGE);
    CHECK_EQ(e, ROOT_BASE + 0x10000);
    CHECK_EQ(mappings_of(vmo), 2);
    /* A NULL out-pointer beside an existing mapping removes only the new one. */
    CHECK_STATUS(zx_vmar_map(vmar, R, 0, vmo, 0, PAGE, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(mappings_of(vmo), 2);
    CHECK_EQ(mem_byte(proc, d), 0);
    CHECK_EQ(mem_byte(proc, ROOT_BASE + PAGE), ZX_ERR_NO_MEMORY);

    /* zx_vmar_allocate with a NULL out-pointer: INVALID_ARGS, and no VMAR is left. */
    zx_handle_t sub = ZX_HANDLE_INVALID;
    zx_vaddr_t sub_addr = 0;
    CHECK_STATUS(zx_vmar_allocate(vmar, ZX_VM_CAN_MAP_READ, 0, PAGE, NULL, &sub_addr),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_allocate(vmar, ZX_VM_CAN_MAP_READ, 0, PAGE, &sub, NULL),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_allocate(vmar, ZX_VM_CAN_MAP_READ | SPEC, 0x20000, PAGE, &sub, NULL),
                 ZX_ERR_INVALID_ARGS);
    zx_vaddr_t f = map_ok(vmar, R, 0, vmo, 0, PAGE);
    CHECK_EQ(f, ROOT_BASE + PAGE);
    zx_vaddr_t g = map_ok(vmar, R | SPEC, 0x20000, vmo, 0, PAGE);
    CHECK_EQ(g, ROOT_BASE + 0x20000);

    end_process(proc, vmar);
    CHECK_EQ(mappings_of(vmo), 0);
    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);
}

/* ---- Sub-VMARs ---- */

static void test_allocate(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t vmo = make_paged(4, 0x50);
    const uint32_t CR = ZX_VM_CAN_MAP_READ, CW = ZX_VM_CAN_MAP_WRITE, CX = ZX_VM_CAN_MAP_EXECUTE;
    const uint32_t CS = ZX_VM_CAN_MAP_SPECIFIC;

    /* Argument errors. */
    EXPECT_ALLOC(vmar, CR, 0, 0, ZX_ERR_INVALID_ARGS);
    EXPECT_ALLOC(vmar, CR, 0, PAGE + 1, ZX_ERR_INVALID_ARGS);
    EXPECT_ALLOC(vmar, CR, 0, 1, ZX_ERR_INVALID_ARGS);
    const uint32_t bad_bits[] = {R, W, X, OVER, ZX_VM_MAP_RANGE, ZX_VM_REQUIRE_NON_RESIZABLE,
                                 1u << 12, 1u << 20, 1u << 30, 1u << 31};
    for (size_t i = 0; i < sizeof bad_bits / sizeof bad_bits[0]; i++)
        EXPECT_ALLOC(vmar, CR | bad_bits[i], 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_ALLOC(vmar, CR | (5u << ZX_VM_ALIGN_BASE), 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_ALLOC(vmar, CR, PAGE, PAGE, ZX_ERR_INVALID_ARGS);      /* offset without SPECIFIC */
    EXPECT_ALLOC(vmar, CR | SPEC, 1, PAGE, ZX_ERR_INVALID_ARGS);  /* unaligned offset */
    EXPECT_ALLOC(vmar, CR | SPEC, ROOT_SIZE, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_ALLOC(vmar, CR | SPEC, ROOT_SIZE - PAGE, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_ALLOC(vmar, CR, 0, (size_t)1 << 47, ZX_ERR_NO_RESOURCES);
    /* Accepted: no CAN_MAP at all, COMPACT, alignment, the last page. */
    EXPECT_ALLOC(vmar, 0, 0, PAGE, ZX_OK);
    EXPECT_ALLOC(vmar, CR | ZX_VM_COMPACT, 0, PAGE, ZX_OK);
    EXPECT_ALLOC(vmar, CR | CW | CX | CS | ZX_VM_ALIGN_1MB, 0, PAGE, ZX_OK);
    EXPECT_ALLOC(vmar, CR | SPEC, ROOT_SIZE - PAGE, PAGE, ZX_OK);
    /* ZX_VM_ALIGN_4GB, as for zx_vmar_map. */
    EXPECT_ALLOC(vmar, CR | ZX_VM_ALIGN_4GB, 0, PAGE, ZX_OK);

    /* First fit, and the handle's rights: default VMAR rights less what it cannot map. */
    zx_handle_t rw, ro;
    zx_vaddr_t rw_addr, ro_addr;
    CHECK_STATUS(allocate(vmar, CR | CW, 0, 16 * PAGE, &rw, &rw_addr), ZX_OK);
    CHECK_EQ(rw_addr, ROOT_BASE);
    CHECK_STATUS(allocate(vmar, CR | CS, 0, 16 * PAGE, &ro, &ro_addr), ZX_OK);
    CHECK_EQ(ro_addr, ROOT_BASE + 16 * PAGE);
    zx_info_handle_basic_t info;
    size_t n1 = 0, n2 = 0;
    CHECK_STATUS(zx_object_get_info(rw, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &n1, &n2), ZX_OK);
    CHECK_EQ(info.type, ZX_OBJ_TYPE_VMAR);
    CHECK(info.koid != koid_of(vmar));
    CHECK_EQ(rights_of(rw), DEFAULT_VMAR_RIGHTS & ~ZX_RIGHT_EXECUTE);
    CHECK_EQ(rights_of(ro), DEFAULT_VMAR_RIGHTS & ~(ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE));
    CHECK_EQ(rights_of(ro) & ZX_RIGHT_WRITE, 0);
    zx_vaddr_t m = map_ok(vmar, R, 0, vmo, 0, PAGE); /* after both sub-VMARs */
    CHECK_EQ(m, ROOT_BASE + 32 * PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, m, PAGE), ZX_OK);

    /* CAN_MAP limits. */
    EXPECT_MAP(rw, R | X, 0, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(ro, RW, 0, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(ro, R | X, 0, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(rw, R | SPEC, PAGE, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED); /* no CAN_MAP_SPECIFIC */
    EXPECT_MAP(rw, R | OVER, PAGE, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_MAP(rw, R | SPEC, 0, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_ALLOC(rw, CR | SPEC, PAGE, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_ALLOC(ro, CR | CW, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    EXPECT_ALLOC(ro, CR | CX, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    /* Order: the handle's rights for CAN_MAP_* before the size. */
    EXPECT_ALLOC(ro, CR | CW, 0, 0, ZX_ERR_ACCESS_DENIED);
    EXPECT_ALLOC(ro, CR | CW | (1u << 31), 0, 0, ZX_ERR_INVALID_ARGS);
    /* Placement inside a sub-VMAR: outside it -> INVALID_ARGS, full -> NO_RESOURCES. */
    EXPECT_MAP(ro, R | SPEC, 16 * PAGE, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(ro, R | SPEC, 15 * PAGE, vmo, 0, 2 * PAGE, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(rw, R, 0, vmo, 0, 17 * PAGE, ZX_ERR_NO_RESOURCES);

    /* Mappings inside the sub-VMARs work and show the VMO. */
    zx_vaddr_t a = map_ok(rw, RW, 0, vmo, 0, 2 * PAGE);
    CHECK_EQ(a, rw_addr);
    zx_vaddr_t b = map_ok(ro, R | SPEC, 3 * PAGE, vmo, 2 * PAGE, 2 * PAGE);
    CHECK_EQ(b, ro_addr + 3 * PAGE);
    zx_vaddr_t b2 = map_ok(ro, R, 0, vmo, 0, PAGE);
    CHECK_EQ(b2, ro_addr);
    CHECK_EQ(mappings_of(vmo), 3);
    CHECK_EQ(mem_byte(proc, a + PAGE), 0x51);
    CHECK_EQ(mem_byte(proc, b), 0x52);
    CHECK_EQ(mem_byte(proc, b + PAGE), 0x53);
    CHECK_STATUS(mem_poke(proc, a, 0x77), ZX_OK);
    CHECK_EQ(vmo_byte(vmo, 0), 0x77);
    CHECK_STATUS(mem_poke(proc, b, 0x77), ZX_ERR_ACCESS_DENIED);
    /* Protect cannot go beyond the sub-VMAR's handle rights. */
    CHECK_STATUS(zx_vmar_protect(ro, RW, b, PAGE), ZX_ERR_ACCESS_DENIED);
    /* The root cannot reach into a sub-VMAR's mappings piecemeal. */
    CHECK_STATUS(zx_vmar_protect(vmar, RW, b, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, b, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(mappings_of(vmo), 3);
    /* A sub-VMAR's calls stay inside it. */
    CHECK_STATUS(zx_vmar_unmap(ro, rw_addr, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(ro, ro_addr + 15 * PAGE, 2 * PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(rw, R, ro_addr, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(mappings_of(vmo), 3);

    /* Nested sub-VMARs. */
    zx_handle_t nested;
    zx_vaddr_t nested_addr;
    CHECK_STATUS(allocate(ro, CR | CS | SPEC, 8 * PAGE, 4 * PAGE, &nested, &nested_addr), ZX_OK);
    CHECK_EQ(nested_addr, ro_addr + 8 * PAGE);
    zx_vaddr_t n = map_ok(nested, R | SPEC, PAGE, vmo, 3 * PAGE, PAGE);
    CHECK_EQ(n, nested_addr + PAGE);
    CHECK_EQ(mem_byte(proc, n), 0x53);
    CHECK_EQ(mappings_of(vmo), 4);
    /* Unmap on the parent partly covering the nested VMAR: refused, nothing changes. */
    CHECK_STATUS(zx_vmar_unmap(ro, nested_addr, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(ro, b, nested_addr + PAGE - b), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(mappings_of(vmo), 4);
    CHECK_EQ(mem_byte(proc, b), 0x52);
    CHECK_EQ(mem_byte(proc, n), 0x53);
    /* Protect over the nested VMAR: refused. */
    CHECK_STATUS(zx_vmar_protect(ro, R, nested_addr, 4 * PAGE), ZX_ERR_INVALID_ARGS);
    /* Unmap covering it fully destroys it. */
    CHECK_STATUS(zx_vmar_unmap(ro, nested_addr, 4 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 3);
    CHECK_EQ(mem_byte(proc, n), ZX_ERR_NO_MEMORY);
    EXPECT_MAP(nested, R, 0, vmo, 0, PAGE, ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmar_destroy(nested), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_handle_close(nested), ZX_OK);

    /* Destroy: the mappings go, and every later call is BAD_STATE (argument checks first). */
    CHECK_STATUS(zx_vmar_destroy(ro), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 1);
    CHECK_EQ(mem_byte(proc, b), ZX_ERR_NO_MEMORY);
    CHECK_EQ(mem_byte(proc, b2), ZX_ERR_NO_MEMORY);
    EXPECT_MAP(ro, R, 0, vmo, 0, PAGE, ZX_ERR_BAD_STATE);
    EXPECT_MAP(ro, R | SPEC, 0, vmo, 0, PAGE, ZX_ERR_BAD_STATE);
    EXPECT_MAP(ro, R, 0, vmo, 0, 0, ZX_ERR_INVALID_ARGS);
    EXPECT_MAP(ro, W, 0, vmo, 0, PAGE, ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(ro, ro_addr, PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmar_unmap(ro, ro_addr, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(ro, ro_addr + 1, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(ro, R, ro_addr, PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmar_protect(ro, W, ro_addr, PAGE), ZX_ERR_INVALID_ARGS);
    EXPECT_ALLOC(ro, CR, 0, PAGE, ZX_ERR_BAD_STATE);
    EXPECT_ALLOC(ro, CR, 0, 0, ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_destroy(ro), ZX_ERR_BAD_STATE);
    CHECK_EQ(rights_of(ro), DEFAULT_VMAR_RIGHTS & ~(ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE));
    CHECK_STATUS(zx_handle_close(ro), ZX_OK);
    /* Its range is free again. */
    zx_vaddr_t again = map_ok(vmar, R | SPEC, 16 * PAGE, vmo, 0, 16 * PAGE);
    CHECK_EQ(again, ROOT_BASE + 16 * PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, again, 16 * PAGE), ZX_OK);

    /* Destroying a VMAR destroys its descendants. */
    zx_handle_t inner;
    zx_vaddr_t inner_addr;
    CHECK_STATUS(allocate(rw, CR, 0, 4 * PAGE, &inner, &inner_addr), ZX_OK);
    CHECK_EQ(inner_addr, rw_addr + 2 * PAGE); /* first fit, after the mapping */
    zx_vaddr_t i1 = map_ok(inner, R, 0, vmo, 0, PAGE);
    CHECK_EQ(mappings_of(vmo), 2);
    CHECK_EQ(mem_byte(proc, i1), 0x77);
    /* Unmap on the root covering the whole of `rw` destroys it (and `inner`). */
    CHECK_STATUS(zx_vmar_unmap(vmar, rw_addr, 16 * PAGE - PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(mappings_of(vmo), 2);
    CHECK_STATUS(zx_vmar_unmap(vmar, rw_addr, 16 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);
    EXPECT_MAP(rw, R, 0, vmo, 0, PAGE, ZX_ERR_BAD_STATE);
    EXPECT_MAP(inner, R, 0, vmo, 0, PAGE, ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmar_destroy(inner), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmar_destroy(rw), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_handle_close(inner), ZX_OK);
    CHECK_STATUS(zx_handle_close(rw), ZX_OK);

    /* Destroy of a parent with a nested child, through the parent's handle. */
    zx_handle_t outer;
    zx_vaddr_t outer_addr;
    CHECK_STATUS(allocate(vmar, CR | CW, 0, 8 * PAGE, &outer, &outer_addr), ZX_OK);
    CHECK_STATUS(allocate(outer, CR, 0, 2 * PAGE, &inner, &inner_addr), ZX_OK);
    i1 = map_ok(inner, R, 0, vmo, 0, PAGE);
    zx_vaddr_t o1 = map_ok(outer, RW, 0, vmo, 0, PAGE);
    CHECK_EQ(mappings_of(vmo), 2);
    CHECK_STATUS(zx_vmar_destroy(outer), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);
    CHECK_EQ(mem_byte(proc, i1), ZX_ERR_NO_MEMORY);
    CHECK_EQ(mem_byte(proc, o1), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_vmar_destroy(inner), ZX_ERR_BAD_STATE);
    EXPECT_ALLOC(inner, CR, 0, PAGE, ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_handle_close(inner), ZX_OK);
    CHECK_STATUS(zx_handle_close(outer), ZX_OK);

    /* A sub-VMAR that allows nothing: a mapping with no permission only. */
    zx_handle_t none;
    zx_vaddr_t none_addr;
    CHECK_STATUS(allocate(vmar, 0, 0, 2 * PAGE, &none, &none_addr), ZX_OK);
    CHECK_EQ(rights_of(none) & (ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE), 0);
    EXPECT_MAP(none, R, 0, vmo, 0, PAGE, ZX_ERR_ACCESS_DENIED);
    zx_vaddr_t z = map_ok(none, 0, 0, vmo, 0, PAGE);
    CHECK_EQ(z, none_addr);
    CHECK_EQ(mem_byte(proc, z), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_destroy(none), ZX_OK);
    CHECK_STATUS(zx_handle_close(none), ZX_OK);

    /* Root VMARs cannot be destroyed. */
    CHECK_STATUS(zx_vmar_destroy(vmar), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmar_destroy(zx_vmar_root_self()), ZX_ERR_NOT_SUPPORTED);
    m = map_ok(vmar, R, 0, vmo, 0, PAGE); /* still usable */
    CHECK_EQ(mem_byte(proc, m), 0x77);

    end_process(proc, vmar);
    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);
}

/* ---- zx_vmar_unmap ---- */

static void test_unmap(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t v = make_paged(8, 0x30);
    zx_vaddr_t a = map_ok(vmar, RW, 0, v, 0, 8 * PAGE);
    CHECK_EQ(a, ROOT_BASE);
    for (int i = 0; i < 8; i++) CHECK_EQ(mem_byte(proc, a + (zx_vaddr_t)i * PAGE), 0x30 + i);

    /* Part of a mapping: split in two; the length is rounded up to pages. */
    CHECK_STATUS(zx_vmar_unmap(vmar, a + 2 * PAGE, 3 * PAGE - 100), ZX_OK);
    CHECK_EQ(mappings_of(v), 2);
    for (int i = 0; i < 8; i++) {
        int got = mem_byte(proc, a + (zx_vaddr_t)i * PAGE + 17);
        if (i >= 2 && i < 5)
            CHECK_EQ(got, ZX_ERR_NO_MEMORY);
        else
            CHECK_EQ(got, 0x30 + i); /* still the VMO's own page */
    }
    CHECK_STATUS(mem_poke(proc, a + 6 * PAGE, 0x66), ZX_OK);
    CHECK_EQ(vmo_byte(v, 6 * PAGE), 0x66);
    /* Nothing mapped there any more: fine. */
    CHECK_STATUS(zx_vmar_unmap(vmar, a + 2 * PAGE, PAGE), ZX_OK);
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_BASE + 0x100000, 16 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(v), 2);
    /* Arguments. */
    CHECK_STATUS(zx_vmar_unmap(vmar, a + 1, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, a + PAGE - 1, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, 0, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_BASE - PAGE, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_BASE - PAGE, 2 * PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_END, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_END - PAGE, 2 * PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, SIZE_MAX), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, SIZE_MAX - PAGE + 1), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_unmap(vmar, (zx_vaddr_t)1 << 60, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_EQ(mappings_of(v), 2); /* nothing changed */
    CHECK_EQ(mem_byte(proc, a), 0x30);
    /* The last page of the VMAR and the whole VMAR are valid ranges. */
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_END - PAGE, PAGE), ZX_OK);

    /* The middle of the right piece: three pieces. */
    CHECK_STATUS(zx_vmar_unmap(vmar, a + 6 * PAGE, 1), ZX_OK);
    CHECK_EQ(mappings_of(v), 3);
    CHECK_EQ(mem_byte(proc, a + 5 * PAGE), 0x35);
    CHECK_EQ(mem_byte(proc, a + 6 * PAGE), ZX_ERR_NO_MEMORY);
    CHECK_EQ(mem_byte(proc, a + 7 * PAGE + PAGE - 1), 0x37);
    /* Across pieces and holes, partly: the ends are cut. */
    CHECK_STATUS(zx_vmar_unmap(vmar, a + PAGE, 5 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(v), 2);
    CHECK_EQ(mem_byte(proc, a), 0x30);
    CHECK_EQ(mem_byte(proc, a + PAGE), ZX_ERR_NO_MEMORY);
    CHECK_EQ(mem_byte(proc, a + 5 * PAGE), ZX_ERR_NO_MEMORY);
    CHECK_EQ(mem_byte(proc, a + 7 * PAGE), 0x37);
    /* Everything. */
    CHECK_STATUS(zx_vmar_unmap(vmar, ROOT_BASE, ROOT_SIZE), ZX_OK);
    CHECK_EQ(mappings_of(v), 0);
    CHECK_EQ(mem_byte(proc, a), ZX_ERR_NO_MEMORY);

    /* Two adjacent mappings of different VMOs, cut across the boundary. */
    zx_handle_t w = make_paged(2, 0x40);
    zx_vaddr_t p1 = map_ok(vmar, RW, 0, v, 0, 2 * PAGE);
    zx_vaddr_t p2 = map_ok(vmar, RW, 0, w, 0, 2 * PAGE);
    CHECK_EQ(p2, p1 + 2 * PAGE);
    CHECK_STATUS(zx_vmar_unmap(vmar, p1 + PAGE, 2 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(v), 1);
    CHECK_EQ(mappings_of(w), 1);
    CHECK_EQ(mem_byte(proc, p1), 0x30);
    CHECK_EQ(mem_byte(proc, p1 + PAGE), ZX_ERR_NO_MEMORY);
    CHECK_EQ(mem_byte(proc, p1 + 2 * PAGE), ZX_ERR_NO_MEMORY);
    CHECK_EQ(mem_byte(proc, p1 + 3 * PAGE), 0x41); /* W's second page, at its offset */
    CHECK_STATUS(mem_poke(proc, p1 + 3 * PAGE + 9, 0x4F), ZX_OK);
    CHECK_EQ(vmo_byte(w, PAGE + 9), 0x4F);
    CHECK_EQ(vmo_byte(w, 9), 0x40);

    end_process(proc, vmar);
    CHECK_STATUS(zx_handle_close(w), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- zx_vmar_protect ---- */

static void test_protect(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t v = make_paged(4, 0x60);
    zx_handle_t ro_vmo = dup_with(v, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t vmar_no_write = dup_with(vmar, DEFAULT_VMAR_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t child = snap(v, 4 * PAGE);
    CHECK(ro_vmo != ZX_HANDLE_INVALID && vmar_no_write != ZX_HANDLE_INVALID);

    zx_vaddr_t a = map_ok(vmar, RW, 0, v, 0, 4 * PAGE);
    CHECK_STATUS(mem_poke(proc, a, 0x01), ZX_OK);
    /* Downgrade to read-only: writes are refused, reads work. */
    CHECK_STATUS(zx_vmar_protect(vmar, R, a, 4 * PAGE), ZX_OK);
    CHECK_STATUS(mem_poke(proc, a, 0x02), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mem_poke(proc, a + 3 * PAGE, 0x02), ZX_ERR_ACCESS_DENIED);
    CHECK_EQ(mem_byte(proc, a), 0x01);
    CHECK_EQ(vmo_byte(v, 0), 0x01);
    CHECK_EQ(mappings_of(v), 1);
    /* Upgrade back (within the VMO handle's rights). */
    CHECK_STATUS(zx_vmar_protect(vmar, RW, a, 4 * PAGE), ZX_OK);
    CHECK_STATUS(mem_poke(proc, a, 0x03), ZX_OK);
    CHECK_EQ(vmo_byte(v, 0), 0x03);
    /* Part of the mapping: split. */
    CHECK_STATUS(zx_vmar_protect(vmar, R, a + PAGE, PAGE), ZX_OK);
    CHECK_EQ(mappings_of(v), 3);
    CHECK_STATUS(mem_poke(proc, a + 5, 0x04), ZX_OK);
    CHECK_STATUS(mem_poke(proc, a + PAGE + 5, 0x04), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mem_poke(proc, a + 2 * PAGE + 5, 0x04), ZX_OK);
    CHECK_EQ(mem_byte(proc, a + PAGE + 5), 0x61); /* the piece keeps its VMO offset */
    CHECK_EQ(mem_byte(proc, a + 2 * PAGE + 5), 0x04);
    CHECK_EQ(vmo_byte(v, 2 * PAGE + 5), 0x04);
    CHECK_EQ(vmo_byte(v, PAGE + 5), 0x61);
    /* The length is rounded up. */
    CHECK_STATUS(zx_vmar_protect(vmar, R, a + 3 * PAGE, 1), ZX_OK);
    CHECK_STATUS(mem_poke(proc, a + 3 * PAGE + PAGE - 1, 0x05), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mem_poke(proc, a + 2 * PAGE + PAGE - 1, 0x05), ZX_OK);
    /* Over several pieces at once. */
    CHECK_STATUS(zx_vmar_protect(vmar, RW, a, 4 * PAGE), ZX_OK);
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(mem_poke(proc, a + (zx_vaddr_t)i * PAGE + 7, 0x06), ZX_OK);
    /* No permission at all: reads are refused too; then back. */
    CHECK_STATUS(zx_vmar_protect(vmar, 0, a, PAGE), ZX_OK);
    CHECK_EQ(mem_byte(proc, a), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_protect(vmar, R | X, a, PAGE), ZX_OK); /* default VMO rights: EXECUTE */
    CHECK_EQ(mem_byte(proc, a + 7), 0x06);
    CHECK_STATUS(zx_vmar_protect(vmar, RW, a, PAGE), ZX_OK);

    /* Above the VMO handle's rights at map time. */
    zx_vaddr_t b = map_ok(vmar, R, 0, ro_vmo, 0, 2 * PAGE);
    CHECK_STATUS(zx_vmar_protect(vmar, RW, b, 2 * PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_protect(vmar, RW, b + PAGE, PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(mem_poke(proc, b, 0x07), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_protect(vmar, R, b, 2 * PAGE), ZX_OK);
    CHECK_STATUS(zx_vmar_protect(vmar, R | X, b, 2 * PAGE), ZX_OK);
    zx_vaddr_t c = map_ok(vmar, R, 0, child, 0, PAGE); /* snapshot: no EXECUTE */
    CHECK_STATUS(zx_vmar_protect(vmar, R | X, c, PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_protect(vmar, RW, c, PAGE), ZX_OK);
    CHECK_STATUS(mem_poke(proc, c, 0x08), ZX_OK);
    CHECK_EQ(vmo_byte(child, 0), 0x08);
    CHECK_EQ(vmo_byte(child, 1), 0x60); /* the snapshot was taken before any write */
    CHECK_EQ(vmo_byte(v, 0), 0x03);
    /* Raised later within the ceiling: a mapping made read-only with a full-rights handle. */
    zx_vaddr_t d = map_ok(vmar, R, 0, v, 3 * PAGE, PAGE);
    CHECK_STATUS(mem_poke(proc, d, 0x09), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_protect(vmar, RW, d, PAGE), ZX_OK);
    CHECK_STATUS(mem_poke(proc, d, 0x09), ZX_OK);
    CHECK_EQ(vmo_byte(v, 3 * PAGE), 0x09);

    /* The VMAR handle's rights. */
    CHECK_STATUS(zx_vmar_protect(vmar_no_write, RW, a, PAGE), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_protect(vmar_no_write, R, a, PAGE), ZX_OK);
    CHECK_STATUS(mem_poke(proc, a, 0x0A), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmar_protect(vmar, RW, a, PAGE), ZX_OK);

    /* Arguments. */
    CHECK_STATUS(zx_vmar_protect(vmar, W, a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, X, a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, W | X, a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R | SPEC, a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R | ZX_VM_CAN_MAP_READ, a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R | ZX_VM_MAP_RANGE, a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R | (1u << 31), a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R | ZX_VM_ALIGN_1MB, a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R, a + 1, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R, a, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R, ROOT_BASE - PAGE, 2 * PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R, ROOT_END, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar, R, a, SIZE_MAX), ZX_ERR_INVALID_ARGS);
    /* Order: the options before the handle's rights. */
    CHECK_STATUS(zx_vmar_protect(vmar_no_write, W, a, PAGE), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmar_protect(vmar_no_write, RW, a, 0), ZX_ERR_ACCESS_DENIED);
    /* Nothing above changed the mapping. */
    CHECK_STATUS(mem_poke(proc, a, 0x0B), ZX_OK);

    /* Gaps: NOT_FOUND, checked before anything changes. */
    zx_handle_t proc2, vmar2;
    if (new_process(&proc2, &vmar2)) {
        zx_vaddr_t g1 = map_ok(vmar2, RW | SPEC, 0, v, 0, 2 * PAGE);
        zx_vaddr_t g2 = map_ok(vmar2, R | SPEC, 3 * PAGE, ro_vmo, 0, PAGE);
        CHECK_EQ(g1, ROOT_BASE);
        CHECK_EQ(g2, ROOT_BASE + 3 * PAGE);
        const uint64_t before = mappings_of(v);
        CHECK_STATUS(zx_vmar_protect(vmar2, R, ROOT_BASE + 2 * PAGE, PAGE), ZX_ERR_NOT_FOUND);
        CHECK_STATUS(zx_vmar_protect(vmar2, R, ROOT_BASE + 0x100000, PAGE), ZX_ERR_NOT_FOUND);
        CHECK_STATUS(zx_vmar_protect(vmar2, R, g1, 3 * PAGE), ZX_ERR_NOT_FOUND);  /* gap at end */
        CHECK_STATUS(zx_vmar_protect(vmar2, R, g1, 4 * PAGE), ZX_ERR_NOT_FOUND);  /* gap inside */
        CHECK_STATUS(zx_vmar_protect(vmar2, R, g1 + 2 * PAGE, 2 * PAGE), ZX_ERR_NOT_FOUND);
        CHECK_STATUS(zx_vmar_protect(vmar2, R, g1, 5 * PAGE), ZX_ERR_NOT_FOUND);
        /* In address order: a gap before a mapping above its ceiling -> NOT_FOUND; the
         * ceiling before a gap -> ACCESS_DENIED. */
        CHECK_STATUS(zx_vmar_protect(vmar2, RW, g1 + 2 * PAGE, 2 * PAGE), ZX_ERR_NOT_FOUND);
        CHECK_STATUS(zx_vmar_protect(vmar2, RW, g1, 4 * PAGE), ZX_ERR_NOT_FOUND);
        CHECK_STATUS(zx_vmar_protect(vmar2, RW, g2, 2 * PAGE), ZX_ERR_ACCESS_DENIED);
        CHECK_EQ(mappings_of(v), before); /* nothing was split by the failures */
        CHECK_STATUS(mem_poke(proc2, g1, 0x0C), ZX_OK);
        CHECK_STATUS(mem_poke(proc2, g1 + PAGE, 0x0C), ZX_OK);
        /* Adjacent mappings without a gap are fine. */
        zx_vaddr_t g3 = map_ok(vmar2, RW | SPEC, 2 * PAGE, v, 2 * PAGE, PAGE);
        CHECK_EQ(g3, ROOT_BASE + 2 * PAGE);
        CHECK_STATUS(zx_vmar_protect(vmar2, R, g1, 4 * PAGE), ZX_OK);
        CHECK_STATUS(mem_poke(proc2, g1, 0x0D), ZX_ERR_ACCESS_DENIED);
        CHECK_STATUS(mem_poke(proc2, g3, 0x0D), ZX_ERR_ACCESS_DENIED);
        /* A sub-VMAR inside the range: INVALID_ARGS (after a gap: NOT_FOUND). */
        zx_handle_t sub;
        zx_vaddr_t sub_addr;
        CHECK_STATUS(allocate(vmar2, ZX_VM_CAN_MAP_READ | SPEC, 4 * PAGE, 2 * PAGE, &sub,
                              &sub_addr),
                     ZX_OK);
        CHECK_STATUS(zx_vmar_protect(vmar2, R, g1, 6 * PAGE), ZX_ERR_INVALID_ARGS);
        CHECK_STATUS(zx_vmar_protect(vmar2, R, sub_addr, 2 * PAGE), ZX_ERR_INVALID_ARGS);
        zx_vaddr_t in_sub = map_ok(sub, R, 0, v, 0, 2 * PAGE);
        CHECK_STATUS(zx_vmar_protect(sub, R, in_sub, 2 * PAGE), ZX_OK);
        CHECK_STATUS(zx_vmar_protect(sub, 0, in_sub, PAGE), ZX_OK);
        CHECK_EQ(mem_byte(proc2, in_sub), ZX_ERR_ACCESS_DENIED);
        CHECK_EQ(mem_byte(proc2, in_sub + PAGE), 0x0C); /* written through g1 above */
        CHECK_STATUS(zx_vmar_destroy(sub), ZX_OK);
        CHECK_STATUS(zx_vmar_protect(sub, R, sub_addr, PAGE), ZX_ERR_BAD_STATE);
        CHECK_STATUS(zx_handle_close(sub), ZX_OK);
        end_process(proc2, vmar2);
    }

    end_process(proc, vmar);
    CHECK_EQ(mappings_of(v), 0);
    zx_handle_t all[] = {child, ro_vmo, vmar_no_write, v};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK_STATUS(zx_handle_close(all[i]), ZX_OK);
}

/* ---- num_mappings and share_count ---- */

static void test_counts(void) {
    zx_handle_t p1, v1, p2, v2;
    if (!new_process(&p1, &v1)) return;
    if (!new_process(&p2, &v2)) return;
    zx_handle_t vmo = make_paged(2, 0x90);
    CHECK_EQ(mappings_of(vmo), 0);
    CHECK_EQ(shares_of(vmo), 1); /* never below 1 */

    zx_vaddr_t a1 = map_ok(v1, R, 0, vmo, 0, 2 * PAGE);
    CHECK_EQ(mappings_of(vmo), 1);
    CHECK_EQ(shares_of(vmo), 1);
    zx_vaddr_t a2 = map_ok(v1, RW, 0, vmo, PAGE, PAGE);
    CHECK_EQ(mappings_of(vmo), 2);
    CHECK_EQ(shares_of(vmo), 1); /* one address space */
    zx_vaddr_t b1 = map_ok(v2, R, 0, vmo, 0, PAGE);
    CHECK_EQ(b1, ROOT_BASE); /* the same address in another process */
    CHECK_EQ(a1, ROOT_BASE);
    CHECK_EQ(mappings_of(vmo), 3);
    CHECK_EQ(shares_of(vmo), 2);
    zx_vaddr_t s = map_ok(zx_vmar_root_self(), R, 0, vmo, 0, PAGE);
    CHECK_EQ(mappings_of(vmo), 4);
    CHECK_EQ(shares_of(vmo), 3);
    /* Both processes see the same VMO. */
    CHECK_STATUS(mem_poke(p1, a2, 0xEE), ZX_OK);
    CHECK_EQ(mem_byte(p1, a1 + PAGE), 0xEE);
    CHECK_EQ(vmo_byte(vmo, PAGE), 0xEE);
    CHECK_EQ(mem_byte(p2, b1), 0x90);
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), s, PAGE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 3);
    CHECK_EQ(shares_of(vmo), 2);
    /* Splitting a mapping counts the pieces; the address spaces stay the same. */
    CHECK_STATUS(zx_vmar_protect(v1, 0, a1 + PAGE, PAGE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 4);
    CHECK_EQ(shares_of(vmo), 2);
    /* Other VMOs of the family are not counted. */
    zx_handle_t c = snap(vmo, 2 * PAGE);
    CHECK_EQ(mappings_of(c), 0);
    CHECK_EQ(shares_of(c), 1);
    zx_vaddr_t ca = map_ok(v2, R, 0, c, 0, PAGE);
    CHECK_EQ(mappings_of(c), 1);
    CHECK_EQ(mappings_of(vmo), 4);
    CHECK_EQ(mem_byte(p2, ca), 0x90);
    /* The process goes: its mappings with it. */
    CHECK_STATUS(zx_handle_close(p2), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 3);
    CHECK_EQ(shares_of(vmo), 1);
    CHECK_EQ(mappings_of(c), 0);
    /* Its VMAR handle now answers BAD_STATE (process.rs: the address space is gone). */
    EXPECT_MAP(v2, R, 0, vmo, 0, PAGE, ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_handle_close(v2), ZX_OK);
    CHECK_STATUS(zx_vmar_unmap(v1, ROOT_BASE, ROOT_SIZE), ZX_OK);
    CHECK_EQ(mappings_of(vmo), 0);
    CHECK_EQ(shares_of(vmo), 1);

    /* A mapping keeps its VMO alive after its last handle closes. */
    zx_handle_t keep = make(PAGE, 0);
    CHECK_STATUS(vmo_fill(keep, 0, PAGE, 0xAB), ZX_OK);
    zx_vaddr_t k = map_ok(v1, RW, 0, keep, 0, PAGE);
    CHECK_STATUS(zx_handle_close(keep), ZX_OK);
    CHECK_EQ(mem_byte(p1, k + 3), 0xAB);
    CHECK_STATUS(mem_poke(p1, k + 3, 0xAC), ZX_OK);
    CHECK_EQ(mem_byte(p1, k + 3), 0xAC);
    CHECK_STATUS(zx_vmar_unmap(v1, k, PAGE), ZX_OK);
    CHECK_EQ(mem_byte(p1, k), ZX_ERR_NO_MEMORY);

    end_process(p1, v1);
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);
}

/* ---- ZX_VMO_ZERO_CHILDREN and mapped children ---- */

static void test_zero_children(void) {
    zx_handle_t proc, vmar;
    if (!new_process(&proc, &vmar)) return;
    zx_handle_t p = make_paged(2, 0xC0);
    CHECK_EQ(zero_children_active(p), 1);
    zx_signals_t observed = 0;

    /* Unmapping ends it. */
    zx_handle_t c = snap(p, 2 * PAGE);
    CHECK_EQ(zero_children_active(p), 0);
    CHECK_STATUS(zx_object_wait_one(p, ZX_VMO_ZERO_CHILDREN, 0, &observed), ZX_ERR_TIMED_OUT);
    CHECK_EQ(observed & ZX_VMO_ZERO_CHILDREN, 0);
    zx_vaddr_t a = map_ok(vmar, R, 0, c, 0, 2 * PAGE);
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    CHECK_EQ(zero_children_active(p), 0); /* the mapped child still exists */
    CHECK_EQ(vmo_info(p).num_children, 1);
    CHECK_EQ(mem_byte(proc, a), 0xC0);
    CHECK_STATUS(zx_vmar_unmap(vmar, a, PAGE), ZX_OK); /* part of it: still mapped */
    CHECK_EQ(zero_children_active(p), 0);
    CHECK_STATUS(zx_vmar_unmap(vmar, a + PAGE, PAGE), ZX_OK);
    CHECK_EQ(zero_children_active(p), 1);
    CHECK_STATUS(zx_object_wait_one(p, ZX_VMO_ZERO_CHILDREN, 0, &observed), ZX_OK);
    CHECK(observed & ZX_VMO_ZERO_CHILDREN);
    CHECK_EQ(vmo_info(p).num_children, 0);

    /* Destroying the VMAR that holds the mapping ends it. */
    zx_handle_t sub;
    zx_vaddr_t sub_addr;
    CHECK_STATUS(allocate(vmar, ZX_VM_CAN_MAP_READ, 0, 4 * PAGE, &sub, &sub_addr), ZX_OK);
    c = snap(p, 2 * PAGE);
    map_ok(sub, R, 0, c, 0, 2 * PAGE);
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    CHECK_EQ(zero_children_active(p), 0);
    CHECK_STATUS(zx_vmar_destroy(sub), ZX_OK);
    CHECK_EQ(zero_children_active(p), 1);
    CHECK_STATUS(zx_handle_close(sub), ZX_OK);

    /* Two mappings of the child: both must go. */
    c = snap(p, 2 * PAGE);
    zx_vaddr_t m1 = map_ok(vmar, R, 0, c, 0, PAGE);
    zx_vaddr_t m2 = map_ok(vmar, R, 0, c, PAGE, PAGE);
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    CHECK_STATUS(zx_vmar_unmap(vmar, m1, PAGE), ZX_OK);
    CHECK_EQ(zero_children_active(p), 0);
    CHECK_EQ(mem_byte(proc, m2), 0xC1);
    CHECK_STATUS(zx_vmar_unmap(vmar, m2, PAGE), ZX_OK);
    CHECK_EQ(zero_children_active(p), 1);

    /* A mapped grandchild keeps it inactive after the child and grandchild handles close. */
    c = snap(p, 2 * PAGE);
    zx_handle_t g = snap(c, 2 * PAGE);
    zx_vaddr_t ga = map_ok(vmar, R, 0, g, 0, 2 * PAGE);
    CHECK_STATUS(zx_handle_close(g), ZX_OK);
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    CHECK_EQ(zero_children_active(p), 0);
    CHECK_EQ(mem_byte(proc, ga + PAGE), 0xC1);
    CHECK_STATUS(zx_vmar_unmap(vmar, ga, 2 * PAGE), ZX_OK);
    CHECK_EQ(zero_children_active(p), 1);

    /* Closing the process handle destroys the process and its mappings. */
    c = snap(p, 2 * PAGE);
    map_ok(vmar, R, 0, c, 0, 2 * PAGE);
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    CHECK_EQ(zero_children_active(p), 0);
    CHECK_STATUS(zx_handle_close(proc), ZX_OK);
    CHECK_EQ(zero_children_active(p), 1);
    CHECK_STATUS(zx_object_wait_one(p, ZX_VMO_ZERO_CHILDREN, 0, &observed), ZX_OK);
    CHECK(observed & ZX_VMO_ZERO_CHILDREN);
    CHECK_STATUS(zx_handle_close(vmar), ZX_OK);

    /* A mapped child whose handle is still open: closing the handle after the unmap. */
    if (new_process(&proc, &vmar)) {
        c = snap(p, 2 * PAGE);
        a = map_ok(vmar, R, 0, c, 0, 2 * PAGE);
        CHECK_STATUS(zx_vmar_unmap(vmar, a, 2 * PAGE), ZX_OK);
        CHECK_EQ(zero_children_active(p), 0);
        CHECK_STATUS(zx_handle_close(c), ZX_OK);
        CHECK_EQ(zero_children_active(p), 1);
        /* A mapping of the parent itself does not count. */
        a = map_ok(vmar, R, 0, p, 0, 2 * PAGE);
        CHECK_EQ(zero_children_active(p), 1);
        end_process(proc, vmar);
    }
    CHECK_STATUS(zx_handle_close(p), ZX_OK);
}

int main(void) {
    test_handles();
    test_map_arguments();
    test_placement();
    test_overwrite();
    test_no_room_and_null_out();
    test_allocate();
    test_unmap();
    test_protect();
    test_counts();
    test_zero_children();
    return finish();
}
