/* The Jinue personality (spec/jinue.md): function numbers, protection flags, descriptor
 * permissions, error numbers, the raw system call entry point and the library functions. */
#ifndef JINUE_JINUE_H_
#define JINUE_JINUE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Function numbers (arg0 on entry). Any other number -> JINUE_ENOSYS. */
#define JINUE_SYS_MMAP              13
#define JINUE_SYS_CREATE_PROCESS    14
#define JINUE_SYS_MCLONE            15
#define JINUE_SYS_DUP               16
#define JINUE_SYS_CLOSE             17
#define JINUE_SYS_DESTROY           18
#define JINUE_SYS_MINT              19

/* Shorter spellings of the same numbers. */
#define JINUE_MMAP                  JINUE_SYS_MMAP
#define JINUE_CREATE_PROCESS        JINUE_SYS_CREATE_PROCESS
#define JINUE_MCLONE                JINUE_SYS_MCLONE
#define JINUE_DUP                   JINUE_SYS_DUP
#define JINUE_CLOSE                 JINUE_SYS_CLOSE
#define JINUE_DESTROY               JINUE_SYS_DESTROY
#define JINUE_MINT                  JINUE_SYS_MINT

/* Protection flags (jinue_mclone_args_t.prot) */
#define JINUE_PROT_NONE             0
#define JINUE_PROT_READ             1
#define JINUE_PROT_WRITE            2
#define JINUE_PROT_EXEC             4

/* Descriptor permissions */
#define JINUE_PERM_SEND             (1 << 0)
#define JINUE_PERM_RECEIVE          (1 << 1)
#define JINUE_PERM_MAP              (1 << 2)
#define JINUE_PERM_OPEN             (1 << 3)
#define JINUE_PERM_CREATE_THREAD    (1 << 4)
#define JINUE_PERM_START            (1 << 5)
#define JINUE_PERM_AWAIT            (1 << 6)

/* Error numbers (arg1 when arg0 is -1 on return; stored through perrno) */
#define JINUE_ENOMEM                1
#define JINUE_ENOSYS                2
#define JINUE_EINVAL                3
#define JINUE_EAGAIN                4
#define JINUE_EBADF                 5
#define JINUE_EIO                   6
#define JINUE_EPERM                 7
#define JINUE_E2BIG                 8
#define JINUE_ENOMSG                9
#define JINUE_ENOTSUP               10

/* Descriptors */
#define JINUE_DESC_SELF_PROCESS     0   /* the calling process, all permissions */
#define JINUE_DESC_NUM              12  /* descriptors per process */

typedef struct { uintptr_t arg0, arg1, arg2, arg3; } jinue_syscall_args_t;

typedef struct { void *src_addr; void *dest_addr; size_t length; int prot; } jinue_mclone_args_t;

typedef struct { int process; int fd; int perms; uintptr_t cookie; } jinue_mint_args_t;

/* Raw entry point: registers in, registers out, in place. On return arg0 is 0 (or the result)
 * on success; on failure arg0 is (uintptr_t)-1 and arg1 holds the error number. */
void jinue_syscall(jinue_syscall_args_t *args);

/* Each returns 0 on success, or -1 and stores the error number through perrno when it is not
 * NULL. */
int jinue_create_process(int fd, int *perrno);
int jinue_mclone(int src, int dest, void *src_addr, void *dest_addr, size_t length, int prot, int *perrno);
int jinue_dup(int process, int src, int dest, int *perrno);
int jinue_close(int fd, int *perrno);
int jinue_destroy(int fd, int *perrno);
int jinue_mint(int owner, int process, int fd, int perms, uintptr_t cookie, int *perrno);

#ifdef __cplusplus
}
#endif

#endif /* JINUE_JINUE_H_ */
