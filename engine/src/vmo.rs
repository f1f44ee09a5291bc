//! [`Vmo`]: the engine's virtual memory object, a resizable sparse array of pages, and the
//! operations of the Zircon VMO system calls at engine level (no handles, no rights).
//!
//! Every operation either succeeds or fails with the VMO exactly as it was: operations that need
//! frames or metadata allocate all of it first and mutate only after everything was obtained.
//!
//! Check order where several errors could apply, for the kernel layer to rely on:
//! - `read`, `write`, `commit`, `zero`: range (`OutOfRange`), then memory (`NoMemory`).
//! - `decommit`: range (`OutOfRange`); an empty range succeeds; then alignment of offset and
//!   length (`InvalidArgs`).
//! - `lookup`: empty length (`InvalidArgs`), range (`OutOfRange`), output room
//!   (`BufferTooSmall`), then every page committed (`NotCommitted`).
//! - `set_size`: resizability (`NotResizable`), then size (`OutOfRange`).

use alloc::sync::Arc;
use core::fmt;

use smallvec::SmallVec;

use crate::error::{VmError, VmResult};
use crate::family::{Family, FamilyState, Node, NodeId};
use crate::frame_source::FrameSource;
use crate::geometry::{checked_vmo_size, is_page_aligned, ByteRange, PageSpan, PAGE_SIZE};
use crate::page_list::{PageList, CHUNK_PAGES};
use crate::platform::{FrameOf, Platform};

const PAGE: u64 = PAGE_SIZE as u64;

/// How a VMO is created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmoOptions {
    /// Whether [`Vmo::set_size`] may change the size later.
    pub resizable: bool,
}

/// What a VMO reports about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmoInfo {
    /// Size in bytes.
    pub size: u64,
    /// Bytes of frames attributed to this VMO.
    pub committed_bytes: u64,
    /// Bytes of committed pages this VMO can see.
    pub populated_bytes: u64,
    /// Whether the size may change.
    pub resizable: bool,
}

/// A virtual memory object. Dropping it releases every frame only it could see.
pub struct Vmo<P: Platform> {
    family: Arc<Family<P>>,
    node: NodeId,
}

impl<P: Platform> fmt::Debug for Vmo<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vmo").field("info", &self.info()).finish()
    }
}

impl<P: Platform> Vmo<P> {
    /// A VMO of `size` bytes rounded up to whole pages, with no page committed. Sizes whose
    /// rounding overflows or that exceed [`MAX_VMO_SIZE`](crate::MAX_VMO_SIZE) are
    /// `OutOfRange`.
    pub fn create(frames: Arc<P::Frames>, size: u64, options: VmoOptions) -> VmResult<Self> {
        let size = checked_vmo_size(size)?;
        let family = Arc::new(Family::<P>::new(frames));
        let node = family.state.lock().add(Node {
            pages: PageList::new(),
            size,
            resizable: options.resizable,
        })?;
        Ok(Vmo { family, node })
    }

    /// The frame source this VMO's pages come from.
    pub fn frames(&self) -> &Arc<P::Frames> {
        &self.family.frames
    }

    /// Runs `op` on this VMO's node with the family lock held.
    fn with_node<R>(&self, op: impl FnOnce(&mut Node<FrameOf<P>>, &P::Frames) -> R) -> R {
        let mut state = self.family.state.lock();
        op(state.node_mut(self.node), &self.family.frames)
    }

    /// Size in bytes (always whole pages).
    pub fn size(&self) -> u64 {
        self.with_node(|node, _| node.size)
    }

    /// Size, accounting and flags.
    pub fn info(&self) -> VmoInfo {
        self.with_node(|node, _| {
            let committed = node.pages.frame_count() * PAGE;
            VmoInfo {
                size: node.size,
                committed_bytes: committed,
                populated_bytes: committed,
                resizable: node.resizable,
            }
        })
    }

    /// Bytes of page-list metadata this VMO occupies.
    pub fn page_list_metadata_bytes(&self) -> usize {
        self.with_node(|node, _| node.pages.metadata_bytes())
    }

    /// Copies `dst.len()` bytes starting at `offset` into `dst`; pages never committed read as
    /// zeros.
    pub fn read(&self, offset: u64, dst: &mut [u8]) -> VmResult<()> {
        self.with_node(|node, frames| {
            let range = ByteRange::within(offset, dst.len() as u64, node.size)?;
            for span in range.spans() {
                let out = &mut dst[span.in_range..span.in_range + span.len];
                match node.pages.get(span.page) {
                    Some(frame) => frames.read(frame, span.in_page, out),
                    None => out.fill(0),
                }
            }
            Ok(())
        })
    }

    /// Copies `src` into the VMO at `offset`, committing the pages it touches.
    pub fn write(&self, offset: u64, src: &[u8]) -> VmResult<()> {
        self.with_node(|node, frames| {
            let range = ByteRange::within(offset, src.len() as u64, node.size)?;
            // A write within one page needs no planning: write in place, or add one frame.
            if let Some(span) = range.single_span() {
                if let Some(frame) = node.pages.get_mut(span.page) {
                    frames.write(frame, span.in_page, src);
                    return Ok(());
                }
                let frame = frame_holding(frames, &span, src).map_err(|_| VmError::NoMemory)?;
                if let Err(error) = node.pages.reserve(core::iter::once(span.page)) {
                    frames.release(frame);
                    return Err(error);
                }
                node.pages.insert_reserved(span.page, frame);
                return Ok(());
            }
            let mut fresh = allocate_missing(frames, &mut node.pages, range, |span| {
                frame_holding(frames, span, &src[span.in_range..span.in_range + span.len])
            })?
            .into_iter()
            .peekable();
            for span in range.spans() {
                if let Some((_, frame)) = fresh.next_if(|(page, _)| *page == span.page) {
                    node.pages.insert_reserved(span.page, frame);
                } else if let Some(frame) = node.pages.get_mut(span.page) {
                    frames.write(frame, span.in_page, &src[span.in_range..][..span.len]);
                }
            }
            Ok(())
        })
    }

    /// Commits every page touched by `[offset, offset + len)`, zero-filled where it had no frame.
    pub fn commit(&self, offset: u64, len: u64) -> VmResult<()> {
        self.with_node(|node, frames| {
            let range = ByteRange::within(offset, len, node.size)?;
            let fresh =
                allocate_missing(frames, &mut node.pages, range, |_| frames.allocate_zeroed())?;
            for (page, frame) in fresh {
                node.pages.insert_reserved(page, frame);
            }
            Ok(())
        })
    }

    /// Releases the frames of the page-aligned range `[offset, offset + len)`; the range reads
    /// as zeros afterwards.
    pub fn decommit(&self, offset: u64, len: u64) -> VmResult<()> {
        self.with_node(|node, frames| {
            let range = ByteRange::within(offset, len, node.size)?;
            if range.is_empty() {
                return Ok(());
            }
            if !is_page_aligned(offset) || !is_page_aligned(len) {
                return Err(VmError::InvalidArgs);
            }
            node.pages
                .remove_range(range.pages(), |_, frame| frames.release(frame));
            Ok(())
        })
    }

    /// Sets exactly the bytes `[offset, offset + len)` to zero, releasing the frames of pages the
    /// range covers entirely. Never allocates.
    pub fn zero(&self, offset: u64, len: u64) -> VmResult<()> {
        self.with_node(|node, frames| {
            let range = ByteRange::within(offset, len, node.size)?;
            let whole = range.whole_pages();
            node.pages
                .remove_range(whole.clone(), |_, frame| frames.release(frame));
            // At most the first and the last page are covered only in part.
            let edges = range.spans().next().into_iter().chain(range.last_span());
            for span in edges.filter(|s| !whole.contains(&s.page)) {
                if let Some(frame) = node.pages.get_mut(span.page) {
                    frames.zero(frame, span.in_page, span.len);
                }
            }
            Ok(())
        })
    }

    /// Writes the physical address of every page touched by `[offset, offset + len)` into
    /// `addresses` and returns how many it wrote. Every such page must be committed.
    pub fn lookup(&self, offset: u64, len: u64, addresses: &mut [u64]) -> VmResult<usize> {
        if len == 0 {
            return Err(VmError::InvalidArgs);
        }
        self.with_node(|node, frames| {
            let range = ByteRange::within(offset, len, node.size)?;
            let pages = range.pages();
            // The range lies inside the VMO, so its page count is below 2^36 and fits a usize on
            // every 64-bit target; on smaller ones a count that does not fit cannot fit the slice.
            let count = usize::try_from(pages.end - pages.start).unwrap_or(usize::MAX);
            if addresses.len() < count {
                return Err(VmError::BufferTooSmall);
            }
            for (page, out) in pages.zip(addresses.iter_mut()) {
                let frame = node.pages.get(page).ok_or(VmError::NotCommitted)?;
                *out = frames.physical_address(frame);
            }
            Ok(count)
        })
    }

    /// Changes the size to `size` rounded up to whole pages. Shrinking releases the frames past
    /// the new end; growing exposes zeros.
    pub fn set_size(&self, size: u64) -> VmResult<()> {
        self.with_node(|node, frames| {
            if !node.resizable {
                return Err(VmError::NotResizable);
            }
            let size = checked_vmo_size(size)?;
            if size < node.size {
                node.pages
                    .remove_range(size / PAGE..node.size / PAGE, |_, frame| {
                        frames.release(frame)
                    });
            }
            node.size = size;
            Ok(())
        })
    }
}

impl<P: Platform> Drop for Vmo<P> {
    fn drop(&mut self) {
        let mut state: lock_api::MutexGuard<'_, P::RawMutex, FamilyState<FrameOf<P>>> =
            self.family.state.lock();
        let mut node = state.remove(self.node);
        drop(state);
        let frames = &self.family.frames;
        node.pages.remove_all(|_, frame| frames.release(frame));
    }
}

/// A new frame holding `bytes` at the span's place and zeros elsewhere.
fn frame_holding<S: FrameSource>(
    frames: &S,
    span: &PageSpan,
    bytes: &[u8],
) -> Result<S::Frame, crate::frame_source::OutOfFrames> {
    match <&[u8; PAGE_SIZE]>::try_from(bytes) {
        Ok(whole) => frames.allocate_filled(whole),
        Err(_) => frames.allocate_zeroed().map(|mut frame| {
            frames.write(&mut frame, span.in_page, bytes);
            frame
        }),
    }
}

/// Frames obtained for pages that had none, with their page numbers. Small writes need one or
/// two, which stay inline instead of costing a heap allocation.
type FreshFrames<F> = SmallVec<[(u64, F); 2]>;

/// Allocates a frame with `make` for every page of `range` that `pages` has no frame for, and
/// reserves room for them in `pages`. All or nothing: on failure every frame obtained is
/// released and `pages` is as it was. The result is in page order.
fn allocate_missing<S: FrameSource>(
    frames: &S,
    pages: &mut PageList<S::Frame>,
    range: ByteRange,
    mut make: impl FnMut(&PageSpan) -> Result<S::Frame, crate::frame_source::OutOfFrames>,
) -> VmResult<FreshFrames<S::Frame>> {
    let span = range.pages();
    // Counting through the chunks keeps a huge range cheap; refusing what the source cannot
    // give keeps it from allocating up to the limit first.
    let pages_in_range = span.end - span.start;
    let missing = if pages_in_range <= CHUNK_PAGES {
        span.filter(|&page| !pages.contains(page)).count() as u64
    } else {
        pages_in_range - pages.count_in(span)
    };
    let mut fresh = FreshFrames::new();
    if missing == 0 {
        return Ok(fresh);
    }
    let missing = usize::try_from(missing).map_err(|_| VmError::NoMemory)?;
    if missing > frames.frames_available() {
        return Err(VmError::NoMemory);
    }
    let release_all = |fresh: FreshFrames<S::Frame>| {
        for (_, frame) in fresh {
            frames.release(frame);
        }
    };
    fresh
        .try_reserve_exact(missing)
        .map_err(|_| VmError::NoMemory)?;
    for span in range.spans().filter(|span| !pages.contains(span.page)) {
        match make(&span) {
            Ok(frame) => fresh.push((span.page, frame)),
            Err(_) => {
                release_all(fresh);
                return Err(VmError::NoMemory);
            }
        }
    }
    if let Err(error) = pages.reserve(fresh.iter().map(|&(page, _)| page)) {
        release_all(fresh);
        return Err(error);
    }
    Ok(fresh)
}
