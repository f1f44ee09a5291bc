//! User pagers: the kernel side of `zx_pager_*`. A [`Pager`] object owns pager-backed VMOs; each
//! such VMO's family has one [`PagerBinding`], shared by the kernel objects of the VMO and of
//! its clones and slices, which sends the family's page requests to a port and keeps the
//! threads waiting for pages.
//!
//! The engine never blocks: an operation that needs a page not supplied yet fails with
//! `VmError::ShouldWait` having changed nothing. `paged` (system calls) and
//! [`wait_for_mapped`] (faults through mappings) then wait here and run the operation again:
//! - a request goes out once per missing run: the binding records the root ranges requested
//!   and not yet supplied, and a thread needing pages already requested waits without sending
//!   anything (a run partly requested gets a request for the rest only);
//! - a supply removes what it supplied from the outstanding requests, takes back packets of
//!   requests now fully answered that nobody dequeued yet (as Zircon does), and wakes every
//!   waiter, each of which runs its operation again;
//! - detaching the VMO, closing the pager or the VMO shrinking also wakes every waiter; after a
//!   detach or a close, waiting fails with `ZX_ERR_BAD_STATE`, Zircon's status for a pager
//!   that cannot populate pages. Pages supplied before stay readable.
//!
//! Lock order: a binding's lock, then a family's (to ask for the missing range), then the
//! port's signals, then its queue (a port waiter takes the queue's lock while it holds the
//! signals'). Nothing takes a binding's lock while holding a family's: a supply changes the
//! family first and tells the binding afterwards, and a waiter looks for missing pages and
//! registers itself under the binding's lock, so a supply made after the look always finds it
//! registered.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::ops::Range;
use core::sync::atomic::{AtomicBool, Ordering};

use vm_engine::{AccessError, AddressSpace, VmError, VmResult, Vmo, PAGE_SIZE};

use crate::koid::Koid;
use crate::name::Name;
use crate::platform::{Event, KernelPlatform, Time};
use crate::port::{Origin, PortPacket, PortQueue, ZX_PAGER_VMO_COMPLETE, ZX_PAGER_VMO_READ};
use crate::signals::Signals;
use crate::status::{from_vm_error, Status, ZX_ERR_BAD_STATE, ZX_ERR_NO_MEMORY};
use crate::vmo_object::VmoObject;

const PAGE: u64 = PAGE_SIZE as u64;

/// A pager as its handles refer to it. When its last handle goes, its VMOs behave as if
/// detached, and their threads waiting for pages fail; no packet (not even
/// ZX_PAGER_VMO_COMPLETE) is sent for them any more.
pub struct Pager<P: KernelPlatform> {
    shared: Arc<PagerShared<P>>,
    name: lock_api::Mutex<P::RawMutex, Name>,
    signals: Signals<P>,
}

/// What the bindings of a pager's VMOs know of it.
struct PagerShared<P: KernelPlatform> {
    koid: Koid,
    closed: AtomicBool,
    bindings: lock_api::Mutex<P::RawMutex, Vec<Weak<PagerBinding<P>>>>,
}

impl<P: KernelPlatform> Pager<P> {
    /// A pager with no VMO.
    pub fn new(koid: Koid) -> Self {
        Pager {
            shared: Arc::new(PagerShared {
                koid,
                closed: AtomicBool::new(false),
                bindings: lock_api::Mutex::new(Vec::new()),
            }),
            name: lock_api::Mutex::new(Name::EMPTY),
            signals: Signals::new(),
        }
    }

    /// The pager's id.
    pub fn koid(&self) -> Koid {
        self.shared.koid
    }

    /// The name.
    pub fn name(&self) -> Name {
        *self.name.lock()
    }

    /// Renames the pager.
    pub fn set_name(&self, name: Name) {
        *self.name.lock() = name;
    }

    /// The pager's signal state (it has no signal of its own).
    pub fn signals(&self) -> &Signals<P> {
        &self.signals
    }

    /// A binding for a new VMO of this pager, whose requests go to `port` with `key`; the VMO
    /// object will have koid `vmo_koid`.
    pub fn bind(
        &self,
        port: Arc<PortQueue<P>>,
        key: u64,
        vmo_koid: Koid,
    ) -> Result<Arc<PagerBinding<P>>, Status> {
        let mut bindings = self.shared.bindings.lock();
        // Bindings of VMOs gone are forgotten here, so the list stays as long as the live ones.
        bindings.retain(|binding| binding.strong_count() > 0);
        bindings.try_reserve(1).map_err(|_| ZX_ERR_NO_MEMORY)?;
        let binding = Arc::new(PagerBinding {
            pager: self.shared.clone(),
            port,
            key,
            vmo_koid,
            state: lock_api::Mutex::new(BindingState {
                detached: false,
                outstanding: Vec::new(),
                next_request: 0,
                waiters: Vec::new(),
            }),
        });
        bindings.push(Arc::downgrade(&binding));
        Ok(binding)
    }
}

impl<P: KernelPlatform> Drop for Pager<P> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        // Out of the list first: a binding dropped here must not find the list locked.
        let bindings = core::mem::take(&mut *self.shared.bindings.lock());
        for binding in bindings.iter().filter_map(Weak::upgrade) {
            binding.pager_closed();
        }
    }
}

/// A root range requested and not supplied yet, and the request that asked for it.
#[derive(Clone, Debug)]
struct Outstanding {
    /// Bytes of the pager-backed VMO, page aligned.
    range: Range<u64>,
    request: u64,
}

struct BindingState<P: KernelPlatform> {
    detached: bool,
    /// Disjoint ranges; several may belong to one request (a supply split it).
    outstanding: Vec<Outstanding>,
    next_request: u64,
    waiters: Vec<Arc<P::Event>>,
}

/// The link between a pager-backed VMO's family and its pager and port.
pub struct PagerBinding<P: KernelPlatform> {
    pager: Arc<PagerShared<P>>,
    port: Arc<PortQueue<P>>,
    key: u64,
    vmo_koid: Koid,
    state: lock_api::Mutex<P::RawMutex, BindingState<P>>,
}

impl<P: KernelPlatform> PagerBinding<P> {
    /// The koid of the pager that created the VMO.
    pub fn pager_koid(&self) -> Koid {
        self.pager.koid
    }

    /// The koid of the pager-backed VMO itself (not of its clones).
    pub fn vmo_koid(&self) -> Koid {
        self.vmo_koid
    }

    /// The key of its page requests.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Whether the pager still answers: not detached, pager not closed.
    pub fn is_attached(&self) -> bool {
        !self.state.lock().detached && !self.pager.closed.load(Ordering::SeqCst)
    }

    /// Root ranges requested and not supplied yet, in bytes, for tests and tools.
    pub fn outstanding(&self) -> Vec<(u64, u64)> {
        let state = self.state.lock();
        let mut ranges: Vec<(u64, u64)> = state
            .outstanding
            .iter()
            .map(|o| (o.range.start, o.range.end - o.range.start))
            .collect();
        ranges.sort_unstable();
        ranges
    }

    /// Blocks until nothing `[offset, offset + len)` of `vmo` (a VMO of this binding's family)
    /// needs is missing, asking the pager for what is not requested yet. `ZX_ERR_BAD_STATE`
    /// once the VMO is detached or the pager closed; `ZX_ERR_NO_MEMORY` if a request cannot be
    /// recorded.
    pub fn wait_for(&self, vmo: &Vmo<P>, offset: u64, len: u64) -> Result<(), Status> {
        loop {
            let event = {
                let mut state = self.state.lock();
                // Pages first: a supply that woke this waiter answered it even if a detach or
                // a close came before the waiter ran (found by kernel/tests/loom_pager.rs).
                let Some((start, length)) = vmo.missing_range(offset, len) else {
                    return Ok(());
                };
                if state.detached || self.pager.closed.load(Ordering::SeqCst) {
                    return Err(ZX_ERR_BAD_STATE);
                }
                self.request(&mut state, start..start + length)?;
                state.waiters.try_reserve(1).map_err(|_| ZX_ERR_NO_MEMORY)?;
                let event = Arc::new(P::Event::default());
                state.waiters.push(event.clone());
                event
            };
            // Woken by a supply, a detach, a close or a resize; the loop looks again.
            event.wait(Time::MAX);
            self.state
                .lock()
                .waiters
                .retain(|waiter| !Arc::ptr_eq(waiter, &event));
        }
    }

    /// Sends a ZX_PAGER_VMO_READ for every part of `range` no outstanding request covers.
    fn request(&self, state: &mut BindingState<P>, range: Range<u64>) -> Result<(), Status> {
        let mut cursor = range.start;
        while cursor < range.end {
            if let Some(covering) = state.outstanding.iter().find(|o| o.range.contains(&cursor)) {
                cursor = covering.range.end;
                continue;
            }
            // Up to the next outstanding range, if one starts inside.
            let end = state
                .outstanding
                .iter()
                .map(|o| o.range.start)
                .filter(|&start| start > cursor)
                .min()
                .unwrap_or(range.end)
                .min(range.end);
            state
                .outstanding
                .try_reserve(1)
                .map_err(|_| ZX_ERR_NO_MEMORY)?;
            let request = state.next_request;
            let packet =
                PortPacket::page_request(self.key, ZX_PAGER_VMO_READ, cursor, end - cursor);
            let origin = Origin {
                sender: self.sender(),
                request,
            };
            // A port without handles loses the packet; the range still counts as requested,
            // as in Zircon: its waiters wait for a supply, a detach or a close.
            self.port.queue_kernel(packet, Some(origin))?;
            state.next_request += 1;
            state.outstanding.push(Outstanding {
                range: cursor..end,
                request,
            });
            cursor = end;
        }
        Ok(())
    }

    /// Tells the binding that `[offset, offset + len)` of the VMO was supplied: those pages are
    /// no longer outstanding; the packets of requests now fully answered are taken back if
    /// still queued; every waiter looks again.
    pub fn supplied(&self, offset: u64, len: u64) {
        let supplied = offset..offset.saturating_add(len);
        let mut state = self.state.lock();
        let before: Vec<u64> = state.outstanding.iter().map(|o| o.request).collect();
        let mut index = 0;
        while index < state.outstanding.len() {
            let range = state.outstanding[index].range.clone();
            let (left, right) = (
                range.start..range.end.min(supplied.start),
                range.start.max(supplied.end)..range.end,
            );
            if range.end <= supplied.start || range.start >= supplied.end {
                index += 1;
                continue;
            }
            match (left.start < left.end, right.start < right.end) {
                (true, true) => {
                    // Split in two; if even that cannot be stored, keep it whole: a waiter for
                    // the supplied part finds nothing missing, the rest stays requested.
                    if state.outstanding.try_reserve(1).is_ok() {
                        let request = state.outstanding[index].request;
                        state.outstanding[index].range = left;
                        state.outstanding.push(Outstanding {
                            range: right,
                            request,
                        });
                    }
                    index += 1;
                }
                (true, false) => {
                    state.outstanding[index].range = left;
                    index += 1;
                }
                (false, true) => {
                    state.outstanding[index].range = right;
                    index += 1;
                }
                (false, false) => {
                    state.outstanding.swap_remove(index);
                }
            }
        }
        self.take_back_answered(&state, &before);
        wake_all(&mut state);
    }

    /// The VMO `koid` of this family now has `size` bytes: if it is the pager-backed VMO,
    /// requests past its end are dropped (a later growth asks again). Waiters look again (an
    /// operation past the new end now fails instead of waiting).
    pub fn resized(&self, koid: Koid, size: u64) {
        let mut state = self.state.lock();
        if koid == self.vmo_koid {
            let before: Vec<u64> = state.outstanding.iter().map(|o| o.request).collect();
            state.outstanding.retain_mut(|o| {
                o.range.end = o.range.end.min(size);
                o.range.start < o.range.end
            });
            self.take_back_answered(&state, &before);
        }
        wake_all(&mut state);
    }

    /// `zx_pager_detach_vmo`: no request will be sent any more; queued ones are taken back,
    /// waiters fail, and ZX_PAGER_VMO_COMPLETE is queued (once, whatever the number of
    /// detaches).
    pub fn detach(&self) {
        let mut state = self.state.lock();
        if state.detached {
            return;
        }
        state.detached = true;
        state.outstanding.clear();
        self.take_back_all();
        wake_all(&mut state);
        if !self.pager.closed.load(Ordering::SeqCst) {
            self.complete();
        }
    }

    /// The pager was closed: waiters fail, queued requests are taken back.
    fn pager_closed(&self) {
        let mut state = self.state.lock();
        state.outstanding.clear();
        self.take_back_all();
        wake_all(&mut state);
    }

    /// Queues ZX_PAGER_VMO_COMPLETE. A port that cannot store it drops it: a kernel-side
    /// allocation failure has nobody to report to here (Zircon preallocates the packet).
    fn complete(&self) {
        let packet = PortPacket::page_request(self.key, ZX_PAGER_VMO_COMPLETE, 0, 0);
        let _ = self.port.queue_kernel(packet, None);
    }

    /// Takes back the queued packets of requests among `before` that have no outstanding
    /// range left.
    fn take_back_answered(&self, state: &BindingState<P>, before: &[u64]) {
        let sender = self.sender();
        let answered = |request: u64| {
            before.contains(&request) && !state.outstanding.iter().any(|o| o.request == request)
        };
        self.port
            .cancel(|origin| origin.sender != sender || !answered(origin.request));
    }

    /// Takes back every queued packet this binding sent.
    fn take_back_all(&self) {
        let sender = self.sender();
        self.port.cancel(|origin| origin.sender != sender);
    }

    /// This binding's name as a packet sender: its address, unique while it lives (and its
    /// packets are taken back before it goes).
    fn sender(&self) -> usize {
        self as *const Self as usize
    }
}

impl<P: KernelPlatform> Drop for PagerBinding<P> {
    fn drop(&mut self) {
        // Nothing refers to the VMO's family any more: no request can follow.
        let detached = self.state.get_mut().detached;
        self.take_back_all();
        if !detached && !self.pager.closed.load(Ordering::SeqCst) {
            self.complete();
        }
    }
}

fn wake_all<P: KernelPlatform>(state: &mut BindingState<P>) {
    for waiter in state.waiters.drain(..) {
        waiter.set();
    }
}

/// Runs the engine operation `op` on `vmo`, which needs `[offset, offset + len)` of it; each
/// time the pager has to supply pages first, waits for them (see [`PagerBinding::wait_for`])
/// and runs it again. Other errors become Zircon statuses.
pub(crate) fn paged<P: KernelPlatform, T>(
    vmo: &VmoObject<P>,
    offset: u64,
    len: u64,
    mut op: impl FnMut(&Vmo<P>) -> VmResult<T>,
) -> Result<T, Status> {
    loop {
        match op(vmo.vmo()) {
            Err(VmError::ShouldWait) => match vmo.pager() {
                Some(binding) => binding.wait_for(vmo.vmo(), offset, len)?,
                None => return Err(ZX_ERR_BAD_STATE),
            },
            other => return other.map_err(from_vm_error),
        }
    }
}

/// Waits until the page at `vaddr` of `space`, whose fault reported
/// `AccessError::ShouldWait`, has been supplied by its VMO's pager; the caller then faults
/// again. Returns at once if the address no longer holds a pager-backed mapping (the next
/// fault says what it holds now). `ZX_ERR_BAD_STATE` if the pager will not supply it.
pub fn wait_for_mapped<P: KernelPlatform>(
    space: &AddressSpace<P>,
    vaddr: u64,
) -> Result<(), Status> {
    let page = vaddr & !(PAGE - 1);
    let Some(piece) = space
        .mapped_pieces(page, page.saturating_add(PAGE))
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    // The kernel maps VMOs with their kernel object as the mapping's keep-alive.
    let object = piece
        .keep_alive
        .as_ref()
        .and_then(|keep| keep.downcast_ref::<VmoObject<P>>());
    match object.and_then(|object| object.pager()) {
        Some(binding) => binding.wait_for(&piece.vmo, piece.vmo_offset, PAGE),
        None => Err(ZX_ERR_BAD_STATE),
    }
}

/// Runs `step` (a copy through `space` from `vaddr + done`, returning the bytes it moved and
/// why it stopped) until it is done, waiting for the pager whenever a page is not supplied
/// yet. Returns the bytes moved in all and why the last step stopped; a pager that will not
/// supply leaves its `ShouldWait` as the reason.
pub(crate) fn copy_waiting<P: KernelPlatform>(
    space: &AddressSpace<P>,
    vaddr: u64,
    mut step: impl FnMut(u64, usize) -> (usize, Option<AccessError>),
) -> (usize, Option<AccessError>) {
    let mut done = 0usize;
    loop {
        let at = vaddr.wrapping_add(done as u64);
        let (moved, stopped) = step(at, done);
        done += moved;
        match stopped {
            Some(AccessError::ShouldWait { .. }) => {
                let at = vaddr.wrapping_add(done as u64);
                if wait_for_mapped(space, at).is_err() {
                    return (done, stopped);
                }
            }
            other => return (done, other),
        }
    }
}
