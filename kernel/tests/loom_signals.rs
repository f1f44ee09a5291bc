//! Model checking of object signals with [loom]: the real kernel (handle table, VMO objects,
//! their close notices, `zx_object_wait_one`, `zx_handle_close`, `zx_vmar_unmap`) and the real
//! engine run on [`LoomPlatform`], a [`KernelPlatform`](vm_kernel::KernelPlatform) whose locks
//! and wake-up events are loom primitives (the harness in `loom_support/mod.rs`, shared with
//! `loom_pager.rs`), and loom runs each scenario under every interleaving of their operations
//! (up to a preemption bound).
//!
//! What it checks, and why: ZX_VMO_ZERO_CHILDREN is not stored anywhere, it is derived from the
//! engine (does the VMO still have a child?) under the waiter's signal lock, and whoever changes
//! that (the last reference to a child going, which may be a handle close, an unmap dropping a
//! mapping's keep-alive, or a grandchild closing below a closed child) must notify the nearest
//! open ancestor afterwards. If any path changes the state without notifying, or notifies
//! before changing it, some interleaving leaves the waiter asleep for ever: with an infinite
//! deadline and loom events, that is a loom deadlock, so a lost wake-up cannot go unnoticed. The
//! scenarios also check that the signal is never asserted early (while a child handle or a
//! mapping of a child still exists), and the `#[should_panic]` self-test shows that the harness
//! does catch a lost wake-up when the state changes after the notification.
//!
//! Each model builds a fresh kernel inside the loom closure. Run with `--nocapture` to see how
//! many interleavings each model explored.
//!
//! [loom]: https://docs.rs/loom

use std::sync::Arc;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use vm_kernel::rights::SAME_RIGHTS;
use vm_kernel::signals::{Signals, WaitFailure, VMO_ZERO_CHILDREN};
use vm_kernel::status::{Status, ZX_ERR_BAD_HANDLE, ZX_ERR_TIMED_OUT, ZX_OK};
use vm_kernel::zircon::{WaitResult, ZX_VMO_CHILD_SNAPSHOT, ZX_VM_PERM_READ, ZX_VM_PERM_WRITE};
use vm_kernel::{HandleValue, Object, Syscalls, Time, UserBytes};

mod loom_support;

use loom_support::engine::model;
use loom_support::{LoomKernel, LoomPlatform, INFINITE, NOW};

const PAGE: u64 = 4096;
/// ZX_USER_SIGNAL_0.
const USER_SIGNAL_0: u32 = 1 << 24;
/// `ZX_ERR_CANCELED` (the kernel defines it where the crate does not export it).
const ZX_ERR_CANCELED: Status = -23;

/// A kernel with one process, shareable between loom threads.
#[derive(Clone)]
struct World {
    kernel: LoomKernel,
    root_vmar: HandleValue,
}

impl World {
    fn new() -> Self {
        let (kernel, root_vmar) = LoomKernel::boot();
        World { kernel, root_vmar }
    }

    fn sys(&self) -> Syscalls<'_, LoomPlatform> {
        self.kernel.sys()
    }

    /// A VMO of one page whose first byte is 1.
    fn vmo(&self) -> HandleValue {
        let vmo = self.sys().vmo_create(PAGE, 0).unwrap();
        self.sys().vmo_write(vmo, UserBytes::new(&[1]), 0).unwrap();
        vmo
    }

    fn snapshot(&self, of: HandleValue) -> HandleValue {
        self.sys()
            .vmo_create_child(of, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE)
            .unwrap()
    }

    fn close(&self, handle: HandleValue) {
        self.kernel.close(handle);
    }

    fn wait(&self, handle: HandleValue, signals: u32, deadline: Time) -> WaitResult {
        self.sys().object_wait_one(handle, signals, deadline)
    }

    /// Whether the handle no longer names anything.
    fn is_closed(&self, handle: HandleValue) -> bool {
        self.sys().lookup(handle).err() == Some(ZX_ERR_BAD_HANDLE)
    }

    fn num_children(&self, vmo: HandleValue) -> u64 {
        match self.sys().lookup(vmo).unwrap().0 {
            Object::Vmo(vmo) => vmo.vmo().info().num_children,
            _ => unreachable!("a VMO handle"),
        }
    }

    /// ZX_VMO_ZERO_CHILDREN right now (a wait whose deadline has passed).
    fn zero_children_now(&self, vmo: HandleValue) -> bool {
        let result = self.wait(vmo, VMO_ZERO_CHILDREN, 0);
        let active = result.observed.expect("a live handle") & VMO_ZERO_CHILDREN != 0;
        let status: Status = if active { ZX_OK } else { ZX_ERR_TIMED_OUT };
        assert_eq!(
            result.status, status,
            "status and observed signals disagree"
        );
        active
    }

    /// Closes every handle left and checks that no frame leaked.
    fn finish(self, handles: &[HandleValue]) {
        for &handle in handles {
            self.close(handle);
        }
        self.kernel.finish();
    }
}

/// Asserts that a wait for ZX_VMO_ZERO_CHILDREN succeeded.
fn assert_woken_with_zero_children(result: WaitResult) {
    assert_eq!(result.status, ZX_OK, "waiter woke without the signal");
    let observed = result.observed.expect("signals observed");
    assert_ne!(observed & VMO_ZERO_CHILDREN, 0, "observed {observed:#x}");
}

// ---------------------------------------------------------------------------------------------
// ZX_VMO_ZERO_CHILDREN.

/// A thread waits (for ever) for the parent's ZX_VMO_ZERO_CHILDREN while two others close the
/// only two children: the waiter must wake, and only once both handles are gone.
#[test]
fn zero_children_waiter_wakes_when_both_children_close() {
    model("zero children: two closes", 2, || {
        let world = World::new();
        let parent = world.vmo();
        let (first, second) = (world.snapshot(parent), world.snapshot(parent));
        assert!(!world.zero_children_now(parent));
        let waiter = {
            let world = world.clone();
            thread::spawn(move || {
                let result = world.wait(parent, VMO_ZERO_CHILDREN, INFINITE);
                assert_woken_with_zero_children(result);
                assert!(
                    world.is_closed(first) && world.is_closed(second),
                    "woke early"
                );
            })
        };
        let closers: Vec<_> = [first, second]
            .into_iter()
            .map(|child| {
                let world = world.clone();
                thread::spawn(move || world.close(child))
            })
            .collect();
        for closer in closers {
            closer.join().unwrap();
        }
        waiter.join().unwrap();
        assert!(world.zero_children_now(parent));
        assert_eq!(world.num_children(parent), 0);
        world.finish(&[parent]);
    });
}

/// The parent's only child was closed already but lives on through its own child: a thread
/// waits on the parent while another closes the grandchild. The close notice must pass through
/// the closed child to the parent and wake the waiter.
#[test]
fn zero_children_passes_through_a_closed_child() {
    model("zero children: grandchild close", 3, || {
        let world = World::new();
        let parent = world.vmo();
        let child = world.snapshot(parent);
        let grandchild = world.snapshot(child);
        world.close(child);
        assert!(!world.zero_children_now(parent));
        let waiter = {
            let world = world.clone();
            thread::spawn(move || {
                assert_woken_with_zero_children(world.wait(parent, VMO_ZERO_CHILDREN, INFINITE));
                assert!(world.is_closed(grandchild), "woke early");
            })
        };
        let closer = {
            let world = world.clone();
            thread::spawn(move || world.close(grandchild))
        };
        closer.join().unwrap();
        waiter.join().unwrap();
        assert!(world.zero_children_now(parent));
        world.finish(&[parent]);
    });
}

/// The only child is mapped: one thread closes its handle while another unmaps it, and a third
/// waits on the parent. Whichever goes last drops the child; the waiter must wake, and never
/// while the mapping is still there.
#[test]
fn zero_children_waits_for_handle_close_and_unmap() {
    model("zero children: close vs unmap", 2, || {
        let world = World::new();
        let parent = world.vmo();
        let child = world.snapshot(parent);
        let addr = world
            .sys()
            .vmar_map(
                world.root_vmar,
                ZX_VM_PERM_READ | ZX_VM_PERM_WRITE,
                0,
                child,
                0,
                PAGE,
            )
            .unwrap();
        let waiter = {
            let world = world.clone();
            thread::spawn(move || {
                assert_woken_with_zero_children(world.wait(parent, VMO_ZERO_CHILDREN, INFINITE));
                assert!(world.is_closed(child), "woke with the child's handle open");
                let mapped = world.kernel.process.address_space().mapping_at(addr);
                assert!(mapped.is_none(), "woke with the child still mapped");
            })
        };
        let closer = {
            let world = world.clone();
            thread::spawn(move || world.close(child))
        };
        let unmapper = {
            let world = world.clone();
            thread::spawn(move || world.sys().vmar_unmap(world.root_vmar, addr, PAGE).unwrap())
        };
        closer.join().unwrap();
        unmapper.join().unwrap();
        waiter.join().unwrap();
        assert!(world.zero_children_now(parent));
        assert_eq!(world.num_children(parent), 0);
        world.finish(&[parent]);
    });
}

// ---------------------------------------------------------------------------------------------
// Other wake-ups of `zx_object_wait_one`.

/// Closing the handle a thread waits on ends the wait with ZX_ERR_CANCELED (or, if the close
/// came first, the wait finds no handle): never a waiter left asleep.
#[test]
fn handle_close_cancels_a_wait() {
    model("close cancels wait", 3, || {
        let world = World::new();
        let vmo = world.vmo();
        let waiter = {
            let world = world.clone();
            thread::spawn(move || world.wait(vmo, USER_SIGNAL_0, INFINITE))
        };
        world.close(vmo);
        let result = waiter.join().unwrap();
        match result.status {
            ZX_ERR_CANCELED => {
                let observed = result.observed.expect("canceled waits report signals");
                assert_eq!(observed & USER_SIGNAL_0, 0, "observed {observed:#x}");
            }
            ZX_ERR_BAD_HANDLE => assert_eq!(result.observed, None),
            other => panic!("wait on a closed handle ended with {other}"),
        }
        world.finish(&[]);
    });
}

/// Replacing the handle a thread waits on invalidates it as a close does, so the wait ends
/// with ZX_ERR_CANCELED (Zircon cancels waits made through a handle when the handle is
/// deleted, and `zx_handle_replace` deletes the original). This model found the bug where
/// `zx_handle_replace` bumped the slot's generation without notifying the object's signals,
/// so a waiter already asleep with an infinite deadline never woke.
#[test]
fn handle_replace_cancels_a_wait() {
    model("replace cancels wait", 2, || {
        let world = World::new();
        let vmo = world.vmo();
        let waiter = {
            let world = world.clone();
            thread::spawn(move || world.wait(vmo, USER_SIGNAL_0, INFINITE))
        };
        let replaced = world.sys().handle_replace(vmo, SAME_RIGHTS).unwrap();
        let result = waiter.join().unwrap();
        match result.status {
            ZX_ERR_CANCELED | ZX_ERR_BAD_HANDLE => {}
            other => panic!("wait on a replaced handle ended with {other}"),
        }
        world.finish(&[replaced]);
    });
}

/// `zx_object_signal` from one thread wakes every thread waiting for the signal.
#[test]
fn user_signal_wakes_every_waiter() {
    model("user signal, two waiters", 2, || {
        let world = World::new();
        let vmo = world.vmo();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let world = world.clone();
                thread::spawn(move || world.wait(vmo, USER_SIGNAL_0, INFINITE))
            })
            .collect();
        world.sys().object_signal(vmo, 0, USER_SIGNAL_0).unwrap();
        for waiter in waiters {
            let result = waiter.join().unwrap();
            assert_eq!(result.status, ZX_OK);
            assert_ne!(result.observed.unwrap() & USER_SIGNAL_0, 0);
        }
        world.finish(&[vmo]);
    });
}

// ---------------------------------------------------------------------------------------------
// The harness detects what it is meant to detect.

/// [`Signals::wait`] with a derived signal read from `flag`, against a notifier that sets the
/// flag and notifies in the given order.
fn derived_signal_protocol(notify_first: bool) {
    let signals = Arc::new(Signals::<LoomPlatform>::new());
    let flag = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (signals, flag) = (signals.clone(), flag.clone());
        thread::spawn(move || {
            let derived = || u32::from(flag.load(Ordering::SeqCst));
            signals.wait(1, INFINITE, &derived, &|| true)
        })
    };
    if notify_first {
        signals.notify();
        flag.store(true, Ordering::SeqCst);
    } else {
        flag.store(true, Ordering::SeqCst);
        signals.notify();
    }
    assert_eq!(waiter.join().unwrap(), Ok(1));
}

/// Changing the state, then notifying: the protocol every kernel path follows. No lost wake-up.
#[test]
fn harness_state_then_notify_never_loses_a_wakeup() {
    model("state then notify", 3, || derived_signal_protocol(false));
}

/// Notifying, then changing the state: loom must find the interleaving in which the waiter
/// looks between the two and sleeps for ever, and report it as a deadlock.
#[test]
#[should_panic(expected = "deadlock")]
fn harness_detects_a_lost_wakeup() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| derived_signal_protocol(true));
}

/// A wait whose deadline has passed returns at once with the signals active then.
#[test]
fn harness_past_deadline_times_out() {
    loom::model(|| {
        let signals = Signals::<LoomPlatform>::new();
        assert_eq!(
            signals.wait(1, NOW, &|| 2, &|| true),
            Err(WaitFailure::TimedOut(2))
        );
    });
}
