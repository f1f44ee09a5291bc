/* zx_object_get_info topics and structs. Values and layouts: spec/zircon.md section 1. */
#ifndef ZIRCON_SYSCALLS_OBJECT_H_
#define ZIRCON_SYSCALLS_OBJECT_H_

#include <stdint.h>
#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t zx_object_info_topic_t;

#define ZX_INFO_HANDLE_BASIC    ((zx_object_info_topic_t)2u)
#define ZX_INFO_VMAR            ((zx_object_info_topic_t)7u)
#define ZX_INFO_VMO_V1          ((zx_object_info_topic_t)23u)
#define ZX_INFO_VMO_V2          ((zx_object_info_topic_t)0x10000017u)
#define ZX_INFO_VMO             ((zx_object_info_topic_t)0x20000017u)

/* ZX_INFO_VMAR (needs INSPECT): where a VMAR lies. LP64: 16 bytes. */
typedef struct zx_info_vmar {
    uintptr_t base;           /* @0 */
    size_t len;               /* @8 */
} zx_info_vmar_t;

/* ZX_INFO_HANDLE_BASIC (needs no right). LP64: 32 bytes. */
typedef struct zx_info_handle_basic {
    zx_koid_t koid;           /* @0  */
    zx_rights_t rights;       /* @8  */
    zx_obj_type_t type;       /* @12 */
    zx_koid_t related_koid;   /* @16 */
    uint32_t reserved;        /* @24 */
    uint8_t padding1[4];      /* @28 */
} zx_info_handle_basic_t;

/* zx_info_vmo_t.flags */
#define ZX_INFO_VMO_TYPE_PAGED      ((uint32_t)1u << 0)
#define ZX_INFO_VMO_RESIZABLE       ((uint32_t)1u << 1)
#define ZX_INFO_VMO_IS_COW_CLONE    ((uint32_t)1u << 2)
#define ZX_INFO_VMO_VIA_HANDLE      ((uint32_t)1u << 3)
#define ZX_INFO_VMO_VIA_MAPPING     ((uint32_t)1u << 4)
#define ZX_INFO_VMO_PAGER_BACKED    ((uint32_t)1u << 5)
#define ZX_INFO_VMO_CONTIGUOUS      ((uint32_t)1u << 6)
#define ZX_INFO_VMO_IMMUTABLE       ((uint32_t)1u << 8)

/* ZX_INFO_VMO (version 3; needs INSPECT). LP64: 128 bytes. */
typedef struct zx_info_vmo {
    zx_koid_t koid;                    /* @0   */
    char name[ZX_MAX_NAME_LEN];        /* @8   */
    uint64_t size_bytes;               /* @40  */
    zx_koid_t parent_koid;             /* @48  */
    uint64_t num_children;             /* @56  */
    uint64_t num_mappings;             /* @64  */
    uint64_t share_count;              /* @72  */
    uint32_t flags;                    /* @80  */
    uint8_t padding1[4];               /* @84  */
    uint64_t committed_bytes;          /* @88  */
    zx_rights_t handle_rights;         /* @96  */
    uint32_t cache_policy;             /* @100 (ZX_INFO_VMO_V1 ends: 104) */
    uint64_t metadata_bytes;           /* @104 */
    uint64_t committed_change_events;  /* @112 (ZX_INFO_VMO_V2 ends: 120) */
    uint64_t populated_bytes;          /* @120 (ZX_INFO_VMO ends: 128) */
} zx_info_vmo_t;

/* The same record as returned for ZX_INFO_VMO_V1 (104 bytes). */
typedef struct zx_info_vmo_v1 {
    zx_koid_t koid;
    char name[ZX_MAX_NAME_LEN];
    uint64_t size_bytes;
    zx_koid_t parent_koid;
    uint64_t num_children;
    uint64_t num_mappings;
    uint64_t share_count;
    uint32_t flags;
    uint8_t padding1[4];
    uint64_t committed_bytes;
    zx_rights_t handle_rights;
    uint32_t cache_policy;
} zx_info_vmo_v1_t;

/* The same record as returned for ZX_INFO_VMO_V2 (120 bytes). */
typedef struct zx_info_vmo_v2 {
    zx_koid_t koid;
    char name[ZX_MAX_NAME_LEN];
    uint64_t size_bytes;
    zx_koid_t parent_koid;
    uint64_t num_children;
    uint64_t num_mappings;
    uint64_t share_count;
    uint32_t flags;
    uint8_t padding1[4];
    uint64_t committed_bytes;
    zx_rights_t handle_rights;
    uint32_t cache_policy;
    uint64_t metadata_bytes;
    uint64_t committed_change_events;
} zx_info_vmo_v2_t;

#ifdef __cplusplus
}
#endif

#endif /* ZIRCON_SYSCALLS_OBJECT_H_ */
