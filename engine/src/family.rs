//! A family: every VMO that shares pages with a common root, held as nodes of one arena behind
//! one lock. Operations that touch several nodes of a family (a write that copies a page from an
//! ancestor, a close that merges a parent into a child) take that single lock; no operation ever
//! holds the locks of two families.
//!
//! Two trees live in the arena:
//! - the *content tree*, through [`Link`]s: who reads pages from whom. Hidden nodes (internal
//!   snapshot points, each with exactly two children) appear only here.
//! - the *user tree*, through `user_parent`: who was created as a child of whom, for
//!   `parent_koid` and `num_children`. A closed VMO stays in it, as a [`Role::Zombie`] if its
//!   content is gone, while it still has user children.
//!
//! Functions that need the lock take `&mut FamilyState`, so calling them without it does not
//! compile.

use alloc::sync::Arc;
use alloc::vec::Vec;

use hashbrown::HashMap;

use crate::error::{VmError, VmResult};
use crate::mapping_registry::Registry;
use crate::page_list::PageList;
use crate::platform::{FrameOf, Platform};

/// Index of a node in its family's arena.
pub(crate) type NodeId = usize;

/// The kinds of child a VMO can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChildKind {
    /// Behaves as an eager copy: later writes on either side are invisible to the other.
    Snapshot,
    /// At least copy-on-write; on anonymous VMOs exactly a [`ChildKind::Snapshot`].
    SnapshotAtLeastOnWrite,
    /// A window that reads and writes the parent's pages directly.
    Slice,
    /// The legacy clone of `zx_vmo_clone` / `mx_vmo_clone`: reads show the parent's current
    /// content until the clone writes (or commits) a page.
    OneWay,
}

/// A node's view of its content parent: page `i < limit` of the node reads page `offset + i` of
/// `parent`; pages at or past `limit` read as zeros. `limit` only ever shrinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub parent: NodeId,
    pub offset: u64,
    pub limit: u64,
}

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A user VMO (or a closed one kept because one-way clones or slices still read through it).
    Visible {
        /// A handle to it exists.
        alive: bool,
        resizable: bool,
        /// `None` for a VMO created on its own.
        kind: Option<ChildKind>,
        /// Creation order within the family; attribution goes to the oldest reader.
        created: u64,
    },
    /// An internal snapshot point; `children[Side::Left]` is the VMO that was snapshotted.
    Hidden { children: [NodeId; 2] },
    /// A window onto `target`'s pages starting `offset` pages in.
    Slice {
        alive: bool,
        target: NodeId,
        offset: u64,
        /// Creation order among the family's VMOs: the oldest live slice of a closed target
        /// reports the target's charge.
        created: u64,
    },
    /// A closed VMO whose content is gone but whose user children still live.
    Zombie,
}

/// One node of a family.
pub(crate) struct Node<F> {
    /// The entries this node holds itself.
    pub pages: PageList<F>,
    /// Size in pages (visible nodes and slices: the VMO's size; hidden nodes: unused).
    pub pages_len: u64,
    pub link: Option<Link>,
    pub role: Role,
    /// Visible nodes: the one-way clones whose links point here.
    pub content_children: Vec<NodeId>,
    /// Visible nodes: live slices viewing this node.
    pub slices: u32,
    pub user_parent: Option<NodeId>,
    /// The kind of child this node was created as (kept after it closes).
    pub user_kind: Option<ChildKind>,
    /// User-visible children that still exist (alive, retained or zombie).
    pub user_children: u32,
    /// Who pays for this node's frames by default (see `attribution`).
    pub holder: Option<NodeId>,
    /// Frames of this node paid for by someone other than `holder` (`None`: read by nobody
    /// who could pay, about to be freed).
    pub exceptions: HashMap<u64, Option<NodeId>>,
    /// Visible nodes: how many frames, anywhere in the family, this VMO pays for.
    pub charged: u64,
}

impl<F> Node<F> {
    pub fn new(role: Role, pages_len: u64) -> Self {
        Node {
            pages: PageList::new(),
            pages_len,
            link: None,
            role,
            content_children: Vec::new(),
            slices: 0,
            user_parent: None,
            user_kind: None,
            user_children: 0,
            holder: None,
            exceptions: HashMap::new(),
            charged: 0,
        }
    }

    pub fn is_visible(&self) -> bool {
        matches!(self.role, Role::Visible { .. })
    }

    /// Whether a handle to this node exists.
    pub fn is_alive(&self) -> bool {
        matches!(
            self.role,
            Role::Visible { alive: true, .. } | Role::Slice { alive: true, .. }
        )
    }

    /// The hidden node's children.
    pub fn children(&self) -> Option<[NodeId; 2]> {
        match self.role {
            Role::Hidden { children } => Some(children),
            _ => None,
        }
    }

    /// Creation order of a visible node.
    pub fn created(&self) -> Option<u64> {
        match self.role {
            Role::Visible { created, .. } => Some(created),
            _ => None,
        }
    }
}

/// The locked part of a family: its node arena.
pub(crate) struct FamilyState<F> {
    nodes: Vec<Option<Node<F>>>,
    vacant: Vec<NodeId>,
    next_created: u64,
    /// Where the family's VMOs are mapped.
    pub mappings: Registry,
    /// While a fault is resolved: the address space (by address) and page whose translation
    /// the fault replaces at once, which invalidations may therefore leave alone.
    pub faulting: Option<(usize, u64)>,
    /// Pinned pages (see `pins`): only ever on observed visible nodes' own frames.
    pub pins: crate::pins::Pins,
}

impl<F> FamilyState<F> {
    fn new() -> Self {
        FamilyState {
            nodes: Vec::new(),
            vacant: Vec::new(),
            next_created: 0,
            mappings: Registry::default(),
            faulting: None,
            pins: crate::pins::Pins::default(),
        }
    }

    /// Makes sure `count` more nodes can be added without allocating.
    pub fn reserve(&mut self, count: usize) -> VmResult<()> {
        let free = self.vacant.len();
        if count <= free {
            return Ok(());
        }
        let grow = count - free;
        self.nodes
            .try_reserve(grow)
            .map_err(|_| VmError::NoMemory)?;
        // The vacancy list must later hold every id without allocating.
        let ids = self.nodes.len() + grow;
        self.vacant
            .try_reserve(ids.saturating_sub(self.vacant.len()))
            .map_err(|_| VmError::NoMemory)
    }

    /// Adds a node; call [`FamilyState::reserve`] first to make it infallible.
    pub fn add(&mut self, node: Node<F>) -> NodeId {
        if let Some(id) = self.vacant.pop() {
            self.nodes[id] = Some(node);
            return id;
        }
        self.nodes.push(Some(node));
        self.nodes.len() - 1
    }

    /// The next creation number for a visible node.
    pub fn next_created(&mut self) -> u64 {
        self.next_created += 1;
        self.next_created
    }

    /// Takes a node out of the arena.
    pub fn remove(&mut self, id: NodeId) -> Node<F> {
        match self.nodes.get_mut(id).and_then(Option::take) {
            Some(node) => {
                self.vacant.push(id);
                node
            }
            None => unreachable!("node {id} removed twice"),
        }
    }

    /// Whether a node with this id exists.
    pub fn exists(&self, id: NodeId) -> bool {
        matches!(self.nodes.get(id), Some(Some(_)))
    }

    /// The node with this id, which must exist.
    pub fn node(&self, id: NodeId) -> &Node<F> {
        match self.nodes.get(id) {
            Some(Some(node)) => node,
            _ => unreachable!("node {id} does not exist"),
        }
    }

    /// The node with this id, which must exist, for changing.
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node<F> {
        match self.nodes.get_mut(id) {
            Some(Some(node)) => node,
            _ => unreachable!("node {id} does not exist"),
        }
    }

    /// Two different nodes, both for changing.
    pub fn two_nodes_mut(&mut self, a: NodeId, b: NodeId) -> [&mut Node<F>; 2] {
        match self.nodes.get_disjoint_mut([a, b]) {
            Ok([Some(a), Some(b)]) => [a, b],
            _ => unreachable!("nodes {a} and {b} are distinct and exist"),
        }
    }

    /// Every existing node with its id.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node<F>)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(id, node)| node.as_ref().map(|n| (id, n)))
    }
}

/// Where a family's pages come from. Fixed when the family's root is created; every VMO of the
/// family (children included) shares it, which is how seed 002's rules about "VMOs created with
/// or descended from" physical, contiguous and pager-backed VMOs are decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Frames allocated on demand and released when nothing reads them.
    Anonymous,
    /// Physically contiguous frames, all committed at creation and never decommitted.
    Contiguous,
    /// A fixed range of the platform's physical memory, not owned by the VMO.
    Physical,
    /// Pages supplied by a user pager; a page not supplied yet cannot be read without a
    /// request to the pager.
    Pager,
}

/// A family and the frame source its pages come from.
pub(crate) struct Family<P: Platform> {
    pub frames: Arc<P::Frames>,
    pub backing: Backing,
    pub state: lock_api::Mutex<P::RawMutex, FamilyState<FrameOf<P>>>,
}

impl<P: Platform> Family<P> {
    pub fn new(frames: Arc<P::Frames>, backing: Backing) -> Self {
        Family {
            frames,
            backing,
            state: lock_api::Mutex::new(FamilyState::new()),
        }
    }
}
