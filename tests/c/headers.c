/* Compile-time checks of the C headers under include/ against spec/zircon.md and spec/jinue.md.
 * Run by .ci/run:  cc -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I include tests/c/headers.c
 * HEADERS_ORDER (0..12) selects which header comes first, so that every header is shown to be
 * self-contained and every inclusion order to be free of duplicate definitions. */
#ifndef HEADERS_ORDER
#define HEADERS_ORDER 0
#endif

#if HEADERS_ORDER == 0
#include <zircon/syscalls.h>
#include <magenta/syscalls.h>
#include <jinue/jinue.h>
#elif HEADERS_ORDER == 1
#include <magenta/syscalls.h>
_Static_assert(MX_OK == 0, "magenta alone");
#include <zircon/syscalls.h>
#elif HEADERS_ORDER == 2
#include <zircon/syscalls/object.h>
_Static_assert(sizeof(zx_info_vmo_t) == 128, "object.h alone");
_Static_assert(ZX_VMO_CHILD_SLICE == 8u, "object.h brings types.h");
#include <zircon/types.h>
#elif HEADERS_ORDER == 3
#include <zircon/types.h>
_Static_assert(ZX_INFO_VMO == 0x20000017u, "types.h brings object.h");
_Static_assert(sizeof(zx_info_handle_basic_t) == 32, "types.h alone");
#include <zircon/syscalls/object.h>
#elif HEADERS_ORDER == 4
#include <zircon/errors.h>
_Static_assert(ZX_ERR_ACCESS_DENIED == -30, "errors.h alone");
#elif HEADERS_ORDER == 5
#include <zircon/rights.h>
_Static_assert(ZX_DEFAULT_VMO_RIGHTS == 0xD0FFu, "rights.h alone");
#elif HEADERS_ORDER == 6
#include <jinue/jinue.h>
_Static_assert(JINUE_SYS_MCLONE == 15, "jinue.h alone");
#elif HEADERS_ORDER == 7
#include <zircon/rights.h>
#include <zircon/errors.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls.h>
#elif HEADERS_ORDER == 8
#include <jinue/jinue.h>
#include <magenta/syscalls.h>
#include <zircon/syscalls/object.h>
#include <zircon/rights.h>
#elif HEADERS_ORDER == 9
#include <zircon/process.h>
_Static_assert(ZX_HANDLE_INVALID == 0, "process.h alone brings types.h");
#elif HEADERS_ORDER == 10
#include <zircon/processargs.h>
_Static_assert(PA_HND(PA_RESOURCE, 0) == 0x3Fu, "processargs.h alone");
#elif HEADERS_ORDER == 11
#include <zircon/syscalls/iommu.h>
_Static_assert(sizeof(zx_iommu_desc_dummy_t) == 1, "iommu.h alone");
#elif HEADERS_ORDER == 12
#include <zircon/syscalls/resource.h>
_Static_assert(ZX_RSRC_KIND_ROOT == 4u, "resource.h alone");
#include <zircon/process.h>
#include <zircon/syscalls.h>
#else
#error "unknown HEADERS_ORDER"
#endif

/* Everything, in every case (include guards make the repeats no-ops). */
#include <zircon/types.h>
#include <zircon/errors.h>
#include <zircon/rights.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls.h>
#include <magenta/syscalls.h>
#include <jinue/jinue.h>
#include <zircon/process.h>
#include <zircon/processargs.h>
#include <zircon/syscalls/iommu.h>
#include <zircon/syscalls/resource.h>

#include <stddef.h>
#include <stdint.h>

#define SA(cond) _Static_assert(cond, #cond)
#define SAME_TYPE(T, U) _Generic((T){0}, U: 1, default: 0)

/* ---- Types ---- */
SA(SAME_TYPE(zx_status_t, int32_t));
SA(SAME_TYPE(zx_handle_t, uint32_t));
SA(SAME_TYPE(zx_rights_t, uint32_t));
SA(SAME_TYPE(zx_koid_t, uint64_t));
SA(SAME_TYPE(zx_signals_t, uint32_t));
SA(SAME_TYPE(zx_time_t, int64_t));
SA(SAME_TYPE(zx_duration_t, int64_t));
SA(SAME_TYPE(zx_vaddr_t, uintptr_t));
SA(SAME_TYPE(zx_paddr_t, uintptr_t));
SA(SAME_TYPE(zx_off_t, uint64_t));
SA(SAME_TYPE(zx_obj_type_t, uint32_t));
SA(SAME_TYPE(zx_vm_option_t, uint32_t));
SA(SAME_TYPE(mx_status_t, int32_t));
SA(SAME_TYPE(mx_handle_t, uint32_t));
SA(SAME_TYPE(mx_rights_t, uint32_t));

/* ---- Status codes ---- */
SA(ZX_OK == 0);
SA(ZX_ERR_INTERNAL == -1);
SA(ZX_ERR_NOT_SUPPORTED == -2);
SA(ZX_ERR_NO_RESOURCES == -3);
SA(ZX_ERR_NO_MEMORY == -4);
SA(ZX_ERR_INVALID_ARGS == -10);
SA(ZX_ERR_BAD_HANDLE == -11);
SA(ZX_ERR_WRONG_TYPE == -12);
SA(ZX_ERR_BAD_SYSCALL == -13);
SA(ZX_ERR_OUT_OF_RANGE == -14);
SA(ZX_ERR_BUFFER_TOO_SMALL == -15);
SA(ZX_ERR_BAD_STATE == -20);
SA(ZX_ERR_TIMED_OUT == -21);
SA(ZX_ERR_SHOULD_WAIT == -22);
SA(ZX_ERR_CANCELED == -23);
SA(ZX_ERR_NOT_FOUND == -25);
SA(ZX_ERR_ALREADY_EXISTS == -26);
SA(ZX_ERR_UNAVAILABLE == -28);
SA(ZX_ERR_ACCESS_DENIED == -30);

SA(MX_OK == 0);
SA(MX_ERR_INTERNAL == -1);
SA(MX_ERR_NOT_SUPPORTED == -2);
SA(MX_ERR_NO_RESOURCES == -3);
SA(MX_ERR_NO_MEMORY == -4);
SA(MX_ERR_INVALID_ARGS == -10);
SA(MX_ERR_BAD_HANDLE == -11);
SA(MX_ERR_WRONG_TYPE == -12);
SA(MX_ERR_BAD_SYSCALL == -13);
SA(MX_ERR_OUT_OF_RANGE == -14);
SA(MX_ERR_BUFFER_TOO_SMALL == -15);
SA(MX_ERR_BAD_STATE == -20);
SA(MX_ERR_TIMED_OUT == -21);
SA(MX_ERR_SHOULD_WAIT == -22);
SA(MX_ERR_CANCELED == -23);
SA(MX_ERR_NOT_FOUND == -25);
SA(MX_ERR_ALREADY_EXISTS == -26);
SA(MX_ERR_UNAVAILABLE == -28);
SA(MX_ERR_ACCESS_DENIED == -30);

/* ---- Rights ---- */
SA(ZX_RIGHT_DUPLICATE == 0x1u);
SA(ZX_RIGHT_TRANSFER == 0x2u);
SA(ZX_RIGHT_READ == 0x4u);
SA(ZX_RIGHT_WRITE == 0x8u);
SA(ZX_RIGHT_EXECUTE == 0x10u);
SA(ZX_RIGHT_MAP == 0x20u);
SA(ZX_RIGHT_GET_PROPERTY == 0x40u);
SA(ZX_RIGHT_SET_PROPERTY == 0x80u);
SA(ZX_RIGHT_ENUMERATE == 0x100u);
SA(ZX_RIGHT_DESTROY == 0x200u);
SA(ZX_RIGHT_SIGNAL == 0x1000u);
SA(ZX_RIGHT_WAIT == 0x4000u);
SA(ZX_RIGHT_INSPECT == 0x8000u);
SA(ZX_RIGHT_RESIZE == 0x400000u);
SA(ZX_RIGHT_SAME_RIGHTS == 0x80000000u);
SA(ZX_DEFAULT_VMO_RIGHTS == 0xD0FFu);

SA(MX_RIGHT_DUPLICATE == 0x1u);
SA(MX_RIGHT_TRANSFER == 0x2u);
SA(MX_RIGHT_READ == 0x4u);
SA(MX_RIGHT_WRITE == 0x8u);
SA(MX_RIGHT_EXECUTE == 0x10u);
SA(MX_RIGHT_MAP == 0x20u);
SA(MX_RIGHT_GET_PROPERTY == 0x40u);
SA(MX_RIGHT_SET_PROPERTY == 0x80u);
SA(MX_RIGHT_ENUMERATE == 0x100u);
SA(MX_RIGHT_DESTROY == 0x200u);
SA(MX_RIGHT_SIGNAL == 0x1000u);
SA(MX_RIGHT_WAIT == 0x4000u);
SA(MX_RIGHT_INSPECT == 0x8000u);
SA(MX_RIGHT_RESIZE == 0x400000u);
SA(MX_RIGHT_SAME_RIGHTS == 0x80000000u);

/* ---- VMO options ---- */
SA(ZX_VMO_RESIZABLE == 0x2u);
SA(ZX_VMO_CHILD_SNAPSHOT == 0x1u);
SA(ZX_VMO_CHILD_RESIZABLE == 0x4u);
SA(ZX_VMO_CHILD_SLICE == 0x8u);
SA(ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE == 0x10u);
SA(ZX_VMO_CHILD_COPY_ON_WRITE == 0x10u);
SA(ZX_VMO_CHILD_PRIVATE_PAGER_COPY == 0x10u);
SA(ZX_VMO_CHILD_NO_WRITE == 0x20u);
SA(ZX_VMO_CLONE_COPY_ON_WRITE == 0x1u);
SA(ZX_VMO_CLONE_NON_RESIZEABLE == 0x2u);
SA(MX_VMO_CLONE_COPY_ON_WRITE == 0x1u);

/* ---- VMO ops ---- */
SA(ZX_VMO_OP_COMMIT == 1);
SA(ZX_VMO_OP_DECOMMIT == 2);
SA(ZX_VMO_OP_LOCK == 3);
SA(ZX_VMO_OP_UNLOCK == 4);
SA(ZX_VMO_OP_LOOKUP == 5);
SA(ZX_VMO_OP_CACHE_SYNC == 6);
SA(ZX_VMO_OP_CACHE_INVALIDATE == 7);
SA(ZX_VMO_OP_CACHE_CLEAN == 8);
SA(ZX_VMO_OP_CACHE_CLEAN_INVALIDATE == 9);
SA(ZX_VMO_OP_ZERO == 10);
SA(ZX_VMO_OP_TRY_LOCK == 11);
SA(ZX_VMO_OP_DONT_NEED == 12);
SA(ZX_VMO_OP_ALWAYS_NEED == 13);

SA(MX_VMO_OP_COMMIT == 1);
SA(MX_VMO_OP_DECOMMIT == 2);
SA(MX_VMO_OP_LOCK == 3);
SA(MX_VMO_OP_UNLOCK == 4);
SA(MX_VMO_OP_LOOKUP == 5);
SA(MX_VMO_OP_CACHE_SYNC == 6);
SA(MX_VMO_OP_CACHE_INVALIDATE == 7);
SA(MX_VMO_OP_CACHE_CLEAN == 8);
SA(MX_VMO_OP_CACHE_CLEAN_INVALIDATE == 9);
SA(MX_VMO_OP_ZERO == 10);
SA(MX_VMO_OP_TRY_LOCK == 11);
SA(MX_VMO_OP_DONT_NEED == 12);
SA(MX_VMO_OP_ALWAYS_NEED == 13);

/* ---- Signals ---- */
SA(ZX_VMO_ZERO_CHILDREN == 0x8u);
SA(ZX_USER_SIGNAL_0 == 0x01000000u);
SA(ZX_USER_SIGNAL_1 == 0x02000000u);
SA(ZX_USER_SIGNAL_2 == 0x04000000u);
SA(ZX_USER_SIGNAL_3 == 0x08000000u);
SA(ZX_USER_SIGNAL_4 == 0x10000000u);
SA(ZX_USER_SIGNAL_5 == 0x20000000u);
SA(ZX_USER_SIGNAL_6 == 0x40000000u);
SA(ZX_USER_SIGNAL_7 == 0x80000000u);

/* ---- Handles, time, object types, properties ---- */
SA(ZX_HANDLE_INVALID == 0);
SA(MX_HANDLE_INVALID == 0);
SA(ZX_TIME_INFINITE == INT64_MAX);
SA(ZX_TIME_INFINITE_PAST == INT64_MIN);
SA(ZX_OBJ_TYPE_PROCESS == 1);
SA(ZX_OBJ_TYPE_VMO == 3);
SA(ZX_OBJ_TYPE_VMAR == 18);
SA(ZX_PROP_NAME == 3);
SA(ZX_MAX_NAME_LEN == 32);

/* ---- Info topics and VMO info flags ---- */
SA(ZX_INFO_HANDLE_BASIC == 2);
SA(ZX_INFO_VMAR == 7);
SA(ZX_INFO_VMO_V1 == 23);
SA(ZX_INFO_VMO_V2 == 0x10000017u);
SA(ZX_INFO_VMO == 0x20000017u);
SA(ZX_INFO_VMO_TYPE_PAGED == 0x1u);
SA(ZX_INFO_VMO_RESIZABLE == 0x2u);
SA(ZX_INFO_VMO_IS_COW_CLONE == 0x4u);
SA(ZX_INFO_VMO_VIA_HANDLE == 0x8u);
SA(ZX_INFO_VMO_VIA_MAPPING == 0x10u);
SA(ZX_INFO_VMO_PAGER_BACKED == 0x20u);
SA(ZX_INFO_VMO_CONTIGUOUS == 0x40u);
SA(ZX_INFO_VMO_IMMUTABLE == 0x100u);

/* ---- VMAR options ---- */
SA(ZX_VM_PERM_READ == 0x1u);
SA(ZX_VM_PERM_WRITE == 0x2u);
SA(ZX_VM_PERM_EXECUTE == 0x4u);
SA(ZX_VM_SPECIFIC == 0x10u);
SA(ZX_VM_SPECIFIC_OVERWRITE == 0x20u);
SA(ZX_VM_CAN_MAP_SPECIFIC == 0x40u);
SA(ZX_VM_CAN_MAP_READ == 0x80u);
SA(ZX_VM_CAN_MAP_WRITE == 0x100u);
SA(ZX_VM_CAN_MAP_EXECUTE == 0x200u);
SA(ZX_VM_MAP_RANGE == 0x400u);
SA(ZX_VM_REQUIRE_NON_RESIZABLE == 0x800u);

/* ---- zx_info_handle_basic_t ---- */
SA(offsetof(zx_info_handle_basic_t, koid) == 0);
SA(offsetof(zx_info_handle_basic_t, rights) == 8);
SA(offsetof(zx_info_handle_basic_t, type) == 12);
SA(offsetof(zx_info_handle_basic_t, related_koid) == 16);
SA(offsetof(zx_info_handle_basic_t, reserved) == 24);
SA(sizeof(zx_info_handle_basic_t) == 32);
SA(sizeof(zx_info_vmar_t) == 16);
SA(offsetof(zx_info_vmar_t, len) == 8);

/* ---- zx_info_vmo_t (LP64) ---- */
SA(offsetof(zx_info_vmo_t, koid) == 0);
SA(offsetof(zx_info_vmo_t, name) == 8);
SA(sizeof(((zx_info_vmo_t*)0)->name) == 32);
SA(offsetof(zx_info_vmo_t, size_bytes) == 40);
SA(offsetof(zx_info_vmo_t, parent_koid) == 48);
SA(offsetof(zx_info_vmo_t, num_children) == 56);
SA(offsetof(zx_info_vmo_t, num_mappings) == 64);
SA(offsetof(zx_info_vmo_t, share_count) == 72);
SA(offsetof(zx_info_vmo_t, flags) == 80);
SA(offsetof(zx_info_vmo_t, padding1) == 84);
SA(offsetof(zx_info_vmo_t, committed_bytes) == 88);
SA(offsetof(zx_info_vmo_t, handle_rights) == 96);
SA(offsetof(zx_info_vmo_t, cache_policy) == 100);
SA(offsetof(zx_info_vmo_t, cache_policy) + sizeof(uint32_t) == 104); /* V1 ends */
SA(offsetof(zx_info_vmo_t, metadata_bytes) == 104);
SA(offsetof(zx_info_vmo_t, committed_change_events) == 112);
SA(offsetof(zx_info_vmo_t, committed_change_events) + sizeof(uint64_t) == 120); /* V2 ends */
SA(offsetof(zx_info_vmo_t, populated_bytes) == 120);
SA(sizeof(zx_info_vmo_t) == 128); /* V3 ends */
SA(sizeof(zx_info_vmo_v1_t) == 104);
SA(sizeof(zx_info_vmo_v2_t) == 120);
SA(offsetof(zx_info_vmo_v1_t, cache_policy) == 100);
SA(offsetof(zx_info_vmo_v2_t, committed_change_events) == 112);
SA(sizeof(((zx_info_vmo_t*)0)->num_children) == 8);
SA(sizeof(((zx_info_vmo_t*)0)->flags) == 4);
SA(sizeof(((zx_info_vmo_t*)0)->handle_rights) == 4);

/* ---- Pagers and ports (<zircon/syscalls/port.h>) ---- */
SA(ZX_OBJ_TYPE_PORT == 6);
SA(ZX_OBJ_TYPE_PAGER == 28);
SA(ZX_DEFAULT_PORT_RIGHTS == 0x800Fu);
SA(ZX_DEFAULT_PAGER_RIGHTS == 0x80C2u);
SA(ZX_PORT_BIND_TO_INTERRUPT == 1u);
SA(ZX_PKT_TYPE_USER == 0);
SA(ZX_PKT_TYPE_SIGNAL_ONE == 1);
SA(ZX_PKT_TYPE_INTERRUPT == 7);
SA(ZX_PKT_TYPE_PAGE_REQUEST == 9);
SA(ZX_PAGER_VMO_READ == 0);
SA(ZX_PAGER_VMO_COMPLETE == 1);
SA(sizeof(zx_packet_user_t) == 32);
SA(sizeof(zx_packet_signal_t) == 32);
SA(sizeof(zx_packet_interrupt_t) == 32);
SA(sizeof(zx_packet_page_request_t) == 32);
SA(offsetof(zx_packet_page_request_t, command) == 0);
SA(offsetof(zx_packet_page_request_t, flags) == 2);
SA(offsetof(zx_packet_page_request_t, reserved0) == 4);
SA(offsetof(zx_packet_page_request_t, offset) == 8);
SA(offsetof(zx_packet_page_request_t, length) == 16);
SA(offsetof(zx_packet_page_request_t, reserved1) == 24);
SA(offsetof(zx_port_packet_t, key) == 0);
SA(offsetof(zx_port_packet_t, type) == 8);
SA(offsetof(zx_port_packet_t, status) == 12);
SA(offsetof(zx_port_packet_t, user) == 16);
SA(offsetof(zx_port_packet_t, page_request) == 16);
SA(sizeof(zx_port_packet_t) == 48);

/* ---- Jinue ---- */
SA(JINUE_SYS_MMAP == 13);
SA(JINUE_SYS_CREATE_PROCESS == 14);
SA(JINUE_SYS_MCLONE == 15);
SA(JINUE_SYS_DUP == 16);
SA(JINUE_SYS_CLOSE == 17);
SA(JINUE_SYS_DESTROY == 18);
SA(JINUE_SYS_MINT == 19);
SA(JINUE_MMAP == 13);
SA(JINUE_CREATE_PROCESS == 14);
SA(JINUE_MCLONE == 15);
SA(JINUE_DUP == 16);
SA(JINUE_CLOSE == 17);
SA(JINUE_DESTROY == 18);
SA(JINUE_MINT == 19);
SA(JINUE_PROT_NONE == 0);
SA(JINUE_PROT_READ == 1);
SA(JINUE_PROT_WRITE == 2);
SA(JINUE_PROT_EXEC == 4);
SA(JINUE_PERM_SEND == 1);
SA(JINUE_PERM_RECEIVE == 2);
SA(JINUE_PERM_MAP == 4);
SA(JINUE_PERM_OPEN == 8);
SA(JINUE_PERM_CREATE_THREAD == 16);
SA(JINUE_PERM_START == 32);
SA(JINUE_PERM_AWAIT == 64);
SA(JINUE_ENOMEM == 1);
SA(JINUE_ENOSYS == 2);
SA(JINUE_EINVAL == 3);
SA(JINUE_EAGAIN == 4);
SA(JINUE_EBADF == 5);
SA(JINUE_EIO == 6);
SA(JINUE_EPERM == 7);
SA(JINUE_E2BIG == 8);
SA(JINUE_ENOMSG == 9);
SA(JINUE_ENOTSUP == 10);
SA(JINUE_DESC_SELF_PROCESS == 0);
SA(JINUE_DESC_NUM >= 12);
SA(JINUE_DESC_NUM == 12);

SA(offsetof(jinue_syscall_args_t, arg0) == 0);
SA(offsetof(jinue_syscall_args_t, arg1) == sizeof(uintptr_t));
SA(offsetof(jinue_syscall_args_t, arg2) == 2 * sizeof(uintptr_t));
SA(offsetof(jinue_syscall_args_t, arg3) == 3 * sizeof(uintptr_t));
SA(sizeof(jinue_syscall_args_t) == 4 * sizeof(uintptr_t));
SA(sizeof(((jinue_syscall_args_t*)0)->arg0) == sizeof(void*));

SA(offsetof(jinue_mclone_args_t, src_addr) == 0);
SA(offsetof(jinue_mclone_args_t, dest_addr) == sizeof(void*));
SA(offsetof(jinue_mclone_args_t, length) == 2 * sizeof(void*));
SA(offsetof(jinue_mclone_args_t, prot) == 2 * sizeof(void*) + sizeof(size_t));
SA(sizeof(((jinue_mclone_args_t*)0)->prot) == sizeof(int));

SA(offsetof(jinue_mint_args_t, process) == 0);
SA(offsetof(jinue_mint_args_t, fd) == sizeof(int));
SA(offsetof(jinue_mint_args_t, perms) == 2 * sizeof(int));
SA(sizeof(((jinue_mint_args_t*)0)->cookie) == sizeof(uintptr_t));

#if UINTPTR_MAX == UINT64_MAX
SA(sizeof(jinue_syscall_args_t) == 32);
SA(sizeof(jinue_mclone_args_t) == 32);
SA(offsetof(jinue_mclone_args_t, prot) == 24);
SA(offsetof(jinue_mint_args_t, cookie) == 16);
SA(sizeof(jinue_mint_args_t) == 24);
#endif

/* ---- Device memory: BTIs, IOMMUs, pinned memory, resources, startup handles ---- */
SA(ZX_OBJ_TYPE_RESOURCE == 15);
SA(ZX_OBJ_TYPE_IOMMU == 23);
SA(ZX_OBJ_TYPE_BTI == 24);
SA(ZX_OBJ_TYPE_PMT == 26);
SA(ZX_BTI_PERM_READ == 0x1u);
SA(ZX_BTI_PERM_WRITE == 0x2u);
SA(ZX_BTI_PERM_EXECUTE == 0x4u);
SA(ZX_BTI_COMPRESS == 0x8u);
SA(ZX_BTI_CONTIGUOUS == 0x10u);
SA(ZX_CACHE_POLICY_CACHED == 0);
SA(ZX_CACHE_POLICY_UNCACHED == 1);
SA(ZX_IOMMU_MAX_DESC_LEN == 4096);
SA(ZX_IOMMU_TYPE_DUMMY == 0);
SA(ZX_IOMMU_TYPE_INTEL == 1);
SA(sizeof(zx_iommu_desc_dummy_t) == 1);
SA(ZX_RSRC_KIND_MMIO == 0);
SA(ZX_RSRC_KIND_ROOT == 4);
SA(SAME_TYPE(zx_rsrc_kind_t, uint32_t));
SA(PA_RESOURCE == 0x3Fu);
SA(PA_HND(PA_RESOURCE, 0) == 0x3Fu);
SA(PA_HND(PA_USER0, 7) == 0x700F0u);
SA(PA_HND_TYPE(PA_HND(PA_RESOURCE, 3)) == PA_RESOURCE);
SA(PA_HND_ARG(PA_HND(PA_RESOURCE, 3)) == 3);
SA(ZX_DEFAULT_RESOURCE_RIGHTS == 0x800Bu);
SA(ZX_DEFAULT_IOMMU_RIGHTS == 0x8003u);
SA(ZX_DEFAULT_BTI_RIGHTS == 0x80EFu);
SA(ZX_DEFAULT_PMT_RIGHTS == 0x8000u);

/* ---- Function signatures: each declaration must have exactly these types. ---- */
static zx_status_t (*const p_vmo_create)(uint64_t, uint32_t, zx_handle_t*) = zx_vmo_create;
static zx_status_t (*const p_vmo_read)(zx_handle_t, void*, uint64_t, size_t) = zx_vmo_read;
static zx_status_t (*const p_vmo_write)(zx_handle_t, const void*, uint64_t, size_t) = zx_vmo_write;
static zx_status_t (*const p_vmo_get_size)(zx_handle_t, uint64_t*) = zx_vmo_get_size;
static zx_status_t (*const p_vmo_set_size)(zx_handle_t, uint64_t) = zx_vmo_set_size;
static zx_status_t (*const p_vmo_op_range)(zx_handle_t, uint32_t, uint64_t, uint64_t, void*,
                                           size_t) = zx_vmo_op_range;
static zx_status_t (*const p_vmo_create_child)(zx_handle_t, uint32_t, uint64_t, uint64_t,
                                               zx_handle_t*) = zx_vmo_create_child;
static zx_status_t (*const p_vmo_clone)(zx_handle_t, uint32_t, uint64_t, uint64_t,
                                        zx_handle_t*) = zx_vmo_clone;
static zx_status_t (*const p_handle_close)(zx_handle_t) = zx_handle_close;
static zx_status_t (*const p_handle_duplicate)(zx_handle_t, zx_rights_t, zx_handle_t*) =
    zx_handle_duplicate;
static zx_status_t (*const p_handle_replace)(zx_handle_t, zx_rights_t, zx_handle_t*) =
    zx_handle_replace;
static zx_status_t (*const p_object_get_info)(zx_handle_t, uint32_t, void*, size_t, size_t*,
                                              size_t*) = zx_object_get_info;
static zx_status_t (*const p_object_get_property)(zx_handle_t, uint32_t, void*, size_t) =
    zx_object_get_property;
static zx_status_t (*const p_object_set_property)(zx_handle_t, uint32_t, const void*, size_t) =
    zx_object_set_property;
static zx_status_t (*const p_object_signal)(zx_handle_t, uint32_t, uint32_t) = zx_object_signal;
static zx_status_t (*const p_object_wait_one)(zx_handle_t, zx_signals_t, zx_time_t,
                                              zx_signals_t*) = zx_object_wait_one;
static zx_time_t (*const p_clock_get_monotonic)(void) = zx_clock_get_monotonic;
static zx_time_t (*const p_deadline_after)(zx_duration_t) = zx_deadline_after;
static zx_handle_t (*const p_vmar_root_self)(void) = zx_vmar_root_self;
static zx_status_t (*const p_vmar_map)(zx_handle_t, zx_vm_option_t, size_t, zx_handle_t,
                                       uint64_t, size_t, zx_vaddr_t*) = zx_vmar_map;
static zx_status_t (*const p_vmar_unmap)(zx_handle_t, zx_vaddr_t, size_t) = zx_vmar_unmap;
static zx_status_t (*const p_vmar_protect)(zx_handle_t, zx_vm_option_t, zx_vaddr_t, size_t) =
    zx_vmar_protect;
static zx_status_t (*const p_vmar_allocate)(zx_handle_t, zx_vm_option_t, size_t, size_t,
                                            zx_handle_t*, zx_vaddr_t*) = zx_vmar_allocate;
static zx_status_t (*const p_vmar_destroy)(zx_handle_t) = zx_vmar_destroy;
static zx_handle_t (*const p_job_default)(void) = zx_job_default;
static zx_status_t (*const p_process_create)(zx_handle_t, const char*, size_t, uint32_t,
                                             zx_handle_t*, zx_handle_t*) = zx_process_create;
static zx_status_t (*const p_process_read_memory)(zx_handle_t, zx_vaddr_t, void*, size_t,
                                                  size_t*) = zx_process_read_memory;
static zx_status_t (*const p_process_write_memory)(zx_handle_t, zx_vaddr_t, const void*, size_t,
                                                   size_t*) = zx_process_write_memory;
static zx_status_t (*const p_pager_create)(uint32_t, zx_handle_t*) = zx_pager_create;
static zx_status_t (*const p_pager_create_vmo)(zx_handle_t, uint32_t, zx_handle_t, uint64_t,
                                               uint64_t, zx_handle_t*) = zx_pager_create_vmo;
static zx_status_t (*const p_pager_detach_vmo)(zx_handle_t, zx_handle_t) = zx_pager_detach_vmo;
static zx_status_t (*const p_pager_supply_pages)(zx_handle_t, zx_handle_t, uint64_t, uint64_t,
                                                 zx_handle_t, uint64_t) = zx_pager_supply_pages;
static zx_status_t (*const p_port_create)(uint32_t, zx_handle_t*) = zx_port_create;
static zx_status_t (*const p_port_wait)(zx_handle_t, zx_time_t, zx_port_packet_t*) = zx_port_wait;
static zx_status_t (*const p_port_queue)(zx_handle_t, const zx_port_packet_t*) = zx_port_queue;

static mx_status_t (*const p_mx_vmo_create)(uint64_t, uint32_t, mx_handle_t*) = mx_vmo_create;
static mx_status_t (*const p_mx_vmo_read)(mx_handle_t, void*, uint64_t, size_t, size_t*) =
    mx_vmo_read;
static mx_status_t (*const p_mx_vmo_write)(mx_handle_t, const void*, uint64_t, size_t,
                                           size_t*) = mx_vmo_write;
static mx_status_t (*const p_mx_vmo_get_size)(mx_handle_t, uint64_t*) = mx_vmo_get_size;
static mx_status_t (*const p_mx_vmo_set_size)(mx_handle_t, uint64_t) = mx_vmo_set_size;
static mx_status_t (*const p_mx_vmo_op_range)(mx_handle_t, uint32_t, uint64_t, uint64_t, void*,
                                              size_t) = mx_vmo_op_range;
static mx_status_t (*const p_mx_vmo_clone)(mx_handle_t, uint32_t, uint64_t, uint64_t,
                                           mx_handle_t*) = mx_vmo_clone;
static mx_status_t (*const p_mx_handle_close)(mx_handle_t) = mx_handle_close;
static mx_status_t (*const p_mx_handle_duplicate)(mx_handle_t, mx_rights_t, mx_handle_t*) =
    mx_handle_duplicate;

static void (*const p_jinue_syscall)(jinue_syscall_args_t*) = jinue_syscall;
static int (*const p_jinue_create_process)(int, int*) = jinue_create_process;
static int (*const p_jinue_mclone)(int, int, void*, void*, size_t, int, int*) = jinue_mclone;
static int (*const p_jinue_dup)(int, int, int, int*) = jinue_dup;
static int (*const p_jinue_close)(int, int*) = jinue_close;
static int (*const p_jinue_destroy)(int, int*) = jinue_destroy;
static int (*const p_jinue_mint)(int, int, int, int, uintptr_t, int*) = jinue_mint;

static zx_status_t (*const p_iommu_create)(zx_handle_t, uint32_t, const void*, size_t,
                                           zx_handle_t*) = zx_iommu_create;
static zx_status_t (*const p_bti_create)(zx_handle_t, uint32_t, uint64_t, zx_handle_t*) =
    zx_bti_create;
static zx_status_t (*const p_bti_pin)(zx_handle_t, uint32_t, zx_handle_t, uint64_t, uint64_t,
                                      zx_paddr_t*, size_t, zx_handle_t*) = zx_bti_pin;
static zx_status_t (*const p_bti_release_quarantine)(zx_handle_t) = zx_bti_release_quarantine;
static zx_status_t (*const p_pmt_unpin)(zx_handle_t) = zx_pmt_unpin;
static zx_status_t (*const p_vmo_create_contiguous)(zx_handle_t, size_t, uint32_t,
                                                    zx_handle_t*) = zx_vmo_create_contiguous;
static zx_status_t (*const p_vmo_create_physical)(zx_handle_t, zx_paddr_t, size_t,
                                                  zx_handle_t*) = zx_vmo_create_physical;
static zx_handle_t (*const p_take_startup_handle)(uint32_t) = zx_take_startup_handle;

int main(void) {
    /* Reference every pointer so -Wunused does not fire; nothing is called. */
    const void* volatile sink[] = {
        (const void*)&p_vmo_create, (const void*)&p_vmo_read, (const void*)&p_vmo_write,
        (const void*)&p_vmo_get_size, (const void*)&p_vmo_set_size,
        (const void*)&p_vmo_op_range, (const void*)&p_vmo_create_child,
        (const void*)&p_vmo_clone, (const void*)&p_handle_close,
        (const void*)&p_handle_duplicate, (const void*)&p_handle_replace,
        (const void*)&p_object_get_info, (const void*)&p_object_get_property,
        (const void*)&p_object_set_property, (const void*)&p_object_signal,
        (const void*)&p_object_wait_one, (const void*)&p_clock_get_monotonic,
        (const void*)&p_deadline_after, (const void*)&p_vmar_root_self,
        (const void*)&p_vmar_map, (const void*)&p_vmar_unmap, (const void*)&p_vmar_protect,
        (const void*)&p_vmar_allocate, (const void*)&p_vmar_destroy,
        (const void*)&p_job_default, (const void*)&p_process_create,
        (const void*)&p_process_read_memory, (const void*)&p_process_write_memory,
        (const void*)&p_mx_vmo_create, (const void*)&p_mx_vmo_read,
        (const void*)&p_mx_vmo_write, (const void*)&p_mx_vmo_get_size,
        (const void*)&p_mx_vmo_set_size, (const void*)&p_mx_vmo_op_range,
        (const void*)&p_mx_vmo_clone, (const void*)&p_mx_handle_close,
        (const void*)&p_mx_handle_duplicate, (const void*)&p_jinue_syscall,
        (const void*)&p_jinue_create_process, (const void*)&p_jinue_mclone,
        (const void*)&p_jinue_dup, (const void*)&p_jinue_close, (const void*)&p_jinue_destroy,
        (const void*)&p_jinue_mint,
    };
    (void)sink;
    const void* volatile pager_sink[] = {
        (const void*)&p_pager_create, (const void*)&p_pager_create_vmo,
        (const void*)&p_pager_detach_vmo, (const void*)&p_pager_supply_pages,
        (const void*)&p_port_create, (const void*)&p_port_wait, (const void*)&p_port_queue,
    };
    (void)pager_sink;
    const void* volatile device_sink[] = {
        (const void*)&p_iommu_create, (const void*)&p_bti_create, (const void*)&p_bti_pin,
        (const void*)&p_bti_release_quarantine, (const void*)&p_pmt_unpin,
        (const void*)&p_vmo_create_contiguous, (const void*)&p_vmo_create_physical,
        (const void*)&p_take_startup_handle,
    };
    (void)device_sink;
    return 0;
}
