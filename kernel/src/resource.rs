//! Resource objects: capabilities to privileged operations. Zircon hands the root resource to
//! drivers at start; it is what `zx_iommu_create` and `zx_vmo_create_physical` ask for.
//!
//! This kernel has one kind of resource, the root resource, which grants everything a resource
//! can grant: here, creating IOMMUs and physical VMOs over any of the physical memory the frame
//! source may lend ([`FrameSource::borrowable_range`](vm_engine::FrameSource::borrowable_range)).
//! A program gets it the way Zircon programs do, as a startup handle
//! (`zx_take_startup_handle(PA_HND(PA_RESOURCE, 0))`, see [`Kernel::create_root_resource`]).

use alloc::sync::Arc;

use crate::handle_table::HandleValue;
use crate::koid::Koid;
use crate::name::Name;
use crate::object::Object;
use crate::platform::KernelPlatform;
use crate::process::Process;
use crate::rights::Rights;
use crate::signals::Signals;
use crate::status::Status;
use crate::Kernel;

/// `ZX_RSRC_KIND_MMIO`: physical address ranges.
pub const ZX_RSRC_KIND_MMIO: u32 = 0;
/// `ZX_RSRC_KIND_ROOT`: stands in for every other kind.
pub const ZX_RSRC_KIND_ROOT: u32 = 4;

/// A resource.
pub struct Resource<P: KernelPlatform> {
    koid: Koid,
    kind: u32,
    name: Name,
    signals: Signals<P>,
}

impl<P: KernelPlatform> Resource<P> {
    /// A resource of `kind` named `name`.
    pub fn new(koid: Koid, kind: u32, name: Name) -> Self {
        Resource {
            koid,
            kind,
            name,
            signals: Signals::new(),
        }
    }

    /// The resource's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// Its kind (`ZX_RSRC_KIND_*`).
    pub fn kind(&self) -> u32 {
        self.kind
    }

    /// Whether it grants what a resource of `kind` grants (the root resource grants all).
    pub fn grants(&self, kind: u32) -> bool {
        self.kind == ZX_RSRC_KIND_ROOT || self.kind == kind
    }

    /// Its name (fixed at creation).
    pub fn name(&self) -> Name {
        self.name
    }

    /// Its signal state (no signal of its own; waiting on it just times out).
    pub fn signals(&self) -> &Signals<P> {
        &self.signals
    }
}

impl<P: KernelPlatform> Kernel<P> {
    /// Gives `process` a handle to a new root resource, with Zircon's default resource rights.
    /// Privileged: only the embedder calls this (the hosted runtime, for the startup handle a
    /// program takes once); no system call creates resources.
    pub fn create_root_resource(&self, process: &Process<P>) -> Result<HandleValue, Status> {
        let resource = Resource::new(self.allocate_koid(), ZX_RSRC_KIND_ROOT, Name::new(b"root"));
        self.handles.add(
            process,
            Object::Resource(Arc::new(resource)),
            Rights::DEFAULT_RESOURCE,
        )
    }
}
