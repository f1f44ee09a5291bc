//! [`MemfdFrames`]: "physical memory" for the hosted runtime, a memfd whose pages are the frames.
//! The whole file is mapped once as the runtime's own view (the physmap), through which the
//! engine copies bytes; user mappings map the same file pages, so a frame written by the engine
//! is what a program sees through its pointer, with no copy.
//!
//! Frames are handed out next-fit: after frame `n`, the first free frame above it (wrapping
//! around), and a never-used one only when no frame is free. Pages a VMO commits one after
//! another (a sequential write, a run of faults) therefore tend to sit on neighbouring file
//! offsets, and the host merges their mappings into one. Frame 0 is never handed out: it
//! stays zero and is the page every untouched read maps. File space is reserved (`fallocate`)
//! ahead of use in 2 MiB steps, so that running out of host memory is `OutOfFrames` at
//! allocation, never a SIGBUS on first touch. When many frames are free and they outnumber those
//! in use, their pages are punched out of the file and go back to the host.
//!
//! Contiguous VMOs get a run of frames at consecutive file offsets (physical addresses), found
//! next-fit among the free frames, the returned ones and the never-used tail. Physical VMOs get
//! *borrowed* tokens for any frames of the file but the zero frame: writes through them go to the
//! same file pages as the owner's, releasing them frees nothing, and a frame with borrowed tokens
//! out is never punched (a borrower could fill the hole again, and the allocator would then hand
//! out a "zero" frame that is not). Frames a borrower may have written while free are zeroed when
//! they are allocated, like any recycled frame.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fs::{fallocate, ftruncate, memfd_create, FallocateFlags, MemfdFlags};
use rustix::mm::{madvise, mmap, munmap, Advice, MapFlags, ProtFlags};
use vm_engine::{FrameSource, OutOfFrames, PhysicalError, PAGE_SIZE};

const PAGE: u64 = PAGE_SIZE as u64;
/// Frames of file space reserved at a time.
const RESERVE_STEP: u32 = 512;
/// Free frames (64 MiB) from which, when they outnumber the frames in use, the free ones are
/// given back to the host.
const RETURN_THRESHOLD: usize = 16_384;

/// A frame: its index in the file (never 0, the zero frame), and whether this token is only
/// borrowed (see [`FrameSource::borrow_frames`]). Still eight bytes with a niche.
#[derive(Debug, PartialEq, Eq)]
pub struct MemfdFrame {
    index: std::num::NonZeroU32,
    borrowed: bool,
}

impl MemfdFrame {
    fn index(&self) -> u32 {
        self.index.get()
    }
}

/// Which frames are free.
#[derive(Debug)]
struct Allocator {
    /// Released frames below `high` whose pages the file still holds.
    free: BTreeSet<u32>,
    /// Released frames whose pages went back to the host (holes in the file).
    returned: BTreeSet<u32>,
    /// Frames `high..` have never been handed out.
    high: u32,
    /// Frames `..reserved` have file space.
    reserved: u32,
    /// Where the next search starts: one past the last frame handed out.
    cursor: u32,
    /// Borrowed tokens out, per frame that has any.
    borrowed: BTreeMap<u32, u32>,
}

/// Frames in a memfd, with a limit on how many may be in use.
#[derive(Debug)]
pub struct MemfdFrames {
    fd: OwnedFd,
    physmap: NonNull<u8>,
    /// Frames the file can hold (the zero frame included).
    capacity: u32,
    allocator: parking_lot::Mutex<Allocator>,
    in_use: AtomicUsize,
    limit: AtomicUsize,
}

// SAFETY: the physmap pointer is only ever used to copy bytes of frames the engine holds tokens
// for (owned or borrowed: a borrowed frame may be written through two tokens at once, which is
// a race on device memory, never on Rust data), or of the zero frame, never written; the
// mapping lives as long as the value. Every other field is thread-safe.
unsafe impl Send for MemfdFrames {}
// SAFETY: as for `Send`: shared access only copies through raw pointers.
unsafe impl Sync for MemfdFrames {}

/// Why the frame file could not be set up.
#[derive(Debug)]
pub struct SetupError(pub rustix::io::Errno);

impl MemfdFrames {
    /// A source of at most `limit` frames in use at once (the file is sized for them plus the
    /// zero frame; its pages take host memory only once used).
    pub fn with_limit(limit: usize) -> Result<Self, SetupError> {
        let capacity = u32::try_from(limit.saturating_add(1)).unwrap_or(u32::MAX);
        let fd = memfd_create("zircon-frames", MemfdFlags::CLOEXEC).map_err(SetupError)?;
        let bytes = u64::from(capacity) * PAGE;
        ftruncate(&fd, bytes).map_err(SetupError)?;
        let len = usize::try_from(bytes).map_err(|_| SetupError(rustix::io::Errno::NOMEM))?;
        // SAFETY: a new shared mapping of our own file at an address the kernel picks; it
        // overlaps nothing, and it is unmapped only in `drop`.
        let physmap = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED | MapFlags::NORESERVE,
                &fd,
                0,
            )
        }
        .map_err(SetupError)?;
        let physmap =
            NonNull::new(physmap.cast::<u8>()).ok_or(SetupError(rustix::io::Errno::NOMEM))?;
        Ok(MemfdFrames {
            fd,
            physmap,
            capacity,
            allocator: parking_lot::Mutex::new(Allocator {
                free: BTreeSet::new(),
                returned: BTreeSet::new(),
                high: 1,
                reserved: 1,
                cursor: 1,
                borrowed: BTreeMap::new(),
            }),
            in_use: AtomicUsize::new(0),
            limit: AtomicUsize::new(limit),
        })
    }

    /// Changes the limit (never above what the file was sized for). Frames already in use
    /// stay in use even if they exceed it.
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// The file, for mapping frames into an address space.
    pub fn file(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The file offset of the frame that always reads as zeros.
    pub const ZERO_FRAME_OFFSET: u64 = 0;

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

    /// A charged frame and whether it may hold old bytes (a recycled one).
    fn take(&self) -> Result<(MemfdFrame, bool), OutOfFrames> {
        self.charge()?;
        let mut a = self.allocator.lock();
        // Next fit among released frames, wrapping around; new file pages only when none is
        // free, so the file never grows while frames wait on the free list.
        let recycled = a
            .free
            .range(a.cursor..)
            .next()
            .or_else(|| a.free.first())
            .copied();
        let returned = match recycled {
            Some(_) => None,
            None => a
                .returned
                .range(a.cursor..)
                .next()
                .or_else(|| a.returned.first())
                .copied(),
        };
        let (index, used_before) = match (recycled, returned) {
            (Some(index), _) => (index, true),
            (None, Some(index)) => {
                // File space again for a page given back to the host: a hole reads as zeros.
                let offset = u64::from(index) * PAGE;
                if fallocate(&self.fd, FallocateFlags::empty(), offset, PAGE).is_err() {
                    drop(a);
                    self.in_use.fetch_sub(1, Ordering::AcqRel);
                    return Err(OutOfFrames);
                }
                a.returned.remove(&index);
                (index, false)
            }
            (None, None) if a.high < self.capacity => {
                if a.high == a.reserved {
                    let step = RESERVE_STEP.min(self.capacity - a.reserved);
                    let reserved = fallocate(
                        &self.fd,
                        FallocateFlags::empty(),
                        u64::from(a.reserved) * PAGE,
                        u64::from(step) * PAGE,
                    );
                    if reserved.is_err() {
                        drop(a);
                        self.in_use.fetch_sub(1, Ordering::AcqRel);
                        return Err(OutOfFrames);
                    }
                    // Map the new pages into the physmap now, in one call, rather than one
                    // minor fault at a time when the engine first copies into each. Best
                    // effort: without it (Linux before 5.14) they fault in as usual.
                    // SAFETY: the range lies inside the physmap; populating changes no byte.
                    let _ = unsafe {
                        madvise(
                            self.at(a.reserved, 0).cast(),
                            step as usize * PAGE_SIZE,
                            Advice::LinuxPopulateWrite,
                        )
                    };
                    a.reserved += step;
                }
                a.high += 1;
                (a.high - 1, false)
            }
            (None, None) => {
                drop(a);
                self.in_use.fetch_sub(1, Ordering::AcqRel);
                return Err(OutOfFrames);
            }
        };
        if used_before {
            a.free.remove(&index);
        }
        a.cursor = index + 1;
        match std::num::NonZeroU32::new(index) {
            Some(index) => Ok((
                MemfdFrame {
                    index,
                    borrowed: false,
                },
                used_before,
            )),
            None => unreachable!("frame 0 is never handed out"),
        }
    }

    /// Frame `index`, charged, if it is free (released, returned, or never used but with file
    /// space), and whether it may hold old bytes. `None` if it is in use, out of range, or the
    /// limit forbids one more frame.
    fn take_at(&self, index: u32) -> Option<(MemfdFrame, bool)> {
        if index == 0 || index >= self.capacity {
            return None;
        }
        self.charge().ok()?;
        let mut a = self.allocator.lock();
        let used_before = if a.free.remove(&index) {
            true
        } else if a.returned.contains(&index) {
            let offset = u64::from(index) * PAGE;
            if fallocate(&self.fd, FallocateFlags::empty(), offset, PAGE).is_err() {
                drop(a);
                self.in_use.fetch_sub(1, Ordering::AcqRel);
                return None;
            }
            a.returned.remove(&index);
            false
        } else if index >= a.high && index < a.reserved {
            // Never used: the ones skipped over become free frames.
            let high = a.high;
            a.free.extend(high..index);
            a.high = index + 1;
            false
        } else {
            drop(a);
            self.in_use.fetch_sub(1, Ordering::AcqRel);
            return None;
        };
        a.cursor = index + 1;
        Some((Self::token(index, false), used_before))
    }

    /// `frame`, just taken, holding a copy of `source`.
    fn copied(&self, source: &MemfdFrame, frame: MemfdFrame) -> MemfdFrame {
        // SAFETY: two distinct frames inside the physmap (a frame just taken was free, so it is
        // not `source`); the new one is ours alone.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.at(source.index(), 0),
                self.at(frame.index(), 0),
                PAGE_SIZE,
            )
        };
        frame
    }

    /// The frame index at physical address `paddr`, if it is a page boundary in the file.
    fn index_of(&self, paddr: u64) -> Option<u32> {
        (paddr % PAGE == 0)
            .then(|| u32::try_from(paddr / PAGE).ok())
            .flatten()
    }

    /// A token for frame `index` (never 0: callers exclude the zero frame).
    fn token(index: u32, borrowed: bool) -> MemfdFrame {
        match std::num::NonZeroU32::new(index) {
            Some(index) => MemfdFrame { index, borrowed },
            None => unreachable!("the zero frame is never handed out or lent"),
        }
    }

    /// Makes sure the file has space for frames `range` (so touching them cannot SIGBUS), and
    /// that none of them is a hole the allocator would hand out as already zero: returned frames
    /// get their space back and become ordinary free frames, and never-used frames up to the end
    /// of the range become free frames too. On failure nothing changed.
    fn back(&self, a: &mut Allocator, range: Range<u32>) -> Result<(), ()> {
        if range.is_empty() {
            return Ok(());
        }
        // Frames between the reserved end and the range become free frames below: they need
        // space too.
        let start = if range.end > a.reserved {
            range.start.min(a.reserved)
        } else {
            range.start
        };
        let offset = u64::from(start) * PAGE;
        let len = u64::from(range.end - start) * PAGE;
        fallocate(&self.fd, FallocateFlags::empty(), offset, len).map_err(|_| ())?;
        a.reserved = a.reserved.max(range.end);
        let revived: Vec<u32> = a.returned.range(range.clone()).copied().collect();
        for index in revived {
            a.returned.remove(&index);
            a.free.insert(index);
        }
        if range.end > a.high {
            a.free.extend(a.high..range.end);
            a.high = range.end;
        }
        Ok(())
    }

    /// The first run of `count` free frames (free, returned or never used) starting at or after
    /// `from`, whose first frame's index is a multiple of `align` (a power of two, in frames).
    fn find_run(&self, a: &Allocator, from: u32, count: u32, align: u32) -> Option<u32> {
        let from = from.max(1);
        let fits = |start: u32, end: u32| {
            // The first aligned index at or after `start` (no overflow: below 2^32 - align).
            let first = start.checked_next_multiple_of(align)?;
            (first.checked_add(count)? <= end).then_some(first)
        };
        // Free frames below `high` in order, merged into maximal runs.
        let mut known = a.free.range(from..).peekable();
        let mut gone = a.returned.range(from..).peekable();
        let mut next = || match (known.peek(), gone.peek()) {
            (Some(&&k), Some(&&g)) if k < g => known.next().copied(),
            (Some(_), Some(_)) => gone.next().copied(),
            (Some(_), None) => known.next().copied(),
            (None, _) => gone.next().copied(),
        };
        let mut run: Option<(u32, u32)> = None;
        while let Some(index) = next() {
            run = match run {
                Some((start, end)) if end == index => Some((start, index + 1)),
                Some((start, end)) => {
                    if let Some(found) = fits(start, end) {
                        return Some(found);
                    }
                    Some((index, index + 1))
                }
                None => Some((index, index + 1)),
            };
        }
        // The never-used tail joins a run that ends where it begins.
        let tail_start = a.high.max(from);
        match run {
            Some((start, end)) if end == tail_start => fits(start, self.capacity),
            Some((start, end)) => fits(start, end).or_else(|| fits(tail_start, self.capacity)),
            None => fits(tail_start, self.capacity),
        }
    }

    /// Punches every free frame out of the file, a run at a time, and files them as returned.
    fn give_back(&self, a: &mut Allocator) {
        let mut free = std::mem::take(&mut a.free);
        // Frames lent to physical VMOs stay: a borrower's write would fill the hole again.
        let lent: Vec<u32> = a
            .borrowed
            .keys()
            .copied()
            .filter(|index| free.remove(index))
            .collect();
        a.free.extend(lent);
        let mut frames = free.iter().copied().peekable();
        while let Some(first) = frames.next() {
            let mut last = first;
            while frames.peek() == Some(&(last + 1)) {
                last += 1;
                frames.next();
            }
            let punched = fallocate(
                &self.fd,
                FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
                u64::from(first) * PAGE,
                u64::from(last - first + 1) * PAGE,
            );
            if punched.is_ok() {
                a.returned.extend(first..=last);
            } else {
                a.free.extend(first..=last);
            }
        }
    }

    /// Bytes of host memory the frame file holds (for tests and diagnostics).
    pub fn resident_bytes(&self) -> u64 {
        rustix::fs::fstat(&self.fd).map_or(0, |stat| stat.st_blocks as u64 * 512)
    }

    /// The physmap address of byte `offset` of frame `index`.
    fn at(&self, index: u32, offset: usize) -> *mut u8 {
        debug_assert!(index < self.capacity && offset <= PAGE_SIZE);
        // In bounds: `index < capacity` and the physmap spans `capacity` pages.
        self.physmap
            .as_ptr()
            .wrapping_add(index as usize * PAGE_SIZE + offset)
    }
}

impl Drop for MemfdFrames {
    fn drop(&mut self) {
        // SAFETY: the physmap was mapped in `with_limit` with exactly this length and nothing
        // else uses it once the source is dropped.
        let _ = unsafe {
            munmap(
                self.physmap.as_ptr().cast(),
                self.capacity as usize * PAGE_SIZE,
            )
        };
    }
}

impl FrameSource for MemfdFrames {
    type Frame = MemfdFrame;

    fn allocate_zeroed(&self) -> Result<MemfdFrame, OutOfFrames> {
        let (frame, used_before) = self.take()?;
        if used_before {
            // SAFETY: the frame is ours alone (just taken) and lies inside the physmap.
            unsafe { self.at(frame.index(), 0).write_bytes(0, PAGE_SIZE) };
        }
        Ok(frame)
    }

    fn allocate_filled(&self, contents: &[u8; PAGE_SIZE]) -> Result<MemfdFrame, OutOfFrames> {
        let (frame, _) = self.take()?;
        // SAFETY: the frame is ours alone and inside the physmap; `contents` is a distinct page.
        unsafe {
            std::ptr::copy_nonoverlapping(contents.as_ptr(), self.at(frame.index(), 0), PAGE_SIZE)
        };
        Ok(frame)
    }

    fn allocate_copy(&self, source: &MemfdFrame) -> Result<MemfdFrame, OutOfFrames> {
        let (frame, _) = self.take()?;
        Ok(self.copied(source, frame))
    }

    fn allocate_copy_at(&self, source: &MemfdFrame, paddr: u64) -> Option<MemfdFrame> {
        let (frame, _) = self.take_at(self.index_of(paddr)?)?;
        Some(self.copied(source, frame))
    }

    fn allocate_zeroed_at(&self, paddr: u64) -> Option<MemfdFrame> {
        let (frame, used_before) = self.take_at(self.index_of(paddr)?)?;
        if used_before {
            // SAFETY: as for `allocate_zeroed`.
            unsafe { self.at(frame.index(), 0).write_bytes(0, PAGE_SIZE) };
        }
        Some(frame)
    }

    fn release(&self, frame: MemfdFrame) {
        if frame.borrowed {
            // Only the token comes back; the frame stays with its owner (or free).
            let mut a = self.allocator.lock();
            if let Some(tokens) = a.borrowed.get_mut(&frame.index()) {
                *tokens -= 1;
                if *tokens == 0 {
                    a.borrowed.remove(&frame.index());
                }
            }
            return;
        }
        let in_use = self.in_use.fetch_sub(1, Ordering::AcqRel) - 1;
        let mut a = self.allocator.lock();
        a.free.insert(frame.index());
        // Memory nobody uses goes back to the host, in batches: once the free frames are many
        // and outnumber the frames in use, every run of them becomes a hole in the file.
        if a.free.len() >= RETURN_THRESHOLD && a.free.len() > in_use {
            self.give_back(&mut a);
        }
    }

    fn read(&self, frame: &MemfdFrame, offset: usize, dst: &mut [u8]) {
        // SAFETY: `offset + dst.len() <= PAGE_SIZE` (the trait's promise) keeps the source inside
        // the frame; `dst` is caller memory distinct from the physmap. A program may be writing
        // the frame through its own mapping meanwhile, as hardware would allow.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.at(frame.index(), offset),
                dst.as_mut_ptr(),
                dst.len(),
            )
        };
    }

    fn write(&self, frame: &mut MemfdFrame, offset: usize, src: &[u8]) {
        // SAFETY: as for `read`, in the other direction.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.at(frame.index(), offset), src.len())
        };
    }

    fn zero(&self, frame: &mut MemfdFrame, offset: usize, len: usize) {
        // SAFETY: `offset + len <= PAGE_SIZE` keeps the range inside the frame.
        unsafe { self.at(frame.index(), offset).write_bytes(0, len) };
    }

    fn physical_address(&self, frame: &MemfdFrame) -> u64 {
        u64::from(frame.index()) * PAGE
    }

    fn frames_in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }

    fn frames_available(&self) -> usize {
        let limit = self.limit.load(Ordering::Relaxed);
        limit.saturating_sub(self.frames_in_use())
    }

    fn allocate_contiguous(
        &self,
        count: usize,
        align_log2: u32,
        out: &mut Vec<MemfdFrame>,
    ) -> Result<(), PhysicalError> {
        // Alignment in frames; an alignment beyond the file can only be met at index 0, which
        // is the zero frame, so no run has it.
        let shift = align_log2.saturating_sub(PAGE_SIZE.trailing_zeros());
        let Some(align) = 1u32.checked_shl(shift) else {
            return Err(PhysicalError::OutOfFrames);
        };
        let Ok(count32) = u32::try_from(count) else {
            return Err(PhysicalError::OutOfFrames);
        };
        if count == 0 {
            return Err(PhysicalError::OutOfFrames);
        }
        // Charged as a whole first, as `take` charges one frame.
        let limit = self.limit.load(Ordering::Relaxed);
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(count).filter(|&total| total <= limit)
            })
            .map_err(|_| PhysicalError::OutOfFrames)?;
        let uncharge = || {
            self.in_use.fetch_sub(count, Ordering::AcqRel);
        };
        let mut a = self.allocator.lock();
        let cursor = a.cursor;
        let Some(start) = self
            .find_run(&a, cursor, count32, align)
            .or_else(|| self.find_run(&a, 1, count32, align))
        else {
            drop(a);
            uncharge();
            return Err(PhysicalError::OutOfFrames);
        };
        let run = start..start + count32;
        if self.back(&mut a, run.clone()).is_err() {
            drop(a);
            uncharge();
            return Err(PhysicalError::OutOfFrames);
        }
        // `back` left every frame of the run below `high` and none returned: all are free.
        for index in run.clone() {
            a.free.remove(&index);
        }
        a.cursor = run.end;
        drop(a);
        for index in run {
            // SAFETY: the frame is ours alone (just taken) and lies inside the physmap; it may
            // hold a previous owner's or a borrower's bytes.
            unsafe { self.at(index, 0).write_bytes(0, PAGE_SIZE) };
            out.push(Self::token(index, false));
        }
        Ok(())
    }

    fn borrowable_range(&self) -> Range<u64> {
        // Every frame of the file but the zero frame, which every untouched read maps.
        PAGE..u64::from(self.capacity) * PAGE
    }

    fn borrow_frames(
        &self,
        paddr: u64,
        count: usize,
        out: &mut Vec<MemfdFrame>,
    ) -> Result<(), PhysicalError> {
        let range = self.borrowable_range();
        let end = (count as u64)
            .checked_mul(PAGE)
            .and_then(|len| paddr.checked_add(len));
        let inside =
            paddr % PAGE == 0 && range.contains(&paddr) && end.is_some_and(|end| end <= range.end);
        if !inside {
            return Err(PhysicalError::OutOfRange);
        }
        // Inside the file, whose frame count fits a u32.
        let first = (paddr / PAGE) as u32;
        let frames = first..first + count as u32;
        let mut a = self.allocator.lock();
        self.back(&mut a, frames.clone())
            .map_err(|()| PhysicalError::OutOfFrames)?;
        for index in frames {
            *a.borrowed.entry(index).or_insert(0) += 1;
            out.push(Self::token(index, true));
        }
        Ok(())
    }

    fn is_borrowed(&self, frame: &MemfdFrame) -> bool {
        frame.borrowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_in_order_are_recycled_zeroed_and_respect_the_limit() {
        let frames = MemfdFrames::with_limit(3).unwrap();
        let mut a = frames.allocate_zeroed().unwrap();
        let b = frames.allocate_zeroed().unwrap();
        assert_eq!(frames.physical_address(&a), PAGE);
        assert_eq!(
            frames.physical_address(&b),
            2 * PAGE,
            "neighbours on neighbouring offsets"
        );
        frames.write(&mut a, 10, b"bytes");
        let c = frames.allocate_copy(&a).unwrap();
        let mut back = [0u8; 5];
        frames.read(&c, 10, &mut back);
        assert_eq!(&back, b"bytes");
        assert_eq!(frames.allocate_zeroed(), Err(OutOfFrames));
        frames.release(a);
        let again = frames.allocate_zeroed().unwrap();
        frames.read(&again, 10, &mut back);
        assert_eq!(back, [0; 5], "a recycled frame comes back zeroed");
        for frame in [again, b, c] {
            frames.release(frame);
        }
        assert_eq!(frames.frames_in_use(), 0);
    }

    #[test]
    fn contiguous_runs_are_consecutive_aligned_zeroed_and_counted() {
        let frames = MemfdFrames::with_limit(64).unwrap();
        let mut singles: Vec<MemfdFrame> =
            (0..5).map(|_| frames.allocate_zeroed().unwrap()).collect();
        for frame in &mut singles {
            frames.write(frame, 0, &[0xAB; 16]);
        }
        // Free frames 2 and 3, then ask for an aligned run of 4 (16 KiB: index multiple of 4).
        let freed: Vec<_> = singles.drain(1..3).collect();
        for frame in freed {
            frames.release(frame);
        }
        let mut run = Vec::with_capacity(4);
        frames.allocate_contiguous(4, 14, &mut run).unwrap();
        let first = frames.physical_address(&run[0]);
        assert_eq!(first % (16 << 10), 0);
        for (i, frame) in run.iter().enumerate() {
            assert_eq!(frames.physical_address(frame), first + i as u64 * PAGE);
            let mut head = [1u8; 16];
            frames.read(frame, 0, &mut head);
            assert_eq!(head, [0; 16], "a contiguous frame comes zeroed");
        }
        assert_eq!(frames.frames_in_use(), 3 + 4);
        let mut none = Vec::new();
        assert_eq!(
            frames.allocate_contiguous(64, 12, &mut none),
            Err(PhysicalError::OutOfFrames),
            "beyond the limit"
        );
        assert!(none.is_empty());
        for frame in run.into_iter().chain(singles) {
            frames.release(frame);
        }
        assert_eq!(frames.frames_in_use(), 0);
    }

    #[test]
    fn borrowed_tokens_share_bytes_free_nothing_and_dirty_frames_come_back_zeroed() {
        let frames = MemfdFrames::with_limit(8).unwrap();
        let mut owned = frames.allocate_zeroed().unwrap();
        frames.write(&mut owned, 0, b"owner");
        let paddr = frames.physical_address(&owned);
        let mut lent = Vec::with_capacity(3);
        frames.borrow_frames(paddr, 3, &mut lent).unwrap();
        assert!(frames.is_borrowed(&lent[0]) && !frames.is_borrowed(&owned));
        let mut back = [0u8; 5];
        frames.read(&lent[0], 0, &mut back);
        assert_eq!(&back, b"owner");
        // The second lent frame is free: a borrower dirties it, its next owner sees zeros.
        frames.write(&mut lent[1], 0, b"dirty");
        assert_eq!(frames.frames_in_use(), 1, "borrowing counts for nobody");
        let mut fresh: Vec<MemfdFrame> =
            (0..3).map(|_| frames.allocate_zeroed().unwrap()).collect();
        for frame in &fresh {
            frames.read(frame, 0, &mut back);
            assert_eq!(back, [0; 5]);
        }
        for frame in lent {
            frames.release(frame);
        }
        assert_eq!(frames.frames_in_use(), 4);
        let mut none = Vec::new();
        for (at, count) in [(0, 1), (PAGE + 1, 1), (9 * PAGE, 1), (8 * PAGE, 2)] {
            assert_eq!(
                frames.borrow_frames(at, count, &mut none),
                Err(PhysicalError::OutOfRange),
                "{at:#x} x {count}"
            );
        }
        fresh.push(owned);
        for frame in fresh {
            frames.release(frame);
        }
        assert_eq!(frames.frames_in_use(), 0);
    }

    #[test]
    fn memory_goes_back_to_the_host_when_most_frames_are_free() {
        let count = RETURN_THRESHOLD + 100;
        let frames = MemfdFrames::with_limit(count).unwrap();
        let mut taken: Vec<MemfdFrame> = (0..count)
            .map(|_| frames.allocate_zeroed().unwrap())
            .collect();
        for frame in &mut taken {
            frames.write(frame, 0, &[1]);
        }
        let full = frames.resident_bytes();
        assert!(
            full >= count as u64 * PAGE,
            "{full} bytes for {count} frames"
        );
        let keep = taken.split_off(count - 10);
        for frame in taken {
            frames.release(frame);
        }
        assert!(
            frames.resident_bytes() < full / 10,
            "resident {} of {full} bytes after freeing all but 10 frames",
            frames.resident_bytes()
        );
        // Frames given back come back zeroed, and everything still adds up.
        let again = frames.allocate_zeroed().unwrap();
        let mut byte = [9u8];
        frames.read(&again, 0, &mut byte);
        assert_eq!(byte, [0]);
        for frame in keep.into_iter().chain([again]) {
            frames.release(frame);
        }
        assert_eq!(frames.frames_in_use(), 0);
    }
}
