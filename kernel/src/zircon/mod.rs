//! The Zircon personality: the system calls of spec/zircon.md as one process issues them.
//!
//! Every call that takes a handle resolves it in the same order: not a live handle of the
//! calling process (`ZX_ERR_BAD_HANDLE`), then the wrong object type (`ZX_ERR_WRONG_TYPE`), then
//! a missing right (`ZX_ERR_ACCESS_DENIED`); argument checks follow, in each call's documented
//! order. Results are returned as values: the C ABI writes them to the caller's out-pointers
//! and reports a NULL one as `ZX_ERR_INVALID_ARGS` after every other check, dropping a handle
//! the call created (what Zircon's copy-out does).

mod abi;
mod bti_calls;
mod handle_calls;
mod info;
mod object_calls;
mod pager_calls;
mod port_calls;
mod process_calls;
mod vmar_calls;
mod vmo_calls;

use alloc::sync::Arc;

pub use abi::*;
pub use bti_calls::{
    IOMMU_DESC_DUMMY_SIZE, ZX_BTI_COMPRESS, ZX_BTI_CONTIGUOUS, ZX_BTI_PERM_EXECUTE,
    ZX_BTI_PERM_READ, ZX_BTI_PERM_WRITE, ZX_IOMMU_MAX_DESC_LEN, ZX_IOMMU_TYPE_DUMMY,
    ZX_IOMMU_TYPE_INTEL,
};
pub use info::InfoRecord;
pub use object_calls::WaitResult;

use crate::handle_table::HandleValue;
use crate::object::Object;
use crate::platform::KernelPlatform;
use crate::process::Process;
use crate::rights::Rights;
use crate::status::{Status, ZX_ERR_ACCESS_DENIED, ZX_ERR_WRONG_TYPE};
use crate::vmo_object::VmoObject;
use crate::Kernel;

/// The system calls as one process issues them.
pub struct Syscalls<'a, P: KernelPlatform> {
    kernel: &'a Kernel<P>,
    process: &'a Arc<Process<P>>,
}

impl<'a, P: KernelPlatform> Syscalls<'a, P> {
    pub(crate) fn new(kernel: &'a Kernel<P>, process: &'a Arc<Process<P>>) -> Self {
        Syscalls { kernel, process }
    }

    /// The calling process.
    pub fn process(&self) -> &Arc<Process<P>> {
        self.process
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel<P> {
        self.kernel
    }

    /// The object and rights of one of the caller's handles.
    pub fn lookup(&self, handle: HandleValue) -> Result<(Object<P>, Rights), Status> {
        self.kernel.handles.get(self.process, handle)
    }

    /// A VMO handle with at least `needed` rights.
    pub(crate) fn vmo(
        &self,
        handle: HandleValue,
        needed: Rights,
    ) -> Result<(Arc<VmoObject<P>>, Rights), Status> {
        let (object, rights) = self.lookup(handle)?;
        let Object::Vmo(vmo) = object else {
            return Err(ZX_ERR_WRONG_TYPE);
        };
        require(rights, needed)?;
        Ok((vmo, rights))
    }

    /// Adds a handle of the caller.
    pub(crate) fn add_handle(
        &self,
        object: Object<P>,
        rights: Rights,
    ) -> Result<HandleValue, Status> {
        self.kernel.handles.add(self.process, object, rights)
    }
}

/// `ZX_ERR_ACCESS_DENIED` unless `held` includes every right of `needed`.
pub(crate) fn require(held: Rights, needed: Rights) -> Result<(), Status> {
    if held.contains(needed) {
        Ok(())
    } else {
        Err(ZX_ERR_ACCESS_DENIED)
    }
}
