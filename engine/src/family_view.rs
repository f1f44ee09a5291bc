//! A read-only picture of a whole family for tools and teaching: every node of the content
//! tree (hidden snapshot points included) with its link, its own frames and, for VMOs, their
//! accounting. Taken under the family lock in one go, so the picture is consistent.

use alloc::vec::Vec;

use crate::accounting::page_counts;
use crate::family::{ChildKind, FamilyState, NodeId, Role};
use crate::geometry::PAGE_SIZE;

const PAGE: u64 = PAGE_SIZE as u64;

/// What a node of the picture is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    /// A VMO (open, or closed but kept because clones read through it).
    Vmo {
        /// A handle (or a mapping) still holds it.
        open: bool,
        /// How it was created; `None` for a VMO created on its own.
        kind: Option<ChildKind>,
    },
    /// A hidden snapshot point shared by two children.
    Hidden,
    /// A slice: a window onto `target`'s pages.
    Slice {
        /// Whether a handle still holds it.
        open: bool,
        /// The node whose pages it shows.
        target: usize,
        /// First page of the window in `target`.
        offset: u64,
    },
    /// A closed VMO kept only as the parent of children that still exist.
    Zombie,
}

/// One node of the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// The node's id within its family.
    pub id: usize,
    /// What it is.
    pub role: NodeRole,
    /// Where its content comes from: `(parent, offset in pages, limit in pages)`.
    pub link: Option<(usize, u64, u64)>,
    /// The node it was created from (for VMOs).
    pub user_parent: Option<usize>,
    /// Size in bytes (VMOs and slices).
    pub size: u64,
    /// Frames held in the node's own page list.
    pub own_frames: u64,
    /// For VMOs: bytes of frames attributed to it.
    pub committed_bytes: u64,
    /// For VMOs: bytes of committed pages it can see.
    pub populated_bytes: u64,
}

/// Every node of a family, in id order, and which one the VMO asked about is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyView {
    /// The nodes.
    pub nodes: Vec<NodeView>,
    /// The id of the VMO the picture was taken through.
    pub this: usize,
}

/// Takes the picture (`this`: the asking VMO's node).
pub(crate) fn view<F>(state: &FamilyState<F>, this: NodeId) -> FamilyView {
    let nodes = state
        .nodes()
        .map(|(id, node)| {
            let role = match node.role {
                Role::Visible { alive, kind, .. } => NodeRole::Vmo { open: alive, kind },
                Role::Hidden { .. } => NodeRole::Hidden,
                Role::Slice {
                    alive,
                    target,
                    offset,
                    ..
                } => NodeRole::Slice {
                    open: alive,
                    target,
                    offset,
                },
                Role::Zombie => NodeRole::Zombie,
            };
            let (committed_bytes, populated_bytes) = match role {
                NodeRole::Vmo { .. } | NodeRole::Slice { .. } => {
                    let counts = page_counts(state, id, true);
                    (counts.committed * PAGE, counts.populated * PAGE)
                }
                _ => (0, 0),
            };
            NodeView {
                id,
                role,
                link: node.link.map(|l| (l.parent, l.offset, l.limit)),
                user_parent: node.user_parent,
                size: node.pages_len * PAGE,
                own_frames: node.pages.frame_count(),
                committed_bytes,
                populated_bytes,
            }
        })
        .collect();
    FamilyView { nodes, this }
}
