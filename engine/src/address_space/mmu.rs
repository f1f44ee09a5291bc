//! The seam between the engine and whatever translates virtual addresses: page tables in a
//! kernel, host mappings in the hosted runtime, [`SoftwareMmu`](super::SoftwareMmu) in tests and
//! for processes without threads.
//!
//! The engine decides every translation: it installs one when a fault is resolved and removes or
//! restricts it whenever the content it pointed at changes (a page copied, decommitted, zeroed or
//! cut off by a shrink; a snapshot taken). An MMU only records what it is told, so it may drop a
//! translation at any time (the next access faults again), but it must never invent one.

use core::any::Any;

bitflags::bitflags! {
    /// Access permissions of a mapping or a translation.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Perms: u32 {
        /// Loads.
        const READ = 1 << 0;
        /// Stores.
        const WRITE = 1 << 1;
        /// Instruction fetches.
        const EXECUTE = 1 << 2;
    }
}

/// What a virtual page translates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageTarget {
    /// The frame at this physical address (as [`FrameSource::physical_address`] reports it).
    ///
    /// [`FrameSource::physical_address`]: crate::FrameSource::physical_address
    Frame(u64),
    /// The MMU's shared page of zeros, for pages never written. Always installed read-only.
    Zeros,
}

/// The MMU could not record a translation (no memory for a page table, the host's mapping
/// budget exhausted). The access that needed it fails with `NoMemory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmuFull;

/// Translations of one address space. Addresses and lengths are page aligned.
pub trait Mmu: Send + 'static {
    /// Makes the page at `vaddr` translate to `target` with `perms`, replacing any translation
    /// it had.
    fn map(&mut self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull>;

    /// Removes every translation in `[vaddr, vaddr + len)`.
    fn unmap(&mut self, vaddr: u64, len: u64);

    /// Lowers every translation in `[vaddr, vaddr + len)` to at most `allowed`.
    fn restrict(&mut self, vaddr: u64, len: u64, allowed: Perms);

    /// Where a frame for the page at `vaddr` (of a mapping covering `[mapping.0, mapping.1)`)
    /// is cheapest to show: the physical address the MMU would prefer, asked before a write
    /// fault there commits a page. The engine gives the page a frame at that address when the
    /// frame source can (see [`FrameSource::allocate_copy_at`]); it is only a hint. The
    /// default has no preference.
    ///
    /// [`FrameSource::allocate_copy_at`]: crate::FrameSource::allocate_copy_at
    fn placement(&mut self, vaddr: u64, mapping: (u64, u64)) -> Option<u64> {
        let _ = (vaddr, mapping);
        None
    }

    /// The translation of the page at `vaddr`, for MMUs that can tell (checkers use it).
    fn translation(&self, vaddr: u64) -> Option<(PageTarget, Perms)>;

    /// Calls `visit` with every translation, for MMUs that keep a list; others visit nothing.
    fn for_each_translation(&self, visit: &mut dyn FnMut(u64, PageTarget, Perms));

    /// The MMU as [`Any`], so that its owner can reach its own type's extras.
    fn as_any(&self) -> &dyn Any;
}
