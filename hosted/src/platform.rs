//! The host's side of the platform traits: frames in a memfd (see `memfd_frames`), parking
//! locks that put a contended thread to sleep instead of spinning, a condition
//! variable for waits, and the monotonic clock.

use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use vm_engine::Platform;

use crate::memfd_frames::MemfdFrames;
use vm_kernel::{Event, KernelPlatform, Time};

/// The platform the hosted runtime runs the engine and kernel on.
#[derive(Debug)]
pub enum HostPlatform {}

impl Platform for HostPlatform {
    type Frames = MemfdFrames;
    type RawMutex = parking_lot::RawMutex;
}

impl KernelPlatform for HostPlatform {
    type Event = HostEvent;

    fn now() -> Time {
        monotonic_now()
    }
}

/// Nanoseconds since the runtime first looked at the clock, plus one second so that a time is
/// never 0 or negative (`ZX_TIME_INFINITE_PAST` is `i64::MIN`).
pub fn monotonic_now() -> Time {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    let since = start.elapsed().as_nanos();
    i64::try_from(since).unwrap_or(i64::MAX - 1_000_000_000) + 1_000_000_000
}

/// A wake-up flag and the condition variable a waiter sleeps on.
#[derive(Debug, Default)]
pub struct HostEvent {
    set: Mutex<bool>,
    changed: Condvar,
}

impl Event for HostEvent {
    fn wait(&self, deadline: Time) {
        let mut set = self.set.lock().unwrap_or_else(PoisonError::into_inner);
        while !*set {
            let now = monotonic_now();
            if now >= deadline {
                return;
            }
            // `deadline - now` is positive here; i64::MAX (infinite) is about 292 years.
            let timeout = Duration::from_nanos(deadline.saturating_sub(now) as u64);
            set = self
                .changed
                .wait_timeout(set, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn set(&self) {
        *self.set.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }
}
