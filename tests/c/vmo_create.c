/* zx_vmo_create: spec/zircon.md sections 1 (default rights 0xD0FF, + RESIZE when resizable),
 * 2 (koids, handle values, ZERO_CHILDREN on a new VMO) and 3 (options, rounding, limits). */
#include "check.h"

#define DEFAULT_RIGHTS ((zx_rights_t)0xD0FFu)

static void test_basic(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(PAGE, 0, &h), ZX_OK)) return;
    CHECK(h != ZX_HANDLE_INVALID);
    CHECK_EQ(h & 3u, 3u); /* every valid handle value has its two low bits set */

    zx_info_handle_basic_t basic;
    size_t actual = 0, avail = 0;
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &basic, sizeof basic, &actual, &avail),
                 ZX_OK);
    CHECK_EQ(basic.rights, DEFAULT_RIGHTS);
    CHECK_EQ(basic.rights, ZX_DEFAULT_VMO_RIGHTS);
    CHECK_EQ(basic.type, ZX_OBJ_TYPE_VMO);
    CHECK(basic.koid >= 1024);

    uint64_t size = 0;
    CHECK_STATUS(zx_vmo_get_size(h, &size), ZX_OK);
    CHECK_EQ(size, PAGE);

    zx_info_vmo_t info = vmo_info(h);
    CHECK_EQ(info.koid, basic.koid);
    CHECK_EQ(info.size_bytes, PAGE);
    CHECK_EQ(info.committed_bytes, 0);
    CHECK_EQ(info.populated_bytes, 0);
    CHECK_EQ(info.parent_koid, 0);
    CHECK_EQ(info.num_children, 0);
    CHECK_EQ(info.handle_rights, DEFAULT_RIGHTS);
    CHECK_EQ(info.flags & ZX_INFO_VMO_RESIZABLE, 0);
    CHECK_EQ(info.flags & ZX_INFO_VMO_IMMUTABLE, 0);

    /* A new VMO reads as zeros and has ZX_VMO_ZERO_CHILDREN active. */
    CHECK(vmo_bytes_are(h, 0, PAGE, 0));
    CHECK(signals_of(h) & ZX_VMO_ZERO_CHILDREN);

    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

static void test_resizable(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(3 * PAGE, ZX_VMO_RESIZABLE, &h), ZX_OK)) return;
    CHECK_EQ(rights_of(h), DEFAULT_RIGHTS | ZX_RIGHT_RESIZE);
    zx_info_vmo_t info = vmo_info(h);
    CHECK_EQ(info.handle_rights, DEFAULT_RIGHTS | ZX_RIGHT_RESIZE);
    CHECK(info.flags & ZX_INFO_VMO_RESIZABLE);
    CHECK_EQ(info.size_bytes, 3 * PAGE);
    CHECK_STATUS(zx_vmo_set_size(h, 5 * PAGE), ZX_OK);
    CHECK_EQ(size_of_vmo(h), 5 * PAGE);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);

    /* Not resizable without the option. */
    if (CHECK_STATUS(zx_vmo_create(PAGE, 0, &h), ZX_OK)) {
        CHECK_STATUS(zx_vmo_set_size(h, 2 * PAGE), ZX_ERR_UNAVAILABLE);
        CHECK_EQ(size_of_vmo(h), PAGE);
        CHECK_STATUS(zx_handle_close(h), ZX_OK);
    }
}

static void test_rounding(void) {
    static const struct {
        uint64_t asked, expected;
    } cases[] = {
        {0, 0},
        {1, PAGE},
        {PAGE - 1, PAGE},
        {PAGE, PAGE},
        {PAGE + 1, 2 * PAGE},
        {10 * PAGE - 7, 10 * PAGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int resizable = 0; resizable < 2; resizable++) {
            zx_handle_t h = ZX_HANDLE_INVALID;
            if (!CHECK_STATUS(zx_vmo_create(cases[i].asked, resizable ? ZX_VMO_RESIZABLE : 0, &h),
                              ZX_OK))
                continue;
            CHECK_EQ(size_of_vmo(h), cases[i].expected);
            CHECK_EQ(vmo_info(h).size_bytes, cases[i].expected);
            CHECK_STATUS(zx_handle_close(h), ZX_OK);
        }
    }

    /* Size 0: valid; reads and writes of length 0 at offset 0 are fine, anything else is not. */
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (CHECK_STATUS(zx_vmo_create(0, 0, &h), ZX_OK)) {
        uint8_t b = 0;
        CHECK_STATUS(zx_vmo_read(h, &b, 0, 0), ZX_OK);
        CHECK_STATUS(zx_vmo_write(h, &b, 0, 0), ZX_OK);
        CHECK_STATUS(zx_vmo_read(h, &b, 0, 1), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_vmo_write(h, &b, 0, 1), ZX_ERR_OUT_OF_RANGE);
        CHECK_EQ(committed_of(h), 0);
        CHECK_STATUS(zx_handle_close(h), ZX_OK);
    }
}

static void test_options(void) {
    static const uint32_t bad[] = {
        1u << 0, 1u << 2, 1u << 3, 1u << 4, 1u << 5, 1u << 31,
        ZX_VMO_RESIZABLE | 1u, ZX_VMO_RESIZABLE | (1u << 31), 0xFFFFFFFFu,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zx_handle_t h = ZX_HANDLE_INVALID;
        zx_status_t st = zx_vmo_create(PAGE, bad[i], &h);
        if (!CHECK_STATUS(st, ZX_ERR_INVALID_ARGS)) {
            fprintf(stderr, "    (options 0x%x)\n", bad[i]);
            if (st == ZX_OK) zx_handle_close(h);
        }
    }
}

static void test_limits(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    /* Rounding overflows. */
    CHECK_STATUS(zx_vmo_create(UINT64_MAX, 0, &h), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create(UINT64_MAX, ZX_VMO_RESIZABLE, &h), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create(UINT64_MAX - PAGE + 2, 0, &h), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create(UINT64_MAX - 1, 0, &h), ZX_ERR_OUT_OF_RANGE);
    /* Above any sensible maximum: the spec leaves the maximum to the implementation (>= 2^40),
     * so only OK or OUT_OF_RANGE are acceptable answers. */
    static const uint64_t huge[] = {UINT64_MAX - PAGE + 1, 1ull << 63, 1ull << 62};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        zx_status_t st = zx_vmo_create(huge[i], 0, &h);
        CHECK_STATUS2(st, ZX_ERR_OUT_OF_RANGE, ZX_OK);
        if (st == ZX_OK) CHECK_STATUS(zx_handle_close(h), ZX_OK);
    }

    /* The maximum the project documents (README.md, "Largest VMO: 2^48 bytes"), as section 3
     * asks: accepted exactly, one byte more is OUT_OF_RANGE. */
    const uint64_t documented_max = 1ull << 48;
    if (CHECK_STATUS(zx_vmo_create(documented_max, 0, &h), ZX_OK)) {
        CHECK_EQ(size_of_vmo(h), documented_max);
        CHECK_STATUS(zx_handle_close(h), ZX_OK);
    }
    CHECK_STATUS(zx_vmo_create(documented_max + 1, 0, &h), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_create(documented_max + PAGE, ZX_VMO_RESIZABLE, &h), ZX_ERR_OUT_OF_RANGE);

    /* 2^40 bytes must be accepted; the VMO is sparse. */
    if (CHECK_STATUS(zx_vmo_create(1ull << 40, 0, &h), ZX_OK)) {
        CHECK_EQ(size_of_vmo(h), 1ull << 40);
        const char msg[] = "far away";
        CHECK_STATUS(zx_vmo_write(h, msg, (1ull << 40) - sizeof msg, sizeof msg), ZX_OK);
        char back[sizeof msg] = {0};
        CHECK_STATUS(zx_vmo_read(h, back, (1ull << 40) - sizeof msg, sizeof back), ZX_OK);
        CHECK(memcmp(back, msg, sizeof msg) == 0);
        CHECK_EQ(committed_of(h), PAGE);
        CHECK_STATUS(zx_vmo_read(h, back, 1ull << 40, 1), ZX_ERR_OUT_OF_RANGE);
        CHECK_STATUS(zx_handle_close(h), ZX_OK);
    }
    if (CHECK_STATUS(zx_vmo_create(1ull << 40, ZX_VMO_RESIZABLE, &h), ZX_OK)) {
        CHECK_EQ(size_of_vmo(h), 1ull << 40);
        CHECK_STATUS(zx_handle_close(h), ZX_OK);
    }
}

static void test_null_out(void) {
    CHECK_STATUS(zx_vmo_create(PAGE, 0, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_vmo_create(0, ZX_VMO_RESIZABLE, NULL), ZX_ERR_INVALID_ARGS);
}

static void test_distinct(void) {
    enum { N = 64 };
    zx_handle_t hs[N];
    zx_koid_t ks[N];
    for (int i = 0; i < N; i++) {
        hs[i] = ZX_HANDLE_INVALID;
        CHECK_STATUS(zx_vmo_create((uint64_t)i * PAGE, i % 2 ? ZX_VMO_RESIZABLE : 0, &hs[i]), ZX_OK);
        ks[i] = koid_of(hs[i]);
        CHECK(ks[i] >= 1024);
        CHECK_EQ(hs[i] & 3u, 3u);
    }
    int dup_handles = 0, dup_koids = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            dup_handles += hs[i] == hs[j];
            dup_koids += ks[i] == ks[j];
        }
    CHECK_EQ(dup_handles, 0);
    CHECK_EQ(dup_koids, 0);
    /* Each VMO is independent. */
    for (int i = 1; i < N; i++) CHECK_STATUS(vmo_fill(hs[i], 0, 1, (uint8_t)i), ZX_OK);
    for (int i = 1; i < N; i++) CHECK_EQ(vmo_byte(hs[i], 0), i);
    for (int i = 0; i < N; i++) CHECK_STATUS(zx_handle_close(hs[i]), ZX_OK);
}

/* Resident memory of this process in bytes (0 if unknown). */
static uint64_t resident_bytes(void) {
    FILE* f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    return n == 2 ? (uint64_t)resident * 4096u : 0;
}

/* Many creations and closes: nothing runs out (no leak of handles or objects). */
static void churn_once(void);

static void test_churn(void) {
    churn_once(); /* warm-up: allocator caches, tables */
    uint64_t before = resident_bytes();
    churn_once();
    churn_once();
    uint64_t after = resident_bytes();
    /* 40 000 pages (160 MiB) were written and freed; a leak of even a fraction of them shows. */
    if (before != 0 && after != 0) {
        if (!CHECK(after < before + 32ull * 1024 * 1024))
            fprintf(stderr, "    (resident memory grew from %llu to %llu bytes)\n",
                    (unsigned long long)before, (unsigned long long)after);
    }
}

static void churn_once(void) {
    for (int i = 0; i < 20000; i++) {
        zx_handle_t h = ZX_HANDLE_INVALID;
        zx_status_t st = zx_vmo_create(PAGE, 0, &h);
        if (st != ZX_OK) {
            CHECK_STATUS(st, ZX_OK);
            fprintf(stderr, "    (iteration %d)\n", i);
            return;
        }
        st = vmo_fill(h, 0, PAGE, 0x5A);
        if (st != ZX_OK) {
            CHECK_STATUS(st, ZX_OK);
            return;
        }
        if (i % 2) {
            zx_handle_t c = ZX_HANDLE_INVALID;
            st = zx_vmo_create_child(h, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &c);
            if (st != ZX_OK) {
                CHECK_STATUS(st, ZX_OK);
                return;
            }
            st = vmo_fill(c, 0, 1, 0x5B);
            zx_handle_close(c);
            if (st != ZX_OK) {
                CHECK_STATUS(st, ZX_OK);
                return;
            }
        }
        st = zx_handle_close(h);
        if (st != ZX_OK) {
            CHECK_STATUS(st, ZX_OK);
            return;
        }
    }
    CHECK(1);
}

int main(void) {
    test_basic();
    test_resizable();
    test_rounding();
    test_options();
    test_limits();
    test_null_out();
    test_distinct();
    test_churn();
    return finish();
}
