/* User pagers and ports: zx_pager_create, zx_pager_create_vmo, zx_pager_supply_pages,
 * zx_pager_detach_vmo, zx_port_create, zx_port_wait and zx_port_queue, as Zircon documents them
 * (docs/reference/syscalls/pager_*.md, port_*.md) and as its pager tests exercise them.
 *
 * A pager-backed VMO starts with no page: whatever needs a page (zx_vmo_read, zx_vmo_write,
 * COMMIT, LOOKUP, an access through a mapping, in the VMO or in a clone of it) sends a
 * ZX_PAGER_VMO_READ request to the port and blocks until another thread supplies the page. Here
 * the main thread plays the pager: worker threads touch pages, the main thread checks the
 * requests it receives (exactly one per missing run), supplies pages and checks the workers'
 * results. Every wait is bounded: a worker still blocked after 10 s fails the program. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define SECOND ((zx_duration_t)1000000000)
#define MS ((zx_duration_t)1000000)

/* The content the pager serves: every byte of page `p` is pattern(p). */
static uint8_t pattern(uint64_t page) { return (uint8_t)(0x30 + page); }

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Supplies pages [first, first + count) of `vmo` with pattern(), through a fresh aux VMO. */
static zx_status_t supply(zx_handle_t pager, zx_handle_t vmo, uint64_t first, uint64_t count) {
    zx_handle_t aux = ZX_HANDLE_INVALID;
    zx_status_t st = zx_vmo_create(count * PAGE, 0, &aux);
    if (st != ZX_OK) return st;
    for (uint64_t i = 0; i < count && st == ZX_OK; i++)
        st = vmo_fill(aux, i * PAGE, PAGE, pattern(first + i));
    if (st == ZX_OK) st = zx_pager_supply_pages(pager, vmo, first * PAGE, count * PAGE, aux, 0);
    zx_handle_close(aux);
    return st;
}

/* The next packet must be a page request with these fields (within 5 s). */
static int expect_request(zx_handle_t port, uint64_t key, uint16_t command, uint64_t offset,
                          uint64_t length) {
    zx_port_packet_t packet;
    memset(&packet, 0xAB, sizeof packet);
    if (!CHECK_STATUS(zx_port_wait(port, zx_deadline_after(5 * SECOND), &packet), ZX_OK))
        return 0;
    int ok = CHECK_EQ(packet.type, ZX_PKT_TYPE_PAGE_REQUEST);
    ok &= CHECK_EQ(packet.key, key);
    ok &= CHECK_EQ(packet.status, ZX_OK);
    ok &= CHECK_EQ(packet.page_request.command, command);
    ok &= CHECK_EQ(packet.page_request.flags, 0);
    ok &= CHECK_EQ(packet.page_request.offset, offset);
    ok &= CHECK_EQ(packet.page_request.length, length);
    return ok;
}

/* No packet arrives within `ms` milliseconds. */
static int expect_quiet(zx_handle_t port, long ms) {
    zx_port_packet_t packet;
    return CHECK_STATUS(zx_port_wait(port, zx_deadline_after(ms * MS), &packet),
                        ZX_ERR_TIMED_OUT);
}

/* ---- Worker threads ---- */

typedef enum {
    OP_READ,        /* zx_vmo_read into a private buffer */
    OP_READ_INTO,   /* zx_vmo_read into `ptr` (a mapping) */
    OP_WRITE,       /* zx_vmo_write of `byte` */
    OP_COMMIT,      /* ZX_VMO_OP_COMMIT */
    OP_LOOKUP,      /* ZX_VMO_OP_LOOKUP */
    OP_MAPPED_READ, /* loads through `ptr` */
    OP_MAPPED_WRITE /* a store of `byte` through `ptr` */
} op_t;

typedef struct {
    op_t op;
    zx_handle_t vmo;
    uint64_t offset, len;
    volatile uint8_t* ptr; /* for the mapped operations */
    uint8_t byte;          /* written by the write operations */
    zx_status_t status;
    uint8_t first, last; /* first and last byte read */
    atomic_int done;
    pthread_t thread;
} job_t;

static void* run_job(void* arg) {
    job_t* job = arg;
    switch (job->op) {
    case OP_READ: {
        uint8_t* buf = malloc(job->len);
        job->status = buf ? zx_vmo_read(job->vmo, buf, job->offset, job->len) : ZX_ERR_NO_MEMORY;
        if (buf && job->status == ZX_OK) {
            job->first = buf[0];
            job->last = buf[job->len - 1];
        }
        free(buf);
        break;
    }
    case OP_READ_INTO:
        job->status = zx_vmo_read(job->vmo, (void*)job->ptr, job->offset, job->len);
        break;
    case OP_WRITE:
        job->status = zx_vmo_write(job->vmo, &job->byte, job->offset, 1);
        break;
    case OP_COMMIT:
        job->status = zx_vmo_op_range(job->vmo, ZX_VMO_OP_COMMIT, job->offset, job->len, NULL, 0);
        break;
    case OP_LOOKUP: {
        uint64_t addresses[8];
        job->status = zx_vmo_op_range(job->vmo, ZX_VMO_OP_LOOKUP, job->offset, job->len,
                                      addresses, sizeof addresses);
        break;
    }
    case OP_MAPPED_READ:
        /* Faults in this thread; the fault waits for the pager. */
        job->first = job->ptr[0];
        job->last = job->ptr[job->len - 1];
        job->status = ZX_OK;
        break;
    case OP_MAPPED_WRITE:
        job->ptr[0] = job->byte;
        job->status = ZX_OK;
        break;
    }
    atomic_store(&job->done, 1);
    return NULL;
}

static void start(job_t* job) {
    atomic_store(&job->done, 0);
    job->status = -1000;
    if (pthread_create(&job->thread, NULL, run_job, job) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
}

/* Joins the worker; one still blocked after 10 s means a lost wake-up: fail at once. */
static void join(job_t* job) {
    for (int i = 0; i < 1000 && !atomic_load(&job->done); i++) sleep_ms(10);
    if (!atomic_load(&job->done)) {
        fprintf(stderr, "%s: a worker is still blocked after 10 s\n", __FILE__);
        fflush(stderr);
        _Exit(2);
    }
    pthread_join(job->thread, NULL);
}

/* The worker has not finished (it is blocked) after `ms` milliseconds. */
static int still_blocked(job_t* job, long ms) {
    sleep_ms(ms);
    return CHECK(!atomic_load(&job->done));
}

/* ---- Setup ---- */

typedef struct {
    zx_handle_t pager, port, vmo;
    uint64_t key;
} paged_t;

static paged_t make_paged(uint64_t pages, uint32_t options, uint64_t key) {
    paged_t p = {ZX_HANDLE_INVALID, ZX_HANDLE_INVALID, ZX_HANDLE_INVALID, key};
    CHECK_STATUS(zx_pager_create(0, &p.pager), ZX_OK);
    CHECK_STATUS(zx_port_create(0, &p.port), ZX_OK);
    CHECK_STATUS(zx_pager_create_vmo(p.pager, options, p.port, key, pages * PAGE, &p.vmo), ZX_OK);
    return p;
}

static void close_paged(paged_t* p) {
    zx_handle_close(p->vmo);
    zx_handle_close(p->pager);
    zx_handle_close(p->port);
}

static zx_obj_type_t type_of(zx_handle_t h) {
    zx_info_handle_basic_t info;
    memset(&info, 0, sizeof info);
    if (zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof info, NULL, NULL) != ZX_OK)
        return 0xFFFFFFFFu;
    return info.type;
}

static zx_vaddr_t map_read(zx_handle_t vmo, size_t len, uint32_t perms) {
    zx_vaddr_t addr = 0;
    CHECK_STATUS(zx_vmar_map(zx_vmar_root_self(), perms, 0, vmo, 0, len, &addr), ZX_OK);
    return addr;
}

/* ---- Tests ---- */

static void test_objects_rights_and_info(void) {
    paged_t p = make_paged(3, 0, 1);
    CHECK_EQ(type_of(p.pager), ZX_OBJ_TYPE_PAGER);
    CHECK_EQ(type_of(p.port), ZX_OBJ_TYPE_PORT);
    CHECK_EQ(type_of(p.vmo), ZX_OBJ_TYPE_VMO);
    CHECK_EQ(rights_of(p.pager), ZX_DEFAULT_PAGER_RIGHTS);
    CHECK_EQ(rights_of(p.port), ZX_DEFAULT_PORT_RIGHTS);
    CHECK_EQ(rights_of(p.vmo), ZX_DEFAULT_VMO_RIGHTS);
    zx_info_vmo_t info = vmo_info(p.vmo);
    CHECK_EQ(info.size_bytes, 3 * PAGE);
    CHECK_EQ(info.flags & ZX_INFO_VMO_PAGER_BACKED, ZX_INFO_VMO_PAGER_BACKED);
    CHECK_EQ(info.flags & ZX_INFO_VMO_RESIZABLE, 0);
    CHECK_EQ(info.committed_bytes, 0);
    CHECK(signals_of(p.vmo) & ZX_VMO_ZERO_CHILDREN);
    /* A plain VMO is not pager-backed. */
    zx_handle_t plain = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &plain), ZX_OK);
    CHECK_EQ(vmo_info(plain).flags & ZX_INFO_VMO_PAGER_BACKED, 0);
    zx_handle_close(plain);
    /* Resizable: RESIZE right and flag; sizes round up to pages. */
    zx_handle_t resizable = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_pager_create_vmo(p.pager, ZX_VMO_RESIZABLE, p.port, 2, 1, &resizable), ZX_OK);
    CHECK_EQ(rights_of(resizable), ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_RESIZE);
    CHECK_EQ(vmo_info(resizable).flags & ZX_INFO_VMO_RESIZABLE, ZX_INFO_VMO_RESIZABLE);
    CHECK_EQ(size_of_vmo(resizable), PAGE);
    /* A pager handle cannot be duplicated (Zircon's default pager rights have no DUPLICATE);
     * a port handle can. */
    zx_handle_t copy = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_handle_duplicate(p.pager, ZX_RIGHT_SAME_RIGHTS, &copy), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_handle_duplicate(p.port, ZX_RIGHT_SAME_RIGHTS, &copy), ZX_OK);
    CHECK_STATUS(zx_handle_close(copy), ZX_OK);
    /* Pager and port names: the pager has properties, the port none. */
    CHECK_STATUS(zx_object_set_property(p.pager, ZX_PROP_NAME, "blobs", 5), ZX_OK);
    char name[ZX_MAX_NAME_LEN];
    CHECK_STATUS(zx_object_get_property(p.pager, ZX_PROP_NAME, name, sizeof name), ZX_OK);
    CHECK(strcmp(name, "blobs") == 0);
    CHECK_STATUS(zx_object_get_property(p.port, ZX_PROP_NAME, name, sizeof name),
                 ZX_ERR_ACCESS_DENIED);
    /* Closing a VMO nobody else refers to sends ZX_PAGER_VMO_COMPLETE with its key. */
    CHECK_STATUS(zx_handle_close(resizable), ZX_OK);
    expect_request(p.port, 2, ZX_PAGER_VMO_COMPLETE, 0, 0);
    close_paged(&p);
}

static void test_hostile_creation(void) {
    zx_handle_t pager = ZX_HANDLE_INVALID, port = ZX_HANDLE_INVALID, out = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_pager_create(1, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_pager_create(0, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_port_create(2, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_port_create(0, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_port_create(ZX_PORT_BIND_TO_INTERRUPT, &out), ZX_OK);
    zx_handle_close(out);
    CHECK_STATUS(zx_pager_create(0, &pager), ZX_OK);
    CHECK_STATUS(zx_port_create(0, &port), ZX_OK);
    zx_handle_t vmo = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &vmo), ZX_OK);
    zx_handle_t ro_port = dup_with(port, ZX_DEFAULT_PORT_RIGHTS & ~ZX_RIGHT_WRITE);
    /* Order: pager handle, port handle (WRITE), options, size, out. */
    CHECK_STATUS(zx_pager_create_vmo(ZX_HANDLE_INVALID, ~0u, port, 0, PAGE, &out),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_pager_create_vmo(port, 0, port, 0, PAGE, &out), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_create_vmo(vmo, 0, port, 0, PAGE, &out), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_create_vmo(pager, ~0u, ZX_HANDLE_INVALID, 0, PAGE, &out),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_pager_create_vmo(pager, 0, vmo, 0, PAGE, &out), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_create_vmo(pager, 0, pager, 0, PAGE, &out), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_create_vmo(pager, ~0u, ro_port, 0, PAGE, &out), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_pager_create_vmo(pager, ~0u, port, 0, PAGE, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_pager_create_vmo(pager, 1, port, 0, PAGE, &out), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_pager_create_vmo(pager, 0, port, 0, UINT64_MAX - PAGE + 2, &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_pager_create_vmo(pager, 0, port, 0, (1ull << 48) + 1, &out),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_pager_create_vmo(pager, 0, port, 0, PAGE, NULL), ZX_ERR_INVALID_ARGS);
    /* The VMO made for the NULL out-pointer was dropped again: its COMPLETE is all that
     * arrives. */
    expect_request(port, 0, ZX_PAGER_VMO_COMPLETE, 0, 0);
    expect_quiet(port, 20);
    /* Size 0 is a valid VMO. */
    CHECK_STATUS(zx_pager_create_vmo(pager, 0, port, 5, 0, &out), ZX_OK);
    CHECK_EQ(size_of_vmo(out), 0);
    zx_handle_close(out);
    expect_request(port, 5, ZX_PAGER_VMO_COMPLETE, 0, 0);
    zx_handle_close(ro_port);
    zx_handle_close(vmo);
    zx_handle_close(pager);
    zx_handle_close(port);
}

static void* wait_for_user_packet(void* arg) {
    zx_port_packet_t* packet = arg;
    packet->status = zx_port_wait((zx_handle_t)packet->key, ZX_TIME_INFINITE, packet);
    return NULL;
}

static void test_port_user_packets(void) {
    zx_handle_t port = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_port_create(0, &port), ZX_OK);
    /* Type is forced to ZX_PKT_TYPE_USER; key, status and payload are the sender's; FIFO. */
    for (uint64_t i = 0; i < 3; i++) {
        zx_port_packet_t packet;
        memset(&packet, 0, sizeof packet);
        packet.key = 100 + i;
        packet.type = ZX_PKT_TYPE_PAGE_REQUEST;
        packet.status = -(zx_status_t)i;
        packet.user.u64[0] = 0x1111 * i;
        packet.user.u64[3] = ~i;
        CHECK_STATUS(zx_port_queue(port, &packet), ZX_OK);
    }
    for (uint64_t i = 0; i < 3; i++) {
        zx_port_packet_t packet;
        memset(&packet, 0xCD, sizeof packet);
        CHECK_STATUS(zx_port_wait(port, ZX_TIME_INFINITE_PAST, &packet), ZX_OK);
        CHECK_EQ(packet.key, 100 + i);
        CHECK_EQ(packet.type, ZX_PKT_TYPE_USER);
        CHECK_EQ((uint32_t)packet.status, (uint32_t)(-(zx_status_t)i));
        CHECK_EQ(packet.user.u64[0], 0x1111 * i);
        CHECK_EQ(packet.user.u64[1], 0);
        CHECK_EQ(packet.user.u64[3], ~i);
    }
    /* Timeouts: a deadline in the past, and a short one that really waits. */
    zx_port_packet_t packet;
    CHECK_STATUS(zx_port_wait(port, ZX_TIME_INFINITE_PAST, &packet), ZX_ERR_TIMED_OUT);
    CHECK_STATUS(zx_port_wait(port, 0, &packet), ZX_ERR_TIMED_OUT);
    zx_time_t before = zx_clock_get_monotonic();
    CHECK_STATUS(zx_port_wait(port, zx_deadline_after(30 * MS), &packet), ZX_ERR_TIMED_OUT);
    CHECK(zx_clock_get_monotonic() - before >= 30 * MS);
    /* A thread blocked in zx_port_wait gets a packet queued later. */
    zx_port_packet_t received;
    memset(&received, 0, sizeof received);
    received.key = port;
    pthread_t waiter;
    CHECK(pthread_create(&waiter, NULL, wait_for_user_packet, &received) == 0);
    sleep_ms(30);
    zx_port_packet_t sent;
    memset(&sent, 0, sizeof sent);
    sent.key = 7;
    sent.user.c8[31] = 0x77;
    CHECK_STATUS(zx_port_queue(port, &sent), ZX_OK);
    pthread_join(waiter, NULL);
    CHECK_STATUS(received.status, ZX_OK);
    CHECK_EQ(received.key, 7);
    CHECK_EQ(received.user.c8[31], 0x77);
    /* Hostile arguments. */
    zx_handle_t vmo = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &vmo), ZX_OK);
    zx_handle_t read_only = dup_with(port, ZX_RIGHT_READ);
    zx_handle_t write_only = dup_with(port, ZX_RIGHT_WRITE);
    CHECK_STATUS(zx_port_wait(ZX_HANDLE_INVALID, 0, &packet), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_port_wait(vmo, 0, &packet), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_port_wait(write_only, 0, &packet), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_port_queue(ZX_HANDLE_INVALID, &sent), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_port_queue(vmo, &sent), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_port_queue(read_only, &sent), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_port_queue(port, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_port_queue(port, (const zx_port_packet_t*)8), ZX_ERR_INVALID_ARGS);
    /* A NULL packet pointer is refused before the wait: the queued packet is not lost. */
    CHECK_STATUS(zx_port_queue(write_only, &sent), ZX_OK);
    CHECK_STATUS(zx_port_wait(port, ZX_TIME_INFINITE, NULL), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_port_wait(read_only, 0, &packet), ZX_OK);
    CHECK_EQ(packet.key, 7);
    /* A port holds a bounded number of user packets; draining makes room again. */
    int queued = 0;
    zx_status_t st;
    while ((st = zx_port_queue(port, &sent)) == ZX_OK && queued < 100000) queued++;
    CHECK_STATUS(st, ZX_ERR_SHOULD_WAIT);
    CHECK(queued >= 1024);
    CHECK_STATUS(zx_port_wait(port, 0, &packet), ZX_OK);
    CHECK_STATUS(zx_port_queue(port, &sent), ZX_OK);
    /* Closing the port with packets queued frees them. */
    zx_handle_close(read_only);
    zx_handle_close(write_only);
    zx_handle_close(vmo);
    CHECK_STATUS(zx_handle_close(port), ZX_OK);
}

/* Two readers of one missing page: one request; supply wakes both. Then a read over several
 * missing pages: one request for the whole run. */
static void test_reads_wait_for_one_request(void) {
    paged_t p = make_paged(6, 0, 42);
    job_t a = {.op = OP_READ, .vmo = p.vmo, .offset = PAGE + 10, .len = 100};
    job_t b = {.op = OP_READ, .vmo = p.vmo, .offset = PAGE, .len = PAGE};
    start(&a);
    expect_request(p.port, 42, ZX_PAGER_VMO_READ, PAGE, PAGE);
    start(&b);
    still_blocked(&a, 50);
    still_blocked(&b, 0);
    expect_quiet(p.port, 50); /* the second reader sent nothing */
    CHECK_STATUS(supply(p.pager, p.vmo, 1, 1), ZX_OK);
    join(&a);
    join(&b);
    CHECK_STATUS(a.status, ZX_OK);
    CHECK_STATUS(b.status, ZX_OK);
    CHECK_EQ(a.first, pattern(1));
    CHECK_EQ(b.last, pattern(1));
    /* Pages 2..5 missing, page 4 supplied beforehand: a read of 2..6 asks for 2..4 first,
     * then for 5 once those are there. */
    CHECK_STATUS(supply(p.pager, p.vmo, 4, 1), ZX_OK);
    job_t c = {.op = OP_READ, .vmo = p.vmo, .offset = 2 * PAGE, .len = 4 * PAGE};
    start(&c);
    expect_request(p.port, 42, ZX_PAGER_VMO_READ, 2 * PAGE, 2 * PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 2, 2), ZX_OK);
    expect_request(p.port, 42, ZX_PAGER_VMO_READ, 5 * PAGE, PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 5, 1), ZX_OK);
    join(&c);
    CHECK_STATUS(c.status, ZX_OK);
    CHECK_EQ(c.first, pattern(2));
    CHECK_EQ(c.last, pattern(5));
    CHECK(vmo_bytes_are(p.vmo, 3 * PAGE, PAGE, pattern(3)));
    /* Nothing more is asked for, and the VMO pays for the five pages it holds. */
    expect_quiet(p.port, 20);
    CHECK_EQ(committed_of(p.vmo), 5 * PAGE);
    close_paged(&p);
}

/* A request supplied before the pager read it is taken back from the port (Zircon's
 * early_supply_test). */
static void test_early_supply_takes_the_request_back(void) {
    paged_t p = make_paged(2, 0, 9);
    job_t a = {.op = OP_READ, .vmo = p.vmo, .offset = 0, .len = 1};
    start(&a);
    still_blocked(&a, 50);
    CHECK_STATUS(supply(p.pager, p.vmo, 0, 1), ZX_OK);
    join(&a);
    CHECK_EQ(a.first, pattern(0));
    expect_quiet(p.port, 20);
    close_paged(&p);
}

/* Reads, mapped reads and mapped writes from other threads block in their faults until the
 * main thread supplies. */
static void test_mapped_access_waits(void) {
    paged_t p = make_paged(4, 0, 3);
    zx_vaddr_t ro = map_read(p.vmo, 4 * PAGE, ZX_VM_PERM_READ);
    zx_vaddr_t rw = map_read(p.vmo, 4 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    job_t a = {.op = OP_MAPPED_READ, .ptr = (volatile uint8_t*)ro + 2 * PAGE, .len = PAGE};
    job_t b = {.op = OP_MAPPED_READ, .ptr = (volatile uint8_t*)rw + 2 * PAGE + 7, .len = 1};
    start(&a);
    expect_request(p.port, 3, ZX_PAGER_VMO_READ, 2 * PAGE, PAGE);
    start(&b);
    still_blocked(&b, 50);
    expect_quiet(p.port, 20);
    CHECK_STATUS(supply(p.pager, p.vmo, 2, 1), ZX_OK);
    join(&a);
    join(&b);
    CHECK_EQ(a.first, pattern(2));
    CHECK_EQ(a.last, pattern(2));
    CHECK_EQ(b.first, pattern(2));
    /* A write through a mapping waits too, then lands on top of the supplied content. */
    job_t w = {.op = OP_MAPPED_WRITE, .ptr = (volatile uint8_t*)rw + 3 * PAGE + 1, .byte = 0xEE};
    start(&w);
    expect_request(p.port, 3, ZX_PAGER_VMO_READ, 3 * PAGE, PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 3, 1), ZX_OK);
    join(&w);
    CHECK_EQ(vmo_byte(p.vmo, 3 * PAGE + 1), 0xEE);
    CHECK_EQ(vmo_byte(p.vmo, 3 * PAGE), pattern(3));
    CHECK_EQ(((volatile uint8_t*)ro)[3 * PAGE + 1], 0xEE);
    /* zx_vmo_read of a plain VMO into a buffer that is a mapping of a missing page: the call
     * waits for that page before it copies. */
    zx_handle_t plain = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &plain), ZX_OK);
    CHECK_STATUS(vmo_fill(plain, 0, 16, 0x5A), ZX_OK);
    job_t into = {.op = OP_READ_INTO, .vmo = plain, .ptr = (volatile uint8_t*)rw, .len = 16};
    start(&into);
    expect_request(p.port, 3, ZX_PAGER_VMO_READ, 0, PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 0, 1), ZX_OK);
    join(&into);
    CHECK_STATUS(into.status, ZX_OK);
    CHECK_EQ(((volatile uint8_t*)ro)[15], 0x5A);
    CHECK_EQ(((volatile uint8_t*)ro)[16], pattern(0));
    zx_handle_close(plain);
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), ro, 4 * PAGE), ZX_OK);
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), rw, 4 * PAGE), ZX_OK);
    close_paged(&p);
}

/* zx_vmo_write, COMMIT, LOOKUP and ZERO wait for missing pages like reads. */
static void test_writes_commit_lookup_wait(void) {
    paged_t p = make_paged(8, 0, 11);
    job_t w = {.op = OP_WRITE, .vmo = p.vmo, .offset = PAGE + 5, .byte = 0x99};
    start(&w);
    expect_request(p.port, 11, ZX_PAGER_VMO_READ, PAGE, PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 1, 1), ZX_OK);
    join(&w);
    CHECK_STATUS(w.status, ZX_OK);
    CHECK_EQ(vmo_byte(p.vmo, PAGE + 5), 0x99);
    CHECK_EQ(vmo_byte(p.vmo, PAGE + 4), pattern(1));
    /* COMMIT of 2..6: one request for the run; supplied in two parts. */
    job_t c = {.op = OP_COMMIT, .vmo = p.vmo, .offset = 2 * PAGE, .len = 4 * PAGE};
    start(&c);
    expect_request(p.port, 11, ZX_PAGER_VMO_READ, 2 * PAGE, 4 * PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 2, 2), ZX_OK);
    still_blocked(&c, 30);
    expect_quiet(p.port, 20); /* the rest of the request is still outstanding */
    CHECK_STATUS(supply(p.pager, p.vmo, 4, 2), ZX_OK);
    join(&c);
    CHECK_STATUS(c.status, ZX_OK);
    CHECK_EQ(committed_of(p.vmo), 5 * PAGE);
    /* LOOKUP of 6..8. */
    job_t l = {.op = OP_LOOKUP, .vmo = p.vmo, .offset = 6 * PAGE, .len = 2 * PAGE};
    start(&l);
    expect_request(p.port, 11, ZX_PAGER_VMO_READ, 6 * PAGE, 2 * PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 6, 2), ZX_OK);
    join(&l);
    CHECK_STATUS(l.status, ZX_OK);
    /* ZERO on supplied pages: zeros, and the pages stay supplied (no new request). */
    CHECK_STATUS(zx_vmo_op_range(p.vmo, ZX_VMO_OP_ZERO, 2 * PAGE - 1, PAGE + 2, NULL, 0), ZX_OK);
    CHECK(vmo_bytes_are(p.vmo, 2 * PAGE - 1, PAGE + 2, 0));
    CHECK_EQ(vmo_byte(p.vmo, 3 * PAGE + 1), pattern(3));
    CHECK_EQ(vmo_byte(p.vmo, 2 * PAGE - 2), pattern(1));
    /* DECOMMIT is not supported on a pager-backed VMO. */
    CHECK_STATUS(zx_vmo_op_range(p.vmo, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                 ZX_ERR_NOT_SUPPORTED);
    expect_quiet(p.port, 20);
    CHECK_STATUS(zx_handle_close(p.vmo), ZX_OK);
    expect_request(p.port, 11, ZX_PAGER_VMO_COMPLETE, 0, 0);
    p.vmo = ZX_HANDLE_INVALID;
    close_paged(&p);
}

/* Detach: blocked threads fail with ZX_ERR_BAD_STATE, the port gets ZX_PAGER_VMO_COMPLETE
 * (once), supplied pages stay readable, and later accesses to missing pages fail. */
static void test_detach(void) {
    paged_t p = make_paged(3, 0, 5);
    CHECK_STATUS(supply(p.pager, p.vmo, 2, 1), ZX_OK);
    job_t a = {.op = OP_READ, .vmo = p.vmo, .offset = 0, .len = 1};
    start(&a);
    expect_request(p.port, 5, ZX_PAGER_VMO_READ, 0, PAGE);
    CHECK_STATUS(zx_pager_detach_vmo(p.pager, p.vmo), ZX_OK);
    join(&a);
    CHECK_STATUS(a.status, ZX_ERR_BAD_STATE);
    expect_request(p.port, 5, ZX_PAGER_VMO_COMPLETE, 0, 0);
    CHECK_STATUS(zx_pager_detach_vmo(p.pager, p.vmo), ZX_OK);
    expect_quiet(p.port, 20);
    uint8_t byte = 0;
    CHECK_STATUS(zx_vmo_read(p.vmo, &byte, PAGE, 1), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmo_write(p.vmo, &byte, 0, 1), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_vmo_op_range(p.vmo, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), ZX_ERR_BAD_STATE);
    CHECK_EQ(vmo_byte(p.vmo, 2 * PAGE + 9), pattern(2));
    /* Nothing more can be supplied. */
    CHECK_STATUS(supply(p.pager, p.vmo, 0, 1), ZX_ERR_BAD_STATE);
    /* A mapped access to a missing page of a detached VMO dies of the fault, as on Zircon
     * (shown in a child process, since it kills the process). */
    zx_vaddr_t addr = map_read(p.vmo, 3 * PAGE, ZX_VM_PERM_READ);
    CHECK_EQ(((volatile uint8_t*)addr)[2 * PAGE], pattern(2));
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        volatile uint8_t seen = ((volatile uint8_t*)addr)[0];
        (void)seen;
        _Exit(0);
    }
    int wstatus = 0;
    CHECK(child > 0 && waitpid(child, &wstatus, 0) == child);
    CHECK(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGSEGV);
    CHECK_STATUS(zx_vmar_unmap(zx_vmar_root_self(), addr, 3 * PAGE), ZX_OK);
    /* Closing the VMO after a detach sends no second COMPLETE. */
    CHECK_STATUS(zx_handle_close(p.vmo), ZX_OK);
    expect_quiet(p.port, 20);
    p.vmo = ZX_HANDLE_INVALID;
    close_paged(&p);
}

/* Closing the pager: blocked threads fail, no packet is sent any more (not even COMPLETE),
 * supplied pages stay readable. */
static void test_pager_close(void) {
    paged_t p = make_paged(2, 0, 8);
    CHECK_STATUS(supply(p.pager, p.vmo, 1, 1), ZX_OK);
    job_t a = {.op = OP_READ, .vmo = p.vmo, .offset = 0, .len = PAGE};
    job_t b = {.op = OP_COMMIT, .vmo = p.vmo, .offset = 0, .len = 2 * PAGE};
    start(&a);
    expect_request(p.port, 8, ZX_PAGER_VMO_READ, 0, PAGE);
    start(&b);
    still_blocked(&b, 50);
    CHECK_STATUS(zx_handle_close(p.pager), ZX_OK);
    join(&a);
    join(&b);
    CHECK_STATUS(a.status, ZX_ERR_BAD_STATE);
    CHECK_STATUS(b.status, ZX_ERR_BAD_STATE);
    CHECK(vmo_bytes_are(p.vmo, PAGE, PAGE, pattern(1)));
    uint8_t byte = 0;
    CHECK_STATUS(zx_vmo_read(p.vmo, &byte, 0, 1), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_handle_close(p.vmo), ZX_OK);
    expect_quiet(p.port, 30);
    p.vmo = p.pager = ZX_HANDLE_INVALID;
    close_paged(&p);
}

/* Closing the port's handle: requests are lost, but supplies and detaches still work. */
static void test_port_close(void) {
    paged_t p = make_paged(2, 0, 4);
    job_t a = {.op = OP_READ, .vmo = p.vmo, .offset = 0, .len = 1};
    start(&a);
    still_blocked(&a, 50);
    CHECK_STATUS(zx_handle_close(p.port), ZX_OK);
    p.port = ZX_HANDLE_INVALID;
    CHECK_STATUS(supply(p.pager, p.vmo, 1, 1), ZX_OK);
    CHECK_EQ(vmo_byte(p.vmo, PAGE), pattern(1));
    still_blocked(&a, 20);
    CHECK_STATUS(zx_pager_detach_vmo(p.pager, p.vmo), ZX_OK);
    join(&a);
    CHECK_STATUS(a.status, ZX_ERR_BAD_STATE);
    close_paged(&p);
}

/* A VMO's COMPLETE waits for its clones: nothing refers to it only once they are gone too. */
static void test_complete_waits_for_clones(void) {
    paged_t p = make_paged(1, 0, 12);
    zx_handle_t clone = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(p.vmo, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, PAGE,
                                     &clone),
                 ZX_OK);
    CHECK_STATUS(zx_handle_close(p.vmo), ZX_OK);
    p.vmo = ZX_HANDLE_INVALID;
    expect_quiet(p.port, 20);
    CHECK_STATUS(zx_handle_close(clone), ZX_OK);
    expect_request(p.port, 12, ZX_PAGER_VMO_COMPLETE, 0, 0);
    close_paged(&p);
}

/* Resizing: a waiter past the new end fails instead of waiting; growing asks again. */
static void test_resize(void) {
    paged_t p = make_paged(4, ZX_VMO_RESIZABLE, 6);
    job_t a = {.op = OP_READ, .vmo = p.vmo, .offset = 3 * PAGE, .len = 1};
    start(&a);
    expect_request(p.port, 6, ZX_PAGER_VMO_READ, 3 * PAGE, PAGE);
    CHECK_STATUS(zx_vmo_set_size(p.vmo, PAGE), ZX_OK);
    join(&a);
    CHECK_STATUS(a.status, ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_vmo_set_size(p.vmo, 4 * PAGE), ZX_OK);
    job_t b = {.op = OP_READ, .vmo = p.vmo, .offset = 3 * PAGE, .len = 1};
    start(&b);
    expect_request(p.port, 6, ZX_PAGER_VMO_READ, 3 * PAGE, PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 3, 1), ZX_OK);
    join(&b);
    CHECK_STATUS(b.status, ZX_OK);
    CHECK_EQ(b.first, pattern(3));
    /* A pager-backed VMO made without ZX_VMO_RESIZABLE cannot be resized. */
    paged_t fixed = make_paged(1, 0, 7);
    CHECK_STATUS(zx_vmo_set_size(fixed.vmo, 2 * PAGE), ZX_ERR_UNAVAILABLE);
    close_paged(&fixed);
    close_paged(&p);
}

/* Children: SNAPSHOT is not supported; SNAPSHOT_AT_LEAST_ON_WRITE (and the legacy clone) is a
 * true one-way clone whose reads of missing pages wait for the root's pager; slices wait too. */
static void test_clones(void) {
    paged_t p = make_paged(4, 0, 21);
    zx_handle_t snap = ZX_HANDLE_INVALID, child = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(p.vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &snap),
                 ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_create_child(p.vmo, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, PAGE,
                                     3 * PAGE, &child),
                 ZX_OK);
    zx_info_vmo_t info = vmo_info(child);
    CHECK_EQ(info.flags & ZX_INFO_VMO_IS_COW_CLONE, ZX_INFO_VMO_IS_COW_CLONE);
    CHECK_EQ(info.flags & ZX_INFO_VMO_PAGER_BACKED, ZX_INFO_VMO_PAGER_BACKED);
    CHECK_EQ(info.parent_koid, koid_of(p.vmo));
    CHECK_STATUS(zx_vmo_create_child(child, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &snap),
                 ZX_ERR_NOT_SUPPORTED);
    CHECK_STATUS(zx_vmo_op_range(child, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                 ZX_ERR_NOT_SUPPORTED);
    /* The child's pages 1 and 2 are the root's 2 and 3: the request names root offsets. */
    job_t a = {.op = OP_READ, .vmo = child, .offset = PAGE, .len = 2 * PAGE};
    start(&a);
    expect_request(p.port, 21, ZX_PAGER_VMO_READ, 2 * PAGE, 2 * PAGE);
    CHECK_STATUS(supply(p.pager, p.vmo, 1, 3), ZX_OK);
    join(&a);
    CHECK_STATUS(a.status, ZX_OK);
    CHECK_EQ(a.first, pattern(2));
    /* One-way: the parent's writes show through pages the child has not copied... */
    CHECK_STATUS(vmo_fill(p.vmo, PAGE, 1, 0xA1), ZX_OK);
    CHECK_EQ(vmo_byte(child, 0), 0xA1);
    /* ...the child's writes are its own... */
    CHECK_STATUS(vmo_fill(child, 2 * PAGE, 1, 0xC3), ZX_OK);
    CHECK_EQ(vmo_byte(p.vmo, 3 * PAGE), pattern(3));
    /* ...and a copied page no longer follows the parent. */
    CHECK_STATUS(vmo_fill(p.vmo, 3 * PAGE, 1, 0xA3), ZX_OK);
    CHECK_EQ(vmo_byte(child, 2 * PAGE), 0xC3);
    CHECK_EQ(vmo_byte(child, 2 * PAGE + 1), pattern(3));
    CHECK_EQ(committed_of(child), PAGE);
    /* A legacy clone and a slice of the pager VMO wait for page 0 like the VMO itself. */
    zx_handle_t legacy = ZX_HANDLE_INVALID, slice = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_clone(p.vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE, &legacy), ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(p.vmo, ZX_VMO_CHILD_SLICE, 0, 2 * PAGE, &slice), ZX_OK);
    CHECK_EQ(vmo_info(slice).flags & ZX_INFO_VMO_PAGER_BACKED, ZX_INFO_VMO_PAGER_BACKED);
    CHECK_EQ(vmo_byte(legacy, PAGE), 0xA1);
    job_t l = {.op = OP_READ, .vmo = legacy, .offset = 0, .len = 1};
    job_t s = {.op = OP_READ, .vmo = slice, .offset = 5, .len = 1};
    start(&l);
    expect_request(p.port, 21, ZX_PAGER_VMO_READ, 0, PAGE);
    start(&s);
    still_blocked(&s, 50);
    expect_quiet(p.port, 20);
    CHECK_STATUS(supply(p.pager, p.vmo, 0, 1), ZX_OK);
    join(&l);
    join(&s);
    CHECK_EQ(l.first, pattern(0));
    CHECK_EQ(s.first, pattern(0));
    /* Detaching or supplying through a clone is refused: only the VMO itself is the pager's. */
    CHECK_STATUS(zx_pager_detach_vmo(p.pager, child), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(supply(p.pager, child, 0, 1), ZX_ERR_INVALID_ARGS);
    zx_handle_close(legacy);
    zx_handle_close(slice);
    zx_handle_close(child);
    close_paged(&p);
}

/* Seed 002: COMMIT on a child commits pages with its parent's content, and pages a pager
 * supplies are committed in the parent too: the child's COMMIT of a missing page asks the
 * pager for the parent's page, and once supplied both hold it. */
static void test_child_commit_requests_the_parent_page(void) {
    paged_t p = make_paged(2, 0, 41);
    zx_handle_t child = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(p.vmo, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0,
                                     2 * PAGE, &child),
                 ZX_OK);
    job_t c = {.op = OP_COMMIT, .vmo = child, .offset = PAGE, .len = PAGE};
    start(&c);
    expect_request(p.port, 41, ZX_PAGER_VMO_READ, PAGE, PAGE);
    still_blocked(&c, 30);
    CHECK_STATUS(supply(p.pager, p.vmo, 1, 1), ZX_OK);
    join(&c);
    CHECK_STATUS(c.status, ZX_OK);
    CHECK_EQ(committed_of(child), PAGE);
    CHECK_EQ(vmo_byte(child, PAGE), pattern(1));
    /* The parent has the page now: reading it sends nothing. */
    CHECK_EQ(vmo_byte(p.vmo, PAGE), pattern(1));
    expect_quiet(p.port, 20);
    zx_handle_close(child);
    close_paged(&p);
}

/* Supplies: pages already present are kept and the aux copies freed; holes in the aux VMO
 * supply zeros; every check in Zircon's order with nothing changed on failure. */
static void test_supply(void) {
    paged_t p = make_paged(4, 0, 31);
    zx_handle_t aux = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create(3 * PAGE, 0, &aux), ZX_OK);
    CHECK_STATUS(vmo_fill(aux, 0, 3 * PAGE, 0xB0), ZX_OK);
    CHECK_STATUS(supply(p.pager, p.vmo, 0, 1), ZX_OK);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, 3 * PAGE, aux, 0), ZX_OK);
    CHECK_EQ(vmo_byte(p.vmo, 0), pattern(0)); /* kept */
    CHECK(vmo_bytes_are(p.vmo, PAGE, 2 * PAGE, 0xB0));
    CHECK_EQ(committed_of(aux), 0); /* the aux range holds nothing afterwards */
    CHECK_EQ(committed_of(p.vmo), 3 * PAGE);
    /* An aux page holding nothing supplies zeros. */
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 3 * PAGE, PAGE, aux, 0), ZX_OK);
    CHECK(vmo_bytes_are(p.vmo, 3 * PAGE, PAGE, 0));
    CHECK_EQ(committed_of(p.vmo), 3 * PAGE);
    /* Length 0 is fine. */
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 4 * PAGE, 0, aux, 3 * PAGE), ZX_OK);
    expect_quiet(p.port, 10);
    close_paged(&p);
    zx_handle_close(aux);
}

static void test_supply_hostile(void) {
    paged_t p = make_paged(2, 0, 41);
    zx_handle_t pager2 = ZX_HANDLE_INVALID, aux = ZX_HANDLE_INVALID, plain = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_pager_create(0, &pager2), ZX_OK);
    CHECK_STATUS(zx_vmo_create(2 * PAGE, 0, &aux), ZX_OK);
    CHECK_STATUS(vmo_fill(aux, 0, 2 * PAGE, 0x66), ZX_OK);
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &plain), ZX_OK);
    zx_handle_t ro = dup_with(aux, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t wo = dup_with(aux, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    /* Alignment comes first, before any handle. */
    CHECK_STATUS(zx_pager_supply_pages(ZX_HANDLE_INVALID, p.vmo, 1, PAGE, aux, 0),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, 1, aux, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, aux, 1), ZX_ERR_INVALID_ARGS);
    /* Handles: pager, pager VMO, then aux (READ and WRITE). */
    CHECK_STATUS(zx_pager_supply_pages(ZX_HANDLE_INVALID, p.vmo, 0, PAGE, aux, 0),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, ZX_HANDLE_INVALID, 0, PAGE, aux, 0),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, ZX_HANDLE_INVALID, 0),
                 ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_pager_supply_pages(p.vmo, p.vmo, 0, PAGE, aux, 0), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.pager, 0, PAGE, aux, 0), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, p.port, 0), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, plain, 0, PAGE, aux, 0), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_pager_supply_pages(pager2, p.vmo, 0, PAGE, ZX_HANDLE_INVALID, 0),
                 ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, ro, 0), ZX_ERR_ACCESS_DENIED);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, wo, 0), ZX_ERR_ACCESS_DENIED);
    /* Ranges. */
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, PAGE, 2 * PAGE, aux, 0),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, aux, 2 * PAGE),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, aux, UINT64_MAX - PAGE + 1),
                 ZX_ERR_OUT_OF_RANGE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, UINT64_MAX - PAGE + 1, PAGE, aux, 0),
                 ZX_ERR_OUT_OF_RANGE);
    /* Aux VMOs that cannot give their pages away: a clone, one with a clone or a slice, a
     * pager-backed one, the pager VMO itself. */
    zx_handle_t clone = ZX_HANDLE_INVALID, slice = ZX_HANDLE_INVALID, other = ZX_HANDLE_INVALID;
    zx_handle_t parent_of_slice = ZX_HANDLE_INVALID;
    CHECK_STATUS(zx_vmo_create_child(aux, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &clone), ZX_OK);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, clone, 0), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, aux, 0), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_handle_close(clone), ZX_OK);
    CHECK_STATUS(zx_vmo_create(PAGE, 0, &parent_of_slice), ZX_OK);
    CHECK_STATUS(zx_vmo_create_child(parent_of_slice, ZX_VMO_CHILD_SLICE, 0, PAGE, &slice), ZX_OK);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, slice, 0), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, parent_of_slice, 0),
                 ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_pager_create_vmo(p.pager, 0, p.port, 0, PAGE, &other), ZX_OK);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, other, 0), ZX_ERR_BAD_STATE);
    CHECK_STATUS(zx_pager_supply_pages(p.pager, p.vmo, 0, PAGE, p.vmo, 0), ZX_ERR_BAD_STATE);
    /* Nothing changed: the pager VMO holds nothing, the aux VMO all it had. */
    CHECK_EQ(committed_of(p.vmo), 0);
    CHECK_EQ(committed_of(aux), 2 * PAGE);
    CHECK(vmo_bytes_are(aux, 0, 2 * PAGE, 0x66));
    expect_quiet(p.port, 10);
    /* Detach: handles, type, and only the VMO the pager created. */
    CHECK_STATUS(zx_pager_detach_vmo(ZX_HANDLE_INVALID, p.vmo), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_pager_detach_vmo(p.pager, ZX_HANDLE_INVALID), ZX_ERR_BAD_HANDLE);
    CHECK_STATUS(zx_pager_detach_vmo(p.vmo, p.vmo), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_detach_vmo(p.pager, p.pager), ZX_ERR_WRONG_TYPE);
    CHECK_STATUS(zx_pager_detach_vmo(p.pager, plain), ZX_ERR_INVALID_ARGS);
    CHECK_STATUS(zx_pager_detach_vmo(pager2, p.vmo), ZX_ERR_INVALID_ARGS);
    expect_quiet(p.port, 10);
    zx_handle_close(other);
    expect_request(p.port, 0, ZX_PAGER_VMO_COMPLETE, 0, 0);
    zx_handle_close(slice);
    zx_handle_close(parent_of_slice);
    zx_handle_close(ro);
    zx_handle_close(wo);
    zx_handle_close(plain);
    zx_handle_close(aux);
    zx_handle_close(pager2);
    close_paged(&p);
}

int main(void) {
    test_objects_rights_and_info();
    test_hostile_creation();
    test_port_user_packets();
    test_reads_wait_for_one_request();
    test_early_supply_takes_the_request_back();
    test_mapped_access_waits();
    test_writes_commit_lookup_wait();
    test_detach();
    test_pager_close();
    test_port_close();
    test_complete_waits_for_clones();
    test_resize();
    test_clones();
    test_child_commit_requests_the_parent_page();
    test_supply();
    test_supply_hostile();
    return finish();
}
