/* Helpers for the C conformance programs that map VMOs into processes (vmar.c, vmar_snapshots.c,
 * process_memory.c). Include it after "check.h". Each helper that makes a call checks it with
 * CHECK_STATUS (one check per call, as the programs' own copies did before):
 *
 *   ROOT_BASE, ROOT_END, ROOT_SIZE   the root VMAR of every process (they all cover the same
 *                                    range), as ZX_INFO_VMAR reports it for zx_vmar_root_self()
 *   make(size, options)              zx_vmo_create, expects ZX_OK
 *   make_child(parent, options, offset, size)   zx_vmo_create_child, expects ZX_OK
 *   snap(parent, size)               make_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, size)
 *   new_process(&proc, &vmar)        zx_process_create, expects ZX_OK; returns 1 if it passed
 *   end_process(proc, vmar)          closes the VMAR handle, then the process handle
 *   map_ok(vmar, options, vmar_offset, vmo, vmo_offset, len)
 *                                    zx_vmar_map, expects ZX_OK; returns the address (0 if not)
 *   mem_byte(proc, va)               one byte read with zx_process_read_memory (or a status < 0)
 *   mem_poke(proc, va, byte)         the status of writing one byte with zx_process_write_memory
 *   mem_fill(proc, va, len, byte, &actual)   writes `len` bytes of `byte` (at most 4 pages)
 *
 * Mapped memory is never dereferenced: it is reached only through zx_process_read_memory and
 * zx_process_write_memory. Everything is static inline, so a program may use any subset. C11. */
#ifndef TESTS_C_MAPPING_H_
#define TESTS_C_MAPPING_H_

#include "check.h"

#include <zircon/syscalls/object.h>

static inline zx_info_vmar_t root_vmar_info(void) {
    zx_info_vmar_t info = {0, 0};
    CHECK_STATUS(zx_object_get_info(zx_vmar_root_self(), ZX_INFO_VMAR, &info, sizeof info, NULL,
                                    NULL),
                 ZX_OK);
    return info;
}

#define ROOT_BASE ((zx_vaddr_t)root_vmar_info().base)
#define ROOT_SIZE ((size_t)root_vmar_info().len)
#define ROOT_END ((zx_vaddr_t)(ROOT_BASE + ROOT_SIZE))

static inline zx_handle_t make(uint64_t size, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(size, options, &h), ZX_OK);
    return h;
}

static inline zx_handle_t make_child(zx_handle_t parent, uint32_t options, uint64_t offset,
                                     uint64_t size) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(parent, options, offset, size, &h), ZX_OK);
    return h;
}

static inline zx_handle_t snap(zx_handle_t parent, uint64_t size) {
    return make_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, size);
}

static inline int new_process(zx_handle_t* proc, zx_handle_t* vmar) {
    *proc = ZX_HANDLE_INVALID;
    *vmar = ZX_HANDLE_INVALID;
    return CHECK_STATUS(zx_process_create(zx_job_default(), "mapping", 7, 0, proc, vmar), ZX_OK);
}

static inline void end_process(zx_handle_t proc, zx_handle_t vmar) {
    CHECK_STATUS(zx_handle_close(vmar), ZX_OK);
    CHECK_STATUS(zx_handle_close(proc), ZX_OK);
}

/* Maps and expects ZX_OK; returns the address (0 on failure). Call it as map_ok(...): a failure
 * also names the caller's line and the arguments. */
static inline zx_vaddr_t map_ok_at(int line, zx_handle_t vmar, uint32_t options,
                                   size_t vmar_offset, zx_handle_t vmo, uint64_t vmo_offset,
                                   size_t len) {
    zx_vaddr_t addr = 0;
    if (!CHECK_STATUS(zx_vmar_map(vmar, options, vmar_offset, vmo, vmo_offset, len, &addr), ZX_OK))
        fprintf(stderr,
                "    (called at line %d: options 0x%x vmar_offset 0x%zx vmo_offset 0x%" PRIx64
                " len 0x%zx)\n",
                line, (unsigned)options, vmar_offset, vmo_offset, len);
    return addr;
}
#define map_ok(...) map_ok_at(__LINE__, __VA_ARGS__)

/* The byte at `va` of the process, or the (negative) status of the read (-1000 if the call
 * reported ZX_OK but did not copy one byte). */
static inline int mem_byte(zx_handle_t proc, zx_vaddr_t va) {
    uint8_t b = 0;
    size_t actual = 0;
    zx_status_t st = zx_process_read_memory(proc, va, &b, 1, &actual);
    if (st != ZX_OK) return st;
    if (actual != 1) return -1000;
    return b;
}

/* Status of writing one byte at `va` (-1000 if the call reported ZX_OK but wrote no byte). */
static inline zx_status_t mem_poke(zx_handle_t proc, zx_vaddr_t va, uint8_t byte) {
    size_t actual = 0;
    zx_status_t st = zx_process_write_memory(proc, va, &byte, 1, &actual);
    if (st == ZX_OK && actual != 1) return -1000;
    return st;
}

/* Writes `len` bytes (at most 4 pages) of `byte` at `va`; returns the call's status. *actual is
 * set to 0xDEAD first and then holds what the call reported. */
static inline zx_status_t mem_fill(zx_handle_t proc, zx_vaddr_t va, size_t len, uint8_t byte,
                                   size_t* actual) {
    static uint8_t buf[4 * 4096];
    memset(buf, byte, sizeof buf);
    *actual = 0xDEAD;
    return zx_process_write_memory(proc, va, buf, len, actual);
}

#endif /* TESTS_C_MAPPING_H_ */
