//! What the kernel layer needs from its host beyond what the engine needs: a monotonic clock and
//! a way to put a thread to sleep until another wakes it or a deadline passes. A bare-metal
//! kernel supplies its timer and scheduler; the hosted runtime supplies `std` ones.

use vm_engine::Platform;

/// Nanoseconds on the monotonic clock (`zx_time_t`).
pub type Time = i64;

/// The platform of the kernel layer: the engine's choices plus time and blocking.
pub trait KernelPlatform: Platform {
    /// A one-shot wake-up a waiting thread sleeps on.
    type Event: Event;

    /// The current monotonic time, in nanoseconds since some fixed point in the past (never
    /// negative, never decreasing).
    fn now() -> Time;
}

/// A one-shot wake-up: [`Event::wait`] returns once [`Event::set`] was called or the deadline
/// passed. Waiters re-check their condition after every return, so an early return is harmless.
pub trait Event: Default + Send + Sync + 'static {
    /// Sleeps until `set` was called (before or during the wait) or `deadline` passed.
    fn wait(&self, deadline: Time);
    /// Wakes the waiter, now or when it next waits.
    fn set(&self);
}
