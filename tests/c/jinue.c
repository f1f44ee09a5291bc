/* The Jinue personality's descriptors and the errors of every call: spec/jinue.md ("Numeric ABI",
 * "Processes and descriptors", the MCLONE check order) with the seed 004 (MCLONE), and the check
 * orders documented on each function of kernel/src/jinue/mod.rs where the spec leaves the order
 * open. Every error is provoked through both entries where a call has both: the raw register
 * entry jinue_syscall (failure: arg0 == (uintptr_t)-1, arg1 == error number) and the library
 * function (-1, error number stored through perrno). The calling program is a process whose
 * descriptor 0 is itself with every permission; JINUE_DESC_NUM is 12.
 *   1. the raw entry: unknown function numbers (0, 1, 12, MMAP 13, 20, numbers whose low 32 bits
 *      name a real call, huge) are ENOSYS and change nothing; a NULL args pointer is ignored;
 *      the library functions accept a NULL perrno;
 *   2. CREATE_PROCESS: EBADF for negative numbers, numbers that do not fit an int (1 << 40,
 *      1 << 32 | 1, which must not be taken for slot 1), JINUE_DESC_NUM and beyond, and slots in
 *      use (0 is the caller itself); all eleven free slots can be filled; DESTROY does not free
 *      the slot, CLOSE does;
 *   3. CLOSE: EBADF for bad, free and out-of-range numbers (1 << 32 must not close slot 0);
 *      closing twice; a closed slot can be reused;
 *   4. DESTROY: EBADF as CLOSE; EPERM for the caller's own descriptor 0 and for minted and
 *      duplicated descriptors; afterwards every descriptor of the destroyed process (the owner
 *      included) answers EIO to DESTROY, DUP, MINT and MCLONE, CLOSE still frees the slot;
 *      destroying one process leaves the others (and descriptors they hold) alone;
 *   5. DUP: EBADF for bad numbers (before anything else), a bad, free or out-of-range target,
 *      EIO for a destroyed target, EPERM without OPEN, EBADF for a free, out-of-range or owner
 *      source, EIO for a source naming a destroyed process, EBADF for a destination in use or
 *      out of range, with pairs of errors pinning the documented order; copies keep their
 *      permissions and are not owners; DUP into the caller itself;
 *   6. MINT: EBADF for a bad owner number, then EINVAL for args pointers that are NULL, in the
 *      first page, beyond user space, wrapping, straddling the end of user space or in an
 *      unmapped hole of the root VMAR, then EBADF for an owner that is not an owner descriptor,
 *      EIO for a destroyed owner, EBADF / EIO for the target process, EPERM without OPEN,
 *      EINVAL for permissions beyond CREATE_THREAD | MAP | OPEN (negative ones included), EBADF
 *      for the target slot; minted descriptors carry exactly their permissions;
 *   7. MCLONE: the spec's eight-step order, each step alone and paired with every later one
 *      (negative descriptors before the args pointer, alignment, prot and range checks before
 *      free / out-of-range / destroyed descriptors, the source before the destination, EIO
 *      before EPERM, EPERM without MAP even for a length of 0), and nothing mapped by a failed
 *      call (ZX_INFO_VMO num_mappings);
 *   8. the caller may close its own descriptor 0 after DUP'ing it, use the copy, put a created
 *      process in slot 0, and DUP itself back into slot 0. */
#include <limits.h>

#include "check.h"
#include "mapping.h"

#include <jinue/jinue.h>

#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define PROCESS_PERMS (JINUE_PERM_CREATE_THREAD | JINUE_PERM_MAP | JINUE_PERM_OPEN)
#define ALL_PERMS                                                                            \
    (JINUE_PERM_SEND | JINUE_PERM_RECEIVE | JINUE_PERM_MAP | JINUE_PERM_OPEN |               \
     JINUE_PERM_CREATE_THREAD | JINUE_PERM_START | JINUE_PERM_AWAIT)
#define BIG ((uintptr_t)1 << 40)
#define HIGH32 ((uintptr_t)1 << 32)
#define KERNEL_HALF ((uintptr_t)1 << 63)
#define USER_END ((uintptr_t)1 << 47)
#define NOERR (-7777)

/* ---- Helpers ---- */

static zx_info_vmar_t root; /* the caller's root VMAR: where MCLONE addresses must lie */

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
    case JINUE_E2BIG: return "E2BIG";
    case JINUE_ENOMSG: return "ENOMSG";
    case JINUE_ENOTSUP: return "ENOTSUP";
    default: return "(unknown)";
    }
}

/* One raw call; returns the registers as the call left them. */
static jinue_syscall_args_t raw4(uintptr_t a0, uintptr_t a1, uintptr_t a2, uintptr_t a3) {
    jinue_syscall_args_t a = {a0, a1, a2, a3};
    jinue_syscall(&a);
    return a;
}

/* A descriptor argument as a register carries it (a negative int stays negative). */
static uintptr_t reg(int v) { return (uintptr_t)(intptr_t)v; }

/* want 0: arg0 == 0; otherwise arg0 == -1 and arg1 == want. One check. */
static int raw_expect(int line, const char* text, jinue_syscall_args_t got, int want) {
    int ok = want == 0 ? got.arg0 == 0
                       : got.arg0 == UINTPTR_MAX && got.arg1 == (uintptr_t)want;
    check_impl(__FILE__, line, text, ok);
    if (!ok) {
        if (got.arg0 == UINTPTR_MAX)
            fprintf(stderr, "    got arg0 -1, arg1 %s (%" PRIuPTR "), expected %s (%d)\n",
                    jerr(got.arg1), got.arg1, jerr((uintptr_t)want), want);
        else
            fprintf(stderr, "    got arg0 %" PRIuPTR " (arg1 %" PRIuPTR "), expected %s (%d)\n",
                    got.arg0, got.arg1, jerr((uintptr_t)want), want);
    }
    return ok;
}

static int err_ = NOERR; /* the perrno of every library call (E) */
#define E (&err_)

/* want 0: returned 0; otherwise returned -1 with err_ == want. One check. Reads err_ after the
 * call (a function's arguments are evaluated before its body). */
static int lib_expect(int line, const char* text, int ret, int want) {
    int ok = want == 0 ? ret == 0 : ret == -1 && err_ == want;
    check_impl(__FILE__, line, text, ok);
    if (!ok)
        fprintf(stderr, "    returned %d, *perrno %s (%d), expected %s (%d)\n", ret,
                jerr((uintptr_t)err_), err_, jerr((uintptr_t)want), want);
    return ok;
}

#define RAW(a0, a1, a2, a3, want)                                                            \
    raw_expect(__LINE__, "jinue_syscall(" #a0 ", " #a1 ", " #a2 ", " #a3 ")",                \
               raw4((uintptr_t)(a0), (uintptr_t)(a1), (uintptr_t)(a2), (uintptr_t)(a3)), (want))
#define LIB(call, want) lib_expect(__LINE__, #call, (err_ = NOERR, (call)), (want))

/* Both entries, for calls that fail (a failed call changes nothing, so both can be made). */
static void create2_at(int line, int fd, int want) {
    char t[160];
    snprintf(t, sizeof t, "raw CREATE_PROCESS(%d)", fd);
    raw_expect(line, t, raw4(JINUE_CREATE_PROCESS, reg(fd), 0, 0), want);
    snprintf(t, sizeof t, "jinue_create_process(%d)", fd);
    err_ = NOERR;
    lib_expect(line, t, jinue_create_process(fd, E), want);
}
#define create2(fd, want) create2_at(__LINE__, (fd), (want))

static void close2_at(int line, int fd, int want) {
    char t[160];
    snprintf(t, sizeof t, "raw CLOSE(%d)", fd);
    raw_expect(line, t, raw4(JINUE_CLOSE, reg(fd), 0, 0), want);
    snprintf(t, sizeof t, "jinue_close(%d)", fd);
    err_ = NOERR;
    lib_expect(line, t, jinue_close(fd, E), want);
}
#define close2(fd, want) close2_at(__LINE__, (fd), (want))

static void destroy2_at(int line, int fd, int want) {
    char t[160];
    snprintf(t, sizeof t, "raw DESTROY(%d)", fd);
    raw_expect(line, t, raw4(JINUE_DESTROY, reg(fd), 0, 0), want);
    snprintf(t, sizeof t, "jinue_destroy(%d)", fd);
    err_ = NOERR;
    lib_expect(line, t, jinue_destroy(fd, E), want);
}
#define destroy2(fd, want) destroy2_at(__LINE__, (fd), (want))

static void dup2_at(int line, int process, int src, int dest, int want) {
    char t[160];
    snprintf(t, sizeof t, "raw DUP(%d, %d, %d)", process, src, dest);
    raw_expect(line, t, raw4(JINUE_DUP, reg(process), reg(src), reg(dest)), want);
    snprintf(t, sizeof t, "jinue_dup(%d, %d, %d)", process, src, dest);
    err_ = NOERR;
    lib_expect(line, t, jinue_dup(process, src, dest, E), want);
}
#define dupx(p, s, d, want) dup2_at(__LINE__, (p), (s), (d), (want))

static void mint2_at(int line, int owner, int process, int fd, int perms, int want) {
    char t[200];
    jinue_mint_args_t m = {process, fd, perms, 0xC00C1E};
    snprintf(t, sizeof t, "raw MINT(%d, {process %d, fd %d, perms %#x})", owner, process, fd,
             (unsigned)perms);
    raw_expect(line, t, raw4(JINUE_MINT, reg(owner), (uintptr_t)&m, 0), want);
    snprintf(t, sizeof t, "jinue_mint(%d, %d, %d, %#x)", owner, process, fd, (unsigned)perms);
    err_ = NOERR;
    lib_expect(line, t, jinue_mint(owner, process, fd, perms, 0xC00C1E, E), want);
}
#define mint2(o, p, fd, perms, want) mint2_at(__LINE__, (o), (p), (fd), (perms), (want))

static void mclone2_at(int line, int src, int dest, uintptr_t sa, uintptr_t da, size_t len,
                       int prot, int want) {
    char t[240];
    jinue_mclone_args_t c = {(void*)sa, (void*)da, len, prot};
    snprintf(t, sizeof t,
             "raw MCLONE(%d, %d, {%#" PRIxPTR ", %#" PRIxPTR ", %#zx, prot %#x})", src, dest, sa,
             da, len, (unsigned)prot);
    raw_expect(line, t, raw4(JINUE_MCLONE, reg(src), reg(dest), (uintptr_t)&c), want);
    snprintf(t, sizeof t, "jinue_mclone(%d, %d, %#" PRIxPTR ", %#" PRIxPTR ", %#zx, %#x)", src,
             dest, sa, da, len, (unsigned)prot);
    err_ = NOERR;
    lib_expect(line, t, jinue_mclone(src, dest, (void*)sa, (void*)da, len, prot, E), want);
}
#define mclone2(s, d, sa, da, len, prot, want)                                               \
    mclone2_at(__LINE__, (s), (d), (uintptr_t)(sa), (uintptr_t)(da), (size_t)(len), (prot),   \
               (want))

/* A raw MCLONE with the given registers and structure. */
static jinue_syscall_args_t raw_mclone(uintptr_t src, uintptr_t dest, uintptr_t sa, uintptr_t da,
                                       size_t len, int prot) {
    jinue_mclone_args_t c = {(void*)sa, (void*)da, len, prot};
    return raw4(JINUE_MCLONE, src, dest, (uintptr_t)&c);
}
#define RAW_MCLONE(s, d, sa, da, len, prot, want)                                            \
    raw_expect(__LINE__, "raw MCLONE(" #s ", " #d ", {" #sa ", " #da ", " #len ", " #prot "})", \
               raw_mclone((uintptr_t)(s), (uintptr_t)(d), (uintptr_t)(sa), (uintptr_t)(da),    \
                          (size_t)(len), (prot)),                                            \
               (want))

/* A raw MINT with the owner register `owner` and a valid structure. */
static jinue_syscall_args_t raw_mint(uintptr_t owner, int process, int fd, int perms) {
    jinue_mint_args_t m = {process, fd, perms, 7};
    return raw4(JINUE_MINT, owner, (uintptr_t)&m, 0);
}
#define RAW_MINT(o, p, fd, perms, want)                                                      \
    raw_expect(__LINE__, "raw MINT(" #o ", {" #p ", " #fd ", " #perms "})",                  \
               raw_mint((uintptr_t)(o), (p), (fd), (perms)), (want))

/* The descriptor `fd` names a live process the caller may map into: an empty MCLONE succeeds. */
#define USABLE(fd) LIB(jinue_mclone(0, (fd), NULL, NULL, 0, JINUE_PROT_READ, E), 0)

/* A new process in the caller's slot `fd` (library entry); 1 if it worked. */
#define NEW(fd) LIB(jinue_create_process((fd), E), 0)

/* Destroys (owners) and closes every descriptor of the caller in [from, to]; silent. */
static void clear_slots(int from, int to) {
    for (int fd = from; fd <= to; fd++) {
        (void)jinue_destroy(fd, NULL);
        (void)jinue_close(fd, NULL);
    }
}

static uint64_t mappings_of(zx_handle_t vmo) { return vmo_info(vmo).num_mappings; }

/* Maps one page of `vmo` at `offset` into the caller with `perms`, such that the page after it
 * is unmapped (two pages are mapped, the second one is unmapped again); 0 if that failed. */
static zx_vaddr_t map_page_before_hole(zx_handle_t vmo, uint64_t offset, uint32_t perms) {
    zx_vaddr_t at = map_ok(zx_vmar_root_self(), perms, 0, vmo, offset, 2 * PAGE);
    if (at && !CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), at + PAGE, PAGE), ZX_OK)) return 0;
    return at;
}

/* ---- 1. The raw entry ---- */

static void test_entry(void) {
    /* NULL registers: ignored, nothing to report, no crash. */
    jinue_syscall(NULL);
    RAW(JINUE_CLOSE, 99, 0, 0, JINUE_EBADF);

    /* Unknown function numbers; arg1 = 1 would be a free slot for CREATE_PROCESS. */
    const uintptr_t unknown[] = {0,
                                 1,
                                 2,
                                 11,
                                 12,
                                 JINUE_SYS_MMAP,
                                 20,
                                 21,
                                 64,
                                 255,
                                 (uintptr_t)1 << 31,
                                 HIGH32 | JINUE_SYS_CREATE_PROCESS,
                                 HIGH32 | JINUE_SYS_MCLONE,
                                 HIGH32 | JINUE_SYS_DESTROY,
                                 (uintptr_t)-1 - 1,
                                 UINTPTR_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        char t[80];
        snprintf(t, sizeof t, "raw function %#" PRIxPTR " (arg1 1)", unknown[i]);
        jinue_syscall_args_t got = raw4(unknown[i], 1, 0, 0);
        raw_expect(__LINE__, t, got, JINUE_ENOSYS);
    }
    /* ENOSYS comes before any argument check: a negative descriptor, a NULL pointer. */
    RAW(JINUE_SYS_MMAP, -1, 0, 0, JINUE_ENOSYS);
    RAW(0, -1, 0, 0, JINUE_ENOSYS);
    RAW(JINUE_SYS_MMAP, 0, 0x10000, 0x1000, JINUE_ENOSYS);
    /* None of them created a process in slot 1 (or destroyed the caller). */
    RAW(JINUE_CLOSE, 1, 0, 0, JINUE_EBADF);
    USABLE(0);

    /* The library functions accept a NULL perrno. */
    CHECK_EQ(jinue_create_process(-1, NULL), -1);
    CHECK_EQ(jinue_close(99, NULL), -1);
    CHECK_EQ(jinue_destroy(0, NULL), -1);
    CHECK_EQ(jinue_dup(-1, 0, 1, NULL), -1);
    CHECK_EQ(jinue_mint(0, 0, 1, 0, 0, NULL), -1);
    CHECK_EQ(jinue_mclone(-1, 0, NULL, NULL, 0, 0, NULL), -1);
    /* A successful call with a NULL perrno returns 0. */
    CHECK_EQ(jinue_mclone(0, 0, NULL, NULL, 0, 0, NULL), 0);
}

/* ---- 2. CREATE_PROCESS ---- */

static void test_create_process(void) {
    create2(-1, JINUE_EBADF);
    create2(INT_MIN, JINUE_EBADF);
    create2(JINUE_DESC_NUM, JINUE_EBADF);
    create2(JINUE_DESC_NUM + 1, JINUE_EBADF);
    create2(1000, JINUE_EBADF);
    create2(INT_MAX, JINUE_EBADF);
    create2(0, JINUE_EBADF); /* the caller itself */
    /* Register values that are not ints (none of them may be taken for slot 1). */
    RAW(JINUE_CREATE_PROCESS, BIG, 0, 0, JINUE_EBADF);
    RAW(JINUE_CREATE_PROCESS, BIG | 1, 0, 0, JINUE_EBADF);
    RAW(JINUE_CREATE_PROCESS, HIGH32, 0, 0, JINUE_EBADF);
    RAW(JINUE_CREATE_PROCESS, HIGH32 | 1, 0, 0, JINUE_EBADF);
    RAW(JINUE_CREATE_PROCESS, 0xFFFFFFFFu, 0, 0, JINUE_EBADF);
    RAW(JINUE_CREATE_PROCESS, 0x80000000u, 0, 0, JINUE_EBADF);
    RAW(JINUE_CREATE_PROCESS, 0x80000001u, 0, 0, JINUE_EBADF);
    RAW(JINUE_CREATE_PROCESS, KERNEL_HALF | 1, 0, 0, JINUE_EBADF);
    RAW(JINUE_CREATE_PROCESS, UINTPTR_MAX, 0, 0, JINUE_EBADF);
    RAW(JINUE_CLOSE, 1, 0, 0, JINUE_EBADF); /* slot 1 is still free */

    /* Success through both entries; then the slot is in use. */
    RAW(JINUE_CREATE_PROCESS, 1, 0, 0, 0);
    create2(1, JINUE_EBADF);
    USABLE(1);
    LIB(jinue_create_process(2, E), 0);
    create2(2, JINUE_EBADF);
    USABLE(2);
    /* The last slot. */
    LIB(jinue_create_process(JINUE_DESC_NUM - 1, E), 0);
    create2(JINUE_DESC_NUM - 1, JINUE_EBADF);
    /* Every free slot. */
    for (int fd = 3; fd < JINUE_DESC_NUM - 1; fd++) NEW(fd);
    for (int fd = 0; fd < JINUE_DESC_NUM; fd++) create2(fd, JINUE_EBADF);
    for (int fd = 1; fd < JINUE_DESC_NUM; fd++) USABLE(fd);

    /* DESTROY does not free the slot; CLOSE does. */
    LIB(jinue_destroy(1, E), 0);
    create2(1, JINUE_EBADF);
    LIB(jinue_close(1, E), 0);
    LIB(jinue_create_process(1, E), 0);
    USABLE(1);
    /* Closing the owner descriptor frees the slot too (no DESTROY). */
    LIB(jinue_close(2, E), 0);
    RAW(JINUE_CREATE_PROCESS, 2, 0, 0, 0);
    USABLE(2);
    clear_slots(1, JINUE_DESC_NUM - 1);
    for (int fd = 1; fd < JINUE_DESC_NUM; fd++) RAW(JINUE_CLOSE, fd, 0, 0, JINUE_EBADF);
}

/* ---- 3. CLOSE ---- */

static void test_close(void) {
    close2(-1, JINUE_EBADF);
    close2(INT_MIN, JINUE_EBADF);
    close2(JINUE_DESC_NUM, JINUE_EBADF);
    close2(JINUE_DESC_NUM + 1, JINUE_EBADF);
    close2(INT_MAX, JINUE_EBADF);
    close2(5, JINUE_EBADF); /* free */
    NEW(1);
    RAW(JINUE_CLOSE, BIG, 0, 0, JINUE_EBADF);
    RAW(JINUE_CLOSE, HIGH32, 0, 0, JINUE_EBADF);     /* not slot 0 */
    RAW(JINUE_CLOSE, HIGH32 | 1, 0, 0, JINUE_EBADF); /* not slot 1 */
    RAW(JINUE_CLOSE, 0xFFFFFFFFu, 0, 0, JINUE_EBADF);
    RAW(JINUE_CLOSE, UINTPTR_MAX, 0, 0, JINUE_EBADF);
    USABLE(0);
    USABLE(1);

    RAW(JINUE_CLOSE, 1, 0, 0, 0);
    close2(1, JINUE_EBADF);
    NEW(1);
    LIB(jinue_close(1, E), 0);
    close2(1, JINUE_EBADF);
    /* A minted descriptor closes without touching the owner's. */
    NEW(1);
    LIB(jinue_mint(1, 0, 2, JINUE_PERM_MAP, 0, E), 0);
    LIB(jinue_close(2, E), 0);
    USABLE(1);
    close2(2, JINUE_EBADF);
    /* Closing the owner descriptor leaves the minted one working (the process lives on). */
    LIB(jinue_mint(1, 0, 2, JINUE_PERM_MAP, 0, E), 0);
    RAW(JINUE_CLOSE, 1, 0, 0, 0);
    USABLE(2);
    destroy2(2, JINUE_EPERM); /* nobody can destroy it any more */
    LIB(jinue_close(2, E), 0);
}

/* ---- 4. DESTROY ---- */

static void test_destroy(void) {
    destroy2(-1, JINUE_EBADF);
    destroy2(INT_MIN, JINUE_EBADF);
    destroy2(JINUE_DESC_NUM, JINUE_EBADF);
    destroy2(INT_MAX, JINUE_EBADF);
    destroy2(5, JINUE_EBADF); /* free */
    NEW(1);
    RAW(JINUE_DESTROY, BIG | 1, 0, 0, JINUE_EBADF);
    RAW(JINUE_DESTROY, HIGH32 | 1, 0, 0, JINUE_EBADF); /* not slot 1 */
    RAW(JINUE_DESTROY, HIGH32, 0, 0, JINUE_EBADF);     /* not slot 0 */
    USABLE(1);

    /* The caller's own descriptor is not an owner descriptor. */
    destroy2(0, JINUE_EPERM);
    USABLE(0);

    /* Minted and duplicated descriptors are not owners. */
    LIB(jinue_mint(1, 0, 2, JINUE_PERM_MAP | JINUE_PERM_OPEN, 0, E), 0);
    LIB(jinue_mint(1, 0, 3, 0, 0, E), 0);
    LIB(jinue_mint(1, 0, 4, PROCESS_PERMS, 0, E), 0);
    LIB(jinue_dup(0, 4, 5, E), 0);
    destroy2(2, JINUE_EPERM);
    destroy2(3, JINUE_EPERM);
    destroy2(4, JINUE_EPERM);
    destroy2(5, JINUE_EPERM);
    USABLE(1);
    USABLE(2);
    USABLE(4);
    USABLE(5);
    LIB(jinue_mclone(0, 3, NULL, NULL, 0, 0, E), JINUE_EPERM); /* 3 has no MAP */

    /* The owner destroys (raw); then every descriptor of the process answers EIO. */
    RAW(JINUE_DESTROY, 1, 0, 0, 0);
    destroy2(1, JINUE_EIO);
    destroy2(2, JINUE_EIO); /* EIO, not EPERM: the process is gone */
    destroy2(3, JINUE_EIO);
    destroy2(5, JINUE_EIO);
    NEW(6);
    for (int fd = 1; fd <= 5; fd++) {
        char t[80];
        snprintf(t, sizeof t, "DUP(%d (destroyed), 0, 1)", fd);
        raw_expect(__LINE__, t, raw4(JINUE_DUP, reg(fd), 0, 1), JINUE_EIO);
        snprintf(t, sizeof t, "MCLONE(0, %d (destroyed), length 0)", fd);
        err_ = NOERR;
        lib_expect(__LINE__, t, jinue_mclone(0, fd, NULL, NULL, 0, 0, E), JINUE_EIO);
        snprintf(t, sizeof t, "MCLONE(%d (destroyed), 6, length 0)", fd);
        err_ = NOERR;
        lib_expect(__LINE__, t, jinue_mclone(fd, 6, NULL, NULL, 0, 0, E), JINUE_EIO);
        snprintf(t, sizeof t, "MINT(6, {process %d (destroyed), fd 1})", fd);
        err_ = NOERR;
        lib_expect(__LINE__, t, jinue_mint(6, fd, 1, JINUE_PERM_MAP, 0, E), JINUE_EIO);
    }
    /* The destroyed owner as MINT's owner; a non-owner copy of it as DUP's source. */
    mint2(1, 0, 7, JINUE_PERM_MAP, JINUE_EIO);
    dupx(6, 2, 1, JINUE_EIO);
    /* CLOSE still works on every slot, once. */
    RAW(JINUE_CLOSE, 1, 0, 0, 0);
    LIB(jinue_close(2, E), 0);
    RAW(JINUE_CLOSE, 3, 0, 0, 0);
    LIB(jinue_close(4, E), 0);
    LIB(jinue_close(5, E), 0);
    for (int fd = 1; fd <= 5; fd++) close2(fd, JINUE_EBADF);
    RAW(JINUE_CLOSE, 6, 0, 0, 0);

    /* Library DESTROY, then the raw one sees EIO. */
    NEW(1);
    LIB(jinue_destroy(1, E), 0);
    RAW(JINUE_DESTROY, 1, 0, 0, JINUE_EIO);
    LIB(jinue_close(1, E), 0);

    /* Destroying P leaves Q alone, also the descriptor of Q that P held. */
    NEW(1);
    NEW(2);
    LIB(jinue_mint(2, 1, 1, JINUE_PERM_MAP, 0, E), 0); /* Q in P's slot 1 */
    LIB(jinue_dup(1, 0, 2, E), 0);                     /* the caller in P's slot 2 */
    LIB(jinue_destroy(1, E), 0);
    USABLE(2);
    USABLE(0);
    LIB(jinue_mint(2, 0, 3, JINUE_PERM_MAP, 0, E), 0);
    USABLE(3);
    LIB(jinue_destroy(2, E), 0);
    destroy2(3, JINUE_EIO);
    clear_slots(1, 3);
}

/* ---- 5. DUP ---- */

static void test_dup(void) {
    /* 0 self; 1 P (owner); 2 Q (owner); 3 P with MAP only; 4 P with OPEN | MAP; 5 Q with no
     * permission; 6 D (owner, destroyed); 7 D with OPEN (destroyed); 8.. free. */
    NEW(1);
    NEW(2);
    LIB(jinue_mint(1, 0, 3, JINUE_PERM_MAP, 0, E), 0);
    LIB(jinue_mint(1, 0, 4, JINUE_PERM_OPEN | JINUE_PERM_MAP, 0, E), 0);
    LIB(jinue_mint(2, 0, 5, 0, 0, E), 0);
    NEW(6);
    LIB(jinue_mint(6, 0, 7, JINUE_PERM_OPEN | JINUE_PERM_MAP, 0, E), 0);
    LIB(jinue_destroy(6, E), 0);

    /* Numbers first. */
    dupx(-1, 0, 1, JINUE_EBADF);
    dupx(1, -1, 1, JINUE_EBADF);
    dupx(1, 0, -1, JINUE_EBADF);
    dupx(INT_MIN, 0, 1, JINUE_EBADF);
    RAW(JINUE_DUP, BIG, 0, 1, JINUE_EBADF);
    RAW(JINUE_DUP, 1, BIG, 1, JINUE_EBADF);
    RAW(JINUE_DUP, 1, 0, BIG, JINUE_EBADF);
    RAW(JINUE_DUP, HIGH32 | 1, 0, 1, JINUE_EBADF);
    RAW(JINUE_DUP, 1, HIGH32, 1, JINUE_EBADF);
    RAW(JINUE_DUP, 1, 0, HIGH32 | 5, JINUE_EBADF);
    RAW(JINUE_DUP, 1, 0, 0xFFFFFFFFu, JINUE_EBADF);
    dupx(3, 0, -1, JINUE_EBADF); /* before EPERM */
    dupx(6, 0, -1, JINUE_EBADF); /* before EIO */
    dupx(7, -1, 1, JINUE_EBADF);
    RAW(JINUE_DUP, 3, 0, BIG, JINUE_EBADF);

    /* The target process. */
    dupx(JINUE_DESC_NUM, 0, 1, JINUE_EBADF);
    dupx(INT_MAX, 0, 1, JINUE_EBADF);
    dupx(9, 0, 1, JINUE_EBADF); /* free */
    dupx(6, 0, 1, JINUE_EIO);
    dupx(7, 0, 1, JINUE_EIO);
    dupx(6, 9, 1, JINUE_EIO);  /* before the free source */
    dupx(7, 1, 1, JINUE_EIO);  /* before the owner source */
    dupx(9, 9, 12, JINUE_EBADF);

    /* OPEN on the target. */
    dupx(3, 0, 1, JINUE_EPERM);
    dupx(5, 0, 1, JINUE_EPERM);
    dupx(3, 9, 1, JINUE_EPERM);  /* before the free source */
    dupx(3, 1, 1, JINUE_EPERM);  /* before the owner source */
    dupx(3, 7, 1, JINUE_EPERM);  /* before the destroyed source */
    dupx(3, 0, 0, JINUE_EPERM);  /* before the slot in use */
    dupx(5, 0, JINUE_DESC_NUM, JINUE_EPERM);

    /* The source. */
    dupx(1, 9, 1, JINUE_EBADF);
    dupx(1, JINUE_DESC_NUM, 1, JINUE_EBADF);
    dupx(1, INT_MAX, 1, JINUE_EBADF);
    dupx(1, 1, 1, JINUE_EBADF); /* an owner descriptor */
    dupx(1, 2, 1, JINUE_EBADF);
    dupx(4, 2, 1, JINUE_EBADF);
    dupx(1, 6, 1, JINUE_EBADF); /* a destroyed owner: owner first (documented order) */
    dupx(1, 7, 1, JINUE_EIO);
    dupx(1, 7, 0, JINUE_EIO);                 /* before the slot in use */
    dupx(1, 7, JINUE_DESC_NUM, JINUE_EIO);    /* before the slot out of range */
    dupx(1, 9, 0, JINUE_EBADF);

    /* The destination slot. */
    dupx(1, 0, 0, JINUE_EBADF); /* a new process's slot 0 is itself */
    dupx(1, 0, JINUE_DESC_NUM, JINUE_EBADF);
    dupx(1, 0, INT_MAX, JINUE_EBADF);
    dupx(0, 3, 0, JINUE_EBADF); /* the caller's own slots */
    dupx(0, 3, 1, JINUE_EBADF);

    /* Success: the caller into P's slot 1 (library), Q (no permission) into P's slot 2 through a
     * non-owner descriptor with OPEN (raw). */
    LIB(jinue_dup(1, 0, 1, E), 0);
    dupx(1, 0, 1, JINUE_EBADF);
    RAW(JINUE_DUP, 4, 5, 2, 0);
    dupx(1, 5, 2, JINUE_EBADF);
    dupx(4, 3, 2, JINUE_EBADF);
    /* P may hold a descriptor of itself. */
    LIB(jinue_dup(1, 4, 3, E), 0);
    dupx(1, 0, 3, JINUE_EBADF);

    /* Into the caller itself: a copy of P with OPEN | MAP in slot 8, not an owner. */
    LIB(jinue_dup(0, 4, 8, E), 0);
    destroy2(8, JINUE_EPERM);
    USABLE(8);
    LIB(jinue_dup(8, 0, 4, E), 0); /* OPEN came along: into P's slot 4 */
    dupx(8, 0, 4, JINUE_EBADF);
    /* A copy of the caller itself in slot 9: all permissions, not an owner. */
    RAW(JINUE_DUP, 0, 0, 9, 0);
    destroy2(9, JINUE_EPERM);
    USABLE(9);
    LIB(jinue_mint(2, 9, 10, JINUE_PERM_MAP, 0, E), 0); /* OPEN through the copy */
    USABLE(10);
    dupx(9, 0, 0, JINUE_EBADF);
    /* A copy of "MAP only" has no OPEN either. */
    LIB(jinue_dup(0, 3, 11, E), 0);
    USABLE(11);
    dupx(11, 0, 5, JINUE_EPERM);
    /* A copy of "no permission" cannot be mapped into. */
    LIB(jinue_close(11, E), 0);
    LIB(jinue_dup(0, 5, 11, E), 0);
    LIB(jinue_mclone(0, 11, NULL, NULL, 0, 0, E), JINUE_EPERM);

    /* After P's destruction its copies answer EIO. */
    LIB(jinue_destroy(1, E), 0);
    dupx(4, 0, 5, JINUE_EIO);
    dupx(8, 0, 5, JINUE_EIO);
    LIB(jinue_close(11, E), 0);
    dupx(0, 4, 11, JINUE_EIO);
    dupx(0, 3, 11, JINUE_EIO);
    dupx(2, 8, 1, JINUE_EIO);
    USABLE(2);
    clear_slots(1, JINUE_DESC_NUM - 1);
}

/* ---- 6. MINT ---- */

static void test_mint(void) {
    /* 0 self; 1 P (owner); 2 Q (owner); 3 P with MAP only; 4 Q with OPEN only; 5 D (owner,
     * destroyed); 6 D with OPEN (destroyed); 7.. free. */
    NEW(1);
    NEW(2);
    LIB(jinue_mint(1, 0, 3, JINUE_PERM_MAP, 0, E), 0);
    RAW_MINT(2, 0, 4, JINUE_PERM_OPEN, 0);
    NEW(5);
    LIB(jinue_mint(5, 0, 6, JINUE_PERM_OPEN, 0, E), 0);
    LIB(jinue_destroy(5, E), 0);
    const uintptr_t hole = root.base + root.len - PAGE; /* nothing is mapped there */

    /* The owner number first, even before the args pointer. */
    mint2(-1, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(INT_MIN, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    RAW_MINT(BIG, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    RAW_MINT(HIGH32 | 1, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    RAW_MINT(0xFFFFFFFFu, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    RAW(JINUE_MINT, -1, 0, 0, JINUE_EBADF);
    RAW(JINUE_MINT, BIG | 1, 0, 0, JINUE_EBADF);
    RAW(JINUE_MINT, -1, KERNEL_HALF, 0, JINUE_EBADF);

    /* The args pointer. */
    RAW(JINUE_MINT, 1, 0, 0, JINUE_EINVAL);
    RAW(JINUE_MINT, 1, 8, 0, JINUE_EINVAL);
    RAW(JINUE_MINT, 1, PAGE - 1, 0, JINUE_EINVAL);
    RAW(JINUE_MINT, 1, KERNEL_HALF, 0, JINUE_EINVAL);
    RAW(JINUE_MINT, 1, USER_END, 0, JINUE_EINVAL);
    RAW(JINUE_MINT, 1, USER_END - 8, 0, JINUE_EINVAL); /* straddles the end of user space */
    RAW(JINUE_MINT, 1, UINTPTR_MAX - 7, 0, JINUE_EINVAL); /* wraps */
    RAW(JINUE_MINT, 1, hole, 0, JINUE_EINVAL);
    /* ... before every check of the owner descriptor. */
    RAW(JINUE_MINT, 0, 0, 0, JINUE_EINVAL);               /* not an owner */
    RAW(JINUE_MINT, 3, 0, 0, JINUE_EINVAL);               /* not an owner */
    RAW(JINUE_MINT, 9, 0, 0, JINUE_EINVAL);               /* free */
    RAW(JINUE_MINT, JINUE_DESC_NUM, 0, 0, JINUE_EINVAL);  /* out of range */
    RAW(JINUE_MINT, 5, 8, 0, JINUE_EINVAL);               /* destroyed */
    RAW(JINUE_MINT, 6, hole, 0, JINUE_EINVAL);

    /* The owner descriptor. */
    mint2(0, 0, 7, JINUE_PERM_MAP, JINUE_EBADF); /* the caller's own: not an owner */
    mint2(3, 0, 7, JINUE_PERM_MAP, JINUE_EBADF); /* minted: not an owner */
    mint2(4, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(9, 0, 7, JINUE_PERM_MAP, JINUE_EBADF); /* free */
    mint2(JINUE_DESC_NUM, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(INT_MAX, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(5, 0, 7, JINUE_PERM_MAP, JINUE_EIO);
    mint2(6, 0, 7, JINUE_PERM_MAP, JINUE_EBADF); /* destroyed, but not an owner first */
    mint2(3, 3, 7, JINUE_PERM_MAP, JINUE_EBADF); /* before the process without OPEN */
    mint2(0, 9, 7, JINUE_PERM_SEND, JINUE_EBADF);
    mint2(5, 9, 7, JINUE_PERM_MAP, JINUE_EIO);   /* before the free process */
    mint2(5, 3, 7, JINUE_PERM_MAP, JINUE_EIO);   /* before the process without OPEN */
    mint2(5, 0, 0, JINUE_PERM_SEND, JINUE_EIO);  /* before perms and slot */

    /* The target process. */
    mint2(1, -1, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, INT_MIN, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, JINUE_DESC_NUM, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 9, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 5, 7, JINUE_PERM_MAP, JINUE_EIO);
    mint2(1, 6, 7, JINUE_PERM_MAP, JINUE_EIO);
    mint2(1, 6, 7, JINUE_PERM_SEND, JINUE_EIO);  /* before perms */
    mint2(1, 6, 0, JINUE_PERM_MAP, JINUE_EIO);   /* before the slot in use */
    mint2(1, 9, -1, JINUE_PERM_SEND, JINUE_EBADF);

    /* OPEN on the target process. */
    mint2(1, 3, 1, JINUE_PERM_MAP, JINUE_EPERM);
    mint2(2, 3, 1, JINUE_PERM_MAP, JINUE_EPERM);
    mint2(1, 3, 1, JINUE_PERM_SEND, JINUE_EPERM); /* before perms */
    mint2(1, 3, 0, JINUE_PERM_MAP, JINUE_EPERM);  /* before the slot in use */
    mint2(1, 3, -1, JINUE_PERM_MAP, JINUE_EPERM); /* before the bad slot */

    /* Permissions beyond CREATE_THREAD | MAP | OPEN. */
    const int bad_perms[] = {JINUE_PERM_SEND,
                             JINUE_PERM_RECEIVE,
                             JINUE_PERM_START,
                             JINUE_PERM_AWAIT,
                             1 << 7,
                             1 << 30,
                             JINUE_PERM_MAP | JINUE_PERM_SEND,
                             PROCESS_PERMS | JINUE_PERM_AWAIT,
                             ALL_PERMS,
                             -1,
                             INT_MIN,
                             INT_MIN | JINUE_PERM_MAP};
    for (size_t i = 0; i < sizeof bad_perms / sizeof bad_perms[0]; i++) {
        mint2(1, 0, 7, bad_perms[i], JINUE_EINVAL);
        mint2(2, 4, 7, bad_perms[i], JINUE_EINVAL);
    }
    mint2(1, 0, 0, JINUE_PERM_SEND, JINUE_EINVAL);              /* before the slot in use */
    mint2(1, 0, -1, JINUE_PERM_SEND, JINUE_EINVAL);             /* before the bad slot */
    mint2(1, 0, JINUE_DESC_NUM, -1, JINUE_EINVAL);

    /* The target slot. */
    mint2(1, 0, 0, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 0, 1, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 0, JINUE_DESC_NUM, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 0, -1, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 0, INT_MIN, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 0, INT_MAX, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 1, 0, JINUE_PERM_MAP, JINUE_EBADF); /* a new process's slot 0 is itself */
    /* None of the failures took a slot. */
    for (int fd = 7; fd < JINUE_DESC_NUM; fd++) RAW(JINUE_CLOSE, fd, 0, 0, JINUE_EBADF);

    /* Success through both entries. */
    RAW_MINT(1, 0, 7, PROCESS_PERMS, 0);
    LIB(jinue_mint(1, 0, 8, 0, 0, E), 0);
    mint2(1, 0, 7, JINUE_PERM_MAP, JINUE_EBADF);
    mint2(1, 0, 8, JINUE_PERM_MAP, JINUE_EBADF);
    LIB(jinue_mint(2, 1, 1, JINUE_PERM_MAP, 0, E), 0);   /* Q into P's slot 1 */
    mint2(2, 1, 1, JINUE_PERM_MAP, JINUE_EBADF);
    LIB(jinue_mint(1, 4, 1, JINUE_PERM_MAP, 0, E), 0);   /* P into Q's slot 1, via OPEN only */
    mint2(1, 4, 1, JINUE_PERM_MAP, JINUE_EBADF);
    LIB(jinue_mint(1, 1, 2, JINUE_PERM_OPEN, 0, E), 0);  /* P into its own slot 2 */
    mint2(2, 1, 2, JINUE_PERM_MAP, JINUE_EBADF);
    /* The args structure may lie in a read-only mapping of the caller. */
    zx_handle_t v = make(PAGE, 0);
    uint8_t* ro = NULL;
    jinue_mint_args_t m = {0, 9, JINUE_PERM_MAP | JINUE_PERM_OPEN, 42};
    CHECK_STATUS(zx_vmo_write(v, &m, 0, sizeof m), ZX_OK);
    zx_vaddr_t a = map_page_before_hole(v, 0, ZX_VM_PERM_READ);
    ro = (uint8_t*)(uintptr_t)a;
    if (ro) {
        RAW(JINUE_MINT, 1, ro, 0, 0);
        RAW(JINUE_MINT, 1, ro, 0, JINUE_EBADF); /* slot 9 is in use now */
        RAW(JINUE_MINT, 1, ro + PAGE - 8, 0, JINUE_EINVAL); /* runs into the unmapped page */
        CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), a, PAGE), ZX_OK);
        RAW(JINUE_MINT, 1, ro, 0, JINUE_EINVAL); /* unmapped now */
    }
    CHECK_STATUS(zx_handle_close(v), ZX_OK);

    /* The minted descriptors carry exactly their permissions and are not owners. */
    USABLE(7);
    LIB(jinue_dup(7, 0, 3, E), 0);                   /* OPEN */
    destroy2(7, JINUE_EPERM);
    mint2(7, 0, 10, JINUE_PERM_MAP, JINUE_EBADF);    /* not an owner */
    LIB(jinue_mclone(0, 8, NULL, NULL, 0, 0, E), JINUE_EPERM); /* no MAP */
    LIB(jinue_mclone(8, 0, NULL, NULL, 0, 0, E), 0);           /* a source needs nothing */
    dupx(8, 0, 4, JINUE_EPERM);                      /* no OPEN */
    destroy2(8, JINUE_EPERM);
    USABLE(9);
    LIB(jinue_dup(9, 0, 4, E), 0);

    /* After P's destruction, the owner and every minted descriptor answer EIO. */
    LIB(jinue_destroy(1, E), 0);
    mint2(1, 0, 10, JINUE_PERM_MAP, JINUE_EIO);
    mint2(2, 7, 5, JINUE_PERM_MAP, JINUE_EIO);
    mint2(2, 9, 5, JINUE_PERM_MAP, JINUE_EIO);
    mint2(2, 3, 5, JINUE_PERM_MAP, JINUE_EIO); /* EIO before the missing OPEN */
    USABLE(2);
    clear_slots(1, JINUE_DESC_NUM - 1);
}

/* ---- 7. MCLONE's check order ---- */

static void test_mclone_order(void) {
    const uintptr_t base = root.base, end = root.base + root.len;
    /* 0 self; 1 P (owner); 2 P with OPEN only (no MAP); 3 free; 4 D (owner, destroyed);
     * 5 D with MAP (destroyed); 6 P with no permission; 7.. free. */
    NEW(1);
    LIB(jinue_mint(1, 0, 2, JINUE_PERM_OPEN, 0, E), 0);
    NEW(4);
    LIB(jinue_mint(4, 0, 5, JINUE_PERM_MAP, 0, E), 0);
    LIB(jinue_destroy(4, E), 0);
    LIB(jinue_mint(1, 0, 6, 0, 0, E), 0);

    zx_handle_t v = make(2 * PAGE, 0);
    zx_vaddr_t av = map_ok(zx_vmar_root_self(), RW, 0, v, 0, 2 * PAGE);
    const uintptr_t a = (uintptr_t)av;
    const uintptr_t x = base + (root.len / 2); /* a free place in P */
    CHECK_EQ(mappings_of(v), 1);
    /* Valid calls, through both entries (the second replaces the first's mapping). */
    RAW_MCLONE(0, 1, a, x, 2 * PAGE, JINUE_PROT_READ | JINUE_PROT_WRITE, 0);
    CHECK_EQ(mappings_of(v), 2);
    LIB(jinue_mclone(0, 1, (void*)a, (void*)x, 2 * PAGE, JINUE_PROT_READ, E), 0);
    CHECK_EQ(mappings_of(v), 2);
    LIB(jinue_mclone(6, 1, (void*)x, (void*)(x + 2 * PAGE), PAGE, JINUE_PROT_READ, E), 0);
    CHECK_EQ(mappings_of(v), 3);
    const uint64_t mapped = 3;
    const int R = JINUE_PROT_READ, RWP = JINUE_PROT_READ | JINUE_PROT_WRITE;

    /* 1. negative descriptors and values that are not ints: first of all. */
    mclone2(-1, 1, a, x, PAGE, R, JINUE_EBADF);
    mclone2(0, -1, a, x, PAGE, R, JINUE_EBADF);
    mclone2(INT_MIN, 1, a, x, PAGE, R, JINUE_EBADF);
    mclone2(0, INT_MIN, a, x, PAGE, R, JINUE_EBADF);
    RAW_MCLONE(BIG, 1, a, x, PAGE, R, JINUE_EBADF);
    RAW_MCLONE(0, BIG, a, x, PAGE, R, JINUE_EBADF);
    RAW_MCLONE(HIGH32, 1, a, x, PAGE, R, JINUE_EBADF);     /* not slot 0 */
    RAW_MCLONE(0, HIGH32 | 1, a, x, PAGE, R, JINUE_EBADF); /* not slot 1 */
    RAW_MCLONE(0xFFFFFFFFu, 1, a, x, PAGE, R, JINUE_EBADF);
    RAW_MCLONE(0, UINTPTR_MAX, a, x, PAGE, R, JINUE_EBADF);
    RAW(JINUE_MCLONE, -1, 1, 0, JINUE_EBADF);              /* before the NULL args */
    RAW(JINUE_MCLONE, 0, -1, KERNEL_HALF, JINUE_EBADF);
    RAW(JINUE_MCLONE, BIG, 1, 8, JINUE_EBADF);
    mclone2(-1, 1, a + 1, x, PAGE, R, JINUE_EBADF);        /* before alignment */
    mclone2(0, -1, a, x, PAGE + 1, R, JINUE_EBADF);
    mclone2(-1, 1, a, x, PAGE, 8, JINUE_EBADF);            /* before prot */
    mclone2(0, -1, a, x, PAGE, -1, JINUE_EBADF);
    mclone2(-1, 1, a, end, PAGE, R, JINUE_EBADF);          /* before the range */
    mclone2(-1, 1, 0, 0, PAGE, R, JINUE_EBADF);
    mclone2(-1, 1, a, x, 0, R, JINUE_EBADF);               /* even for length 0 */
    mclone2(3, -1, a, x, PAGE, R, JINUE_EBADF);
    RAW_MCLONE(4, BIG, a + 1, x, PAGE, 8, JINUE_EBADF);

    /* 2. the args structure (raw entry only). */
    const uintptr_t hole = end - PAGE; /* nothing is mapped there */
    RAW(JINUE_MCLONE, 0, 1, 0, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 0, 1, 8, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 0, 1, PAGE - 32, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 0, 1, PAGE - 1, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 0, 1, KERNEL_HALF, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 0, 1, USER_END, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 0, 1, USER_END - 16, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 0, 1, UINTPTR_MAX - 15, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 0, 1, hole, JINUE_EINVAL);
    RAW(JINUE_MCLONE, 3, 1, 0, JINUE_EINVAL);              /* before the free source */
    RAW(JINUE_MCLONE, JINUE_DESC_NUM, 1, 0, JINUE_EINVAL); /* before the source out of range */
    RAW(JINUE_MCLONE, 4, 1, 0, JINUE_EINVAL);              /* before the destroyed source */
    RAW(JINUE_MCLONE, 0, 3, 0, JINUE_EINVAL);              /* before the free destination */
    RAW(JINUE_MCLONE, 0, 5, KERNEL_HALF, JINUE_EINVAL);    /* before the destroyed one */
    RAW(JINUE_MCLONE, 0, 2, hole, JINUE_EINVAL);           /* before the missing MAP */

    /* 3. alignment. */
    mclone2(0, 1, a + 1, x, PAGE, R, JINUE_EINVAL);
    mclone2(0, 1, a + PAGE / 2, x, PAGE, R, JINUE_EINVAL);
    mclone2(0, 1, a + PAGE - 1, x, PAGE, R, JINUE_EINVAL);
    mclone2(0, 1, a, x + 1, PAGE, R, JINUE_EINVAL);
    mclone2(0, 1, a, x + 8, PAGE, R, JINUE_EINVAL);
    mclone2(0, 1, a, x, 1, R, JINUE_EINVAL);
    mclone2(0, 1, a, x, PAGE - 1, R, JINUE_EINVAL);
    mclone2(0, 1, a, x, PAGE + 1, R, JINUE_EINVAL);
    mclone2(0, 1, a + 1, x, 0, R, JINUE_EINVAL);           /* also for length 0 */
    mclone2(0, 1, a, x + 1, 0, R, JINUE_EINVAL);
    mclone2(0, 1, a + 1, x, PAGE, 8, JINUE_EINVAL);        /* with a bad prot */
    mclone2(3, 1, a + 1, x, PAGE, R, JINUE_EINVAL);        /* before the free source */
    mclone2(JINUE_DESC_NUM, 1, a, x + 1, PAGE, R, JINUE_EINVAL);
    mclone2(INT_MAX, 1, a, x, PAGE + 1, R, JINUE_EINVAL);
    mclone2(4, 1, a + 1, x, PAGE, R, JINUE_EINVAL);        /* before the destroyed source */
    mclone2(0, 3, a, x + 1, PAGE, R, JINUE_EINVAL);        /* before the free destination */
    mclone2(0, 5, a, x, PAGE + 1, R, JINUE_EINVAL);        /* before the destroyed one */
    mclone2(0, 2, a + 1, x, PAGE, R, JINUE_EINVAL);        /* before the missing MAP */
    mclone2(0, 1, a + 1, end, PAGE, R, JINUE_EINVAL);

    /* 4. prot. */
    const int bad_prot[] = {8, 16, 0x100, 1 << 30, INT_MAX, -1, INT_MIN, 7 | 8, R | 0x80};
    for (size_t i = 0; i < sizeof bad_prot / sizeof bad_prot[0]; i++) {
        mclone2(0, 1, a, x, PAGE, bad_prot[i], JINUE_EINVAL);
        mclone2(3, 1, a, x, PAGE, bad_prot[i], JINUE_EINVAL); /* before the free source */
        mclone2(0, 2, a, x, PAGE, bad_prot[i], JINUE_EINVAL); /* before the missing MAP */
    }
    mclone2(0, 1, a, x, 0, 8, JINUE_EINVAL);                  /* also for length 0 */
    mclone2(4, 5, a, x, PAGE, -1, JINUE_EINVAL);              /* before the destroyed ones */
    mclone2(0, 1, a, end, PAGE, 8, JINUE_EINVAL);

    /* 5. ranges that wrap or leave the user range. */
    const uintptr_t wrap = UINTPTR_MAX & ~(uintptr_t)(PAGE - 1);
    struct {
        uintptr_t sa, da;
        size_t len;
    } bad_range[] = {
        {base - PAGE, x, PAGE},        /* source below */
        {0, x, PAGE},                  /* source NULL */
        {PAGE, x, PAGE},
        {end, x, PAGE},                /* source at the end */
        {end - PAGE, x, 2 * PAGE},     /* source runs past the end */
        {base - PAGE, x, 2 * PAGE},    /* source starts below */
        {a, base - PAGE, PAGE},        /* destination below */
        {a, 0, PAGE},
        {a, end, PAGE},
        {a, end - PAGE, 2 * PAGE},
        {a, KERNEL_HALF, PAGE},        /* the kernel half */
        {KERNEL_HALF, x, PAGE},
        {a, USER_END, PAGE},
        {wrap, x, 2 * PAGE},           /* wraps */
        {a, wrap, 2 * PAGE},
        {a, x, wrap},                  /* a length that wraps */
        {a, x, (size_t)1 << 63},
        {a, x, root.len + PAGE},       /* longer than the user range */
        {base, base, root.len + PAGE},
    };
    for (size_t i = 0; i < sizeof bad_range / sizeof bad_range[0]; i++) {
        mclone2(0, 1, bad_range[i].sa, bad_range[i].da, bad_range[i].len, R, JINUE_EINVAL);
        mclone2(3, 1, bad_range[i].sa, bad_range[i].da, bad_range[i].len, R, JINUE_EINVAL);
        mclone2(4, 5, bad_range[i].sa, bad_range[i].da, bad_range[i].len, R, JINUE_EINVAL);
        mclone2(0, 2, bad_range[i].sa, bad_range[i].da, bad_range[i].len, R, JINUE_EINVAL);
    }
    CHECK_EQ(mappings_of(v), mapped);

    /* 6. the source descriptor. */
    mclone2(3, 1, a, x, PAGE, R, JINUE_EBADF);
    mclone2(JINUE_DESC_NUM, 1, a, x, PAGE, R, JINUE_EBADF);
    mclone2(JINUE_DESC_NUM + 1, 1, a, x, PAGE, R, JINUE_EBADF);
    mclone2(1000, 1, a, x, PAGE, R, JINUE_EBADF);
    mclone2(INT_MAX, 1, a, x, PAGE, R, JINUE_EBADF);
    mclone2(4, 1, a, x, PAGE, R, JINUE_EIO);
    mclone2(5, 1, a, x, PAGE, R, JINUE_EIO);
    mclone2(3, 5, a, x, PAGE, R, JINUE_EBADF);           /* before the destroyed destination */
    mclone2(3, 2, a, x, PAGE, R, JINUE_EBADF);           /* before the missing MAP */
    mclone2(3, 7, a, x, PAGE, R, JINUE_EBADF);
    mclone2(4, 3, a, x, PAGE, R, JINUE_EIO);             /* before the free destination */
    mclone2(5, 2, a, x, PAGE, R, JINUE_EIO);             /* before the missing MAP */
    mclone2(4, JINUE_DESC_NUM, a, x, PAGE, R, JINUE_EIO);
    mclone2(3, 1, a, x, 0, R, JINUE_EBADF);              /* also for length 0 */
    mclone2(4, 1, a, x, 0, R, JINUE_EIO);

    /* 7. the destination descriptor. */
    mclone2(0, 3, a, x, PAGE, R, JINUE_EBADF);
    mclone2(0, JINUE_DESC_NUM, a, x, PAGE, R, JINUE_EBADF);
    mclone2(0, INT_MAX, a, x, PAGE, R, JINUE_EBADF);
    mclone2(0, 4, a, x, PAGE, R, JINUE_EIO);
    mclone2(0, 5, a, x, PAGE, R, JINUE_EIO);
    mclone2(0, 2, a, x, PAGE, R, JINUE_EPERM);
    mclone2(0, 6, a, x, PAGE, R, JINUE_EPERM);
    mclone2(1, 2, x, x, PAGE, R, JINUE_EPERM);
    mclone2(0, 2, a, x, 0, R, JINUE_EPERM);              /* also for length 0 */
    mclone2(0, 3, a, x, 0, R, JINUE_EBADF);
    mclone2(0, 5, a, x, 0, R, JINUE_EIO);
    CHECK_EQ(mappings_of(v), mapped);

    /* Read-only VMO handle: prot above it is EPERM only after every descriptor check. */
    zx_handle_t ro = dup_with(v, ZX_RIGHT_MAP | ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE);
    zx_vaddr_t rov = map_ok(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, ro, 0, PAGE);
    CHECK_EQ(mappings_of(v), mapped + 1);
    mclone2(0, 1, rov, x, PAGE, RWP, JINUE_EPERM);
    mclone2(0, 4, rov, x, PAGE, RWP, JINUE_EIO);
    mclone2(3, 1, rov, x, PAGE, RWP, JINUE_EBADF);
    mclone2(0, 3, rov, x, PAGE, RWP, JINUE_EBADF);
    mclone2(0, 1, rov, x, PAGE, 8 | RWP, JINUE_EINVAL);
    CHECK_EQ(mappings_of(v), mapped + 1);
    /* The last page of the user range is a valid destination; length 0 with valid descriptors
     * succeeds. */
    LIB(jinue_mclone(0, 1, (void*)rov, (void*)(end - PAGE), PAGE, R, E), 0);
    CHECK_EQ(mappings_of(v), mapped + 2);
    RAW_MCLONE(0, 1, a, x, 0, RWP, 0);
    RAW_MCLONE(6, 0, x, a, 0, R, 0);
    CHECK_EQ(mappings_of(v), mapped + 2);
    /* The args structure may lie in a read-only mapping. */
    jinue_mclone_args_t c = {(void*)a, (void*)(x + 8 * PAGE), PAGE, R};
    CHECK_STATUS(zx_vmo_write(v, &c, PAGE, sizeof c), ZX_OK);
    zx_vaddr_t cv = map_page_before_hole(ro, PAGE, ZX_VM_PERM_READ);
    if (cv) {
        RAW(JINUE_MCLONE, 0, 1, cv, 0);
        CHECK_EQ(mappings_of(v), mapped + 4); /* cv's own mapping and the clone */
        RAW(JINUE_MCLONE, 0, 1, cv + PAGE - 16, JINUE_EINVAL); /* runs into unmapped memory */
        CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), cv, PAGE), ZX_OK);
        RAW(JINUE_MCLONE, 0, 1, cv, JINUE_EINVAL);
    }
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), rov, PAGE), ZX_OK);
    CHECK_STATUS(zx_handle_close(ro), ZX_OK);

    /* P's clones go with P. */
    LIB(jinue_destroy(1, E), 0);
    CHECK_EQ(mappings_of(v), 1);
    mclone2(0, 1, a, x, PAGE, R, JINUE_EIO);
    mclone2(0, 6, a, x, PAGE, R, JINUE_EIO); /* EIO before the missing MAP */
    mclone2(6, 0, x, a, PAGE, R, JINUE_EIO);
    mclone2(2, 0, x, a, 0, R, JINUE_EIO);
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), av, 2 * PAGE), ZX_OK);
    CHECK_EQ(mappings_of(v), 0);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
    clear_slots(1, JINUE_DESC_NUM - 1);
}

/* ---- 8. The caller's own descriptor 0 ---- */

static void test_self_slot(void) {
    zx_handle_t v = make(PAGE, 0);
    zx_vaddr_t a = map_ok(zx_vmar_root_self(), RW, 0, v, 0, PAGE);
    const uintptr_t x = root.base + root.len / 4;
    NEW(1);
    LIB(jinue_dup(0, 0, 5, E), 0); /* a copy of the caller */
    LIB(jinue_close(0, E), 0);
    close2(0, JINUE_EBADF);
    mclone2(0, 1, a, x, PAGE, JINUE_PROT_READ, JINUE_EBADF);
    LIB(jinue_mclone(5, 1, (void*)a, (void*)x, PAGE, JINUE_PROT_READ, E), 0);
    CHECK_EQ(mappings_of(v), 2);
    /* A created process may take slot 0; it is an owner like any other. */
    LIB(jinue_create_process(0, E), 0);
    USABLE(0);
    LIB(jinue_mclone(1, 0, (void*)x, (void*)x, PAGE, JINUE_PROT_READ, E), 0);
    CHECK_EQ(mappings_of(v), 3);
    RAW(JINUE_DESTROY, 0, 0, 0, 0);
    CHECK_EQ(mappings_of(v), 2);
    LIB(jinue_close(0, E), 0);
    /* The caller puts itself back into slot 0 through its copy. */
    LIB(jinue_dup(5, 5, 0, E), 0);
    destroy2(0, JINUE_EPERM);
    LIB(jinue_close(5, E), 0);
    LIB(jinue_destroy(1, E), 0);
    CHECK_EQ(mappings_of(v), 1);
    LIB(jinue_mclone(0, 0, (void*)a, (void*)a, PAGE, JINUE_PROT_READ | JINUE_PROT_WRITE, E), 0);
    CHECK_EQ(mappings_of(v), 1);
    if (a) {
        ((volatile uint8_t*)(uintptr_t)a)[0] = 0x5C;
        CHECK_EQ(vmo_byte(v, 0), 0x5C);
    }
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), a, PAGE), ZX_OK);
    CHECK_STATUS(zx_handle_close(v), ZX_OK);
    clear_slots(1, JINUE_DESC_NUM - 1);
}

int main(void) {
    root = root_vmar_info();
    test_entry();
    test_create_process();
    test_close();
    test_destroy();
    test_dup();
    test_mint();
    test_mclone_order();
    test_self_slot();
    return finish();
}
