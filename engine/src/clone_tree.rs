//! Changing the shape of a family: creating children (snapshots insert a hidden node, one-way
//! clones link to their parent, slices view it) and removing what a close leaves unobservable
//! (a leaf's hidden parent merges into the surviving sibling). Everything iterates; nothing
//! recurses per level of the tree.

use alloc::vec::Vec;

use crate::attribution::{
    free_entries, note_insert, note_remove, set_holder, settle, stop_observing,
};
use crate::content_tree::{has_visible_ancestor, observes, release_unread};
use crate::error::{VmError, VmResult};
use crate::family::{ChildKind, FamilyState, Link, Node, NodeId, Role};
use crate::frame_source::FrameSource;
use crate::page_list::{Entry, Side};

/// A VMO's pages as seen by its users: the node that holds them and where its window starts.
pub(crate) fn content_target<F>(state: &FamilyState<F>, id: NodeId) -> (NodeId, u64) {
    match state.node(id).role {
        Role::Slice { target, offset, .. } => (target, offset),
        _ => (id, 0),
    }
}

/// The arguments of a child's creation, in pages, already checked against the parent.
pub(crate) struct NewChild {
    pub kind: ChildKind,
    pub resizable: bool,
    /// Offset into the user parent.
    pub offset: u64,
    pub pages_len: u64,
}

/// Adds a child of `parent` (a visible VMO or a slice) and returns its node.
pub(crate) fn create_child<F>(
    state: &mut FamilyState<F>,
    parent: NodeId,
    child: NewChild,
) -> VmResult<NodeId> {
    let parent_len = state.node(parent).pages_len;
    let (target, base) = content_target(state, parent);
    // The child sees the user parent's window: zeros past the parent's end.
    let limit = child.pages_len.min(parent_len.saturating_sub(child.offset));
    // A window that starts past the parent's end sees nothing; keep its offset in range.
    let offset = if limit == 0 { 0 } else { base + child.offset };
    match child.kind {
        ChildKind::Slice => {
            if child.offset + child.pages_len > parent_len {
                return Err(VmError::OutOfRange);
            }
            let resizable_parent = matches!(
                state.node(target).role,
                Role::Visible {
                    resizable: true,
                    ..
                }
            );
            if resizable_parent {
                return Err(VmError::NotSupported);
            }
        }
        ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite => {
            // Content that follows a one-way parent's live writes cannot be frozen by a
            // hidden node above it: `Vmo::create_child` copies it eagerly instead.
            debug_assert!(!has_visible_ancestor(state, target));
        }
        ChildKind::OneWay => {}
    }
    state.reserve(2)?;
    if child.kind == ChildKind::OneWay {
        state
            .node_mut(target)
            .content_children
            .try_reserve(1)
            .map_err(|_| VmError::NoMemory)?;
    }

    let role = match child.kind {
        ChildKind::Slice => Role::Slice {
            alive: true,
            target,
            offset,
            created: state.next_created(),
        },
        kind => Role::Visible {
            alive: true,
            resizable: child.resizable,
            kind: Some(kind),
            created: state.next_created(),
        },
    };
    let mut node = Node::new(role, child.pages_len);
    node.user_parent = Some(parent);
    node.user_kind = Some(child.kind);
    let id = state.add(node);
    state.node_mut(id).holder = Some(id);
    state.node_mut(parent).user_children += 1;
    let link = Link {
        parent: target,
        offset,
        limit,
    };
    match child.kind {
        ChildKind::Slice => state.node_mut(target).slices += 1,
        ChildKind::OneWay => {
            state.node_mut(id).link = Some(link);
            state.node_mut(target).content_children.push(id);
        }
        ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite => {
            insert_hidden_parent(state, target, id, link);
        }
    }
    Ok(id)
}

/// Puts a new hidden node above `original`, taking over its pages in O(1), with `original` on
/// the left and `snapshot` (whose link is given relative to `original`) on the right.
fn insert_hidden_parent<F>(
    state: &mut FamilyState<F>,
    original: NodeId,
    snapshot: NodeId,
    link: Link,
) {
    let node = state.node_mut(original);
    let pages = core::mem::take(&mut node.pages);
    // The frames keep their payer: the hidden node takes over the attribution with the list.
    let holder = node.holder.replace(original);
    let exceptions = core::mem::take(&mut node.exceptions);
    let old_link = node.link;
    let original_len = node.pages_len;
    let mut hidden = Node::new(
        Role::Hidden {
            children: [original, snapshot],
        },
        original_len,
    );
    hidden.pages = pages;
    hidden.holder = holder;
    hidden.exceptions = exceptions;
    hidden.link = old_link;
    let hidden = state.add(hidden);
    if let Some(old) = old_link {
        replace_child(state, old.parent, original, hidden);
    }
    state.node_mut(original).link = Some(Link {
        parent: hidden,
        offset: 0,
        limit: original_len,
    });
    state.node_mut(snapshot).link = Some(Link {
        parent: hidden,
        ..link
    });
}

/// Makes `parent` point at `new` where it pointed at `old`.
fn replace_child<F>(state: &mut FamilyState<F>, parent: NodeId, old: NodeId, new: NodeId) {
    let node = state.node_mut(parent);
    if let Role::Hidden { children } = &mut node.role {
        for child in children.iter_mut().filter(|c| **c == old) {
            *child = new;
        }
    } else {
        for child in node.content_children.iter_mut().filter(|c| **c == old) {
            *child = new;
        }
    }
}

/// Releases what closing `id`'s handle leaves unobservable: its content if nothing reads
/// through it any more, then every ancestor and user-tree record that only it kept.
pub(crate) fn close<S: FrameSource>(state: &mut FamilyState<S::Frame>, frames: &S, id: NodeId) {
    match &mut state.node_mut(id).role {
        Role::Visible { alive, .. } | Role::Slice { alive, .. } => *alive = false,
        Role::Hidden { .. } | Role::Zombie => unreachable!("closing a node without a handle"),
    }
    if state.node(id).is_visible() && !observes(state, id) {
        no_longer_observed(state, frames, id);
    }
    let mut pending: Vec<NodeId> = Vec::new();
    pending.push(id);
    while let Some(id) = pending.pop() {
        // A node can be queued twice (as a content parent and as a user parent); the first
        // visit may already have removed it.
        if !state.exists(id) {
            continue;
        }
        let node = state.node(id);
        if node.is_alive() {
            continue;
        }
        match node.role {
            Role::Visible { .. } => {
                if !node.content_children.is_empty() || node.slices > 0 {
                    continue; // still read through by one-way clones or slices
                }
                if let Some(parent) = remove_content(state, frames, id) {
                    pending.push(parent);
                }
                state.node_mut(id).role = Role::Zombie;
            }
            Role::Slice { target, .. } => {
                state.node_mut(target).slices -= 1;
                if state.node(target).is_visible() && !observes(state, target) {
                    no_longer_observed(state, frames, target);
                }
                pending.push(target);
                state.node_mut(id).role = Role::Zombie;
            }
            Role::Zombie => {}
            Role::Hidden { .. } => continue,
        }
        let node = state.node(id);
        if node.role == Role::Zombie && node.user_children == 0 {
            let user_parent = node.user_parent;
            state.remove(id);
            if let Some(parent) = user_parent {
                state.node_mut(parent).user_children -= 1;
                pending.push(parent);
            }
        }
    }
}

/// Visible node `id` has just lost its last observer (handle or slice): its frames go to the
/// next oldest readers, and if one-way clones keep it in the tree, whatever none of them can
/// see (outside their windows, or under their own pages) is freed now.
fn no_longer_observed<S: FrameSource>(state: &mut FamilyState<S::Frame>, frames: &S, id: NodeId) {
    stop_observing(state, id);
    if !state.node(id).content_children.is_empty() {
        release_unread(state, frames, id, 0..u64::MAX);
    }
}

/// Takes a visible leaf's content out of the tree; returns its visible content parent, which
/// may now be removable itself.
fn remove_content<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    id: NodeId,
) -> Option<NodeId> {
    free_entries(state, frames, id, 0..u64::MAX);
    let link = state.node_mut(id).link.take()?;
    let parent = state.node(link.parent);
    match parent.children() {
        Some(children) => {
            let sibling = if children[Side::Left as usize] == id {
                children[Side::Right as usize]
            } else {
                children[Side::Left as usize]
            };
            let gone_window = link.offset..link.offset + link.limit;
            merge_into_child(state, frames, link.parent, sibling, gone_window);
            None
        }
        None => {
            let parent_node = state.node_mut(link.parent);
            parent_node.content_children.retain(|&c| c != id);
            // A parent that observes its pages reads everything this clone read through it.
            if !observes(state, link.parent) {
                let window = link.offset..link.offset + link.limit;
                release_unread(state, frames, link.parent, window);
            }
            Some(link.parent)
        }
    }
}

/// Replaces hidden node `hidden`, whose child `gone` has just been removed, by its remaining
/// child `child`, and frees what only `gone` read. `gone_window` is the removed child's window
/// in `hidden`'s coordinates.
///
/// Cost: when the survivor observes its pages (a live VMO), only the survivor's own entries and
/// the part of `gone`'s window the survivor does not cover are examined, and the smaller page
/// list moves into the larger; closing a snapshot that changed 16 pages of a 262 144-page parent
/// costs about 16. Other survivors (hidden nodes, closed VMOs kept for their clones) are checked
/// exhaustively.
fn merge_into_child<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    hidden: NodeId,
    child: NodeId,
    gone_window: core::ops::Range<u64>,
) {
    let Some(window) = state.node(child).link else {
        unreachable!("a hidden node's child links to it")
    };
    let (offset, limit) = (window.offset, window.limit);
    let survivor_observes = observes(state, child);
    // Positions (in `hidden`'s coordinates) that `gone` read and the survivor may not.
    // The part of the gone child's window the survivor does not cover: content above that only
    // the gone child read, whatever kind of node survives.
    let covered = offset..offset + limit;
    let before = gone_window.start..gone_window.end.min(covered.start);
    let after = gone_window.start.max(covered.end)..gone_window.end;
    let recheck_ranges: Vec<core::ops::Range<u64>> = [before, after]
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    // Positions the survivor hides with entries of its own (a live survivor reads every other
    // position of its window, so only these can have lost their last reader).
    let mut recheck: Vec<u64> = Vec::new();
    if survivor_observes {
        state
            .node(child)
            .pages
            .for_each_in(0..limit, |at| recheck.push(at + offset));
    }

    // Move the entries of the smaller list into the larger one (when their coordinates agree),
    // keeping each frame's payer; where both hold an entry, the child's wins.
    let small_into_large = offset == 0
        && state.node(child).pages.chunk_count() < state.node(hidden).pages.chunk_count();
    let (from, to) = if small_into_large {
        (child, hidden)
    } else {
        (hidden, child)
    };
    let positions = state.node(from).pages.used_in(0..u64::MAX);
    for page in positions {
        let was_zero = matches!(state.node(from).pages.entry(page), Entry::Zero);
        let payer = if state.node(from).pages.get(page).is_some() {
            note_remove(state, from, page)
        } else {
            None
        };
        let frame = state.node_mut(from).pages.remove(page);
        let slot = if small_into_large {
            free_entries(state, frames, to, page..page + 1);
            Some(page)
        } else {
            page.checked_sub(offset)
                .filter(|&at| at < limit)
                .filter(|&at| {
                    !matches!(
                        state.node(to).pages.entry(at),
                        Entry::Page(..) | Entry::Zero
                    )
                })
        };
        match (slot, frame) {
            (Some(at), Some(frame)) => {
                let pages = &mut state.node_mut(to).pages;
                let _ = pages.reserve(core::iter::once(at));
                pages.insert_reserved(at, frame);
                note_insert(state, to, at, payer);
            }
            (Some(at), None) if was_zero => {
                let pages = &mut state.node_mut(to).pages;
                let _ = pages.reserve(core::iter::once(at));
                pages.set_zero_reserved(at);
            }
            (_, Some(frame)) => frames.release(frame),
            (_, None) => {}
        }
    }
    if small_into_large {
        // The parent's list, now holding the child's entries, becomes the child's.
        free_entries(state, frames, hidden, limit..u64::MAX);
        let [h, c] = state.two_nodes_mut(hidden, child);
        core::mem::swap(&mut h.pages, &mut c.pages);
        core::mem::swap(&mut h.holder, &mut c.holder);
        core::mem::swap(&mut h.exceptions, &mut c.exceptions);
    }
    if survivor_observes {
        // A live VMO pays for every frame of its own list.
        set_holder(state, child, Some(child));
        let strays: Vec<u64> = state.node(child).exceptions.keys().copied().collect();
        for page in strays {
            settle(state, child, page);
        }
    }
    let hidden_node = state.remove(hidden);
    debug_assert!(hidden_node.pages.is_empty());
    let above = hidden_node.link;
    let composed = above.map(|above| Link {
        parent: above.parent,
        offset: above.offset + offset,
        limit: limit.min(above.limit.saturating_sub(offset)),
    });
    state.node_mut(child).link = composed;
    if let Some(composed) = composed {
        replace_child(state, composed.parent, hidden, child);
    }
    if !survivor_observes {
        // Entries the child does not read, here or above within its window, are nobody's now.
        release_unread(state, frames, child, 0..u64::MAX);
    }
    let Some(above) = above else {
        return; // nothing above the merged node can have lost its last reader
    };
    // Only content above that `gone` read through `hidden` can have lost its last reader.
    let to_parent = |page: u64| (page < above.limit).then(|| page + above.offset);
    for page in recheck.into_iter().filter_map(to_parent) {
        release_unread(state, frames, above.parent, page..page + 1);
    }
    for range in recheck_ranges {
        let (start, end) = (range.start.min(above.limit), range.end.min(above.limit));
        if start < end {
            release_unread(
                state,
                frames,
                above.parent,
                start + above.offset..end + above.offset,
            );
        }
    }
}
