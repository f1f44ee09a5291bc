//! Kernel objects as handles refer to them: one enum over the object types, with what every
//! object has in common (koid, type, signals, name, related koid).

use alloc::sync::Arc;

use crate::bti::{Bti, Iommu, Pmt};
use crate::koid::Koid;
use crate::name::Name;
use crate::pager::Pager;
use crate::platform::KernelPlatform;
use crate::port::Port;
use crate::process::{Job, Process, Vmar};
use crate::resource::Resource;
use crate::signals::{SignalSet, Signals};
use crate::vmo_object::VmoObject;

/// `zx_obj_type_t` values (Zircon's numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ObjectType {
    /// ZX_OBJ_TYPE_PROCESS.
    Process = 1,
    /// ZX_OBJ_TYPE_VMO.
    Vmo = 3,
    /// ZX_OBJ_TYPE_JOB.
    Job = 17,
    /// ZX_OBJ_TYPE_VMAR.
    Vmar = 18,
    /// ZX_OBJ_TYPE_RESOURCE.
    Resource = 15,
    /// ZX_OBJ_TYPE_IOMMU.
    Iommu = 23,
    /// ZX_OBJ_TYPE_BTI.
    Bti = 24,
    /// ZX_OBJ_TYPE_PMT.
    Pmt = 26,
    /// ZX_OBJ_TYPE_PORT.
    Port = 6,
    /// ZX_OBJ_TYPE_PAGER.
    Pager = 28,
}

/// A reference to a kernel object of any type.
pub enum Object<P: KernelPlatform> {
    /// A virtual memory object.
    Vmo(Arc<VmoObject<P>>),
    /// A process.
    Process(Arc<Process<P>>),
    /// A job (the default job only, for now).
    Job(Arc<Job<P>>),
    /// A virtual memory address region.
    Vmar(Arc<Vmar<P>>),
    /// A resource (the root resource).
    Resource(Arc<Resource<P>>),
    /// A (dummy) IOMMU.
    Iommu(Arc<Iommu<P>>),
    /// A bus transaction initiator.
    Bti(Arc<Bti<P>>),
    /// A pinned memory token.
    Pmt(Arc<Pmt<P>>),
    /// A port: a queue of packets.
    Port(Arc<Port<P>>),
    /// A user pager.
    Pager(Arc<Pager<P>>),
}

impl<P: KernelPlatform> Clone for Object<P> {
    fn clone(&self) -> Self {
        match self {
            Object::Vmo(o) => Object::Vmo(o.clone()),
            Object::Process(o) => Object::Process(o.clone()),
            Object::Job(o) => Object::Job(o.clone()),
            Object::Vmar(o) => Object::Vmar(o.clone()),
            Object::Resource(o) => Object::Resource(o.clone()),
            Object::Iommu(o) => Object::Iommu(o.clone()),
            Object::Bti(o) => Object::Bti(o.clone()),
            Object::Pmt(o) => Object::Pmt(o.clone()),
            Object::Port(o) => Object::Port(o.clone()),
            Object::Pager(o) => Object::Pager(o.clone()),
        }
    }
}

impl<P: KernelPlatform> Object<P> {
    /// The object's id.
    pub fn koid(&self) -> Koid {
        match self {
            Object::Vmo(o) => o.koid(),
            Object::Process(o) => o.koid(),
            Object::Job(o) => o.koid(),
            Object::Vmar(o) => o.koid(),
            Object::Resource(o) => o.koid(),
            Object::Iommu(o) => o.koid(),
            Object::Bti(o) => o.koid(),
            Object::Pmt(o) => o.koid(),
            Object::Port(o) => o.koid(),
            Object::Pager(o) => o.koid(),
        }
    }

    /// The object's type.
    pub fn object_type(&self) -> ObjectType {
        match self {
            Object::Vmo(_) => ObjectType::Vmo,
            Object::Process(_) => ObjectType::Process,
            Object::Job(_) => ObjectType::Job,
            Object::Vmar(_) => ObjectType::Vmar,
            Object::Resource(_) => ObjectType::Resource,
            Object::Iommu(_) => ObjectType::Iommu,
            Object::Bti(_) => ObjectType::Bti,
            Object::Pmt(_) => ObjectType::Pmt,
            Object::Port(_) => ObjectType::Port,
            Object::Pager(_) => ObjectType::Pager,
        }
    }

    /// `related_koid` of ZX_INFO_HANDLE_BASIC: a process's job, a VMAR's process, else 0.
    pub fn related_koid(&self) -> Koid {
        match self {
            Object::Process(o) => o.job_koid(),
            Object::Vmar(o) => o.process_koid(),
            Object::Vmo(_) | Object::Job(_) => 0,
            // Zircon reports none for these either.
            Object::Resource(_) | Object::Iommu(_) | Object::Bti(_) | Object::Pmt(_) => 0,
            Object::Port(_) | Object::Pager(_) => 0,
        }
    }

    /// The object's signal state.
    pub fn signals(&self) -> &Signals<P> {
        match self {
            Object::Vmo(o) => o.signals(),
            Object::Process(o) => o.signals(),
            Object::Job(o) => o.signals(),
            Object::Vmar(o) => o.signals(),
            Object::Resource(o) => o.signals(),
            Object::Iommu(o) => o.signals(),
            Object::Bti(o) => o.signals(),
            Object::Pmt(o) => o.signals(),
            Object::Port(o) => o.signals(),
            Object::Pager(o) => o.signals(),
        }
    }

    /// Signals the object derives from its state rather than from `zx_object_signal`.
    pub fn derived_signals(&self) -> SignalSet {
        match self {
            Object::Vmo(o) => o.derived_signals(),
            Object::Process(_) | Object::Job(_) | Object::Vmar(_) => 0,
            Object::Resource(_) | Object::Iommu(_) | Object::Bti(_) | Object::Pmt(_) => 0,
            Object::Port(_) | Object::Pager(_) => 0,
        }
    }

    /// The name, for objects that have one (VMAR names cannot be set in Zircon either).
    pub fn name(&self) -> Name {
        match self {
            Object::Vmo(o) => o.name(),
            Object::Process(o) => o.name(),
            Object::Job(o) => o.name(),
            Object::Vmar(_) => Name::EMPTY,
            Object::Resource(o) => o.name(),
            Object::Bti(o) => o.name(),
            Object::Iommu(_) | Object::Pmt(_) => Name::EMPTY,
            Object::Port(_) => Name::EMPTY,
            Object::Pager(o) => o.name(),
        }
    }

    /// Renames the object; `false` if this type of object has no settable name.
    pub fn set_name(&self, name: Name) -> bool {
        match self {
            Object::Vmo(o) => o.set_name(name),
            Object::Process(o) => o.set_name(name),
            Object::Job(o) => o.set_name(name),
            Object::Vmar(_) => return false,
            Object::Bti(o) => o.set_name(name),
            Object::Resource(_) | Object::Iommu(_) | Object::Pmt(_) => return false,
            Object::Port(_) => return false,
            Object::Pager(o) => o.set_name(name),
        }
        true
    }
}
