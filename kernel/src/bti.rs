//! The objects of device memory access: IOMMUs, bus transaction initiators (BTIs) and pinned
//! memory tokens (PMTs), with Zircon's lifetimes.
//!
//! - An [`Iommu`] is the dummy IOMMU (`ZX_IOMMU_TYPE_DUMMY`): no translation, a device address
//!   is the physical address, and every bus transaction id is valid. Its minimum contiguity is
//!   one page.
//! - A [`Bti`] pins VMO pages for a device. Each pin is a [`Pmt`] holding a [`PinnedRange`],
//!   which keeps its VMO alive and pinned until it is dropped.
//! - `zx_pmt_unpin` drops the range (the pages are unpinned). Closing a PMT's handle without
//!   unpinning does what Zircon does: the device might still be using the pages, so they stay
//!   pinned and the range moves to its BTI's *quarantine*. A BTI with anything quarantined
//!   refuses new pins (`ZX_ERR_BAD_STATE`) until `zx_bti_release_quarantine` drops the
//!   quarantined ranges. If the BTI itself goes away with ranges still quarantined (its last
//!   handle closed and no PMT left), they are leaked on purpose, as Zircon leaks them: nothing
//!   says the hardware stopped, so the pages stay pinned, and their VMOs alive, for the rest of
//!   the kernel's life.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::koid::Koid;
use crate::name::Name;
use crate::platform::KernelPlatform;
use crate::signals::Signals;
use crate::vmo_object::VmoObject;

/// A dummy IOMMU.
pub struct Iommu<P: KernelPlatform> {
    koid: Koid,
    signals: Signals<P>,
}

impl<P: KernelPlatform> Iommu<P> {
    /// A new dummy IOMMU.
    pub fn new(koid: Koid) -> Self {
        Iommu {
            koid,
            signals: Signals::new(),
        }
    }

    /// The IOMMU's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// Its signal state (no signal of its own).
    pub fn signals(&self) -> &Signals<P> {
        &self.signals
    }
}

/// A range of a VMO pinned once; dropping it unpins the range. It holds the VMO object, so
/// the VMO (and with it the pinned pages) lives at least as long as the pin.
pub struct PinnedRange<P: KernelPlatform> {
    vmo: Arc<VmoObject<P>>,
    offset: u64,
    len: u64,
}

impl<P: KernelPlatform> PinnedRange<P> {
    /// Takes ownership of one pin of `[offset, offset + len)` of `vmo`, which the caller just
    /// made with [`vm_engine::Vmo::pin`].
    pub fn new(vmo: Arc<VmoObject<P>>, offset: u64, len: u64) -> Self {
        PinnedRange { vmo, offset, len }
    }

    /// The VMO.
    pub fn vmo(&self) -> &Arc<VmoObject<P>> {
        &self.vmo
    }

    /// Bytes pinned.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range is empty (never, for a range a pin created).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<P: KernelPlatform> Drop for PinnedRange<P> {
    fn drop(&mut self) {
        // The range was pinned when this was made and nothing else unpins it.
        let unpinned = self.vmo.vmo().unpin(self.offset, self.len);
        debug_assert!(unpinned.is_ok(), "a pinned range unpins: {unpinned:?}");
    }
}

/// What a BTI keeps under its lock. Invariant: the quarantine list has room for every live
/// PMT (`capacity >= len + pmts`), so quarantining never allocates.
struct BtiState<P: KernelPlatform> {
    quarantine: Vec<PinnedRange<P>>,
    /// PMTs created by this BTI that still exist.
    pmts: usize,
}

/// A bus transaction initiator.
pub struct Bti<P: KernelPlatform> {
    koid: Koid,
    iommu_koid: Koid,
    bti_id: u64,
    name: lock_api::Mutex<P::RawMutex, Name>,
    signals: Signals<P>,
    state: lock_api::Mutex<P::RawMutex, BtiState<P>>,
}

impl<P: KernelPlatform> Bti<P> {
    /// A BTI for transaction id `bti_id` of the IOMMU `iommu_koid`.
    pub fn new(koid: Koid, iommu_koid: Koid, bti_id: u64) -> Self {
        Bti {
            koid,
            iommu_koid,
            bti_id,
            name: lock_api::Mutex::new(Name::EMPTY),
            signals: Signals::new(),
            state: lock_api::Mutex::new(BtiState {
                quarantine: Vec::new(),
                pmts: 0,
            }),
        }
    }

    /// The BTI's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// The koid of the IOMMU it was created on (its related koid).
    pub fn iommu_koid(&self) -> Koid {
        self.iommu_koid
    }

    /// The bus transaction id it was created with.
    pub fn bti_id(&self) -> u64 {
        self.bti_id
    }

    /// The smallest run of device addresses that is contiguous: one page (dummy IOMMU).
    pub fn minimum_contiguity(&self) -> u64 {
        vm_engine::PAGE_SIZE as u64
    }

    /// The name.
    pub fn name(&self) -> Name {
        *self.name.lock()
    }

    /// Renames the BTI.
    pub fn set_name(&self, name: Name) {
        *self.name.lock() = name;
    }

    /// Its signal state (no signal of its own).
    pub fn signals(&self) -> &Signals<P> {
        &self.signals
    }

    /// Live PMTs of this BTI.
    pub fn pmt_count(&self) -> usize {
        self.state.lock().pmts
    }

    /// Ranges waiting in quarantine.
    pub fn quarantine_count(&self) -> usize {
        self.state.lock().quarantine.len()
    }

    /// Whether a new pin is allowed: not while anything is quarantined (the driver must stop
    /// its device's DMA and release the quarantine first).
    pub fn may_pin(&self) -> bool {
        self.state.lock().quarantine.is_empty()
    }

    /// Unpins every quarantined range (`zx_bti_release_quarantine`). The list keeps its room.
    /// Lock order: a BTI's lock, then VMO families' (unpinning); nothing takes them the other
    /// way round.
    pub fn release_quarantine(&self) {
        self.state.lock().quarantine.clear();
    }
}

impl<P: KernelPlatform> Drop for Bti<P> {
    fn drop(&mut self) {
        let quarantined = core::mem::take(&mut self.state.get_mut().quarantine);
        if !quarantined.is_empty() {
            // Zircon leaks what a BTI still has quarantined when it goes: the pages stay pinned
            // (and their VMOs alive) because the device may still be using them.
            core::mem::forget(quarantined);
        }
    }
}

/// A pinned memory token: one pin made through a BTI.
pub struct Pmt<P: KernelPlatform> {
    koid: Koid,
    bti: Arc<Bti<P>>,
    size: u64,
    signals: Signals<P>,
    /// `None` once unpinned.
    pinned: lock_api::Mutex<P::RawMutex, Option<PinnedRange<P>>>,
}

impl<P: KernelPlatform> Pmt<P> {
    /// A token for `range`, pinned through `bti`. Makes room in the BTI's quarantine for the
    /// range first, so that closing the token unpinned can never fail; `None` when that memory
    /// cannot be had (the range is then unpinned as it drops).
    pub fn new(koid: Koid, bti: Arc<Bti<P>>, range: PinnedRange<P>) -> Option<Self> {
        {
            let mut state = bti.state.lock();
            let room = state.pmts + 1;
            state.quarantine.try_reserve(room).ok()?;
            state.pmts += 1;
        }
        Some(Pmt {
            koid,
            size: range.len(),
            bti,
            signals: Signals::new(),
            pinned: lock_api::Mutex::new(Some(range)),
        })
    }

    /// The token's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// The koid of the BTI it was pinned through (its related koid).
    pub fn bti_koid(&self) -> Koid {
        self.bti.koid()
    }

    /// Bytes pinned.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the pages are still pinned by this token.
    pub fn is_pinned(&self) -> bool {
        self.pinned.lock().is_some()
    }

    /// Its signal state (no signal of its own).
    pub fn signals(&self) -> &Signals<P> {
        &self.signals
    }

    /// Unpins the pages (`zx_pmt_unpin`); a second call does nothing.
    pub fn unpin(&self) {
        let range = self.pinned.lock().take();
        // Unpinned here, outside this token's lock.
        drop(range);
    }
}

impl<P: KernelPlatform> Drop for Pmt<P> {
    fn drop(&mut self) {
        let range = self.pinned.get_mut().take();
        let mut state = self.bti.state.lock();
        if let Some(range) = range {
            // Its handle closed without `zx_pmt_unpin`: quarantined, as Zircon does. The room
            // was reserved when the token was made.
            state.quarantine.push(range);
        }
        state.pmts -= 1;
    }
}
