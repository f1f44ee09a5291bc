//! The runtime every C call goes through: one kernel and the process the calling program is,
//! started on first use (no initialisation call), shared by all threads.
//!
//! The program's address space is a host range reserved at start (`PROT_NONE`, no memory
//! committed); every process's root VMAR covers that same range, and the program's own
//! translations become host mappings of the frame file there (see `host_mmu`), resolved on
//! SIGSEGV (see `fault_handler`).
//!
//! Frames are limited so that exhausting memory is an error code (`ZX_ERR_NO_MEMORY`), never
//! the host killing the program: by default half the machine's RAM, or the number of 4 KiB
//! frames in the environment variable `ZIRCON_FRAME_LIMIT` when the program starts.
//!
//! Translations go through userfaultfd windows where the host allows it (see `host_mmu`);
//! `ZIRCON_HOST_WINDOWS=0` makes every translation a host mapping of its own instead. A child
//! made by `fork()` starts with nothing translated: the reservation is put back over the whole
//! range in the child (a `pthread_atfork` handler), and its accesses fault the pages in again.

use std::sync::{Arc, OnceLock};

use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
use vm_kernel::{HandleValue, Kernel, Name, Process, Syscalls};

use crate::host_mmu::{HostMmu, DEFAULT_RUN_BUDGET};
use crate::memfd_frames::MemfdFrames;
use crate::platform::HostPlatform;
use crate::userfault::Userfault;

/// Bytes of host address space reserved for the program's root VMAR: 64 GiB.
pub const RESERVED_BYTES: u64 = 64 << 30;

/// The kernel and the calling program's process.
pub struct Runtime {
    kernel: Kernel<HostPlatform>,
    process: Arc<Process<HostPlatform>>,
    job: HandleValue,
    root_vmar: HandleValue,
    /// The reserved range `[base, base + size)`.
    reserved: (u64, u64),
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

impl Runtime {
    fn start() -> Runtime {
        let frames = MemfdFrames::with_limit(frame_limit())
            .unwrap_or_else(|error| panic!("cannot create the frame file: {error:?}"));
        let frames = Arc::new(frames);
        // SAFETY: a new private inaccessible mapping at an address the host picks: it overlaps
        // nothing and is never unmapped (the runtime lives as long as the program).
        let base = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                RESERVED_BYTES as usize,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )
        }
        .unwrap_or_else(|error| panic!("cannot reserve the address space: {error}"))
            as u64;
        let kernel = Kernel::with_user_range(frames.clone(), base, RESERVED_BYTES);
        // SAFETY: the range was just reserved for this MMU alone, and the frame file lives in
        // the kernel, which outlives the program's process.
        let mmu = unsafe { HostMmu::new(frames.file(), base, RESERVED_BYTES, DEFAULT_RUN_BUDGET) };
        let windows = std::env::var(HOST_WINDOWS_VARIABLE).map_or(true, |value| value != "0");
        let mmu = mmu.with_userfault(if windows { Userfault::open() } else { None });
        // SAFETY: registering a handler that only runs in the child after fork(2).
        unsafe { libc::pthread_atfork(None, None, Some(forget_translations_in_child)) };
        // An empty handle table always has room for the first two handles.
        let (process, job, root_vmar) = kernel
            .boot_process_with_mmu(Name::new(b"self"), Box::new(mmu))
            .unwrap_or_else(|status| panic!("cannot start the runtime: status {status}"));
        Runtime {
            kernel,
            process,
            job,
            root_vmar,
            reserved: (base, RESERVED_BYTES),
        }
    }

    /// The runtime if it has started (never starts it: safe to ask from a signal handler).
    pub fn running() -> Option<&'static Runtime> {
        RUNTIME.get()
    }

    /// Whether `address` lies in the program's address space (the reserved range).
    pub fn owns_address(&self, address: u64) -> bool {
        let (base, size) = self.reserved;
        address.wrapping_sub(base) < size
    }

    /// Whether any byte of `[address, address + len)` lies in the reserved range.
    pub fn overlaps(&self, address: u64, len: usize) -> bool {
        let (base, size) = self.reserved;
        len > 0 && address < base + size && address.saturating_add(len as u64) > base
    }

    /// The runtime, started on first use.
    pub fn get() -> &'static Runtime {
        let runtime = RUNTIME.get_or_init(Runtime::start);
        crate::fault_handler::install();
        runtime
    }

    /// The system calls as the calling program issues them.
    pub fn syscalls(&self) -> Syscalls<'_, HostPlatform> {
        self.kernel.syscalls(&self.process)
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel<HostPlatform> {
        &self.kernel
    }

    /// The calling program's process.
    pub fn process(&self) -> &Arc<Process<HostPlatform>> {
        &self.process
    }

    /// The handle `zx_job_default` returns.
    pub fn job(&self) -> HandleValue {
        self.job
    }

    /// The handle `zx_vmar_root_self` returns.
    pub fn root_vmar(&self) -> HandleValue {
        self.root_vmar
    }
}

/// In a fork's child: drops every translation of the inherited address space (islands share
/// frames with the parent; windows would answer to the parent's userfaultfd), so that the
/// child's accesses fault into its own copy of the runtime.
extern "C" fn forget_translations_in_child() {
    if let Some(runtime) = RUNTIME.get() {
        let (base, size) = runtime.reserved;
        crate::host_mmu::put_back_reservation(base, size);
        crate::host_mmu::forget_after_fork();
    }
}

/// The environment variable that turns userfaultfd windows off (`0`).
pub const HOST_WINDOWS_VARIABLE: &str = "ZIRCON_HOST_WINDOWS";

/// The environment variable that sets the frame limit.
pub const FRAME_LIMIT_VARIABLE: &str = "ZIRCON_FRAME_LIMIT";

/// Frames the runtime may hand out: `ZIRCON_FRAME_LIMIT` if it holds a number, else half of
/// the RAM `/proc/meminfo` reports (1 GiB if it cannot be read).
fn frame_limit() -> usize {
    if let Some(limit) = std::env::var(FRAME_LIMIT_VARIABLE)
        .ok()
        .and_then(|value| value.trim().parse().ok())
    {
        return limit;
    }
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|line| line.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .unwrap_or(2 * 1024 * 1024);
    total_kib / 4 / 2
}
