//! The seam through which the engine gets physical memory. A kernel implements [`FrameSource`]
//! over its frame allocator; the hosted runtime over a memfd; tests use
//! [`InMemoryFrames`](crate::InMemoryFrames).
//!
//! Frames are owned tokens: the engine holds each live frame in exactly one page list and hands
//! it back through [`FrameSource::release`]. Bytes are moved by copy operations rather than
//! borrowed slices, so that a source whose frames are also mapped into user memory can implement
//! them without ever creating a Rust reference to memory another thread may be writing.
//!
//! Two optional capabilities serve contiguous and physical VMOs: a run of frames at consecutive,
//! aligned physical addresses ([`FrameSource::allocate_contiguous`]), and *borrowed* tokens for
//! frames at a fixed physical range that someone else may own ([`FrameSource::borrow_frames`]).
//! A borrowed token reads and writes the same bytes as the owner's token of that frame; giving it
//! back through [`FrameSource::release`] returns only the token, never the frame, and borrowed
//! tokens are not counted in [`FrameSource::frames_in_use`]. A source that cannot do either keeps
//! the defaults, which answer [`PhysicalError::NotSupported`].

use alloc::vec::Vec;
use core::ops::Range;

use crate::geometry::PAGE_SIZE;

/// The source had no frame to give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfFrames;

/// Why a request for physical memory by address or by contiguity failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhysicalError {
    /// The source cannot hand out contiguous runs or borrowed frames at all.
    NotSupported,
    /// No free run of the requested length and alignment (or no room for bookkeeping).
    OutOfFrames,
    /// The requested range is not (entirely) memory this source may lend.
    OutOfRange,
}

/// Physical memory for the engine, one page-sized frame at a time.
///
/// Offsets and lengths passed to the copy operations always satisfy
/// `offset + len <= PAGE_SIZE`; implementations may rely on it.
pub trait FrameSource: Send + Sync + 'static {
    /// An owned frame. Should be pointer-sized with a niche (a `Box` or a `NonZero` number) so
    /// that a page-list slot stays 8 bytes.
    type Frame: Send + Sync;

    /// A frame whose bytes are all zero.
    fn allocate_zeroed(&self) -> Result<Self::Frame, OutOfFrames>;

    /// A frame holding a copy of `contents`.
    fn allocate_filled(&self, contents: &[u8; PAGE_SIZE]) -> Result<Self::Frame, OutOfFrames>;

    /// A frame holding a copy of another frame.
    fn allocate_copy(&self, source: &Self::Frame) -> Result<Self::Frame, OutOfFrames>;

    /// Gives a frame back. For a borrowed frame (see [`FrameSource::borrow_frames`]) only the
    /// token is given back: the frame stays with whoever owns it.
    fn release(&self, frame: Self::Frame);

    /// Copies `dst.len()` bytes starting at `offset` in the frame into `dst`.
    fn read(&self, frame: &Self::Frame, offset: usize, dst: &mut [u8]);

    /// Copies `src` into the frame starting at `offset`.
    fn write(&self, frame: &mut Self::Frame, offset: usize, src: &[u8]);

    /// Sets `len` bytes starting at `offset` to zero.
    fn zero(&self, frame: &mut Self::Frame, offset: usize, len: usize);

    /// The frame's physical address, as reported by a LOOKUP.
    fn physical_address(&self, frame: &Self::Frame) -> u64;

    /// Frames allocated and not yet released.
    fn frames_in_use(&self) -> usize;

    /// At most how many more frames the source could hand out now (`usize::MAX` when it cannot
    /// tell). The engine refuses an operation that needs more at once, before doing any work.
    fn frames_available(&self) -> usize;

    /// Pushes `count` zero-filled frames onto `out` whose physical addresses are consecutive
    /// (frame `i` at the first one's address plus `i` pages), the first aligned to
    /// `1 << align_log2` bytes. The engine reserves room in `out` beforehand, so pushing does not
    /// allocate; on failure nothing is pushed and nothing is held. The frames count as in use
    /// like any others and are released one by one.
    ///
    /// The default cannot: [`PhysicalError::NotSupported`].
    fn allocate_contiguous(
        &self,
        count: usize,
        align_log2: u32,
        out: &mut Vec<Self::Frame>,
    ) -> Result<(), PhysicalError> {
        let _ = (count, align_log2, out);
        Err(PhysicalError::NotSupported)
    }

    /// The physical addresses [`FrameSource::borrow_frames`] may lend: the source's own memory,
    /// as [`FrameSource::physical_address`] numbers it. The default is empty.
    fn borrowable_range(&self) -> Range<u64> {
        0..0
    }

    /// Pushes onto `out` borrowed tokens for the `count` frames starting at the page-aligned
    /// physical address `paddr`, in order, whether or not anyone owns them now. The range must
    /// lie inside [`FrameSource::borrowable_range`] ([`PhysicalError::OutOfRange`] otherwise).
    /// Room in `out` is reserved by the engine; on failure nothing is pushed.
    ///
    /// A borrowed token is for reading and writing the frame in place: the source must still
    /// hand the frame out zero-filled when it allocates it later (a borrower may have written
    /// it while it was free). The default cannot: [`PhysicalError::NotSupported`].
    fn borrow_frames(
        &self,
        paddr: u64,
        count: usize,
        out: &mut Vec<Self::Frame>,
    ) -> Result<(), PhysicalError> {
        let _ = (paddr, count, out);
        Err(PhysicalError::NotSupported)
    }

    /// A frame holding a copy of `source` at physical address `paddr`, if that frame is free
    /// and may be handed out now; `None` otherwise (the engine then allocates as usual). Lets
    /// an MMU that shows some frames more cheaply than others (see [`Mmu::placement`]) get
    /// them. The default never can.
    ///
    /// [`Mmu::placement`]: crate::Mmu::placement
    fn allocate_copy_at(&self, source: &Self::Frame, paddr: u64) -> Option<Self::Frame> {
        let _ = (source, paddr);
        None
    }

    /// A zero-filled frame at physical address `paddr`, as for
    /// [`FrameSource::allocate_copy_at`].
    fn allocate_zeroed_at(&self, paddr: u64) -> Option<Self::Frame> {
        let _ = paddr;
        None
    }

    /// Whether `frame` is a borrowed token (from [`FrameSource::borrow_frames`]).
    fn is_borrowed(&self, frame: &Self::Frame) -> bool {
        let _ = frame;
        false
    }
}
