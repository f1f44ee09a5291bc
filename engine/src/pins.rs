//! Pinned pages: frames a device may be reading or writing by physical address, which therefore
//! must stay exactly where they are until unpinned.
//!
//! A pin is recorded against a slot of a node, `(node, page)`, with a count (pins stack: two pins
//! of a page need two unpins, and a page takes at most [`MAX_PIN_COUNT`], as in Zircon). Pinning
//! first gives the VMO a frame of its own at every page, as a write fault would, so a pinned frame
//! is never one the VMO still shares with a relative. The rules that keep it in place:
//!
//! - a decommit or a shrink over a pinned page, and a snapshot of a VMO with any pinned page (a
//!   hidden node would take its pages over), are refused with `BadState`;
//! - a write fault elsewhere in the family never swaps a pinned frame away (the faulting VMO gets
//!   a copy instead, see `Plan::Swap`);
//! - ZERO writes zeros into a pinned frame instead of releasing it.
//!
//! Pins of a physical VMO's pages are not counted, as in Zircon: memory the VMO does not own is
//! always present and cannot be freed, so there is nothing to hold in place.
//!
//! Invariant (checked by [`check`]): every pin sits on a visible node that is still observed (a
//! handle or a live slice) and whose own slot holds a frame. Pins therefore only ever sit on
//! frames someone reads, which the family never moves or frees: moves and frees only touch
//! frames of hidden nodes, of unobserved nodes, or of the writer itself. When the last VMO that
//! sees a pinned page closes, the page goes and its pins with it ([`prune`]): the engine holds no
//! VMO open on its own, so an embedder that needs the pages to stay keeps a VMO open until it
//! unpins (the kernel's pinned-memory token holds its VMO).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use hashbrown::HashMap;

use crate::clone_tree::content_target;
use crate::content_tree::{observes, path_ranges};
use crate::error::{VmError, VmResult};
use crate::family::{Backing, FamilyState, NodeId};
use crate::frame_source::FrameSource;
use crate::geometry::{is_page_aligned, ByteRange, PAGE_SIZE};
use crate::platform::Platform;
use crate::vmo::{fault_commit, Vmo};

const PAGE: u64 = PAGE_SIZE as u64;

/// The most times one page may be pinned at once (Zircon's limit: a five-bit count); one more
/// pin is [`VmError::Unavailable`].
pub const MAX_PIN_COUNT: u32 = 31;

/// The pins of one family.
#[derive(Debug, Default)]
pub(crate) struct Pins {
    /// How many times each slot is pinned; a slot that is not pinned has no entry.
    counts: HashMap<(NodeId, u64), u32>,
    /// Pinned slots per node, so that "does this node have any pin?" is one lookup.
    per_node: HashMap<NodeId, u64>,
}

impl Pins {
    /// Whether no page of the family is pinned.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Whether any slot of `node` is pinned.
    pub fn node_has_pins(&self, node: NodeId) -> bool {
        self.per_node.get(&node).is_some_and(|&n| n > 0)
    }

    /// How many times slot `page` of `node` is pinned.
    pub fn count(&self, node: NodeId, page: u64) -> u32 {
        self.counts.get(&(node, page)).copied().unwrap_or(0)
    }

    /// Whether slot `page` of `node` is pinned.
    pub fn is_pinned(&self, node: NodeId, page: u64) -> bool {
        self.count(node, page) > 0
    }

    /// Calls `visit` with every pinned slot of `node` in `pages` and its count, in no particular
    /// order. Costs the smaller of the range and the family's pins: a large pin does not make a
    /// one-page query slow, nor a huge range a family with few pins.
    fn for_each_in(&self, node: NodeId, pages: Range<u64>, mut visit: impl FnMut(u64, u32)) {
        let Some(&pinned) = self.per_node.get(&node) else {
            return;
        };
        let span = pages.end.saturating_sub(pages.start);
        if span <= pinned.saturating_mul(2) {
            for page in pages {
                if let Some(&count) = self.counts.get(&(node, page)) {
                    visit(page, count);
                }
            }
        } else {
            for (&(at, page), &count) in &self.counts {
                if at == node && pages.contains(&page) {
                    visit(page, count);
                }
            }
        }
    }

    /// Whether any slot of `node` in `pages` is pinned.
    pub fn any_in(&self, node: NodeId, pages: Range<u64>) -> bool {
        let mut any = false;
        self.for_each_in(node, pages, |_, _| any = true);
        any
    }

    /// The pinned slots of `node` in `pages`, sorted (empty, allocating nothing, when the node
    /// has no pin).
    pub fn pinned_in(&self, node: NodeId, pages: Range<u64>) -> VmResult<Vec<u64>> {
        let mut found = 0usize;
        self.for_each_in(node, pages.clone(), |_, _| found += 1);
        let mut list = Vec::new();
        list.try_reserve_exact(found)
            .map_err(|_| VmError::NoMemory)?;
        self.for_each_in(node, pages, |page, _| list.push(page));
        list.sort_unstable();
        Ok(list)
    }

    /// Makes room for `new` more pinned slots, so that [`Pins::add`] cannot fail.
    fn reserve(&mut self, new: usize) -> VmResult<()> {
        self.counts
            .try_reserve(new)
            .map_err(|_| VmError::NoMemory)?;
        self.per_node.try_reserve(1).map_err(|_| VmError::NoMemory)
    }

    /// Pins slot `page` of `node` once more (room reserved, count below the limit: checked).
    fn add(&mut self, node: NodeId, page: u64) {
        let count = self.counts.entry((node, page)).or_insert(0);
        *count += 1;
        if *count == 1 {
            *self.per_node.entry(node).or_insert(0) += 1;
        }
    }

    /// Unpins slot `page` of `node` once (it is pinned: checked).
    fn remove_one(&mut self, node: NodeId, page: u64) {
        let Some(count) = self.counts.get_mut(&(node, page)) else {
            unreachable!("unpinning a slot that is not pinned");
        };
        *count -= 1;
        if *count == 0 {
            self.counts.remove(&(node, page));
            if let Some(pinned) = self.per_node.get_mut(&node) {
                *pinned -= 1;
                if *pinned == 0 {
                    self.per_node.remove(&node);
                }
            }
        }
    }

    /// Forgets every pin for which `keep` says no.
    fn retain(&mut self, mut keep: impl FnMut(NodeId, u64) -> bool) {
        let per_node = &mut self.per_node;
        self.counts.retain(|&(node, page), _| {
            let kept = keep(node, page);
            if !kept {
                if let Some(pinned) = per_node.get_mut(&node) {
                    *pinned -= 1;
                }
            }
            kept
        });
        per_node.retain(|_, pinned| *pinned > 0);
    }
}

/// The parts of `range` not in `pinned` (sorted pages inside it), in order.
pub(crate) fn gaps(range: Range<u64>, pinned: &[u64]) -> impl Iterator<Item = Range<u64>> + '_ {
    let mut start = range.start;
    let mut rest = pinned.iter();
    let mut done = false;
    core::iter::from_fn(move || loop {
        if done {
            return None;
        }
        match rest.next() {
            Some(&page) => {
                let gap = start..page;
                start = page + 1;
                if !gap.is_empty() {
                    return Some(gap);
                }
            }
            None => {
                done = true;
                let gap = start..range.end;
                return (!gap.is_empty()).then_some(gap);
            }
        }
    })
}

/// Writes zeros over every pinned whole page of `pages` (slots of `node`), keeping the frames.
pub(crate) fn zero_pages_in_place<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    node: NodeId,
    pages: &[u64],
) {
    for &page in pages {
        if let Some(frame) = state.node_mut(node).pages.get_mut(page) {
            frames.zero(frame, 0, PAGE_SIZE);
        }
    }
}

/// Writes zeros over exactly the bytes of `range` in `node`'s own frames, releasing nothing (for
/// contiguous and physical VMOs, which hold every page).
pub(crate) fn zero_range_in_place<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    node: NodeId,
    range: &ByteRange,
) {
    for span in range.spans() {
        if let Some(frame) = state.node_mut(node).pages.get_mut(span.page) {
            frames.zero(frame, span.in_page, span.len);
        }
    }
}

/// Forgets the pins no open VMO can see any more: on nodes gone, no longer observed, or whose
/// slot lost its frame (freed because nobody reads it). Called after a close.
pub(crate) fn prune<F>(state: &mut FamilyState<F>) {
    if state.pins.is_empty() {
        return;
    }
    let mut pins = core::mem::take(&mut state.pins);
    pins.retain(|node, page| {
        state.exists(node)
            && state.node(node).is_visible()
            && observes(state, node)
            && state.node(node).pages.get(page).is_some()
    });
    state.pins = pins;
}

/// Checks the pin bookkeeping: every pin on an observed visible node's own frame, with a count
/// in `1..=MAX_PIN_COUNT`, and the per-node totals right.
pub(crate) fn check<F>(state: &FamilyState<F>) -> Result<(), String> {
    let pins = &state.pins;
    let mut per_node: HashMap<NodeId, u64> = HashMap::new();
    for (&(node, page), &count) in &pins.counts {
        if !(1..=MAX_PIN_COUNT).contains(&count) {
            return Err(format!("node {node} slot {page} is pinned {count} times"));
        }
        if !state.exists(node) {
            return Err(format!("pin on node {node}, which does not exist"));
        }
        if !state.node(node).is_visible() || !observes(state, node) {
            return Err(format!(
                "pin on node {node} slot {page}, which no open VMO sees"
            ));
        }
        if state.node(node).pages.get(page).is_none() {
            return Err(format!(
                "pin on node {node} slot {page}, which holds no frame"
            ));
        }
        *per_node.entry(node).or_insert(0) += 1;
    }
    if per_node != pins.per_node {
        return Err(format!(
            "pinned slots per node {:?}, counted {per_node:?}",
            pins.per_node
        ));
    }
    Ok(())
}

impl<P: Platform> Vmo<P> {
    /// Pins every page of the page-aligned range `[offset, offset + len)` and returns their
    /// physical addresses, one per page. Pages not committed are committed first, and pages the
    /// VMO still shares with a relative get a frame of its own, exactly as a write fault would
    /// (through a slice, the pages of the VMO it views). From then until [`Vmo::unpin`] the
    /// frames stay put: see the module documentation for what is refused meanwhile.
    ///
    /// Check order: offset or length not page aligned, or length zero (`InvalidArgs`); range
    /// beyond the VMO (`OutOfRange`); in a pager-backed VMO, a page the pager has not supplied
    /// yet (`ShouldWait`: the caller has the pager supply it and asks again); a page already
    /// pinned [`MAX_PIN_COUNT`] times (`Unavailable`); memory for frames or bookkeeping
    /// (`NoMemory`). All or nothing.
    pub fn pin(&self, offset: u64, len: u64) -> VmResult<Vec<u64>> {
        if !is_page_aligned(offset) || !is_page_aligned(len) || len == 0 {
            return Err(VmError::InvalidArgs);
        }
        let (family, node) = (self.family(), self.node_id());
        let mut state = family.state.lock();
        let (target, pages) = checked_pages(&state, node, offset, len)?;
        // A pager-backed VMO's pages must have been supplied before they can be committed.
        crate::pager_pages::check_supplied(&state, family.backing, target, pages.clone())?;
        // `pages` lies inside a VMO of at most 2^48 bytes: below 2^36 pages.
        let in_range = usize::try_from(pages.end - pages.start).map_err(|_| VmError::NoMemory)?;
        let frames = &*family.frames;
        if family.backing == Backing::Physical {
            // As in Zircon: memory the VMO does not own is always present and always pinned, so
            // pins of it are not counted (and never run out).
            let mut addresses = Vec::new();
            addresses
                .try_reserve_exact(in_range)
                .map_err(|_| VmError::NoMemory)?;
            for page in pages {
                match state.node(target).pages.get(page) {
                    Some(frame) => addresses.push(frames.physical_address(frame)),
                    None => unreachable!("a physical VMO holds every page"),
                }
            }
            return Ok(addresses);
        }
        let mut at_limit = false;
        let mut already = 0usize;
        state.pins.for_each_in(target, pages.clone(), |_, count| {
            already += 1;
            at_limit |= count >= MAX_PIN_COUNT;
        });
        if at_limit {
            return Err(VmError::Unavailable);
        }
        let own = state.node(target).pages.count_in(pages.clone());
        if own < pages.end - pages.start {
            // Every page needs a new frame unless it holds one or can take one from above; when
            // even that many cannot be had, fail before planning page by page.
            let reachable: u64 = path_ranges(&state, target, pages.clone())
                .map(|(at, range, _)| state.node(at).pages.count_in(range))
                .sum();
            let needed = (pages.end - pages.start).saturating_sub(reachable);
            if usize::try_from(needed).map_or(true, |n| n > frames.frames_available()) {
                return Err(VmError::NoMemory);
            }
        }
        let mut addresses = Vec::new();
        addresses
            .try_reserve_exact(in_range)
            .map_err(|_| VmError::NoMemory)?;
        state.pins.reserve(in_range - already)?;
        if own < pages.end - pages.start {
            fault_commit(&mut state, frames, target, pages.clone())?;
        }
        for page in pages {
            let Some(frame) = state.node(target).pages.get(page) else {
                unreachable!("committed just above");
            };
            addresses.push(frames.physical_address(frame));
            state.pins.add(target, page);
        }
        Ok(addresses)
    }

    /// Undoes one [`Vmo::pin`] of every page of the page-aligned range `[offset, offset + len)`.
    ///
    /// Check order: alignment or length zero (`InvalidArgs`), range (`OutOfRange`), then every
    /// page must be pinned (`BadState`; a physical VMO's pages always are). All or nothing.
    pub fn unpin(&self, offset: u64, len: u64) -> VmResult<()> {
        if !is_page_aligned(offset) || !is_page_aligned(len) || len == 0 {
            return Err(VmError::InvalidArgs);
        }
        let (family, node) = (self.family(), self.node_id());
        let mut state = family.state.lock();
        let (target, pages) = checked_pages(&state, node, offset, len)?;
        if family.backing == Backing::Physical {
            return Ok(()); // never counted (see `pin`)
        }
        let mut pinned = 0u64;
        state
            .pins
            .for_each_in(target, pages.clone(), |_, _| pinned += 1);
        if pinned != pages.end - pages.start {
            return Err(VmError::BadState);
        }
        for page in pages {
            state.pins.remove_one(target, page);
        }
        Ok(())
    }

    /// How many times the page holding byte `offset` is pinned (0 beyond the end).
    pub fn pin_count(&self, offset: u64) -> u32 {
        let (family, node) = (self.family(), self.node_id());
        let state = family.state.lock();
        if offset / PAGE >= state.node(node).pages_len {
            return 0;
        }
        let (target, base) = content_target(&state, node);
        state.pins.count(target, base + offset / PAGE)
    }

    /// Bytes of this VMO's pages pinned at least once.
    pub fn pinned_bytes(&self) -> u64 {
        let (family, node) = (self.family(), self.node_id());
        let state = family.state.lock();
        let (target, base) = content_target(&state, node);
        let len = state.node(node).pages_len;
        let mut pinned = 0u64;
        state
            .pins
            .for_each_in(target, base..base + len, |_, _| pinned += 1);
        pinned * PAGE
    }
}

/// The node holding `node`'s pages and the pages of `[offset, offset + len)` in its coordinates,
/// or `OutOfRange` if the range leaves the VMO.
fn checked_pages<F>(
    state: &FamilyState<F>,
    node: NodeId,
    offset: u64,
    len: u64,
) -> VmResult<(NodeId, Range<u64>)> {
    ByteRange::within(offset, len, state.node(node).pages_len * PAGE)?;
    let (target, base) = content_target(state, node);
    // Inside a VMO of at most 2^48 bytes: none of this overflows.
    let first = base + offset / PAGE;
    Ok((target, first..first + len / PAGE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_skip_pinned_pages() {
        let all: Vec<_> = gaps(0..10, &[0, 3, 4, 9]).collect();
        assert_eq!(all, [1..3, 5..9]);
        let none: Vec<_> = gaps(2..5, &[]).collect();
        assert_eq!(none.len(), 1);
        assert_eq!(none[0], 2..5);
        let full: Vec<_> = gaps(2..4, &[2, 3]).collect();
        assert!(full.is_empty());
    }

    #[test]
    fn counts_stack_and_queries_agree() {
        let mut pins = Pins::default();
        pins.reserve(3).unwrap();
        pins.add(1, 5);
        pins.add(1, 5);
        pins.add(1, 7);
        assert_eq!(pins.count(1, 5), 2);
        assert!(pins.any_in(1, 0..6) && !pins.any_in(1, 8..100) && !pins.any_in(2, 0..100));
        assert_eq!(pins.pinned_in(1, 0..u64::MAX).unwrap(), [5, 7]);
        pins.remove_one(1, 5);
        pins.remove_one(1, 5);
        assert!(!pins.is_pinned(1, 5) && pins.node_has_pins(1));
        pins.retain(|_, _| false);
        assert!(pins.is_empty() && !pins.node_has_pins(1));
    }
}
