//! The seam through which the engine gets physical memory. A kernel implements [`FrameSource`]
//! over its frame allocator; the hosted runtime over a memfd; tests use
//! [`InMemoryFrames`](crate::InMemoryFrames).
//!
//! Frames are owned tokens: the engine holds each live frame in exactly one page list and hands
//! it back through [`FrameSource::release`]. Bytes are moved by copy operations rather than
//! borrowed slices, so that a source whose frames are also mapped into user memory can implement
//! them without ever creating a Rust reference to memory another thread may be writing.

use crate::geometry::PAGE_SIZE;

/// The source had no frame to give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfFrames;

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

    /// Gives a frame back.
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
}
