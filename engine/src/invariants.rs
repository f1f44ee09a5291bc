//! The family's invariants, checked on demand. Tests run the checker after every step; it is
//! exhaustive and slow, so production code never calls it.

use alloc::format;
use alloc::string::String;

use crate::accounting::{attributee, page_counts};
use crate::attribution::stored;
use crate::content_tree::{is_read, observes};
use crate::family::{FamilyState, Role};
use crate::page_list::Side;

/// Checks every invariant of a family; the first one broken is described in the error.
pub(crate) fn check<F>(state: &FamilyState<F>) -> Result<(), String> {
    let mut frames = 0u64;
    let mut attributed = 0u64;
    let node_count = state.nodes().count();
    for (id, node) in state.nodes() {
        frames += node.pages.frame_count();
        // Links go to existing nodes that know the child, and never around in a cycle.
        let (mut at, mut steps) = (id, 0);
        while let Some(link) = state.node(at).link {
            let parent = state.node(link.parent);
            let known = match parent.role {
                Role::Hidden { children } => children.contains(&at),
                Role::Visible { .. } => parent.content_children.contains(&at),
                _ => false,
            };
            if !known {
                return Err(format!(
                    "node {at} links to {} which does not list it",
                    link.parent
                ));
            }
            at = link.parent;
            steps += 1;
            if steps > node_count {
                return Err(format!("link cycle through node {id}"));
            }
        }
        match node.role {
            Role::Hidden { children } => {
                for side in [Side::Left, Side::Right] {
                    let child = children[side as usize];
                    if state.node(child).link.map(|l| l.parent) != Some(id) {
                        return Err(format!("hidden node {id}'s child {child} links elsewhere"));
                    }
                }
                if children[0] == children[1] {
                    return Err(format!("hidden node {id} has one child twice"));
                }
            }
            Role::Zombie => {
                if !node.pages.is_empty() || node.link.is_some() || node.user_children == 0 {
                    return Err(format!(
                        "zombie {id} holds content or has no reason to exist"
                    ));
                }
            }
            Role::Visible { .. } | Role::Slice { .. } => {}
        }
        // No entry that nobody reads: such a frame would be a leak. (A zero marker in a visible
        // node may wait unread for a one-way clone that decommits its own copy.)
        let mut unread = None;
        node.pages.for_each_in(0..u64::MAX, |page| {
            let waiting_marker = node.is_visible() && node.pages.get(page).is_none();
            if unread.is_none() && !waiting_marker && !is_read(state, id, page, None) {
                unread = Some(page);
            }
        });
        if let Some(page) = unread {
            return Err(format!("node {id} slot {page} is read by no live VMO"));
        }
        let children = state
            .nodes()
            .filter(|(_, n)| n.user_parent == Some(id))
            .count();
        if children != node.user_children as usize {
            return Err(format!(
                "node {id} counts {} user children, has {children}",
                node.user_children
            ));
        }
        // Every frame's stored payer is the true one.
        let mut wrong = None;
        node.pages.for_each_in(0..u64::MAX, |page| {
            if wrong.is_none() && node.pages.get(page).is_some() {
                let (truth, kept) = (attributee(state, id, page), stored(state, id, page));
                if truth != kept {
                    wrong = Some((page, truth, kept));
                }
            }
        });
        if let Some((page, truth, kept)) = wrong {
            return Err(format!(
                "node {id} slot {page} is paid by {kept:?}, should be {truth:?}"
            ));
        }
        if observes(state, id) {
            let exact = page_counts(state, id, true).committed;
            if node.charged != exact {
                return Err(format!(
                    "node {id} is charged {} frames, pays for {exact}",
                    node.charged
                ));
            }
            attributed += exact;
        } else if node.charged != 0 {
            return Err(format!(
                "node {id} observes nothing but is charged {}",
                node.charged
            ));
        }
    }
    if attributed != frames {
        return Err(format!("{attributed} frames attributed, {frames} held"));
    }
    Ok(())
}
