/* zx_object_get_info and zx_object_get/set_property: spec/zircon.md sections 1 (layouts, topics,
 * flags), 2 (rights needed, BUFFER_TOO_SMALL, names) and 4 (committed/populated bytes,
 * num_children, parent_koid). */
#include <stddef.h>

#include "check.h"

_Static_assert(sizeof(zx_info_handle_basic_t) == 32, "handle basic");
_Static_assert(sizeof(zx_info_vmo_t) == 128, "vmo v3");
_Static_assert(sizeof(zx_info_vmo_v1_t) == 104, "vmo v1");
_Static_assert(sizeof(zx_info_vmo_v2_t) == 120, "vmo v2");
_Static_assert(offsetof(zx_info_vmo_t, committed_bytes) == 88, "committed");
_Static_assert(offsetof(zx_info_vmo_t, populated_bytes) == 120, "populated");

static zx_handle_t make(uint64_t size, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(size, options, &h), ZX_OK);
    return h;
}

static void test_handle_basic(void) {
    zx_handle_t h = make(PAGE, 0);
    zx_info_handle_basic_t info;
    memset(&info, 0xAB, sizeof info);
    size_t actual = 99, avail = 99;
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &actual, &avail),
                 ZX_OK);
    CHECK(info.koid >= 1024);
    CHECK_EQ(info.rights, ZX_DEFAULT_VMO_RIGHTS);
    CHECK_EQ(info.type, ZX_OBJ_TYPE_VMO);
    /* Spec silent on actual/avail; Zircon counts records: one of each. */
    CHECK_EQ(actual, 1);
    CHECK_EQ(avail, 1);
    /* Needs no right. */
    zx_handle_t none = dup_with(h, ZX_RIGHT_NONE);
    memset(&info, 0, sizeof info);
    CHECK_STATUS(zx_object_get_info(none, ZX_INFO_HANDLE_BASIC, &info, sizeof info, &actual,
                                    &avail),
                 ZX_OK);
    CHECK_EQ(info.rights, ZX_RIGHT_NONE);
    CHECK_EQ(info.type, ZX_OBJ_TYPE_VMO);
    CHECK_EQ(info.koid, koid_of(h));
    zx_handle_close(none);
    /* A larger buffer is fine; a smaller one is BUFFER_TOO_SMALL. */
    unsigned char big[64];
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, big, sizeof big, &actual, &avail),
                 ZX_OK);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, big, sizeof info - 1, &actual,
                                    &avail),
                 ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, big, 0, &actual, &avail),
                 ZX_ERR_BUFFER_TOO_SMALL);
    /* NULL buffer with a big enough size: the only thing wrong. */
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, NULL, sizeof info, &actual, &avail),
                 ZX_ERR_INVALID_ARGS);
    /* Bad handles. */
    CHECK_STATUS(zx_object_get_info(ZX_HANDLE_INVALID, ZX_INFO_HANDLE_BASIC, &info, sizeof info,
                                    &actual, &avail),
                 ZX_ERR_BAD_HANDLE);
    /* The job handle: a handle of another type. */
    memset(&info, 0, sizeof info);
    CHECK_STATUS(zx_object_get_info(zx_job_default(), ZX_INFO_HANDLE_BASIC, &info, sizeof info,
                                    &actual, &avail),
                 ZX_OK);
    CHECK(info.type != ZX_OBJ_TYPE_VMO && info.type != ZX_OBJ_TYPE_VMAR &&
          info.type != ZX_OBJ_TYPE_PROCESS);
    CHECK(info.koid != 0);
    zx_handle_close(h);
}

static void test_vmo_versions(void) {
    zx_handle_t h = make(3 * PAGE, ZX_VMO_RESIZABLE);
    CHECK_STATUS(zx_object_set_property(h, ZX_PROP_NAME, "versions", 8), ZX_OK);
    CHECK_STATUS(vmo_fill(h, PAGE, 10, 'v'), ZX_OK);
    zx_koid_t k = koid_of(h);
    size_t actual, avail;

    unsigned char buf[160];
    /* V3: 128 bytes. */
    memset(buf, 0xEE, sizeof buf);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO, buf, sizeof buf, &actual, &avail), ZX_OK);
    zx_info_vmo_t v3;
    memcpy(&v3, buf, sizeof v3);
    CHECK_EQ(buf[128], 0xEE); /* nothing past the record */
    CHECK_EQ(v3.koid, k);
    CHECK(strcmp(v3.name, "versions") == 0);
    CHECK_EQ(v3.size_bytes, 3 * PAGE);
    CHECK_EQ(v3.parent_koid, 0);
    CHECK_EQ(v3.num_children, 0);
    CHECK(v3.flags & ZX_INFO_VMO_RESIZABLE);
    CHECK_EQ(v3.flags & ZX_INFO_VMO_IMMUTABLE, 0);
    CHECK_EQ(v3.committed_bytes, PAGE);
    CHECK_EQ(v3.populated_bytes, PAGE);
    CHECK_EQ(v3.handle_rights, ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_RESIZE);

    /* V1: 104 bytes, same fields. */
    memset(buf, 0xEE, sizeof buf);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO_V1, buf, sizeof buf, &actual, &avail), ZX_OK);
    zx_info_vmo_v1_t v1;
    memcpy(&v1, buf, sizeof v1);
    CHECK_EQ(buf[104], 0xEE);
    CHECK_EQ(buf[127], 0xEE);
    CHECK_EQ(v1.koid, k);
    CHECK(strcmp(v1.name, "versions") == 0);
    CHECK_EQ(v1.size_bytes, 3 * PAGE);
    CHECK_EQ(v1.parent_koid, 0);
    CHECK_EQ(v1.flags, v3.flags);
    CHECK_EQ(v1.committed_bytes, PAGE);
    CHECK_EQ(v1.handle_rights, v3.handle_rights);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO_V1, buf, 104, &actual, &avail), ZX_OK);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO_V1, buf, 103, &actual, &avail),
                 ZX_ERR_BUFFER_TOO_SMALL);

    /* V2: 120 bytes. */
    memset(buf, 0xEE, sizeof buf);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO_V2, buf, sizeof buf, &actual, &avail), ZX_OK);
    zx_info_vmo_v2_t v2;
    memcpy(&v2, buf, sizeof v2);
    CHECK_EQ(buf[120], 0xEE);
    CHECK_EQ(v2.koid, k);
    CHECK_EQ(v2.size_bytes, 3 * PAGE);
    CHECK_EQ(v2.committed_bytes, PAGE);
    CHECK_EQ(v2.handle_rights, v3.handle_rights);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO_V2, buf, 120, &actual, &avail), ZX_OK);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO_V2, buf, 119, &actual, &avail),
                 ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO, buf, 128, &actual, &avail), ZX_OK);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO, buf, 127, &actual, &avail),
                 ZX_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO, buf, 104, &actual, &avail),
                 ZX_ERR_BUFFER_TOO_SMALL);

    /* All three need INSPECT. */
    zx_handle_t no_inspect = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_INSPECT);
    CHECK_STATUS(zx_object_get_info(no_inspect, ZX_INFO_VMO, buf, sizeof buf, &actual, &avail),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_object_get_info(no_inspect, ZX_INFO_VMO_V1, buf, sizeof buf, &actual, &avail),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_object_get_info(no_inspect, ZX_INFO_VMO_V2, buf, sizeof buf, &actual, &avail),
                 ZX_ERR_ACCESS_DENIED);
    zx_handle_close(no_inspect);
    /* handle_rights are those of the handle asked. */
    zx_handle_t small = dup_with(h, ZX_RIGHT_INSPECT | ZX_RIGHT_READ);
    CHECK_EQ(vmo_info(small).handle_rights, ZX_RIGHT_INSPECT | ZX_RIGHT_READ);
    CHECK_EQ(vmo_info(small).koid, k);
    zx_handle_close(small);
    /* A VMO topic on a handle that is not a VMO. */
    CHECK_STATUS(zx_object_get_info(zx_job_default(), ZX_INFO_VMO, buf, sizeof buf, &actual,
                                    &avail),
                 ZX_ERR_WRONG_TYPE);
    /* NULL buffer alone. */
    CHECK_STATUS(zx_object_get_info(h, ZX_INFO_VMO, NULL, 128, &actual, &avail),
                 ZX_ERR_INVALID_ARGS);
    /* An unknown topic: spec silent on the code; it must fail. */
    CHECK(zx_object_get_info(h, 0x7777u, buf, sizeof buf, &actual, &avail) != ZX_OK);
    zx_handle_close(h);

    /* A non-resizable VMO has no RESIZABLE flag. */
    h = make(PAGE, 0);
    CHECK_EQ(vmo_info(h).flags & ZX_INFO_VMO_RESIZABLE, 0);
    zx_handle_close(h);
}

/* Section 4's accounting example, populated_bytes, num_children and parent_koid. */
static void test_accounting_fields(void) {
    zx_handle_t v = make(2 * PAGE, 0);
    CHECK_STATUS(vmo_fill(v, 0, 2 * PAGE, 'V'), ZX_OK);
    CHECK_EQ(vmo_info(v).committed_bytes, 2 * PAGE);
    zx_handle_t c = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE, &c), ZX_OK);
    zx_info_vmo_t vi = vmo_info(v), ci = vmo_info(c);
    CHECK_EQ(vi.committed_bytes, 2 * PAGE);
    CHECK_EQ(ci.committed_bytes, 0);
    CHECK_EQ(vi.populated_bytes, 2 * PAGE);
    CHECK_EQ(ci.populated_bytes, 2 * PAGE);
    CHECK_EQ(vi.num_children, 1);
    CHECK_EQ(ci.num_children, 0);
    CHECK_EQ(ci.parent_koid, vi.koid);
    CHECK_EQ(vi.parent_koid, 0);
    CHECK_STATUS(vmo_fill(v, 0, 1, 'W'), ZX_OK);
    CHECK_EQ(vmo_info(v).committed_bytes, 2 * PAGE);
    CHECK_EQ(vmo_info(c).committed_bytes, PAGE);
    CHECK_EQ(vmo_info(v).populated_bytes, 2 * PAGE);
    CHECK_EQ(vmo_info(c).populated_bytes, 2 * PAGE);
    CHECK_STATUS(vmo_fill(c, PAGE, 1, 'C'), ZX_OK);
    CHECK_EQ(vmo_info(v).committed_bytes, 2 * PAGE);
    CHECK_EQ(vmo_info(c).committed_bytes, 2 * PAGE);
    CHECK_EQ(vmo_info(c).populated_bytes, 2 * PAGE);
    /* The V1 and V2 records agree. */
    zx_info_vmo_v1_t v1;
    zx_info_vmo_v2_t v2;
    size_t a, b;
    CHECK_STATUS(zx_object_get_info(c, ZX_INFO_VMO_V1, &v1, sizeof v1, &a, &b), ZX_OK);
    CHECK_STATUS(zx_object_get_info(c, ZX_INFO_VMO_V2, &v2, sizeof v2, &a, &b), ZX_OK);
    CHECK_EQ(v1.committed_bytes, 2 * PAGE);
    CHECK_EQ(v2.committed_bytes, 2 * PAGE);
    CHECK_EQ(v1.parent_koid, vi.koid);
    CHECK_EQ(v2.num_children, 0);

    /* num_children counts live children of every kind. */
    zx_handle_t s = ZX_HANDLE_INVALID, l = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(v, ZX_VMO_CHILD_SLICE, 0, PAGE, &s), ZX_OK);
    CHECK_STATUS(zx_vmo_clone(v, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE, &l), ZX_OK);
    CHECK_EQ(vmo_info(v).num_children, 3);
    CHECK_EQ(vmo_info(s).parent_koid, vi.koid);
    CHECK_EQ(vmo_info(l).parent_koid, vi.koid);
    zx_handle_close(s);
    CHECK_EQ(vmo_info(v).num_children, 2);
    zx_handle_close(l);
    CHECK_EQ(vmo_info(v).num_children, 1);
    /* A duplicate handle is not a child. */
    zx_handle_t d = dup_with(c, ZX_RIGHT_SAME_RIGHTS);
    CHECK_EQ(vmo_info(v).num_children, 1);
    zx_handle_close(c);
    CHECK_EQ(vmo_info(v).num_children, 1); /* still alive through d */
    zx_handle_close(d);
    CHECK_EQ(vmo_info(v).num_children, 0);
    CHECK_EQ(vmo_info(v).committed_bytes, 2 * PAGE);
    zx_handle_close(v);
}

static void test_names(void) {
    zx_handle_t h = make(PAGE, 0);
    char name[ZX_MAX_NAME_LEN];
    memset(name, 0x55, sizeof name);
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK(memchr(name, 0, sizeof name) != NULL); /* NUL terminated */
    /* Set / get. */
    CHECK_STATUS(zx_object_set_property(h, ZX_PROP_NAME, "hello", 5), ZX_OK);
    memset(name, 0x55, sizeof name);
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK(strcmp(name, "hello") == 0);
    CHECK(strcmp(vmo_info(h).name, "hello") == 0);
    /* With its NUL. */
    CHECK_STATUS(zx_object_set_property(h, ZX_PROP_NAME, "nul", 4), ZX_OK);
    memset(name, 0x55, sizeof name);
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK(strcmp(name, "nul") == 0);
    /* The longest name: ZX_MAX_NAME_LEN - 1 characters. */
    const char longest[] = "0123456789abcdef0123456789abcde"; /* 31 */
    _Static_assert(sizeof longest == ZX_MAX_NAME_LEN, "31 chars + NUL");
    CHECK_STATUS(zx_object_set_property(h, ZX_PROP_NAME, longest, 31), ZX_OK);
    memset(name, 0x55, sizeof name);
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK(memcmp(name, longest, sizeof longest) == 0);
    CHECK(memcmp(vmo_info(h).name, longest, sizeof longest) == 0);
    /* Longer: spec silent; Zircon truncates to 31 characters. Either way the name stays a
     * NUL-terminated string of at most 31 characters. */
    const char too_long[] = "0123456789abcdef0123456789abcdefXYZ";
    zx_status_t st = zx_object_set_property(h, ZX_PROP_NAME, too_long, sizeof too_long - 1);
    CHECK_STATUS2(st, ZX_OK, ZX_ERR_INVALID_ARGS);
    memset(name, 0x55, sizeof name);
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK(memchr(name, 0, sizeof name) != NULL);
    if (st == ZX_OK) CHECK(memcmp(name, too_long, 31) == 0 && name[31] == 0);
    /* Empty name. */
    CHECK_STATUS(zx_object_set_property(h, ZX_PROP_NAME, "", 0), ZX_OK);
    memset(name, 0x55, sizeof name);
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK_EQ(name[0], 0);
    /* get needs a buffer of ZX_MAX_NAME_LEN (spec silent on the code; Zircon:
     * BUFFER_TOO_SMALL). */
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, name, ZX_MAX_NAME_LEN - 1),
                 ZX_ERR_BUFFER_TOO_SMALL);
    /* Rights. */
    CHECK_STATUS(zx_object_set_property(h, ZX_PROP_NAME, "r", 1), ZX_OK);
    zx_handle_t no_get = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_GET_PROPERTY);
    zx_handle_t no_set = dup_with(h, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_SET_PROPERTY);
    CHECK_STATUS(zx_object_get_property(no_get, ZX_PROP_NAME, name, sizeof name),
                 ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_object_set_property(no_set, ZX_PROP_NAME, "x", 1), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_object_set_property(no_get, ZX_PROP_NAME, "y", 1), ZX_OK);
    CHECK_STATUS(zx_object_get_property(no_set, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK(strcmp(name, "y") == 0);
    zx_handle_close(no_get);
    zx_handle_close(no_set);
    /* NULL value alone. */
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, NULL, ZX_MAX_NAME_LEN),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_object_set_property(h, ZX_PROP_NAME, NULL, 5), ZX_ERR_INVALID_ARGS);
    /* Unknown property: spec silent on the code; it must fail. */
    CHECK(zx_object_get_property(h, 0x7777u, name, sizeof name) != ZX_OK);
    /* Bad handle. */
    CHECK_STATUS(zx_object_get_property(ZX_HANDLE_INVALID, ZX_PROP_NAME, name, sizeof name),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_object_set_property(ZX_HANDLE_INVALID, ZX_PROP_NAME, "a", 1),
                 ZX_ERR_BAD_HANDLE);
    memset(name, 0x55, sizeof name);
    CHECK_STATUS(zx_object_get_property(h, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK(strcmp(name, "y") == 0);
    /* Names are per object: a duplicate handle sees the same name. */
    zx_handle_t d = dup_with(h, ZX_RIGHT_SAME_RIGHTS);
    CHECK_STATUS(zx_object_set_property(d, ZX_PROP_NAME, "shared", 6), ZX_OK);
    CHECK(strcmp(vmo_info(h).name, "shared") == 0);
    zx_handle_close(d);
    zx_handle_close(h);
}

int main(void) {
    test_handle_basic();
    test_vmo_versions();
    test_accounting_fields();
    test_names();
    return finish();
}
