//! Object signals and waiting on them. Each object has a set of user signals (set and cleared by
//! `zx_object_signal`) and may derive others from its state (a VMO's ZX_VMO_ZERO_CHILDREN); a
//! waiter registers a wake-up under the object's signal lock, so a change made after the waiter
//! looked always wakes it.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::platform::{Event, KernelPlatform, Time};

/// `zx_signals_t`.
pub type SignalSet = u32;

/// ZX_VMO_ZERO_CHILDREN: the VMO has no child left, and no mapping of one.
pub const VMO_ZERO_CHILDREN: SignalSet = 1 << 3;

/// ZX_USER_SIGNAL_0 ..= ZX_USER_SIGNAL_7: the only signals user code may set or clear.
pub const USER_SIGNALS: SignalSet = 0xFF00_0000;

/// The signal state every object carries.
pub struct Signals<P: KernelPlatform> {
    state: lock_api::Mutex<P::RawMutex, SignalState<P>>,
}

struct SignalState<P: KernelPlatform> {
    user: SignalSet,
    waiters: Vec<Arc<P::Event>>,
}

/// How a wait ended without its signals becoming active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFailure {
    /// The deadline passed; the signals active at that moment.
    TimedOut(SignalSet),
    /// The handle waited on was closed during the wait.
    Canceled,
}

impl<P: KernelPlatform> Signals<P> {
    /// No user signal active, nobody waiting.
    pub fn new() -> Self {
        Signals {
            state: lock_api::Mutex::new(SignalState {
                user: 0,
                waiters: Vec::new(),
            }),
        }
    }

    /// The user signals currently active.
    pub fn user(&self) -> SignalSet {
        self.state.lock().user
    }

    /// Clears then sets user signals (the caller checked both masks hold user signals only),
    /// waking waiters.
    pub fn change_user(&self, clear: SignalSet, set: SignalSet) {
        let mut state = self.state.lock();
        state.user = (state.user & !clear) | set;
        wake_all(&mut state);
    }

    /// Wakes every waiter so that it re-evaluates: called when a derived signal may have
    /// changed or a handle was closed.
    pub fn notify(&self) {
        wake_all(&mut self.state.lock());
    }

    /// Blocks until one of `wanted` is active, `deadline` passes or `still_valid` turns false
    /// (the handle waited on was closed). `derived` computes the signals the object derives
    /// from its state; it is evaluated under the signal lock, so whoever changes that state and
    /// then calls [`Signals::notify`] cannot be missed. Returns the active signals.
    pub fn wait(
        &self,
        wanted: SignalSet,
        deadline: Time,
        derived: &dyn Fn() -> SignalSet,
        still_valid: &dyn Fn() -> bool,
    ) -> Result<SignalSet, WaitFailure> {
        loop {
            let event = {
                let mut state = self.state.lock();
                let active = state.user | derived();
                if active & wanted != 0 {
                    return Ok(active);
                }
                if !still_valid() {
                    return Err(WaitFailure::Canceled);
                }
                if P::now() >= deadline {
                    return Err(WaitFailure::TimedOut(active));
                }
                let event = Arc::new(P::Event::default());
                state.waiters.push(event.clone());
                event
            };
            event.wait(deadline);
            self.state
                .lock()
                .waiters
                .retain(|waiter| !Arc::ptr_eq(waiter, &event));
        }
    }
}

impl<P: KernelPlatform> Default for Signals<P> {
    fn default() -> Self {
        Self::new()
    }
}

fn wake_all<P: KernelPlatform>(state: &mut SignalState<P>) {
    for waiter in state.waiters.drain(..) {
        waiter.set();
    }
}
