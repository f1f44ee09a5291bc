//! Model checking of the engine's lock protocol with [loom]: the real engine code (clone
//! families, copy-on-write, closes that merge hidden nodes, faults through address spaces) runs
//! on a [`Platform`] whose family, region-tree and MMU locks are loom primitives and whose frame
//! source counts on a loom atomic, and loom runs each scenario under every interleaving of those
//! operations (up to a preemption bound). Code between two such operations runs as one step:
//! the frame operations put steps inside the family's critical sections, so a change made
//! outside the lock it belongs to could be interleaved with (with the lock made non-exclusive,
//! most scenarios below fail within seconds).
//!
//! What it checks, and why: a family's pages, links and accounting are only ever changed under
//! the family lock, and the lock order is address space, then family, then MMU (see
//! `address_space/mod.rs`). A close that folds a hidden node into its surviving child, a fault
//! that installs a translation, a snapshot that write-protects it, an unmap that removes it, a
//! shrink that clips a one-way clone: every pair of these must leave the family consistent
//! ([`Vmo::check_family_invariants`]), the MMU's translations true
//! ([`AddressSpace::check_translations`]), the bytes as some serial order would have left them,
//! and no frame leaked, whichever thread got each lock first. A lock taken out of order shows up
//! as a loom deadlock, because [`LoomRawMutex`] blocks on a loom condition variable; the
//! `#[should_panic]` self-test at the end shows that the harness does detect one.
//!
//! Each model builds fresh engine objects inside the loom closure (loom objects belong to one
//! execution). Run with `--nocapture` to see how many interleavings each model explored.
//!
//! [loom]: https://docs.rs/loom

use std::sync::Arc;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use vm_engine::{
    Access, AddressSpace, ChildKind, FrameSource, MapRequest, Perms, Platform, SoftwareMmu, Vmo,
    VmoOptions,
};

mod loom_support;

use loom_support::{model, LoomFrames, LoomRawMutex};

// ---------------------------------------------------------------------------------------------
// The loom platform (its parts are in `loom_support/mod.rs`, shared with the kernel's loom
// tests).

/// Heap frames counted by loom, and loom locks.
enum LoomPlatform {}

impl Platform for LoomPlatform {
    type Frames = LoomFrames;
    type RawMutex = LoomRawMutex;
}

type LVmo = Vmo<LoomPlatform>;
type Space = AddressSpace<LoomPlatform>;

const PAGE: u64 = 4096;
const BASE: u64 = 0x1000_0000;

/// Every frame went back, by the source's count and by loom's.
fn assert_no_frames(frames: &LoomFrames) {
    assert_eq!(frames.frames_in_use(), 0, "frames leaked");
    assert_eq!(frames.counted_in_use(), 0, "frames leaked");
}

fn frames() -> Arc<LoomFrames> {
    Arc::new(LoomFrames::new())
}

fn vmo(frames: &Arc<LoomFrames>, pages: u64, resizable: bool) -> LVmo {
    LVmo::create(frames.clone(), pages * PAGE, VmoOptions { resizable }).unwrap()
}

fn child(parent: &LVmo, kind: ChildKind, pages: u64) -> LVmo {
    parent
        .create_child(kind, 0, pages * PAGE, VmoOptions::default())
        .unwrap()
}

fn byte_at(vmo: &LVmo, offset: u64) -> u8 {
    let mut byte = [0u8];
    vmo.read(offset, &mut byte).unwrap();
    byte[0]
}

fn page_bytes(vmo: &LVmo, page: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; PAGE as usize];
    vmo.read(page * PAGE, &mut bytes).unwrap();
    bytes
}

fn check(vmo: &LVmo) {
    if let Err(broken) = vmo.check_family_invariants() {
        panic!("family invariant broken: {broken}");
    }
}

fn space() -> Space {
    Space::new(BASE, 1 << 32, Box::new(SoftwareMmu::new())).unwrap()
}

fn map(space: &Space, vmo: &Arc<LVmo>, pages: u64) -> u64 {
    space
        .root()
        .map(MapRequest {
            offset: None,
            overwrite: false,
            vmo: vmo.clone(),
            vmo_offset: 0,
            len: pages * PAGE,
            perms: Perms::READ | Perms::WRITE,
            max_perms: Perms::all(),
            align: PAGE,
            populate: false,
            keep_alive: None,
        })
        .unwrap()
}

fn check_space(space: &Space) {
    if let Err(broken) = space.check_translations() {
        panic!("translation check failed: {broken}");
    }
}

/// Parent of two pages, each written with its number plus one, and two snapshots of it, each of
/// which then wrote one page of its own (so the family has two hidden nodes, frames in both and
/// in the children).
fn snapshot_family(frames: &Arc<LoomFrames>) -> (LVmo, LVmo, LVmo) {
    let parent = vmo(frames, 2, false);
    parent.write(0, &[1]).unwrap();
    parent.write(PAGE, &[2]).unwrap();
    let first = child(&parent, ChildKind::Snapshot, 2);
    let second = child(&parent, ChildKind::Snapshot, 2);
    first.write(0, &[10]).unwrap();
    second.write(PAGE, &[20]).unwrap();
    check(&parent);
    (parent, first, second)
}

// ---------------------------------------------------------------------------------------------
// (a) Closing members of a snapshot family at once.

/// Both snapshots close at once while the parent lives: each close folds a hidden node away.
#[test]
fn drop_both_snapshot_children_in_parallel() {
    model("drop both children", 3, || {
        let frames = frames();
        let (parent, first, second) = snapshot_family(&frames);
        let parent = Arc::new(parent);
        // Each closer then checks the family, possibly before the other close.
        let closer = |vmo: LVmo| {
            let parent = parent.clone();
            thread::spawn(move || {
                drop(vmo);
                check(&parent);
            })
        };
        let (a, b) = (closer(first), closer(second));
        a.join().unwrap();
        b.join().unwrap();
        check(&parent);
        assert_eq!(parent.info().num_children, 0);
        assert_eq!((byte_at(&parent, 0), byte_at(&parent, PAGE)), (1, 2));
        // Only the parent's two pages are left, and it pays for both.
        assert_eq!(frames.frames_in_use(), 2);
        assert_eq!(parent.committed_bytes(), 2 * PAGE);
        drop(parent);
        assert_no_frames(&frames);
    });
}

/// The parent and its first snapshot close at once; the second snapshot must keep exactly what
/// it saw.
#[test]
fn drop_parent_and_child_in_parallel() {
    model("drop parent and child", 3, || {
        let frames = frames();
        let (parent, first, second) = snapshot_family(&frames);
        let second = Arc::new(second);
        let closer = |vmo: LVmo| {
            let survivor = second.clone();
            thread::spawn(move || {
                drop(vmo);
                check(&survivor);
                assert_eq!((byte_at(&survivor, 0), byte_at(&survivor, PAGE)), (1, 20));
            })
        };
        let (a, b) = (closer(parent), closer(first));
        a.join().unwrap();
        b.join().unwrap();
        check(&second);
        assert_eq!((byte_at(&second, 0), byte_at(&second, PAGE)), (1, 20));
        assert_eq!(frames.frames_in_use(), 2);
        assert_eq!(second.committed_bytes(), 2 * PAGE);
        drop(second);
        assert_no_frames(&frames);
    });
}

/// A snapshot closes while its sibling writes the page they still share with the parent
/// (through the hidden nodes the close is folding away).
#[test]
fn drop_child_while_sibling_writes_shared_page() {
    model("drop child vs sibling write", 3, || {
        let frames = frames();
        let (parent, first, second) = snapshot_family(&frames);
        let second = Arc::new(second);
        let parent = Arc::new(parent);
        let a = {
            let parent = parent.clone();
            thread::spawn(move || {
                drop(first);
                check(&parent);
            })
        };
        let b = {
            let second = second.clone();
            thread::spawn(move || {
                second.write(0, &[21]).unwrap();
                check(&second);
                assert_eq!(byte_at(&second, 0), 21);
            })
        };
        a.join().unwrap();
        b.join().unwrap();
        check(&parent);
        assert_eq!((byte_at(&parent, 0), byte_at(&parent, PAGE)), (1, 2));
        assert_eq!((byte_at(&second, 0), byte_at(&second, PAGE)), (21, 20));
        // Parent's two pages and the second snapshot's two.
        assert_eq!(frames.frames_in_use(), 4);
        drop(second);
        drop(parent);
        assert_no_frames(&frames);
    });
}

// ---------------------------------------------------------------------------------------------
// (b) Faults against snapshots and unmaps.

/// A write through a mapping (fault: region tree, then family, then MMU; then the copy) races a
/// snapshot of the mapped VMO (family, then MMU write protection). The snapshot must show the
/// old byte or the new one, as the order of the two demands, and no translation may let the
/// mapping write into a frame the snapshot shares.
#[test]
fn write_fault_races_snapshot() {
    model("write fault vs snapshot", 3, || {
        let frames = frames();
        let vmo = Arc::new(vmo(&frames, 1, false));
        vmo.write(0, &[1]).unwrap();
        let space = Arc::new(space());
        let addr = map(&space, &vmo, 1);
        let (wrote, snapped) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );

        let writer = {
            let (space, wrote, snapped) = (space.clone(), wrote.clone(), snapped.clone());
            thread::spawn(move || {
                let snapshot_was_done = snapped.load(Ordering::SeqCst);
                assert_eq!(space.write(addr, &[2]), (1, None));
                wrote.store(true, Ordering::SeqCst);
                snapshot_was_done
            })
        };
        let snapshotter = {
            let (vmo, wrote, snapped) = (vmo.clone(), wrote.clone(), snapped.clone());
            thread::spawn(move || {
                let write_was_done = wrote.load(Ordering::SeqCst);
                let snapshot = child(&vmo, ChildKind::Snapshot, 1);
                snapped.store(true, Ordering::SeqCst);
                (snapshot, write_was_done)
            })
        };
        let snapshot_first = writer.join().unwrap();
        let (snapshot, write_first) = snapshotter.join().unwrap();

        check(&vmo);
        check_space(&space);
        assert_eq!(byte_at(&vmo, 0), 2, "the write went missing");
        let seen = byte_at(&snapshot, 0);
        assert!(seen == 1 || seen == 2, "snapshot shows {seen}");
        if write_first {
            assert_eq!(seen, 2, "snapshot taken after the write misses it");
        }
        if snapshot_first {
            assert_eq!(seen, 1, "write after the snapshot leaked into it");
        }
        // A later write through the mapping must not reach the snapshot either.
        assert_eq!(space.write(addr, &[3]), (1, None));
        check_space(&space);
        assert_eq!((byte_at(&vmo, 0), byte_at(&snapshot, 0)), (3, seen));
        drop(snapshot);
        space.destroy();
        drop(space);
        drop(vmo);
        assert_no_frames(&frames);
    });
}

/// A bare write fault (which installs a writable translation of the page the VMO holds) races a
/// snapshot: whichever comes second, the translation left behind must not be writable while
/// the frame is shared.
#[test]
fn fault_in_races_snapshot_write_protection() {
    model("fault vs snapshot protection", 3, || {
        let frames = frames();
        let vmo = Arc::new(vmo(&frames, 1, false));
        vmo.write(0, &[1]).unwrap();
        let space = Arc::new(space());
        let addr = map(&space, &vmo, 1);
        let faulter = {
            let space = space.clone();
            thread::spawn(move || space.fault(addr, Access::Write).unwrap())
        };
        let snapshotter = {
            let vmo = vmo.clone();
            thread::spawn(move || child(&vmo, ChildKind::Snapshot, 1))
        };
        faulter.join().unwrap();
        let snapshot = snapshotter.join().unwrap();
        check(&vmo);
        check_space(&space);
        assert_eq!((byte_at(&vmo, 0), byte_at(&snapshot, 0)), (1, 1));
        drop(snapshot);
        drop(space);
        drop(vmo);
        assert_no_frames(&frames);
    });
}

/// A write through a mapping races the unmap of that mapping: the write either lands (and is
/// in the VMO) or finds nothing mapped, and no translation survives the unmap.
#[test]
fn write_fault_races_unmap() {
    model("write fault vs unmap", 3, || {
        let frames = frames();
        let vmo = Arc::new(vmo(&frames, 1, false));
        let space = Arc::new(space());
        let addr = map(&space, &vmo, 1);
        let writer = {
            let space = space.clone();
            thread::spawn(move || space.write(addr, &[7]))
        };
        let unmapper = {
            let space = space.clone();
            thread::spawn(move || space.root().unmap(addr, PAGE).unwrap())
        };
        let written = writer.join().unwrap();
        unmapper.join().unwrap();
        check(&vmo);
        check_space(&space);
        let landed = match written {
            (1, None) => true,
            (0, Some(vm_engine::AccessError::Unmapped)) => false,
            other => panic!("write through a mapping being unmapped returned {other:?}"),
        };
        assert_eq!(byte_at(&vmo, 0), if landed { 7 } else { 0 });
        assert_eq!(space.with_mmu(|mmu| mmu.translation(addr)), None);
        assert_eq!(vmo.info().num_mappings, 0);
        drop(space);
        drop(vmo);
        assert_no_frames(&frames);
    });
}

/// Three at once: a write fault, a snapshot and an unmap of the same page.
#[test]
fn write_fault_races_snapshot_and_unmap() {
    model("write fault vs snapshot vs unmap", 3, || {
        let frames = frames();
        let vmo = Arc::new(vmo(&frames, 1, false));
        vmo.write(0, &[1]).unwrap();
        let space = Arc::new(space());
        let addr = map(&space, &vmo, 1);
        let writer = {
            let space = space.clone();
            thread::spawn(move || space.write(addr, &[2]))
        };
        let snapshotter = {
            let vmo = vmo.clone();
            thread::spawn(move || child(&vmo, ChildKind::Snapshot, 1))
        };
        let unmapper = {
            let space = space.clone();
            thread::spawn(move || space.root().unmap(addr, PAGE).unwrap())
        };
        let written = writer.join().unwrap();
        let snapshot = snapshotter.join().unwrap();
        unmapper.join().unwrap();
        check(&vmo);
        check_space(&space);
        let landed = written == (1, None);
        assert!(
            landed || written == (0, Some(vm_engine::AccessError::Unmapped)),
            "write returned {written:?}"
        );
        assert_eq!(byte_at(&vmo, 0), if landed { 2 } else { 1 });
        let seen = byte_at(&snapshot, 0);
        assert!(seen == 1 || (landed && seen == 2), "snapshot shows {seen}");
        assert_eq!(space.with_mmu(|mmu| mmu.translation(addr)), None);
        drop(snapshot);
        drop(space);
        drop(vmo);
        assert_no_frames(&frames);
    });
}

/// A parent mapped in one address space and its snapshot mapped in another: a write through
/// the parent's mapping (a fault that moves the shared frame to the parent and leaves a copy
/// for the snapshot) races a read through the snapshot's mapping (a fault that translates to the
/// shared frame). The write's invalidation crosses into the other space's MMU under the family
/// lock; whichever order, the snapshot's translation must point at the frame it shows now.
///
/// The translations are checked once both threads are done: `check_translations` reads the MMU
/// and then asks the family, so an operation through another address space can change the
/// family in between and make a translation it has just removed look stale (a limit of the
/// checker, seen by loom when a thread ran it during the race).
#[test]
fn write_fault_races_read_fault_in_another_space() {
    model("write fault vs read fault across spaces", 3, || {
        let frames = frames();
        let parent = Arc::new(vmo(&frames, 1, false));
        parent.write(0, &[1]).unwrap();
        let snapshot = Arc::new(child(&parent, ChildKind::Snapshot, 1));
        let (one, two) = (Arc::new(space()), Arc::new(space()));
        let (at_one, at_two) = (map(&one, &parent, 1), map(&two, &snapshot, 1));
        let writer = {
            let one = one.clone();
            thread::spawn(move || {
                assert_eq!(one.write(at_one, &[2]), (1, None));
            })
        };
        let reader = {
            let two = two.clone();
            thread::spawn(move || {
                let mut byte = [0u8];
                assert_eq!(two.read(at_two, &mut byte), (1, None));
                assert_eq!(byte[0], 1, "the snapshot saw its parent's later write");
            })
        };
        writer.join().unwrap();
        reader.join().unwrap();
        check(&parent);
        check_space(&one);
        check_space(&two);
        assert_eq!((byte_at(&parent, 0), byte_at(&snapshot, 0)), (2, 1));
        drop((one, two));
        drop((parent, snapshot));
        assert_no_frames(&frames);
    });
}

// ---------------------------------------------------------------------------------------------
// (c) Writes against shrinks and decommits in a one-way clone family.

/// A parent of three pages, each filled with its number plus one, and a one-way clone of it.
fn one_way_family(frames: &Arc<LoomFrames>) -> (Arc<LVmo>, Arc<LVmo>) {
    let parent = vmo(frames, 3, true);
    for page in 0..3 {
        parent
            .write(page * PAGE, &vec![page as u8 + 1; PAGE as usize])
            .unwrap();
    }
    let clone = parent
        .create_child(
            ChildKind::OneWay,
            0,
            3 * PAGE,
            VmoOptions { resizable: true },
        )
        .unwrap();
    (Arc::new(parent), Arc::new(clone))
}

/// The clone writes a byte of page 2 (copying the parent's page first) while the parent shrinks
/// to one page (cutting the clone off from its pages 1 and 2 for ever).
#[test]
fn clone_write_races_parent_shrink() {
    model("clone write vs parent shrink", 3, || {
        let frames = frames();
        let (parent, clone) = one_way_family(&frames);
        let (wrote, shrank) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let writer = {
            let (clone, wrote, shrank) = (clone.clone(), wrote.clone(), shrank.clone());
            thread::spawn(move || {
                let shrink_was_done = shrank.load(Ordering::SeqCst);
                clone.write(2 * PAGE + 5, &[9]).unwrap();
                wrote.store(true, Ordering::SeqCst);
                check(&clone);
                shrink_was_done
            })
        };
        let shrinker = {
            let (parent, wrote, shrank) = (parent.clone(), wrote.clone(), shrank.clone());
            thread::spawn(move || {
                let write_was_done = wrote.load(Ordering::SeqCst);
                parent.set_size(PAGE).unwrap();
                shrank.store(true, Ordering::SeqCst);
                check(&parent);
                write_was_done
            })
        };
        let shrink_first = writer.join().unwrap();
        let write_first = shrinker.join().unwrap();
        check(&parent);
        assert_eq!(parent.size(), PAGE);
        assert_eq!(page_bytes(&clone, 0), vec![1; PAGE as usize]);
        assert_eq!(
            page_bytes(&clone, 1),
            vec![0; PAGE as usize],
            "clipped page shows"
        );
        let page = page_bytes(&clone, 2);
        assert_eq!(page[5], 9, "the clone's write went missing");
        // The rest of the page is the parent's old content if the copy came first, zeros if
        // the clip did.
        let rest = page[0];
        assert!(page.iter().enumerate().all(|(i, &b)| i == 5 || b == rest));
        assert!(rest == 3 || rest == 0, "page 2 of the clone shows {rest}");
        if write_first {
            assert_eq!(rest, 3);
        }
        if shrink_first {
            assert_eq!(rest, 0);
        }
        assert_eq!(
            frames.frames_in_use(),
            2,
            "parent's page 0 and the clone's page 2"
        );
        drop(clone);
        drop(parent);
        assert_no_frames(&frames);
    });
}

/// The parent writes page 0 while the clone decommits its own copy of it: afterwards the clone
/// reads the parent's page again, which holds the new byte whichever went first.
#[test]
fn parent_write_races_clone_decommit() {
    model("parent write vs clone decommit", 3, || {
        let frames = frames();
        let (parent, clone) = one_way_family(&frames);
        clone.write(0, &[50]).unwrap();
        let writer = {
            let parent = parent.clone();
            thread::spawn(move || {
                parent.write(0, &[60]).unwrap();
                check(&parent);
            })
        };
        let decommitter = {
            let clone = clone.clone();
            thread::spawn(move || {
                clone.decommit(0, PAGE).unwrap();
                check(&clone);
                // Whatever the parent holds now shows through.
                let shown = byte_at(&clone, 0);
                assert!(shown == 1 || shown == 60, "clone shows {shown}");
            })
        };
        writer.join().unwrap();
        decommitter.join().unwrap();
        check(&parent);
        assert_eq!((byte_at(&parent, 0), byte_at(&clone, 0)), (60, 60));
        assert_eq!(byte_at(&clone, 1), 1);
        assert_eq!(frames.frames_in_use(), 3, "only the parent's pages");
        drop(parent);
        // The closed parent stays as long as the clone reads through it.
        assert_eq!(byte_at(&clone, 2 * PAGE), 3);
        check(&clone);
        drop(clone);
        assert_no_frames(&frames);
    });
}

/// The clone decommits page 1 (falling back to the parent) while the parent shrinks below it:
/// either way the clone ends up reading zeros there, with nothing left to pay for.
#[test]
fn clone_decommit_races_parent_shrink() {
    model("clone decommit vs parent shrink", 3, || {
        let frames = frames();
        let (parent, clone) = one_way_family(&frames);
        clone.write(PAGE, &[70]).unwrap();
        let decommitter = {
            let clone = clone.clone();
            thread::spawn(move || {
                clone.decommit(PAGE, PAGE).unwrap();
                check(&clone);
            })
        };
        let shrinker = {
            let parent = parent.clone();
            thread::spawn(move || {
                parent.set_size(PAGE).unwrap();
                check(&parent);
            })
        };
        decommitter.join().unwrap();
        shrinker.join().unwrap();
        check(&parent);
        assert_eq!(page_bytes(&clone, 1), vec![0; PAGE as usize]);
        assert_eq!(byte_at(&clone, 0), 1);
        assert_eq!(frames.frames_in_use(), 1, "only the parent's page 0");
        assert_eq!(parent.committed_bytes() + clone.committed_bytes(), PAGE);
        drop(clone);
        drop(parent);
        assert_no_frames(&frames);
    });
}

// ---------------------------------------------------------------------------------------------
// The harness detects what it is meant to detect.

/// Two threads take two loom raw mutexes in opposite orders: loom must find the interleaving
/// in which each holds one and waits for the other, and report it as a deadlock. (The engine's
/// scenarios above pass, so their lock orders admit no such cycle.)
#[test]
#[should_panic(expected = "deadlock")]
fn harness_detects_lock_order_inversion() {
    type Lock = lock_api::Mutex<LoomRawMutex, u32>;
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let locks = Arc::new((Lock::new(0), Lock::new(0)));
        let reversed = locks.clone();
        let t = thread::spawn(move || {
            let second = reversed.1.lock();
            let first = reversed.0.lock();
            drop((first, second));
        });
        let first = locks.0.lock();
        let second = locks.1.lock();
        drop((second, first));
        t.join().unwrap();
    });
}

/// The raw mutex excludes: a read-modify-write under it, with a preemption point in between,
/// never loses an update.
#[test]
fn harness_mutex_excludes() {
    model("mutex exclusion", 3, || {
        let counter = Arc::new(lock_api::Mutex::<LoomRawMutex, u32>::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let counter = counter.clone();
                thread::spawn(move || {
                    let mut guard = counter.lock();
                    let seen = *guard;
                    thread::yield_now();
                    *guard = seen + 1;
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(*counter.lock(), 2);
    });
}
