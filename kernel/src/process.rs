//! Processes, the default job, and VMAR objects. A process owns the handles in the kernel's
//! table that carry its koid and an address space; when its last reference goes, so do its
//! handles and every mapping of its address space (VMAR handles held elsewhere then answer
//! `ZX_ERR_BAD_STATE`).

use alloc::sync::{Arc, Weak};

use core::sync::atomic::{AtomicBool, Ordering};

use vm_engine::AddressSpace;

use crate::jinue::descriptors::DescriptorTable;

use crate::handle_table::HandleTable;
use crate::koid::Koid;
use crate::name::Name;
use crate::platform::KernelPlatform;
use crate::signals::Signals;

/// A process: a handle namespace (its entries in the kernel's handle table) and a root VMAR.
pub struct Process<P: KernelPlatform> {
    koid: Koid,
    job: Koid,
    name: lock_api::Mutex<P::RawMutex, Name>,
    signals: Signals<P>,
    handle_mask: u32,
    root_vmar: Arc<Vmar<P>>,
    handles: Weak<HandleTable<P>>,
    /// The Jinue personality's descriptors.
    descriptors: lock_api::Mutex<P::RawMutex, DescriptorTable<P>>,
    /// Set by Jinue's DESTROY: the process holds nothing and its descriptors elsewhere fail.
    destroyed: AtomicBool,
    // Last: the handles go first, then the mappings.
    address_space: AddressSpace<P>,
}

impl<P: KernelPlatform> Process<P> {
    pub(crate) fn new(
        koid: Koid,
        vmar_koid: Koid,
        job: Koid,
        name: Name,
        handles: &Arc<HandleTable<P>>,
        address_space: AddressSpace<P>,
    ) -> Self {
        Process {
            koid,
            job,
            name: lock_api::Mutex::new(name),
            signals: Signals::new(),
            handle_mask: handle_mask_for(koid),
            root_vmar: Arc::new(Vmar::new(vmar_koid, koid, address_space.root())),
            handles: Arc::downgrade(handles),
            descriptors: lock_api::Mutex::new(DescriptorTable::new()),
            destroyed: AtomicBool::new(false),
            address_space,
        }
    }

    /// The process's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// The id of the job it was created in.
    pub fn job_koid(&self) -> Koid {
        self.job
    }

    /// The process's name.
    pub fn name(&self) -> Name {
        *self.name.lock()
    }

    /// Renames the process.
    pub fn set_name(&self, name: Name) {
        *self.name.lock() = name;
    }

    /// The process's signal state.
    pub fn signals(&self) -> &Signals<P> {
        &self.signals
    }

    /// The root of the process's address space.
    pub fn root_vmar(&self) -> &Arc<Vmar<P>> {
        &self.root_vmar
    }

    /// The process's address space.
    pub fn address_space(&self) -> &AddressSpace<P> {
        &self.address_space
    }

    /// The process's Jinue descriptor table.
    pub fn descriptors(&self) -> &lock_api::Mutex<P::RawMutex, DescriptorTable<P>> {
        &self.descriptors
    }

    /// Whether Jinue's DESTROY destroyed it.
    pub fn is_destroyed(&self) -> bool {
        self.destroyed.load(Ordering::Acquire)
    }

    /// Destroys the process (Jinue's DESTROY): its mappings and descriptors go at once; the
    /// object stays for those who still name it, and they learn it is gone.
    pub fn destroy(&self) {
        if self.destroyed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.address_space.destroy();
        // Dropped after the table's lock: they may hold the last reference to other processes.
        let released = self.descriptors.lock().clear();
        drop(released);
    }

    /// The value XORed into this process's handle values, so that the same slot of the table
    /// reads differently in each process (values are still checked against their owner).
    pub(crate) fn handle_mask(&self) -> u32 {
        self.handle_mask
    }
}

impl<P: KernelPlatform> Drop for Process<P> {
    fn drop(&mut self) {
        if let Some(table) = self.handles.upgrade() {
            // Objects the handles kept alive are dropped here, after the table's lock is gone.
            drop(table.remove_all_of(self.koid));
        }
    }
}

/// Spreads a koid over the handle value's bits (a multiplicative hash), leaving the two low
/// bits alone so that every handle value keeps them set.
fn handle_mask_for(koid: Koid) -> u32 {
    let spread = koid.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    // Truncation intended: any 32 bits of the hash do.
    (spread as u32) & !3
}

/// A job: processes are created in one. Only the default job exists.
pub struct Job<P: KernelPlatform> {
    koid: Koid,
    name: lock_api::Mutex<P::RawMutex, Name>,
    signals: Signals<P>,
}

impl<P: KernelPlatform> Job<P> {
    pub(crate) fn new(koid: Koid) -> Self {
        Job {
            koid,
            name: lock_api::Mutex::new(Name::new(b"root")),
            signals: Signals::new(),
        }
    }

    /// The job's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// The job's name.
    pub fn name(&self) -> Name {
        *self.name.lock()
    }

    /// Renames the job.
    pub fn set_name(&self, name: Name) {
        *self.name.lock() = name;
    }

    /// The job's signal state.
    pub fn signals(&self) -> &Signals<P> {
        &self.signals
    }
}

/// A virtual memory address region of a process: the kernel object for an engine region.
pub struct Vmar<P: KernelPlatform> {
    koid: Koid,
    process: Koid,
    signals: Signals<P>,
    region: vm_engine::Vmar<P>,
}

impl<P: KernelPlatform> Vmar<P> {
    pub(crate) fn new(koid: Koid, process: Koid, region: vm_engine::Vmar<P>) -> Self {
        Vmar {
            koid,
            process,
            signals: Signals::new(),
            region,
        }
    }

    /// The engine region.
    pub fn region(&self) -> &vm_engine::Vmar<P> {
        &self.region
    }

    /// The VMAR's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// The process whose address space it is part of.
    pub fn process_koid(&self) -> Koid {
        self.process
    }

    /// The VMAR's signal state.
    pub fn signals(&self) -> &Signals<P> {
        &self.signals
    }
}
