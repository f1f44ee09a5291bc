//! Who pays for a frame. Every frame is attributed to exactly one VMO: the oldest (by creation)
//! observing VMO that reads it, so the committed bytes of all live VMOs add up to the frames in
//! use. A VMO's populated bytes count every frame it reads, shared or not.
//!
//! This first version computes both exactly by visiting the frames on the VMO's path and asking
//! the content tree who reads each: correct, and checked against the reference model, but
//! proportional to those frames. Incremental counters are the planned replacement.

use crate::clone_tree::content_target;
use crate::content_tree::{for_each_reader, resolve, Source};
use crate::family::{FamilyState, NodeId};

/// Committed and populated pages of a VMO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PageCounts {
    pub committed: u64,
    pub populated: u64,
}

/// The oldest observing reader of slot `page` of `node`.
pub(crate) fn attributee<F>(state: &FamilyState<F>, node: NodeId, page: u64) -> Option<NodeId> {
    let mut oldest: Option<(u64, NodeId)> = None;
    for_each_reader(state, node, page, None, |reader| {
        let created = state.node(reader).created().unwrap_or(u64::MAX);
        if oldest.is_none_or(|(c, _)| created < c) {
            oldest = Some((created, reader));
        }
        true
    });
    oldest.map(|(_, id)| id)
}

/// Counts for the VMO whose handle refers to node `id` (a visible node or a slice). With
/// `with_committed` false, only populated pages are counted (the costly part of committed, who
/// else reads each frame, is skipped): `attribution` keeps committed pages as counters, and this
/// exact count is the checker's reference for them.
pub(crate) fn page_counts<F>(
    state: &FamilyState<F>,
    id: NodeId,
    with_committed: bool,
) -> PageCounts {
    let (target, base) = content_target(state, id);
    let window = base..base + state.node(id).pages_len;
    let is_slice = target != id;
    let mut counts = PageCounts::default();
    // Walk up from the target, carrying the target's window translated into each ancestor.
    let (mut node, mut first, mut last) = (target, window.start, window.end);
    let mut shift = 0u64; // target page = ancestor page - shift
    loop {
        state.node(node).pages.for_each_in(first..last, |page| {
            let here = Source::Frame { node, page };
            // Only frames, and only those the target actually reads at that position.
            if resolve(state, target, page - shift) != here {
                return;
            }
            counts.populated += 1;
            if with_committed && !is_slice && attributee(state, node, page) == Some(id) {
                counts.committed += 1;
            }
        });
        let Some(link) = state.node(node).link else {
            break;
        };
        (first, last) = (first.min(link.limit), last.min(link.limit));
        if first >= last {
            break;
        }
        (first, last) = (first + link.offset, last + link.offset);
        shift += link.offset;
        node = link.parent;
    }
    counts
}
