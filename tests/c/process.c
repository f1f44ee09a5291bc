/* Jobs, processes and time: spec/zircon.md sections 2 (clock, deadlines) and 6 (zx_job_default,
 * zx_process_create arguments). Address-space behaviour (VMAR mapping, process memory) belongs to
 * a later milestone: those calls are only called here to show that they link and answer with a
 * status code for arguments that cannot succeed. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "check.h"

#define MS ((zx_duration_t)1000000)

static void test_job_default(void) {
    zx_handle_t job = zx_job_default();
    CHECK(job != ZX_HANDLE_INVALID);
    CHECK_EQ(job & 3u, 3u);
    zx_info_handle_basic_t info;
    size_t a, b;
    CHECK_STATUS(zx_object_get_info(job, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &a, &b), ZX_OK);
    CHECK(info.koid != 0);
    CHECK(info.type != ZX_OBJ_TYPE_VMO && info.type != ZX_OBJ_TYPE_PROCESS &&
          info.type != ZX_OBJ_TYPE_VMAR);
    /* The job handle stays valid across calls (it is the process's default job). */
    CHECK_EQ(koid_of(zx_job_default()), info.koid);
}

static void test_process_create(void) {
    zx_handle_t job = zx_job_default();
    zx_handle_t proc = ZX_HANDLE_INVALID, vmar = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_process_create(job, "test-process", 12, 0, &proc, &vmar), ZX_OK)) return;
    CHECK(proc != ZX_HANDLE_INVALID && vmar != ZX_HANDLE_INVALID && proc != vmar);
    CHECK_EQ(proc & 3u, 3u);
    CHECK_EQ(vmar & 3u, 3u);
    zx_info_handle_basic_t pi, vi;
    size_t a, b;
    CHECK_STATUS(zx_object_get_info(proc, ZX_INFO_HANDLE_BASIC, &pi, sizeof pi, &a, &b), ZX_OK);
    CHECK_STATUS(zx_object_get_info(vmar, ZX_INFO_HANDLE_BASIC, &vi, sizeof vi, &a, &b), ZX_OK);
    CHECK_EQ(pi.type, ZX_OBJ_TYPE_PROCESS);
    CHECK_EQ(vi.type, ZX_OBJ_TYPE_VMAR);
    CHECK(pi.koid >= 1024 && vi.koid >= 1024 && pi.koid != vi.koid);
    CHECK(pi.koid != koid_of(job));

    /* A second process: distinct objects. */
    zx_handle_t proc2 = ZX_HANDLE_INVALID, vmar2 = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_process_create(job, "second", 6, 0, &proc2, &vmar2), ZX_OK)) {
        CHECK(koid_of(proc2) != pi.koid);
        CHECK(koid_of(vmar2) != vi.koid);
        CHECK_STATUS(zx_handle_close(vmar2), ZX_OK);
        CHECK_STATUS(zx_handle_close(proc2), ZX_OK);
    }

    /* Argument errors, each alone. */
    zx_handle_t p = ZX_HANDLE_INVALID, v = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_process_create(job, "x", 1, 0, NULL, &v), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_create(job, "x", 1, 0, &p, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_process_create(ZX_HANDLE_INVALID, "x", 1, 0, &p, &v), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_process_create(0x10, "x", 1, 0, &p, &v), ZX_ERR_BAD_HANDLE);
    zx_handle_t vmo = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &vmo), ZX_OK);
    CHECK_STATUS(zx_process_create(vmo, "x", 1, 0, &p, &v), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_process_create(proc, "x", 1, 0, &p, &v), ZX_ERR_WRONG_TYPE);
    zx_handle_close(vmo);
    /* A name pointer that is NULL with a length: a status code, Zircon's INVALID_ARGS. */
    CHECK_STATUS(zx_process_create(job, NULL, 5, 0, &p, &v), ZX_ERR_INVALID_ARGS);
    /* Options: spec silent; Zircon rejects unknown option bits with INVALID_ARGS. */
    CHECK_STATUS(zx_process_create(job, "x", 1, 0x80000000u, &p, &v), ZX_ERR_INVALID_ARGS);

    /* The process and VMAR handles are not VMOs. */
    uint64_t size;
    CHECK_STATUS(zx_vmo_get_size(proc, &size), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmo_get_size(vmar, &size), ZX_ERR_WRONG_TYPE);
    /* Handles to them duplicate and close like any other (if their rights allow DUPLICATE). */
    if (rights_of(proc) & ZX_RIGHT_DUPLICATE) {
        zx_handle_t d = ZX_HANDLE_INVALID;
        CHECK_STATUS(zx_handle_duplicate(proc, ZX_RIGHT_SAME_RIGHTS, &d), ZX_OK);
        CHECK_EQ(koid_of(d), pi.koid);
        CHECK_STATUS(zx_handle_close(d), ZX_OK);
    }
    CHECK_STATUS(zx_handle_close(vmar), ZX_OK);
    CHECK_STATUS(zx_handle_close(proc), ZX_OK);
    CHECK_STATUS(zx_handle_close(proc), ZX_ERR_BAD_HANDLE);

    /* Many processes created and closed: nothing runs out. */
    int fails = 0;
    for (int i = 0; i < 200; i++) {
        zx_handle_t pp = ZX_HANDLE_INVALID, vv = ZX_HANDLE_INVALID;
        if (zx_process_create(job, "churn", 5, 0, &pp, &vv) != ZX_OK) {
            fails++;
            continue;
        }
        fails += zx_handle_close(vv) != ZX_OK;
        fails += zx_handle_close(pp) != ZX_OK;
    }
    CHECK_EQ(fails, 0);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void test_clock(void) {
    zx_time_t prev = zx_clock_get_monotonic();
    CHECK(prev > 0);
    int backwards = 0;
    for (int i = 0; i < 100000; i++) {
        zx_time_t now = zx_clock_get_monotonic();
        backwards += now < prev;
        prev = now;
    }
    CHECK_EQ(backwards, 0);
    zx_time_t a = zx_clock_get_monotonic();
    sleep_ms(30);
    zx_time_t b = zx_clock_get_monotonic();
    CHECK(b - a >= 30 * MS);
    CHECK(b - a < 30000 * MS);

    /* zx_deadline_after(ns) is now + ns. */
    zx_time_t t0 = zx_clock_get_monotonic();
    zx_time_t d = zx_deadline_after(2000 * MS);
    zx_time_t t1 = zx_clock_get_monotonic();
    CHECK(d >= t0 + 2000 * MS);
    CHECK(d <= t1 + 2000 * MS);
    t0 = zx_clock_get_monotonic();
    d = zx_deadline_after(0);
    t1 = zx_clock_get_monotonic();
    CHECK(d >= t0 && d <= t1);
    /* Spec silent on overflow; Zircon saturates at ZX_TIME_INFINITE. */
    CHECK_EQ(zx_deadline_after(ZX_TIME_INFINITE), ZX_TIME_INFINITE);
    CHECK_EQ(zx_deadline_after(INT64_MAX - 1), ZX_TIME_INFINITE);
}

/* Address-space calls link and answer with an error for handles that cannot work. */
static void test_links(void) {
    zx_vaddr_t addr = 0;
    zx_handle_t child = ZX_HANDLE_INVALID;
    size_t actual = 0;
    uint8_t buf[8] = {0};
    (void)zx_vmar_root_self();
    CHECK(zx_vmar_map(ZX_HANDLE_INVALID, ZX_VM_PERM_READ, 0, ZX_HANDLE_INVALID, 0, PAGE, &addr) !=
          ZX_OK);
    CHECK(zx_vmar_unmap(ZX_HANDLE_INVALID, 0x10000, PAGE) != ZX_OK);
    CHECK(zx_vmar_protect(ZX_HANDLE_INVALID, ZX_VM_PERM_READ, 0x10000, PAGE) != ZX_OK);
    CHECK(zx_vmar_allocate(ZX_HANDLE_INVALID, ZX_VM_CAN_MAP_READ, 0, PAGE, &child, &addr) !=
          ZX_OK);
    CHECK(zx_vmar_destroy(ZX_HANDLE_INVALID) != ZX_OK);
    CHECK(zx_process_read_memory(ZX_HANDLE_INVALID, 0x10000, buf, sizeof buf, &actual) != ZX_OK);
    CHECK(zx_process_write_memory(ZX_HANDLE_INVALID, 0x10000, buf, sizeof buf, &actual) != ZX_OK);
}

int main(void) {
    test_job_default();
    test_process_create();
    test_clock();
    test_links();
    return finish();
}
