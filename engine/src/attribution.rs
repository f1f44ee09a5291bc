//! Who pays for each frame, kept up to date as pages move, so that a VMO's committed bytes are a
//! counter read, not a walk over pages.
//!
//! Every frame is attributed to the oldest observing VMO that reads it (see `accounting`). Each
//! node stores this compactly: a default `holder` for all of its frames, plus `exceptions` for the
//! few frames attributed to someone else; every visible node counts the frames attributed to it
//! (`charged`). The stored attribution of a frame changes only through the functions here:
//! - [`note_insert`] / [`note_remove`] when a frame enters or leaves a node's list;
//! - [`settle`] when the readers of one frame may have changed (a VMO copied or zeroed its own
//!   version of a shared page), which recomputes that frame's attributee;
//! - [`stop_observing`] when a VMO is closed, which hands its frames to the next oldest reader,
//!   re-examining only the positions that reader cannot see.
//!
//! The brute-force computation in `accounting` stays as the reference: the invariant checker
//! compares the two after every step of the property tests.

use alloc::vec::Vec;
use core::ops::Range;

use crate::accounting::attributee;
use crate::content_tree::observes;
use crate::error::{VmError, VmResult};
use crate::family::{FamilyState, NodeId, Role};
use crate::frame_source::FrameSource;

/// Adds `delta` frames to what `who` is charged for.
fn charge<F>(state: &mut FamilyState<F>, who: Option<NodeId>, delta: i64) {
    if let Some(who) = who {
        let node = state.node_mut(who);
        node.charged = node.charged.wrapping_add_signed(delta);
    }
}

/// The stored attribution of the frame in `node`'s slot `page`.
pub(crate) fn stored<F>(state: &FamilyState<F>, node: NodeId, page: u64) -> Option<NodeId> {
    let n = state.node(node);
    match n.exceptions.get(&page) {
        Some(&who) => who,
        None => n.holder,
    }
}

/// Records that a frame now sits in `node`'s slot `page`, attributed to `who`.
pub(crate) fn note_insert<F>(
    state: &mut FamilyState<F>,
    node: NodeId,
    page: u64,
    who: Option<NodeId>,
) {
    let n = state.node_mut(node);
    if n.holder.is_none() && n.exceptions.is_empty() && n.pages.frame_count() <= 1 {
        n.holder = who;
    }
    if who == n.holder {
        n.exceptions.remove(&page);
    } else {
        n.exceptions.insert(page, who);
    }
    charge(state, who, 1);
}

/// Records that the frame in `node`'s slot `page` is leaving it; returns its attribution.
pub(crate) fn note_remove<F>(
    state: &mut FamilyState<F>,
    node: NodeId,
    page: u64,
) -> Option<NodeId> {
    let who = stored(state, node, page);
    state.node_mut(node).exceptions.remove(&page);
    charge(state, who, -1);
    who
}

/// Makes the stored attribution of the frame in `node`'s slot `page` the true one.
pub(crate) fn settle<F>(state: &mut FamilyState<F>, node: NodeId, page: u64) {
    if state.node(node).pages.get(page).is_none() {
        return;
    }
    let truth = attributee(state, node, page);
    if truth != stored(state, node, page) {
        note_remove(state, node, page);
        // The frame stays in the list: undo the count change `note_remove` could not see.
        note_insert(state, node, page, truth);
    }
}

/// Makes sure `count` more frames can be recorded in `node`'s exceptions without allocating:
/// [`note_insert`] and [`settle`] record at most one each, and once an operation has started
/// changing the family a full map could no longer refuse cleanly. (The map only reallocates when
/// an insert finds no room left, and removals never take room away.)
pub(crate) fn reserve_exceptions<F>(
    state: &mut FamilyState<F>,
    node: NodeId,
    count: usize,
) -> VmResult<()> {
    state
        .node_mut(node)
        .exceptions
        .try_reserve(count)
        .map_err(|_| VmError::NoMemory)
}

/// [`reserve_exceptions`] for `count` frames about to enter `node` attributed to `who`: only a
/// payer other than the node's default needs room.
pub(crate) fn reserve_noting<F>(
    state: &mut FamilyState<F>,
    node: NodeId,
    who: Option<NodeId>,
    count: usize,
) -> VmResult<()> {
    if state.node(node).holder == who {
        return Ok(());
    }
    reserve_exceptions(state, node, count)
}

/// [`reserve_exceptions`] for settling `slots` (grouped by node) later: room for each frame there
/// whose payer `may_change`, given the payer stored now. An exact bound would need the family as
/// it will be; a loose one, every frame, would leave the maps of large parents far bigger than
/// they will ever need.
pub(crate) fn reserve_settling<F>(
    state: &mut FamilyState<F>,
    slots: &[(NodeId, u64)],
    may_change: impl Fn(&FamilyState<F>, Option<NodeId>) -> bool,
) -> VmResult<()> {
    for group in slots.chunk_by(|a, b| a.0 == b.0) {
        let node = group[0].0;
        let count = group
            .iter()
            .filter(|&&(_, page)| {
                state.node(node).pages.get(page).is_some()
                    && may_change(state, stored(state, node, page))
            })
            .count();
        reserve_exceptions(state, node, count)?;
    }
    Ok(())
}

/// Makes `who` the default holder of `node`'s frames: every frame that is not an exception
/// moves to `who`'s charge. Callers settle the positions where that is not the truth.
pub(crate) fn set_holder<F>(state: &mut FamilyState<F>, node: NodeId, who: Option<NodeId>) {
    let n = state.node_mut(node);
    let old = n.holder;
    if old == who {
        return;
    }
    let defaults = n.pages.frame_count() as i64 - n.exceptions.len() as i64;
    n.holder = who;
    // Exceptions that name the new holder become defaults; they were charged to it already.
    n.exceptions.retain(|_, payer| *payer != who);
    charge(state, old, -defaults);
    charge(state, who, defaults);
}

/// The oldest observing VMO among `node` and everything below it in the content tree.
fn oldest_observer_below<F>(state: &FamilyState<F>, node: NodeId) -> Option<NodeId> {
    let mut oldest: Option<(u64, NodeId)> = None;
    let mut stack = Vec::new();
    stack.push(node);
    while let Some(id) = stack.pop() {
        let n = state.node(id);
        if observes(state, id) {
            let created = n.created().unwrap_or(u64::MAX);
            if oldest.is_none_or(|(c, _)| created < c) {
                oldest = Some((created, id));
            }
        }
        match n.role {
            Role::Hidden { children } => stack.extend(children),
            _ => stack.extend(n.content_children.iter().copied()),
        }
    }
    oldest.map(|(_, id)| id)
}

/// Positions of `ancestor` that `reader` (a node below it) cannot see: slots where a node on the
/// way down has an entry of its own, and the part of `ancestor` outside `reader`'s window.
/// Calls `visit` with each such position that holds a frame in `ancestor`.
fn unseen_by<F>(
    state: &FamilyState<F>,
    ancestor: NodeId,
    reader: NodeId,
    mut visit: impl FnMut(u64),
) {
    // Each node on the way up, with the shift that takes its slots into the ancestor's
    // coordinates; and the reader's window, composed level by level.
    let mut shadows: Vec<(NodeId, u64)> = Vec::new();
    let (mut node, mut window_start, mut window_len) = (reader, 0u64, u64::MAX);
    while node != ancestor {
        let Some(link) = state.node(node).link else {
            return; // not below `ancestor`
        };
        shadows.push((node, 0));
        window_len = window_len.min(link.limit.saturating_sub(window_start));
        window_start = window_start.saturating_add(link.offset);
        for shadow in shadows.iter_mut() {
            shadow.1 = shadow.1.saturating_add(link.offset);
        }
        node = link.parent;
    }
    let window = window_start..window_start.saturating_add(window_len);
    let pages = &state.node(ancestor).pages;
    let holds_frame = |page: u64| pages.get(page).is_some();
    for &(below, shift) in &shadows {
        // An entry in slot i of `below` hides position i + shift of the ancestor; outside the
        // window it hides nothing the reader would have seen anyway.
        state.node(below).pages.for_each_in(0..u64::MAX, |slot| {
            let at = slot.saturating_add(shift);
            if window.contains(&at) && holds_frame(at) {
                visit(at);
            }
        });
    }
    pages.for_each_in(0..window.start, |at| {
        if holds_frame(at) {
            visit(at)
        }
    });
    pages.for_each_in(window.end..u64::MAX, |at| {
        if holds_frame(at) {
            visit(at)
        }
    });
}

/// `id` (a visible node) has just stopped observing: hand every frame attributed to it to the
/// next oldest reader. Its own frames and every ancestor's are examined; an ancestor whose
/// default holder it was gets a new default, and only the positions that one cannot see are
/// settled one by one.
pub(crate) fn stop_observing<F>(state: &mut FamilyState<F>, id: NodeId) {
    let mut node = Some(id);
    while let Some(at) = node {
        let pointing: Vec<u64> = state
            .node(at)
            .exceptions
            .iter()
            .filter(|&(_, &who)| who == Some(id))
            .map(|(&page, _)| page)
            .collect();
        for page in pointing {
            settle(state, at, page);
        }
        if state.node(at).holder == Some(id) {
            if at == id && state.node(id).content_children.is_empty() {
                // Nobody reads through it: its own frames are about to be freed.
                set_holder(state, id, None);
                node = state.node(at).link.map(|link| link.parent);
                continue;
            }
            let heir = if at == id {
                // Its own list: readers are its one-way clones, which see different windows.
                None
            } else {
                oldest_observer_below(state, at)
            };
            set_holder(state, at, heir);
            let mut positions = Vec::new();
            match heir {
                Some(heir) => unseen_by(state, at, heir, |page| positions.push(page)),
                None => state
                    .node(at)
                    .pages
                    .for_each_in(0..u64::MAX, |page| positions.push(page)),
            }
            for page in positions {
                settle(state, at, page);
            }
        }
        node = state.node(at).link.map(|link| link.parent);
    }
}

/// Frees every entry of `id` in `pages`, uncharging each frame's payer first.
pub(crate) fn free_entries<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    id: NodeId,
    pages: Range<u64>,
) {
    // The list leaves the node while it is emptied, so that each frame's payer can be updated
    // as it goes without collecting the pages first: this runs in closes, which cannot fail,
    // and must not allocate. (`note_remove` reads only the node's attribution, not its list.)
    let mut list = core::mem::take(&mut state.node_mut(id).pages);
    list.remove_range(pages, |page, frame| {
        note_remove(state, id, page);
        frames.release(frame);
    });
    state.node_mut(id).pages = list;
}

/// Settles the frames among `slots` (collected by `content_tree::used_in_path` before the change,
/// covering the positions some VMO began or stopped reading and the same positions of each
/// ancestor): their payer may have changed.
pub(crate) fn settle_at<F>(state: &mut FamilyState<F>, slots: &[(NodeId, u64)]) {
    for &(node, page) in slots {
        settle(state, node, page);
    }
}
