//! Address-space regions: [`Vmar`] owns a VMAR handle of the calling program (or borrows the
//! root, [`Vmar::root_self`]) and maps VMOs into real memory as owned [`Mapping`]s, with the
//! option word of the VMAR calls ([`VmarFlags`]) and `zx_info_vmar_t` ([`VmarInfo`]).
//!
//! Making a mapping is safe, and so is everything a [`Mapping`] does with its own range. The
//! calls that can take memory away from under a live `Mapping` are `unsafe`, as in Fuchsia's
//! `zx` crate: [`Vmar::unmap`], [`Vmar::protect`], [`Vmar::destroy`] and
//! [`Vmar::map_raw`] (whose `SPECIFIC_OVERWRITE` replaces what was mapped).

use std::sync::OnceLock;

use bitflags::bitflags;
use vm_kernel::zircon as abi;
use vm_kernel::HANDLE_INVALID;

use super::handle::{self, Handle, Koid, ObjectType, Rights, SAME_RIGHTS};
use super::mapping::{Mapping, UnmapWith};
use super::status::{Result, Status};
use super::vmo::Vmo;
use crate::c_abi;

/// The page size.
const PAGE: usize = 4096;

bitflags! {
    /// Options of the VMAR calls (`zx_vm_option_t`): the permissions of a mapping, where to
    /// place it, and what a new VMAR allows inside it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct VmarFlags: u32 {
        /// `ZX_VM_PERM_READ`: the mapping may be read.
        const PERM_READ = abi::ZX_VM_PERM_READ;
        /// `ZX_VM_PERM_WRITE`: the mapping may be written (needs `PERM_READ`).
        const PERM_WRITE = abi::ZX_VM_PERM_WRITE;
        /// `ZX_VM_PERM_EXECUTE`: the mapping may be executed (needs `PERM_READ`).
        const PERM_EXECUTE = abi::ZX_VM_PERM_EXECUTE;
        /// `ZX_VM_COMPACT`: a placement hint for [`Vmar::allocate`] (accepted and ignored).
        const COMPACT = abi::ZX_VM_COMPACT;
        /// `ZX_VM_SPECIFIC`: place at the given offset in the VMAR.
        const SPECIFIC = abi::ZX_VM_SPECIFIC;
        /// `ZX_VM_SPECIFIC_OVERWRITE`: place at the given offset, replacing what is mapped there
        /// (only through the `unsafe` [`Vmar::map_raw`]).
        const SPECIFIC_OVERWRITE = abi::ZX_VM_SPECIFIC_OVERWRITE;
        /// `ZX_VM_CAN_MAP_SPECIFIC`: a new VMAR accepts specific placements.
        const CAN_MAP_SPECIFIC = abi::ZX_VM_CAN_MAP_SPECIFIC;
        /// `ZX_VM_CAN_MAP_READ`: a new VMAR accepts readable mappings.
        const CAN_MAP_READ = abi::ZX_VM_CAN_MAP_READ;
        /// `ZX_VM_CAN_MAP_WRITE`: a new VMAR accepts writable mappings.
        const CAN_MAP_WRITE = abi::ZX_VM_CAN_MAP_WRITE;
        /// `ZX_VM_CAN_MAP_EXECUTE`: a new VMAR accepts executable mappings.
        const CAN_MAP_EXECUTE = abi::ZX_VM_CAN_MAP_EXECUTE;
        /// `ZX_VM_MAP_RANGE`: install translations for the pages already committed.
        const MAP_RANGE = abi::ZX_VM_MAP_RANGE;
        /// `ZX_VM_REQUIRE_NON_RESIZABLE`: refuse a resizable VMO (always added by [`Vmar::map`]).
        const REQUIRE_NON_RESIZABLE = abi::ZX_VM_REQUIRE_NON_RESIZABLE;
    }
}

impl VmarFlags {
    /// The three permission bits.
    pub const PERMS: VmarFlags = VmarFlags::PERM_READ
        .union(VmarFlags::PERM_WRITE)
        .union(VmarFlags::PERM_EXECUTE);

    /// `ZX_VM_ALIGN_*`: ask for a base aligned to `1 << shift` (`shift` in 10..=32; others
    /// are the kernel's [`Status::INVALID_ARGS`]).
    pub const fn align(shift: u32) -> VmarFlags {
        VmarFlags::from_bits_retain((shift & 0xff) << abi::ZX_VM_ALIGN_BASE)
    }
}

/// `zx_info_vmar_t`: where a VMAR lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmarInfo {
    /// The first address of the VMAR.
    pub base: usize,
    /// Its length in bytes.
    pub len: usize,
}

/// An owned VMAR handle: a region of an address space, in which VMOs are mapped and smaller
/// regions allocated. Dropping it closes the handle; the region and its mappings stay (a
/// [`Mapping`] unmaps itself).
#[derive(Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Vmar(Handle);

impl Vmar {
    /// `zx_vmar_root_self`: the calling program's root VMAR, which covers its whole address
    /// space. Borrowed: the runtime owns that handle, and nothing reachable from the returned
    /// reference can close it ([`Vmar::duplicate`] gives an owned handle to the same region).
    pub fn root_self() -> &'static Vmar {
        static ROOT: OnceLock<Vmar> = OnceLock::new();
        ROOT.get_or_init(|| {
            // SAFETY: the value is the runtime's own root handle, which must never be closed;
            // it goes into a static, which is never dropped, and only `&Vmar` is handed out,
            // through which no call closes the handle.
            Vmar(unsafe { Handle::from_raw(c_abi::zx_vmar_root_self()) })
        })
    }

    /// Whether this is the runtime's own root handle (not a duplicate of it).
    fn is_root_handle(&self) -> bool {
        self.raw() == c_abi::zx_vmar_root_self()
    }

    /// Maps `len` bytes (rounded up to pages) of `vmo` from `vmo_offset` into this VMAR and
    /// returns the range as an owned [`Mapping`], which unmaps it when dropped.
    ///
    /// `options` holds the permissions (`PERM_*`), and optionally `SPECIFIC` (then
    /// `vmar_offset` is where, relative to the VMAR's base) and `MAP_RANGE`. The checks are
    /// those of `zx_vmar_map` (rights of both handles, alignment, placement), and on top, so
    /// that every page of a `Mapping` can always be touched:
    /// - `ZX_VM_REQUIRE_NON_RESIZABLE` is always added: a resizable VMO is
    ///   [`Status::NOT_SUPPORTED`] (it could shrink under the mapping);
    /// - a range reaching past the VMO's end is [`Status::OUT_OF_RANGE`];
    /// - `SPECIFIC_OVERWRITE` is [`Status::INVALID_ARGS`] (it would take memory from other
    ///   mappings; see [`Vmar::map_raw`]);
    /// - the VMAR must belong to the calling program's own address space
    ///   ([`Status::NOT_SUPPORTED`] otherwise), and a VMAR other than the root handle needs
    ///   the DUPLICATE right: the `Mapping` keeps its own handle to unmap with.
    pub fn map(
        &self,
        options: VmarFlags,
        vmar_offset: usize,
        vmo: &Vmo,
        vmo_offset: u64,
        len: usize,
    ) -> Result<Mapping> {
        if options.contains(VmarFlags::SPECIFIC_OVERWRITE) {
            return Err(Status::INVALID_ARGS);
        }
        let unmap_with = self.unmap_handle()?;
        let options = options | VmarFlags::REQUIRE_NON_RESIZABLE;
        // SAFETY: without SPECIFIC_OVERWRITE a new mapping only takes free address space, so
        // it replaces nothing that anyone relies on; the range goes into a `Mapping` at once.
        let addr = unsafe { self.map_raw(options, vmar_offset, vmo, vmo_offset, len) }?;
        // The kernel rounded `len` up to pages without overflow, or it would have failed (so
        // the fallback is never taken).
        let mapped_len = len.checked_next_multiple_of(PAGE).unwrap_or(len);
        // From here on, dropping `mapping` unmaps the range again.
        let mapping = Mapping::new(addr, mapped_len, options & VmarFlags::PERMS, unmap_with);
        // The VMO is not resizable (the kernel checked), so its size is final.
        let size = vmo.size()?;
        let inside = vmo_offset
            .checked_add(mapped_len as u64)
            .is_some_and(|end| end <= size);
        if !inside {
            return Err(Status::OUT_OF_RANGE);
        }
        Ok(mapping)
    }

    /// The handle a new [`Mapping`] in this VMAR unmaps with: the root handle itself (never
    /// closed), or a duplicate of this one, which stays valid however long the `Mapping` lives.
    fn unmap_handle(&self) -> Result<UnmapWith> {
        if self.is_root_handle() {
            return Ok(UnmapWith::Root(self.raw()));
        }
        let info = self.basic_info()?;
        if info.object_type != ObjectType::VMAR {
            return Err(Status::WRONG_TYPE);
        }
        if info.related_koid != own_process_koid()? {
            return Err(Status::NOT_SUPPORTED);
        }
        Ok(UnmapWith::Owned(self.0.duplicate(SAME_RIGHTS)?))
    }

    /// `zx_vmar_map` as it is: maps and returns the address, which the caller then owns (and
    /// must unmap with [`Vmar::unmap`]). Takes resizable VMOs, ranges past the VMO's end,
    /// `SPECIFIC_OVERWRITE`, and VMARs of other address spaces.
    ///
    /// # Safety
    /// With `SPECIFIC_OVERWRITE` the new mapping replaces whatever was mapped in its range:
    /// nothing may rely on that memory any more (no live [`Mapping`] there, no reference into
    /// it). Touching the returned memory is up to the caller: a page past the VMO's end (now
    /// or after a shrink) or without the permission kills the process.
    pub unsafe fn map_raw(
        &self,
        options: VmarFlags,
        vmar_offset: usize,
        vmo: &Vmo,
        vmo_offset: u64,
        len: usize,
    ) -> Result<usize> {
        let mut addr = 0usize;
        // SAFETY: `addr` is a live local the call may write an address to.
        Status::ok(unsafe {
            c_abi::zx_vmar_map(
                self.raw(),
                options.bits(),
                vmar_offset,
                vmo.raw(),
                vmo_offset,
                len,
                &mut addr,
            )
        })?;
        Ok(addr)
    }

    /// `zx_vmar_allocate`: a new VMAR of `size` bytes inside this one, and its address.
    /// `options` holds what it allows (`CAN_MAP_*`) and optionally `SPECIFIC` (then `offset` is
    /// where). Its handle has the VMAR rights less the permissions it cannot map with.
    pub fn allocate(
        &self,
        options: VmarFlags,
        offset: usize,
        size: usize,
    ) -> Result<(Vmar, usize)> {
        let mut child = HANDLE_INVALID;
        let mut addr = 0usize;
        // SAFETY: `child` and `addr` are live locals the call may write.
        Status::ok(unsafe {
            c_abi::zx_vmar_allocate(
                self.raw(),
                options.bits(),
                offset,
                size,
                &mut child,
                &mut addr,
            )
        })?;
        // SAFETY: the call succeeded, so `child` is a new handle that only we hold.
        Ok((Vmar(unsafe { Handle::from_raw(child) }), addr))
    }

    /// `zx_vmar_protect`: sets the permissions of every mapping in `[addr, addr + len)` to
    /// those of `options` (which holds only `PERM_*` bits). Prefer [`Mapping::protect`], which
    /// is safe.
    ///
    /// # Safety
    /// No live [`Mapping`] and no reference may cover the range with permissions it would
    /// lose: a `Mapping` trusts the permissions it was made or last protected with, and
    /// touching a page without the permission kills the process.
    pub unsafe fn protect(&self, options: VmarFlags, addr: usize, len: usize) -> Result<()> {
        Status::ok(c_abi::zx_vmar_protect(
            self.raw(),
            options.bits(),
            addr,
            len,
        ))
    }

    /// `zx_vmar_unmap`: removes every mapping in `[addr, addr + len)` and destroys the VMARs it
    /// covers entirely. Prefer dropping the [`Mapping`].
    ///
    /// # Safety
    /// No live [`Mapping`] and no reference may cover any byte of the range: its memory is gone
    /// (touching it kills the process), and the address space may be reused by a later mapping
    /// that the old `Mapping` would then unmap when dropped.
    pub unsafe fn unmap(&self, addr: usize, len: usize) -> Result<()> {
        Status::ok(c_abi::zx_vmar_unmap(self.raw(), addr, len))
    }

    /// `zx_vmar_destroy`: unmaps everything inside this VMAR and destroys it and its
    /// sub-VMARs; their handles then answer [`Status::BAD_STATE`]. A root VMAR is
    /// [`Status::NOT_SUPPORTED`].
    ///
    /// # Safety
    /// No live [`Mapping`] and no reference may lie inside this VMAR, as for [`Vmar::unmap`].
    pub unsafe fn destroy(&self) -> Result<()> {
        Status::ok(c_abi::zx_vmar_destroy(self.raw()))
    }

    /// `zx_object_get_info(ZX_INFO_VMAR)`: the VMAR's base and length (needs INSPECT).
    pub fn info(&self) -> Result<VmarInfo> {
        let mut record = [0u8; 16];
        handle::get_info(self.raw(), abi::ZX_INFO_VMAR, &mut record)?;
        let field = |at| usize::try_from(handle::u64_at(&record, at)).map_err(|_| Status::INTERNAL);
        Ok(VmarInfo {
            base: field(0)?,
            len: field(8)?,
        })
    }

    /// A new handle to the same VMAR with `rights` ([`SAME_RIGHTS`] keeps them; needs
    /// DUPLICATE). Works on [`Vmar::root_self`] too: the duplicate is owned and closes itself.
    pub fn duplicate(&self, rights: Rights) -> Result<Vmar> {
        self.0.duplicate(rights).map(Vmar)
    }
}

super::handle::handle_based!(Vmar, "VMAR");

/// The koid of the calling program's process (the process of its root VMAR).
fn own_process_koid() -> Result<Koid> {
    static KOID: OnceLock<Koid> = OnceLock::new();
    if let Some(&koid) = KOID.get() {
        return Ok(koid);
    }
    let koid = Vmar::root_self().basic_info()?.related_koid;
    Ok(*KOID.get_or_init(|| koid))
}
