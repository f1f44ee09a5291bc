//! The VMAR calls of spec/zircon.md section 6: `zx_vmar_map`, `unmap`, `protect`, `allocate`,
//! `destroy`. Handles are resolved first (`BAD_HANDLE`, `WRONG_TYPE`), then options and
//! arguments, then rights, then the engine's own checks (see `vm_engine`'s address-space module
//! for their order). Each call's order is written on it.

use alloc::sync::Arc;

use vm_engine::{KeepAlive, MapRequest, Perms, RegionRequest};

use crate::handle_table::HandleValue;
use crate::object::Object;
use crate::platform::KernelPlatform;
use crate::process::Vmar;
use crate::rights::Rights;
use crate::status::*;

use super::abi::*;
use super::{require, Syscalls};

const PAGE: u64 = vm_engine::PAGE_SIZE as u64;
const PERMS: u32 = ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE;
const CAN_MAP: u32 = ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE;

/// The mapping permissions of an options word.
fn perms_of(options: u32) -> Perms {
    Perms::from_bits_truncate(options & PERMS)
}

/// The handle rights that allow each permission.
fn rights_for(perms: Perms) -> Rights {
    let mut rights = Rights::empty();
    for (perm, right) in [
        (Perms::READ, Rights::READ),
        (Perms::WRITE, Rights::WRITE),
        (Perms::EXECUTE, Rights::EXECUTE),
    ] {
        if perms.contains(perm) {
            rights |= right;
        }
    }
    rights
}

/// The permissions a handle's rights allow.
fn perms_allowed_by(rights: Rights) -> Perms {
    let mut perms = Perms::empty();
    for (right, perm) in [
        (Rights::READ, Perms::READ),
        (Rights::WRITE, Perms::WRITE),
        (Rights::EXECUTE, Perms::EXECUTE),
    ] {
        if rights.contains(right) {
            perms |= perm;
        }
    }
    perms
}

/// Writing or executing needs reading too (`INVALID_ARGS`).
fn check_perms(perms: Perms) -> Result<(), Status> {
    if !perms.is_empty() && !perms.contains(Perms::READ) {
        return Err(ZX_ERR_INVALID_ARGS);
    }
    Ok(())
}

/// The base alignment the options ask for: the field is 0 (a page) or 10..=32.
fn alignment(options: u32) -> Result<u64, Status> {
    match (options & ZX_VM_ALIGN_MASK) >> ZX_VM_ALIGN_BASE {
        0 => Ok(PAGE),
        shift @ 10..=32 => Ok((1u64 << shift).max(PAGE)),
        _ => Err(ZX_ERR_INVALID_ARGS),
    }
}

fn aligned(value: u64) -> bool {
    value % PAGE == 0
}

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// A VMAR handle and its rights (`BAD_HANDLE`, `WRONG_TYPE`).
    fn vmar(&self, handle: HandleValue) -> Result<(Arc<Vmar<P>>, Rights), Status> {
        match self.lookup(handle)? {
            (Object::Vmar(vmar), rights) => Ok((vmar, rights)),
            _ => Err(ZX_ERR_WRONG_TYPE),
        }
    }

    /// `zx_vmar_map`. Order: VMAR handle, VMO handle (`BAD_HANDLE`, `WRONG_TYPE`); unknown or
    /// CAN_MAP_* option bits, a bad alignment field, MAP_RANGE with SPECIFIC_OVERWRITE, write or
    /// execute without read (`INVALID_ARGS`); unaligned offsets, length 0, an offset without a
    /// specific placement (`INVALID_ARGS`); the VMO handle's MAP right, then READ / WRITE /
    /// EXECUTE for each permission (`ACCESS_DENIED`); REQUIRE_NON_RESIZABLE on a resizable VMO
    /// (`NOT_SUPPORTED`); length rounding or `vmo_offset + len` overflow (`OUT_OF_RANGE`); the
    /// VMAR handle's rights for each permission (`ACCESS_DENIED`); then the region: destroyed
    /// (`BAD_STATE`), CAN_MAP_* limits (`ACCESS_DENIED`), placement (`ACCESS_DENIED` without
    /// CAN_MAP_SPECIFIC, `INVALID_ARGS` outside the region, `ALREADY_EXISTS` on a collision,
    /// `NO_RESOURCES` without room). Returns the address.
    pub fn vmar_map(
        &self,
        vmar: HandleValue,
        options: u32,
        vmar_offset: u64,
        vmo: HandleValue,
        vmo_offset: u64,
        len: u64,
    ) -> Result<u64, Status> {
        let (vmar, vmar_rights) = self.vmar(vmar)?;
        let (vmo, vmo_rights) = self.vmo(vmo, Rights::empty())?;
        let known = PERMS
            | ZX_VM_SPECIFIC
            | ZX_VM_SPECIFIC_OVERWRITE
            | ZX_VM_MAP_RANGE
            | ZX_VM_REQUIRE_NON_RESIZABLE
            | ZX_VM_ALIGN_MASK;
        if options & !known != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let align = alignment(options)?;
        let overwrite = options & ZX_VM_SPECIFIC_OVERWRITE != 0;
        if overwrite && options & ZX_VM_MAP_RANGE != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let perms = perms_of(options);
        check_perms(perms)?;
        let specific = options & (ZX_VM_SPECIFIC | ZX_VM_SPECIFIC_OVERWRITE) != 0;
        if !aligned(vmar_offset) || !aligned(vmo_offset) || len == 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        if vmar_offset != 0 && !specific {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        require(vmo_rights, Rights::MAP)?;
        require(vmo_rights, rights_for(perms))?;
        if options & ZX_VM_REQUIRE_NON_RESIZABLE != 0 && vmo.vmo().is_resizable() {
            return Err(ZX_ERR_NOT_SUPPORTED);
        }
        let rounded = vm_engine::round_up_to_page(len).ok_or(ZX_ERR_OUT_OF_RANGE)?;
        vmo_offset.checked_add(rounded).ok_or(ZX_ERR_OUT_OF_RANGE)?;
        require(vmar_rights, rights_for(perms))?;
        let max_perms = perms_allowed_by(vmo_rights) & perms_allowed_by(vmar_rights);
        let keep_alive: KeepAlive = vmo.clone();
        let request = MapRequest {
            offset: specific.then_some(vmar_offset),
            overwrite,
            vmo: vmo.shared_vmo().clone(),
            vmo_offset,
            len: rounded,
            perms,
            max_perms,
            align,
            populate: options & ZX_VM_MAP_RANGE != 0,
            keep_alive: Some(keep_alive),
        };
        vmar.region().map(request).map_err(from_vm_error)
    }

    /// `zx_vmar_unmap`: the VMAR handle (no right needed); an unaligned address or a length of
    /// 0 (`INVALID_ARGS`; the length is rounded up to pages); a destroyed VMAR (`BAD_STATE`); a
    /// range outside the VMAR or partly covering a sub-VMAR (`INVALID_ARGS`). Sub-VMARs inside
    /// the range are destroyed; a range with nothing mapped is fine.
    pub fn vmar_unmap(&self, vmar: HandleValue, addr: u64, len: u64) -> Result<(), Status> {
        let (vmar, _) = self.vmar(vmar)?;
        vmar.region().unmap(addr, len).map_err(from_vm_error)
    }

    /// `zx_vmar_protect`: the VMAR handle; option bits other than the permissions, or write or
    /// execute without read (`INVALID_ARGS`); the handle's rights for each permission
    /// (`ACCESS_DENIED`); then as `unmap` for the range, and in address order: a gap
    /// (`NOT_FOUND`), a sub-VMAR (`INVALID_ARGS`), a permission above what the VMO handle
    /// allowed when the range was mapped (`ACCESS_DENIED`). Permissions may go down or up.
    pub fn vmar_protect(
        &self,
        vmar: HandleValue,
        options: u32,
        addr: u64,
        len: u64,
    ) -> Result<(), Status> {
        let (vmar, rights) = self.vmar(vmar)?;
        if options & !PERMS != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let perms = perms_of(options);
        check_perms(perms)?;
        require(rights, rights_for(perms))?;
        vmar.region()
            .protect(addr, len, perms)
            .map_err(from_vm_error)
    }

    /// `zx_vmar_allocate`: the parent handle; option bits other than CAN_MAP_*, SPECIFIC,
    /// COMPACT and the alignment field (`INVALID_ARGS`); the parent handle's READ / WRITE /
    /// EXECUTE for each CAN_MAP_* asked (`ACCESS_DENIED`); an unaligned or zero size, an
    /// unaligned offset, an offset without SPECIFIC (`INVALID_ARGS`); then the region: destroyed
    /// (`BAD_STATE`), CAN_MAP_* beyond the parent's (`ACCESS_DENIED`), placement as for
    /// `zx_vmar_map`. Returns the new VMAR's handle (default VMAR rights less the READ / WRITE /
    /// EXECUTE it cannot map with) and address.
    pub fn vmar_allocate(
        &self,
        parent: HandleValue,
        options: u32,
        offset: u64,
        size: u64,
    ) -> Result<(HandleValue, u64), Status> {
        let (parent, rights) = self.vmar(parent)?;
        let known =
            CAN_MAP | ZX_VM_CAN_MAP_SPECIFIC | ZX_VM_SPECIFIC | ZX_VM_COMPACT | ZX_VM_ALIGN_MASK;
        if options & !known != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let align = alignment(options)?;
        let allows = Perms::from_bits_truncate((options & CAN_MAP) >> 7);
        require(rights, rights_for(allows))?;
        let specific = options & ZX_VM_SPECIFIC != 0;
        if size == 0 || !aligned(size) || !aligned(offset) || (offset != 0 && !specific) {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let region = parent
            .region()
            .allocate(RegionRequest {
                offset: specific.then_some(offset),
                size,
                align,
                allows,
                can_map_specific: options & ZX_VM_CAN_MAP_SPECIFIC != 0,
            })
            .map_err(from_vm_error)?;
        let base = region.base().map_err(from_vm_error)?;
        let child = Arc::new(Vmar::new(
            self.kernel.allocate_koid(),
            parent.process_koid(),
            region.clone(),
        ));
        let child_rights = Rights::DEFAULT_VMAR - (rights_for(Perms::all()) - rights_for(allows));
        match self.add_handle(Object::Vmar(child), child_rights) {
            Ok(handle) => Ok((handle, base)),
            Err(status) => {
                // No handle, no region: undo the allocation.
                let _ = region.destroy();
                Err(status)
            }
        }
    }

    /// `zx_vmar_destroy`: the VMAR handle; a VMAR already destroyed (`BAD_STATE`); a root VMAR
    /// (`NOT_SUPPORTED`: it goes with its process). Unmaps everything inside and destroys every
    /// sub-VMAR; handles to them then answer `BAD_STATE`.
    pub fn vmar_destroy(&self, vmar: HandleValue) -> Result<(), Status> {
        let (vmar, _) = self.vmar(vmar)?;
        vmar.region().destroy().map_err(from_vm_error)
    }
}
