/* zx_vmo_read / zx_vmo_write: spec/zircon.md section 3 (rights, ranges, zeros, commit on write). */
#include <stdlib.h>

#include "check.h"

static void test_round_trip(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(8 * PAGE, 0, &h), ZX_OK)) return;

    /* Uncommitted pages read as zeros. */
    CHECK(vmo_bytes_are(h, 0, 8 * PAGE, 0));
    CHECK_EQ(committed_of(h), 0);

    /* A small write inside one page commits exactly that page. */
    const char msg[] = "hello, vmo";
    CHECK_STATUS(zx_vmo_write(h, msg, PAGE + 5, sizeof msg), ZX_OK);
    CHECK_EQ(committed_of(h), PAGE);
    char back[sizeof msg];
    memset(back, 0x77, sizeof back);
    CHECK_STATUS(zx_vmo_read(h, back, PAGE + 5, sizeof back), ZX_OK);
    CHECK(memcmp(back, msg, sizeof msg) == 0);
    /* Neighbouring bytes stay zero. */
    CHECK(vmo_bytes_are(h, PAGE, 5, 0));
    CHECK(vmo_bytes_are(h, PAGE + 5 + sizeof msg, PAGE - 5 - sizeof msg, 0));
    CHECK(vmo_bytes_are(h, 0, PAGE, 0));

    /* A write crossing a page boundary commits both pages. */
    CHECK_STATUS(zx_vmo_write(h, msg, 4 * PAGE - 3, sizeof msg), ZX_OK);
    CHECK_EQ(committed_of(h), 3 * PAGE);
    memset(back, 0, sizeof back);
    CHECK_STATUS(zx_vmo_read(h, back, 4 * PAGE - 3, sizeof back), ZX_OK);
    CHECK(memcmp(back, msg, sizeof msg) == 0);

    /* A large patterned write over several pages, read back at odd offsets and lengths. */
    size_t len = 3 * PAGE + 123;
    uint8_t* data = malloc(len);
    uint8_t* got = malloc(len);
    if (!data || !got) {
        CHECK(0);
        free(data);
        free(got);
        zx_handle_close(h);
        return;
    }
    for (size_t i = 0; i < len; i++) data[i] = (uint8_t)(i * 7 + 3);
    CHECK_STATUS(zx_vmo_write(h, data, 4 * PAGE + 17, len), ZX_OK);
    memset(got, 0, len);
    CHECK_STATUS(zx_vmo_read(h, got, 4 * PAGE + 17, len), ZX_OK);
    CHECK(memcmp(got, data, len) == 0);
    memset(got, 0, len);
    CHECK_STATUS(zx_vmo_read(h, got, 4 * PAGE + 17 + 1000, 2000), ZX_OK);
    CHECK(memcmp(got, data + 1000, 2000) == 0);
    /* Overwrite in the middle only changes those bytes. */
    CHECK_STATUS(zx_vmo_write(h, "XY", 4 * PAGE + 17 + 500, 2), ZX_OK);
    CHECK_STATUS(zx_vmo_read(h, got, 4 * PAGE + 17, len), ZX_OK);
    data[500] = 'X';
    data[501] = 'Y';
    CHECK(memcmp(got, data, len) == 0);
    free(data);
    free(got);

    /* Reading a whole VMO at once works. */
    uint8_t* all = malloc(8 * PAGE);
    if (all) {
        CHECK_STATUS(zx_vmo_read(h, all, 0, 8 * PAGE), ZX_OK);
        CHECK(memcmp(all + PAGE + 5, msg, sizeof msg) == 0);
        free(all);
    }
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

static void test_ranges(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(2 * PAGE, 0, &h), ZX_OK)) return;
    CHECK_STATUS(vmo_fill(h, 0, 2 * PAGE, 0x11), ZX_OK);
    uint8_t buf[64] = {0};
    const uint64_t size = 2 * PAGE;

    /* Length 0 at offset == size is OK; the last byte is readable. */
    CHECK_STATUS(zx_vmo_read(h, buf, size, 0), ZX_OK);
    CHECK_STATUS(zx_vmo_write(h, buf, size, 0), ZX_OK);
    CHECK_STATUS(zx_vmo_read(h, buf, 0, 0), ZX_OK);
    CHECK_STATUS(zx_vmo_read(h, buf, size - 1, 1), ZX_OK);
    CHECK_STATUS(zx_vmo_read(h, buf, 0, sizeof buf), ZX_OK);

    /* Beyond the size. */
    CHECK_STATUS(zx_vmo_read(h, buf, size, 1), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_read(h, buf, size + 1, 0), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_read(h, buf, size - 1, 2), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_read(h, buf, 100 * PAGE, 4), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, size, 1), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, size + 1, 0), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, 100 * PAGE, 4), ZX_ERR_OUT_OF_RANGE);

    /* A write that does not fit changes nothing, not even its in-range part. */
    memset(buf, 0x99, sizeof buf);
    CHECK_STATUS(zx_vmo_write(h, buf, size - 10, 20), ZX_ERR_OUT_OF_RANGE);
    CHECK(vmo_bytes_are(h, 0, 2 * PAGE, 0x11));

    /* offset + len overflowing 64 bits. */
    CHECK_STATUS(zx_vmo_read(h, buf, UINT64_MAX, 1), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_read(h, buf, UINT64_MAX - 3, 8), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_read(h, buf, UINT64_MAX, 0), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, UINT64_MAX, 1), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, UINT64_MAX - 3, 8), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, UINT64_MAX, 0), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, 1ull << 63, 16), ZX_ERR_OUT_OF_RANGE);
    /* A huge length is out of range (checked before touching the buffer). */
    CHECK_STATUS(zx_vmo_read(h, buf, 0, SIZE_MAX), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, 0, SIZE_MAX), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_read(h, buf, 8, SIZE_MAX - 4), ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_write(h, buf, 8, SIZE_MAX - 4), ZX_ERR_OUT_OF_RANGE);

    CHECK(vmo_bytes_are(h, 0, 2 * PAGE, 0x11));
    CHECK_EQ(committed_of(h), 2 * PAGE);
    CHECK_EQ(size_of_vmo(h), 2 * PAGE);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

static void test_rights(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(PAGE, 0, &h), ZX_OK)) return;
    CHECK_STATUS(vmo_fill(h, 0, PAGE, 0x42), ZX_OK);
    uint8_t buf[16];
    memset(buf, 0xEE, sizeof buf);

    zx_handle_t no_read = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    zx_handle_t no_write = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t only_read = dup_with(h, ZX_RIGHT_READ);
    zx_handle_t only_write = dup_with(h, ZX_RIGHT_WRITE);
    zx_handle_t none = dup_with(h, ZX_RIGHT_NONE);
    CHECK(no_read != ZX_HANDLE_INVALID && no_write != ZX_HANDLE_INVALID &&
          only_read != ZX_HANDLE_INVALID && only_write != ZX_HANDLE_INVALID &&
          none != ZX_HANDLE_INVALID);

    CHECK_STATUS(zx_vmo_read(no_read, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_read(only_write, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_read(none, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_write(no_write, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_write(only_read, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_vmo_write(none, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    CHECK_EQ(buf[0], 0xEE); /* a denied read wrote nothing */

    CHECK_STATUS(zx_vmo_read(only_read, buf, 0, 4), ZX_OK);
    CHECK_EQ(buf[0], 0x42);
    CHECK_STATUS(zx_vmo_read(no_write, buf, 0, 4), ZX_OK);
    memset(buf, 0x24, sizeof buf);
    CHECK_STATUS(zx_vmo_write(only_write, buf, 8, 4), ZX_OK);
    CHECK_STATUS(zx_vmo_write(no_read, buf, 12, 4), ZX_OK);
    /* All handles see the same object. */
    CHECK(vmo_bytes_are(h, 8, 8, 0x24));
    CHECK(vmo_bytes_are(h, 0, 8, 0x42));
    CHECK(vmo_bytes_are(h, 16, PAGE - 16, 0x42));

    zx_handle_close(no_read);
    zx_handle_close(no_write);
    zx_handle_close(only_read);
    zx_handle_close(only_write);
    zx_handle_close(none);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

static void test_null_buffers(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(PAGE, 0, &h), ZX_OK)) return;
    CHECK_STATUS(vmo_fill(h, 0, PAGE, 0x31), ZX_OK);
    /* NULL out-pointer (the read buffer) -> INVALID_ARGS. */
    CHECK_STATUS(zx_vmo_read(h, NULL, 0, 16), ZX_ERR_INVALID_ARGS);
    /* A NULL source buffer: the spec only promises a status code; Zircon answers INVALID_ARGS
     * for a user pointer it cannot copy from. Nothing may change. */
    CHECK_STATUS(zx_vmo_write(h, NULL, 0, 16), ZX_ERR_INVALID_ARGS);
    CHECK(vmo_bytes_are(h, 0, PAGE, 0x31));
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

static void test_handles(void) {
    uint8_t buf[4] = {0};
    CHECK_STATUS(zx_vmo_read(ZX_HANDLE_INVALID, buf, 0, 1), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmo_write(ZX_HANDLE_INVALID, buf, 0, 1), ZX_ERR_BAD_HANDLE);
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(PAGE, 0, &h), ZX_OK)) return;
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
    CHECK_STATUS(zx_vmo_read(h, buf, 0, 1), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_vmo_write(h, buf, 0, 1), ZX_ERR_BAD_HANDLE);
    zx_handle_t job = zx_job_default();
    CHECK_STATUS(zx_vmo_read(job, buf, 0, 1), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_vmo_write(job, buf, 0, 1), ZX_ERR_WRONG_TYPE);
}

/* Data written through one handle persists after other handles close; writes and reads of
 * every size from 1 to 3 pages at every page-relative offset class. */
static void test_sizes(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (!CHECK_STATUS(zx_vmo_create(6 * PAGE, ZX_VMO_RESIZABLE, &h), ZX_OK)) return;
    static uint8_t in[3 * 4096], out[3 * 4096];
    static const uint64_t offsets[] = {0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE - 7};
    static const size_t lens[] = {1, 2, 7, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE + 3, 3 * PAGE};
    unsigned seed = 1;
    int bad = 0;
    for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            for (size_t i = 0; i < lens[l]; i++) in[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
            if (zx_vmo_write(h, in, offsets[o], lens[l]) != ZX_OK) bad++;
            memset(out, 0, lens[l]);
            if (zx_vmo_read(h, out, offsets[o], lens[l]) != ZX_OK) bad++;
            if (memcmp(in, out, lens[l]) != 0) bad++;
        }
    CHECK_EQ(bad, 0);
    CHECK_STATUS(zx_handle_close(h), ZX_OK);
}

int main(void) {
    test_round_trip();
    test_ranges();
    test_rights();
    test_null_buffers();
    test_handles();
    test_sizes();
    return finish();
}
