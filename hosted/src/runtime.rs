//! The runtime every C call goes through: one kernel and the process the calling program is,
//! started on first use (no initialisation call), shared by all threads.
//!
//! Frames are limited so that exhausting memory is an error code (`ZX_ERR_NO_MEMORY`), never
//! the host killing the program: by default half the machine's RAM, or the number of 4 KiB
//! frames in the environment variable `ZIRCON_FRAME_LIMIT` when the program starts.

use std::sync::{Arc, OnceLock};

use vm_engine::InMemoryFrames;
use vm_kernel::{HandleValue, Kernel, Name, Process, Syscalls};

use crate::platform::HostPlatform;

/// The kernel and the calling program's process.
pub struct Runtime {
    kernel: Kernel<HostPlatform>,
    process: Arc<Process<HostPlatform>>,
    job: HandleValue,
    root_vmar: HandleValue,
}

impl Runtime {
    fn start() -> Runtime {
        let kernel = Kernel::new(Arc::new(InMemoryFrames::with_limit(frame_limit())));
        // An empty handle table always has room for the first two handles.
        let (process, job, root_vmar) = kernel
            .boot_process(Name::new(b"self"))
            .unwrap_or_else(|status| panic!("cannot start the runtime: status {status}"));
        Runtime {
            kernel,
            process,
            job,
            root_vmar,
        }
    }

    /// The runtime, started on first use.
    pub fn get() -> &'static Runtime {
        static RUNTIME: OnceLock<Runtime> = OnceLock::new();
        RUNTIME.get_or_init(Runtime::start)
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
