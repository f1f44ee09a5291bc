//! Contiguous and physical VMOs: families whose frames are fixed when the root VMO is created and
//! stay in place for its whole life.
//!
//! - A *contiguous* VMO owns a run of frames at consecutive physical addresses (aligned as
//!   asked), all committed at creation. It is not resizable and its pages are never decommitted;
//!   ZERO writes zeros in place.
//! - A *physical* VMO is a window onto a fixed range of the platform's physical memory: it holds
//!   *borrowed* tokens of frames it does not own (see [`FrameSource::borrow_frames`]), so they are
//!   never released to the frame source, never counted in its frames in use, and the VMO reports
//!   no committed bytes (as Zircon does: a physical VMO has no pages of its own). Writes through it
//!   reach whatever else shows those frames, a contiguous VMO over the same memory included.
//!
//! Both kinds accept only slices as children (seed 002); every VMO of such a family shares its
//! [`Backing`], which is how "created with or descended from" is decided. The family invariant
//! checker calls [`check`] to verify the fixed frames: all present in the root while it is seen,
//! physically consecutive, borrowed exactly in physical families.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{VmError, VmResult};
use crate::family::{Backing, Family, FamilyState};
use crate::frame_source::{FrameSource, PhysicalError};
use crate::geometry::{checked_vmo_size, is_page_aligned, PAGE_SIZE};
use crate::platform::{FrameOf, Platform};
use crate::vmo::Vmo;

const PAGE: u64 = PAGE_SIZE as u64;
/// log2 of the page size: the smallest alignment a contiguous run can have.
const PAGE_SHIFT: u32 = PAGE_SIZE.trailing_zeros();

/// Whether a family's frames are fixed for its life (contiguous or physical).
pub(crate) fn is_fixed(backing: Backing) -> bool {
    matches!(backing, Backing::Contiguous | Backing::Physical)
}

/// The engine error for a failed physical-memory request.
fn from_physical(error: PhysicalError) -> VmError {
    match error {
        PhysicalError::NotSupported => VmError::NotSupported,
        PhysicalError::OutOfFrames => VmError::NoMemory,
        PhysicalError::OutOfRange => VmError::OutOfRange,
    }
}

impl<P: Platform> Vmo<P> {
    /// A VMO of `size` bytes (rounded up to pages) whose frames are physically contiguous, the
    /// first aligned to `1 << align_log2` bytes, all committed now. Not resizable; only slices
    /// may be created from it.
    ///
    /// Check order: size zero (`InvalidArgs`); `align_log2` below the page size's or above 63
    /// (`InvalidArgs`); size beyond [`MAX_VMO_SIZE`](crate::MAX_VMO_SIZE) or rounding overflow
    /// (`OutOfRange`); more pages than the source has frames available (`NoMemory`); a frame
    /// source without contiguous runs (`NotSupported`); no free run of that length and
    /// alignment, or no memory for bookkeeping (`NoMemory`).
    pub fn create_contiguous(frames: Arc<P::Frames>, size: u64, align_log2: u32) -> VmResult<Self> {
        if size == 0 {
            return Err(VmError::InvalidArgs);
        }
        if !(PAGE_SHIFT..64).contains(&align_log2) {
            return Err(VmError::InvalidArgs);
        }
        let size = checked_vmo_size(size)?;
        let count = usize::try_from(size / PAGE).map_err(|_| VmError::NoMemory)?;
        // More frames than the source could give is refused before room for them is reserved:
        // a hostile size must not reach the heap (found by the fuzzer).
        if count > frames.frames_available() {
            return Err(VmError::NoMemory);
        }
        let mut list: Vec<FrameOf<P>> = Vec::new();
        list.try_reserve_exact(count)
            .map_err(|_| VmError::NoMemory)?;
        frames
            .allocate_contiguous(count, align_log2, &mut list)
            .map_err(from_physical)?;
        new_fixed_family(frames, Backing::Contiguous, list)
    }

    /// A VMO over the `size` bytes (rounded up to pages) of physical memory at `paddr`, which
    /// it does not own: its frames are borrowed from the frame source, never released, and
    /// count for nobody. Not resizable; only slices may be created from it.
    ///
    /// Check order: `paddr` not page aligned or size zero (`InvalidArgs`); size beyond
    /// [`MAX_VMO_SIZE`](crate::MAX_VMO_SIZE) or rounding overflow (`OutOfRange`);
    /// `paddr + size` overflowing (`InvalidArgs`, as Zircon); a frame source that cannot lend
    /// frames (`NotSupported`); a range outside
    /// [`FrameSource::borrowable_range`] (`OutOfRange`); no memory for bookkeeping
    /// (`NoMemory`).
    pub fn create_physical(frames: Arc<P::Frames>, paddr: u64, size: u64) -> VmResult<Self> {
        if !is_page_aligned(paddr) || size == 0 {
            return Err(VmError::InvalidArgs);
        }
        let size = checked_vmo_size(size)?;
        let end = paddr.checked_add(size).ok_or(VmError::InvalidArgs)?;
        // The range is checked before room for its frames is reserved: a hostile size must
        // not reach the heap.
        let lendable = frames.borrowable_range();
        if lendable.is_empty() {
            return Err(VmError::NotSupported);
        }
        if paddr < lendable.start || end > lendable.end {
            return Err(VmError::OutOfRange);
        }
        let count = usize::try_from(size / PAGE).map_err(|_| VmError::NoMemory)?;
        let mut list: Vec<FrameOf<P>> = Vec::new();
        list.try_reserve_exact(count)
            .map_err(|_| VmError::NoMemory)?;
        frames
            .borrow_frames(paddr, count, &mut list)
            .map_err(from_physical)?;
        new_fixed_family(frames, Backing::Physical, list)
    }
}

/// A new family of `backing` whose root VMO holds `list` as pages `0..list.len()`, all charged
/// to it. On failure every frame goes back to the source.
fn new_fixed_family<P: Platform>(
    frames: Arc<P::Frames>,
    backing: Backing,
    list: Vec<FrameOf<P>>,
) -> VmResult<Vmo<P>> {
    let give_back = |frames: &P::Frames, list: Vec<FrameOf<P>>| {
        for frame in list {
            frames.release(frame);
        }
    };
    // Below 2^36 pages (the size was checked), so the count fits a u64.
    let pages = list.len() as u64;
    let vmo = match Vmo::new_root(frames.clone(), backing, pages, false) {
        Ok(vmo) => vmo,
        Err(error) => {
            give_back(&frames, list);
            return Err(error);
        }
    };
    {
        let mut state = vmo.family().state.lock();
        let node = state.node_mut(vmo.node_id());
        if let Err(error) = node.pages.reserve(0..pages) {
            drop(state);
            give_back(&frames, list);
            return Err(error);
        }
        node.charged = pages;
        for (page, frame) in (0..pages).zip(list) {
            node.pages.insert_reserved(page, frame);
        }
    }
    Ok(vmo)
}

/// Checks a family's fixed frames: in a physical family every frame is borrowed and in any
/// other none is; in a contiguous or physical family the root (while anyone sees it) holds every
/// page, at consecutive physical addresses, and no other node holds a frame.
pub(crate) fn check<P: Platform>(
    family: &Family<P>,
    state: &FamilyState<FrameOf<P>>,
) -> Result<(), String> {
    let frames = &*family.frames;
    let borrowed_expected = family.backing == Backing::Physical;
    for (id, node) in state.nodes() {
        for (page, frame) in node.pages.iter() {
            if frames.is_borrowed(frame) != borrowed_expected {
                return Err(format!(
                    "node {id} slot {page}: borrowed {} in a {:?} family",
                    frames.is_borrowed(frame),
                    family.backing
                ));
            }
        }
        if !is_fixed(family.backing) {
            continue;
        }
        let is_root = node.is_visible() && node.user_parent.is_none() && node.link.is_none();
        if !is_root {
            if !node.pages.is_empty() {
                return Err(format!(
                    "node {id} of a {:?} family holds frames",
                    family.backing
                ));
            }
            continue;
        }
        if node.pages.frame_count() != node.pages_len {
            return Err(format!(
                "root {id} of a {:?} family holds {} of its {} pages",
                family.backing,
                node.pages.frame_count(),
                node.pages_len
            ));
        }
        let base = node
            .pages
            .get(0)
            .map(|frame| frames.physical_address(frame));
        for (page, frame) in node.pages.iter() {
            let expected = base.map(|base| base + page * PAGE);
            if Some(frames.physical_address(frame)) != expected {
                return Err(format!(
                    "root {id} slot {page} is at {:#x}, not contiguous from {base:?}",
                    frames.physical_address(frame)
                ));
            }
        }
    }
    Ok(())
}
