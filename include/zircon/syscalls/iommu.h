/* zx_iommu_create types and descriptors (Zircon's <zircon/syscalls/iommu.h>). Only the dummy
 * IOMMU exists here: no translation, device addresses are physical addresses. */
#ifndef ZIRCON_SYSCALLS_IOMMU_H_
#define ZIRCON_SYSCALLS_IOMMU_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest descriptor zx_iommu_create accepts. */
#define ZX_IOMMU_MAX_DESC_LEN 4096

/* Values of zx_iommu_create's `type`. INTEL is refused with ZX_ERR_NOT_SUPPORTED here. */
#define ZX_IOMMU_TYPE_DUMMY 0
#define ZX_IOMMU_TYPE_INTEL 1

/* The descriptor of a dummy IOMMU: desc_size must be sizeof(zx_iommu_desc_dummy_t). */
typedef struct zx_iommu_desc_dummy {
    uint8_t reserved;
} zx_iommu_desc_dummy_t;

#ifdef __cplusplus
}
#endif

#endif /* ZIRCON_SYSCALLS_IOMMU_H_ */
