//! A frame source on the heap, with an optional limit so that tests can exhaust memory on
//! purpose. Released frames are kept on a free list and handed out again, as a kernel's frame
//! allocator would, so that steady-state allocation never goes back to the host allocator.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::frame_source::{FrameSource, OutOfFrames};
use crate::geometry::PAGE_SIZE;

/// One page of bytes. Cache-line alignment keeps copies between frames and page-aligned buffers
/// on the fast path of `rep movsb`; page alignment would be more faithful but makes the heap
/// place frames 8 KiB apart, which costs more than it is worth for an in-memory source.
#[derive(Debug)]
#[repr(C, align(64))]
struct FrameBytes([u8; PAGE_SIZE]);

/// A heap frame: exactly one page of bytes. (A one-element array, because that is how a `Box`
/// can be allocated fallibly in safe Rust.)
#[derive(Debug)]
pub struct MemoryFrame(Box<[FrameBytes; 1]>);

impl MemoryFrame {
    fn bytes(&self) -> &[u8; PAGE_SIZE] {
        &self.0[0].0
    }

    fn bytes_mut(&mut self) -> &mut [u8; PAGE_SIZE] {
        &mut self.0[0].0
    }
}

/// Heap-backed frames, with an adjustable limit on how many may be in use at once.
///
/// Heap frames have no physical order and no fixed addresses: this source keeps the defaults of
/// [`FrameSource::allocate_contiguous`] and [`FrameSource::borrow_frames`], so contiguous and
/// physical VMOs over it are `NotSupported`. [`ArenaFrames`](crate::ArenaFrames) offers both.
#[derive(Debug)]
pub struct InMemoryFrames {
    in_use: AtomicUsize,
    limit: AtomicUsize,
    free_list: spin::Mutex<Vec<MemoryFrame>>,
}

impl Default for InMemoryFrames {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryFrames {
    /// A source without a limit (other than the host's memory).
    pub fn new() -> Self {
        Self::with_limit(usize::MAX)
    }

    /// A source that refuses to have more than `limit` frames in use at once.
    pub fn with_limit(limit: usize) -> Self {
        InMemoryFrames {
            in_use: AtomicUsize::new(0),
            limit: AtomicUsize::new(limit),
            free_list: spin::Mutex::new(Vec::new()),
        }
    }

    /// Changes the limit. Frames already in use stay in use even if they exceed it.
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Removes the limit.
    pub fn clear_limit(&self) {
        self.set_limit(usize::MAX);
    }

    /// Counts one more frame in use, unless the limit forbids it.
    fn charge(&self) -> Result<(), OutOfFrames> {
        let limit = self.limit.load(Ordering::Relaxed);
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < limit).then_some(used + 1)
            })
            .map(|_| ())
            .map_err(|_| OutOfFrames)
    }

    fn uncharge(&self) {
        self.in_use.fetch_sub(1, Ordering::AcqRel);
    }

    /// A charged frame with unspecified contents: recycled if possible, else fresh from the heap.
    fn take_frame(&self) -> Result<MemoryFrame, OutOfFrames> {
        self.charge()?;
        if let Some(frame) = self.free_list.lock().pop() {
            return Ok(frame);
        }
        let mut storage = Vec::new();
        if storage.try_reserve_exact(1).is_err() {
            self.uncharge();
            return Err(OutOfFrames);
        }
        storage.push(FrameBytes([0; PAGE_SIZE]));
        match storage.into_boxed_slice().try_into() {
            Ok(page) => Ok(MemoryFrame(page)),
            // The vector holds exactly one frame.
            Err(_) => unreachable!("a one-element slice converts to a one-element array"),
        }
    }
}

impl FrameSource for InMemoryFrames {
    type Frame = MemoryFrame;

    fn allocate_zeroed(&self) -> Result<MemoryFrame, OutOfFrames> {
        let mut frame = self.take_frame()?;
        frame.bytes_mut().fill(0);
        Ok(frame)
    }

    fn allocate_filled(&self, contents: &[u8; PAGE_SIZE]) -> Result<MemoryFrame, OutOfFrames> {
        let mut frame = self.take_frame()?;
        frame.bytes_mut().copy_from_slice(contents);
        Ok(frame)
    }

    fn allocate_copy(&self, source: &MemoryFrame) -> Result<MemoryFrame, OutOfFrames> {
        self.allocate_filled(source.bytes())
    }

    fn release(&self, frame: MemoryFrame) {
        self.free_list.lock().push(frame);
        self.uncharge();
    }

    fn read(&self, frame: &MemoryFrame, offset: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&frame.bytes()[offset..offset + dst.len()]);
    }

    fn write(&self, frame: &mut MemoryFrame, offset: usize, src: &[u8]) {
        frame.bytes_mut()[offset..offset + src.len()].copy_from_slice(src);
    }

    fn zero(&self, frame: &mut MemoryFrame, offset: usize, len: usize) {
        frame.bytes_mut()[offset..offset + len].fill(0);
    }

    fn physical_address(&self, frame: &MemoryFrame) -> u64 {
        // Live frames start at least a page apart, so the page their first byte lies in is
        // unique to each: a page-aligned stand-in for a physical address.
        frame.bytes().as_ptr() as u64 & !(PAGE_SIZE as u64 - 1)
    }

    fn frames_in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }

    fn frames_available(&self) -> usize {
        let limit = self.limit.load(Ordering::Relaxed);
        limit.saturating_sub(self.frames_in_use())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_enforced_and_released_frames_are_reused_zeroed() {
        let frames = InMemoryFrames::with_limit(2);
        let mut a = frames.allocate_zeroed().unwrap();
        frames.write(&mut a, 0, &[7; 16]);
        let b = frames.allocate_copy(&a).unwrap();
        assert_eq!(frames.allocate_zeroed().err(), Some(OutOfFrames));
        assert_eq!(frames.frames_in_use(), 2);
        assert_eq!(frames.frames_available(), 0);
        let mut copied = [0u8; 16];
        frames.read(&b, 0, &mut copied);
        assert_eq!(copied, [7; 16]);
        frames.release(a);
        let again = frames.allocate_zeroed().unwrap();
        let mut head = [1u8; 16];
        frames.read(&again, 0, &mut head);
        assert_eq!(head, [0; 16], "a recycled frame must come back zeroed");
        frames.release(again);
        frames.release(b);
        assert_eq!(frames.frames_in_use(), 0);
    }

    #[test]
    fn a_frame_slot_is_pointer_sized_and_frames_are_page_aligned() {
        assert_eq!(core::mem::size_of::<Option<MemoryFrame>>(), 8);
        let frames = InMemoryFrames::new();
        let frame = frames.allocate_zeroed().unwrap();
        assert_eq!(frames.physical_address(&frame) % PAGE_SIZE as u64, 0);
        frames.release(frame);
    }
}
