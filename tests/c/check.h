/* A tiny assertion helper for the C conformance programs under tests/c/.
 *
 *   CHECK_STATUS(call, expected)   the call's zx_status_t must equal `expected`
 *   CHECK_STATUS2(call, a, b)      the call's status must be `a` or `b` (where the spec allows both)
 *   CHECK(cond)                    `cond` must be true
 *   CHECK_EQ(a, b)                 two integers (compared as uint64_t) must be equal
 *   return finish();               prints "<program>: N checks, M failures", returns the exit code
 *
 * Every failure prints file:line, the call text, what was got and what was expected. The counters
 * are atomic, so checks may be made from several threads at once. C11 + libc only. */
#ifndef TESTS_C_CHECK_H_
#define TESTS_C_CHECK_H_

#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zircon/syscalls.h>

static atomic_long check_count_;
static atomic_long check_failures_;

static inline const char* status_name(zx_status_t s) {
    switch (s) {
    case ZX_OK: return "ZX_OK";
    case ZX_ERR_INTERNAL: return "ZX_ERR_INTERNAL";
    case ZX_ERR_NOT_SUPPORTED: return "ZX_ERR_NOT_SUPPORTED";
    case ZX_ERR_NO_RESOURCES: return "ZX_ERR_NO_RESOURCES";
    case ZX_ERR_NO_MEMORY: return "ZX_ERR_NO_MEMORY";
    case ZX_ERR_INVALID_ARGS: return "ZX_ERR_INVALID_ARGS";
    case ZX_ERR_BAD_HANDLE: return "ZX_ERR_BAD_HANDLE";
    case ZX_ERR_WRONG_TYPE: return "ZX_ERR_WRONG_TYPE";
    case ZX_ERR_BAD_SYSCALL: return "ZX_ERR_BAD_SYSCALL";
    case ZX_ERR_OUT_OF_RANGE: return "ZX_ERR_OUT_OF_RANGE";
    case ZX_ERR_BUFFER_TOO_SMALL: return "ZX_ERR_BUFFER_TOO_SMALL";
    case ZX_ERR_BAD_STATE: return "ZX_ERR_BAD_STATE";
    case ZX_ERR_TIMED_OUT: return "ZX_ERR_TIMED_OUT";
    case ZX_ERR_SHOULD_WAIT: return "ZX_ERR_SHOULD_WAIT";
    case ZX_ERR_NOT_FOUND: return "ZX_ERR_NOT_FOUND";
    case ZX_ERR_ALREADY_EXISTS: return "ZX_ERR_ALREADY_EXISTS";
    case ZX_ERR_UNAVAILABLE: return "ZX_ERR_UNAVAILABLE";
    case ZX_ERR_ACCESS_DENIED: return "ZX_ERR_ACCESS_DENIED";
    default: return "(unknown status)";
    }
}

static inline int check_status_impl(const char* file, int line, const char* text, zx_status_t got,
                                    zx_status_t want1, zx_status_t want2) {
    atomic_fetch_add(&check_count_, 1);
    if (got == want1 || got == want2) return 1;
    atomic_fetch_add(&check_failures_, 1);
    if (want1 == want2) {
        fprintf(stderr, "%s:%d: FAIL %s\n    got %s (%d), expected %s (%d)\n", file, line, text,
                status_name(got), (int)got, status_name(want1), (int)want1);
    } else {
        fprintf(stderr, "%s:%d: FAIL %s\n    got %s (%d), expected %s (%d) or %s (%d)\n", file,
                line, text, status_name(got), (int)got, status_name(want1), (int)want1,
                status_name(want2), (int)want2);
    }
    fflush(stderr);
    return 0;
}

static inline int check_impl(const char* file, int line, const char* text, int ok) {
    atomic_fetch_add(&check_count_, 1);
    if (ok) return 1;
    atomic_fetch_add(&check_failures_, 1);
    fprintf(stderr, "%s:%d: FAIL CHECK(%s)\n", file, line, text);
    fflush(stderr);
    return 0;
}

static inline int check_eq_impl(const char* file, int line, const char* a_text, const char* b_text,
                                uint64_t a, uint64_t b) {
    atomic_fetch_add(&check_count_, 1);
    if (a == b) return 1;
    atomic_fetch_add(&check_failures_, 1);
    fprintf(stderr,
            "%s:%d: FAIL CHECK_EQ(%s, %s)\n    got %" PRIu64 " (0x%" PRIx64 "), expected %" PRIu64
            " (0x%" PRIx64 ")\n",
            file, line, a_text, b_text, a, a, b, b);
    fflush(stderr);
    return 0;
}

/* Each macro evaluates to 1 when the check passed, 0 otherwise. */
#define CHECK_STATUS(call, expected)                                                       \
    check_status_impl(__FILE__, __LINE__, #call, (zx_status_t)(call), (zx_status_t)(expected), \
                      (zx_status_t)(expected))
#define CHECK_STATUS2(call, a, b)                                                          \
    check_status_impl(__FILE__, __LINE__, #call, (zx_status_t)(call), (zx_status_t)(a),       \
                      (zx_status_t)(b))
#define CHECK(cond) check_impl(__FILE__, __LINE__, #cond, (cond) ? 1 : 0)
#define CHECK_EQ(a, b) check_eq_impl(__FILE__, __LINE__, #a, #b, (uint64_t)(a), (uint64_t)(b))

/* Prints the summary line and returns the process exit code (0 only if every check passed). */
static inline int check_finish(const char* file) {
    const char* name = strrchr(file, '/');
    name = name ? name + 1 : file;
    size_t len = strlen(name);
    if (len > 2 && strcmp(name + len - 2, ".c") == 0) len -= 2;
    long n = atomic_load(&check_count_);
    long m = atomic_load(&check_failures_);
    fflush(stderr);
    printf("%.*s: %ld checks, %ld failures\n", (int)len, name, n, m);
    fflush(stdout);
    return m == 0 && n > 0 ? 0 : 1;
}
#define finish() check_finish(__FILE__)

/* ---- Small helpers shared by the programs ---- */

#define PAGE ((uint64_t)4096u)

/* Rights as ZX_INFO_HANDLE_BASIC reports them (0xFFFFFFFF if the query fails). */
static inline zx_rights_t rights_of(zx_handle_t h) {
    zx_info_handle_basic_t info;
    memset(&info, 0, sizeof info);
    size_t actual = 0, avail = 0;
    if (zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &actual, &avail) != ZX_OK)
        return 0xFFFFFFFFu;
    return info.rights;
}

/* Koid as ZX_INFO_HANDLE_BASIC reports it (0 if the query fails). */
static inline zx_koid_t koid_of(zx_handle_t h) {
    zx_info_handle_basic_t info;
    memset(&info, 0, sizeof info);
    size_t actual = 0, avail = 0;
    if (zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &actual, &avail) != ZX_OK)
        return 0;
    return info.koid;
}

/* ZX_INFO_VMO (v3) of a VMO handle; fields read as all-ones if the query fails. */
static inline zx_info_vmo_t vmo_info(zx_handle_t h) {
    zx_info_vmo_t info;
    memset(&info, 0xFF, sizeof info);
    size_t actual = 0, avail = 0;
    if (zx_object_get_info(h, ZX_INFO_VMO, &info, sizeof info, &actual, &avail) != ZX_OK)
        memset(&info, 0xFF, sizeof info);
    return info;
}

static inline uint64_t committed_of(zx_handle_t h) { return vmo_info(h).committed_bytes; }
static inline uint64_t populated_of(zx_handle_t h) { return vmo_info(h).populated_bytes; }

static inline uint64_t size_of_vmo(zx_handle_t h) {
    uint64_t size = 0xFFFFFFFFFFFFFFFFull;
    if (zx_vmo_get_size(h, &size) != ZX_OK) return 0xFFFFFFFFFFFFFFFFull;
    return size;
}

/* A duplicate of `h` with exactly `rights` (ZX_HANDLE_INVALID if that fails). */
static inline zx_handle_t dup_with(zx_handle_t h, zx_rights_t rights) {
    zx_handle_t out = ZX_HANDLE_INVALID;
    if (zx_handle_duplicate(h, rights, &out) != ZX_OK) return ZX_HANDLE_INVALID;
    return out;
}

/* 1 if `len` bytes of the VMO at `offset` all equal `byte` (0 also if the read fails). */
static inline int vmo_bytes_are(zx_handle_t h, uint64_t offset, size_t len, uint8_t byte) {
    static _Thread_local uint8_t buf[16 * 4096];
    while (len > 0) {
        size_t n = len < sizeof buf ? len : sizeof buf;
        if (zx_vmo_read(h, buf, offset, n) != ZX_OK) return 0;
        for (size_t i = 0; i < n; i++)
            if (buf[i] != byte) return 0;
        offset += n;
        len -= n;
    }
    return 1;
}

/* Fills `len` bytes of the VMO at `offset` with `byte`; returns the status. */
static inline zx_status_t vmo_fill(zx_handle_t h, uint64_t offset, size_t len, uint8_t byte) {
    static _Thread_local uint8_t buf[16 * 4096];
    memset(buf, byte, sizeof buf);
    while (len > 0) {
        size_t n = len < sizeof buf ? len : sizeof buf;
        zx_status_t st = zx_vmo_write(h, buf, offset, n);
        if (st != ZX_OK) return st;
        offset += n;
        len -= n;
    }
    return ZX_OK;
}

/* The byte at `offset` (-1 if the read fails). */
static inline int vmo_byte(zx_handle_t h, uint64_t offset) {
    uint8_t b = 0;
    if (zx_vmo_read(h, &b, offset, 1) != ZX_OK) return -1;
    return b;
}

/* The signals currently active on `h` (polled with a deadline in the past). */
static inline zx_signals_t signals_of(zx_handle_t h) {
    zx_signals_t observed = 0;
    zx_status_t st = zx_object_wait_one(h, 0xFFFFFFFFu, ZX_TIME_INFINITE_PAST, &observed);
    if (st != ZX_OK && st != ZX_ERR_TIMED_OUT) return 0xFFFFFFFFu;
    return observed;
}

#endif /* TESTS_C_CHECK_H_ */
