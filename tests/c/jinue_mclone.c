/* Jinue's MCLONE with real memory: spec/jinue.md ("MCLONE (function 15)", its semantics and
 * Decision) and seed 004. The calling program is a process whose descriptor 0 is itself; what
 * zx_vmar_map maps into zx_vmar_root_self() is memory of that process, so MCLONE can share it
 * with processes made by jinue_create_process (no threads, an address space covering the same
 * range as the caller's root VMAR) and clone it back into the caller, where the pointers are
 * dereferenced. Calls are made through both entries (the raw jinue_syscall and jinue_mclone).
 *   1. the acceptance scenario: a VMO mapped in the caller, MCLONE'd into a new process and
 *      from there back into the caller at another address; writes through either pointer and
 *      zx_vmo_write are visible everywhere, zx_vmo_read sees the pointers' writes;
 *   2. holes: where the source has no mapping the destination ends up unmapped (touching it
 *      kills a forked child with SIGSEGV), also where the destination was mapped before; mapped
 *      destination pages are replaced, the rest of a replaced mapping stays; a range of holes
 *      only unmaps the destination; ZX_INFO_VMO num_mappings follows every step;
 *   3. prot: NONE, READ, WRITE, EXEC and every combination (W|X included) are accepted; a NONE
 *      clone cannot be read, a READ clone cannot be written (forked children die of SIGSEGV, the
 *      memory is unchanged); a prot above what the source mapping's VMO handle allowed is EPERM
 *      and changes nothing (also for a source range of which only part is limited, and through
 *      a chain of clones), while a read-only mapping made through a handle with WRITE may be
 *      cloned writable (the spec's Decision);
 *   4. EINVAL for misaligned addresses and lengths, unknown and negative prot, and ranges that
 *      wrap or leave the user range (ZX_INFO_VMAR of the root VMAR), each leaving the
 *      destination's memory and every num_mappings as they were; length 0 succeeds and changes
 *      nothing;
 *   5. MCLONE between two created processes (also through minted descriptors: the source needs
 *      no permission, the destination MAP) and back into the caller; num_mappings grows by one
 *      per clone, not for a clone that replaces one, and drops when a process holding clones is
 *      destroyed; clones keep the memory when the VMO handle is closed and the original
 *      mapping is gone;
 *   6. copy-on-write: after a snapshot of the VMO, a write through a clone is seen by the VMO
 *      and every clone while the snapshot keeps the old bytes; writes to the snapshot stay in it;
 *      a mapped snapshot is cloned like any VMO;
 *   7. offsets: a range starting inside a mapping, a range spanning adjacent mappings of two
 *      VMOs, a source mapping inside a sub-VMAR, and a clone of a range onto itself (new prot). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mapping.h"

#include <jinue/jinue.h>

#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define RO ZX_VM_PERM_READ
#define P_R JINUE_PROT_READ
#define P_W JINUE_PROT_WRITE
#define P_X JINUE_PROT_EXEC
#define P_RW (JINUE_PROT_READ | JINUE_PROT_WRITE)
#define REGION (64 * PAGE) /* the caller's and the processes' address ranges, handed out below */
#define NOERR (-7777)

/* ---- Helpers ---- */

static zx_info_vmar_t root;

static const char* jerr(uintptr_t e) {
    switch (e) {
    case 0: return "success";
    case JINUE_ENOMEM: return "ENOMEM";
    case JINUE_ENOSYS: return "ENOSYS";
    case JINUE_EINVAL: return "EINVAL";
    case JINUE_EAGAIN: return "EAGAIN";
    case JINUE_EBADF: return "EBADF";
    case JINUE_EIO: return "EIO";
    case JINUE_EPERM: return "EPERM";
    default: return "(unknown)";
    }
}

static int raw_expect(int line, const char* text, jinue_syscall_args_t got, int want) {
    int ok = want == 0 ? got.arg0 == 0
                       : got.arg0 == UINTPTR_MAX && got.arg1 == (uintptr_t)want;
    check_impl(__FILE__, line, text, ok);
    if (!ok) {
        if (got.arg0 == UINTPTR_MAX)
            fprintf(stderr, "    got arg0 -1, arg1 %s (%" PRIuPTR "), expected %s (%d)\n",
                    jerr(got.arg1), got.arg1, jerr((uintptr_t)want), want);
        else
            fprintf(stderr, "    got arg0 %" PRIuPTR ", expected %s (%d)\n", got.arg0,
                    jerr((uintptr_t)want), want);
    }
    return ok;
}

static int err_ = NOERR;
#define E (&err_)

static int lib_expect(int line, const char* text, int ret, int want) {
    int ok = want == 0 ? ret == 0 : ret == -1 && err_ == want;
    check_impl(__FILE__, line, text, ok);
    if (!ok)
        fprintf(stderr, "    returned %d, *perrno %s (%d), expected %s (%d)\n", ret,
                jerr((uintptr_t)err_), err_, jerr((uintptr_t)want), want);
    return ok;
}
#define LIB(call, want) lib_expect(__LINE__, #call, (err_ = NOERR, (call)), (want))

static jinue_syscall_args_t raw_mclone(int src, int dest, uintptr_t sa, uintptr_t da, size_t len,
                                       int prot) {
    jinue_mclone_args_t c = {(void*)sa, (void*)da, len, prot};
    jinue_syscall_args_t a = {JINUE_SYS_MCLONE, (uintptr_t)(intptr_t)src,
                              (uintptr_t)(intptr_t)dest, (uintptr_t)&c};
    jinue_syscall(&a);
    return a;
}

/* One MCLONE through the raw entry (`raw` != 0) or the library; `want` 0 or an error. */
static int mclone_at(int line, int raw, int src, int dest, uintptr_t sa, uintptr_t da,
                     size_t len, int prot, int want) {
    char t[240];
    snprintf(t, sizeof t, "%s(%d, %d, %#" PRIxPTR ", %#" PRIxPTR ", %#zx, prot %#x)",
             raw ? "raw MCLONE" : "jinue_mclone", src, dest, sa, da, len, (unsigned)prot);
    if (raw) return raw_expect(line, t, raw_mclone(src, dest, sa, da, len, prot), want);
    err_ = NOERR;
    return lib_expect(line, t, jinue_mclone(src, dest, (void*)sa, (void*)da, len, prot, E), want);
}
/* Succeeds (library / raw entry). */
#define CLONE(s, d, sa, da, len, prot)                                                        \
    mclone_at(__LINE__, 0, (s), (d), (uintptr_t)(sa), (uintptr_t)(da), (size_t)(len), (prot), 0)
#define RAW_CLONE(s, d, sa, da, len, prot)                                                    \
    mclone_at(__LINE__, 1, (s), (d), (uintptr_t)(sa), (uintptr_t)(da), (size_t)(len), (prot), 0)
/* Fails with `want` through both entries. */
#define FAILS(s, d, sa, da, len, prot, want)                                                  \
    do {                                                                                      \
        mclone_at(__LINE__, 1, (s), (d), (uintptr_t)(sa), (uintptr_t)(da), (size_t)(len),      \
                  (prot), (want));                                                            \
        mclone_at(__LINE__, 0, (s), (d), (uintptr_t)(sa), (uintptr_t)(da), (size_t)(len),      \
                  (prot), (want));                                                            \
    } while (0)

static int next_region_;
/* A fresh range of REGION bytes at the top of the caller's root VMAR, where zx_vmar_map's
 * first-fit placement never goes. */
static uintptr_t self_region(void) {
    next_region_++;
    return (uintptr_t)(root.base + root.len - (uint64_t)next_region_ * REGION);
}
/* A range of REGION bytes in a created process (their address spaces start empty). */
static uintptr_t proc_region(int k) {
    return (uintptr_t)(root.base + root.len / 2 + (uint64_t)k * REGION);
}

/* Maps `len` bytes of `vmo` at `offset` into the caller at exactly `addr`; 0 on failure. */
static uint8_t* map_at(uintptr_t addr, zx_handle_t vmo, uint64_t offset, size_t len,
                       uint32_t perms) {
    return (uint8_t*)(uintptr_t)map_ok(zx_vmar_root_self(), perms | ZX_VM_SPECIFIC,
                                       (size_t)(addr - root.base), vmo, offset, len);
}
/* Maps anywhere in the caller. */
static uint8_t* map_self(zx_handle_t vmo, uint64_t offset, size_t len, uint32_t perms) {
    return (uint8_t*)(uintptr_t)map_ok(zx_vmar_root_self(), perms, 0, vmo, offset, len);
}
static void unmap_self(uintptr_t addr, size_t len) {
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)addr, len), ZX_OK);
}

static uint64_t mappings_of(zx_handle_t vmo) { return vmo_info(vmo).num_mappings; }

static int mem_is(const volatile uint8_t* p, size_t len, uint8_t byte) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != byte) return 0;
    return 1;
}

/* A VMO of `pages` pages, page i filled with `first` + i. */
static zx_handle_t make_pages(size_t pages, uint8_t first) {
    zx_handle_t v = make(pages * PAGE, 0);
    for (size_t i = 0; i < pages; i++)
        CHECK_STATUS(vmo_fill(v, i * PAGE, PAGE, (uint8_t)(first + i)), ZX_OK);
    return v;
}

#define NEW(fd) LIB(jinue_create_process((fd), E), 0)
#define GONE(fd) LIB(jinue_destroy((fd), E), 0), LIB(jinue_close((fd), E), 0)

/* Touches `at` (a write if `write`) in a forked child; checks that the child died of SIGSEGV.
 * The child touches nothing else and calls nothing of the library. */
static void dies_of_segv_at(int line, const char* what, uintptr_t at, int write) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (!CHECK(pid >= 0)) return;
    if (pid == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        volatile uint8_t* p = (volatile uint8_t*)at;
        if (write)
            p[0] = 0x99;
        else
            (void)p[0];
        _exit(72); /* survived: the access was allowed */
    }
    int status = 0;
    pid_t got;
    do got = waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    int sig = got == pid && WIFSIGNALED(status) ? WTERMSIG(status) : -1;
    int ok = check_impl(__FILE__, line, what, sig == SIGSEGV);
    if (!ok)
        fprintf(stderr, "    (%s at %#" PRIxPTR ": child %s %d)\n", write ? "write" : "read", at,
                WIFEXITED(status) ? "exited with status" : "killed by signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}
#define DIES(at, write, what) dies_of_segv_at(__LINE__, what, (uintptr_t)(at), (write))

/* ---- 1. The acceptance scenario ---- */

static void test_acceptance(void) {
    zx_handle_t v = make(4 * PAGE, 0);
    uint8_t* a = map_self(v, 0, 4 * PAGE, RW);
    if (!a || !NEW(1)) return;
    for (size_t i = 0; i < 4; i++) memset(a + i * PAGE, 0x10 + (int)i, PAGE);
    CHECK_EQ(mappings_of(v), 1);

    const uintptr_t x = proc_region(0);
    CLONE(0, 1, a, x, 4 * PAGE, P_RW);
    CHECK_EQ(mappings_of(v), 2);
    uint8_t* b = (uint8_t*)self_region();
    RAW_CLONE(1, 0, x, b, 4 * PAGE, P_RW);
    CHECK_EQ(mappings_of(v), 3);
    CHECK(b != a);
    for (size_t i = 0; i < 4; i++) CHECK(mem_is(b + i * PAGE, PAGE, (uint8_t)(0x10 + i)));

    /* Writes through b: seen through a and zx_vmo_read. */
    b[5] = 0x77;
    CHECK_EQ(a[5], 0x77);
    CHECK_EQ(vmo_byte(v, 5), 0x77);
    memset(b + 3 * PAGE, 0x3C, PAGE);
    CHECK(mem_is(a + 3 * PAGE, PAGE, 0x3C));
    CHECK(vmo_bytes_are(v, 3 * PAGE, PAGE, 0x3C));
    /* Writes through a: seen through b. */
    a[PAGE + 7] = 0x66;
    CHECK_EQ(b[PAGE + 7], 0x66);
    CHECK_EQ(vmo_byte(v, PAGE + 7), 0x66);
    /* zx_vmo_write: seen through both. */
    const char msg[] = "shared, not copied";
    CHECK_STATUS(zx_vmo_write(v, msg, 2 * PAGE + 100, sizeof msg), ZX_OK);
    CHECK(memcmp(a + 2 * PAGE + 100, msg, sizeof msg) == 0);
    CHECK(memcmp(b + 2 * PAGE + 100, msg, sizeof msg) == 0);
    /* zx_vmo_read of everything equals both pointers. */
    static uint8_t buf[4 * 4096];
    CHECK_STATUS(zx_vmo_read(v, buf, 0, sizeof buf), ZX_OK);
    CHECK(memcmp(buf, a, sizeof buf) == 0);
    CHECK(memcmp(buf, b, sizeof buf) == 0);

    /* Unmapping b leaves a and P's clone; destroying P leaves a. */
    unmap_self((uintptr_t)b, 4 * PAGE);
    CHECK_EQ(mappings_of(v), 2);
    GONE(1);
    CHECK_EQ(mappings_of(v), 1);
    a[0] = 0x01;
    CHECK_EQ(vmo_byte(v, 0), 0x01);
    unmap_self((uintptr_t)a, 4 * PAGE);
    CHECK_EQ(mappings_of(v), 0);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- 2. Holes ---- */

static void test_holes(void) {
    zx_handle_t v = make_pages(3, 0xA0);
    uint8_t* a = map_self(v, 0, 3 * PAGE, RW);
    if (!a || !NEW(1)) return;
    /* P: [x] = v page 0, [x + PAGE] nothing, [x + 2 PAGE] = v page 2. */
    const uintptr_t x = proc_region(1);
    CLONE(0, 1, a, x, PAGE, P_RW);
    RAW_CLONE(0, 1, a + 2 * PAGE, x + 2 * PAGE, PAGE, P_RW);
    CHECK_EQ(mappings_of(v), 3);

    /* The caller: five pages of w at d0; the clone lands on its middle three. */
    zx_handle_t w = make(5 * PAGE, 0);
    CHECK_STATUS(vmo_fill(w, 0, 5 * PAGE, 0xEE), ZX_OK);
    const uintptr_t d0 = self_region();
    uint8_t* dw = map_at(d0, w, 0, 5 * PAGE, RW);
    if (!dw) return;
    CHECK_EQ(mappings_of(w), 1);
    CHECK(mem_is(dw, 5 * PAGE, 0xEE));
    uint8_t* d = dw + PAGE;
    RAW_CLONE(1, 0, x, d, 3 * PAGE, P_RW);
    CHECK_EQ(mappings_of(v), 5); /* a, P's two pages, d and d + 2 PAGE */
    CHECK_EQ(mappings_of(w), 2); /* the pages before and after, split apart */
    CHECK(mem_is(d, PAGE, 0xA0));
    CHECK(mem_is(d + 2 * PAGE, PAGE, 0xA2));
    CHECK(mem_is(dw, PAGE, 0xEE));
    CHECK(mem_is(dw + 4 * PAGE, PAGE, 0xEE));
    DIES(d + PAGE, 0, "read of the hole cloned over w");
    DIES(d + 2 * PAGE - 1, 1, "write to the hole cloned over w");
    CHECK(vmo_bytes_are(w, PAGE, 3 * PAGE, 0xEE)); /* w's own memory is untouched */
    d[9] = 0x42;
    CHECK_EQ(a[9], 0x42);
    d[2 * PAGE + 9] = 0x43;
    CHECK_EQ(a[2 * PAGE + 9], 0x43);
    CHECK(mem_is(a + PAGE, PAGE, 0xA1));

    /* A range with no mapping at all (P's hole) unmaps w's first page. */
    CLONE(1, 0, x + PAGE, dw, PAGE, P_RW);
    CHECK_EQ(mappings_of(w), 1);
    CHECK_EQ(mappings_of(v), 5);
    DIES(dw, 0, "read where a hole was cloned over a mapped page");
    CHECK(mem_is(dw + 4 * PAGE, PAGE, 0xEE));
    /* A many-page range of holes over several mappings: everything there goes. */
    const uintptr_t empty = proc_region(2); /* nothing mapped in P there */
    RAW_CLONE(1, 0, empty, dw, 5 * PAGE, P_R);
    CHECK_EQ(mappings_of(w), 0);
    CHECK_EQ(mappings_of(v), 3);
    DIES(dw + 4 * PAGE, 0, "read of w's former last page");
    DIES(dw + 2 * PAGE, 0, "read of v's former clone");

    /* The caller's hole into P over v's page: P's page goes (num_mappings), and cloning P's
     * range back shows holes at both ends. */
    CLONE(0, 1, dw, x, PAGE, P_RW);
    CHECK_EQ(mappings_of(v), 2);
    uint8_t* e = (uint8_t*)self_region();
    CLONE(1, 0, x, e, 3 * PAGE, P_R);
    CHECK_EQ(mappings_of(v), 3);
    CHECK(mem_is(e + 2 * PAGE, 9, 0xA2));
    CHECK_EQ(e[2 * PAGE + 9], 0x43);
    CHECK(mem_is(e + 2 * PAGE + 10, PAGE - 10, 0xA2));
    DIES(e, 0, "read of the first page (a hole at the start)");
    DIES(e + PAGE, 0, "read of the second page (a hole)");

    unmap_self((uintptr_t)e, 3 * PAGE);
    unmap_self(d0, 5 * PAGE);
    GONE(1);
    CHECK_EQ(mappings_of(v), 1);
    unmap_self((uintptr_t)a, 3 * PAGE);
    CHECK_STATUS(zx_handle_close(w), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- 3. prot ---- */

static void test_prot(void) {
    zx_handle_t v = make(PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, PAGE, 0x31), ZX_OK);
    uint8_t* a = map_self(v, 0, PAGE, RW);
    if (!a || !NEW(1)) return;

    /* Every combination is accepted, into the caller and into P. */
    const int prots[] = {JINUE_PROT_NONE, P_R, P_W, P_X, P_RW, P_R | P_X, P_W | P_X,
                         P_R | P_W | P_X};
    const size_t n = sizeof prots / sizeof prots[0];
    uintptr_t c[8];
    const uintptr_t region = self_region();
    for (size_t i = 0; i < n; i++) {
        c[i] = region + i * 2 * PAGE;
        mclone_at(__LINE__, (int)(i & 1), 0, 0, (uintptr_t)a, c[i], PAGE, prots[i], 0);
        mclone_at(__LINE__, (int)(~i & 1), 0, 1, (uintptr_t)a, proc_region(3) + i * PAGE, PAGE,
                  prots[i], 0);
    }
    CHECK_EQ(mappings_of(v), 1 + 2 * n);
    volatile uint8_t* none = (volatile uint8_t*)c[0];
    volatile uint8_t* r = (volatile uint8_t*)c[1];
    volatile uint8_t* rw = (volatile uint8_t*)c[4];
    DIES(none, 0, "read of a PROT_NONE clone");
    DIES(none, 1, "write to a PROT_NONE clone");
    CHECK_EQ(r[0], 0x31);
    DIES(r + 17, 1, "write to a READ clone");
    CHECK_EQ(r[17], 0x31);
    CHECK_EQ(a[17], 0x31);
    CHECK(vmo_bytes_are(v, 0, PAGE, 0x31));
    rw[17] = 0x32;
    CHECK_EQ(a[17], 0x32);
    CHECK_EQ(r[17], 0x32);
    CHECK_EQ(((volatile uint8_t*)c[5])[17], 0x32); /* READ | EXEC */
    CHECK_EQ(((volatile uint8_t*)c[7])[17], 0x32); /* READ | WRITE | EXEC */
    ((volatile uint8_t*)c[7])[18] = 0x33;
    CHECK_EQ(vmo_byte(v, 18), 0x33);
    DIES(c[5], 1, "write to a READ | EXEC clone");
    unmap_self(region, n * 2 * PAGE);
    CHECK_EQ(mappings_of(v), 1 + n);

    /* A source mapped through a handle without WRITE and EXECUTE. */
    zx_handle_t ro = dup_with(v, ZX_RIGHT_MAP | ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE);
    uint8_t* rp = map_self(ro, 0, PAGE, RO);
    /* P's destination y holds two pages of u. */
    zx_handle_t u = make_pages(2, 0x55);
    uint8_t* up = map_self(u, 0, 2 * PAGE, RW);
    const uintptr_t y = proc_region(4);
    CLONE(0, 1, up, y, 2 * PAGE, P_RW);
    CHECK_EQ(mappings_of(u), 2);
    const uint64_t vmaps = mappings_of(v);
    if (!rp || !up) return;
    FAILS(0, 1, rp, y, PAGE, P_RW, JINUE_EPERM);
    FAILS(0, 1, rp, y, PAGE, P_W, JINUE_EPERM);
    FAILS(0, 1, rp, y, PAGE, P_X, JINUE_EPERM);
    FAILS(0, 1, rp, y, PAGE, P_R | P_X, JINUE_EPERM);
    FAILS(0, 1, rp, y, PAGE, P_R | P_W | P_X, JINUE_EPERM);
    FAILS(0, 0, rp, rp, PAGE, P_RW, JINUE_EPERM);
    CHECK_EQ(mappings_of(u), 2);
    CHECK_EQ(mappings_of(v), vmaps);
    /* ... P's y still shows u. */
    uint8_t* back = (uint8_t*)self_region();
    CLONE(1, 0, y, back, 2 * PAGE, P_R);
    CHECK(mem_is(back, PAGE, 0x55));
    CHECK(mem_is(back + PAGE, PAGE, 0x56));
    unmap_self((uintptr_t)back, 2 * PAGE);
    /* ... and rp is still read-only. */
    DIES(rp, 1, "write to the read-only source after the failed MCLONE");
    /* READ and NONE are within the handle's rights. */
    CLONE(0, 1, rp, y, PAGE, P_R);
    CHECK_EQ(mappings_of(u), 2); /* up and P's y + PAGE */
    CHECK_EQ(mappings_of(v), vmaps + 1);
    RAW_CLONE(0, 1, rp, y + 8 * PAGE, PAGE, JINUE_PROT_NONE);
    CHECK_EQ(mappings_of(v), vmaps + 2);
    /* The limit follows the memory through a chain of clones. */
    uint8_t* back2 = (uint8_t*)self_region();
    FAILS(1, 0, y, back2, PAGE, P_RW, JINUE_EPERM);
    FAILS(1, 0, y + 8 * PAGE, back2, PAGE, P_R | P_X, JINUE_EPERM);
    CLONE(1, 0, y + 8 * PAGE, back2, PAGE, P_R);
    CHECK_EQ(back2[17], 0x32);
    DIES(back2, 1, "write to a READ clone of a READ clone");
    CHECK_EQ(mappings_of(v), vmaps + 3);

    /* A range of which only the second page is limited: EPERM, nothing changed. */
    const uintptr_t m = self_region();
    uint8_t* m0 = map_at(m, v, 0, PAGE, RW);
    uint8_t* m1 = map_at(m + PAGE, ro, 0, PAGE, RO);
    CLONE(0, 1, up, y, 2 * PAGE, P_RW); /* y: u again */
    const uint64_t vmaps2 = mappings_of(v), umaps = mappings_of(u);
    if (m0 && m1) {
        FAILS(0, 1, m, y, 2 * PAGE, P_RW, JINUE_EPERM);
        CHECK_EQ(mappings_of(v), vmaps2);
        CHECK_EQ(mappings_of(u), umaps);
        CLONE(1, 0, y, back, 2 * PAGE, P_R);
        CHECK(mem_is(back, PAGE, 0x55));
        CHECK(mem_is(back + PAGE, PAGE, 0x56));
        unmap_self((uintptr_t)back, 2 * PAGE);
        CLONE(0, 1, m, y, 2 * PAGE, P_R); /* within both */
        CHECK_EQ(mappings_of(v), vmaps2 + 2);
    }
    unmap_self(m, 2 * PAGE);

    /* Decision: the handle decides, not the source mapping's current permissions. A read-only
     * mapping made through a handle with WRITE may be cloned writable. */
    uint8_t* a2 = map_self(v, 0, PAGE, RO);
    uint8_t* w2 = (uint8_t*)self_region();
    if (a2) {
        CLONE(0, 0, a2, w2, PAGE, P_RW);
        w2[40] = 0x9A;
        CHECK_EQ(vmo_byte(v, 40), 0x9A);
        CHECK_EQ(a2[40], 0x9A);
        DIES(a2 + 40, 1, "write to the read-only original");
        unmap_self((uintptr_t)w2, PAGE);
        unmap_self((uintptr_t)a2, PAGE);
    }

    unmap_self((uintptr_t)back2, PAGE);
    unmap_self((uintptr_t)rp, PAGE);
    unmap_self((uintptr_t)up, 2 * PAGE);
    GONE(1);
    CHECK_EQ(mappings_of(v), 1);
    CHECK_EQ(mappings_of(u), 0);
    unmap_self((uintptr_t)a, PAGE);
    CHECK_STATUS(zx_handle_close(ro), ZX_OK);
    CHECK_STATUS(zx_handle_close(u), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- 4. EINVAL and length 0 ---- */

static void test_invalid(void) {
    const uintptr_t base = root.base, end = root.base + root.len;
    zx_handle_t v = make_pages(2, 0x61);
    uint8_t* a = map_self(v, 0, 2 * PAGE, RW);
    zx_handle_t u = make_pages(2, 0x71);
    uint8_t* up = map_self(u, 0, 2 * PAGE, RW);
    if (!a || !up || !NEW(1)) return;
    /* Destinations that already hold u: y in P, d in the caller. */
    const uintptr_t y = proc_region(5);
    CLONE(0, 1, up, y, 2 * PAGE, P_RW);
    uint8_t* d = (uint8_t*)self_region();
    CLONE(0, 0, up, d, 2 * PAGE, P_RW);
    CHECK_EQ(mappings_of(u), 3);
    CHECK_EQ(mappings_of(v), 1);

    struct {
        uintptr_t sa, da;
        size_t len;
        int prot;
    } bad[] = {
        /* misaligned */
        {(uintptr_t)a + 1, y, PAGE, P_R},
        {(uintptr_t)a + PAGE / 2, y, PAGE, P_R},
        {(uintptr_t)a + PAGE - 1, y, PAGE, P_R},
        {(uintptr_t)a, y + 1, PAGE, P_R},
        {(uintptr_t)a, y + PAGE - 8, PAGE, P_R},
        {(uintptr_t)a, y, 1, P_R},
        {(uintptr_t)a, y, PAGE - 1, P_R},
        {(uintptr_t)a, y, PAGE + 1, P_R},
        {(uintptr_t)a, y, 2 * PAGE - 2048, P_R},
        {(uintptr_t)a + 1, y, 0, P_R},
        {(uintptr_t)a, y + 1, 0, P_R},
        /* unknown and negative prot */
        {(uintptr_t)a, y, PAGE, 8},
        {(uintptr_t)a, y, PAGE, 16},
        {(uintptr_t)a, y, PAGE, P_R | 8},
        {(uintptr_t)a, y, PAGE, 0x7 | 0x40},
        {(uintptr_t)a, y, PAGE, 1 << 16},
        {(uintptr_t)a, y, PAGE, INT_MAX},
        {(uintptr_t)a, y, PAGE, -1},
        {(uintptr_t)a, y, PAGE, -2},
        {(uintptr_t)a, y, PAGE, INT_MIN},
        {(uintptr_t)a, y, PAGE, INT_MIN | P_R},
        {(uintptr_t)a, y, 0, 8},
        {(uintptr_t)a, y, 0, -1},
        /* ranges leaving the user range or wrapping */
        {base - PAGE, y, PAGE, P_R},
        {base - PAGE, y, 2 * PAGE, P_R},
        {0, y, PAGE, P_R},
        {end, y, PAGE, P_R},
        {end - PAGE, y, 2 * PAGE, P_R},
        {(uintptr_t)a, base - PAGE, 2 * PAGE, P_R},
        {(uintptr_t)a, end, PAGE, P_R},
        {(uintptr_t)a, end - PAGE, 2 * PAGE, P_R},
        {(uintptr_t)a, 0, PAGE, P_R},
        {(uintptr_t)1 << 63, y, PAGE, P_R},
        {(uintptr_t)a, (uintptr_t)1 << 63, PAGE, P_R},
        {(uintptr_t)a, (uintptr_t)1 << 47, PAGE, P_R},
        {UINTPTR_MAX & ~(uintptr_t)(PAGE - 1), y, 2 * PAGE, P_R},
        {(uintptr_t)a, UINTPTR_MAX & ~(uintptr_t)(PAGE - 1), 2 * PAGE, P_R},
        {(uintptr_t)a, y, SIZE_MAX & ~(size_t)(PAGE - 1), P_R},
        {(uintptr_t)a, y, (size_t)1 << 63, P_R},
        {(uintptr_t)a, y, (size_t)(end - y) + PAGE, P_R},
        {base, base, (size_t)root.len + PAGE, P_R},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "bad[%zu]", i);
        /* into P (y), and into the caller over d */
        uintptr_t da_self = bad[i].da == y ? (uintptr_t)d : bad[i].da;
        if (bad[i].da == y + 1 || bad[i].da == y + PAGE - 8)
            da_self = (uintptr_t)d + (bad[i].da - y);
        if (!mclone_at(__LINE__, 1, 0, 1, bad[i].sa, bad[i].da, bad[i].len, bad[i].prot,
                       JINUE_EINVAL) |
            !mclone_at(__LINE__, 0, 0, 1, bad[i].sa, bad[i].da, bad[i].len, bad[i].prot,
                       JINUE_EINVAL) |
            !mclone_at(__LINE__, 1, 0, 0, bad[i].sa, da_self, bad[i].len, bad[i].prot,
                       JINUE_EINVAL) |
            !mclone_at(__LINE__, 0, 0, 0, bad[i].sa, da_self, bad[i].len, bad[i].prot,
                       JINUE_EINVAL))
            fprintf(stderr, "    (%s)\n", what);
    }
    /* Nothing changed: the counts, d's memory and mapping, P's y. */
    CHECK_EQ(mappings_of(u), 3);
    CHECK_EQ(mappings_of(v), 1);
    CHECK(mem_is(d, PAGE, 0x71));
    CHECK(mem_is(d + PAGE, PAGE, 0x72));
    d[3] = 0x7F;
    CHECK_EQ(up[3], 0x7F);
    uint8_t* back = (uint8_t*)self_region();
    CLONE(1, 0, y, back, 2 * PAGE, P_R);
    CHECK_EQ(back[3], 0x7F);
    CHECK(mem_is(back + PAGE, PAGE, 0x72));
    unmap_self((uintptr_t)back, 2 * PAGE);
    CHECK_EQ(mappings_of(u), 3);

    /* Length 0 succeeds and changes nothing, with any valid prot. */
    RAW_CLONE(0, 1, a, y, 0, P_RW);
    CLONE(0, 1, a, y, 0, JINUE_PROT_NONE);
    CLONE(0, 0, a, d, 0, JINUE_PROT_NONE);
    RAW_CLONE(0, 0, d, d, 0, P_R);
    RAW_CLONE(1, 0, y, a, 0, P_R | P_W | P_X);
    CLONE(1, 1, y, y + PAGE, 0, P_R);
    CLONE(0, 0, end - PAGE, base, 0, P_R); /* the edges of the user range */
    CHECK_EQ(mappings_of(u), 3);
    CHECK_EQ(mappings_of(v), 1);
    d[4] = 0x80; /* still writable, still u */
    CHECK_EQ(vmo_byte(u, 4), 0x80);
    a[4] = 0x81;
    CHECK_EQ(vmo_byte(v, 4), 0x81);
    CLONE(1, 0, y, back, PAGE, P_R);
    CHECK_EQ(back[4], 0x80);
    unmap_self((uintptr_t)back, PAGE);

    /* The edges themselves are valid: the first and the last page of the user range (in P). */
    CLONE(0, 1, a, base, PAGE, P_R);
    RAW_CLONE(0, 1, a + PAGE, end - PAGE, PAGE, P_R);
    CHECK_EQ(mappings_of(v), 3);
    CLONE(1, 0, end - PAGE, back, PAGE, P_R);
    CHECK(mem_is(back, PAGE, 0x62));
    unmap_self((uintptr_t)back, PAGE);

    unmap_self((uintptr_t)d, 2 * PAGE);
    GONE(1);
    CHECK_EQ(mappings_of(u), 1);
    CHECK_EQ(mappings_of(v), 1);
    unmap_self((uintptr_t)a, 2 * PAGE);
    unmap_self((uintptr_t)up, 2 * PAGE);
    CHECK_STATUS(zx_handle_close(u), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- 5. Between created processes; num_mappings; lifetime ---- */

static void test_between_processes(void) {
    zx_handle_t v = make_pages(2, 0xC0);
    uint8_t* a = map_self(v, 0, 2 * PAGE, RW);
    if (!a || !NEW(1) || !NEW(2)) return;
    const uintptr_t x = proc_region(6), y = proc_region(7);
    CLONE(0, 1, a, x, 2 * PAGE, P_RW);
    CHECK_EQ(mappings_of(v), 2);
    RAW_CLONE(1, 2, x, y, 2 * PAGE, P_RW); /* P -> Q: the caller is neither */
    CHECK_EQ(mappings_of(v), 3);
    uint8_t* b = (uint8_t*)self_region();
    CLONE(2, 0, y, b, 2 * PAGE, P_RW);
    CHECK_EQ(mappings_of(v), 4);
    CHECK(mem_is(b, PAGE, 0xC0));
    CHECK(mem_is(b + PAGE, PAGE, 0xC1));
    b[PAGE + 1] = 0xD1;
    CHECK_EQ(a[PAGE + 1], 0xD1);
    a[2] = 0xD2;
    CHECK_EQ(b[2], 0xD2);

    /* Minted descriptors: the source needs no permission, the destination MAP. */
    LIB(jinue_mint(2, 0, 3, JINUE_PERM_MAP, 0, E), 0);  /* Q, MAP only */
    LIB(jinue_mint(1, 0, 4, 0, 0, E), 0);               /* P, nothing */
    LIB(jinue_mint(2, 0, 5, JINUE_PERM_OPEN, 0, E), 0); /* Q, OPEN only */
    CLONE(4, 3, x, y + 4 * PAGE, PAGE, P_R);
    CHECK_EQ(mappings_of(v), 5);
    FAILS(4, 5, x, y + 6 * PAGE, PAGE, P_R, JINUE_EPERM);
    FAILS(2, 4, y, x + 4 * PAGE, PAGE, P_R, JINUE_EPERM);
    CHECK_EQ(mappings_of(v), 5);

    /* Each clone to a new place adds one mapping; one that replaces a clone does not. */
    for (int i = 0; i < 6; i++) {
        mclone_at(__LINE__, i & 1, 0, 1, (uintptr_t)a, x + (uintptr_t)(8 + i) * PAGE, PAGE,
                  P_R, 0);
        CHECK_EQ(mappings_of(v), 6 + (uint64_t)i);
    }
    CLONE(0, 1, a, x + 8 * PAGE, PAGE, P_RW);
    RAW_CLONE(2, 1, y, x + 9 * PAGE, PAGE, P_R);
    CHECK_EQ(mappings_of(v), 11);

    /* Destroying P takes its 8 clones; Q's and the caller's stay, and Q can still be read. */
    LIB(jinue_destroy(1, E), 0);
    CHECK_EQ(mappings_of(v), 4); /* a, b, Q's y (two pages, one mapping) and y + 4 PAGE */
    FAILS(4, 0, x, b, PAGE, P_R, JINUE_EIO);
    uint8_t* c = (uint8_t*)self_region();
    CLONE(3, 0, y + 4 * PAGE, c, PAGE, P_R);
    CHECK_EQ(c[2], 0xD2);
    CHECK_EQ(mappings_of(v), 5);

    /* The clones keep the memory after the handle is closed and the original unmapped. */
    zx_handle_t keep = dup_with(v, ZX_RIGHT_READ | ZX_RIGHT_INSPECT | ZX_RIGHT_DUPLICATE);
    unmap_self((uintptr_t)a, 2 * PAGE);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
    CHECK_EQ(mappings_of(keep), 4);
    CHECK_STATUS(zx_handle_close(keep), ZX_OK);
    CHECK(mem_is(b + PAGE + 2, PAGE - 2, 0xC1));
    CHECK_EQ(b[PAGE + 1], 0xD1);
    b[100] = 0xE0;
    CHECK_EQ(c[100], 0xE0);
    uint8_t* c2 = (uint8_t*)self_region();
    RAW_CLONE(2, 0, y, c2, 2 * PAGE, P_R);
    CHECK_EQ(c2[100], 0xE0);
    CHECK_EQ(c2[PAGE + 1], 0xD1);

    /* Destroying Q leaves the caller's clones. */
    LIB(jinue_destroy(2, E), 0);
    CHECK_EQ(b[100], 0xE0);
    CHECK_EQ(c2[100], 0xE0);
    unmap_self((uintptr_t)b, 2 * PAGE);
    unmap_self((uintptr_t)c, PAGE);
    unmap_self((uintptr_t)c2, 2 * PAGE);
    for (int fd = 1; fd <= 5; fd++) LIB(jinue_close(fd, E), 0);
}

/* ---- 6. Copy-on-write ---- */

static void test_cow(void) {
    zx_handle_t v = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, 2 * PAGE, 0x11), ZX_OK);
    uint8_t* a = map_self(v, 0, 2 * PAGE, RW);
    if (!a || !NEW(1)) return;
    const uintptr_t x = proc_region(8);
    CLONE(0, 1, a, x, 2 * PAGE, P_RW);
    uint8_t* b = (uint8_t*)self_region();
    RAW_CLONE(1, 0, x, b, 2 * PAGE, P_RW);
    CHECK_EQ(b[0], 0x11); /* b has translations before the snapshot */

    zx_handle_t s = snap(v, 2 * PAGE);
    b[0] = 0x22; /* through a clone */
    CHECK_EQ(vmo_byte(s, 0), 0x11);
    CHECK(vmo_bytes_are(s, 0, 2 * PAGE, 0x11));
    CHECK_EQ(a[0], 0x22);
    CHECK_EQ(vmo_byte(v, 0), 0x22);
    uint8_t* c = (uint8_t*)self_region();
    CLONE(1, 0, x, c, 2 * PAGE, P_R); /* P's clone shows the new byte too */
    CHECK_EQ(c[0], 0x22);
    CHECK(mem_is(c + 1, PAGE - 1, 0x11));

    a[PAGE] = 0x33; /* through the original, on the other page */
    CHECK_EQ(b[PAGE], 0x33);
    CHECK_EQ(c[PAGE], 0x33);
    CHECK_EQ(vmo_byte(s, PAGE), 0x11);

    /* Writes to the snapshot stay in it. */
    CHECK_STATUS(zx_vmo_write(s, "\x44", 1, 1), ZX_OK);
    CHECK_EQ(a[1], 0x11);
    CHECK_EQ(b[1], 0x11);
    CHECK_EQ(vmo_byte(s, 1), 0x44);

    /* A second snapshot, then a write through b: s2 keeps, everyone else sees. */
    zx_handle_t s2 = snap(v, 2 * PAGE);
    b[10] = 0x55;
    b[PAGE + 10] = 0x56;
    CHECK_EQ(vmo_byte(s2, 10), 0x11);
    CHECK_EQ(vmo_byte(s2, 0), 0x22);
    CHECK_EQ(vmo_byte(s2, PAGE + 10), 0x11);
    CHECK_EQ(vmo_byte(s2, PAGE), 0x33);
    CHECK_EQ(a[10], 0x55);
    CHECK_EQ(c[10], 0x55);
    CHECK_EQ(c[PAGE + 10], 0x56);
    CHECK_EQ(vmo_byte(v, PAGE + 10), 0x56);
    CHECK_EQ(vmo_byte(s, 10), 0x11);

    /* A mapped snapshot is cloned like any VMO: its clones write into it, not into v. */
    uint8_t* sa = map_self(s, 0, 2 * PAGE, RW);
    uint8_t* sb = (uint8_t*)self_region();
    if (sa) {
        CLONE(0, 1, sa, x + 4 * PAGE, 2 * PAGE, P_RW);
        RAW_CLONE(1, 0, x + 4 * PAGE, sb, 2 * PAGE, P_RW);
        CHECK_EQ(sb[1], 0x44);
        sb[0] = 0x66;
        CHECK_EQ(sa[0], 0x66);
        CHECK_EQ(vmo_byte(s, 0), 0x66);
        CHECK_EQ(vmo_byte(v, 0), 0x22);
        CHECK_EQ(a[0], 0x22);
        CHECK_EQ(vmo_byte(s2, 0), 0x22);
        CHECK_EQ(mappings_of(s), 3);
        unmap_self((uintptr_t)sb, 2 * PAGE);
        unmap_self((uintptr_t)sa, 2 * PAGE);
    }
    CHECK_EQ(mappings_of(v), 4);

    unmap_self((uintptr_t)b, 2 * PAGE);
    unmap_self((uintptr_t)c, 2 * PAGE);
    GONE(1);
    CHECK_EQ(mappings_of(v), 1);
    CHECK_EQ(mappings_of(s), 0);
    unmap_self((uintptr_t)a, 2 * PAGE);
    CHECK_STATUS(zx_handle_close(s2), ZX_OK);
    CHECK_STATUS(zx_handle_close(s), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

/* ---- 7. Offsets, adjacent mappings, sub-VMARs, a range onto itself ---- */

static void test_offsets(void) {
    zx_handle_t v = make_pages(8, 1);
    uint8_t* a = map_self(v, 0, 8 * PAGE, RW);
    if (!a) return;
    /* From the middle of a mapping. */
    uint8_t* b = (uint8_t*)self_region();
    CLONE(0, 0, a + 2 * PAGE, b, 3 * PAGE, P_R);
    CHECK(mem_is(b, PAGE, 3));
    CHECK(mem_is(b + PAGE, PAGE, 4));
    CHECK(mem_is(b + 2 * PAGE, PAGE, 5));
    DIES(b + 3 * PAGE, 0, "read just past the clone");
    a[3 * PAGE + 1] = 0xF4;
    CHECK_EQ(b[PAGE + 1], 0xF4);

    /* Across two adjacent mappings of two VMOs, with a hole after them. */
    zx_handle_t w = make_pages(2, 0xB1);
    const uintptr_t m = self_region();
    uint8_t* m0 = map_at(m, v, 0, 2 * PAGE, RW);
    uint8_t* m1 = map_at(m + 2 * PAGE, w, 0, 2 * PAGE, RW);
    uint8_t* c = (uint8_t*)self_region();
    if (m0 && m1 && NEW(1)) {
        const uintptr_t x = proc_region(9);
        RAW_CLONE(0, 1, m + PAGE, x, 4 * PAGE, P_RW);
        CLONE(1, 0, x, c, 4 * PAGE, P_RW);
        CHECK(mem_is(c, PAGE, 2));
        CHECK(mem_is(c + PAGE, PAGE, 0xB1));
        CHECK(mem_is(c + 2 * PAGE, PAGE, 0xB2));
        DIES(c + 3 * PAGE, 0, "read of the hole after two adjacent mappings");
        CHECK_EQ(mappings_of(w), 3);
        c[2 * PAGE] = 0xB9;
        CHECK_EQ(vmo_byte(w, PAGE), 0xB9);
        CHECK_EQ(m1[PAGE], 0xB9);
        GONE(1);
        CHECK_EQ(mappings_of(w), 2);
        unmap_self((uintptr_t)c, 4 * PAGE);
    }
    unmap_self(m, 4 * PAGE);
    CHECK_EQ(mappings_of(w), 0);

    /* A source mapping inside a sub-VMAR of the caller. */
    zx_handle_t sub = ZX_HANDLE_INVALID;
    zx_vaddr_t subaddr = 0;
    if (CHECK_STATUS(zx_vmar_allocate(zx_vmar_root_self(),
                                      ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE |
                                          ZX_VM_CAN_MAP_SPECIFIC,
                                      0, 4 * PAGE, &sub, &subaddr),
                     ZX_OK)) {
        zx_vaddr_t in = 0;
        CHECK_STATUS(zx_vmar_map(sub, RW | ZX_VM_SPECIFIC, PAGE, v, 5 * PAGE, PAGE, &in), ZX_OK);
        CHECK_EQ(in, subaddr + PAGE);
        uint8_t* e = (uint8_t*)self_region();
        CLONE(0, 0, subaddr, e, 4 * PAGE, P_RW);
        CHECK(mem_is(e + PAGE, PAGE, 6));
        DIES(e, 0, "read of the sub-VMAR's empty first page");
        DIES(e + 2 * PAGE, 0, "read of the sub-VMAR's empty third page");
        e[PAGE + 5] = 0x60;
        CHECK_EQ(vmo_byte(v, 5 * PAGE + 5), 0x60);
        CHECK_EQ(((volatile uint8_t*)(uintptr_t)in)[5], 0x60);
        unmap_self((uintptr_t)e, 4 * PAGE);
        CHECK_STATUS(zx_vmar_destroy(sub), ZX_OK);
        CHECK_STATUS(zx_handle_close(sub), ZX_OK);
    }

    /* A range onto itself: same memory, the new prot. */
    CHECK_EQ(mappings_of(v), 2); /* a and b */
    unmap_self((uintptr_t)b, 3 * PAGE);
    RAW_CLONE(0, 0, a, a, 8 * PAGE, P_RW);
    CHECK_EQ(mappings_of(v), 1);
    CHECK(mem_is(a + 7 * PAGE, PAGE, 8));
    a[7 * PAGE] = 0x70;
    CHECK_EQ(vmo_byte(v, 7 * PAGE), 0x70);
    CLONE(0, 0, a, a, 8 * PAGE, P_R);
    CHECK_EQ(mappings_of(v), 1);
    CHECK_EQ(a[7 * PAGE], 0x70);
    DIES(a + 7 * PAGE, 1, "write after cloning a range onto itself read-only");
    CLONE(0, 0, a, a, 8 * PAGE, P_RW); /* the handle still allows WRITE */
    a[7 * PAGE] = 0x71;
    CHECK_EQ(vmo_byte(v, 7 * PAGE), 0x71);

    unmap_self((uintptr_t)a, 8 * PAGE);
    CHECK_EQ(mappings_of(v), 0);
    CHECK_STATUS(zx_handle_close(w), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
}

int main(void) {
    root = root_vmar_info();
    /* No thread is ever started: forking to watch a child die is safe throughout. */
    test_acceptance();
    test_holes();
    test_prot();
    test_invalid();
    test_between_processes();
    test_cow();
    test_offsets();
    return finish();
}
