/* Pinning from C: the root resource from the startup handle, a dummy IOMMU, a BTI, zx_bti_pin
 * and its pinned memory tokens (PMTs), zx_pmt_unpin, the quarantine of PMTs closed without
 * unpinning, and every rule of seed 002 about pinned pages: a SNAPSHOT of a VMO with pinned
 * pages is ZX_ERR_BAD_STATE (SNAPSHOT_AT_LEAST_ON_WRITE too: on anonymous VMOs it is a
 * snapshot), DECOMMIT and shrinking over pinned pages are ZX_ERR_BAD_STATE, slices and legacy
 * clones of pinned VMOs work, ZERO zeroes pinned pages in place, and pinned frames never move.
 * Every call is also given hostile arguments. The runner starts this program with
 * ZIRCON_FRAME_LIMIT=256 so that exhausted memory is reachable. */
#include <stdlib.h>

#include <zircon/process.h>
#include <zircon/processargs.h>
#include <zircon/syscalls/iommu.h>

#include "check.h"

#define LIMIT 256u

static zx_status_t decommit(zx_handle_t vmo, uint64_t offset, uint64_t size) {
    return zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, offset, size, NULL, 0);
}

static zx_status_t zero_range(zx_handle_t vmo, uint64_t offset, uint64_t size) {
    return zx_vmo_op_range(vmo, ZX_VMO_OP_ZERO, offset, size, NULL, 0);
}

/* LOOKUP of `pages` pages from `offset` into `out`; returns the status. */
static zx_status_t lookup(zx_handle_t vmo, uint64_t offset, uint64_t pages, zx_paddr_t* out) {
    return zx_vmo_op_range(vmo, ZX_VMO_OP_LOOKUP, offset, pages * PAGE, out,
                           pages * sizeof(zx_paddr_t));
}

static zx_handle_t new_vmo(uint64_t pages, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(pages * PAGE, options, &h), ZX_OK);
    return h;
}

static zx_obj_type_t type_of(zx_handle_t h) {
    zx_info_handle_basic_t info;
    memset(&info, 0, sizeof info);
    if (zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof info, NULL, NULL) != ZX_OK)
        return 0;
    return info.type;
}

#define RW (ZX_BTI_PERM_READ | ZX_BTI_PERM_WRITE)

int main(void) {
    const char* limit = getenv("ZIRCON_FRAME_LIMIT");
    CHECK(limit != NULL && strtoul(limit, NULL, 10) == LIMIT);

    /* ---- The root resource: a startup handle, taken once ---- */
    zx_handle_t resource = zx_take_startup_handle(PA_HND(PA_RESOURCE, 0));
    CHECK(resource != ZX_HANDLE_INVALID);
    CHECK_EQ(type_of(resource), ZX_OBJ_TYPE_RESOURCE);
    CHECK_EQ(rights_of(resource), ZX_DEFAULT_RESOURCE_RIGHTS);
    CHECK_EQ(zx_take_startup_handle(PA_HND(PA_RESOURCE, 0)), ZX_HANDLE_INVALID);
    CHECK_EQ(zx_take_startup_handle(PA_HND(PA_RESOURCE, 1)), ZX_HANDLE_INVALID);
    CHECK_EQ(zx_take_startup_handle(PA_HND(PA_PROC_SELF, 0)), ZX_HANDLE_INVALID);

    /* ---- zx_iommu_create ---- */
    static uint8_t big_desc[2 * ZX_IOMMU_MAX_DESC_LEN];
    zx_iommu_desc_dummy_t desc = {0};
    zx_handle_t iommu = ZX_HANDLE_INVALID, h = ZX_HANDLE_INVALID;
    zx_handle_t plain = new_vmo(1, 0);
    CHECK_STATUS(zx_iommu_create(ZX_HANDLE_INVALID, ZX_IOMMU_TYPE_DUMMY, &desc, sizeof desc, &h),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_iommu_create(plain, ZX_IOMMU_TYPE_DUMMY, &desc, sizeof desc, &h),
                 ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_iommu_create(resource, ZX_IOMMU_TYPE_DUMMY, big_desc,
                                 ZX_IOMMU_MAX_DESC_LEN + 1, &h),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_iommu_create(resource, ZX_IOMMU_TYPE_DUMMY, NULL, sizeof desc, &h),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_iommu_create(resource, ZX_IOMMU_TYPE_INTEL, big_desc, 64, &h),
                 ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_iommu_create(resource, 77, &desc, sizeof desc, &h), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_iommu_create(resource, ZX_IOMMU_TYPE_DUMMY, big_desc, 0, &h),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_iommu_create(resource, ZX_IOMMU_TYPE_DUMMY, big_desc, 2, &h),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_iommu_create(resource, ZX_IOMMU_TYPE_DUMMY, &desc, sizeof desc, NULL),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_iommu_create(resource, ZX_IOMMU_TYPE_DUMMY, &desc, sizeof desc, &iommu),
                 ZX_OK);
    CHECK_EQ(type_of(iommu), ZX_OBJ_TYPE_IOMMU);
    CHECK_EQ(rights_of(iommu), ZX_DEFAULT_IOMMU_RIGHTS);

    /* ---- zx_bti_create: options first, then the IOMMU handle (no right needed) ---- */
    zx_handle_t bti = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_bti_create(ZX_HANDLE_INVALID, 1, 0, &h), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_create(ZX_HANDLE_INVALID, 0, 0, &h), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_bti_create(resource, 0, 0, &h), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_bti_create(iommu, 0, 0, NULL), ZX_ERR_INVALID_ARGS);
    zx_handle_t weak_iommu = dup_with(iommu, ZX_RIGHT_INSPECT);
    CHECK_STATUS(zx_bti_create(weak_iommu, 0, 0xdeadbeef, &h), ZX_OK);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
    CHECK_STATUS(zx_handle_close(weak_iommu), ZX_OK);
    CHECK_STATUS(zx_bti_create(iommu, 0, 7, &bti), ZX_OK);
    CHECK_EQ(type_of(bti), ZX_OBJ_TYPE_BTI);
    CHECK_EQ(rights_of(bti), ZX_DEFAULT_BTI_RIGHTS);

    /* ---- A pin: pages committed into the VMO, addresses as LOOKUP reports them ---- */
    zx_handle_t vmo = new_vmo(8, 0);
    CHECK_STATUS(vmo_fill(vmo, 0, PAGE, 0x11), ZX_OK);
    zx_paddr_t addrs[64], seen[64];
    zx_handle_t pmt = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 4 * PAGE, addrs, 4, &pmt), ZX_OK);
    CHECK_EQ(committed_of(vmo), 4 * PAGE);
    CHECK_STATUS(lookup(vmo, 0, 4, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 4 * sizeof addrs[0]) == 0);
    CHECK_EQ(type_of(pmt), ZX_OBJ_TYPE_PMT);
    CHECK_EQ(rights_of(pmt), ZX_DEFAULT_PMT_RIGHTS);
    CHECK_STATUS(zx_handle_duplicate(pmt, ZX_RIGHT_SAME_RIGHTS, &h), ZX_ERR_ACCESS_DENIED);

    /* ---- Seed 002: no snapshot of a VMO with pinned pages, of either kind ---- */
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 8 * PAGE, &h),
                 ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, 8 * PAGE,
                                     &h),
                 ZX_ERR_BAD_STATE);
    /* ... even a window that leaves the pinned pages out. */
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 6 * PAGE, PAGE, &h),
                 ZX_ERR_BAD_STATE);
    CHECK_EQ(vmo_info(vmo).num_children, 0);
    /* A slice and a legacy (one-way) clone are fine; a snapshot through the slice is not. */
    zx_handle_t slice = ZX_HANDLE_INVALID, legacy = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SLICE, 2 * PAGE, 4 * PAGE, &slice), ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(slice, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &h), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmo_create_child(slice, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, PAGE, &h),
                 ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmo_clone(vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 8 * PAGE, &legacy), ZX_OK);
    CHECK_STATUS(vmo_fill(legacy, 0, PAGE, 0x22), ZX_OK);
    CHECK(vmo_bytes_are(vmo, 0, PAGE, 0x11));
    CHECK_STATUS(zx_handle_close(legacy), ZX_OK);

    /* ---- DECOMMIT over pinned pages: BAD_STATE (also through the slice); elsewhere fine ---- */
    CHECK_STATUS(decommit(vmo, 0, 8 * PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(decommit(vmo, 3 * PAGE, PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(decommit(slice, 0, PAGE), ZX_ERR_BAD_STATE);
    CHECK_EQ(committed_of(vmo), 4 * PAGE);
    CHECK(vmo_bytes_are(vmo, 0, PAGE, 0x11));
    CHECK_STATUS(vmo_fill(vmo, 4 * PAGE, 4 * PAGE, 0x33), ZX_OK);
    CHECK_STATUS(decommit(vmo, 4 * PAGE, 4 * PAGE), ZX_OK);
    CHECK_STATUS(decommit(slice, 2 * PAGE, 2 * PAGE), ZX_OK);
    CHECK_EQ(committed_of(vmo), 4 * PAGE);

    /* ---- ZERO over pinned pages zeroes them in place: same frames, zeros ---- */
    CHECK_STATUS(vmo_fill(vmo, 0, 4 * PAGE, 0x44), ZX_OK);
    CHECK_STATUS(zero_range(vmo, 0, 4 * PAGE), ZX_OK);
    CHECK(vmo_bytes_are(vmo, 0, 4 * PAGE, 0));
    CHECK_EQ(committed_of(vmo), 4 * PAGE);
    CHECK_STATUS(lookup(vmo, 0, 4, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 4 * sizeof addrs[0]) == 0);
    CHECK_STATUS(zero_range(slice, 10, 20), ZX_OK);

    /* ---- Unpinning: the handle is consumed; then everything is allowed again ---- */
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_handle_close(slice), ZX_OK);
    CHECK_STATUS(decommit(vmo, 0, 8 * PAGE), ZX_OK);
    CHECK_EQ(committed_of(vmo), 0);
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 8 * PAGE, &h), ZX_OK);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);

    /* ---- Pins stack: two pins of a page need two unpins ---- */
    zx_handle_t pmt2 = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_bti_pin(bti, ZX_BTI_PERM_READ, vmo, 0, 2 * PAGE, addrs, 2, &pmt), ZX_OK);
    CHECK_STATUS(zx_bti_pin(bti, ZX_BTI_PERM_WRITE, vmo, PAGE, PAGE, addrs + 2, 1, &pmt2), ZX_OK);
    CHECK_EQ(addrs[2], addrs[1]);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(decommit(vmo, 0, PAGE), ZX_OK);
    CHECK_STATUS(decommit(vmo, PAGE, PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &h), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_pmt_unpin(pmt2), ZX_OK);
    CHECK_STATUS(decommit(vmo, PAGE, PAGE), ZX_OK);

    /* ---- At most 31 pins of a page at once (Zircon's limit): then UNAVAILABLE ---- */
    zx_handle_t many[32];
    int pinned = 0;
    for (int i = 0; i < 31; i++)
        pinned += CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, PAGE, addrs, 1, &many[i]), ZX_OK);
    CHECK_EQ(pinned, 31);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 2 * PAGE, addrs, 2, &many[31]), ZX_ERR_UNAVAILABLE);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, PAGE, PAGE, addrs, 1, &many[31]), ZX_OK);
    for (int i = 0; i < 32; i++) CHECK_STATUS(zx_pmt_unpin(many[i]), ZX_OK);
    CHECK_STATUS(decommit(vmo, 0, 8 * PAGE), ZX_OK);

    /* ---- Shrinking over pinned pages: BAD_STATE; shrinking around them: fine ---- */
    zx_handle_t grow = new_vmo(4, ZX_VMO_RESIZABLE);
    CHECK_STATUS(zx_bti_pin(bti, RW, grow, PAGE, PAGE, addrs, 1, &pmt), ZX_OK);
    CHECK_STATUS(zx_vmo_set_size(grow, PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmo_set_size(grow, 0), ZX_ERR_BAD_STATE);
    CHECK_EQ(size_of_vmo(grow), 4 * PAGE);
    CHECK_STATUS(zx_vmo_set_size(grow, 2 * PAGE), ZX_OK);
    CHECK_STATUS(zx_vmo_set_size(grow, 8 * PAGE), ZX_OK);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_vmo_set_size(grow, 0), ZX_OK);
    CHECK_STATUS(zx_handle_close(grow), ZX_OK);

    /* ---- Pinned frames stay put: a snapshot taken before the pin writes its own copy, a
     *      legacy clone written through a mapping gets a copy, the pinned frame stays ---- */
    zx_handle_t base = new_vmo(2, 0);
    CHECK_STATUS(vmo_fill(base, 0, 2 * PAGE, 0x55), ZX_OK);
    zx_handle_t before = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(base, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE, &before), ZX_OK);
    CHECK_STATUS(zx_bti_pin(bti, RW, base, 0, 2 * PAGE, addrs, 2, &pmt), ZX_OK);
    CHECK_STATUS(vmo_fill(before, 0, 2 * PAGE, 0x66), ZX_OK);
    CHECK_STATUS(zx_vmo_clone(base, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE, &legacy), ZX_OK);
    zx_vaddr_t at = 0;
    CHECK_STATUS(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, legacy,
                             0, 2 * PAGE, &at),
                 ZX_OK);
    volatile uint8_t* mem = (volatile uint8_t*)at;
    CHECK_EQ(mem[0], 0x55);
    mem[0] = 0x77;
    mem[PAGE + 5] = 0x78;
    CHECK_EQ(vmo_byte(legacy, 0), 0x77);
    CHECK_STATUS(lookup(base, 0, 2, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 2 * sizeof addrs[0]) == 0);
    CHECK(vmo_bytes_are(base, 0, 2 * PAGE, 0x55));
    CHECK(vmo_bytes_are(before, 0, 2 * PAGE, 0x66));
    CHECK_STATUS(lookup(legacy, 0, 1, seen), ZX_OK);
    CHECK(seen[0] != addrs[0]);
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), at, 2 * PAGE), ZX_OK);
    CHECK_STATUS(zx_handle_close(legacy), ZX_OK);
    /* Closing the snapshot folds its shared parent into the pinned VMO: frames stay put. */
    CHECK_STATUS(zx_handle_close(before), ZX_OK);
    CHECK_STATUS(lookup(base, 0, 2, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 2 * sizeof addrs[0]) == 0);

    /* ---- A PMT keeps its VMO alive: with the VMO's only handle closed, the pinned frame still
     *      holds its bytes (seen through a physical VMO over it) until the unpin ---- */
    zx_paddr_t kept = addrs[0];
    CHECK_STATUS(zx_handle_close(base), ZX_OK);
    zx_handle_t window = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_physical(resource, kept, PAGE, &window), ZX_OK);
    CHECK_STATUS(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, window, 0, PAGE, &at),
                 ZX_OK);
    mem = (volatile uint8_t*)at;
    CHECK_EQ(mem[0], 0x55);
    CHECK_EQ(mem[PAGE - 1], 0x55);
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), at, PAGE), ZX_OK);
    CHECK_STATUS(zx_handle_close(window), ZX_OK);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);

    /* ---- Pins through a slice land on the parent's pages ---- */
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SLICE, 4 * PAGE, 2 * PAGE, &slice), ZX_OK);
    CHECK_STATUS(zx_bti_pin(bti, RW, slice, PAGE, PAGE, addrs, 1, &pmt), ZX_OK);
    CHECK_STATUS(lookup(vmo, 5 * PAGE, 1, seen), ZX_OK);
    CHECK_EQ(seen[0], addrs[0]);
    CHECK_STATUS(decommit(vmo, 5 * PAGE, PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &h), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(slice), ZX_OK);

    /* ---- COMPRESS: one address per page (the dummy IOMMU's minimum contiguity) ---- */
    CHECK_STATUS(zx_bti_pin(bti, RW | ZX_BTI_COMPRESS, vmo, 0, 3 * PAGE, addrs, 3, &pmt), ZX_OK);
    CHECK_STATUS(lookup(vmo, 0, 3, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 3 * sizeof addrs[0]) == 0);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(decommit(vmo, 0, 8 * PAGE), ZX_OK);

    /* ---- Quarantine: a PMT closed without unpinning keeps its pages pinned, and its BTI pins
     *      nothing more until the quarantine is released ---- */
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, PAGE, addrs, 1, &pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(pmt), ZX_OK);
    CHECK_STATUS(decommit(vmo, 0, PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, PAGE, PAGE, addrs, 1, &pmt), ZX_ERR_BAD_STATE);
    CHECK_STATUS(decommit(vmo, PAGE, PAGE), ZX_OK); /* the refused pin left nothing pinned */
    CHECK_STATUS(zx_bti_release_quarantine(ZX_HANDLE_INVALID), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_bti_release_quarantine(vmo), ZX_ERR_WRONG_TYPE);
    zx_handle_t ro_bti = dup_with(bti, ZX_RIGHT_MAP | ZX_RIGHT_READ);
    CHECK_STATUS(zx_bti_release_quarantine(ro_bti), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_bti_release_quarantine(bti), ZX_OK);
    CHECK_STATUS(decommit(vmo, 0, PAGE), ZX_OK);
    CHECK_STATUS(zx_bti_release_quarantine(bti), ZX_OK); /* nothing left: still fine */
    /* A BTI handle without WRITE still pins. */
    CHECK_STATUS(zx_bti_pin(ro_bti, RW, vmo, 0, PAGE, addrs, 1, &pmt), ZX_OK);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(ro_bti), ZX_OK);
    /* A BTI closed with pins in quarantine leaks them, as Zircon does: they stay pinned. */
    zx_handle_t doomed = ZX_HANDLE_INVALID, leaky = new_vmo(1, 0);
    CHECK_STATUS(zx_bti_create(iommu, 0, 99, &doomed), ZX_OK);
    CHECK_STATUS(zx_bti_pin(doomed, RW, leaky, 0, PAGE, addrs, 1, &pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(doomed), ZX_OK);
    CHECK_STATUS(decommit(leaky, 0, PAGE), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_handle_close(leaky), ZX_OK);

    /* ---- zx_pmt_unpin consumes any handle: a VMO's is closed, with WRONG_TYPE ---- */
    zx_handle_t victim = new_vmo(1, 0);
    CHECK_STATUS(zx_pmt_unpin(ZX_HANDLE_INVALID), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_pmt_unpin(victim), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmo_get_size(victim, &(uint64_t){0}), ZX_ERR_BAD_HANDLE);

    /* ---- zx_bti_pin's check order, with hostile arguments; nothing stays pinned ---- */
    zx_handle_t no_map_bti = dup_with(bti, ZX_RIGHT_READ | ZX_RIGHT_WRITE);
    CHECK_STATUS(zx_bti_pin(ZX_HANDLE_INVALID, RW, vmo, 0, PAGE, addrs, 1, &pmt),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_bti_pin(vmo, RW, vmo, 0, PAGE, addrs, 1, &pmt), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_bti_pin(no_map_bti, RW, vmo, 0, PAGE, addrs, 1, &pmt), ZX_ERR_ACCESS_DENIED);
    /* Alignment comes before the VMO handle. */
    CHECK_STATUS(zx_bti_pin(bti, RW, ZX_HANDLE_INVALID, 1, PAGE, addrs, 1, &pmt),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, ZX_HANDLE_INVALID, 0, PAGE + 1, addrs, 1, &pmt),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, ZX_HANDLE_INVALID, 0, PAGE, addrs, 1, &pmt),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_bti_pin(bti, RW, bti, 0, PAGE, addrs, 1, &pmt), ZX_ERR_WRONG_TYPE);
    zx_handle_t no_map = dup_with(vmo, ZX_RIGHT_READ | ZX_RIGHT_WRITE);
    zx_handle_t read_only = dup_with(vmo, ZX_RIGHT_READ | ZX_RIGHT_MAP);
    zx_handle_t write_only = dup_with(vmo, ZX_RIGHT_WRITE | ZX_RIGHT_MAP | ZX_RIGHT_EXECUTE);
    CHECK_STATUS(zx_bti_pin(bti, RW, no_map, 0, PAGE, addrs, 1, &pmt), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_bti_pin(bti, RW, read_only, 0, PAGE, addrs, 1, &pmt), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_bti_pin(bti, ZX_BTI_PERM_READ, write_only, 0, PAGE, addrs, 1, &pmt),
                 ZX_ERR_ACCESS_DENIED);
    /* EXECUTE asks for READ on the VMO, not EXECUTE. */
    CHECK_STATUS(zx_bti_pin(bti, ZX_BTI_PERM_EXECUTE, write_only, 0, PAGE, addrs, 1, &pmt),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_bti_pin(bti, ZX_BTI_PERM_EXECUTE, read_only, 0, PAGE, addrs, 1, &pmt), ZX_OK);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_bti_pin(bti, ZX_BTI_PERM_READ, read_only, 0, PAGE, addrs, 1, &pmt), ZX_OK);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    /* Options: unknown bits, both layouts, CONTIGUOUS on a paged VMO. */
    CHECK_STATUS(zx_bti_pin(bti, RW | (1u << 5), vmo, 0, PAGE, addrs, 1, &pmt),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW | ZX_BTI_COMPRESS | ZX_BTI_CONTIGUOUS, vmo, 0, PAGE, addrs, 1,
                            &pmt),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW | ZX_BTI_CONTIGUOUS, vmo, 0, PAGE, addrs, 1, &pmt),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 0, addrs, 0, &pmt), ZX_ERR_INVALID_ARGS);
    /* Ranges beyond the VMO, overflowing or not. */
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 8 * PAGE, PAGE, addrs, 1, &pmt), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 4 * PAGE, 8 * PAGE, addrs, 8, &pmt),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, UINT64_MAX & ~(PAGE - 1), 2 * PAGE, addrs, 2, &pmt),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, PAGE, UINT64_MAX & ~(PAGE - 1), addrs, 1, &pmt),
                 ZX_ERR_OUT_OF_RANGE);
    /* Refused after the pin (permissions, address count, address memory, token out-pointer):
     * undone every time, so the page can be decommitted afterwards. */
    CHECK_STATUS(zx_bti_pin(bti, 0, vmo, 0, 2 * PAGE, addrs, 2, &pmt), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 2 * PAGE, addrs, 1, &pmt), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 2 * PAGE, addrs, 3, &pmt), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 2 * PAGE, addrs, SIZE_MAX, &pmt),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 2 * PAGE, NULL, 2, &pmt), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 2 * PAGE, (zx_paddr_t*)8, 2, &pmt),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, 2 * PAGE, addrs, 2, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(decommit(vmo, 0, 8 * PAGE), ZX_OK);
    /* No quarantine either: the BTI still pins. */
    CHECK_STATUS(zx_bti_pin(bti, RW, vmo, 0, PAGE, addrs, 1, &pmt), ZX_OK);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(no_map), ZX_OK);
    CHECK_STATUS(zx_handle_close(read_only), ZX_OK);
    CHECK_STATUS(zx_handle_close(write_only), ZX_OK);
    CHECK_STATUS(zx_handle_close(no_map_bti), ZX_OK);

    /* ---- A pager-backed VMO: supplied pages pin like any others (unsupplied ones would first
     *      be requested from the pager); SNAPSHOT stays NOT_SUPPORTED, as for every such VMO ---- */
    zx_handle_t port = ZX_HANDLE_INVALID, pager = ZX_HANDLE_INVALID, paged = ZX_HANDLE_INVALID;
    zx_handle_t aux = new_vmo(2, 0);
    CHECK_STATUS(vmo_fill(aux, 0, 2 * PAGE, 0x99), ZX_OK);
    CHECK_STATUS(zx_port_create(0, &port), ZX_OK);
    CHECK_STATUS(zx_pager_create(0, &pager), ZX_OK);
    CHECK_STATUS(zx_pager_create_vmo(pager, 0, port, 1, 4 * PAGE, &paged), ZX_OK);
    CHECK_STATUS(zx_pager_supply_pages(pager, paged, 0, 2 * PAGE, aux, 0), ZX_OK);
    CHECK_STATUS(zx_bti_pin(bti, RW, paged, 0, 2 * PAGE, addrs, 2, &pmt), ZX_OK);
    CHECK_STATUS(lookup(paged, 0, 2, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 2 * sizeof addrs[0]) == 0);
    CHECK(vmo_bytes_are(paged, 0, 2 * PAGE, 0x99));
    CHECK_STATUS(zx_vmo_create_child(paged, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &h),
                 ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(paged), ZX_OK);
    CHECK_STATUS(zx_handle_close(pager), ZX_OK);
    CHECK_STATUS(zx_handle_close(port), ZX_OK);
    CHECK_STATUS(zx_handle_close(aux), ZX_OK);

    /* ---- Exhausted memory: a pin that cannot commit its pages commits and pins nothing ---- */
    zx_handle_t huge = new_vmo(2 * LIMIT, 0);
    static zx_paddr_t lots[2 * LIMIT];
    CHECK_STATUS(zx_bti_pin(bti, RW, huge, 0, 2 * LIMIT * PAGE, lots, 2 * LIMIT, &pmt),
                 ZX_ERR_NO_MEMORY);
    CHECK_EQ(committed_of(huge), 0);
    CHECK_STATUS(zx_bti_pin(bti, RW, huge, 0, 16 * PAGE, lots, 16, &pmt), ZX_OK);
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(huge), ZX_OK);

    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);
    CHECK_STATUS(zx_handle_close(plain), ZX_OK);
    CHECK_STATUS(zx_handle_close(bti), ZX_OK);
    CHECK_STATUS(zx_handle_close(iommu), ZX_OK);
    CHECK_STATUS(zx_handle_close(resource), ZX_OK);
    return finish();
}
