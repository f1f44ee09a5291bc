/* Basic Zircon types and constants. Values: spec/zircon.md section 1.
 * The info topics and structs (zx_info_handle_basic_t, zx_info_vmo_t, ZX_INFO_*)
 * are defined in <zircon/syscalls/object.h>, which this header includes. */
#ifndef ZIRCON_TYPES_H_
#define ZIRCON_TYPES_H_

#include <stddef.h>
#include <stdint.h>

#include <zircon/errors.h>
#include <zircon/rights.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t zx_status_t;
typedef uint32_t zx_handle_t;
typedef uint64_t zx_koid_t;
typedef uint32_t zx_signals_t;
typedef int64_t zx_time_t;
typedef int64_t zx_duration_t;
typedef uintptr_t zx_vaddr_t;
typedef uintptr_t zx_paddr_t;
typedef uint64_t zx_off_t;
typedef uint32_t zx_obj_type_t;
typedef uint32_t zx_vm_option_t;

#define ZX_HANDLE_INVALID       ((zx_handle_t)0)

#define ZX_TIME_INFINITE        ((zx_time_t)INT64_MAX)
#define ZX_TIME_INFINITE_PAST   ((zx_time_t)INT64_MIN)

/* zx_vmo_create options */
#define ZX_VMO_RESIZABLE        ((uint32_t)1u << 1)

/* zx_vmo_create_child options */
#define ZX_VMO_CHILD_SNAPSHOT                   ((uint32_t)1u << 0)
#define ZX_VMO_CHILD_RESIZABLE                  ((uint32_t)1u << 2)
#define ZX_VMO_CHILD_SLICE                      ((uint32_t)1u << 3)
#define ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE ((uint32_t)1u << 4)
#define ZX_VMO_CHILD_COPY_ON_WRITE              ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE
#define ZX_VMO_CHILD_PRIVATE_PAGER_COPY         ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE
#define ZX_VMO_CHILD_NO_WRITE                   ((uint32_t)1u << 5)

/* zx_vmo_clone options (earlier generation) */
#define ZX_VMO_CLONE_COPY_ON_WRITE  ((uint32_t)1u << 0)
#define ZX_VMO_CLONE_NON_RESIZEABLE ((uint32_t)1u << 1)

/* zx_vmo_op_range operations */
#define ZX_VMO_OP_COMMIT                 1u
#define ZX_VMO_OP_DECOMMIT               2u
#define ZX_VMO_OP_LOCK                   3u
#define ZX_VMO_OP_UNLOCK                 4u
#define ZX_VMO_OP_LOOKUP                 5u
#define ZX_VMO_OP_CACHE_SYNC             6u
#define ZX_VMO_OP_CACHE_INVALIDATE       7u
#define ZX_VMO_OP_CACHE_CLEAN            8u
#define ZX_VMO_OP_CACHE_CLEAN_INVALIDATE 9u
#define ZX_VMO_OP_ZERO                   10u
#define ZX_VMO_OP_TRY_LOCK               11u
#define ZX_VMO_OP_DONT_NEED              12u
#define ZX_VMO_OP_ALWAYS_NEED            13u

/* Signals */
#define ZX_VMO_ZERO_CHILDREN    ((zx_signals_t)1u << 3)
#define ZX_USER_SIGNAL_0        ((zx_signals_t)1u << 24)
#define ZX_USER_SIGNAL_1        ((zx_signals_t)1u << 25)
#define ZX_USER_SIGNAL_2        ((zx_signals_t)1u << 26)
#define ZX_USER_SIGNAL_3        ((zx_signals_t)1u << 27)
#define ZX_USER_SIGNAL_4        ((zx_signals_t)1u << 28)
#define ZX_USER_SIGNAL_5        ((zx_signals_t)1u << 29)
#define ZX_USER_SIGNAL_6        ((zx_signals_t)1u << 30)
#define ZX_USER_SIGNAL_7        ((zx_signals_t)1u << 31)

/* Object types */
#define ZX_OBJ_TYPE_PROCESS     ((zx_obj_type_t)1u)
#define ZX_OBJ_TYPE_VMO         ((zx_obj_type_t)3u)
#define ZX_OBJ_TYPE_PORT        ((zx_obj_type_t)6u)
#define ZX_OBJ_TYPE_PAGER       ((zx_obj_type_t)28u)
#define ZX_OBJ_TYPE_VMAR        ((zx_obj_type_t)18u)
#define ZX_OBJ_TYPE_RESOURCE    ((zx_obj_type_t)15u)
#define ZX_OBJ_TYPE_IOMMU       ((zx_obj_type_t)23u)
#define ZX_OBJ_TYPE_BTI         ((zx_obj_type_t)24u)
#define ZX_OBJ_TYPE_PMT         ((zx_obj_type_t)26u)

/* zx_bti_pin options: device permissions, then the layout of the address list */
#define ZX_BTI_PERM_READ        ((uint32_t)1u << 0)
#define ZX_BTI_PERM_WRITE       ((uint32_t)1u << 1)
#define ZX_BTI_PERM_EXECUTE     ((uint32_t)1u << 2)
#define ZX_BTI_COMPRESS         ((uint32_t)1u << 3)
#define ZX_BTI_CONTIGUOUS       ((uint32_t)1u << 4)

/* zx_info_vmo_t.cache_policy (physical VMOs start uncached) */
#define ZX_CACHE_POLICY_CACHED          ((uint32_t)0u)
#define ZX_CACHE_POLICY_UNCACHED        ((uint32_t)1u)
#define ZX_CACHE_POLICY_UNCACHED_DEVICE ((uint32_t)2u)
#define ZX_CACHE_POLICY_WRITE_COMBINING ((uint32_t)3u)

/* Properties */
#define ZX_PROP_NAME            3u
#define ZX_MAX_NAME_LEN         ((size_t)32u)

/* Address-space (VMAR) options */
#define ZX_VM_PERM_READ             ((zx_vm_option_t)1u << 0)
#define ZX_VM_PERM_WRITE            ((zx_vm_option_t)1u << 1)
#define ZX_VM_PERM_EXECUTE          ((zx_vm_option_t)1u << 2)
#define ZX_VM_SPECIFIC              ((zx_vm_option_t)1u << 4)
#define ZX_VM_SPECIFIC_OVERWRITE    ((zx_vm_option_t)1u << 5)
#define ZX_VM_CAN_MAP_SPECIFIC      ((zx_vm_option_t)1u << 6)
#define ZX_VM_CAN_MAP_READ          ((zx_vm_option_t)1u << 7)
#define ZX_VM_CAN_MAP_WRITE         ((zx_vm_option_t)1u << 8)
#define ZX_VM_CAN_MAP_EXECUTE       ((zx_vm_option_t)1u << 9)
#define ZX_VM_MAP_RANGE             ((zx_vm_option_t)1u << 10)
#define ZX_VM_REQUIRE_NON_RESIZABLE ((zx_vm_option_t)1u << 11)
#define ZX_VM_COMPACT               ((zx_vm_option_t)1u << 3)
/* Base alignment of a placement: n << ZX_VM_ALIGN_BASE asks for 2^n bytes (n in 10..32). */
#define ZX_VM_ALIGN_BASE            24
#define ZX_VM_ALIGN_1KB             ((zx_vm_option_t)10u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_2KB             ((zx_vm_option_t)11u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_4KB             ((zx_vm_option_t)12u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_8KB             ((zx_vm_option_t)13u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_16KB            ((zx_vm_option_t)14u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_32KB            ((zx_vm_option_t)15u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_64KB            ((zx_vm_option_t)16u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_128KB           ((zx_vm_option_t)17u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_256KB           ((zx_vm_option_t)18u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_512KB           ((zx_vm_option_t)19u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_1MB             ((zx_vm_option_t)20u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_2MB             ((zx_vm_option_t)21u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_4MB             ((zx_vm_option_t)22u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_8MB             ((zx_vm_option_t)23u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_16MB            ((zx_vm_option_t)24u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_32MB            ((zx_vm_option_t)25u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_64MB            ((zx_vm_option_t)26u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_128MB           ((zx_vm_option_t)27u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_256MB           ((zx_vm_option_t)28u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_512MB           ((zx_vm_option_t)29u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_1GB             ((zx_vm_option_t)30u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_2GB             ((zx_vm_option_t)31u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_4GB             ((zx_vm_option_t)32u << ZX_VM_ALIGN_BASE)

#ifdef __cplusplus
}
#endif

/* Info topics and structs; placed after every type above, so that this works
 * whichever of the two headers is included first. */
#include <zircon/syscalls/object.h>

#endif /* ZIRCON_TYPES_H_ */
