/* Resource kinds (Zircon's <zircon/syscalls/resource.h>). The runtime hands each program one
 * resource, the root resource (see <zircon/process.h>), which stands in for every kind. */
#ifndef ZIRCON_SYSCALLS_RESOURCE_H_
#define ZIRCON_SYSCALLS_RESOURCE_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t zx_rsrc_kind_t;
#define ZX_RSRC_KIND_MMIO       ((zx_rsrc_kind_t)0u)
#define ZX_RSRC_KIND_IRQ        ((zx_rsrc_kind_t)1u)
#define ZX_RSRC_KIND_IOPORT     ((zx_rsrc_kind_t)2u)
#define ZX_RSRC_KIND_HYPERVISOR ((zx_rsrc_kind_t)3u)
#define ZX_RSRC_KIND_ROOT       ((zx_rsrc_kind_t)4u)

#ifdef __cplusplus
}
#endif

#endif /* ZIRCON_SYSCALLS_RESOURCE_H_ */
