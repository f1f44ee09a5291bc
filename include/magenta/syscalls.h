/* The Magenta generation (mx_ names), spec/zircon.md section 5: the same types and numbers as
 * the Zircon ones under the MX_ spelling. Self-contained; may be included together with
 * <zircon/syscalls.h> in the same translation unit. */
#ifndef MAGENTA_SYSCALLS_H_
#define MAGENTA_SYSCALLS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t mx_status_t;
typedef uint32_t mx_handle_t;
typedef uint32_t mx_rights_t;

#define MX_HANDLE_INVALID       ((mx_handle_t)0)

/* Status codes */
#define MX_OK                   (0)
#define MX_ERR_INTERNAL         (-1)
#define MX_ERR_NOT_SUPPORTED    (-2)
#define MX_ERR_NO_RESOURCES     (-3)
#define MX_ERR_NO_MEMORY        (-4)
#define MX_ERR_INVALID_ARGS     (-10)
#define MX_ERR_BAD_HANDLE       (-11)
#define MX_ERR_WRONG_TYPE       (-12)
#define MX_ERR_BAD_SYSCALL      (-13)
#define MX_ERR_OUT_OF_RANGE     (-14)
#define MX_ERR_BUFFER_TOO_SMALL (-15)
#define MX_ERR_BAD_STATE        (-20)
#define MX_ERR_TIMED_OUT        (-21)
#define MX_ERR_SHOULD_WAIT      (-22)
#define MX_ERR_CANCELED        (-23) /* a wait whose handle was closed (Zircon's value) */
#define MX_ERR_NOT_FOUND        (-25)
#define MX_ERR_ALREADY_EXISTS   (-26)
#define MX_ERR_UNAVAILABLE      (-28)
#define MX_ERR_ACCESS_DENIED    (-30)

/* Rights */
#define MX_RIGHT_NONE           ((mx_rights_t)0u)
#define MX_RIGHT_DUPLICATE      ((mx_rights_t)1u << 0)
#define MX_RIGHT_TRANSFER       ((mx_rights_t)1u << 1)
#define MX_RIGHT_READ           ((mx_rights_t)1u << 2)
#define MX_RIGHT_WRITE          ((mx_rights_t)1u << 3)
#define MX_RIGHT_EXECUTE        ((mx_rights_t)1u << 4)
#define MX_RIGHT_MAP            ((mx_rights_t)1u << 5)
#define MX_RIGHT_GET_PROPERTY   ((mx_rights_t)1u << 6)
#define MX_RIGHT_SET_PROPERTY   ((mx_rights_t)1u << 7)
#define MX_RIGHT_ENUMERATE      ((mx_rights_t)1u << 8)
#define MX_RIGHT_DESTROY        ((mx_rights_t)1u << 9)
#define MX_RIGHT_SIGNAL         ((mx_rights_t)1u << 12)
#define MX_RIGHT_WAIT           ((mx_rights_t)1u << 14)
#define MX_RIGHT_INSPECT        ((mx_rights_t)1u << 15)
#define MX_RIGHT_RESIZE         ((mx_rights_t)1u << 22)
#define MX_RIGHT_SAME_RIGHTS    ((mx_rights_t)1u << 31)

/* mx_vmo_clone options */
#define MX_VMO_CLONE_COPY_ON_WRITE ((uint32_t)1u << 0)

/* mx_vmo_op_range operations */
#define MX_VMO_OP_COMMIT                 1u
#define MX_VMO_OP_DECOMMIT               2u
#define MX_VMO_OP_LOCK                   3u
#define MX_VMO_OP_UNLOCK                 4u
#define MX_VMO_OP_LOOKUP                 5u
#define MX_VMO_OP_CACHE_SYNC             6u
#define MX_VMO_OP_CACHE_INVALIDATE       7u
#define MX_VMO_OP_CACHE_CLEAN            8u
#define MX_VMO_OP_CACHE_CLEAN_INVALIDATE 9u
#define MX_VMO_OP_ZERO                   10u
#define MX_VMO_OP_TRY_LOCK               11u
#define MX_VMO_OP_DONT_NEED              12u
#define MX_VMO_OP_ALWAYS_NEED            13u

/* VMOs created here are resizable; their handles get rights bits 0..7 plus MX_RIGHT_RESIZE. */
mx_status_t mx_vmo_create(uint64_t size, uint32_t options, mx_handle_t* out);
mx_status_t mx_vmo_read(mx_handle_t handle, void* data, uint64_t offset, size_t len,
                        size_t* actual);
mx_status_t mx_vmo_write(mx_handle_t handle, const void* data, uint64_t offset, size_t len,
                         size_t* actual);
mx_status_t mx_vmo_get_size(mx_handle_t handle, uint64_t* size);
mx_status_t mx_vmo_set_size(mx_handle_t handle, uint64_t size);
mx_status_t mx_vmo_op_range(mx_handle_t handle, uint32_t op, uint64_t offset, uint64_t size,
                            void* buffer, size_t buffer_size);
mx_status_t mx_vmo_clone(mx_handle_t handle, uint32_t options, uint64_t offset, uint64_t size,
                         mx_handle_t* out);
mx_status_t mx_handle_close(mx_handle_t handle);
mx_status_t mx_handle_duplicate(mx_handle_t handle, mx_rights_t rights, mx_handle_t* out);

#ifdef __cplusplus
}
#endif

#endif /* MAGENTA_SYSCALLS_H_ */
