//! Kernel objects as handles refer to them: one enum over the object types, with what every
//! object has in common (koid, type, signals, name, related koid).

use alloc::sync::Arc;

use crate::koid::Koid;
use crate::name::Name;
use crate::platform::KernelPlatform;
use crate::process::{Job, Process, Vmar};
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
}

impl<P: KernelPlatform> Clone for Object<P> {
    fn clone(&self) -> Self {
        match self {
            Object::Vmo(o) => Object::Vmo(o.clone()),
            Object::Process(o) => Object::Process(o.clone()),
            Object::Job(o) => Object::Job(o.clone()),
            Object::Vmar(o) => Object::Vmar(o.clone()),
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
        }
    }

    /// The object's type.
    pub fn object_type(&self) -> ObjectType {
        match self {
            Object::Vmo(_) => ObjectType::Vmo,
            Object::Process(_) => ObjectType::Process,
            Object::Job(_) => ObjectType::Job,
            Object::Vmar(_) => ObjectType::Vmar,
        }
    }

    /// `related_koid` of ZX_INFO_HANDLE_BASIC: a process's job, a VMAR's process, else 0.
    pub fn related_koid(&self) -> Koid {
        match self {
            Object::Process(o) => o.job_koid(),
            Object::Vmar(o) => o.process_koid(),
            Object::Vmo(_) | Object::Job(_) => 0,
        }
    }

    /// The object's signal state.
    pub fn signals(&self) -> &Signals<P> {
        match self {
            Object::Vmo(o) => o.signals(),
            Object::Process(o) => o.signals(),
            Object::Job(o) => o.signals(),
            Object::Vmar(o) => o.signals(),
        }
    }

    /// Signals the object derives from its state rather than from `zx_object_signal`.
    pub fn derived_signals(&self) -> SignalSet {
        match self {
            Object::Vmo(o) => o.derived_signals(),
            Object::Process(_) | Object::Job(_) | Object::Vmar(_) => 0,
        }
    }

    /// The name, for objects that have one (VMAR names cannot be set in Zircon either).
    pub fn name(&self) -> Name {
        match self {
            Object::Vmo(o) => o.name(),
            Object::Process(o) => o.name(),
            Object::Job(o) => o.name(),
            Object::Vmar(_) => Name::EMPTY,
        }
    }

    /// Renames the object; `false` if this type of object has no settable name.
    pub fn set_name(&self, name: Name) -> bool {
        match self {
            Object::Vmo(o) => o.set_name(name),
            Object::Process(o) => o.set_name(name),
            Object::Job(o) => o.set_name(name),
            Object::Vmar(_) => return false,
        }
        true
    }
}
