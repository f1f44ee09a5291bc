/* Contiguous and physical VMOs from C, and every rule of seed 002 about them: SNAPSHOT and
 * SNAPSHOT_AT_LEAST_ON_WRITE of them and of their descendants are ZX_ERR_NOT_SUPPORTED, SLICE
 * works and acts on the same frames. A contiguous VMO (zx_vmo_create_contiguous) holds
 * consecutive aligned frames, all committed, never decommitted or resized. A physical VMO
 * (zx_vmo_create_physical, with the root resource from the startup handle) is a window onto
 * physical memory it does not own: here, onto the pages of a pinned contiguous VMO, so that
 * writes through one show through the other. Mapped with zx_vmar_map, both are touched through
 * pointers. Every call is also given hostile arguments. The runner starts this program with
 * ZIRCON_FRAME_LIMIT=256, so the physical memory is 257 pages (the first is the zero page). */
#include <stdlib.h>

#include <zircon/process.h>
#include <zircon/processargs.h>
#include <zircon/syscalls/iommu.h>

#include "check.h"

#define LIMIT 256u
#define RW (ZX_BTI_PERM_READ | ZX_BTI_PERM_WRITE)
#define MAP_RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)

static zx_status_t op(zx_handle_t vmo, uint32_t which, uint64_t offset, uint64_t size) {
    return zx_vmo_op_range(vmo, which, offset, size, NULL, 0);
}

static zx_status_t lookup(zx_handle_t vmo, uint64_t offset, uint64_t pages, zx_paddr_t* out) {
    return zx_vmo_op_range(vmo, ZX_VMO_OP_LOOKUP, offset, pages * PAGE, out,
                           pages * sizeof(zx_paddr_t));
}

/* Maps `len` bytes of `vmo` read-write into the root VMAR; returns the address (0 on failure). */
static volatile uint8_t* map_rw(zx_handle_t vmo, uint64_t len) {
    zx_vaddr_t at = 0;
    if (!CHECK_STATUS(zx_vmar_map(zx_vmar_root_self(), MAP_RW, 0, vmo, 0, len, &at), ZX_OK))
        return NULL;
    return (volatile uint8_t*)at;
}

static void unmap(volatile uint8_t* at, uint64_t len) {
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)at, len), ZX_OK);
}

/* Every way to ask for a copy-on-write child; each must be NOT_SUPPORTED. */
static void no_copies(zx_handle_t vmo) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &h),
                 ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, PAGE, &h),
                 ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE, 0, PAGE,
                                     &h),
                 ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_COPY_ON_WRITE | ZX_VMO_CHILD_RESIZABLE, 0,
                                     PAGE, &h),
                 ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_clone(vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &h), ZX_ERR_NOT_SUPPORTED);
}

int main(void) {
    const char* limit = getenv("ZIRCON_FRAME_LIMIT");
    CHECK(limit != NULL && strtoul(limit, NULL, 10) == LIMIT);

    zx_handle_t resource = zx_take_startup_handle(PA_HND(PA_RESOURCE, 0));
    CHECK(resource != ZX_HANDLE_INVALID);
    CHECK_EQ(zx_take_startup_handle(PA_HND(PA_RESOURCE, 0)), ZX_HANDLE_INVALID);
    zx_iommu_desc_dummy_t desc = {0};
    zx_handle_t iommu = ZX_HANDLE_INVALID, bti = ZX_HANDLE_INVALID, h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_iommu_create(resource, ZX_IOMMU_TYPE_DUMMY, &desc, sizeof desc, &iommu),
                 ZX_OK);
    CHECK_STATUS(zx_bti_create(iommu, 0, 1, &bti), ZX_OK);
    zx_paddr_t addrs[16], seen[16];

    /* ---- zx_vmo_create_contiguous ---- */
    zx_handle_t contig = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_contiguous(bti, 8 * PAGE, 0, &contig), ZX_OK);
    zx_info_vmo_t info = vmo_info(contig);
    CHECK_EQ(info.flags, ZX_INFO_VMO_TYPE_PAGED | ZX_INFO_VMO_VIA_HANDLE | ZX_INFO_VMO_CONTIGUOUS);
    CHECK_EQ(info.size_bytes, 8 * PAGE);
    CHECK_EQ(info.committed_bytes, 8 * PAGE); /* every page committed at creation */
    CHECK_EQ(info.cache_policy, ZX_CACHE_POLICY_CACHED);
    CHECK_EQ(rights_of(contig), ZX_DEFAULT_VMO_RIGHTS);
    CHECK_STATUS(lookup(contig, 0, 8, addrs), ZX_OK);
    int consecutive = 1;
    for (int i = 1; i < 8; i++) consecutive &= addrs[i] == addrs[0] + (zx_paddr_t)i * PAGE;
    CHECK(consecutive);
    CHECK(vmo_bytes_are(contig, 0, 8 * PAGE, 0));
    /* Aligned as asked: 64 KiB. */
    zx_handle_t aligned = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_contiguous(bti, 3 * PAGE, 16, &aligned), ZX_OK);
    CHECK_STATUS(lookup(aligned, 0, 3, seen), ZX_OK);
    CHECK_EQ(seen[0] % (1u << 16), 0);
    CHECK_EQ(seen[2], seen[0] + 2 * PAGE);
    CHECK_STATUS(zx_handle_close(aligned), ZX_OK);
    /* An unaligned size is rounded up. */
    CHECK_STATUS(zx_vmo_create_contiguous(bti, PAGE + 1, 12, &aligned), ZX_OK);
    CHECK_EQ(size_of_vmo(aligned), 2 * PAGE);
    CHECK_STATUS(zx_handle_close(aligned), ZX_OK);

    /* Its frames are there for its life: no decommit, no resize; commit and zero in place. */
    CHECK_STATUS(vmo_fill(contig, 0, 8 * PAGE, 0x5A), ZX_OK);
    CHECK_STATUS(op(contig, ZX_VMO_OP_DECOMMIT, 0, PAGE), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_set_size(contig, 16 * PAGE), ZX_ERR_UNAVAILABLE);
    CHECK_STATUS(op(contig, ZX_VMO_OP_COMMIT, 0, 8 * PAGE), ZX_OK);
    CHECK_STATUS(op(contig, ZX_VMO_OP_ZERO, 7 * PAGE, PAGE), ZX_OK);
    CHECK_STATUS(op(contig, ZX_VMO_OP_ZERO, 10, 20), ZX_OK);
    CHECK(vmo_bytes_are(contig, 7 * PAGE, PAGE, 0));
    CHECK(vmo_bytes_are(contig, 10, 20, 0));
    CHECK(vmo_bytes_are(contig, 30, PAGE - 30, 0x5A));
    CHECK_EQ(committed_of(contig), 8 * PAGE);
    CHECK_STATUS(lookup(contig, 0, 8, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 8 * sizeof addrs[0]) == 0);

    /* ---- Seed 002: no SNAPSHOT or SNAPSHOT_AT_LEAST_ON_WRITE of it or its descendants ---- */
    no_copies(contig);
    zx_handle_t slice = ZX_HANDLE_INVALID, inner = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(contig, ZX_VMO_CHILD_SLICE, 2 * PAGE, 4 * PAGE, &slice),
                 ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(slice, ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_NO_WRITE, PAGE,
                                     2 * PAGE, &inner),
                 ZX_OK);
    no_copies(slice);
    no_copies(inner);
    /* A slice is contiguous too, and acts on the parent's frames. */
    CHECK_EQ(vmo_info(slice).flags & ZX_INFO_VMO_CONTIGUOUS, ZX_INFO_VMO_CONTIGUOUS);
    CHECK_STATUS(lookup(slice, 0, 4, seen), ZX_OK);
    CHECK(memcmp(addrs + 2, seen, 4 * sizeof addrs[0]) == 0);
    CHECK_STATUS(vmo_fill(slice, PAGE, PAGE, 0x61), ZX_OK);
    CHECK(vmo_bytes_are(contig, 3 * PAGE, PAGE, 0x61));
    CHECK(vmo_bytes_are(inner, 0, PAGE, 0x61));
    CHECK_STATUS(vmo_fill(inner, 0, 1, 0x62), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(op(slice, ZX_VMO_OP_DECOMMIT, 0, PAGE), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_create_child(slice, ZX_VMO_CHILD_SLICE, 3 * PAGE, 2 * PAGE, &h),
                 ZX_ERR_OUT_OF_RANGE);

    /* Mapped, it is touched through pointers; so is a slice. */
    volatile uint8_t* whole = map_rw(contig, 8 * PAGE);
    volatile uint8_t* part = map_rw(slice, 4 * PAGE);
    if (whole && part) {
        CHECK_EQ(whole[3 * PAGE], 0x61);
        whole[2 * PAGE + 9] = 0x63;
        CHECK_EQ(part[9], 0x63);
        part[3 * PAGE] = 0x64;
        CHECK_EQ(vmo_byte(contig, 5 * PAGE), 0x64);
        CHECK_EQ(whole[5 * PAGE], 0x64);
        unmap(whole, 8 * PAGE);
        unmap(part, 4 * PAGE);
    }
    CHECK_STATUS(lookup(contig, 0, 8, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 8 * sizeof addrs[0]) == 0);

    /* ---- Pinning a contiguous VMO: one address with CONTIGUOUS, or one per page ---- */
    zx_handle_t pmt = ZX_HANDLE_INVALID;
    zx_paddr_t start = 0;
    CHECK_STATUS(zx_bti_pin(bti, RW | ZX_BTI_CONTIGUOUS, contig, 0, 8 * PAGE, &start, 1, &pmt),
                 ZX_OK);
    CHECK_EQ(start, addrs[0]);
    CHECK_STATUS(zx_bti_pin(bti, RW | ZX_BTI_CONTIGUOUS, contig, 0, 8 * PAGE, seen, 2, &h),
                 ZX_ERR_INVALID_ARGS);
    zx_handle_t pmt2 = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_bti_pin(bti, RW | ZX_BTI_COMPRESS, slice, PAGE, 2 * PAGE, seen, 2, &pmt2),
                 ZX_OK);
    CHECK_EQ(seen[0], addrs[3]);
    CHECK_EQ(seen[1], addrs[4]);
    CHECK_STATUS(zx_pmt_unpin(pmt2), ZX_OK);

    /* ---- zx_vmo_create_physical over the pinned contiguous pages ---- */
    zx_handle_t phys = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_physical(resource, start, 4 * PAGE, &phys), ZX_OK);
    info = vmo_info(phys);
    CHECK_EQ(info.flags, ZX_INFO_VMO_VIA_HANDLE | ZX_INFO_VMO_CONTIGUOUS); /* not TYPE_PAGED */
    CHECK_EQ(info.size_bytes, 4 * PAGE);
    CHECK_EQ(info.committed_bytes, 0); /* it owns no page */
    CHECK_EQ(info.populated_bytes, 0);
    CHECK_EQ(info.cache_policy, ZX_CACHE_POLICY_UNCACHED);
    CHECK_EQ(rights_of(phys), ZX_DEFAULT_VMO_RIGHTS);
    CHECK_EQ(committed_of(contig), 8 * PAGE); /* the owner's charge is unchanged */
    CHECK_STATUS(lookup(phys, 0, 4, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 4 * sizeof addrs[0]) == 0);
    /* Only mapped, looked up and pinned, as in Zircon. */
    uint8_t byte = 0;
    CHECK_STATUS(zx_vmo_read(phys, &byte, 0, 1), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_write(phys, &byte, 0, 1), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(op(phys, ZX_VMO_OP_COMMIT, 0, PAGE), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(op(phys, ZX_VMO_OP_DECOMMIT, 0, PAGE), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(op(phys, ZX_VMO_OP_ZERO, 0, PAGE), ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(op(phys, ZX_VMO_OP_CACHE_SYNC, 0, PAGE), ZX_OK);
    CHECK_STATUS(zx_vmo_set_size(phys, PAGE), ZX_ERR_UNAVAILABLE);
    /* Rights still come first. */
    zx_handle_t phys_ro = dup_with(phys, ZX_RIGHT_READ | ZX_RIGHT_MAP);
    CHECK_STATUS(zx_vmo_write(phys_ro, &byte, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_handle_close(phys_ro), ZX_OK);

    /* One memory, two views: a write through either shows through the other. */
    volatile uint8_t* window = map_rw(phys, 4 * PAGE);
    if (window) {
        CHECK_EQ(window[3 * PAGE], 0x61);
        CHECK_EQ(window[2 * PAGE + 9], 0x63);
        window[PAGE + 77] = 0x71;
        CHECK_EQ(vmo_byte(contig, PAGE + 77), 0x71);
        CHECK_STATUS(vmo_fill(contig, 2 * PAGE, 16, 0x72), ZX_OK);
        CHECK_EQ(window[2 * PAGE + 15], 0x72);
        unmap(window, 4 * PAGE);
    }

    /* Seed 002: no copy-on-write child of a physical VMO or its descendants; slices work. */
    no_copies(phys);
    zx_handle_t phys_slice = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(phys, ZX_VMO_CHILD_SLICE, 2 * PAGE, 2 * PAGE, &phys_slice),
                 ZX_OK);
    no_copies(phys_slice);
    CHECK_EQ(vmo_info(phys_slice).flags & (ZX_INFO_VMO_CONTIGUOUS | ZX_INFO_VMO_TYPE_PAGED),
             ZX_INFO_VMO_CONTIGUOUS);
    CHECK_STATUS(zx_vmo_read(phys_slice, &byte, 0, 1), ZX_ERR_NOT_SUPPORTED);
    volatile uint8_t* small = map_rw(phys_slice, 2 * PAGE);
    if (small) {
        CHECK_EQ(small[15], 0x72);
        small[PAGE] = 0x73;
        CHECK_EQ(vmo_byte(contig, 3 * PAGE), 0x73);
        unmap(small, 2 * PAGE);
    }
    /* Pinning a physical VMO: its pages are where they are; CONTIGUOUS gives the start. */
    CHECK_STATUS(zx_bti_pin(bti, RW | ZX_BTI_CONTIGUOUS, phys_slice, 0, 2 * PAGE, seen, 1, &pmt2),
                 ZX_OK);
    CHECK_EQ(seen[0], addrs[2]);
    CHECK_STATUS(zx_pmt_unpin(pmt2), ZX_OK);
    CHECK_STATUS(zx_handle_close(phys_slice), ZX_OK);

    /* Closing the physical VMO frees nothing: the owner's frames and bytes stay. */
    CHECK_STATUS(zx_handle_close(phys), ZX_OK);
    CHECK_EQ(vmo_byte(contig, PAGE + 77), 0x71);
    CHECK_EQ(committed_of(contig), 8 * PAGE);
    CHECK_STATUS(lookup(contig, 0, 8, seen), ZX_OK);
    CHECK(memcmp(addrs, seen, 8 * sizeof addrs[0]) == 0);

    /* ---- zx_vmo_create_physical: hostile arguments ---- */
    zx_paddr_t end = (zx_paddr_t)(LIMIT + 1) * PAGE; /* the frame file's end */
    CHECK_STATUS(zx_vmo_create_physical(ZX_HANDLE_INVALID, start, PAGE, &h), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmo_create_physical(contig, start, PAGE, &h), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmo_create_physical(bti, start, PAGE, &h), ZX_ERR_WRONG_TYPE);
    /* Memory the root resource does not grant: the zero page, beyond the end, wrapping. */
    CHECK_STATUS(zx_vmo_create_physical(resource, 0, PAGE, &h), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_physical(resource, 0, 2 * PAGE, &h), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_physical(resource, end, PAGE, &h), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_physical(resource, end - PAGE, 2 * PAGE, &h),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_physical(resource, (zx_paddr_t)1 << 40, PAGE, &h),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_physical(resource, start, SIZE_MAX, &h), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_physical(resource, UINTPTR_MAX & ~(PAGE - 1), 2 * PAGE, &h),
                 ZX_ERR_ACCESS_DENIED);
    /* Inside memory but malformed. */
    CHECK_STATUS(zx_vmo_create_physical(resource, start + 1, PAGE, &h), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_physical(resource, start, 0, &h), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_physical(resource, start, PAGE, NULL), ZX_ERR_INVALID_ARGS);
    /* The last page of memory, with a size that rounds up to it. */
    CHECK_STATUS(zx_vmo_create_physical(resource, end - PAGE, 100, &h), ZX_OK);
    CHECK_EQ(size_of_vmo(h), PAGE);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);

    /* ---- zx_vmo_create_contiguous: hostile arguments, in Zircon's order ---- */
    zx_handle_t no_map_bti = dup_with(bti, ZX_RIGHT_READ | ZX_RIGHT_WRITE);
    CHECK_STATUS(zx_vmo_create_contiguous(ZX_HANDLE_INVALID, 0, 0, &h), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_contiguous(ZX_HANDLE_INVALID, PAGE, 11, &h), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_contiguous(ZX_HANDLE_INVALID, PAGE, 64, &h), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create_contiguous(ZX_HANDLE_INVALID, PAGE, 0, &h), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmo_create_contiguous(contig, PAGE, 0, &h), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmo_create_contiguous(no_map_bti, PAGE, 0, &h), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_create_contiguous(bti, (size_t)1 << 49, 0, &h), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create_contiguous(bti, SIZE_MAX, 0, &h), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create_contiguous(bti, PAGE, 0, NULL), ZX_ERR_INVALID_ARGS);
    /* Exhausted memory: more pages than the frame limit, or an alignment no free frame has. */
    CHECK_STATUS(zx_vmo_create_contiguous(bti, (LIMIT + 1) * PAGE, 0, &h), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_vmo_create_contiguous(bti, PAGE, 40, &h), ZX_ERR_NO_MEMORY);
    /* The refusals took nothing: what is left can still be had, then nothing more. */
    zx_handle_t rest = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_contiguous(bti, 64 * PAGE, 0, &rest), ZX_OK);
    CHECK_STATUS(zx_handle_close(rest), ZX_OK);
    CHECK_STATUS(zx_handle_close(no_map_bti), ZX_OK);

    /* ---- Done: unpin, close in any order ---- */
    CHECK_STATUS(zx_pmt_unpin(pmt), ZX_OK);
    CHECK_STATUS(zx_handle_close(contig), ZX_OK);
    CHECK_EQ(vmo_byte(slice, PAGE), 0x73); /* slices keep the frames */
    CHECK_STATUS(zx_handle_close(inner), ZX_OK);
    CHECK_STATUS(zx_handle_close(slice), ZX_OK);
    CHECK_STATUS(zx_handle_close(bti), ZX_OK);
    CHECK_STATUS(zx_handle_close(iommu), ZX_OK);
    CHECK_STATUS(zx_handle_close(resource), ZX_OK);
    return finish();
}
