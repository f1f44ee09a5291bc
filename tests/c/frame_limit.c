/* Exhausted memory from C: the runner starts this program with ZIRCON_FRAME_LIMIT=32 (frames of
 * 4 KiB), so it can fill memory and check that every call needing a frame answers
 * ZX_ERR_NO_MEMORY and changes nothing, and that freed frames can be used again. */
#include <stdlib.h>

#include <magenta/syscalls.h>

#include "check.h"

#define LIMIT 32u

int main(void) {
    const char* limit = getenv("ZIRCON_FRAME_LIMIT");
    CHECK(limit != NULL && strtoul(limit, NULL, 10) == LIMIT);

    zx_handle_t vmo;
    CHECK_STATUS(zx_vmo_create(64 * PAGE, 0, &vmo), ZX_OK);
    /* A commit that cannot fit fails whole: nothing is committed. */
    CHECK_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, (LIMIT + 1) * PAGE, NULL, 0),
                 ZX_ERR_NO_MEMORY);
    CHECK_EQ(committed_of(vmo), 0);
    /* Fill the limit exactly, then one more page is refused. */
    CHECK_STATUS(vmo_fill(vmo, 0, (LIMIT - 1) * PAGE, 0x11), ZX_OK);
    CHECK_STATUS(vmo_fill(vmo, (LIMIT - 1) * PAGE, PAGE, 0x22), ZX_OK);
    CHECK_EQ(committed_of(vmo), LIMIT * PAGE);
    CHECK_STATUS(vmo_fill(vmo, LIMIT * PAGE, 10, 0x33), ZX_ERR_NO_MEMORY);
    CHECK(vmo_bytes_are(vmo, LIMIT * PAGE, PAGE, 0));
    CHECK_EQ(committed_of(vmo), LIMIT * PAGE);

    /* A snapshot needs no frame; a write to a shared page needs one and is refused, leaving
     * both sides as they were. */
    zx_handle_t snap;
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 64 * PAGE, &snap), ZX_OK);
    CHECK_STATUS(vmo_fill(snap, 0, 1, 0x44), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(vmo_fill(vmo, 0, 1, 0x44), ZX_ERR_NO_MEMORY);
    CHECK(vmo_bytes_are(snap, 0, PAGE, 0x11));
    CHECK(vmo_bytes_are(vmo, 0, PAGE, 0x11));
    /* Magenta's write reports the same error and moves nothing. */
    size_t actual = 7;
    CHECK_STATUS(mx_vmo_write(snap, "x", 0, 1, &actual), ZX_ERR_NO_MEMORY);
    CHECK_EQ(actual, 7);
    /* A snapshot of a legacy clone copies its pages eagerly: refused when they do not fit. */
    zx_handle_t legacy, frozen;
    CHECK_STATUS(zx_vmo_clone(vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 4 * PAGE, &legacy), ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(legacy, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE, &frozen),
                 ZX_ERR_NO_MEMORY);
    CHECK_EQ(vmo_info(legacy).num_children, 0);

    /* Freeing pages makes room again. */
    CHECK_STATUS(zx_handle_close(snap), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 8 * PAGE, 8 * PAGE, NULL, 0),
                 ZX_ERR_NOT_SUPPORTED); /* the legacy clone is a non-slice child */
    CHECK_STATUS(zx_handle_close(legacy), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 8 * PAGE, 8 * PAGE, NULL, 0), ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE, &snap), ZX_OK);
    CHECK_STATUS(vmo_fill(snap, 0, 4 * PAGE, 0x55), ZX_OK);
    CHECK(vmo_bytes_are(vmo, 0, 4 * PAGE, 0x11));
    CHECK_STATUS(zx_handle_close(snap), ZX_OK);
    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);

    /* Everything is free: the whole limit can be committed again. */
    CHECK_STATUS(zx_vmo_create(LIMIT * PAGE, 0, &vmo), ZX_OK);
    CHECK_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, LIMIT * PAGE, NULL, 0), ZX_OK);
    CHECK_STATUS(zx_handle_close(vmo), ZX_OK);
    return finish();
}
