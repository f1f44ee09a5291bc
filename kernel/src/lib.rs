//! The kernel layer: kernel objects (VMOs, processes, the default job, VMARs) with koids,
//! signals and names; one handle table with rights for every process; and the system calls of
//! each personality, which turn raw arguments into the engine's typed operations in the
//! documented check order and the engine's errors into each personality's status codes.
//!
//! A system call is made on behalf of a process: [`Kernel::syscalls`] gives the calls as that
//! process issues them, and handle values mean something only to the process that owns them.
//!
//! Like the engine it is `no_std + alloc` and free of `unsafe`; the host supplies a clock and a
//! way to block through [`KernelPlatform`].

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod bti;
pub mod handle_table;
pub mod jinue;
pub mod koid;
pub mod magenta;
pub mod name;
pub mod object;
pub mod pager;
pub mod platform;
pub mod port;
pub mod process;
pub mod resource;
pub mod rights;
pub mod signals;
pub mod status;
pub mod user;
pub mod vmo_object;
pub mod zircon;

use alloc::boxed::Box;
use alloc::sync::Arc;

use vm_engine::{AddressSpace, Mmu, SoftwareMmu};

pub use handle_table::{HandleTable, HandleValue, HANDLE_INVALID};
pub use koid::Koid;
pub use name::Name;
pub use object::{Object, ObjectType};
pub use platform::{Event, KernelPlatform, Time};
pub use process::{Job, Process, Vmar};
pub use rights::Rights;
pub use status::Status;
pub use user::{UserBuffer, UserBytes};
pub use vmo_object::VmoObject;
pub use zircon::Syscalls;

use koid::KoidAllocator;

/// Where every process's root VMAR starts when the embedder does not say: Zircon's user
/// address space on x86-64 (16 MiB up to just below 2^47).
pub const DEFAULT_USER_BASE: u64 = 0x100_0000;
/// Size of the default user range.
pub const DEFAULT_USER_SIZE: u64 = (1 << 47) - DEFAULT_USER_BASE - 4096;

/// One kernel: its frames, objects and handles.
pub struct Kernel<P: KernelPlatform> {
    frames: Arc<P::Frames>,
    koids: KoidAllocator,
    handles: Arc<HandleTable<P>>,
    root_job: Arc<Job<P>>,
    /// Base and size of every process's root VMAR.
    user_range: (u64, u64),
}

impl<P: KernelPlatform> Kernel<P> {
    /// A kernel whose VMOs take frames from `frames`, with the root job and no process, and
    /// root VMARs covering the default user range.
    pub fn new(frames: Arc<P::Frames>) -> Self {
        Self::with_user_range(frames, DEFAULT_USER_BASE, DEFAULT_USER_SIZE)
    }

    /// A kernel whose processes' root VMARs all cover `[base, base + size)` (page aligned).
    pub fn with_user_range(frames: Arc<P::Frames>, base: u64, size: u64) -> Self {
        let koids = KoidAllocator::new();
        let root_job = Arc::new(Job::new(koids.allocate()));
        Kernel {
            frames,
            koids,
            handles: Arc::new(HandleTable::new()),
            root_job,
            user_range: (base, size),
        }
    }

    /// Base and size of every root VMAR.
    pub fn user_range(&self) -> (u64, u64) {
        self.user_range
    }

    /// Where VMO pages come from.
    pub fn frames(&self) -> &Arc<P::Frames> {
        &self.frames
    }

    /// Every live handle.
    pub fn handles(&self) -> &HandleTable<P> {
        &self.handles
    }

    /// The job processes are created in.
    pub fn root_job(&self) -> &Arc<Job<P>> {
        &self.root_job
    }

    /// A new koid.
    pub fn allocate_koid(&self) -> Koid {
        self.koids.allocate()
    }

    /// A new process in the root job, holding no handle, whose address space has a software
    /// MMU (it runs no thread: its memory is reached through the kernel).
    pub fn create_process(&self, name: Name) -> Result<Arc<Process<P>>, Status> {
        self.create_process_with_mmu(name, Box::new(SoftwareMmu::new()))
    }

    /// A new process whose address space's translations go to `mmu`.
    pub fn create_process_with_mmu(
        &self,
        name: Name,
        mmu: Box<dyn Mmu>,
    ) -> Result<Arc<Process<P>>, Status> {
        let (base, size) = self.user_range;
        let space = AddressSpace::new(base, size, mmu).map_err(status::from_vm_error)?;
        let koid = self.koids.allocate();
        let vmar = self.koids.allocate();
        Ok(Arc::new(Process::new(
            koid,
            vmar,
            self.root_job.koid(),
            name,
            &self.handles,
            space,
        )))
    }

    /// A process to run system calls as, with handles to its job and its root VMAR (what a
    /// real kernel gives a process at start), returned as `(job, root VMAR)`.
    pub fn boot_process(
        &self,
        name: Name,
    ) -> Result<(Arc<Process<P>>, HandleValue, HandleValue), Status> {
        self.boot_process_with_mmu(name, Box::new(SoftwareMmu::new()))
    }

    /// [`Kernel::boot_process`] with the address space's translations going to `mmu` (the
    /// hosted runtime's MMU makes them real for the calling program).
    pub fn boot_process_with_mmu(
        &self,
        name: Name,
        mmu: Box<dyn Mmu>,
    ) -> Result<(Arc<Process<P>>, HandleValue, HandleValue), Status> {
        let process = self.create_process_with_mmu(name, mmu)?;
        let job = self.handles.add(
            &process,
            Object::Job(self.root_job.clone()),
            Rights::DEFAULT_JOB,
        )?;
        let vmar = self.handles.add(
            &process,
            Object::Vmar(process.root_vmar().clone()),
            Rights::DEFAULT_VMAR,
        )?;
        Ok((process, job, vmar))
    }

    /// The system calls as `process` issues them.
    pub fn syscalls<'a>(&'a self, process: &'a Arc<Process<P>>) -> Syscalls<'a, P> {
        Syscalls::new(self, process)
    }

    /// The Jinue calls as `process` issues them.
    pub fn jinue<'a>(&'a self, process: &'a Arc<Process<P>>) -> jinue::JinueCalls<'a, P> {
        jinue::JinueCalls::new(self, process)
    }
}
