/* Example: a file served lazily through a pager-backed VMO.
 *
 * The program writes a temporary file, then creates a pager, a port and a VMO whose pages the
 * pager supplies on demand (zx_pager_create_vmo). A pager thread waits on the port; for every
 * ZX_PAGER_VMO_READ request it pread()s the requested range of the file into an aux VMO and
 * moves those pages into the pager VMO with zx_pager_supply_pages. The main thread maps the VMO
 * and reads the file through the pointer: the first touch of each page blocks until the pager
 * thread has supplied it; later touches cost nothing. Closing the VMO sends
 * ZX_PAGER_VMO_COMPLETE, which ends the pager thread. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

enum { FILE_SIZE = 10 * 4096 + 123 };

/* What the pager thread needs, and what it reports. */
typedef struct {
    zx_handle_t pager, port, vmo;
    int fd;
    int requests_served;
    uint64_t bytes_served;
} file_pager_t;

/* Supplies [offset, offset + length) of the VMO with the same range of the file (zeros past
 * the file's end). */
static void supply_from_file(file_pager_t* fp, uint64_t offset, uint64_t length) {
    uint8_t* buf = calloc(1, length);
    zx_handle_t aux = ZX_HANDLE_INVALID;
    if (!CHECK(buf != NULL) || !CHECK_STATUS(zx_vmo_create(length, 0, &aux), ZX_OK)) {
        free(buf);
        return;
    }
    ssize_t got = pread(fp->fd, buf, length, (off_t)offset);
    CHECK(got >= 0);
    CHECK_STATUS(zx_vmo_write(aux, buf, 0, length), ZX_OK);
    /* The aux VMO's pages move into the pager VMO: no copy, and aux is left empty. */
    CHECK_STATUS(zx_pager_supply_pages(fp->pager, fp->vmo, offset, length, aux, 0), ZX_OK);
    zx_handle_close(aux);
    free(buf);
}

/* The pager thread: answers requests until the VMO is gone. */
static void* serve(void* arg) {
    file_pager_t* fp = arg;
    for (;;) {
        zx_port_packet_t packet;
        if (!CHECK_STATUS(zx_port_wait(fp->port, ZX_TIME_INFINITE, &packet), ZX_OK)) break;
        if (packet.type != ZX_PKT_TYPE_PAGE_REQUEST) continue;
        if (packet.page_request.command == ZX_PAGER_VMO_COMPLETE) break;
        supply_from_file(fp, packet.page_request.offset, packet.page_request.length);
        fp->requests_served++;
        fp->bytes_served += packet.page_request.length;
    }
    return NULL;
}

int main(void) {
    /* A file with recognisable content: "line 00000\nline 00001\n..." */
    static char content[FILE_SIZE];
    for (size_t i = 0; i < FILE_SIZE; i++) {
        char line[16];
        snprintf(line, sizeof line, "line %05zu\n", i / 11);
        content[i] = line[i % 11];
    }
    char path[] = "/tmp/pager_file_XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0)) return finish();
    CHECK(write(fd, content, FILE_SIZE) == FILE_SIZE);

    /* The pager, its port, and the VMO it backs (rounded up to whole pages). */
    file_pager_t fp = {ZX_HANDLE_INVALID, ZX_HANDLE_INVALID, ZX_HANDLE_INVALID, fd, 0, 0};
    CHECK_STATUS(zx_pager_create(0, &fp.pager), ZX_OK);
    CHECK_STATUS(zx_port_create(0, &fp.port), ZX_OK);
    CHECK_STATUS(zx_pager_create_vmo(fp.pager, 0, fp.port, /*key=*/1, FILE_SIZE, &fp.vmo), ZX_OK);
    pthread_t pager_thread;
    CHECK(pthread_create(&pager_thread, NULL, serve, &fp) == 0);

    /* Map the VMO and read the file through the pointer. */
    uint64_t vmo_size = 0;
    CHECK_STATUS(zx_vmo_get_size(fp.vmo, &vmo_size), ZX_OK);
    zx_vaddr_t addr = 0;
    CHECK_STATUS(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, fp.vmo, 0, vmo_size, &addr),
                 ZX_OK);
    const char* mapped = (const char*)addr;
    CHECK(memcmp(mapped, content, FILE_SIZE) == 0);
    /* Past the end of the file, the rest of the last page reads as zeros. */
    size_t nonzero = 0;
    for (uint64_t i = FILE_SIZE; i < vmo_size; i++) nonzero += mapped[i] != 0;
    CHECK_EQ(nonzero, 0);
    /* Pages already supplied are not asked for again: zx_vmo_read sees the same bytes. */
    char again[64];
    CHECK_STATUS(zx_vmo_read(fp.vmo, again, 5 * PAGE, sizeof again), ZX_OK);
    CHECK(memcmp(again, content + 5 * PAGE, sizeof again) == 0);

    /* Done: unmap and close the VMO; the pager thread gets ZX_PAGER_VMO_COMPLETE and ends. */
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), addr, vmo_size), ZX_OK);
    CHECK_STATUS(zx_handle_close(fp.vmo), ZX_OK);
    pthread_join(pager_thread, NULL);
    uint64_t pages = vmo_size / PAGE;
    printf("pager_file: %d bytes read through the mapping; %" PRIu64
           " pages touched, %d requests served (%" PRIu64 " bytes supplied)\n",
           FILE_SIZE, pages, fp.requests_served, fp.bytes_served);
    CHECK(fp.requests_served >= 1 && (uint64_t)fp.requests_served <= pages);
    CHECK_EQ(fp.bytes_served, vmo_size);

    zx_handle_close(fp.pager);
    zx_handle_close(fp.port);
    close(fd);
    unlink(path);
    return finish();
}
