/* Handles: spec/zircon.md sections 1 (ZX_HANDLE_INVALID, handle values) and 2 (close, duplicate,
 * replace, koids). */
#include <stdlib.h>

#include "check.h"

static zx_handle_t make(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &h), ZX_OK);
    return h;
}

static void test_close(void) {
    CHECK_STATUS(zx_handle_close(ZX_HANDLE_INVALID), ZX_OK);
    CHECK_STATUS(zx_handle_close(ZX_HANDLE_INVALID), ZX_OK);
    zx_handle_t h = make();
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
    CHECK_STATUS(zx_handle_close(h), ZX_ERR_BAD_HANDLE);
    uint64_t size;
    CHECK_STATUS(zx_vmo_get_size(h, &size), ZX_ERR_BAD_HANDLE);
    zx_handle_t d;
    CHECK_STATUS(zx_handle_duplicate(h, ZX_RIGHT_SAME_RIGHTS, &d), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_handle_replace(h, ZX_RIGHT_SAME_RIGHTS, &d), ZX_ERR_BAD_HANDLE);
    zx_info_handle_basic_t info;
    size_t actual, avail;
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &actual, &avail),
                 ZX_ERR_BAD_HANDLE);

    /* Garbage values: none of these can be a live handle (a valid value has its two low bits
     * set), plus a live handle with its low bits cleared. */
    zx_handle_t live = make();
    const zx_handle_t garbage[] = {1, 2, 4, 8, 0x10, 0x100, 0x7FFFFFFC, 0x80000000u, 0xFFFFFFFCu,
                                   0xFFFFFFFEu, live & ~3u, live ^ 1u, live ^ 2u};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        if (!CHECK_STATUS(zx_handle_close(garbage[i]), ZX_ERR_BAD_HANDLE))
            fprintf(stderr, "    (value 0x%x)\n", garbage[i]);
        CHECK_STATUS(zx_vmo_get_size(garbage[i], &size), ZX_ERR_BAD_HANDLE);
        CHECK_STATUS(zx_handle_duplicate(garbage[i], ZX_RIGHT_SAME_RIGHTS, &d), ZX_ERR_BAD_HANDLE);
    }
    /* The live handle was not disturbed. */
    CHECK_STATUS(zx_vmo_get_size(live, &size), ZX_OK);
    CHECK_STATUS(zx_handle_close(live), ZX_OK);
}

static void test_duplicate(void) {
    zx_handle_t h = make();
    CHECK_STATUS(vmo_fill(h, 0, 1, 'd'), ZX_OK);
    zx_handle_t d = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_handle_duplicate(h, ZX_RIGHT_SAME_RIGHTS, &d), ZX_OK);
    CHECK(d != h && d != ZX_HANDLE_INVALID);
    CHECK_EQ(d & 3u, 3u);
    CHECK_EQ(rights_of(d), ZX_DEFAULT_VMO_RIGHTS);
    CHECK_EQ(koid_of(d), koid_of(h));
    CHECK_EQ(vmo_byte(d, 0), 'd');
    /* Closing one leaves the other working. */
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
    CHECK_EQ(vmo_byte(d, 0), 'd');
    h = d;

    /* Reducing rights: exactly the asked set. */
    static const zx_rights_t subsets[] = {
        ZX_RIGHT_NONE, ZX_RIGHT_READ, ZX_RIGHT_DUPLICATE | ZX_RIGHT_WRITE,
        ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_INSPECT, ZX_DEFAULT_VMO_RIGHTS};
    for (size_t i = 0; i < sizeof subsets / sizeof subsets[0]; i++) {
        d = ZX_HANDLE_INVALID;
        if (CHECK_STATUS(zx_handle_duplicate(h, subsets[i], &d), ZX_OK)) {
            CHECK_EQ(rights_of(d), subsets[i]);
            CHECK_STATUS(zx_handle_close(d), ZX_OK);
        }
    }
    /* Asking for a right the handle lacks -> INVALID_ARGS. */
    CHECK_STATUS(zx_handle_duplicate(h, ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_RESIZE, &d),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_handle_duplicate(h, ZX_RIGHT_DESTROY, &d), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_handle_duplicate(h, ZX_RIGHT_ENUMERATE | ZX_RIGHT_READ, &d),
                 ZX_ERR_INVALID_ARGS);
    zx_handle_t small = dup_with(h, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ);
    CHECK_STATUS(zx_handle_duplicate(small, ZX_RIGHT_DUPLICATE | ZX_RIGHT_WRITE, &d),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_handle_duplicate(small, ZX_RIGHT_READ, &d), ZX_OK);
    CHECK_EQ(rights_of(d), ZX_RIGHT_READ);
    /* No DUPLICATE right -> ACCESS_DENIED (even for SAME_RIGHTS or fewer rights). */
    zx_handle_t nodup = d;
    CHECK_STATUS(zx_handle_duplicate(nodup, ZX_RIGHT_SAME_RIGHTS, &d), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_handle_duplicate(nodup, ZX_RIGHT_READ, &d), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_handle_duplicate(nodup, ZX_RIGHT_NONE, &d), ZX_ERR_ACCESS_DENIED);
    /* SAME_RIGHTS keeps a reduced set. */
    CHECK_STATUS(zx_handle_duplicate(small, ZX_RIGHT_SAME_RIGHTS, &d), ZX_OK);
    CHECK_EQ(rights_of(d), ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ);
    CHECK_STATUS(zx_handle_close(d), ZX_OK);
    /* NULL out-pointer. */
    CHECK_STATUS(zx_handle_duplicate(h, ZX_RIGHT_SAME_RIGHTS, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_handle_duplicate(ZX_HANDLE_INVALID, ZX_RIGHT_SAME_RIGHTS, &d),
                 ZX_ERR_BAD_HANDLE);
    /* A resizable VMO's RESIZE can be kept or dropped. */
    zx_handle_t r = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, ZX_VMO_RESIZABLE, &r), ZX_OK);
    CHECK_STATUS(zx_handle_duplicate(r, ZX_RIGHT_SAME_RIGHTS, &d), ZX_OK);
    CHECK_EQ(rights_of(d), ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_RESIZE);
    CHECK_STATUS(zx_vmo_set_size(d, 2 * PAGE), ZX_OK);
    zx_handle_close(d);
    CHECK_STATUS(zx_handle_duplicate(r, ZX_DEFAULT_VMO_RIGHTS, &d), ZX_OK);
    CHECK_STATUS(zx_vmo_set_size(d, 3 * PAGE), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(d);
    zx_handle_close(r);

    zx_handle_close(nodup);
    zx_handle_close(small);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

static void test_replace(void) {
    zx_handle_t h = make();
    zx_koid_t k = koid_of(h);
    zx_handle_t r = ZX_HANDLE_INVALID;
    /* Replace consumes the original. */
    CHECK_STATUS(zx_handle_replace(h, ZX_RIGHT_SAME_RIGHTS, &r), ZX_OK);
    CHECK(r != ZX_HANDLE_INVALID);
    CHECK_EQ(r & 3u, 3u);
    CHECK_EQ(koid_of(r), k);
    CHECK_EQ(rights_of(r), ZX_DEFAULT_VMO_RIGHTS);
    uint64_t size;
    CHECK_STATUS(zx_vmo_get_size(h, &size), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_handle_close(h), ZX_ERR_BAD_HANDLE);
    /* With fewer rights. */
    zx_handle_t r2 = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_handle_replace(r, ZX_RIGHT_READ | ZX_RIGHT_INSPECT, &r2), ZX_OK);
    CHECK_EQ(rights_of(r2), ZX_RIGHT_READ | ZX_RIGHT_INSPECT);
    CHECK_EQ(koid_of(r2), k);
    CHECK_STATUS(zx_handle_close(r), ZX_ERR_BAD_HANDLE);
    /* Spec silent on the rights replace needs; Zircon needs none (not even DUPLICATE). */
    zx_handle_t r3 = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_handle_replace(r2, ZX_RIGHT_READ, &r3), ZX_OK);
    CHECK_EQ(rights_of(r3), ZX_RIGHT_READ);
    CHECK_STATUS(zx_handle_close(r2), ZX_ERR_BAD_HANDLE);
    /* Spec silent on more rights than held; Zircon answers INVALID_ARGS. Whether the original
     * survives a failed replace is not asserted (Zircon consumes it). */
    zx_handle_t r4 = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_handle_replace(r3, ZX_RIGHT_READ | ZX_RIGHT_WRITE, &r4), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS2(zx_handle_close(r3), ZX_OK, ZX_ERR_BAD_HANDLE);
    /* Bad handles; NULL out-pointer. */
    CHECK_STATUS(zx_handle_replace(ZX_HANDLE_INVALID, ZX_RIGHT_SAME_RIGHTS, &r4),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_handle_replace(4, ZX_RIGHT_SAME_RIGHTS, &r4), ZX_ERR_BAD_HANDLE);
    zx_handle_t h2 = make();
    CHECK_STATUS(zx_handle_replace(h2, ZX_RIGHT_SAME_RIGHTS, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS2(zx_handle_close(h2), ZX_OK, ZX_ERR_BAD_HANDLE);
}

static int cmp_u32(const void* a, const void* b) {
    uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

/* Values and koids: every live handle value distinct with its low two bits set; koids unique,
 * >= 1024, never reused; duplicates share the koid. */
static void test_values_and_koids(void) {
    enum { N = 500 };
    static zx_handle_t hs[2 * N];
    static zx_koid_t ks[N + 1000];
    size_t nk = 0;
    int bad_bits = 0, small_koid = 0, same_koid_dup = 0;
    for (int i = 0; i < N; i++) {
        hs[2 * i] = make();
        hs[2 * i + 1] = dup_with(hs[2 * i], ZX_RIGHT_SAME_RIGHTS);
        bad_bits += (hs[2 * i] & 3u) != 3u || (hs[2 * i + 1] & 3u) != 3u;
        ks[nk] = koid_of(hs[2 * i]);
        small_koid += ks[nk] < 1024;
        same_koid_dup += koid_of(hs[2 * i + 1]) == ks[nk];
        nk++;
    }
    CHECK_EQ(bad_bits, 0);
    CHECK_EQ(small_koid, 0);
    CHECK_EQ(same_koid_dup, N);
    static zx_handle_t sorted[2 * N];
    memcpy(sorted, hs, sizeof hs);
    qsort(sorted, 2 * N, sizeof sorted[0], cmp_u32);
    int dups = 0;
    for (int i = 1; i < 2 * N; i++) dups += sorted[i] == sorted[i - 1];
    CHECK_EQ(dups, 0);
    for (int i = 0; i < 2 * N; i++) CHECK_STATUS(zx_handle_close(hs[i]), ZX_OK);
    /* Koids are never reused: new objects after the closes get new koids. */
    for (int i = 0; i < 1000; i++) {
        zx_handle_t h = make();
        ks[nk++] = koid_of(h);
        zx_handle_close(h);
    }
    qsort(ks, nk, sizeof ks[0], cmp_u64);
    dups = 0;
    for (size_t i = 1; i < nk; i++) dups += ks[i] == ks[i - 1];
    CHECK_EQ(dups, 0);
    CHECK(ks[0] >= 1024);
}

/* Many handles to one object, closed in a different order; the object lives while any does. */
static void test_many_handles(void) {
    enum { N = 2000 };
    static zx_handle_t hs[N];
    hs[0] = make();
    CHECK_STATUS(vmo_fill(hs[0], 0, 4, 'm'), ZX_OK);
    int fails = 0;
    for (int i = 1; i < N; i++) {
        hs[i] = ZX_HANDLE_INVALID;
        fails += zx_handle_duplicate(hs[i - 1], ZX_RIGHT_SAME_RIGHTS, &hs[i]) != ZX_OK;
    }
    CHECK_EQ(fails, 0);
    for (int i = 0; i < N - 1; i++) fails += zx_handle_close(hs[(i * 7) % (N - 1)]) != ZX_OK;
    CHECK_EQ(fails, 0);
    CHECK_EQ(vmo_byte(hs[N - 1], 3), 'm');
    CHECK_STATUS(zx_handle_close(hs[N - 1]), ZX_OK);
}

int main(void) {
    test_close();
    test_duplicate();
    test_replace();
    test_values_and_koids();
    test_many_handles();
    return finish();
}
