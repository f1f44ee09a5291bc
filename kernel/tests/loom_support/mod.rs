//! The loom harness shared by the kernel's model-checking tests (`loom_signals.rs` and
//! `loom_pager.rs`): [`LoomPlatform`], a [`KernelPlatform`] on heap frames whose locks are
//! [`LoomRawMutex`]es, whose wake-up events are [`LoomEvent`]s and whose clock stands still at
//! [`NOW`]; and [`LoomKernel`], a kernel on that platform with one process booted, which each
//! test's `World` builds on. The engine-level parts ([`LoomRawMutex`] and
//! [`model`](engine::model)) come from the engine's loom harness,
//! `engine/tests/loom_support/mod.rs`, included here as [`engine`] with `#[path]` so that they
//! exist once for both crates.

use std::cell::Cell;
use std::sync::Arc;

use loom::sync::{Condvar, Mutex};
use vm_engine::{FrameSource, InMemoryFrames, Platform};
use vm_kernel::{Event, HandleValue, Kernel, KernelPlatform, Name, Process, Syscalls, Time};

/// The engine's loom harness: the tests take [`model`](engine::model) (or
/// [`model_on_stderr`](engine::model_on_stderr)) from here.
#[path = "../../../engine/tests/loom_support/mod.rs"]
pub mod engine;

use engine::LoomRawMutex;

/// The time the loom clock always shows.
pub const NOW: Time = 1_000_000_000;
/// `ZX_TIME_INFINITE`.
pub const INFINITE: Time = i64::MAX;

/// A one-shot wake-up on a loom mutex and condition variable. Loom has no clock, so a wait
/// ends only when the event is set or the deadline is already past: a waiter nobody wakes with
/// an infinite deadline blocks for ever, which loom reports as a deadlock.
#[derive(Default)]
pub struct LoomEvent {
    set: Mutex<bool>,
    changed: Condvar,
}

loom::thread_local! {
    /// How many times this loom thread called [`Event::wait`] (see [`event_waits`]). A loom
    /// thread-local is no loom operation, so counting adds no interleavings.
    static EVENT_WAITS: Cell<usize> = Cell::new(0);
}

/// How many times the calling loom thread has waited on a [`LoomEvent`]. `loom_pager` tells
/// from it whether a reader requested a page (or joined a request) and slept.
// `loom_signals` does not count waits, so there this is unused.
#[allow(dead_code)]
pub fn event_waits() -> usize {
    EVENT_WAITS.with(Cell::get)
}

impl Event for LoomEvent {
    fn wait(&self, deadline: Time) {
        EVENT_WAITS.with(|waits| waits.set(waits.get() + 1));
        let mut set = self.set.lock().unwrap();
        while !*set {
            if LoomPlatform::now() >= deadline {
                return;
            }
            set = self.changed.wait(set).unwrap();
        }
    }

    fn set(&self) {
        if std::thread::panicking() {
            // A failing model dropping a pager wakes its waiters: loom is gone by then.
            return;
        }
        *self.set.lock().unwrap() = true;
        self.changed.notify_all();
    }
}

/// Heap frames, loom locks, loom events and a clock that stands still.
#[derive(Debug)]
pub enum LoomPlatform {}

impl Platform for LoomPlatform {
    type Frames = InMemoryFrames;
    type RawMutex = LoomRawMutex;
}

impl KernelPlatform for LoomPlatform {
    type Event = LoomEvent;

    fn now() -> Time {
        NOW
    }
}

/// A kernel on [`LoomPlatform`] with one process booted, shareable between loom threads. Build
/// it inside the model (loom objects belong to one execution).
#[derive(Clone)]
pub struct LoomKernel {
    frames: Arc<InMemoryFrames>,
    kernel: Arc<Kernel<LoomPlatform>>,
    pub process: Arc<Process<LoomPlatform>>,
}

impl LoomKernel {
    /// A fresh kernel on fresh heap frames, and the handle of its process's root VMAR.
    pub fn boot() -> (Self, HandleValue) {
        let frames = Arc::new(InMemoryFrames::new());
        let kernel = Arc::new(Kernel::new(frames.clone()));
        let (process, _job, root_vmar) = kernel.boot_process(Name::new(b"loom")).unwrap();
        let booted = LoomKernel {
            frames,
            kernel,
            process,
        };
        (booted, root_vmar)
    }

    /// The system calls, made by the process.
    pub fn sys(&self) -> Syscalls<'_, LoomPlatform> {
        self.kernel.syscalls(&self.process)
    }

    /// `zx_handle_close`, which must succeed.
    pub fn close(&self, handle: HandleValue) {
        self.sys().handle_close(handle).unwrap();
    }

    /// Drops the process and the kernel and checks that no frame leaked (close the handles
    /// first: this clone must be the last).
    pub fn finish(self) {
        let LoomKernel {
            frames,
            kernel,
            process,
        } = self;
        drop(process);
        drop(kernel);
        assert_eq!(frames.frames_in_use(), 0, "frames leaked");
    }
}
