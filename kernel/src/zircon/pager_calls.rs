//! The pager system calls: `zx_pager_create`, `zx_pager_create_vmo`, `zx_pager_detach_vmo` and
//! `zx_pager_supply_pages`. Check orders follow Zircon's syscall code (its pager handles need no
//! right in this generation of the API); see each call. What a pager-backed VMO does when a page
//! is missing is in `crate::pager`.

use alloc::sync::Arc;

use vm_engine::{Vmo, VmoOptions, PAGE_SIZE};

use crate::handle_table::HandleValue;
use crate::object::Object;
use crate::pager::{Pager, PagerBinding};
use crate::platform::KernelPlatform;
use crate::rights::Rights;
use crate::status::*;
use crate::vmo_object::VmoObject;

use super::abi::ZX_VMO_RESIZABLE;
use super::vmo_calls::vmo_size;
use super::Syscalls;

const PAGE: u64 = PAGE_SIZE as u64;

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// A pager handle (`ZX_ERR_BAD_HANDLE`, `ZX_ERR_WRONG_TYPE`); Zircon asks no right of it.
    fn pager(&self, handle: HandleValue) -> Result<Arc<Pager<P>>, Status> {
        let (object, _) = self.lookup(handle)?;
        match object {
            Object::Pager(pager) => Ok(pager),
            _ => Err(ZX_ERR_WRONG_TYPE),
        }
    }

    /// `zx_pager_create`: options must be 0 (`ZX_ERR_INVALID_ARGS`). The handle has Zircon's
    /// default pager rights (no DUPLICATE, no WAIT).
    pub fn pager_create(&self, options: u32) -> Result<HandleValue, Status> {
        if options != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let pager = Pager::new(self.kernel.allocate_koid());
        self.add_handle(Object::Pager(Arc::new(pager)), Rights::DEFAULT_PAGER)
    }

    /// `zx_pager_create_vmo`, in the order of Zircon's syscall: the pager handle; the port
    /// handle, which needs WRITE; options 0 or ZX_VMO_RESIZABLE (`ZX_ERR_INVALID_ARGS`); the
    /// size, rounded up to pages (`ZX_ERR_OUT_OF_RANGE` above the largest VMO). The VMO's
    /// handle has the rights of `zx_vmo_create`'s (RESIZE too if resizable); its page requests
    /// go to the port with `key`.
    pub fn pager_create_vmo(
        &self,
        pager: HandleValue,
        options: u32,
        port: HandleValue,
        key: u64,
        size: u64,
    ) -> Result<HandleValue, Status> {
        let pager = self.pager(pager)?;
        let port = self.port(port, Rights::WRITE)?;
        if options & !ZX_VMO_RESIZABLE != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let resizable = options & ZX_VMO_RESIZABLE != 0;
        vmo_size(size)?;
        let vmo =
            Vmo::create_pager_backed(self.kernel.frames.clone(), size, VmoOptions { resizable })
                .map_err(from_vm_error)?;
        let koid = self.kernel.allocate_koid();
        let binding = pager.bind(port.queue().clone(), key, koid)?;
        let object = VmoObject::new_pager_backed(vmo, koid, binding);
        let mut rights = Rights::DEFAULT_VMO;
        if resizable {
            rights |= Rights::RESIZE;
        }
        self.add_handle(Object::Vmo(Arc::new(object)), rights)
    }

    /// `zx_pager_detach_vmo`: the pager handle, then the VMO handle (no right needed), then the
    /// VMO must be one `pager` created (`ZX_ERR_INVALID_ARGS`; its clones are not). Threads
    /// waiting for its pages fail, later accesses to missing pages fail, and the port receives
    /// ZX_PAGER_VMO_COMPLETE. Detaching again changes nothing.
    pub fn pager_detach_vmo(&self, pager: HandleValue, vmo: HandleValue) -> Result<(), Status> {
        let pager = self.pager(pager)?;
        let (vmo, _) = self.vmo(vmo, Rights::empty())?;
        created_by(&vmo, &pager)?.detach();
        Ok(())
    }

    /// `zx_pager_supply_pages`, in the order of Zircon's syscall: `offset`, `length` and
    /// `aux_offset` page aligned (`ZX_ERR_INVALID_ARGS`, before any handle); the pager handle;
    /// the pager VMO's handle (no right needed), which must be one `pager` created
    /// (`ZX_ERR_INVALID_ARGS`); the aux VMO's handle, which needs READ and WRITE. Then, where
    /// Zircon checks it while supplying, a detached VMO (or closed pager) is `ZX_ERR_BAD_STATE`
    /// (checked here before anything moves, so it comes before the range errors below); then
    /// the engine's checks: an aux VMO that is physical or contiguous (`ZX_ERR_NOT_SUPPORTED`),
    /// the aux range (`ZX_ERR_OUT_OF_RANGE`), an aux VMO that is not a plain VMO of its own
    /// (a child, with children, pager-backed: `ZX_ERR_BAD_STATE`), the pager VMO's range
    /// (`ZX_ERR_OUT_OF_RANGE`), memory (`ZX_ERR_NO_MEMORY`).
    ///
    /// Pages move from the aux VMO without a copy; pages of it that hold nothing supply zeros;
    /// pages the pager VMO already holds are kept, and the aux VMO's are freed. Afterwards the
    /// aux range holds nothing. Threads waiting for the supplied pages go on.
    pub fn pager_supply_pages(
        &self,
        pager: HandleValue,
        pager_vmo: HandleValue,
        offset: u64,
        length: u64,
        aux_vmo: HandleValue,
        aux_offset: u64,
    ) -> Result<(), Status> {
        if offset % PAGE != 0 || length % PAGE != 0 || aux_offset % PAGE != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let pager = self.pager(pager)?;
        let (vmo, _) = self.vmo(pager_vmo, Rights::empty())?;
        let binding = created_by(&vmo, &pager)?;
        let (aux, _) = self.vmo(aux_vmo, Rights::READ | Rights::WRITE)?;
        if !binding.is_attached() {
            return Err(ZX_ERR_BAD_STATE);
        }
        vmo.vmo()
            .supply(offset, length, aux.vmo(), aux_offset)
            .map_err(from_vm_error)?;
        binding.supplied(offset, length);
        Ok(())
    }
}

/// The binding of `vmo` if `pager` created it (`zx_pager_create_vmo`); `ZX_ERR_INVALID_ARGS`
/// for any other VMO, clones of pager-backed VMOs included (as in Zircon, where only the VMO
/// itself records its pager).
fn created_by<'a, P: KernelPlatform>(
    vmo: &'a VmoObject<P>,
    pager: &Pager<P>,
) -> Result<&'a Arc<PagerBinding<P>>, Status> {
    vmo.pager()
        .filter(|binding| binding.pager_koid() == pager.koid() && binding.vmo_koid() == vmo.koid())
        .ok_or(ZX_ERR_INVALID_ARGS)
}
