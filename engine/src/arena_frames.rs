//! [`ArenaFrames`]: a fixed block of "physical memory" on the heap, numbered by physical address,
//! for tests and tools that need what [`InMemoryFrames`](crate::InMemoryFrames) cannot give:
//! runs of frames at consecutive addresses (contiguous VMOs) and frames lent by address
//! (physical VMOs). It is also a model of the frame allocator a bare-metal kernel would put
//! under the engine.
//!
//! Frame `i` is at physical address `base + i * PAGE_SIZE`. Frames are handed out next-fit from
//! a cursor, and a contiguous run is the first free run of the right length and alignment at or
//! after the cursor (wrapping around once). Every frame's bytes sit behind their own small lock,
//! because a borrowed token and the owner's token reach the same bytes.

use alloc::vec::Vec;
use core::num::NonZeroU32;
use core::ops::Range;

use crate::frame_source::{FrameSource, OutOfFrames, PhysicalError};
use crate::geometry::PAGE_SIZE;
use crate::platform::Platform;

const PAGE: u64 = PAGE_SIZE as u64;

/// A frame of an [`ArenaFrames`]: its index (stored plus one, for the niche that keeps a
/// page-list slot pointer-sized) and whether this token is only borrowed.
#[derive(Debug, PartialEq, Eq)]
pub struct ArenaFrame {
    number: NonZeroU32,
    borrowed: bool,
}

impl ArenaFrame {
    fn index(&self) -> usize {
        self.number.get() as usize - 1
    }
}

/// Which frames are taken, and how many borrowed tokens each has out.
#[derive(Debug)]
struct Allocation {
    owned: Vec<bool>,
    borrowed: Vec<u32>,
    in_use: usize,
    cursor: usize,
}

/// A fixed number of heap frames with physical addresses, supporting contiguous runs and
/// borrowed frames.
#[derive(Debug)]
pub struct ArenaFrames {
    base: u64,
    pages: Vec<spin::Mutex<[u8; PAGE_SIZE]>>,
    allocation: spin::Mutex<Allocation>,
}

/// The physical address of an arena's first frame unless told otherwise: 1 MiB, so that no
/// frame is at address 0.
pub const DEFAULT_ARENA_BASE: u64 = 1 << 20;

impl ArenaFrames {
    /// An arena of `count` frames starting at [`DEFAULT_ARENA_BASE`]; `None` if the host cannot
    /// give that much memory or `count` does not fit the frame numbering (2^32 - 1 frames).
    pub fn new(count: usize) -> Option<Self> {
        Self::with_base(DEFAULT_ARENA_BASE, count)
    }

    /// An arena of `count` frames whose first frame is at physical address `base` (rounded down
    /// to a page); `None` if the memory cannot be had or the addresses would overflow.
    pub fn with_base(base: u64, count: usize) -> Option<Self> {
        let base = base & !(PAGE - 1);
        u32::try_from(count).ok()?.checked_add(1)?;
        base.checked_add((count as u64).checked_mul(PAGE)?)?;
        let mut pages = Vec::new();
        pages.try_reserve_exact(count).ok()?;
        let mut owned = Vec::new();
        owned.try_reserve_exact(count).ok()?;
        let mut borrowed = Vec::new();
        borrowed.try_reserve_exact(count).ok()?;
        for _ in 0..count {
            pages.push(spin::Mutex::new([0; PAGE_SIZE]));
            owned.push(false);
            borrowed.push(0);
        }
        Some(ArenaFrames {
            base,
            pages,
            allocation: spin::Mutex::new(Allocation {
                owned,
                borrowed,
                in_use: 0,
                cursor: 0,
            }),
        })
    }

    /// Frames the arena holds.
    pub fn capacity(&self) -> usize {
        self.pages.len()
    }

    /// Borrowed tokens currently out for the frame at `paddr` (for tests).
    pub fn borrowed_tokens(&self, paddr: u64) -> u32 {
        self.index_of(paddr)
            .map_or(0, |index| self.allocation.lock().borrowed[index])
    }

    /// Whether the frame at `paddr` is allocated to an owner (for tests).
    pub fn is_allocated(&self, paddr: u64) -> bool {
        self.index_of(paddr)
            .is_some_and(|index| self.allocation.lock().owned[index])
    }

    /// The index of the frame at the page-aligned `paddr`, if it is in the arena.
    fn index_of(&self, paddr: u64) -> Option<usize> {
        if paddr % PAGE != 0 {
            return None;
        }
        let index = usize::try_from(paddr.checked_sub(self.base)? / PAGE).ok()?;
        (index < self.pages.len()).then_some(index)
    }

    fn token(index: usize, borrowed: bool) -> ArenaFrame {
        // `with_base` checked that every index plus one fits a u32.
        match NonZeroU32::new(index as u32 + 1) {
            Some(number) => ArenaFrame { number, borrowed },
            None => unreachable!("index + 1 is never zero"),
        }
    }

    /// Takes one free frame, next-fit, and zeroes it.
    fn take(&self) -> Result<ArenaFrame, OutOfFrames> {
        let index = {
            let mut a = self.allocation.lock();
            let count = a.owned.len();
            let start = a.cursor;
            let found = (0..count)
                .map(|step| (start + step) % count)
                .find(|&index| !a.owned[index])
                .ok_or(OutOfFrames)?;
            a.owned[found] = true;
            a.in_use += 1;
            a.cursor = (found + 1) % count;
            found
        };
        // A borrower may have written the frame while it was free.
        self.pages[index].lock().fill(0);
        Ok(Self::token(index, false))
    }
}

impl FrameSource for ArenaFrames {
    type Frame = ArenaFrame;

    fn allocate_zeroed(&self) -> Result<ArenaFrame, OutOfFrames> {
        self.take()
    }

    fn allocate_filled(&self, contents: &[u8; PAGE_SIZE]) -> Result<ArenaFrame, OutOfFrames> {
        let frame = self.take()?;
        self.pages[frame.index()].lock().copy_from_slice(contents);
        Ok(frame)
    }

    fn allocate_copy(&self, source: &ArenaFrame) -> Result<ArenaFrame, OutOfFrames> {
        let copy = *self.pages[source.index()].lock();
        self.allocate_filled(&copy)
    }

    fn release(&self, frame: ArenaFrame) {
        let mut a = self.allocation.lock();
        let index = frame.index();
        if frame.borrowed {
            a.borrowed[index] -= 1;
        } else {
            a.owned[index] = false;
            a.in_use -= 1;
        }
    }

    fn read(&self, frame: &ArenaFrame, offset: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&self.pages[frame.index()].lock()[offset..offset + dst.len()]);
    }

    fn write(&self, frame: &mut ArenaFrame, offset: usize, src: &[u8]) {
        self.pages[frame.index()].lock()[offset..offset + src.len()].copy_from_slice(src);
    }

    fn zero(&self, frame: &mut ArenaFrame, offset: usize, len: usize) {
        self.pages[frame.index()].lock()[offset..offset + len].fill(0);
    }

    fn physical_address(&self, frame: &ArenaFrame) -> u64 {
        self.base + frame.index() as u64 * PAGE
    }

    fn frames_in_use(&self) -> usize {
        self.allocation.lock().in_use
    }

    fn frames_available(&self) -> usize {
        let a = self.allocation.lock();
        a.owned.len() - a.in_use
    }

    fn allocate_contiguous(
        &self,
        count: usize,
        align_log2: u32,
        out: &mut Vec<ArenaFrame>,
    ) -> Result<(), PhysicalError> {
        let total = self.pages.len();
        if count == 0 || count > total || align_log2 >= 64 {
            return Err(PhysicalError::OutOfFrames);
        }
        let align = 1u64 << align_log2;
        let run = {
            let mut a = self.allocation.lock();
            let aligned = |index: usize| (self.base + index as u64 * PAGE) % align == 0;
            let free_run = |start: usize| (start..start + count).all(|index| !a.owned[index]);
            // Candidate starts from the cursor to the end, then from the beginning.
            let cursor = a.cursor.min(total - 1);
            let starts = (cursor..=total - count).chain(0..cursor.min(total - count + 1));
            let found = starts
                .filter(|&start| aligned(start))
                .find(|&start| free_run(start))
                .ok_or(PhysicalError::OutOfFrames)?;
            for index in found..found + count {
                a.owned[index] = true;
            }
            a.in_use += count;
            a.cursor = (found + count) % total;
            found
        };
        for index in run..run + count {
            self.pages[index].lock().fill(0);
            out.push(Self::token(index, false));
        }
        Ok(())
    }

    fn borrowable_range(&self) -> Range<u64> {
        self.base..self.base + self.pages.len() as u64 * PAGE
    }

    fn borrow_frames(
        &self,
        paddr: u64,
        count: usize,
        out: &mut Vec<ArenaFrame>,
    ) -> Result<(), PhysicalError> {
        let first = self.index_of(paddr).ok_or(PhysicalError::OutOfRange)?;
        if count > self.pages.len() - first {
            return Err(PhysicalError::OutOfRange);
        }
        let mut a = self.allocation.lock();
        if (first..first + count).any(|index| a.borrowed[index] == u32::MAX) {
            return Err(PhysicalError::OutOfFrames);
        }
        for index in first..first + count {
            a.borrowed[index] += 1;
            out.push(Self::token(index, true));
        }
        Ok(())
    }

    fn is_borrowed(&self, frame: &ArenaFrame) -> bool {
        frame.borrowed
    }
}

/// Arena frames and spin locks: the platform for tests and tools that use contiguous and
/// physical VMOs.
#[derive(Debug)]
pub enum ArenaPlatform {}

impl Platform for ArenaPlatform {
    type Frames = ArenaFrames;
    type RawMutex = spin::Mutex<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_contiguous_aligned_and_borrowing_never_frees() {
        let arena = ArenaFrames::new(16).unwrap();
        let single = arena.allocate_zeroed().unwrap();
        let mut run = Vec::with_capacity(4);
        arena.allocate_contiguous(4, 14, &mut run).unwrap();
        let first = arena.physical_address(&run[0]);
        assert_eq!(first % (1 << 14), 0);
        for (i, frame) in run.iter().enumerate() {
            assert_eq!(arena.physical_address(frame), first + i as u64 * PAGE);
        }
        assert_eq!(arena.frames_in_use(), 5);
        let mut lent = Vec::with_capacity(2);
        arena.borrow_frames(first, 2, &mut lent).unwrap();
        arena.write(&mut lent[0], 0, b"dma");
        let mut back = [0u8; 3];
        arena.read(&run[0], 0, &mut back);
        assert_eq!(&back, b"dma", "both tokens reach the same bytes");
        for frame in lent {
            arena.release(frame);
        }
        assert_eq!(arena.frames_in_use(), 5, "borrowed tokens free nothing");
        assert_eq!(core::mem::size_of::<Option<ArenaFrame>>(), 8);
        for frame in run.into_iter().chain([single]) {
            arena.release(frame);
        }
        assert_eq!(arena.frames_in_use(), 0);
        let mut none = Vec::new();
        assert_eq!(
            arena.borrow_frames(arena.borrowable_range().end, 1, &mut none),
            Err(PhysicalError::OutOfRange)
        );
        assert_eq!(
            arena.allocate_contiguous(17, 12, &mut none),
            Err(PhysicalError::OutOfFrames)
        );
    }
}
