/* Startup handle types (Zircon's <zircon/processargs.h>): a handle a program receives at start
 * is named PA_HND(type, argument). Of these, the runtime gives a program exactly one:
 * PA_HND(PA_RESOURCE, 0), the root resource, taken with zx_take_startup_handle(). */
#ifndef ZIRCON_PROCESSARGS_H_
#define ZIRCON_PROCESSARGS_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PA_HND(type, arg) (((type) & 0xFFu) | (((arg) & 0xFFFFu) << 16))
#define PA_HND_TYPE(n) ((n) & 0xFFu)
#define PA_HND_ARG(n) (((n) >> 16) & 0xFFFFu)

#define PA_PROC_SELF   0x01u
#define PA_THREAD_SELF 0x02u
#define PA_JOB_DEFAULT 0x03u
#define PA_VMAR_ROOT   0x04u
#define PA_VMAR_LOADED 0x05u
#define PA_RESOURCE    0x3Fu
#define PA_USER0       0xF0u
#define PA_USER1       0xF1u
#define PA_USER2       0xF2u

#ifdef __cplusplus
}
#endif

#endif /* ZIRCON_PROCESSARGS_H_ */
