//! A family: every VMO that shares pages with a common root, held as nodes of one arena behind
//! one lock. Operations that touch several nodes of a family (a write that copies a page from an
//! ancestor, a close that merges a parent into a child) take that single lock; no operation ever
//! holds the locks of two families.
//!
//! Functions that need the lock take `&mut FamilyState`, so calling them without it does not
//! compile.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{VmError, VmResult};
use crate::page_list::PageList;
use crate::platform::{FrameOf, Platform};

/// Index of a node in its family's arena.
pub(crate) type NodeId = usize;

/// One VMO's state inside its family.
pub(crate) struct Node<F> {
    /// The frames this node holds itself.
    pub pages: PageList<F>,
    /// Size in bytes, a multiple of the page size, at most `MAX_VMO_SIZE`.
    pub size: u64,
    /// Whether `set_size` may change `size`.
    pub resizable: bool,
}

/// The locked part of a family: its node arena.
pub(crate) struct FamilyState<F> {
    nodes: Vec<Option<Node<F>>>,
    vacant: Vec<NodeId>,
}

impl<F> FamilyState<F> {
    fn new() -> Self {
        FamilyState {
            nodes: Vec::new(),
            vacant: Vec::new(),
        }
    }

    /// Adds a node; fails cleanly when the arena cannot grow.
    pub fn add(&mut self, node: Node<F>) -> VmResult<NodeId> {
        if let Some(id) = self.vacant.pop() {
            self.nodes[id] = Some(node);
            return Ok(id);
        }
        self.nodes.try_reserve(1).map_err(|_| VmError::NoMemory)?;
        // Reserve the vacancy slot now so that removing the node later never allocates.
        self.vacant
            .try_reserve(self.nodes.len() + 1 - self.vacant.len())
            .map_err(|_| VmError::NoMemory)?;
        self.nodes.push(Some(node));
        Ok(self.nodes.len() - 1)
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

    /// The node with this id, which must be live, for changing.
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node<F> {
        match self.nodes.get_mut(id) {
            Some(Some(node)) => node,
            _ => unreachable!("node {id} is not live"),
        }
    }
}

/// A family and the frame source its pages come from.
pub(crate) struct Family<P: Platform> {
    pub frames: Arc<P::Frames>,
    pub state: lock_api::Mutex<P::RawMutex, FamilyState<FrameOf<P>>>,
}

impl<P: Platform> Family<P> {
    pub fn new(frames: Arc<P::Frames>) -> Self {
        Family {
            frames,
            state: lock_api::Mutex::new(FamilyState::new()),
        }
    }
}
