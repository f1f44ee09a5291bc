//! The engine-level half of the loom harness shared by the model-checking tests:
//! [`LoomRawMutex`] (the `lock_api` raw mutex a loom [`Platform`](vm_engine::Platform) locks
//! with), [`LoomFrames`] (heap frames whose allocations and releases are loom operations) and
//! [`model`] (runs a scenario under loom with a preemption bound and reports how many
//! interleavings it explored, on stdout, or on stderr with [`model_on_stderr`]).
//! `engine/tests/loom_lock_protocol.rs` uses it as its module
//! `loom_support`; the kernel's loom tests reach it through `kernel/tests/loom_support/mod.rs`,
//! which includes this file with `#[path]` and adds the kernel-level parts.

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::sync::{Arc, OnceLock};

use loom::sync::atomic::{AtomicUsize as LoomCounter, Ordering};
use loom::sync::{Condvar, Mutex};
use vm_engine::{FrameSource, InMemoryFrames, MemoryFrame, OutOfFrames, PAGE_SIZE};

/// A `lock_api` raw mutex made of a loom mutex and condition variable. `lock_api` wants a
/// `const INIT`, which loom objects cannot be (they register with the running execution when
/// created), so the pair is created on first use: always inside the model, by the first thread
/// to lock. A contended `lock` waits on the condition variable, so loom sees the thread blocked
/// and reports a cycle of waiting threads as a deadlock.
pub struct LoomRawMutex {
    cell: OnceLock<(Mutex<bool>, Condvar)>,
}

impl LoomRawMutex {
    fn parts(&self) -> &(Mutex<bool>, Condvar) {
        self.cell
            .get_or_init(|| (Mutex::new(false), Condvar::new()))
    }
}

// SAFETY: `lock` returns only once this thread set `held` from false to true under the loom
// mutex, and `unlock` (called only by the holder, per the trait's contract) sets it back: at
// most one thread holds the lock at a time. The one exception is a thread unwinding from a
// failed model, whose destructors may lock without excluding: the model has already failed,
// and loom runs one thread at a time in any case.
unsafe impl lock_api::RawMutex for LoomRawMutex {
    const INIT: Self = LoomRawMutex {
        cell: OnceLock::new(),
    };
    type GuardMarker = lock_api::GuardSend;

    fn lock(&self) {
        if std::thread::panicking() {
            // A model is failing (a deadlock tears loom's execution down): destructors that
            // lock while the thread unwinds must not touch loom again, or the panic aborts.
            return;
        }
        let (held, released) = self.parts();
        let mut locked = held.lock().unwrap();
        while *locked {
            locked = released.wait(locked).unwrap();
        }
        *locked = true;
    }

    fn try_lock(&self) -> bool {
        let mut locked = self.parts().0.lock().unwrap();
        !std::mem::replace(&mut *locked, true)
    }

    unsafe fn unlock(&self) {
        if std::thread::panicking() {
            return;
        }
        let (held, released) = self.parts();
        *held.lock().unwrap() = false;
        released.notify_all();
    }
}

/// [`InMemoryFrames`] that also count allocations and releases on a loom atomic. The engine
/// allocates and releases frames with a family locked, so each of these is a point inside a
/// critical section where loom may switch threads: work done outside the lock it belongs to
/// could then be interleaved with, and caught.
// Only the engine's loom test runs on these; the kernel's loom tests, which include this file
// too, keep plain `InMemoryFrames` (extra loom operations would change what their models
// explore), so there the type is never built.
#[allow(dead_code)]
pub struct LoomFrames {
    inner: InMemoryFrames,
    in_use: LoomCounter,
}

// As for the type: unused in the kernel's loom tests.
#[allow(dead_code)]
impl LoomFrames {
    pub fn new() -> Self {
        LoomFrames {
            inner: InMemoryFrames::new(),
            in_use: LoomCounter::new(0),
        }
    }

    /// Frames allocated and not yet released, by the loom counter (itself a loom operation).
    pub fn counted_in_use(&self) -> usize {
        self.in_use.load(Ordering::SeqCst)
    }

    fn charged(&self, frame: Result<MemoryFrame, OutOfFrames>) -> Result<MemoryFrame, OutOfFrames> {
        self.in_use.fetch_add(1, Ordering::SeqCst);
        frame
    }
}

impl FrameSource for LoomFrames {
    type Frame = MemoryFrame;

    fn allocate_zeroed(&self) -> Result<MemoryFrame, OutOfFrames> {
        self.charged(self.inner.allocate_zeroed())
    }

    fn allocate_filled(&self, contents: &[u8; PAGE_SIZE]) -> Result<MemoryFrame, OutOfFrames> {
        self.charged(self.inner.allocate_filled(contents))
    }

    fn allocate_copy(&self, source: &MemoryFrame) -> Result<MemoryFrame, OutOfFrames> {
        self.charged(self.inner.allocate_copy(source))
    }

    fn release(&self, frame: MemoryFrame) {
        self.in_use.fetch_sub(1, Ordering::SeqCst);
        self.inner.release(frame);
    }

    fn read(&self, frame: &MemoryFrame, offset: usize, dst: &mut [u8]) {
        self.inner.read(frame, offset, dst);
    }

    fn write(&self, frame: &mut MemoryFrame, offset: usize, src: &[u8]) {
        self.inner.write(frame, offset, src);
    }

    fn zero(&self, frame: &mut MemoryFrame, offset: usize, len: usize) {
        self.inner.zero(frame, offset, len);
    }

    fn physical_address(&self, frame: &MemoryFrame) -> u64 {
        self.inner.physical_address(frame)
    }

    fn frames_in_use(&self) -> usize {
        self.inner.frames_in_use()
    }

    fn frames_available(&self) -> usize {
        self.inner.frames_available()
    }
}

/// Runs `scenario` under loom with a preemption bound and reports on stdout how many
/// interleavings it explored. More than one proves the threads really raced.
// `loom_pager` reports on stderr instead ([`model_on_stderr`]), so there this one is unused.
#[allow(dead_code)]
pub fn model(name: &str, preemptions: usize, scenario: impl Fn() + Send + Sync + 'static) {
    check_model(name, preemptions, scenario, |report| println!("{report}"));
}

/// [`model`], reporting on stderr (as `loom_pager` does, next to its outcome tallies).
// Only `loom_pager` reports on stderr, so the other loom tests leave this unused.
#[allow(dead_code)]
pub fn model_on_stderr(
    name: &str,
    preemptions: usize,
    scenario: impl Fn() + Send + Sync + 'static,
) {
    check_model(name, preemptions, scenario, |report| eprintln!("{report}"));
}

/// Runs `scenario` under loom, counting its interleavings in an atomic outside the model, hands
/// the line that reports them to `report`, and asserts that there was more than one.
fn check_model(
    name: &str,
    preemptions: usize,
    scenario: impl Fn() + Send + Sync + 'static,
    report: impl FnOnce(&str),
) {
    let iterations = Arc::new(AtomicUsize::new(0));
    let counter = iterations.clone();
    let mut builder = loom::model::Builder::new();
    // `LOOM_MAX_PREEMPTIONS` in the environment (read by the builder) asks for a deeper search.
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    let bound = builder.preemption_bound;
    builder.check(move || {
        counter.fetch_add(1, StdOrdering::Relaxed);
        scenario();
    });
    let explored = iterations.load(StdOrdering::Relaxed);
    let bound = bound.map_or_else(|| "none".to_string(), |b| b.to_string());
    report(&format!(
        "{name}: {explored} interleavings (preemption bound {bound})"
    ));
    assert!(explored > 1, "{name}: loom found nothing to interleave");
}
