/* The runtime's startup state (Zircon's <zircon/process.h>). */
#ifndef ZIRCON_PROCESS_H_
#define ZIRCON_PROCESS_H_

#include <stdint.h>

#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Takes the startup handle named `hnd_info` (a PA_HND() value of <zircon/processargs.h>); each
 * is returned once, then ZX_HANDLE_INVALID. A program starts with one: the root resource,
 * PA_HND(PA_RESOURCE, 0), which zx_iommu_create and zx_vmo_create_physical need. */
zx_handle_t zx_take_startup_handle(uint32_t hnd_info);

#ifdef __cplusplus
}
#endif

#endif /* ZIRCON_PROCESS_H_ */
