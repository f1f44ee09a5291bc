//! Walking the content tree: where a page's content lives (up, through links), and who reads a
//! slot (down, through children). Every walk iterates with an explicit stack, so chains of
//! thousands of snapshots cannot overflow the call stack.
//!
//! Visibility is computed exactly rather than cached: a slot is read by a node below it unless
//! some node on the way shadows it with an entry of its own or a window leaves it out. Split bits
//! in hidden nodes (see `page_list::Splits`) are the planned cache for this walk; until they land
//! the walk is the single source of truth, which keeps every other algorithm simple.

use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::attribution::note_remove;
use crate::error::{VmError, VmResult};
use crate::family::{FamilyState, NodeId, Role};
use crate::frame_source::FrameSource;
use crate::page_list::Entry;

/// Where a page's content is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The page reads as zeros: nothing on the way holds it.
    Zeros,
    /// The page reads as zeros because of the zero marker in `node`'s slot `page`.
    Marker { node: NodeId, page: u64 },
    /// The frame in `node`'s slot `page`.
    Frame { node: NodeId, page: u64 },
}

/// Translates page `page` of `id` into its content parent, if the link's window covers it.
fn up<F>(state: &FamilyState<F>, id: NodeId, page: u64) -> Option<(NodeId, u64)> {
    let link = state.node(id).link?;
    // `page < limit <= parent size - offset`, so the sum stays inside the parent.
    (page < link.limit).then(|| (link.parent, page + link.offset))
}

/// Where page `page` of node `id` comes from, the node's own slot included.
pub(crate) fn resolve<F>(state: &FamilyState<F>, mut id: NodeId, mut page: u64) -> Source {
    loop {
        match state.node(id).pages.entry(page) {
            Entry::Page(..) => return Source::Frame { node: id, page },
            Entry::Zero => return Source::Marker { node: id, page },
            Entry::Mark(_) | Entry::Empty => {}
        }
        match up(state, id, page) {
            Some((parent, at)) => (id, page) = (parent, at),
            None => return Source::Zeros,
        }
    }
}

/// Where page `page` of node `id` would come from if the node had no entry of its own there.
pub(crate) fn resolve_above<F>(state: &FamilyState<F>, id: NodeId, page: u64) -> Source {
    match up(state, id, page) {
        Some((parent, at)) => resolve(state, parent, at),
        None => Source::Zeros,
    }
}

/// Whether a node above `id` is visible: then the content `id` reads can still change under it
/// (a one-way clone's parent writes), not only through `id`'s own writes.
pub(crate) fn has_visible_ancestor<F>(state: &FamilyState<F>, mut id: NodeId) -> bool {
    while let Some(link) = state.node(id).link {
        if state.node(link.parent).is_visible() {
            return true;
        }
        id = link.parent;
    }
    false
}

/// Whether `node` is `ancestor` or reads its content through it.
pub(crate) fn reads_through<F>(state: &FamilyState<F>, mut node: NodeId, ancestor: NodeId) -> bool {
    while node != ancestor {
        match state.node(node).link {
            Some(link) => node = link.parent,
            None => return false,
        }
    }
    true
}

/// Whether a visible node can observe its content: it has a handle, or a live slice views it.
pub(crate) fn observes<F>(state: &FamilyState<F>, id: NodeId) -> bool {
    let node = state.node(id);
    node.is_visible() && (node.is_alive() || node.slices > 0)
}

/// The content children of a node with the slot of theirs that reads `page` of the node.
fn children_reading<F>(
    state: &FamilyState<F>,
    id: NodeId,
    page: u64,
    mut visit: impl FnMut(NodeId, u64),
) {
    let node = state.node(id);
    let mut consider = |child: NodeId| {
        if let Some(link) = state.node(child).link {
            if let Some(at) = page.checked_sub(link.offset) {
                if at < link.limit {
                    visit(child, at);
                }
            }
        }
    };
    match node.role {
        Role::Hidden { children } => children.into_iter().for_each(&mut consider),
        _ => node.content_children.iter().copied().for_each(consider),
    }
}

/// Calls `reader` for every observing visible node that reads slot `page` of `id` (the node
/// itself included when it observes), skipping the subtree of `exclude`. Stops early when
/// `reader` returns `false`.
pub(crate) fn for_each_reader<F>(
    state: &FamilyState<F>,
    id: NodeId,
    page: u64,
    exclude: Option<NodeId>,
    mut reader: impl FnMut(NodeId) -> bool,
) {
    // Most walks visit a handful of nodes: keep the stack inline.
    let mut stack: SmallVec<[(NodeId, u64); 8]> = SmallVec::new();
    stack.push((id, page));
    while let Some((node, at)) = stack.pop() {
        if Some(node) == exclude {
            continue;
        }
        if node != id {
            // A node with an entry of its own at this slot shadows what lies above it.
            if matches!(
                state.node(node).pages.entry(at),
                Entry::Page(..) | Entry::Zero
            ) {
                continue;
            }
        }
        if observes(state, node) && !reader(node) {
            return;
        }
        children_reading(state, node, at, |child, child_at| {
            stack.push((child, child_at))
        });
    }
}

/// Whether any observing node other than those under `exclude` reads slot `page` of `id`.
pub(crate) fn is_read<F>(
    state: &FamilyState<F>,
    id: NodeId,
    page: u64,
    exclude: Option<NodeId>,
) -> bool {
    let mut found = false;
    for_each_reader(state, id, page, exclude, |_| {
        found = true;
        false
    });
    found
}

/// Takes the frame out of `node`'s slot `page`. A visible node that reads something above it
/// keeps a zero marker there: a one-way clone that decommits its own copy later must see this
/// node's page as it was left (gone, so zeros), never older content from further up. In hidden
/// nodes nobody can come back to a slot, so it is simply emptied.
pub(crate) fn take_out<F>(state: &mut FamilyState<F>, node: NodeId, page: u64) -> Option<F> {
    let n = state.node_mut(node);
    if n.is_visible() && n.link.is_some() {
        // The slot's chunk holds the entry being replaced, so this cannot allocate.
        n.pages.set_zero_reserved(page)
    } else {
        n.pages.remove(page)
    }
}

/// Frees every entry in `pages` of `id`, and of each ancestor through the links, that no
/// observing node reads any more. Called after something stopped reading that range.
pub(crate) fn release_unread<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    mut id: NodeId,
    mut pages: core::ops::Range<u64>,
) {
    loop {
        for page in state.node(id).pages.used_in(pages.clone()) {
            release_if_unread(state, frames, id, page);
        }
        let Some(link) = state.node(id).link else {
            return;
        };
        let start = pages.start.min(link.limit);
        let end = pages.end.min(link.limit);
        if start >= end {
            return;
        }
        pages = start + link.offset..end + link.offset;
        id = link.parent;
    }
}

/// [`release_unread`] for slots collected in advance by [`used_in_path`].
pub(crate) fn release_unread_at<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    slots: &[(NodeId, u64)],
) {
    for &(node, page) in slots {
        release_if_unread(state, frames, node, page);
    }
}

/// Frees the entry in `node`'s slot `page` if no observing node reads it. Whether another slot
/// of the same node is read does not depend on this one, so a node's slots can be released one
/// by one; a node's ancestors must come after it, as its entries shadow theirs.
fn release_if_unread<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    node: NodeId,
    page: u64,
) {
    if is_read(state, node, page, None) {
        return;
    }
    if state.node(node).pages.get(page).is_some() {
        note_remove(state, node, page);
    }
    if let Some(frame) = take_out(state, node, page) {
        frames.release(frame);
    }
}

/// Every slot holding anything in the ranges of `path` (from [`path_ranges`]), nearest node
/// first. Collected into a list allocated fallibly, so that an operation can find the slots its
/// change concerns before changing anything, and refuse with `NoMemory` while nothing has.
pub(crate) fn used_in_path<F>(
    state: &FamilyState<F>,
    path: impl Iterator<Item = (NodeId, core::ops::Range<u64>, u64)> + Clone,
) -> VmResult<Vec<(NodeId, u64)>> {
    let count: u64 = path
        .clone()
        .map(|(node, range, _)| state.node(node).pages.used_count_in(range))
        .sum();
    let mut used = Vec::new();
    usize::try_from(count)
        .ok()
        .and_then(|count| used.try_reserve_exact(count).ok())
        .ok_or(VmError::NoMemory)?;
    for (node, range, _) in path {
        state
            .node(node)
            .pages
            .for_each_in(range, |page| used.push((node, page)));
    }
    Ok(used)
}

/// The node `id` and each ancestor through the links, with `pages` of `id` translated into that
/// node's coordinates (clipped by every window on the way) and the shift that translates them
/// back (`page of id = page of the node - shift`).
pub(crate) fn path_ranges<F>(
    state: &FamilyState<F>,
    id: NodeId,
    pages: core::ops::Range<u64>,
) -> impl Iterator<Item = (NodeId, core::ops::Range<u64>, u64)> + Clone + '_ {
    let mut next = Some((id, pages, 0));
    core::iter::from_fn(move || {
        let (node, range, shift) = next.take()?;
        if let Some(link) = state.node(node).link {
            let (start, end) = (range.start.min(link.limit), range.end.min(link.limit));
            if start < end {
                let up = start + link.offset..end + link.offset;
                next = Some((link.parent, up, shift + link.offset));
            }
        }
        Some((node, range, shift))
    })
}
