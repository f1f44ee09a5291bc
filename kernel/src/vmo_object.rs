//! The VMO kernel object: an engine [`Vmo`] with a koid, a name, signals and what ZX_INFO_VMO
//! reports about how it was made.
//!
//! ZX_VMO_ZERO_CHILDREN is derived from the engine (whether the VMO has a child that still
//! exists; a closed child counts while its own children live). For waiters to hear about a
//! change, every VMO keeps a small signal node linked to its parent's: when a VMO closes, the
//! nodes of its closed ancestors are passed through up to the first open one, whose waiters are
//! woken.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use vm_engine::{ChildKind, Vmo};

use crate::koid::Koid;
use crate::name::Name;
use crate::pager::PagerBinding;
use crate::platform::KernelPlatform;
use crate::signals::{SignalSet, Signals, VMO_ZERO_CHILDREN};

/// How a VMO came to be, for ZX_INFO_VMO's flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmoOrigin {
    /// `zx_vmo_create` / `mx_vmo_create`.
    Created,
    /// `zx_vmo_create_child` with this kind.
    Child(ChildKind),
    /// `zx_vmo_clone` / `mx_vmo_clone`.
    LegacyClone,
}

/// A virtual memory object as the kernel layer holds it.
pub struct VmoObject<P: KernelPlatform> {
    // Field order matters: the engine VMO is dropped (closing its node, unless a mapping still
    // holds it) before the close notice tells the ancestors. A mapping holds this object too,
    // and drops its own reference to the engine VMO first, so the last one to go closes it.
    vmo: Arc<Vmo<P>>,
    close_notice: CloseNotice<P>,
    koid: Koid,
    parent_koid: Koid,
    origin: VmoOrigin,
    immutable: bool,
    name: lock_api::Mutex<P::RawMutex, Name>,
    /// For the VMOs of a pager-backed family (the VMO itself, its clones and slices): its
    /// pager's binding, which the last of them to go tells the pager about.
    pager: Option<Arc<PagerBinding<P>>>,
}

/// The part of a VMO's signal state its children link to.
struct SignalNode<P: KernelPlatform> {
    signals: Signals<P>,
    parent: Option<Arc<SignalNode<P>>>,
    open: AtomicBool,
}

/// Wakes the waiters of the nearest open ancestor when a VMO closes.
struct CloseNotice<P: KernelPlatform> {
    node: Arc<SignalNode<P>>,
}

impl<P: KernelPlatform> Drop for CloseNotice<P> {
    fn drop(&mut self) {
        self.node.open.store(false, Ordering::SeqCst);
        let mut next = self.node.parent.clone();
        while let Some(node) = next {
            node.signals.notify();
            if node.open.load(Ordering::SeqCst) {
                // An open VMO counts for its own parent whatever happens below it.
                break;
            }
            next = node.parent.clone();
        }
    }
}

impl<P: KernelPlatform> VmoObject<P> {
    /// A VMO object with no parent.
    pub fn new_root(vmo: Vmo<P>, koid: Koid) -> Self {
        Self::build(vmo, koid, None, VmoOrigin::Created, false, Name::EMPTY)
    }

    /// A child of `parent` (which the engine `vmo` was created from); it inherits the name.
    pub fn new_child(
        vmo: Vmo<P>,
        koid: Koid,
        parent: &VmoObject<P>,
        origin: VmoOrigin,
        immutable: bool,
    ) -> Self {
        let parent_node = Some(parent.close_notice.node.clone());
        let mut object = Self::build(vmo, koid, parent_node, origin, immutable, parent.name());
        object.parent_koid = parent.koid;
        // A child of a pager-backed VMO reads through it: it waits for the same pager.
        object.pager = parent.pager.clone();
        object
    }

    /// A VMO created by `zx_pager_create_vmo`, whose pages `binding`'s pager supplies.
    pub fn new_pager_backed(vmo: Vmo<P>, koid: Koid, binding: Arc<PagerBinding<P>>) -> Self {
        let mut object = Self::build(vmo, koid, None, VmoOrigin::Created, false, Name::EMPTY);
        object.pager = Some(binding);
        object
    }

    fn build(
        vmo: Vmo<P>,
        koid: Koid,
        parent: Option<Arc<SignalNode<P>>>,
        origin: VmoOrigin,
        immutable: bool,
        name: Name,
    ) -> Self {
        VmoObject {
            vmo: Arc::new(vmo),
            close_notice: CloseNotice {
                node: Arc::new(SignalNode {
                    signals: Signals::new(),
                    parent,
                    open: AtomicBool::new(true),
                }),
            },
            koid,
            parent_koid: 0,
            origin,
            immutable,
            name: lock_api::Mutex::new(name),
            pager: None,
        }
    }

    /// The engine VMO.
    pub fn vmo(&self) -> &Vmo<P> {
        &self.vmo
    }

    /// The engine VMO as mappings hold it.
    pub fn shared_vmo(&self) -> &Arc<Vmo<P>> {
        &self.vmo
    }

    /// The VMO's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// The koid of the VMO it was created from; 0 for a root VMO.
    pub fn parent_koid(&self) -> Koid {
        self.parent_koid
    }

    /// How it was created.
    pub fn origin(&self) -> VmoOrigin {
        self.origin
    }

    /// Whether it was created as an immutable snapshot (SNAPSHOT with NO_WRITE).
    pub fn is_immutable(&self) -> bool {
        self.immutable
    }

    /// The name.
    pub fn name(&self) -> Name {
        *self.name.lock()
    }

    /// Renames the VMO.
    pub fn set_name(&self, name: Name) {
        *self.name.lock() = name;
    }

    /// The VMO's signal state.
    pub fn signals(&self) -> &Signals<P> {
        &self.close_notice.node.signals
    }

    /// ZX_VMO_ZERO_CHILDREN while no child of it exists.
    pub fn derived_signals(&self) -> SignalSet {
        if self.vmo.has_children() {
            0
        } else {
            VMO_ZERO_CHILDREN
        }
    }

    /// The pager binding of a VMO of a pager-backed family.
    pub fn pager(&self) -> Option<&Arc<PagerBinding<P>>> {
        self.pager.as_ref()
    }

    /// Wakes this VMO's waiters (a child was created: the signal went inactive).
    pub fn children_changed(&self) {
        self.signals().notify();
    }
}
