//! The VMO system calls of spec/zircon.md sections 3 and 5: create, read, write, sizes,
//! `op_range`, `create_child` and the legacy `zx_vmo_clone`, each with its rights checks and
//! check order.

use alloc::sync::Arc;
use alloc::vec::Vec;

use vm_engine::{round_up_to_page, ChildKind, Vmo, VmoOptions, MAX_VMO_SIZE, PAGE_SIZE};

use crate::handle_table::HandleValue;
use crate::object::Object;
use crate::platform::KernelPlatform;
use crate::rights::Rights;
use crate::status::*;
use crate::user::{UserBuffer, UserBytes};
use crate::vmo_object::{VmoObject, VmoOrigin};

use super::abi::*;
use super::{require, Syscalls};

const PAGE: u64 = PAGE_SIZE as u64;

/// The option bits `zx_vmo_create_child` knows.
const CHILD_OPTIONS: u32 = ZX_VMO_CHILD_SNAPSHOT
    | ZX_VMO_CHILD_RESIZABLE
    | ZX_VMO_CHILD_SLICE
    | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE
    | ZX_VMO_CHILD_NO_WRITE;

/// `size` rounded up to a page, or `ZX_ERR_OUT_OF_RANGE` if that overflows or exceeds the
/// largest VMO (2^48 bytes).
pub(crate) fn vmo_size(size: u64) -> Result<u64, Status> {
    round_up_to_page(size)
        .filter(|&rounded| rounded <= MAX_VMO_SIZE)
        .ok_or(ZX_ERR_OUT_OF_RANGE)
}

/// `ZX_ERR_OUT_OF_RANGE` unless `[offset, offset + len)` lies within `size` bytes.
fn within(offset: u64, len: u64, size: u64) -> Result<(), Status> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(ZX_ERR_OUT_OF_RANGE),
    }
}

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// A new VMO object (no handle yet).
    pub(crate) fn new_vmo(&self, size: u64, resizable: bool) -> Result<Arc<VmoObject<P>>, Status> {
        let options = VmoOptions { resizable };
        let vmo = Vmo::create(self.kernel.frames.clone(), size, options).map_err(from_vm_error)?;
        Ok(Arc::new(VmoObject::new_root(
            vmo,
            self.kernel.allocate_koid(),
        )))
    }

    /// `zx_vmo_create`: options 0 or ZX_VMO_RESIZABLE (`ZX_ERR_INVALID_ARGS`), then the size
    /// (`ZX_ERR_OUT_OF_RANGE` above 2^48 bytes or when rounding overflows).
    pub fn vmo_create(&self, size: u64, options: u32) -> Result<HandleValue, Status> {
        if options & !ZX_VMO_RESIZABLE != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let resizable = options & ZX_VMO_RESIZABLE != 0;
        // The engine checks the size (OUT_OF_RANGE).
        let vmo = self.new_vmo(size, resizable)?;
        let mut rights = Rights::DEFAULT_VMO;
        if resizable {
            rights |= Rights::RESIZE;
        }
        self.add_handle(Object::Vmo(vmo), rights)
    }

    /// `zx_vmo_read`: needs READ; a physical VMO cannot be read (`NOT_SUPPORTED`, as in
    /// Zircon); the range must lie within the VMO.
    pub fn vmo_read(
        &self,
        handle: HandleValue,
        buffer: UserBuffer<'_>,
        offset: u64,
    ) -> Result<(), Status> {
        let (vmo, _) = self.vmo(handle, Rights::READ)?;
        super::bti_calls::refuse_physical(&vmo)?;
        let len = buffer.len() as u64;
        // The engine checks the range itself (OUT_OF_RANGE first, as here).
        let Some(out) = buffer.bytes() else {
            within(offset, len, vmo.vmo().size())?;
            return Err(ZX_ERR_INVALID_ARGS);
        };
        // A pager-backed VMO's missing pages are requested and waited for.
        crate::pager::paged(&vmo, offset, len, |engine| engine.read(offset, &mut *out))
    }

    /// `zx_vmo_write`: needs WRITE; a physical VMO cannot be written (`NOT_SUPPORTED`, as in
    /// Zircon); the range must lie within the VMO.
    pub fn vmo_write(
        &self,
        handle: HandleValue,
        buffer: UserBytes<'_>,
        offset: u64,
    ) -> Result<(), Status> {
        let (vmo, _) = self.vmo(handle, Rights::WRITE)?;
        super::bti_calls::refuse_physical(&vmo)?;
        let len = buffer.len() as u64;
        let Some(bytes) = buffer.bytes() else {
            within(offset, len, vmo.vmo().size())?;
            return Err(ZX_ERR_INVALID_ARGS);
        };
        crate::pager::paged(&vmo, offset, len, |engine| engine.write(offset, bytes))
    }

    /// `zx_vmo_get_size`: needs no right.
    pub fn vmo_get_size(&self, handle: HandleValue) -> Result<u64, Status> {
        let (vmo, _) = self.vmo(handle, Rights::empty())?;
        Ok(vmo.vmo().size())
    }

    /// `zx_vmo_set_size`: needs WRITE; then RESIZE if the VMO is resizable
    /// (`ZX_ERR_ACCESS_DENIED`), `ZX_ERR_UNAVAILABLE` if it is not; then the size
    /// (`ZX_ERR_OUT_OF_RANGE`).
    pub fn vmo_set_size(&self, handle: HandleValue, size: u64) -> Result<(), Status> {
        let (vmo, rights) = self.vmo(handle, Rights::WRITE)?;
        if vmo.vmo().is_resizable() {
            require(rights, Rights::RESIZE)?;
        }
        vmo.vmo().set_size(size).map_err(from_vm_error)?;
        // Threads waiting for pages past a new end must fail rather than wait.
        if let Some(pager) = vmo.pager() {
            pager.resized(vmo.koid(), vmo.vmo().size());
        }
        Ok(())
    }

    /// `zx_vmo_op_range`. After the handle: an unknown op is `ZX_ERR_INVALID_ARGS`; each op
    /// checks its right (COMMIT, DECOMMIT, ZERO: WRITE; LOOKUP, CACHE_*: READ) and then its
    /// range. LOCK, TRY_LOCK, UNLOCK, DONT_NEED and ALWAYS_NEED are `ZX_ERR_NOT_SUPPORTED`
    /// (no VMO is discardable), and so are COMMIT, DECOMMIT and ZERO on a physical VMO (after
    /// the right, as in Zircon). DECOMMIT of a contiguous VMO is `NOT_SUPPORTED` and of pinned
    /// pages `BAD_STATE`; ZERO over pinned or contiguous pages zeroes them in place.
    pub fn vmo_op_range(
        &self,
        handle: HandleValue,
        op: u32,
        offset: u64,
        size: u64,
        buffer: UserBuffer<'_>,
    ) -> Result<(), Status> {
        let (vmo, rights) = self.vmo(handle, Rights::empty())?;
        let engine = vmo.vmo();
        match op {
            ZX_VMO_OP_COMMIT => {
                require(rights, Rights::WRITE)?;
                super::bti_calls::refuse_physical(&vmo)?;
                crate::pager::paged(&vmo, offset, size, |engine| engine.commit(offset, size))
            }
            ZX_VMO_OP_DECOMMIT => {
                require(rights, Rights::WRITE)?;
                super::bti_calls::refuse_physical(&vmo)?;
                engine.decommit(offset, size).map_err(from_vm_error)
            }
            ZX_VMO_OP_ZERO => {
                require(rights, Rights::WRITE)?;
                super::bti_calls::refuse_physical(&vmo)?;
                crate::pager::paged(&vmo, offset, size, |engine| engine.zero(offset, size))
            }
            ZX_VMO_OP_LOOKUP => {
                require(rights, Rights::READ)?;
                lookup(&vmo, offset, size, buffer)
            }
            ZX_VMO_OP_CACHE_SYNC
            | ZX_VMO_OP_CACHE_INVALIDATE
            | ZX_VMO_OP_CACHE_CLEAN
            | ZX_VMO_OP_CACHE_CLEAN_INVALIDATE => {
                require(rights, Rights::READ)?;
                if size == 0 {
                    return Err(ZX_ERR_INVALID_ARGS);
                }
                within(offset, size, engine.size())
            }
            ZX_VMO_OP_LOCK
            | ZX_VMO_OP_TRY_LOCK
            | ZX_VMO_OP_UNLOCK
            | ZX_VMO_OP_DONT_NEED
            | ZX_VMO_OP_ALWAYS_NEED => Err(ZX_ERR_NOT_SUPPORTED),
            _ => Err(ZX_ERR_INVALID_ARGS),
        }
    }

    /// `zx_vmo_create_child`, in the order of spec/zircon.md section 3: size rounding
    /// (`OUT_OF_RANGE`); NO_WRITE with RESIZABLE (`INVALID_ARGS`); the handle (`BAD_HANDLE`,
    /// `WRONG_TYPE`, then DUPLICATE and READ: `ACCESS_DENIED`); exactly one type bit and no
    /// unknown bit (`INVALID_ARGS`); SLICE with anything but NO_WRITE (`INVALID_ARGS`);
    /// offset alignment (`INVALID_ARGS`); offset + size overflow (`OUT_OF_RANGE`); then the
    /// kind's own rules, which the engine checks.
    pub fn vmo_create_child(
        &self,
        handle: HandleValue,
        options: u32,
        offset: u64,
        size: u64,
    ) -> Result<HandleValue, Status> {
        vmo_size(size)?;
        let no_write = options & ZX_VMO_CHILD_NO_WRITE != 0;
        let resizable = options & ZX_VMO_CHILD_RESIZABLE != 0;
        if no_write && resizable {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let (parent, parent_rights) = self.vmo(handle, Rights::DUPLICATE | Rights::READ)?;
        let type_bits = options
            & (ZX_VMO_CHILD_SNAPSHOT
                | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE
                | ZX_VMO_CHILD_SLICE);
        if type_bits.count_ones() != 1 || options & !CHILD_OPTIONS != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let kind = match type_bits {
            ZX_VMO_CHILD_SNAPSHOT => ChildKind::Snapshot,
            ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE => ChildKind::SnapshotAtLeastOnWrite,
            _ => ChildKind::Slice,
        };
        if kind == ChildKind::Slice && options & !(ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_NO_WRITE) != 0
        {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        if offset % PAGE != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        offset.checked_add(size).ok_or(ZX_ERR_OUT_OF_RANGE)?;

        let mut rights =
            (parent_rights - Rights::RESIZE) | Rights::GET_PROPERTY | Rights::SET_PROPERTY;
        if resizable {
            rights |= Rights::RESIZE;
        }
        if no_write {
            rights -= Rights::WRITE;
        } else if kind != ChildKind::Slice {
            rights |= Rights::WRITE;
            rights -= Rights::EXECUTE;
        }
        let immutable = no_write && kind == ChildKind::Snapshot;
        let child = parent
            .vmo()
            .create_child(kind, offset, size, VmoOptions { resizable })
            .map_err(from_vm_error)?;
        let child = VmoObject::new_child(
            child,
            self.kernel.allocate_koid(),
            &parent,
            VmoOrigin::Child(kind),
            immutable,
        );
        self.add_handle(Object::Vmo(Arc::new(child)), rights)
    }

    /// `zx_vmo_clone` (seed 001): the handle (`BAD_HANDLE`, `WRONG_TYPE`, then DUPLICATE and
    /// READ: `ACCESS_DENIED`, Zircon's order for this call); options must hold
    /// COPY_ON_WRITE and nothing but NON_RESIZEABLE (`INVALID_ARGS`); offset alignment
    /// (`INVALID_ARGS`); size rounding and offset + size overflow (`OUT_OF_RANGE`). The
    /// clone is one-way copy-on-write, resizable unless NON_RESIZEABLE; its rights are the
    /// parent's plus WRITE, with RESIZE exactly when it is resizable.
    pub fn vmo_clone(
        &self,
        handle: HandleValue,
        options: u32,
        offset: u64,
        size: u64,
    ) -> Result<HandleValue, Status> {
        let (parent, parent_rights) = self.vmo(handle, Rights::DUPLICATE | Rights::READ)?;
        if options & ZX_VMO_CLONE_COPY_ON_WRITE == 0
            || options & !(ZX_VMO_CLONE_COPY_ON_WRITE | ZX_VMO_CLONE_NON_RESIZEABLE) != 0
        {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let resizable = options & ZX_VMO_CLONE_NON_RESIZEABLE == 0;
        let mut rights = (parent_rights - Rights::RESIZE) | Rights::WRITE;
        if resizable {
            rights |= Rights::RESIZE;
        }
        self.legacy_clone(&parent, offset, size, resizable, rights)
    }

    /// A one-way clone of `parent` with a handle carrying `rights`, after the alignment and
    /// range checks both legacy generations share.
    pub(crate) fn legacy_clone(
        &self,
        parent: &Arc<VmoObject<P>>,
        offset: u64,
        size: u64,
        resizable: bool,
        rights: Rights,
    ) -> Result<HandleValue, Status> {
        if offset % PAGE != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let size_rounded = vmo_size(size)?;
        offset
            .checked_add(size_rounded)
            .ok_or(ZX_ERR_OUT_OF_RANGE)?;
        let child = parent
            .vmo()
            .create_child(ChildKind::OneWay, offset, size, VmoOptions { resizable })
            .map_err(from_vm_error)?;
        let child = VmoObject::new_child(
            child,
            self.kernel.allocate_koid(),
            parent,
            VmoOrigin::LegacyClone,
            false,
        );
        self.add_handle(Object::Vmo(Arc::new(child)), rights)
    }
}

/// ZX_VMO_OP_LOOKUP: one little-endian u64 per page of the range into `buffer`. Size 0 is
/// `INVALID_ARGS`; then the range (`OUT_OF_RANGE`), the buffer's room (`BUFFER_TOO_SMALL`),
/// every page committed (`NO_MEMORY`), and finally the buffer's memory (`INVALID_ARGS`).
fn lookup<P: KernelPlatform>(
    vmo: &VmoObject<P>,
    offset: u64,
    size: u64,
    buffer: UserBuffer<'_>,
) -> Result<(), Status> {
    if size == 0 {
        return Err(ZX_ERR_INVALID_ARGS);
    }
    within(offset, size, vmo.vmo().size())?;
    // Within a VMO of at most 2^48 bytes, so neither end overflows.
    let pages = (offset + size).div_ceil(PAGE) - offset / PAGE;
    if (buffer.len() / 8) < pages as usize {
        return Err(ZX_ERR_BUFFER_TOO_SMALL);
    }
    // The buffer holds 8 bytes per page, so `pages` entries fit the address space.
    let mut addresses: Vec<u64> = Vec::new();
    addresses
        .try_reserve_exact(pages as usize)
        .map_err(|_| ZX_ERR_NO_MEMORY)?;
    addresses.resize(pages as usize, 0);
    crate::pager::paged(vmo, offset, size, |engine| {
        engine.lookup(offset, size, &mut addresses)
    })?;
    let out = buffer.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
    for (slot, address) in out.chunks_exact_mut(8).zip(&addresses) {
        slot.copy_from_slice(&address.to_le_bytes());
    }
    Ok(())
}
