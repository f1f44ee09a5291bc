//! VMOs mapped into this process's real memory against Linux itself, each figure a RATIO of two
//! loops run in the same process (medians of rounds, each side's rounds together):
//!
//! 1. Snapshot and restore: a region of 1 GiB (every page written) is mapped as a snapshot of
//!    its base VMO; a round dirties `k` pages through the pointer, then restores the region: the
//!    restore unmaps the region, closes the dirty snapshot and maps a fresh one in its place. The
//!    baseline is what a fuzzer or test harness does without us: `fork()` a child that dirties
//!    the same `k` pages of an equally written 1 GiB anonymous region and exits, and wait for it.
//!    k = 1, 16, 256, 4096.
//! 2. First write to a page shared with a snapshot, through the pointer (our fault: a SIGBUS from
//!    the write-protected entry of the userfaultfd window, the engine's copy, the protection
//!    lifted), against the kernel's copy-on-write fault on a page shared with a forked parent
//!    (timed inside the child).
//!
//! 3. For both, the floor of a design with one host mapping per translation: the same work with
//!    no engine at all, only the signals and `mprotect`/`mmap` calls (see `floor`).
//!
//! `-- --profile-fault` runs only our side of measurement 2, many times, for `perf record`.
//!
//! `cargo bench -p zircon-hosted --bench mapped` (about a minute; `-- --quick` runs a 64 MiB
//! region and a few rounds, whose ratios are not the issue's figures).

use std::hint::black_box;
use std::time::{Duration, Instant};

use ::zircon::c_abi::zircon::*;
use ::zircon::kernel::HandleValue;

const PAGE: usize = 4096;
const RW: u32 = 0b11;
const ZX_VMO_CHILD_SNAPSHOT: u32 = 1;
const ZX_VM_SPECIFIC: u32 = 1 << 4;

fn check(status: i32, what: &str) {
    assert_eq!(status, 0, "{what} failed with status {status}");
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The pages a round dirties: spread over the region with a fixed stride.
fn dirty_pages(k: usize, pages: usize) -> impl Iterator<Item = usize> {
    let stride = (pages / k).max(1);
    (0..k).map(move |i| (i * stride + i % 7) % pages)
}

/// Our side of measurement 1: a mapped snapshot dirtied and restored.
struct Restorable {
    base: HandleValue,
    working: HandleValue,
    addr: usize,
    len: usize,
}

impl Restorable {
    fn new(len: usize) -> Self {
        let mut base = 0;
        // SAFETY: `base` is a valid out-pointer.
        check(
            unsafe { zx_vmo_create(len as u64, 0, &mut base) },
            "vmo_create",
        );
        let fill = vec![0x5au8; 1 << 20];
        for offset in (0..len).step_by(fill.len()) {
            // SAFETY: `fill` is readable for its length.
            check(
                unsafe { zx_vmo_write(base, fill.as_ptr().cast(), offset as u64, fill.len()) },
                "fill",
            );
        }
        let mut restorable = Restorable {
            base,
            working: 0,
            addr: 0,
            len,
        };
        restorable.restore();
        restorable
    }

    /// Unmaps and closes the dirty snapshot, then maps a fresh one at the same place. (Closing
    /// first keeps the base's family flat: the base is then the only other reader of the dirty
    /// snapshot's pages, and the close costs what the round changed.)
    fn restore(&mut self) {
        let root = zx_vmar_root_self();
        let mut offset = 0;
        if self.working != 0 {
            check(zx_vmar_unmap(root, self.addr, self.len), "unmap");
            check(zx_handle_close(self.working), "close");
            let mut info = [0u64; 2];
            // SAFETY: `info` has room for zx_info_vmar_t.
            check(
                unsafe {
                    zx_object_get_info(
                        root,
                        7,
                        info.as_mut_ptr().cast(),
                        16,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                    )
                },
                "vmar info",
            );
            offset = self.addr - info[0] as usize;
        }
        let mut fresh = 0;
        // SAFETY: valid out-pointers.
        check(
            unsafe {
                zx_vmo_create_child(
                    self.base,
                    ZX_VMO_CHILD_SNAPSHOT,
                    0,
                    self.len as u64,
                    &mut fresh,
                )
            },
            "snapshot",
        );
        let options = if self.working == 0 {
            RW
        } else {
            RW | ZX_VM_SPECIFIC
        };
        let mut addr = 0usize;
        // SAFETY: valid out-pointer.
        check(
            unsafe { zx_vmar_map(root, options, offset, fresh, 0, self.len, &mut addr) },
            "map",
        );
        self.working = fresh;
        self.addr = addr;
    }

    fn dirty(&self, k: usize) {
        let pages = self.len / PAGE;
        for page in dirty_pages(k, pages) {
            // SAFETY: the page lies inside the read/write mapping of `len` bytes at `addr`.
            unsafe { std::ptr::write_volatile((self.addr + page * PAGE + 8) as *mut u8, 0xa5) };
        }
    }
}

/// The baseline of measurement 1: a written anonymous region, forked per round.
struct Forked {
    region: Vec<u8>,
}

impl Forked {
    fn new(len: usize) -> Self {
        Forked {
            region: vec![0x5a; len],
        }
    }

    fn round(&mut self, k: usize) {
        let pages = self.region.len() / PAGE;
        // SAFETY: the process is single-threaded here (benchmarks run on the main thread), so
        // the child may run arbitrary code; it only writes its copy of the region and exits.
        let child = unsafe { libc::fork() };
        if child == 0 {
            for page in dirty_pages(k, pages) {
                self.region[page * PAGE + 8] = 0xa5;
            }
            black_box(&self.region);
            // SAFETY: `_exit` ends the child without running the parent's destructors.
            unsafe { libc::_exit(0) };
        }
        assert!(child > 0, "fork failed");
        let mut status = 0;
        // SAFETY: waiting for our own child with a valid status pointer.
        unsafe { libc::waitpid(child, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}

/// Measurement 2, ours: nanoseconds per first write to pages shared with a snapshot.
fn our_cow_fault(pages: usize) -> Duration {
    let len = pages * PAGE;
    let mut base = 0;
    // SAFETY: valid out-pointers and buffers throughout.
    unsafe {
        check(zx_vmo_create(len as u64, 0, &mut base), "create");
        let fill = vec![0x11u8; len];
        check(zx_vmo_write(base, fill.as_ptr().cast(), 0, len), "fill");
        let mut addr = 0usize;
        check(
            zx_vmar_map(zx_vmar_root_self(), RW, 0, base, 0, len, &mut addr),
            "map",
        );
        // Read every page first, so that each write meets a present, read-only translation.
        let mut snapshot = 0;
        check(
            zx_vmo_create_child(base, ZX_VMO_CHILD_SNAPSHOT, 0, len as u64, &mut snapshot),
            "snap",
        );
        for page in 0..pages {
            black_box(std::ptr::read_volatile((addr + page * PAGE) as *const u8));
        }
        let start = Instant::now();
        for page in 0..pages {
            std::ptr::write_volatile((addr + page * PAGE + 1) as *mut u8, 0x22);
        }
        let time = start.elapsed();
        check(zx_vmar_unmap(zx_vmar_root_self(), addr, len), "unmap");
        check(zx_handle_close(snapshot), "close");
        check(zx_handle_close(base), "close");
        time / pages as u32
    }
}

/// Measurement 2, Linux: the same writes in a forked child, timed there and sent back.
fn kernel_cow_fault(pages: usize) -> Duration {
    let mut region = vec![0x11u8; pages * PAGE];
    let mut pipe = [0i32; 2];
    // SAFETY: a two-element array for pipe(2).
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    // SAFETY: single-threaded here (see `Forked::round`); the child writes, reports, exits.
    let child = unsafe { libc::fork() };
    if child == 0 {
        let start = Instant::now();
        for page in 0..pages {
            region[page * PAGE + 1] = 0x22;
        }
        black_box(&region);
        let nanos = (start.elapsed().as_nanos() as u64).to_le_bytes();
        // SAFETY: writing 8 bytes from a local array to our pipe, then leaving at once.
        unsafe {
            libc::write(pipe[1], nanos.as_ptr().cast(), 8);
            libc::_exit(0);
        }
    }
    let mut nanos = [0u8; 8];
    // SAFETY: reading 8 bytes into a local array; waiting for our own child.
    unsafe {
        libc::read(pipe[0], nanos.as_mut_ptr().cast(), 8);
        libc::waitpid(child, std::ptr::null_mut(), 0);
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
    black_box(&mut region);
    Duration::from_nanos(u64::from_le_bytes(nanos)) / pages as u32
}

/// The host's floor for any design that resolves faults with signals, measured in a forked
/// child (so that its own SIGSEGV handler replaces nothing of ours): a file region mapped
/// read-only in one call, each dirtied page a SIGSEGV whose handler `mprotect`s it writable, and
/// the restore one `mmap` over the region. No engine, no bookkeeping: what the host alone costs.
mod floor {
    use std::time::{Duration, Instant};

    const PAGE: usize = 4096;

    extern "C" fn lift(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo_t; the page lies in the child's region.
        unsafe {
            let page = ((*info).si_addr() as usize) & !(PAGE - 1);
            libc::mprotect(page as *mut _, PAGE, libc::PROT_READ | libc::PROT_WRITE);
        }
    }

    /// Runs `measure` in a forked child with the lifting handler installed and returns the
    /// duration it reports.
    fn in_child(measure: impl FnOnce() -> Duration) -> Duration {
        let mut pipe = [0i32; 2];
        // SAFETY: a two-element array for pipe(2).
        assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
        // SAFETY: the benchmark is single-threaded here; the child installs its own handler,
        // measures, reports through the pipe and leaves with `_exit`.
        let child = unsafe { libc::fork() };
        if child == 0 {
            // SAFETY: plain sigaction setup with an SA_SIGINFO handler of the right type.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = lift as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO;
                libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
            }
            let nanos = (measure().as_nanos() as u64).to_le_bytes();
            // SAFETY: 8 bytes from a local array to our pipe, then leave at once.
            unsafe {
                libc::write(pipe[1], nanos.as_ptr().cast(), 8);
                libc::_exit(0);
            }
        }
        let mut nanos = [0u8; 8];
        // SAFETY: 8 bytes into a local array; waiting for our own child.
        unsafe {
            libc::read(pipe[0], nanos.as_mut_ptr().cast(), 8);
            libc::waitpid(child, std::ptr::null_mut(), 0);
            libc::close(pipe[0]);
            libc::close(pipe[1]);
        }
        Duration::from_nanos(u64::from_le_bytes(nanos))
    }

    /// A read-only shared mapping of a filled memfd of `len` bytes, and its file.
    fn region(len: usize) -> (*mut u8, i32) {
        // SAFETY: a new memfd sized and filled by the kernel, and a new mapping of it.
        unsafe {
            let fd = libc::memfd_create(c"floor".as_ptr(), 0);
            libc::ftruncate(fd, len as i64);
            libc::fallocate(fd, 0, 0, len as i64);
            let at = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                0,
            );
            (at.cast(), fd)
        }
    }

    /// Median time of a round (premap, dirty `k` pages, drop the mappings) over `rounds`.
    pub fn restore_round(len: usize, k: usize, rounds: usize) -> Duration {
        in_child(|| {
            let (at, fd) = region(len);
            let pages = len / PAGE;
            let mut times = Vec::new();
            for round in 0..=rounds {
                let start = Instant::now();
                // SAFETY: remapping and writing our own region only.
                unsafe {
                    libc::mmap(
                        at.cast(),
                        len,
                        libc::PROT_READ,
                        libc::MAP_SHARED | libc::MAP_FIXED,
                        fd,
                        0,
                    );
                    for page in super::dirty_pages(k, pages) {
                        std::ptr::write_volatile(at.add(page * PAGE + 8), 0xa5);
                    }
                    libc::mmap(
                        at.cast(),
                        len,
                        libc::PROT_NONE,
                        libc::MAP_PRIVATE
                            | libc::MAP_ANONYMOUS
                            | libc::MAP_FIXED
                            | libc::MAP_NORESERVE,
                        -1,
                        0,
                    );
                }
                if round > 0 {
                    times.push(start.elapsed());
                }
            }
            super::median(times)
        })
    }

    /// Time per first write to a read-only page: signal and `mprotect`.
    pub fn fault(pages: usize) -> Duration {
        in_child(|| {
            let (at, _) = region(pages * PAGE);
            for page in 0..pages {
                // SAFETY: reading our own mapped region fills its page tables first.
                std::hint::black_box(unsafe { std::ptr::read_volatile(at.add(page * PAGE)) });
            }
            let start = Instant::now();
            for page in 0..pages {
                // SAFETY: writing our own region; the handler makes each page writable.
                unsafe { std::ptr::write_volatile(at.add(page * PAGE + 1), 0x22) };
            }
            start.elapsed() / pages as u32
        })
    }
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    if std::env::args().any(|arg| arg == "--profile-fault") {
        // Only our side of measurement 2, many times: for `perf record`.
        let times: Vec<Duration> = (0..200).map(|_| our_cow_fault(4096)).collect();
        println!("our first write: {:.2?}", median(times));
        return;
    }
    let (len, rounds) = if quick { (64 << 20, 3) } else { (1 << 30, 9) };
    println!(
        "mapped memory vs Linux ({} MiB region{})",
        len >> 20,
        if quick { ", quick" } else { "" }
    );
    println!("| measurement | ours | host floor | Linux | Linux / ours |");
    println!("|---|---|---|---|---|");
    let mut ours = Restorable::new(len);
    let mut forked = Forked::new(len);
    for k in [1usize, 16, 256, 4096] {
        // Each side's rounds run together (after one untimed round): a fork leaves the
        // parent's caches and page tables cold, which would tax our rounds if interleaved.
        let mut a = Vec::new();
        for round in 0..=rounds {
            let start = Instant::now();
            ours.dirty(k);
            ours.restore();
            if round > 0 {
                a.push(start.elapsed());
            }
        }
        let mut b = Vec::new();
        for round in 0..=rounds {
            let start = Instant::now();
            forked.round(k);
            if round > 0 {
                b.push(start.elapsed());
            }
        }
        let (a, b) = (median(a), median(b));
        let floor = floor::restore_round(len, k, rounds);
        println!(
            "| snapshot + restore, {k} dirty pages a round | {a:.2?} | {floor:.2?} | {b:.2?} (fork) | {:.1}x (floor: {:.1}x) |",
            b.as_secs_f64() / a.as_secs_f64(),
            b.as_secs_f64() / floor.as_secs_f64()
        );
    }
    let pages = if quick { 256 } else { 4096 };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(our_cow_fault(pages));
        b.push(kernel_cow_fault(pages));
    }
    let (a, b) = (median(a), median(b));
    let floor = floor::fault(pages);
    println!(
        "| first write to a page shared with a snapshot | {a:.2?} | {floor:.2?} | {b:.2?} (after fork) | ours costs {:.2}x Linux's (floor: {:.2}x) |",
        a.as_secs_f64() / b.as_secs_f64(),
        floor.as_secs_f64() / b.as_secs_f64()
    );
}
