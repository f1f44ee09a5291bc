//! Focused tests of the Zircon system calls through the Rust API (spec/zircon.md sections 2 to
//! 5): handle namespaces per process, handle values that stay dead, koids, blocking waits
//! (ZX_VMO_ZERO_CHILDREN, user signals, deadlines, cancellation by close), exhausted memory,
//! frames freed when VMO families and processes go away, and many threads issuing calls through
//! one process at once. Tests marked `#[ignore]` assert the spec where the library deviates from
//! it; their reasons name the call, what it returns and the spec sentence.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use zircon::engine::FrameSource;
use zircon::kernel::magenta::MX_VMO_CLONE_COPY_ON_WRITE;
use zircon::kernel::signals::VMO_ZERO_CHILDREN;
use zircon::kernel::status::*;
use zircon::kernel::zircon::*;
use zircon::kernel::{
    HandleValue, Kernel, Name, Object, Process, Status, Syscalls, UserBuffer, UserBytes,
};
use zircon::platform::monotonic_now;
use zircon::HostPlatform;
use zircon::MemfdFrames;

type TestKernel = Kernel<HostPlatform>;
type TestProcess = Arc<Process<HostPlatform>>;
type Sys<'a> = Syscalls<'a, HostPlatform>;

const PAGE: u64 = 4096;
const P: usize = PAGE as usize;

const ZX_ERR_CANCELED: Status = -23;
const ZX_TIME_INFINITE: i64 = i64::MAX;
const ZX_TIME_INFINITE_PAST: i64 = i64::MIN;
const ZX_USER_SIGNAL_0: u32 = 1 << 24;
const ZX_USER_SIGNAL_3: u32 = 1 << 27;
const ZX_USER_SIGNAL_7: u32 = 1 << 31;
/// ZX_SIGNAL_HANDLE_CLOSED.
const HANDLE_CLOSED: u32 = 1 << 23;

/// How long the other thread waits before acting, and the least a blocked wait must take.
const DELAY: Duration = Duration::from_millis(50);

fn new_kernel() -> (Arc<MemfdFrames>, TestKernel) {
    let frames = Arc::new(MemfdFrames::with_limit(1 << 20).expect("frame file"));
    let kernel = TestKernel::new(frames.clone());
    (frames, kernel)
}

fn boot(kernel: &TestKernel, name: &[u8]) -> (TestProcess, HandleValue, HandleValue) {
    kernel.boot_process(Name::new(name)).expect("boot_process")
}

/// ZX_INFO_HANDLE_BASIC of a handle: (koid, rights, type).
fn basic(sys: &Sys<'_>, handle: HandleValue) -> Result<(u64, u32, u32), Status> {
    let record = sys.info_record(handle, ZX_INFO_HANDLE_BASIC)?;
    Ok((record.u64_at(0), record.u32_at(8), record.u32_at(12)))
}

fn koid(sys: &Sys<'_>, handle: HandleValue) -> u64 {
    basic(sys, handle).expect("handle basic info").0
}

/// `committed_bytes` of ZX_INFO_VMO.
fn committed(sys: &Sys<'_>, handle: HandleValue) -> u64 {
    sys.info_record(handle, ZX_INFO_VMO)
        .expect("vmo info")
        .u64_at(88)
}

fn read_all(sys: &Sys<'_>, handle: HandleValue) -> Vec<u8> {
    let size = sys.vmo_get_size(handle).expect("get_size");
    let mut bytes = vec![0u8; size as usize];
    sys.vmo_read(handle, UserBuffer::new(&mut bytes), 0)
        .expect("read");
    bytes
}

fn write(sys: &Sys<'_>, handle: HandleValue, offset: u64, bytes: &[u8]) {
    sys.vmo_write(handle, UserBytes::new(bytes), offset)
        .expect("write");
}

fn commit(sys: &Sys<'_>, handle: HandleValue, offset: u64, size: u64) -> Result<(), Status> {
    sys.vmo_op_range(
        handle,
        ZX_VMO_OP_COMMIT,
        offset,
        size,
        UserBuffer::new(&mut []),
    )
}

/// `pages` pages, each filled with its own byte (`first`, `first + 1`, ...).
fn pattern(pages: usize, first: u8) -> Vec<u8> {
    (0..pages)
        .flat_map(|page| std::iter::repeat_n(first.wrapping_add(page as u8), P))
        .collect()
}

fn wait_one(sys: &Sys<'_>, handle: HandleValue, signals: u32, deadline: i64) -> WaitResult {
    sys.object_wait_one(handle, signals, deadline)
}

fn deadline_after(duration: Duration) -> i64 {
    monotonic_now() + duration.as_nanos() as i64
}

// ---------------------------------------------------------------------------------------------
// Handles and koids.

/// Handles of every type in `sys`'s process: VMOs, a duplicate, children, clones, a process.
fn populate(sys: &Sys<'_>, job: HandleValue) -> Vec<HandleValue> {
    let vmo = sys.vmo_create(2 * PAGE, 0).unwrap();
    write(sys, vmo, 0, b"owned by A");
    let resizable = sys.vmo_create(PAGE, ZX_VMO_RESIZABLE).unwrap();
    let duplicate = sys.handle_duplicate(vmo, ZX_RIGHT_SAME_RIGHTS).unwrap();
    let snapshot = sys
        .vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE)
        .unwrap();
    let slice = sys
        .vmo_create_child(vmo, ZX_VMO_CHILD_SLICE, PAGE, PAGE)
        .unwrap();
    let clone = sys
        .vmo_clone(vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE)
        .unwrap();
    let mx_vmo = sys.mx_vmo_create(PAGE, 0).unwrap();
    let (process, vmar) = sys
        .process_create(job, UserBytes::new(b"child"), 0)
        .unwrap();
    vec![
        vmo, resizable, duplicate, snapshot, slice, clone, mx_vmo, process, vmar,
    ]
}

/// `zx_handle_duplicate`'s SAME_RIGHTS.
const ZX_RIGHT_SAME_RIGHTS: u32 = 1 << 31;

#[test]
fn handles_of_one_process_are_bad_handle_in_another() {
    let (frames, kernel) = new_kernel();
    let (a, a_job, a_vmar) = boot(&kernel, b"a");
    let (b, b_job, b_vmar) = boot(&kernel, b"b");
    let sys_a = kernel.syscalls(&a);
    let sys_b = kernel.syscalls(&b);
    let mut a_handles = populate(&sys_a, a_job);
    a_handles.extend([a_job, a_vmar]);
    let b_handles = {
        let mut handles = populate(&sys_b, b_job);
        handles.extend([b_job, b_vmar]);
        handles
    };
    let b_values: BTreeSet<_> = b_handles.iter().copied().collect();

    let before: Vec<_> = a_handles.iter().map(|&h| basic(&sys_a, h)).collect();
    let contents = read_all(&sys_a, a_handles[0]);
    let live = kernel.handles().live();
    let used = frames.frames_in_use();

    for &value in &a_handles {
        // Handle values are process-local: the same bits are not also a live handle of B
        // (if they were, B would be entitled to use them).
        assert!(!b_values.contains(&value), "{value:#x} is live in both");
        let mut buf = [0u8; 16];
        assert_eq!(
            sys_b.vmo_read(value, UserBuffer::new(&mut buf), 0),
            Err(ZX_ERR_BAD_HANDLE)
        );
        assert_eq!(buf, [0; 16], "B read A's VMO");
        assert_eq!(
            sys_b.vmo_write(value, UserBytes::new(b"B was here"), 0),
            Err(ZX_ERR_BAD_HANDLE)
        );
        assert_eq!(sys_b.vmo_get_size(value), Err(ZX_ERR_BAD_HANDLE));
        assert_eq!(
            sys_b.handle_duplicate(value, ZX_RIGHT_SAME_RIGHTS),
            Err(ZX_ERR_BAD_HANDLE)
        );
        assert_eq!(
            sys_b.handle_replace(value, ZX_RIGHT_SAME_RIGHTS),
            Err(ZX_ERR_BAD_HANDLE)
        );
        assert_eq!(
            sys_b.vmo_create_child(value, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE),
            Err(ZX_ERR_BAD_HANDLE)
        );
        assert_eq!(
            sys_b.vmo_clone(value, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE),
            Err(ZX_ERR_BAD_HANDLE)
        );
        assert_eq!(
            sys_b.object_signal(value, 0, ZX_USER_SIGNAL_0),
            Err(ZX_ERR_BAD_HANDLE)
        );
        assert_eq!(
            wait_one(&sys_b, value, ZX_USER_SIGNAL_0, ZX_TIME_INFINITE).status,
            ZX_ERR_BAD_HANDLE
        );
        assert_eq!(
            basic(&sys_b, value).err(),
            Some(ZX_ERR_BAD_HANDLE),
            "get_info"
        );
        assert_eq!(
            sys_b.process_create(value, UserBytes::new(b"x"), 0),
            Err(ZX_ERR_BAD_HANDLE)
        );
        assert_eq!(sys_b.handle_close(value), Err(ZX_ERR_BAD_HANDLE));
    }

    // Nothing B did changed anything of A's.
    assert_eq!(kernel.handles().live(), live);
    assert_eq!(frames.frames_in_use(), used);
    let after: Vec<_> = a_handles.iter().map(|&h| basic(&sys_a, h)).collect();
    assert_eq!(before, after);
    assert_eq!(read_all(&sys_a, a_handles[0]), contents);
    assert!(before.iter().all(Result::is_ok));
    // And the other way round: A cannot use B's handles either.
    for &value in &b_handles {
        assert_eq!(sys_a.handle_close(value), Err(ZX_ERR_BAD_HANDLE));
        assert_eq!(sys_a.vmo_get_size(value), Err(ZX_ERR_BAD_HANDLE));
    }
    assert_eq!(kernel.handles().live(), live);
    // B's own handles still work for B.
    for &value in &b_handles {
        assert!(basic(&sys_b, value).is_ok());
    }
}

#[test]
fn closed_handle_values_stay_invalid_while_their_slot_is_reused() {
    let (_frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let first = sys.vmo_create(PAGE, 0).unwrap();
    sys.handle_close(first).unwrap();
    let mut closed = vec![first];
    // Each round reuses the slot twice (replace and close each retire a value): 127 rounds
    // stay within the 255 reuses the library's 8-bit generation per slot can tell apart.
    for round in 0..127 {
        let handle = sys.vmo_create(PAGE, 0).unwrap();
        assert!(
            !closed.contains(&handle),
            "round {round}: a closed value came back"
        );
        for &old in &closed {
            assert_eq!(
                sys.vmo_get_size(old),
                Err(ZX_ERR_BAD_HANDLE),
                "round {round}"
            );
            assert_eq!(
                sys.handle_close(old),
                Err(ZX_ERR_BAD_HANDLE),
                "round {round}"
            );
        }
        // Replace also retires the value it consumes.
        let replaced = sys.handle_replace(handle, ZX_RIGHT_SAME_RIGHTS).unwrap();
        assert_ne!(replaced, handle);
        assert_eq!(sys.vmo_get_size(handle), Err(ZX_ERR_BAD_HANDLE));
        sys.handle_close(replaced).unwrap();
        closed.extend([handle, replaced]);
    }
    assert_eq!(closed.len(), 255);
    assert_eq!(kernel.handles().live(), 2);
}

/// Handle values carry a 12-bit generation per slot (kernel/src/handle_table.rs): a closed value
/// stays dead through 4095 reuses of its slot.
#[test]
fn closed_handle_values_stay_invalid_after_many_reuses_of_their_slot() {
    let (_frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let first = sys.vmo_create(PAGE, 0).unwrap();
    sys.handle_close(first).unwrap();
    for round in 0..2000 {
        let handle = sys.vmo_create(PAGE, 0).unwrap();
        assert_ne!(handle, first, "round {round}: a closed value came back");
        assert_eq!(
            sys.vmo_get_size(first),
            Err(ZX_ERR_BAD_HANDLE),
            "round {round}"
        );
        sys.handle_close(handle).unwrap();
    }
}

#[test]
fn koids_are_unique_never_reused_and_at_least_1024() {
    let (_frames, kernel) = new_kernel();
    let (a, a_job, a_vmar) = boot(&kernel, b"a");
    let (b, b_job, _) = boot(&kernel, b"b");
    let sys_a = kernel.syscalls(&a);
    let sys_b = kernel.syscalls(&b);
    // Same object, same koid: both processes' job handles, and a duplicate.
    assert_eq!(koid(&sys_a, a_job), koid(&sys_b, b_job));
    let mut seen: BTreeMap<u64, HandleValue> = BTreeMap::new();
    let mut record = |sys: &Sys<'_>, handle: HandleValue| {
        let koid = koid(sys, handle);
        assert!(koid >= 1024, "koid {koid}");
        assert!(
            seen.insert(koid, handle).is_none(),
            "koid {koid} given twice"
        );
        koid
    };
    record(&sys_a, a_job);
    record(&sys_a, a_vmar);
    let mut last = 0;
    for round in 0..50 {
        let handles = populate(&sys_a, a_job);
        // populate's duplicate shares the first VMO's koid.
        assert_eq!(koid(&sys_a, handles[0]), koid(&sys_a, handles[2]));
        for (index, &handle) in handles.iter().enumerate() {
            if index != 2 {
                let koid = record(&sys_a, handle);
                // Koids only grow: a closed object's koid is never handed out again.
                assert!(koid > last, "round {round}: koid {koid} after {last}");
                last = koid;
            }
        }
        let mx_clone = sys_a
            .mx_vmo_clone(handles[0], MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE)
            .unwrap();
        last = record(&sys_a, mx_clone);
        for handle in handles.into_iter().chain([mx_clone]) {
            sys_a.handle_close(handle).unwrap();
        }
    }
    // Objects of another process draw from the same koid space.
    let vmo = sys_b.vmo_create(PAGE, 0).unwrap();
    assert!(record(&sys_b, vmo) > last);
}

// ---------------------------------------------------------------------------------------------
// Signals and waiting.

#[test]
fn wait_one_blocks_until_the_last_child_closes() {
    let (_frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(PAGE, 0).unwrap();
    // Active on a new VMO.
    let now = wait_one(&sys, vmo, VMO_ZERO_CHILDREN, ZX_TIME_INFINITE_PAST);
    assert_eq!(now.status, ZX_OK);
    assert!(now.observed.unwrap() & VMO_ZERO_CHILDREN != 0);
    let child = sys
        .vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE)
        .unwrap();
    let now = wait_one(&sys, vmo, VMO_ZERO_CHILDREN, ZX_TIME_INFINITE_PAST);
    assert_eq!(now.status, ZX_ERR_TIMED_OUT);
    assert_eq!(now.observed.unwrap() & VMO_ZERO_CHILDREN, 0);

    let closed = AtomicBool::new(false);
    let start = Instant::now();
    thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let sys = kernel.syscalls(&process);
            let result = wait_one(&sys, vmo, VMO_ZERO_CHILDREN, ZX_TIME_INFINITE);
            (result, closed.load(Ordering::SeqCst), start.elapsed())
        });
        thread::sleep(DELAY);
        assert!(
            !waiter.is_finished(),
            "the wait returned while a child lived"
        );
        closed.store(true, Ordering::SeqCst);
        sys.handle_close(child).unwrap();
        let (result, closed_before_return, elapsed) = waiter.join().unwrap();
        assert_eq!(result.status, ZX_OK);
        assert!(result.observed.unwrap() & VMO_ZERO_CHILDREN != 0);
        assert!(
            closed_before_return,
            "the wait returned before the child closed"
        );
        assert!(elapsed >= DELAY, "returned after {elapsed:?}");
    });
}

/// The kinds of child a VMO can have: (name, create call).
type MakeChild = fn(&Sys<'_>, HandleValue) -> Result<HandleValue, Status>;

const CHILD_KINDS: [(&str, MakeChild); 5] = [
    ("snapshot", |sys, h| {
        sys.vmo_create_child(h, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE)
    }),
    ("at least on write", |sys, h| {
        sys.vmo_create_child(h, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, PAGE)
    }),
    ("slice", |sys, h| {
        sys.vmo_create_child(h, ZX_VMO_CHILD_SLICE, 0, PAGE)
    }),
    ("zx_vmo_clone", |sys, h| {
        sys.vmo_clone(h, ZX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE)
    }),
    ("mx_vmo_clone", |sys, h| {
        sys.mx_vmo_clone(h, MX_VMO_CLONE_COPY_ON_WRITE, 0, PAGE)
    }),
];

#[test]
fn a_closed_child_with_a_live_grandchild_keeps_zero_children_inactive() {
    let (frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    // Every child kind with every grandchild kind (indices into CHILD_KINDS), except slices of
    // legacy clones, which are resizable and so cannot be sliced.
    let pairs = (0..5).flat_map(|c| (0..5).map(move |g| (c, g)));
    for (child_kind, grandchild_kind) in pairs.filter(|&(c, g)| !(c >= 3 && g == 2)) {
        let (child_kind, make_child) = CHILD_KINDS[child_kind];
        let (grandchild_name, make_grandchild) = CHILD_KINDS[grandchild_kind];
        let context = format!("{child_kind} then {grandchild_name}");
        let vmo = sys.vmo_create(2 * PAGE, 0).unwrap();
        write(&sys, vmo, 0, &pattern(2, 1));
        let child = make_child(&sys, vmo).unwrap();
        let grandchild = make_grandchild(&sys, child).unwrap();
        sys.handle_close(child).unwrap();
        let polled = wait_one(&sys, vmo, VMO_ZERO_CHILDREN, ZX_TIME_INFINITE_PAST);
        assert_eq!(polled.status, ZX_ERR_TIMED_OUT, "{context}");
        assert_eq!(polled.observed.unwrap() & VMO_ZERO_CHILDREN, 0, "{context}");
        let closed = AtomicBool::new(false);
        thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let sys = kernel.syscalls(&process);
                let result = wait_one(&sys, vmo, VMO_ZERO_CHILDREN, ZX_TIME_INFINITE);
                (result, closed.load(Ordering::SeqCst))
            });
            thread::sleep(DELAY);
            assert!(
                !waiter.is_finished(),
                "{context}: woke with a grandchild alive"
            );
            closed.store(true, Ordering::SeqCst);
            sys.handle_close(grandchild).unwrap();
            let (result, closed_before_return) = waiter.join().unwrap();
            assert_eq!(result.status, ZX_OK, "{context}");
            assert!(
                result.observed.unwrap() & VMO_ZERO_CHILDREN != 0,
                "{context}"
            );
            assert!(closed_before_return, "{context}");
        });
        sys.handle_close(vmo).unwrap();
        assert_eq!(frames.frames_in_use(), 0, "{context}");
    }
    assert_eq!(kernel.handles().live(), 2);
}

#[test]
fn user_signals_set_from_another_thread_wake_a_waiter() {
    let (_frames, kernel) = new_kernel();
    let (process, job, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(PAGE, 0).unwrap();
    let (child_process, _) = sys.process_create(job, UserBytes::new(b"c"), 0).unwrap();
    for handle in [vmo, child_process] {
        // The signaller uses a duplicate: signals belong to the object, not the handle.
        let other = sys.handle_duplicate(handle, ZX_RIGHT_SAME_RIGHTS).unwrap();
        let signalled = AtomicBool::new(false);
        let start = Instant::now();
        thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let sys = kernel.syscalls(&process);
                let result = wait_one(&sys, handle, ZX_USER_SIGNAL_3, ZX_TIME_INFINITE);
                (result, signalled.load(Ordering::SeqCst), start.elapsed())
            });
            thread::sleep(DELAY);
            // A signal nobody waits for wakes nobody for good.
            sys.object_signal(other, 0, ZX_USER_SIGNAL_0).unwrap();
            thread::sleep(Duration::from_millis(10));
            assert!(!waiter.is_finished());
            signalled.store(true, Ordering::SeqCst);
            sys.object_signal(other, 0, ZX_USER_SIGNAL_3 | ZX_USER_SIGNAL_7)
                .unwrap();
            let (result, signalled_before_return, elapsed) = waiter.join().unwrap();
            assert_eq!(result.status, ZX_OK);
            let observed = result.observed.unwrap();
            assert_eq!(
                observed & (ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_3 | ZX_USER_SIGNAL_7),
                ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_3 | ZX_USER_SIGNAL_7
            );
            assert!(signalled_before_return);
            assert!(elapsed >= DELAY);
        });
        // Clearing works too, and only user signals may be touched.
        sys.object_signal(other, ZX_USER_SIGNAL_3, 0).unwrap();
        let polled = wait_one(&sys, handle, ZX_USER_SIGNAL_3, ZX_TIME_INFINITE_PAST);
        assert_eq!(polled.status, ZX_ERR_TIMED_OUT);
        assert_eq!(
            sys.object_signal(other, 0, VMO_ZERO_CHILDREN),
            Err(ZX_ERR_INVALID_ARGS)
        );
        sys.handle_close(other).unwrap();
    }
}

#[test]
fn wait_one_times_out_after_the_deadline_with_observed_filled() {
    let (_frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(PAGE, 0).unwrap();
    sys.object_signal(vmo, 0, ZX_USER_SIGNAL_7).unwrap();
    let start = Instant::now();
    let result = wait_one(&sys, vmo, ZX_USER_SIGNAL_0, deadline_after(DELAY));
    let elapsed = start.elapsed();
    assert_eq!(result.status, ZX_ERR_TIMED_OUT);
    assert_eq!(
        result.observed,
        Some(VMO_ZERO_CHILDREN | ZX_USER_SIGNAL_7),
        "observed must hold the active signals"
    );
    assert!(elapsed >= DELAY, "timed out after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(10),
        "timed out only after {elapsed:?}"
    );
    // A deadline already past: at once, still with observed.
    let start = Instant::now();
    for deadline in [ZX_TIME_INFINITE_PAST, 0, monotonic_now()] {
        let result = wait_one(&sys, vmo, ZX_USER_SIGNAL_0, deadline);
        assert_eq!(result.status, ZX_ERR_TIMED_OUT);
        assert_eq!(result.observed, Some(VMO_ZERO_CHILDREN | ZX_USER_SIGNAL_7));
    }
    assert!(start.elapsed() < Duration::from_secs(1));
    // An active signal satisfies even a past deadline.
    let result = wait_one(&sys, vmo, ZX_USER_SIGNAL_7, ZX_TIME_INFINITE_PAST);
    assert_eq!(result.status, ZX_OK);
}

#[test]
fn closing_the_handle_waited_on_from_another_thread_cancels_the_wait() {
    let (_frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(PAGE, 0).unwrap();
    let duplicate = sys.handle_duplicate(vmo, ZX_RIGHT_SAME_RIGHTS).unwrap();
    let closed = AtomicBool::new(false);
    let start = Instant::now();
    thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let sys = kernel.syscalls(&process);
            let result = wait_one(&sys, vmo, ZX_USER_SIGNAL_0, ZX_TIME_INFINITE);
            (result, closed.load(Ordering::SeqCst), start.elapsed())
        });
        thread::sleep(DELAY);
        // Closing another handle to the same object does not end the wait.
        sys.handle_close(duplicate).unwrap();
        thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished(), "closing a duplicate ended the wait");
        closed.store(true, Ordering::SeqCst);
        sys.handle_close(vmo).unwrap();
        let (result, closed_before_return, elapsed) = waiter.join().unwrap();
        assert_eq!(result.status, ZX_ERR_CANCELED);
        assert!(closed_before_return);
        assert!(elapsed >= DELAY);
        if let Some(observed) = result.observed {
            assert_eq!(observed & ZX_USER_SIGNAL_0, 0);
            assert!(observed & HANDLE_CLOSED != 0, "observed {observed:#x}");
        }
    });
    assert_eq!(kernel.handles().live(), 2);
}

// ---------------------------------------------------------------------------------------------
// Memory.

#[test]
fn exhausted_memory_makes_write_and_commit_fail_with_nothing_changed() {
    // Room for 8 frames in the file, 3 allowed for now.
    let frames = Arc::new(MemfdFrames::with_limit(8).expect("frame file"));
    frames.set_limit(3);
    let kernel = TestKernel::new(frames.clone());
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(8 * PAGE, 0).unwrap();
    write(&sys, vmo, 0, &pattern(2, 1));
    assert_eq!(frames.frames_in_use(), 2);
    let before = read_all(&sys, vmo);
    let live = kernel.handles().live();

    let unchanged = |what: &str| {
        assert_eq!(frames.frames_in_use(), 2, "{what}: frames");
        assert_eq!(read_all(&sys, vmo), before, "{what}: contents");
        assert_eq!(committed(&sys, vmo), 2 * PAGE, "{what}: committed_bytes");
        assert_eq!(kernel.handles().live(), live, "{what}: handles");
    };
    // Three new pages needed, one available.
    let big = pattern(3, 9);
    assert_eq!(
        sys.vmo_write(vmo, UserBytes::new(&big), 2 * PAGE),
        Err(ZX_ERR_NO_MEMORY)
    );
    unchanged("write of new pages");
    // Overlapping committed page 1: its bytes must not change either.
    assert_eq!(
        sys.vmo_write(vmo, UserBytes::new(&big), PAGE + 7),
        Err(ZX_ERR_NO_MEMORY)
    );
    unchanged("write over a committed page");
    assert_eq!(commit(&sys, vmo, 0, 8 * PAGE), Err(ZX_ERR_NO_MEMORY));
    unchanged("commit");
    assert_eq!(commit(&sys, vmo, 2 * PAGE, 2 * PAGE), Err(ZX_ERR_NO_MEMORY));
    unchanged("commit of two");

    // The last frame can be used, then nothing more.
    write(&sys, vmo, 5 * PAGE, b"last");
    assert_eq!(frames.frames_in_use(), 3);
    assert_eq!(
        sys.vmo_write(vmo, UserBytes::new(b"x"), 6 * PAGE),
        Err(ZX_ERR_NO_MEMORY)
    );
    // Rewriting committed pages needs no frame.
    write(&sys, vmo, 0, &pattern(2, 7));
    assert_eq!(frames.frames_in_use(), 3);
    // With room again, everything works.
    frames.set_limit(8);
    commit(&sys, vmo, 0, 8 * PAGE).unwrap();
    assert_eq!(frames.frames_in_use(), 8);
    assert_eq!(committed(&sys, vmo), 8 * PAGE);
    sys.handle_close(vmo).unwrap();
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn exhausted_memory_makes_copy_on_write_fail_cleanly() {
    let frames = Arc::new(MemfdFrames::with_limit(2).expect("frame file"));
    let kernel = TestKernel::new(frames.clone());
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let original = pattern(2, 1);

    // A snapshot shares both pages: a write on either side needs a copy.
    let vmo = sys.vmo_create(2 * PAGE, 0).unwrap();
    write(&sys, vmo, 0, &original);
    let snapshot = sys
        .vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE)
        .unwrap();
    assert_eq!(frames.frames_in_use(), 2);
    for target in [snapshot, vmo] {
        assert_eq!(
            sys.vmo_write(target, UserBytes::new(b"x"), 10),
            Err(ZX_ERR_NO_MEMORY)
        );
        assert_eq!(commit(&sys, target, 0, PAGE), Err(ZX_ERR_NO_MEMORY));
    }
    assert_eq!(read_all(&sys, vmo), original);
    assert_eq!(read_all(&sys, snapshot), original);
    assert_eq!(frames.frames_in_use(), 2);
    assert_eq!(committed(&sys, vmo) + committed(&sys, snapshot), 2 * PAGE);
    sys.handle_close(snapshot).unwrap();
    assert_eq!(frames.frames_in_use(), 2);
    // With the snapshot gone the parent owns its pages again and writes in place.
    write(&sys, vmo, 0, b"in place");
    assert_eq!(frames.frames_in_use(), 2);

    // A legacy clone: its own writes need a copy, the parent's do not.
    let clone = sys
        .vmo_clone(vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE)
        .unwrap();
    assert_eq!(
        sys.vmo_write(clone, UserBytes::new(b"x"), PAGE),
        Err(ZX_ERR_NO_MEMORY)
    );
    assert_eq!(read_all(&sys, clone), read_all(&sys, vmo));
    write(&sys, vmo, PAGE, b"parent's later write");
    assert_eq!(read_all(&sys, clone), read_all(&sys, vmo), "one-way clone");
    assert_eq!(frames.frames_in_use(), 2);
    for handle in [clone, vmo] {
        sys.handle_close(handle).unwrap();
    }
    assert_eq!(frames.frames_in_use(), 0);
}

/// Sum of `committed_bytes` over the distinct VMOs behind `handles`.
fn committed_sum(sys: &Sys<'_>, handles: &[HandleValue]) -> u64 {
    let mut by_koid = BTreeMap::new();
    for &handle in handles {
        by_koid.insert(koid(sys, handle), committed(sys, handle));
    }
    by_koid.values().sum()
}

/// A family of every kind of VMO, each with pages of its own, plus duplicates; the slice only
/// `with_slice` (see the ignored slice tests for why).
fn family(sys: &Sys<'_>, with_slice: bool) -> Vec<HandleValue> {
    let vmo = sys.vmo_create(4 * PAGE, 0).unwrap();
    write(sys, vmo, 0, &pattern(4, 1));
    let snapshot = sys
        .vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE)
        .unwrap();
    write(sys, snapshot, PAGE, &pattern(1, 20));
    let at_least = sys
        .vmo_create_child(
            snapshot,
            ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
            0,
            6 * PAGE,
        )
        .unwrap();
    write(sys, at_least, 5 * PAGE, &pattern(1, 30));
    let grandchild = sys
        .vmo_create_child(at_least, ZX_VMO_CHILD_SNAPSHOT, PAGE, 2 * PAGE)
        .unwrap();
    write(sys, grandchild, 0, b"grandchild");
    let slice = with_slice.then(|| {
        let slice = sys
            .vmo_create_child(vmo, ZX_VMO_CHILD_SLICE, 2 * PAGE, 2 * PAGE)
            .unwrap();
        write(sys, slice, 0, &pattern(1, 40));
        slice
    });
    let clone = sys
        .vmo_clone(vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 3 * PAGE)
        .unwrap();
    write(sys, clone, 2 * PAGE, &pattern(1, 50));
    let mx_clone = sys
        .mx_vmo_clone(snapshot, MX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE)
        .unwrap();
    write(sys, mx_clone, 0, &pattern(1, 60));
    let clone_of_clone = sys
        .vmo_clone(clone, ZX_VMO_CLONE_COPY_ON_WRITE, PAGE, 2 * PAGE)
        .unwrap();
    write(sys, clone_of_clone, PAGE, b"deep");
    let duplicate = sys
        .handle_duplicate(snapshot, ZX_RIGHT_SAME_RIGHTS)
        .unwrap();
    let mut handles = vec![
        vmo,
        snapshot,
        at_least,
        grandchild,
        clone,
        mx_clone,
        clone_of_clone,
        duplicate,
    ];
    handles.extend(slice);
    handles
}

#[test]
fn closing_every_handle_of_a_family_in_any_order_frees_every_frame() {
    let (frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..40 {
        // Odd rounds add a slice; they check everything but the attribution of committed
        // bytes, which the library gets wrong once a slice outlives its parent (see
        // `a_slice_outliving_its_parent_is_charged_the_pages_it_sees`).
        let with_slice = round % 2 == 1;
        let mut handles = family(&sys, with_slice);
        // Rounds 0 and 1 close in creation order, 2 and 3 in reverse, the rest shuffled.
        match round {
            0 | 1 => {}
            2 | 3 => handles.reverse(),
            _ => {
                for i in (1..handles.len()).rev() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    handles.swap(i, (seed % (i as u64 + 1)) as usize);
                }
            }
        }
        let contents: Vec<_> = handles.iter().map(|&h| read_all(&sys, h)).collect();
        let mut used = frames.frames_in_use();
        assert!(used > 0);
        for (index, &handle) in handles.iter().enumerate() {
            let rest = &handles[index..];
            if !with_slice {
                assert_eq!(
                    committed_sum(&sys, rest),
                    used as u64 * PAGE,
                    "round {round}: committed bytes attribute every frame once"
                );
            }
            // Survivors see what they saw.
            for (offset, &other) in rest.iter().enumerate() {
                assert_eq!(
                    read_all(&sys, other),
                    contents[index + offset],
                    "round {round}"
                );
            }
            sys.handle_close(handle).unwrap();
            let now = frames.frames_in_use();
            assert!(now <= used, "round {round}: closing allocated frames");
            used = now;
        }
        assert_eq!(frames.frames_in_use(), 0, "round {round}: frames leaked");
        assert_eq!(kernel.handles().live(), 2, "round {round}");
    }
}

#[test]
fn a_page_nobody_can_see_is_freed_at_once() {
    let (frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    for close_parent in [false, true] {
        let vmo = sys.vmo_create(4 * PAGE, 0).unwrap();
        write(&sys, vmo, 0, &pattern(4, 1));
        let snapshot = sys
            .vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE)
            .unwrap();
        assert_eq!(frames.frames_in_use(), 4);
        write(&sys, vmo, 0, &pattern(4, 11));
        assert_eq!(frames.frames_in_use(), 8);
        let (gone, kept, expected) = if close_parent {
            (vmo, snapshot, pattern(4, 1))
        } else {
            (snapshot, vmo, pattern(4, 11))
        };
        sys.handle_close(gone).unwrap();
        assert_eq!(frames.frames_in_use(), 4, "close_parent {close_parent}");
        assert_eq!(read_all(&sys, kept), expected);
        assert_eq!(committed(&sys, kept), 4 * PAGE);
        sys.handle_close(kept).unwrap();
        assert_eq!(frames.frames_in_use(), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Processes going away.

#[test]
fn dropping_a_process_releases_its_handles_and_their_memory() {
    let (frames, kernel) = new_kernel();
    let (keeper, _, _) = boot(&kernel, b"keeper");
    let baseline = kernel.handles().live();
    let (process, job, _) = boot(&kernel, b"doomed");
    let made = {
        let sys = kernel.syscalls(&process);
        family(&sys, true).len() + populate(&sys, job).len()
    };
    assert_eq!(kernel.handles().live(), baseline + 2 + made);
    assert!(frames.frames_in_use() > 0);
    drop(process);
    assert_eq!(kernel.handles().live(), baseline);
    assert_eq!(frames.frames_in_use(), 0);
    // The other process is untouched.
    let sys = kernel.syscalls(&keeper);
    let vmo = sys.vmo_create(PAGE, 0).unwrap();
    assert_eq!(kernel.handles().live(), baseline + 1);
    sys.handle_close(vmo).unwrap();
}

#[test]
fn closing_the_last_handle_of_a_created_process_releases_its_handles() {
    let (frames, kernel) = new_kernel();
    let (parent, job, _) = boot(&kernel, b"parent");
    let sys = kernel.syscalls(&parent);
    let (child, child_vmar) = sys
        .process_create(job, UserBytes::new(b"child"), 0)
        .unwrap();
    let baseline = kernel.handles().live();
    // Issue calls as the new process, through the object its handle refers to.
    let (object, _) = sys.lookup(child).unwrap();
    let Object::Process(child_process) = object else {
        panic!("process_create's handle is not a process");
    };
    // A handle of the child process held by the child process itself would keep it alive for
    // ever (as in Zircon); it holds only VMOs here.
    let handles = family(&kernel.syscalls(&child_process), true);
    drop(child_process);
    assert_eq!(kernel.handles().live(), baseline + handles.len());
    // The parent's handles keep the child alive; a duplicate counts as one.
    let second = sys.handle_duplicate(child, ZX_RIGHT_SAME_RIGHTS).unwrap();
    sys.handle_close(child).unwrap();
    assert_eq!(kernel.handles().live(), baseline + handles.len());
    assert!(frames.frames_in_use() > 0);
    sys.handle_close(second).unwrap();
    assert_eq!(kernel.handles().live(), baseline - 1);
    assert_eq!(frames.frames_in_use(), 0);
    // The root VMAR handle outlives its process harmlessly.
    assert_eq!(basic(&sys, child_vmar).map(|b| b.2), Ok(18));
}

// ---------------------------------------------------------------------------------------------
// Many threads, one process.

/// xorshift64*: a small deterministic generator per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One thread's work: 2000 random operations on its own VMOs, each result checked against a
/// byte model. Returns the operations it ran.
fn worker(sys: &Sys<'_>, thread: u64, ops: usize) -> usize {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (thread + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    // Live handles and the model of the VMO each refers to (duplicates share one model).
    let mut handles: Vec<(HandleValue, usize)> = Vec::new();
    let mut models: Vec<Vec<u8>> = Vec::new();
    for op in 0..ops {
        let choice = if handles.is_empty() { 0 } else { rng.below(10) };
        let context = format!("thread {thread} op {op}");
        match choice {
            0 | 1 => {
                let pages = 1 + rng.below(3);
                let handle = sys.vmo_create(pages * PAGE, 0).expect(&context);
                models.push(vec![0; (pages * PAGE) as usize]);
                handles.push((handle, models.len() - 1));
            }
            2..=4 => {
                let (handle, model) = handles[rng.below(handles.len() as u64) as usize];
                let size = models[model].len() as u64;
                let len = 1 + rng.below(PAGE + 100).min(size - 1);
                let offset = rng.below(size - len + 1);
                let byte = (thread as u8) << 6 | (op % 61) as u8;
                let data = vec![byte; len as usize];
                sys.vmo_write(handle, UserBytes::new(&data), offset)
                    .expect(&context);
                models[model][offset as usize..(offset + len) as usize].fill(byte);
            }
            5 => {
                let (handle, model) = handles[rng.below(handles.len() as u64) as usize];
                let size = models[model].len() as u64;
                let child = sys
                    .vmo_create_child(handle, ZX_VMO_CHILD_SNAPSHOT, 0, size)
                    .expect(&context);
                models.push(models[model].clone());
                handles.push((child, models.len() - 1));
            }
            6 | 7 => {
                let (handle, model) = handles[rng.below(handles.len() as u64) as usize];
                assert_eq!(
                    sys.vmo_get_size(handle),
                    Ok(models[model].len() as u64),
                    "{context}"
                );
                assert!(
                    read_all(sys, handle) == models[model],
                    "{context}: contents"
                );
            }
            8 => {
                let (handle, model) = handles[rng.below(handles.len() as u64) as usize];
                let duplicate = sys
                    .handle_duplicate(handle, ZX_RIGHT_SAME_RIGHTS)
                    .expect(&context);
                handles.push((duplicate, model));
            }
            _ => {
                let index = rng.below(handles.len() as u64) as usize;
                let (handle, _) = handles.swap_remove(index);
                sys.handle_close(handle).expect(&context);
                assert_eq!(
                    sys.vmo_get_size(handle),
                    Err(ZX_ERR_BAD_HANDLE),
                    "{context}"
                );
            }
        }
        while handles.len() > 24 {
            let (handle, _) = handles.swap_remove(0);
            sys.handle_close(handle).expect(&context);
        }
    }
    for (handle, model) in handles {
        assert!(
            read_all(sys, handle) == models[model],
            "thread {thread}: final"
        );
        sys.handle_close(handle).unwrap();
    }
    ops
}

#[test]
fn many_threads_issue_calls_through_one_process_at_once() {
    const THREADS: u64 = 4;
    const OPS: usize = 2000;
    let (frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let baseline = kernel.handles().live();
    let total: usize = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let kernel = &kernel;
                let process = &process;
                scope.spawn(move || worker(&kernel.syscalls(process), thread, OPS))
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(total, THREADS as usize * OPS);
    assert_eq!(kernel.handles().live(), baseline);
    assert_eq!(frames.frames_in_use(), 0);
}

// ---------------------------------------------------------------------------------------------
// Library deviations from the spec, kept asserting the spec.

/// Spec section 3: "SNAPSHOT: NOT_SUPPORTED on physical, contiguous or pager-backed VMOs and
/// their descendants; BAD_STATE if any page of the parent is pinned." A legacy clone is none of
/// those, and "the child behaves as if the range had been copied eagerly at creation".
#[test]
fn a_snapshot_of_a_legacy_clone_is_supported() {
    let (_frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(2 * PAGE, 0).unwrap();
    write(&sys, vmo, 0, &pattern(2, 1));
    let clones = [
        sys.vmo_clone(vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE)
            .unwrap(),
        sys.mx_vmo_clone(vmo, MX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE)
            .unwrap(),
    ];
    for clone in clones {
        let snapshot = sys.vmo_create_child(clone, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE);
        assert_eq!(snapshot.map(|_| ()), Ok(()), "snapshot of a legacy clone");
        let snapshot = snapshot.unwrap();
        // Eager-copy semantics: later writes on either side are not seen by the other.
        write(&sys, clone, 0, b"clone");
        assert_eq!(read_all(&sys, snapshot), pattern(2, 1));
    }
}

/// Spec section 3: "SNAPSHOT_AT_LEAST_ON_WRITE: NOT_SUPPORTED on physical or contiguous VMOs;
/// on pager-backed VMOs it is a true one-way clone". A legacy clone is neither physical nor
/// contiguous, and a one-way child of it would satisfy "at least copy on write".
#[test]
fn an_at_least_on_write_child_of_a_legacy_clone_is_supported() {
    let (_frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(2 * PAGE, 0).unwrap();
    write(&sys, vmo, 0, &pattern(2, 1));
    let clone = sys
        .vmo_clone(vmo, ZX_VMO_CLONE_COPY_ON_WRITE, 0, 2 * PAGE)
        .unwrap();
    let child = sys.vmo_create_child(clone, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, 2 * PAGE);
    assert_eq!(child.map(|_| ()), Ok(()));
    let child = child.unwrap();
    // At least copy on write: the child's own writes stay its own.
    write(&sys, child, 0, b"child");
    assert_eq!(read_all(&sys, clone), pattern(2, 1));
}

/// Spec section 4: "`committed_bytes` attributes every physical page to exactly one VMO, so the
/// sum over all live VMOs equals the pages in use." Once the parent of a slice is closed, the
/// slice is the only live VMO that can see those pages.
#[test]
fn a_slice_outliving_its_parent_is_charged_the_pages_it_sees() {
    let (frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(4 * PAGE, 0).unwrap();
    write(&sys, vmo, 0, &pattern(4, 1));
    let slice = sys
        .vmo_create_child(vmo, ZX_VMO_CHILD_SLICE, 0, 4 * PAGE)
        .unwrap();
    assert_eq!(committed(&sys, vmo) + committed(&sys, slice), 4 * PAGE);
    sys.handle_close(vmo).unwrap();
    assert_eq!(read_all(&sys, slice), pattern(4, 1));
    assert_eq!(frames.frames_in_use(), 4);
    assert_eq!(
        committed(&sys, slice),
        4 * PAGE,
        "the slice's committed_bytes"
    );
}

/// Spec section 4: "No leak: once a page can no longer be seen by any live VMO it is freed at
/// once. Closing or shrinking VMOs in any order never leaves pages that nobody can read."
#[test]
#[ignore = "library bug: closing the parent of a slice of its pages 1 and 2 keeps pages 0 and \
            3, which no live VMO can see, in use (frames_in_use 4, expected 2); spec section 4: \
            once a page can no longer be seen by any live VMO it is freed at once"]
fn pages_outside_a_surviving_slice_are_freed_when_its_parent_closes() {
    let (frames, kernel) = new_kernel();
    let (process, _, _) = boot(&kernel, b"p");
    let sys = kernel.syscalls(&process);
    let vmo = sys.vmo_create(4 * PAGE, 0).unwrap();
    write(&sys, vmo, 0, &pattern(4, 1));
    let slice = sys
        .vmo_create_child(vmo, ZX_VMO_CHILD_SLICE, PAGE, 2 * PAGE)
        .unwrap();
    sys.handle_close(vmo).unwrap();
    assert_eq!(read_all(&sys, slice), pattern(3, 1)[P..].to_vec());
    assert_eq!(
        frames.frames_in_use(),
        2,
        "pages only the closed parent could see"
    );
    sys.handle_close(slice).unwrap();
    assert_eq!(frames.frames_in_use(), 0);
}
