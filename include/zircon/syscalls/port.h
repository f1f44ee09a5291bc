/* Port packets and the constants of zx_port_create, zx_port_wait and zx_port_queue, and of the
 * page requests a pager-backed VMO sends to its port (see zx_pager_create_vmo). Values and
 * layout are Zircon's; on LP64 a zx_port_packet_t is 48 bytes: key @0, type @8, status @12,
 * and a 32-byte union @16. Of Zircon's union members, the guest (hypervisor) packets are left
 * out: nothing here queues them. */
#ifndef ZIRCON_SYSCALLS_PORT_H_
#define ZIRCON_SYSCALLS_PORT_H_

#include <stdint.h>

#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* zx_port_create options (accepted; no interrupt object exists here) */
#define ZX_PORT_BIND_TO_INTERRUPT   ((uint32_t)1u << 0)

/* zx_port_packet_t.type */
#define ZX_PKT_TYPE_USER            ((uint8_t)0x00u)
#define ZX_PKT_TYPE_SIGNAL_ONE      ((uint8_t)0x01u)
#define ZX_PKT_TYPE_INTERRUPT       ((uint8_t)0x07u)
#define ZX_PKT_TYPE_PAGE_REQUEST    ((uint8_t)0x09u)
#define ZX_PKT_TYPE_MASK            ((uint32_t)0x000000FFu)

#define ZX_PKT_IS_USER(type)          ((type) == ZX_PKT_TYPE_USER)
#define ZX_PKT_IS_SIGNAL_ONE(type)    ((type) == ZX_PKT_TYPE_SIGNAL_ONE)
#define ZX_PKT_IS_INTERRUPT(type)     ((type) == ZX_PKT_TYPE_INTERRUPT)
#define ZX_PKT_IS_PAGE_REQUEST(type)  ((type) == ZX_PKT_TYPE_PAGE_REQUEST)

/* zx_packet_page_request_t.command */
#define ZX_PAGER_VMO_READ           ((uint16_t)0)  /* supply [offset, offset + length) */
#define ZX_PAGER_VMO_COMPLETE       ((uint16_t)1)  /* no request for this VMO will follow */

/* ZX_PKT_TYPE_USER: the payload of zx_port_queue, as the sender wrote it. */
typedef union zx_packet_user {
    uint64_t u64[4];
    uint32_t u32[8];
    uint16_t u16[16];
    uint8_t c8[32];
} zx_packet_user_t;

/* ZX_PKT_TYPE_SIGNAL_ONE (zx_object_wait_async; not produced here). */
typedef struct zx_packet_signal {
    zx_signals_t trigger;
    zx_signals_t observed;
    uint64_t count;
    uint64_t timestamp;
    uint64_t reserved1;
} zx_packet_signal_t;

/* ZX_PKT_TYPE_INTERRUPT (not produced here). */
typedef struct zx_packet_interrupt {
    zx_time_t timestamp;
    uint64_t reserved0;
    uint64_t reserved1;
    uint64_t reserved2;
} zx_packet_interrupt_t;

/* ZX_PKT_TYPE_PAGE_REQUEST: offset and length are bytes of the pager-backed VMO, page aligned;
 * no flag is defined. */
typedef struct zx_packet_page_request {
    uint16_t command;         /* @0  */
    uint16_t flags;           /* @2  */
    uint32_t reserved0;       /* @4  */
    uint64_t offset;          /* @8  */
    uint64_t length;          /* @16 */
    uint64_t reserved1;       /* @24 */
} zx_packet_page_request_t;

typedef struct zx_port_packet {
    uint64_t key;             /* @0  */
    uint32_t type;            /* @8  */
    zx_status_t status;       /* @12 */
    union {                   /* @16 */
        zx_packet_user_t user;
        zx_packet_signal_t signal;
        zx_packet_interrupt_t interrupt;
        zx_packet_page_request_t page_request;
    };
} zx_port_packet_t;

#ifdef __cplusplus
}
#endif

#endif /* ZIRCON_SYSCALLS_PORT_H_ */
