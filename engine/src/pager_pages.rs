//! Pager-backed families: VMOs whose content a user pager supplies. In such a family, a slot of
//! the root's page list that holds nothing means "not supplied yet", not "zeros": an operation
//! that would need the content of such a slot refuses with [`VmError::ShouldWait`] before it
//! changes anything, [`Vmo::missing_range`] tells the kernel which run of the root to ask the
//! pager for, and [`Vmo::supply`] moves frames in from an ordinary VMO. A zero marker in the
//! root is a page supplied as zeros.
//!
//! A pager-backed family holds only its root, one-way clones (the at-least-on-write children
//! and legacy clones, which read the root's current content until they copy a page) and slices:
//! `Vmo::create_child` refuses snapshots, so no hidden node ever sits above the root and every
//! path of links ends at it. The engine itself never blocks: waiting for the pager is the
//! kernel's business.
//!
//! Check order of [`Vmo::supply`], for the kernel layer to rely on: this VMO not pager-backed
//! (`NotSupported`); an offset or length not page aligned (`InvalidArgs`); this VMO not the
//! family's root (`InvalidArgs`); the source's frames not movable here, i.e. physical or
//! contiguous, or from another frame source (`NotSupported`); the source range
//! (`OutOfRange`); the source not a plain VMO of its own (pager-backed, a child, or with
//! children: `BadState`); a pinned page in the source range (`BadState`); the destination range (`OutOfRange`); more pages to supply as zeros
//! than frames could hold (`NoMemory`); then metadata (`NoMemory`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;

use crate::attribution::{note_insert, note_remove, reserve_noting};
use crate::clone_tree::content_target;
use crate::content_tree::path_ranges;
use crate::error::{VmError, VmResult};
use crate::family::{Backing, FamilyState, NodeId, Role};
use crate::frame_source::FrameSource;
use crate::geometry::{checked_vmo_size, is_page_aligned, ByteRange, PAGE_SIZE};
use crate::mapping_registry::{invalidate, Change};
use crate::page_list::Entry;
use crate::platform::{FrameOf, Platform};
use crate::vmo::{Vmo, VmoOptions};

const PAGE: u64 = PAGE_SIZE as u64;

/// The root page that page `page` of node `id` reads, if that page has not been supplied yet.
/// Only meaningful in a pager-backed family, where the link-less node at the end of every path
/// is the root.
fn missing_at<F>(state: &FamilyState<F>, mut id: NodeId, mut page: u64) -> Option<u64> {
    loop {
        let node = state.node(id);
        if matches!(node.pages.entry(page), Entry::Page(..) | Entry::Zero) {
            return None;
        }
        match node.link {
            Some(link) if page < link.limit => (id, page) = (link.parent, page + link.offset),
            // Past the window onto the parent: zeros, whatever the parent holds.
            Some(_) => return None,
            None => return (page < node.pages_len).then_some(page),
        }
    }
}

/// The first run of pages of `target` in `pages` whose content would come from root slots not
/// supplied yet, as root pages. Costs about the entries on the path plus the pages before the
/// run: a page the run skips is one some node on the path holds.
pub(crate) fn first_missing<F>(
    state: &FamilyState<F>,
    target: NodeId,
    pages: Range<u64>,
) -> Option<Range<u64>> {
    if pages.is_empty() {
        return None;
    }
    let (root, root_range, root_shift) = path_ranges(state, target, pages.clone()).last()?;
    if state.node(root).link.is_some() {
        return None; // every window on the way ends before the root: all zeros
    }
    // Windows only cut a range's end, so what reaches the root is a prefix of `pages`.
    let reach_end = pages.start + (root_range.end - root_range.start);
    let start = (pages.start..reach_end).find(|&page| missing_at(state, target, page).is_some())?;
    // The run goes on up to the first slot anything on the path holds.
    let mut end = reach_end;
    for (node, range, shift) in path_ranges(state, target, start..reach_end) {
        state
            .node(node)
            .pages
            .for_each_in(range, |slot| end = end.min(slot - shift));
    }
    Some(start + root_shift..end + root_shift)
}

/// `ShouldWait` if `target` (a node of a family with `backing`) would need a page of `pages`
/// that the pager has not supplied; free for every other family.
pub(crate) fn check_supplied<F>(
    state: &FamilyState<F>,
    backing: Backing,
    target: NodeId,
    pages: Range<u64>,
) -> VmResult<()> {
    if backing != Backing::Pager || pages.is_empty() {
        return Ok(());
    }
    // The common case once the pager has answered: the VMO holds every page itself.
    if state.node(target).pages.used_count_in(pages.clone()) == pages.end - pages.start {
        return Ok(());
    }
    match first_missing(state, target, pages) {
        Some(_) => Err(VmError::ShouldWait),
        None => Ok(()),
    }
}

/// Whether `id` is the live root of its family: the VMO a pager supplies.
fn is_live_root<F>(state: &FamilyState<F>, id: NodeId) -> bool {
    let node = state.node(id);
    matches!(node.role, Role::Visible { alive: true, .. }) && node.link.is_none()
}

/// ZERO on the root of a pager-backed family, every page of `range` being supplied. The zeros
/// are written into the frames in place: an emptied slot of the root would mean "not supplied"
/// and ask the pager again, and a frame that stays keeps any pin on it valid and every mapping's
/// translation current, so nothing needs invalidating. Pages supplied as zeros stay as they are.
/// Allocates nothing.
pub(crate) fn zero_supplied<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    root: NodeId,
    range: &ByteRange,
) {
    for span in range.spans() {
        if let Some(frame) = state.node_mut(root).pages.get_mut(span.page) {
            frames.zero(frame, span.in_page, span.len);
        }
    }
}

/// Frames taken out of the source of a supply, by page index within the supplied range, in
/// ascending order.
type Taken<F> = Vec<(u64, F)>;

impl<P: Platform> Vmo<P> {
    /// A pager-backed VMO of `size` bytes rounded up to whole pages, with no page supplied:
    /// until [`Vmo::supply`] provides them, operations that need its pages (or pages its
    /// one-way clones read from it) fail with [`VmError::ShouldWait`]. Sizes as for
    /// [`Vmo::create`] (`OutOfRange`).
    pub fn create_pager_backed(
        frames: Arc<P::Frames>,
        size: u64,
        options: VmoOptions,
    ) -> VmResult<Self> {
        let size = checked_vmo_size(size)?;
        Self::new_root(frames, Backing::Pager, size / PAGE, options.resizable)
    }

    /// The first run of pages that an access to `[offset, offset + len)` of this VMO would need
    /// from the pager, as `(offset, length)` in bytes of the family's root (the pager-backed VMO
    /// itself), page aligned. `None` when nothing in the range waits for the pager (always, for
    /// VMOs that are not pager-backed); the range is cut at the VMO's end.
    pub fn missing_range(&self, offset: u64, len: u64) -> Option<(u64, u64)> {
        let family = self.family();
        if family.backing != Backing::Pager {
            return None;
        }
        let state = family.state.lock();
        let node = self.node_id();
        let end = offset
            .saturating_add(len)
            .min(state.node(node).pages_len * PAGE);
        if offset >= end {
            return None;
        }
        let (target, base) = content_target(&state, node);
        // `end <= size <= MAX_VMO_SIZE`, so the page numbers cannot overflow.
        let pages = base + offset / PAGE..base + end.div_ceil(PAGE);
        first_missing(&state, target, pages)
            .map(|run| (run.start * PAGE, (run.end - run.start) * PAGE))
    }

    /// Supplies pages `[offset, offset + len)` of this pager-backed VMO (the root of its
    /// family) with the frames of `from` at `[from_offset, from_offset + len)`, which must be a
    /// plain VMO (created on its own, no parent, no children). Frames move without a copy;
    /// a page of `from` holding nothing is supplied as zeros; a page this VMO already holds is
    /// left as it is and `from`'s frame for it is freed. Afterwards that range of `from` holds
    /// nothing. Check order: see the module documentation.
    ///
    /// The two families are never locked together: the frames leave `from` under its lock,
    /// then enter this VMO under its own. If the second step fails (`NoMemory`, or this VMO
    /// shrank in between: `OutOfRange`), the frames go back to `from` where its slots are still
    /// empty; only if even that cannot be done are they freed, leaving that range of `from`
    /// decommitted (which Zircon documents as a possible outcome of a failed supply).
    pub fn supply(&self, offset: u64, len: u64, from: &Vmo<P>, from_offset: u64) -> VmResult<()> {
        let family = self.family();
        if family.backing != Backing::Pager {
            return Err(VmError::NotSupported);
        }
        if !is_page_aligned(offset) || !is_page_aligned(len) || !is_page_aligned(from_offset) {
            return Err(VmError::InvalidArgs);
        }
        if !is_live_root(&family.state.lock(), self.node_id()) {
            return Err(VmError::InvalidArgs);
        }
        let movable = matches!(from.family().backing, Backing::Anonymous | Backing::Pager);
        if !movable || !Arc::ptr_eq(&family.frames, &from.family().frames) {
            return Err(VmError::NotSupported);
        }
        let (first, count) = (offset / PAGE, len / PAGE);
        let from_first = from_offset / PAGE;
        // Everything that can be refused is refused before anything moves.
        let held = {
            let state = from.family().state.lock();
            check_source(
                &state,
                from.family().backing,
                from.node_id(),
                from_offset,
                len,
            )?;
            state
                .node(from.node_id())
                .pages
                .count_in(from_first..from_first + count)
        };
        {
            let state = family.state.lock();
            let size = state.node(self.node_id()).pages_len * PAGE;
            ByteRange::within(offset, len, size)?;
        }
        // Pages supplied as zeros cost a marker, not a frame; still, no more are taken on than
        // frames could hold, which keeps a hostile length from exhausting the heap instead.
        let zeros = usize::try_from(count - held).unwrap_or(usize::MAX);
        if zeros > family.frames.frames_available() {
            return Err(VmError::NoMemory);
        }
        if count == 0 {
            return Ok(());
        }
        let mut taken = take_frames(from, from_first, count)?;
        match self.put_frames(first, count, &mut taken) {
            Ok(()) => Ok(()),
            Err(error) => {
                give_back(from, from_first, taken);
                Err(error)
            }
        }
    }

    /// Second step of [`Vmo::supply`]: puts `taken` (and zero markers for the pages it has no
    /// frame for) into this root's empty slots of `first..first + count`. On failure `taken`
    /// is left as it was.
    fn put_frames(&self, first: u64, count: u64, taken: &mut Taken<FrameOf<P>>) -> VmResult<()> {
        let family = self.family();
        let frames = &*family.frames;
        let mut guard = family.state.lock();
        let state = &mut *guard;
        let root = self.node_id();
        if !is_live_root(state, root) {
            return Err(VmError::InvalidArgs);
        }
        let size = state.node(root).pages_len * PAGE;
        ByteRange::within(first * PAGE, count * PAGE, size)?;
        // The live root is the oldest reader of its own slots: it pays for them.
        reserve_noting(state, root, Some(root), taken.len())?;
        // The page list last: a failure after its reservation would leave empty chunks behind.
        // Every chunk it creates is filled below, since all of its slots are empty.
        state.node_mut(root).pages.reserve(first..first + count)?;
        let mut incoming = taken.drain(..).peekable();
        for index in 0..count {
            let page = first + index;
            let frame = match incoming.peek() {
                Some(&(at, _)) if at == index => incoming.next().map(|(_, frame)| frame),
                _ => None,
            };
            let empty = matches!(state.node(root).pages.entry(page), Entry::Empty);
            match (empty, frame) {
                (true, Some(frame)) => {
                    state.node_mut(root).pages.insert_reserved(page, frame);
                    note_insert(state, root, page, Some(root));
                }
                (true, None) => {
                    state.node_mut(root).pages.set_zero_reserved(page);
                }
                // Already supplied: Zircon keeps what is there and frees the newcomer.
                (false, Some(frame)) => frames.release(frame),
                (false, None) => {}
            }
        }
        invalidate(state, root, first..first + count, Change::Content);
        Ok(())
    }
}

/// The source of a supply must hold its own pages and be read by nobody else: a VMO created on
/// its own, not pager-backed, with no children; `[offset, offset + len)` must lie inside it.
fn check_source<F>(
    state: &FamilyState<F>,
    backing: Backing,
    node: NodeId,
    offset: u64,
    len: u64,
) -> VmResult<()> {
    let n = state.node(node);
    ByteRange::within(offset, len, n.pages_len * PAGE)?;
    let plain = matches!(n.role, Role::Visible { kind: None, .. })
        && n.link.is_none()
        && n.user_children == 0
        && n.slices == 0
        && n.content_children.is_empty();
    if backing != Backing::Anonymous || !plain {
        return Err(VmError::BadState);
    }
    // A pinned frame must stay where it is (found by the fuzzer: a supply took it away).
    if state
        .pins
        .any_in(node, offset / PAGE..(offset + len).div_ceil(PAGE))
    {
        return Err(VmError::BadState);
    }
    Ok(())
}

/// First step of [`Vmo::supply`]: takes every frame of `from` in `first..first + count` out
/// of its family (checking again, under the lock, what was checked before).
fn take_frames<P: Platform>(from: &Vmo<P>, first: u64, count: u64) -> VmResult<Taken<FrameOf<P>>> {
    let family = from.family();
    let mut guard = family.state.lock();
    let state = &mut *guard;
    let node = from.node_id();
    check_source(state, family.backing, node, first * PAGE, count * PAGE)?;
    let pages = first..first + count;
    let held = usize::try_from(state.node(node).pages.count_in(pages.clone()))
        .map_err(|_| VmError::NoMemory)?;
    let mut taken = Vec::new();
    taken
        .try_reserve_exact(held)
        .map_err(|_| VmError::NoMemory)?;
    // The list leaves the node while it is emptied, so that each frame's payer can be
    // uncharged as it goes (as `attribution::free_entries` does).
    let mut list = core::mem::take(&mut state.node_mut(node).pages);
    list.remove_range(pages.clone(), |page, frame| {
        note_remove(state, node, page);
        // Room for every frame of the range was reserved above.
        taken.push((page - first, frame));
    });
    state.node_mut(node).pages = list;
    invalidate(state, node, pages, Change::Content);
    taken.sort_unstable_by_key(|&(index, _)| index);
    Ok(taken)
}

/// Undoes [`take_frames`] after the second step failed: each frame goes back to its slot of
/// `from` if that slot is still empty and can be had, and is freed otherwise.
fn give_back<P: Platform>(from: &Vmo<P>, first: u64, taken: Taken<FrameOf<P>>) {
    let family = from.family();
    let frames = &*family.frames;
    let mut guard = family.state.lock();
    let state = &mut *guard;
    let node = from.node_id();
    let count = taken.len();
    let mut last = first;
    for (index, frame) in taken {
        let page = first + index;
        last = last.max(page + 1);
        let fits = page < state.node(node).pages_len
            && matches!(state.node(node).pages.entry(page), Entry::Empty)
            && reserve_noting(state, node, Some(node), 1).is_ok()
            && state
                .node_mut(node)
                .pages
                .reserve(core::iter::once(page))
                .is_ok();
        if fits {
            state.node_mut(node).pages.insert_reserved(page, frame);
            // The source is alive and nobody older reads its own slots.
            note_insert(state, node, page, Some(node));
        } else {
            frames.release(frame);
        }
    }
    if count > 0 {
        invalidate(state, node, first..last, Change::Content);
    }
}
