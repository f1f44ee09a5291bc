/* Exhausted memory while the calling program's own mappings are in use: README.md "Known limits
 * and decisions" (exhausting memory is ZX_ERR_NO_MEMORY, every operation either succeeds or changes
 * nothing; an access a mapping cannot complete kills the program with SIGSEGV, as on Zircon) with
 * spec/zircon.md sections 3-6. The runner starts this program with ZIRCON_FRAME_LIMIT=64 (frames
 * of 4 KiB). Pointers come from zx_vmar_map(zx_vmar_root_self(), ...) and are dereferenced:
 *   - with every frame in use, zx_vmo_write (also from a mapped buffer, also a write that is
 *     partly on committed pages), COMMIT, and writes to pages shared with a snapshot answer
 *     ZX_ERR_NO_MEMORY and change nothing, as seen through the pointers and zx_vmo_read; reads
 *     through pointers, writes through pointers to pages the VMO owns, and kernel calls whose
 *     buffers lie in such pages still work;
 *   - a write through a pointer that needs a new frame (a fresh page, a page shared with a
 *     snapshot, a legacy clone's page) kills the process with SIGSEGV (checked in forked
 *     children), and the parent is unaffected;
 *   - a kernel call whose output buffer lies in a mapped page that needs a frame answers with a
 *     status, never killing the process (checked in a forked child);
 *   - after closing VMOs (and unmapping, DECOMMIT) frames are usable again, and pointers to the
 *     remaining mappings keep working. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mapping.h"

#define LIMIT 64u
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)

#define map_self(vmo, offset, len, perms) \
    ((uint8_t*)map_ok(zx_vmar_root_self(), (perms), 0, (vmo), (offset), (len)))

static void unmap_self(const volatile void* p, size_t len) {
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)(uintptr_t)p, len), ZX_OK);
}

static int mem_is(const volatile uint8_t* p, size_t len, uint8_t byte) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != byte) return 0;
    return 1;
}

/* Runs `body(arg)` in a forked child and returns its wait status (-1 if fork failed). The child
 * never allocates a frame that succeeds: it shares the frame file with this process. */
static int in_child(void (*body)(void*), void* arg) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (!CHECK(pid >= 0)) return -1;
    if (pid == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        body(arg);
        _exit(72);
    }
    int status = 0;
    pid_t got;
    do got = waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    CHECK_EQ(got, pid);
    return status;
}

static void write_byte(void* at) { *(volatile uint8_t*)at = 0x99; }

static void dies_of_segv(const char* what, volatile uint8_t* at) {
    int status = in_child(write_byte, (void*)(uintptr_t)at);
    int ok = CHECK(status != -1 && WIFSIGNALED(status));
    ok &= CHECK_EQ(WIFSIGNALED(status) ? WTERMSIG(status) : -1, SIGSEGV);
    if (!ok)
        fprintf(stderr, "    (%s: child %s %d)\n", what,
                WIFEXITED(status) ? "exited with status" : "killed by signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

struct read_into {
    zx_handle_t vmo;
    uint8_t* dest;
    int out_pointer; /* 0: zx_vmo_read into dest; 1: zx_vmo_get_size with dest as out-pointer */
};

/* Exits 0 if the call answered NO_MEMORY or INVALID_ARGS, 1 if ZX_OK, 2 otherwise (the parent
 * checks the bytes). */
static void read_into_child(void* arg) {
    const struct read_into* r = arg;
    zx_status_t st = r->out_pointer ? zx_vmo_get_size(r->vmo, (uint64_t*)(void*)r->dest)
                                    : zx_vmo_read(r->vmo, r->dest, 0, 16);
    _exit(st == ZX_ERR_NO_MEMORY || st == ZX_ERR_INVALID_ARGS ? 0 : st == ZX_OK ? 1 : 2);
}

/* Runs read_into_child and checks that it answered with an error status. */
static void answers_not_dies(const char* what, zx_handle_t vmo, uint8_t* dest, int out_pointer) {
    struct read_into r = {vmo, dest, out_pointer};
    int status = in_child(read_into_child, &r);
    if (!CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "    (%s: child %s %d)\n", what,
                WIFEXITED(status) ? "exited with status" : "killed by signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

int main(void) {
    const char* limit = getenv("ZIRCON_FRAME_LIMIT");
    CHECK(limit != NULL && strtoul(limit, NULL, 10) == LIMIT);

    /* V1: 16 pages written through its pointer. */
    zx_handle_t v1 = make(16 * PAGE, 0);
    uint8_t* p1 = map_self(v1, 0, 16 * PAGE, RW);
    /* V2: 64 pages mapped, 48 committed (8 through the pointer, 40 with zx_vmo_write). */
    zx_handle_t v2 = make(64 * PAGE, 0);
    uint8_t* p2 = map_self(v2, 0, 64 * PAGE, RW);
    if (!p1 || !p2) return finish();
    memset(p1, 0x11, 16 * PAGE);
    memset(p2, 0x22, 8 * PAGE);
    CHECK_STATUS(vmo_fill(v2, 8 * PAGE, 40 * PAGE, 0x22), ZX_OK);
    CHECK_EQ(committed_of(v1), 16 * PAGE);
    CHECK_EQ(committed_of(v2), 48 * PAGE);
    /* Every frame is in use now. */
    CHECK_STATUS(vmo_fill(v2, 48 * PAGE, 1, 0x33), ZX_ERR_NO_MEMORY);

    /* ---- Exhausted: NO_MEMORY, nothing changed ---- */
    CHECK(vmo_bytes_are(v2, 48 * PAGE, 16 * PAGE, 0));
    CHECK(mem_is(p2 + 48 * PAGE, 16 * PAGE, 0)); /* reading needs no frame */
    CHECK_EQ(committed_of(v2), 48 * PAGE);
    /* A write partly on committed pages, partly beyond: refused whole. */
    static uint8_t buf[16 * 4096];
    memset(buf, 0x34, sizeof buf);
    CHECK_STATUS(zx_vmo_write(v2, buf, 46 * PAGE, 4 * PAGE), ZX_ERR_NO_MEMORY);
    CHECK(vmo_bytes_are(v2, 46 * PAGE, 2 * PAGE, 0x22));
    CHECK(mem_is(p2 + 46 * PAGE, 2 * PAGE, 0x22));
    CHECK(mem_is(p2 + 48 * PAGE, 2 * PAGE, 0));
    /* From a mapped buffer. */
    CHECK_STATUS(zx_vmo_write(v2, p1, 50 * PAGE, 100), ZX_ERR_NO_MEMORY);
    CHECK(mem_is(p2 + 50 * PAGE, PAGE, 0));
    /* COMMIT of pages that need frames; COMMIT of committed pages needs none. */
    CHECK_STATUS(zx_vmo_op_range(v2, ZX_VMO_OP_COMMIT, 48 * PAGE, 16 * PAGE, NULL, 0),
                 ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_vmo_op_range(v2, ZX_VMO_OP_COMMIT, 47 * PAGE, 2 * PAGE, NULL, 0),
                 ZX_ERR_NO_MEMORY);
    CHECK_EQ(committed_of(v2), 48 * PAGE);
    CHECK_STATUS(zx_vmo_op_range(v2, ZX_VMO_OP_COMMIT, 0, 48 * PAGE, NULL, 0), ZX_OK);
    CHECK_EQ(committed_of(v2), 48 * PAGE);
    CHECK(mem_is(p2, 48 * PAGE, 0x22));

    /* Writes through pointers to pages the VMO owns need no frame: they work. */
    p2[5] = 0x23;
    p2[40 * PAGE + 7] = 0x24;
    p1[15 * PAGE + 1] = 0x12;
    CHECK_EQ(vmo_byte(v2, 5), 0x23);
    CHECK_EQ(vmo_byte(v2, 40 * PAGE + 7), 0x24);
    CHECK_EQ(vmo_byte(v1, 15 * PAGE + 1), 0x12);
    /* Kernel calls with buffers in such pages too. */
    CHECK_STATUS(zx_vmo_read(v1, p2 + 3 * PAGE, 0, 64), ZX_OK);
    CHECK(mem_is(p2 + 3 * PAGE, 64, 0x11));
    CHECK_EQ(vmo_byte(v2, 3 * PAGE + 63), 0x11);
    zx_info_vmo_t* info = (zx_info_vmo_t*)(void*)(p2 + 4 * PAGE);
    CHECK_STATUS(zx_object_get_info(v2, ZX_INFO_VMO, info, sizeof *info, NULL, NULL), ZX_OK);
    CHECK_EQ(info->committed_bytes, 48 * PAGE);
    CHECK_EQ(info->num_mappings, 1);

    /* A snapshot needs no frame; writes to the shared pages need one. */
    zx_handle_t s = snap(v1, 16 * PAGE);
    uint8_t* ps = map_self(s, 0, 16 * PAGE, RW);
    CHECK_STATUS(vmo_fill(v1, 0, 1, 0x44), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(vmo_fill(s, 0, 1, 0x44), ZX_ERR_NO_MEMORY);
    CHECK_STATUS(zx_vmo_op_range(s, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), ZX_ERR_NO_MEMORY);
    CHECK_EQ(p1[0], 0x11);
    CHECK(vmo_bytes_are(s, 0, PAGE, 0x11));
    CHECK_EQ(committed_of(v1), 16 * PAGE);
    CHECK_EQ(committed_of(s), 0);
    if (ps) {
        CHECK(mem_is(ps, 15 * PAGE, 0x11));
        CHECK_EQ(ps[15 * PAGE + 1], 0x12);
    }
    /* A legacy clone of V2 needs no frame either, until it writes. */
    zx_handle_t c = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_clone(v2, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 64 * PAGE, &c), ZX_OK);
    uint8_t* pc = map_self(c, 0, 64 * PAGE, RW);
    if (pc) CHECK_EQ(pc[5], 0x23);

    /* ---- Writes through pointers that need a frame kill the process ---- */
    dies_of_segv("write to a fresh page", p2 + 48 * PAGE);
    dies_of_segv("write to a fresh page past a committed one", p2 + 63 * PAGE + 100);
    dies_of_segv("parent's write to a page shared with its snapshot", p1 + 100);
    if (ps) dies_of_segv("snapshot's write to a shared page", ps + 2 * PAGE);
    if (pc) dies_of_segv("legacy clone's write to a page it has not written", pc + 5);
    /* The parent is unaffected. */
    CHECK(mem_is(p2 + 48 * PAGE, 16 * PAGE, 0));
    CHECK(vmo_bytes_are(v2, 48 * PAGE, 16 * PAGE, 0));
    CHECK_EQ(committed_of(v2), 48 * PAGE);
    CHECK_EQ(p1[100], 0x11);
    CHECK_EQ(vmo_byte(v1, 100), 0x11);
    CHECK(vmo_bytes_are(s, 0, 16 * PAGE - PAGE, 0x11));
    if (ps) CHECK(mem_is(ps + 2 * PAGE, PAGE, 0x11));
    if (pc) CHECK_EQ(pc[5], 0x23);
    CHECK_EQ(vmo_byte(c, 5), 0x23);
    CHECK_EQ(committed_of(c), 0);
    CHECK_EQ(committed_of(s), 0);

    /* A kernel call whose output lies in a page that would need a frame: a status, no death,
     * and nothing changed. */
    answers_not_dies("zx_vmo_read into a page shared with a snapshot", v2, p1 + 200, 0);
    answers_not_dies("zx_vmo_get_size into a page shared with a snapshot", v2, p1 + 304, 1);
    if (pc) answers_not_dies("zx_vmo_read into a legacy clone's unwritten page", v1, pc + 64, 0);
    CHECK(mem_is(p1 + 200, 16, 0x11));
    CHECK(mem_is(p1 + 304, 8, 0x11));
    CHECK_EQ(vmo_byte(v1, 200), 0x11);
    if (pc) CHECK(mem_is(pc + 64, 16, 0x22));

    /* ---- Freeing frames ---- */
    /* The clone and the snapshot go: V1's pages are its own again, writable without a frame. */
    if (pc) unmap_self(pc, 64 * PAGE);
    CHECK_STATUS(zx_handle_close(c), ZX_OK);
    if (ps) unmap_self(ps, 16 * PAGE);
    CHECK_STATUS(zx_handle_close(s), ZX_OK);
    p1[100] = 0x13;
    CHECK_EQ(vmo_byte(v1, 100), 0x13);
    CHECK_EQ(committed_of(v1), 16 * PAGE);
    /* V2 closed and unmapped: 48 frames free again. */
    CHECK_STATUS(zx_handle_close(v2), ZX_OK);
    CHECK_EQ(p2[5], 0x23); /* the mapping kept it alive */
    unmap_self(p2, 64 * PAGE);
    /* The remaining mapping still works. */
    CHECK(mem_is(p1 + PAGE, 14 * PAGE, 0x11));
    CHECK_EQ(p1[15 * PAGE + 1], 0x12);
    p1[PAGE] = 0x14;
    CHECK_EQ(vmo_byte(v1, PAGE), 0x14);
    /* And new pages can be written through new pointers: all 48 free frames. */
    zx_handle_t v3 = make(48 * PAGE, 0);
    uint8_t* p3 = map_self(v3, 0, 48 * PAGE, RW);
    if (p3) {
        memset(p3, 0x55, 48 * PAGE);
        CHECK(vmo_bytes_are(v3, 0, 48 * PAGE, 0x55));
        CHECK_EQ(committed_of(v3), 48 * PAGE);
        CHECK_STATUS(vmo_fill(v1, 0, 1, 0x15), ZX_OK); /* owned page: no frame needed */
        CHECK_STATUS(vmo_fill(v3, 0, 1, 0x56), ZX_OK);
        /* Full again: a snapshot and a write to a shared page are refused. */
        zx_handle_t s3 = snap(v3, 48 * PAGE);
        CHECK_STATUS(vmo_fill(v3, PAGE, 1, 0x57), ZX_ERR_NO_MEMORY);
        dies_of_segv("write to a shared page after refilling", p3 + PAGE);
        CHECK_EQ(p3[PAGE], 0x55);
        CHECK_STATUS(zx_handle_close(s3), ZX_OK);
        /* DECOMMIT while mapped frees frames: the pointer reads zeros, V1 can use them. */
        CHECK_STATUS(zx_vmo_op_range(v3, ZX_VMO_OP_DECOMMIT, 32 * PAGE, 16 * PAGE, NULL, 0),
                     ZX_OK);
        CHECK(mem_is(p3 + 32 * PAGE, 16 * PAGE, 0));
        CHECK(mem_is(p3 + PAGE, 31 * PAGE, 0x55));
        zx_handle_t v4 = make(16 * PAGE, 0);
        uint8_t* p4 = map_self(v4, 0, 16 * PAGE, RW);
        if (p4) {
            memset(p4, 0x66, 16 * PAGE);
            CHECK(vmo_bytes_are(v4, 0, 16 * PAGE, 0x66));
            CHECK_STATUS(vmo_fill(v3, 32 * PAGE, 1, 0x58), ZX_ERR_NO_MEMORY);
            CHECK(mem_is(p3 + 32 * PAGE, PAGE, 0));
            unmap_self(p4, 16 * PAGE);
        }
        CHECK_STATUS(zx_handle_close(v4), ZX_OK);
        /* Freed by closing V4 (its mapping is gone): the pointer write to V3 works again. */
        p3[32 * PAGE] = 0x59;
        CHECK_EQ(vmo_byte(v3, 32 * PAGE), 0x59);
        unmap_self(p3, 48 * PAGE);
    }
    CHECK_STATUS(zx_handle_close(v3), ZX_OK);
    CHECK_EQ(p1[PAGE], 0x14);
    CHECK_EQ(p1[0], 0x15);
    unmap_self(p1, 16 * PAGE);
    CHECK_STATUS(zx_handle_close(v1), ZX_OK);

    /* Everything is free: the whole limit can be committed and written through a pointer. */
    zx_handle_t all = make(LIMIT * PAGE, 0);
    uint8_t* pa = map_self(all, 0, LIMIT * PAGE, RW);
    if (pa) {
        for (size_t i = 0; i < LIMIT; i++) pa[i * PAGE + i] = (uint8_t)i;
        CHECK_EQ(committed_of(all), LIMIT * PAGE);
        CHECK_EQ(vmo_byte(all, (LIMIT - 1) * PAGE + LIMIT - 1), LIMIT - 1);
        unmap_self(pa, LIMIT * PAGE);
    }
    CHECK_STATUS(zx_handle_close(all), ZX_OK);
    return finish();
}
