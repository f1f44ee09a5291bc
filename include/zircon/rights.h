/* Handle rights (zx_rights_t). Values: spec/zircon.md section 1. */
#ifndef ZIRCON_RIGHTS_H_
#define ZIRCON_RIGHTS_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t zx_rights_t;

#define ZX_RIGHT_NONE           ((zx_rights_t)0u)
#define ZX_RIGHT_DUPLICATE      ((zx_rights_t)1u << 0)
#define ZX_RIGHT_TRANSFER       ((zx_rights_t)1u << 1)
#define ZX_RIGHT_READ           ((zx_rights_t)1u << 2)
#define ZX_RIGHT_WRITE          ((zx_rights_t)1u << 3)
#define ZX_RIGHT_EXECUTE        ((zx_rights_t)1u << 4)
#define ZX_RIGHT_MAP            ((zx_rights_t)1u << 5)
#define ZX_RIGHT_GET_PROPERTY   ((zx_rights_t)1u << 6)
#define ZX_RIGHT_SET_PROPERTY   ((zx_rights_t)1u << 7)
#define ZX_RIGHT_ENUMERATE      ((zx_rights_t)1u << 8)
#define ZX_RIGHT_DESTROY        ((zx_rights_t)1u << 9)
#define ZX_RIGHT_SIGNAL         ((zx_rights_t)1u << 12)
#define ZX_RIGHT_WAIT           ((zx_rights_t)1u << 14)
#define ZX_RIGHT_INSPECT        ((zx_rights_t)1u << 15)
#define ZX_RIGHT_RESIZE         ((zx_rights_t)1u << 22)
#define ZX_RIGHT_SAME_RIGHTS    ((zx_rights_t)1u << 31)

/* Rights of a handle returned by zx_vmo_create (0xD0FF; the spec's Decision):
 * the eight rights of seed 003 plus SIGNAL, WAIT and INSPECT. A resizable VMO's
 * handle additionally carries ZX_RIGHT_RESIZE. */
#define ZX_DEFAULT_VMO_RIGHTS                                                  \
    (ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER | ZX_RIGHT_READ | ZX_RIGHT_WRITE | \
     ZX_RIGHT_EXECUTE | ZX_RIGHT_MAP | ZX_RIGHT_GET_PROPERTY |                 \
     ZX_RIGHT_SET_PROPERTY | ZX_RIGHT_SIGNAL | ZX_RIGHT_WAIT | ZX_RIGHT_INSPECT)

/* Rights of a handle returned by zx_port_create (Zircon's: no WAIT; a port is read with
 * zx_port_wait, which needs READ, and written with zx_port_queue, which needs WRITE). */
#define ZX_DEFAULT_PORT_RIGHTS                                                 \
    (ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER | ZX_RIGHT_READ | ZX_RIGHT_WRITE | \
     ZX_RIGHT_INSPECT)

/* Rights of a handle returned by zx_pager_create (Zircon's: no DUPLICATE, no WAIT). */
#define ZX_DEFAULT_PAGER_RIGHTS \
    (ZX_RIGHT_INSPECT | ZX_RIGHT_GET_PROPERTY | ZX_RIGHT_SET_PROPERTY | ZX_RIGHT_TRANSFER)

/* Rights of the device-memory objects' handles, as in Zircon. */
#define ZX_DEFAULT_RESOURCE_RIGHTS \
    (ZX_RIGHT_TRANSFER | ZX_RIGHT_DUPLICATE | ZX_RIGHT_WRITE | ZX_RIGHT_INSPECT)
#define ZX_DEFAULT_IOMMU_RIGHTS (ZX_RIGHT_TRANSFER | ZX_RIGHT_DUPLICATE | ZX_RIGHT_INSPECT)
#define ZX_DEFAULT_BTI_RIGHTS                                                    \
    (ZX_RIGHT_TRANSFER | ZX_RIGHT_DUPLICATE | ZX_RIGHT_INSPECT | ZX_RIGHT_READ | \
     ZX_RIGHT_WRITE | ZX_RIGHT_GET_PROPERTY | ZX_RIGHT_SET_PROPERTY | ZX_RIGHT_MAP)
#define ZX_DEFAULT_PMT_RIGHTS (ZX_RIGHT_INSPECT)

#ifdef __cplusplus
}
#endif

#endif /* ZIRCON_RIGHTS_H_ */
