//! The system calls of device memory: `zx_iommu_create`, `zx_bti_create`, `zx_bti_pin`,
//! `zx_pmt_unpin`, `zx_bti_release_quarantine`, `zx_vmo_create_contiguous` and
//! `zx_vmo_create_physical`, each in the check order of Zircon's implementation (its syscall
//! layer in `ddk.cc`, the BTI, PMT and dummy-IOMMU dispatchers, `VmObjectPhysical::Create`),
//! which the public documentation leaves partly unsaid.
//!
//! Physical memory here is the frame source's own (the hosted runtime's frame file): a physical
//! VMO may cover any of it but the zero frame
//! ([`FrameSource::borrowable_range`](vm_engine::FrameSource::borrowable_range)), and the root
//! resource grants exactly that range. Device addresses are physical addresses (dummy IOMMU).

use alloc::sync::Arc;

use vm_engine::{Backing, FrameSource, Vmo, PAGE_SIZE};

use crate::bti::{Bti, Iommu, PinnedRange, Pmt};
use crate::handle_table::HandleValue;
use crate::object::Object;
use crate::platform::KernelPlatform;
use crate::resource::{Resource, ZX_RSRC_KIND_MMIO, ZX_RSRC_KIND_ROOT};
use crate::rights::Rights;
use crate::status::*;
use crate::user::{UserBuffer, UserBytes};
use crate::vmo_object::VmoObject;

use super::{require, Syscalls};

const PAGE: u64 = PAGE_SIZE as u64;
/// log2 of the page size.
const PAGE_SHIFT: u32 = PAGE_SIZE.trailing_zeros();

/// `zx_bti_pin`: the device may read the pages.
pub const ZX_BTI_PERM_READ: u32 = 1 << 0;
/// `zx_bti_pin`: the device may write the pages.
pub const ZX_BTI_PERM_WRITE: u32 = 1 << 1;
/// `zx_bti_pin`: the device may execute from the pages (needs READ on the VMO, not EXECUTE).
pub const ZX_BTI_PERM_EXECUTE: u32 = 1 << 2;
/// `zx_bti_pin`: one address per minimum-contiguity run instead of per page.
pub const ZX_BTI_COMPRESS: u32 = 1 << 3;
/// `zx_bti_pin`: one address for the whole range (contiguous and physical VMOs only).
pub const ZX_BTI_CONTIGUOUS: u32 = 1 << 4;
/// `zx_iommu_create`: the dummy IOMMU.
pub const ZX_IOMMU_TYPE_DUMMY: u32 = 0;
/// `zx_iommu_create`: Intel VT-d (not available here).
pub const ZX_IOMMU_TYPE_INTEL: u32 = 1;
/// `zx_iommu_create`: the largest descriptor accepted.
pub const ZX_IOMMU_MAX_DESC_LEN: usize = 4096;
/// `sizeof(zx_iommu_desc_dummy_t)`: one reserved byte.
pub const IOMMU_DESC_DUMMY_SIZE: usize = 1;

/// `ZX_ERR_NOT_SUPPORTED` for the VMO operations Zircon does not offer on physical VMOs (read,
/// write, commit, decommit, zero: a physical VMO is only mapped, looked up and pinned).
pub(crate) fn refuse_physical<P: KernelPlatform>(vmo: &VmoObject<P>) -> Result<(), Status> {
    if vmo.vmo().backing() == Backing::Physical {
        Err(ZX_ERR_NOT_SUPPORTED)
    } else {
        Ok(())
    }
}

/// Whether a VMO's pages are physically contiguous (ZX_INFO_VMO_CONTIGUOUS; ZX_BTI_CONTIGUOUS
/// allowed): contiguous and physical VMOs and their slices.
pub(crate) fn is_contiguous<P: KernelPlatform>(vmo: &VmoObject<P>) -> bool {
    matches!(vmo.vmo().backing(), Backing::Contiguous | Backing::Physical)
}

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// A resource handle that grants `kind`: `BAD_HANDLE`, then `WRONG_TYPE` (not a resource, or
    /// one of another kind).
    fn resource(&self, handle: HandleValue, kind: u32) -> Result<Arc<Resource<P>>, Status> {
        let (object, _) = self.lookup(handle)?;
        match object {
            Object::Resource(resource) if resource.grants(kind) => Ok(resource),
            _ => Err(ZX_ERR_WRONG_TYPE),
        }
    }

    /// A BTI handle with at least `needed` rights.
    fn bti(&self, handle: HandleValue, needed: Rights) -> Result<Arc<Bti<P>>, Status> {
        let (object, rights) = self.lookup(handle)?;
        let Object::Bti(bti) = object else {
            return Err(ZX_ERR_WRONG_TYPE);
        };
        require(rights, needed)?;
        Ok(bti)
    }

    /// `zx_iommu_create`: the resource (`BAD_HANDLE`; `WRONG_TYPE` unless it grants
    /// ZX_RSRC_KIND_ROOT); `desc_size` above ZX_IOMMU_MAX_DESC_LEN (`INVALID_ARGS`); the
    /// descriptor's memory (`INVALID_ARGS`); a type other than DUMMY (`NOT_SUPPORTED`); a
    /// descriptor that is not one `zx_iommu_desc_dummy_t` (`INVALID_ARGS`). Rights: DUPLICATE,
    /// TRANSFER, INSPECT.
    pub fn iommu_create(
        &self,
        resource: HandleValue,
        kind: u32,
        desc: UserBytes<'_>,
    ) -> Result<HandleValue, Status> {
        self.resource(resource, ZX_RSRC_KIND_ROOT)?;
        if desc.len() > ZX_IOMMU_MAX_DESC_LEN {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let len = desc.len();
        desc.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
        if kind != ZX_IOMMU_TYPE_DUMMY {
            return Err(ZX_ERR_NOT_SUPPORTED);
        }
        if len != IOMMU_DESC_DUMMY_SIZE {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let iommu = Iommu::new(self.kernel.allocate_koid());
        self.add_handle(Object::Iommu(Arc::new(iommu)), Rights::DEFAULT_IOMMU)
    }

    /// `zx_bti_create`: options not 0 (`INVALID_ARGS`, checked first, as Zircon); the IOMMU
    /// handle (`BAD_HANDLE`, `WRONG_TYPE`; no right needed). Every `bti_id` is valid on the
    /// dummy IOMMU. Rights: READ, WRITE, MAP, INSPECT, DUPLICATE, TRANSFER, GET_PROPERTY and
    /// SET_PROPERTY.
    pub fn bti_create(
        &self,
        iommu: HandleValue,
        options: u32,
        bti_id: u64,
    ) -> Result<HandleValue, Status> {
        if options != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let (object, _) = self.lookup(iommu)?;
        let Object::Iommu(iommu) = object else {
            return Err(ZX_ERR_WRONG_TYPE);
        };
        let bti = Bti::new(self.kernel.allocate_koid(), iommu.koid(), bti_id);
        self.add_handle(Object::Bti(Arc::new(bti)), Rights::DEFAULT_BTI)
    }

    /// `zx_bti_pin`, writing the device addresses into `addrs` (room for `num_addrs` of them)
    /// and returning the PMT's handle. Check order (Zircon's):
    /// 1. the BTI handle (`BAD_HANDLE`, `WRONG_TYPE`, MAP: `ACCESS_DENIED`);
    /// 2. offset or size not page aligned (`INVALID_ARGS`);
    /// 3. the VMO handle (`BAD_HANDLE`, `WRONG_TYPE`, MAP: `ACCESS_DENIED`);
    /// 4. PERM_READ needs READ, PERM_WRITE needs WRITE, PERM_EXECUTE needs READ
    ///    (`ACCESS_DENIED`);
    /// 5. COMPRESS together with CONTIGUOUS, CONTIGUOUS on a VMO that is not contiguous or
    ///    physical, or an unknown bit (`INVALID_ARGS`);
    /// 6. size 0 (`INVALID_ARGS`);
    /// 7. the pin, which commits the range first (waiting for a pager-backed VMO's pager to
    ///    supply missing pages): beyond the VMO (`OUT_OF_RANGE`), a page pinned 31 times
    ///    already (`UNAVAILABLE`), memory (`NO_MEMORY`);
    /// 8. a BTI with quarantined pins (`BAD_STATE`);
    /// 9. no permission at all (`INVALID_ARGS`, the dummy IOMMU's refusal);
    /// 10. `num_addrs` not exactly the count the options call for (`INVALID_ARGS`): one per
    ///     page, one per page with COMPRESS (the dummy IOMMU's minimum contiguity is a page),
    ///     one with CONTIGUOUS;
    /// 11. the `addrs` memory (`INVALID_ARGS`).
    ///
    /// A failure from step 8 on unpins again (pages committed by step 7 stay committed, which
    /// Zircon's documentation allows).
    #[allow(clippy::too_many_arguments)]
    pub fn bti_pin(
        &self,
        bti: HandleValue,
        options: u32,
        vmo: HandleValue,
        offset: u64,
        size: u64,
        addrs: UserBuffer<'_>,
        num_addrs: usize,
    ) -> Result<HandleValue, Status> {
        let bti = self.bti(bti, Rights::MAP)?;
        if offset % PAGE != 0 || size % PAGE != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let (vmo, rights) = self.vmo(vmo, Rights::MAP)?;
        let mut rest = options;
        let mut perms = 0;
        for (bit, right) in [
            (ZX_BTI_PERM_READ, Rights::READ),
            (ZX_BTI_PERM_WRITE, Rights::WRITE),
            (ZX_BTI_PERM_EXECUTE, Rights::READ),
        ] {
            if options & bit != 0 {
                require(rights, right)?;
                perms |= bit;
                rest &= !bit;
            }
        }
        // Both layout options at once leave both bits standing, hence INVALID_ARGS below.
        let mut contiguous = false;
        if !(options & ZX_BTI_COMPRESS != 0 && options & ZX_BTI_CONTIGUOUS != 0) {
            // With a one-page minimum contiguity, COMPRESS asks for one address per page: the
            // same list as without it.
            rest &= !ZX_BTI_COMPRESS;
            if options & ZX_BTI_CONTIGUOUS != 0 && is_contiguous(&vmo) {
                contiguous = true;
                rest &= !ZX_BTI_CONTIGUOUS;
            }
        }
        if rest != 0 || size == 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        // Pages of a pager-backed VMO are requested from its pager first, as a commit would.
        let pages = crate::pager::paged(&vmo, offset, size, |engine| engine.pin(offset, size))?;
        // From here on, dropping `range` undoes the pin.
        let range = PinnedRange::new(vmo.clone(), offset, size);
        if !bti.may_pin() {
            return Err(ZX_ERR_BAD_STATE);
        }
        if perms == 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let wanted = if contiguous { 1 } else { pages.len() };
        if num_addrs != wanted {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let out = addrs.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
        for (slot, address) in out.chunks_exact_mut(8).zip(&pages[..wanted]) {
            slot.copy_from_slice(&address.to_le_bytes());
        }
        let pmt = Pmt::new(self.kernel.allocate_koid(), bti, range).ok_or(ZX_ERR_NO_MEMORY)?;
        let pmt = Arc::new(pmt);
        self.add_handle(Object::Pmt(pmt.clone()), Rights::DEFAULT_PMT)
            .inspect_err(|_| pmt.unpin())
    }

    /// `zx_pmt_unpin`: the handle is consumed whatever it is (`BAD_HANDLE` if it is none of the
    /// caller's); a handle that is not a PMT is closed and `WRONG_TYPE` returned, as Zircon
    /// does. The pages are unpinned; the PMT's VMO may then go.
    pub fn pmt_unpin(&self, handle: HandleValue) -> Result<(), Status> {
        let entry = self.kernel.handles.remove(self.process, handle)?;
        entry.object.signals().notify();
        let result = match &entry.object {
            Object::Pmt(pmt) => {
                pmt.unpin();
                Ok(())
            }
            _ => Err(ZX_ERR_WRONG_TYPE),
        };
        // The object (perhaps the last reference to a VMO) goes after the table lock.
        drop(entry);
        result
    }

    /// `zx_bti_release_quarantine`: the BTI handle (`BAD_HANDLE`, `WRONG_TYPE`, WRITE:
    /// `ACCESS_DENIED`); then every quarantined pin is released.
    pub fn bti_release_quarantine(&self, handle: HandleValue) -> Result<(), Status> {
        self.bti(handle, Rights::WRITE)?.release_quarantine();
        Ok(())
    }

    /// `zx_vmo_create_contiguous`: size 0 (`INVALID_ARGS`); `alignment_log2` (0 means a page)
    /// below a page or 64 and above (`INVALID_ARGS`); the BTI handle (`BAD_HANDLE`,
    /// `WRONG_TYPE`, MAP: `ACCESS_DENIED`); the size (`OUT_OF_RANGE` above 2^48 bytes); no
    /// free run of frames long and aligned enough (`NO_MEMORY`). Every page is committed; the
    /// VMO is not resizable and reports ZX_INFO_VMO_CONTIGUOUS. Rights: the default VMO rights.
    pub fn vmo_create_contiguous(
        &self,
        bti: HandleValue,
        size: u64,
        alignment_log2: u32,
    ) -> Result<HandleValue, Status> {
        if size == 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let alignment_log2 = if alignment_log2 == 0 {
            PAGE_SHIFT
        } else {
            alignment_log2
        };
        if !(PAGE_SHIFT..64).contains(&alignment_log2) {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        self.bti(bti, Rights::MAP)?;
        let vmo = Vmo::create_contiguous(self.kernel.frames.clone(), size, alignment_log2)
            .map_err(from_vm_error)?;
        let vmo = VmoObject::new_root(vmo, self.kernel.allocate_koid());
        self.add_handle(Object::Vmo(Arc::new(vmo)), Rights::DEFAULT_VMO)
    }

    /// `zx_vmo_create_physical`: the resource (`BAD_HANDLE`; `WRONG_TYPE` unless it grants
    /// ZX_RSRC_KIND_MMIO); the range `[paddr, paddr + size)` must be physical memory the
    /// resource grants, which for the root resource is all of the frame source's memory but
    /// the zero frame (`ACCESS_DENIED` otherwise, overflow included, as Zircon's root-resource
    /// filter answers); then, with the size rounded up to a page, `paddr` not page aligned or
    /// size 0 (`INVALID_ARGS`). The VMO does not own its frames: it reports no committed bytes,
    /// is not resizable, reports ZX_INFO_VMO_CONTIGUOUS and not TYPE_PAGED, and only mapping,
    /// LOOKUP, the CACHE ops, pinning and slices work on it (read, write, COMMIT, DECOMMIT and
    /// ZERO are `NOT_SUPPORTED`, as in Zircon). Rights: the default VMO rights.
    pub fn vmo_create_physical(
        &self,
        resource: HandleValue,
        paddr: u64,
        size: u64,
    ) -> Result<HandleValue, Status> {
        self.resource(resource, ZX_RSRC_KIND_MMIO)?;
        let memory = self.kernel.frames.borrowable_range();
        let granted = paddr
            .checked_add(size)
            .is_some_and(|end| memory.start <= paddr && end <= memory.end);
        if !granted {
            return Err(ZX_ERR_ACCESS_DENIED);
        }
        if paddr % PAGE != 0 || size == 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let vmo =
            Vmo::create_physical(self.kernel.frames.clone(), paddr, size).map_err(from_vm_error)?;
        let vmo = VmoObject::new_root(vmo, self.kernel.allocate_koid());
        self.add_handle(Object::Vmo(Arc::new(vmo)), Rights::DEFAULT_VMO)
    }

    /// `ZX_INFO_BTI`'s numbers: minimum contiguity, address space size, live PMTs and
    /// quarantined pins (for tools and tests; no C topic yet).
    pub fn bti_info(&self, handle: HandleValue) -> Result<[u64; 4], Status> {
        let bti = self.bti(handle, Rights::INSPECT)?;
        let (pmts, quarantined) = (bti.pmt_count() as u64, bti.quarantine_count() as u64);
        Ok([bti.minimum_contiguity(), u64::MAX, pmts, quarantined])
    }
}
