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

pub mod handle_table;
pub mod koid;
pub mod magenta;
pub mod name;
pub mod object;
pub mod platform;
pub mod process;
pub mod rights;
pub mod signals;
pub mod status;
pub mod user;
pub mod vmo_object;
pub mod zircon;

use alloc::sync::Arc;

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

/// One kernel: its frames, objects and handles.
pub struct Kernel<P: KernelPlatform> {
    frames: Arc<P::Frames>,
    koids: KoidAllocator,
    handles: Arc<HandleTable<P>>,
    root_job: Arc<Job<P>>,
}

impl<P: KernelPlatform> Kernel<P> {
    /// A kernel whose VMOs take frames from `frames`, with the root job and no process.
    pub fn new(frames: Arc<P::Frames>) -> Self {
        let koids = KoidAllocator::new();
        let root_job = Arc::new(Job::new(koids.allocate()));
        Kernel {
            frames,
            koids,
            handles: Arc::new(HandleTable::new()),
            root_job,
        }
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

    /// A new process in the root job, holding no handle.
    pub fn create_process(&self, name: Name) -> Arc<Process<P>> {
        let koid = self.koids.allocate();
        let vmar = self.koids.allocate();
        Arc::new(Process::new(
            koid,
            vmar,
            self.root_job.koid(),
            name,
            &self.handles,
        ))
    }

    /// A process to run system calls as, with handles to its job and its root VMAR (what a
    /// real kernel gives a process at start), returned as `(job, root VMAR)`.
    pub fn boot_process(
        &self,
        name: Name,
    ) -> Result<(Arc<Process<P>>, HandleValue, HandleValue), Status> {
        let process = self.create_process(name);
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
}
