//! Clone semantics from the spec, case by case: snapshots behave as eager copies, one-way clones
//! follow their parent until they write, slices write through, and frames in use always equal
//! the distinct contents live VMOs can see. The invariant checker runs after every step.

use std::sync::Arc;

use vm_engine::{ChildKind, FrameSource, InMemoryFrames, InMemoryPlatform, Vmo, VmoOptions};

type TestVmo = Vmo<InMemoryPlatform>;
const P: u64 = 4096;

fn vmo(frames: &Arc<InMemoryFrames>, pages: u64) -> TestVmo {
    TestVmo::create(frames.clone(), pages * P, VmoOptions { resizable: true }).unwrap()
}

fn snapshot(of: &TestVmo, offset_pages: u64, pages: u64) -> TestVmo {
    of.create_child(
        ChildKind::Snapshot,
        offset_pages * P,
        pages * P,
        VmoOptions::default(),
    )
    .unwrap()
}

fn byte(vmo: &TestVmo, page: u64) -> u8 {
    let mut b = [0u8];
    vmo.read(page * P, &mut b).unwrap();
    b[0]
}

fn check(vmo: &TestVmo) {
    vmo.check_family_invariants().unwrap();
}

fn committed_pages(vmo: &TestVmo) -> u64 {
    vmo.info().committed_bytes / P
}

#[test]
fn snapshot_is_an_eager_copy_both_ways() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = vmo(&frames, 2);
    v.write(0, &[1]).unwrap();
    v.write(P, &[2]).unwrap();
    let c = snapshot(&v, 0, 2);
    check(&v);
    v.write(0, &[10]).unwrap();
    c.write(P, &[20]).unwrap();
    check(&v);
    assert_eq!((byte(&v, 0), byte(&v, 1)), (10, 2));
    assert_eq!((byte(&c, 0), byte(&c, 1)), (1, 20));
    assert_eq!(frames.frames_in_use(), 4);
}

#[test]
fn accounting_follows_the_spec_example() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = vmo(&frames, 2);
    v.commit(0, 2 * P).unwrap();
    let c = snapshot(&v, 0, 2);
    assert_eq!((committed_pages(&v), committed_pages(&c)), (2, 0));
    v.write(0, &[1]).unwrap();
    assert_eq!((committed_pages(&v), committed_pages(&c)), (2, 1));
    c.write(P, &[1]).unwrap();
    assert_eq!((committed_pages(&v), committed_pages(&c)), (2, 2));
    assert_eq!(frames.frames_in_use(), 4);
    check(&v);
    drop(v);
    check(&c);
    assert_eq!(committed_pages(&c), 2);
    assert_eq!(frames.frames_in_use(), 2);
    drop(c);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn the_last_reader_takes_the_frame_instead_of_copying() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = vmo(&frames, 1);
    v.write(0, &[7]).unwrap();
    let c = snapshot(&v, 0, 1);
    v.write(0, &[8]).unwrap(); // shared: copy
    assert_eq!(frames.frames_in_use(), 2);
    c.write(0, &[9]).unwrap(); // only c reads the original now: moved, not copied
    assert_eq!(frames.frames_in_use(), 2);
    check(&c);
    assert_eq!((byte(&v, 0), byte(&c, 0)), (8, 9));
}

#[test]
fn progressive_chain_of_five_snapshots_uses_eleven_frames() {
    // A 6-page VMO; each of 5 nested snapshots writes one page (a different one each time).
    let frames = Arc::new(InMemoryFrames::new());
    let root = vmo(&frames, 6);
    for page in 0..6 {
        root.write(page * P, &[100 + page as u8]).unwrap();
    }
    let mut chain = vec![root];
    for level in 0..5u64 {
        let next = snapshot(chain.last().unwrap(), 0, 6);
        next.write(level * P, &[level as u8]).unwrap();
        check(&next);
        chain.push(next);
    }
    assert_eq!(frames.frames_in_use(), 11);
    let total: u64 = chain.iter().map(committed_pages).sum();
    assert_eq!(total, 11);
}

#[test]
fn one_way_clone_follows_its_parent_until_it_writes() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = vmo(&frames, 2);
    v.write(0, &[1]).unwrap();
    let c = v
        .create_child(ChildKind::OneWay, 0, 3 * P, VmoOptions::default())
        .unwrap();
    v.write(0, &[2]).unwrap();
    v.write(P, &[3]).unwrap();
    assert_eq!((byte(&c, 0), byte(&c, 1), byte(&c, 2)), (2, 3, 0));
    c.write(0, &[9]).unwrap();
    v.write(0, &[4]).unwrap();
    assert_eq!(byte(&c, 0), 9);
    c.decommit(0, P).unwrap();
    assert_eq!(byte(&c, 0), 4, "decommit shows the parent again");
    c.commit(P, P).unwrap();
    v.write(P, &[5]).unwrap();
    assert_eq!(byte(&c, 1), 3, "commit copied the parent's page");
    v.set_size(P).unwrap();
    v.set_size(2 * P).unwrap();
    assert_eq!(byte(&c, 1), 3);
    c.decommit(P, P).unwrap();
    assert_eq!(
        byte(&c, 1),
        0,
        "the parent's shrink clipped the view for ever"
    );
    check(&c);
}

#[test]
fn slices_write_through_and_snapshots_of_slices_are_frozen() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = TestVmo::create(frames.clone(), 4 * P, VmoOptions::default()).unwrap();
    let s = v
        .create_child(ChildKind::Slice, P, 2 * P, VmoOptions::default())
        .unwrap();
    s.write(0, &[6]).unwrap();
    assert_eq!(byte(&v, 1), 6);
    let snap = snapshot(&s, 0, 3);
    v.write(P, &[7]).unwrap();
    v.write(3 * P, &[8]).unwrap();
    assert_eq!(byte(&snap, 0), 6);
    assert_eq!(
        byte(&snap, 2),
        0,
        "past the slice's end a snapshot reads zeros"
    );
    assert_eq!(s.info().committed_bytes, 0);
    check(&v);
}

#[test]
fn zero_in_a_child_never_shows_the_parent() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = vmo(&frames, 1);
    v.write(0, &[1; 4096]).unwrap();
    let c = v
        .create_child(ChildKind::OneWay, 0, P, VmoOptions::default())
        .unwrap();
    c.zero(0, P).unwrap();
    v.write(0, &[2; 4096]).unwrap();
    assert_eq!(byte(&c, 0), 0);
    drop(c);
    let snap = snapshot(&v, 0, 1);
    snap.zero(10, 10).unwrap();
    let mut page = [0u8; 4096];
    snap.read(0, &mut page).unwrap();
    assert!(page[..10].iter().all(|&b| b == 2) && page[10..20].iter().all(|&b| b == 0));
    check(&v);
}

#[test]
fn zero_of_a_one_way_clone_longer_than_its_parent_frees_its_own_pages_past_the_parent() {
    // The parent shows through only its first two pages: beyond them the clone's own pages
    // must still lose their frames, and the parent's later writes must stay hidden below.
    let frames = Arc::new(InMemoryFrames::new());
    let v = vmo(&frames, 2);
    v.write(0, &[1; 2 * 4096]).unwrap();
    let c = v
        .create_child(ChildKind::OneWay, 0, 1 << 32, VmoOptions::default())
        .unwrap();
    for page in [1, 5, 1000, 900_000] {
        c.write(page * P, &[7; 4096]).unwrap();
    }
    assert_eq!(frames.frames_in_use(), 2 + 4);
    c.zero(0, 1 << 32).unwrap();
    check(&c);
    assert_eq!(frames.frames_in_use(), 2, "the clone's own frames are gone");
    v.write(0, &[2; 2 * 4096]).unwrap();
    for page in [0, 1, 2, 5, 1000, 900_000] {
        assert_eq!(byte(&c, page), 0, "page {page}");
    }
    assert_eq!(byte(&v, 1), 2);
    check(&v);
}

#[test]
fn every_close_order_of_a_four_vmo_tree_frees_everything() {
    let orders = permutations(4);
    assert_eq!(orders.len(), 24);
    for order in orders {
        let frames = Arc::new(InMemoryFrames::new());
        let parent = vmo(&frames, 3);
        parent.write(0, &[1; 3 * 4096]).unwrap();
        let a = snapshot(&parent, 0, 3);
        let b = snapshot(&parent, 1, 2);
        let aa = snapshot(&a, 0, 3);
        parent.write(0, &[2]).unwrap();
        a.write(P, &[3]).unwrap();
        b.write(P, &[4]).unwrap();
        aa.write(2 * P, &[5]).unwrap();
        let mut live: Vec<Option<TestVmo>> = vec![Some(parent), Some(a), Some(b), Some(aa)];
        // What each VMO reads at pages 0, 1, 2 (b starts one page in and is two pages long).
        let expected: [&[u8]; 4] = [&[2, 1, 1], &[1, 3, 1], &[1, 4], &[1, 1, 5]];
        for &index in &order {
            live[index] = None;
            for (i, vmo) in live.iter().enumerate() {
                if let Some(vmo) = vmo {
                    check(vmo);
                    let seen: Vec<u8> = (0..vmo.size() / P).map(|p| byte(vmo, p)).collect();
                    assert_eq!(seen, expected[i], "order {order:?}, vmo {i}");
                }
            }
        }
        assert_eq!(frames.frames_in_use(), 0, "order {order:?}");
    }
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut all = Vec::new();
    for rest in permutations(n - 1) {
        for at in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(at, n - 1);
            all.push(p);
        }
    }
    all
}

#[test]
fn a_chain_of_1000_snapshots_closes_in_random_order_without_recursion() {
    let frames = Arc::new(InMemoryFrames::new());
    let root = vmo(&frames, 4);
    root.write(0, &[1; 4 * 4096]).unwrap();
    let mut chain = vec![root];
    for level in 0..1000u64 {
        let next = snapshot(chain.last().unwrap(), 0, 4);
        if level % 7 == 0 {
            next.write((level % 4) * P, &[level as u8]).unwrap();
        }
        chain.push(next);
    }
    let deepest = chain.last().unwrap();
    // Page 0 was last written by level 980, the last multiple of both 7 and 4.
    assert_eq!(byte(deepest, 0), 980u64 as u8);
    check(deepest);
    // A fixed pseudo-random close order (xorshift), checking reads stay right as levels vanish.
    let mut live: Vec<Option<TestVmo>> = chain.into_iter().map(Some).collect();
    let mut order: Vec<usize> = (0..live.len()).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..order.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    let mut expected: Vec<[u8; 4]> = Vec::new();
    let mut current = [1u8; 4];
    for level in 0..=1000u64 {
        if level > 0 && (level - 1) % 7 == 0 {
            current[((level - 1) % 4) as usize] = (level - 1) as u8;
        }
        expected.push(current);
    }
    for (step, &index) in order.iter().enumerate() {
        live[index] = None;
        if step % 100 == 0 {
            for (level, vmo) in live.iter().enumerate() {
                if let Some(vmo) = vmo {
                    let seen = [0, 1, 2, 3].map(|p| byte(vmo, p));
                    assert_eq!(seen, expected[level], "level {level} after {step} closes");
                }
            }
            if let Some(vmo) = live.iter().flatten().next() {
                check(vmo);
            }
        }
    }
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn create_child_refuses_hostile_arguments_in_the_documented_order() {
    use vm_engine::VmError::*;
    let frames = Arc::new(InMemoryFrames::new());
    let fixed = TestVmo::create(frames.clone(), 4 * P, VmoOptions::default()).unwrap();
    let resizable = vmo(&frames, 4);
    let opts = VmoOptions::default();
    let grow = VmoOptions { resizable: true };
    let child = |parent: &TestVmo, kind, offset, size, options| {
        parent.create_child(kind, offset, size, options).map(|_| ())
    };
    for kind in [
        ChildKind::Snapshot,
        ChildKind::SnapshotAtLeastOnWrite,
        ChildKind::Slice,
        ChildKind::OneWay,
    ] {
        // Size first: its rounding overflows, or it exceeds the maximum.
        assert_eq!(child(&fixed, kind, 1, u64::MAX, opts), Err(OutOfRange));
        assert_eq!(child(&fixed, kind, 1, (1 << 48) + 1, opts), Err(OutOfRange));
        // Then the offset's alignment, then offset + size overflowing.
        assert_eq!(child(&fixed, kind, 1, P, opts), Err(InvalidArgs));
        assert_eq!(
            child(&fixed, kind, u64::MAX - P + 1, 2 * P, opts),
            Err(OutOfRange)
        );
    }
    // Kind rules: slices lie inside a non-resizable parent and are never resizable.
    assert_eq!(
        child(&fixed, ChildKind::Slice, 0, P, grow),
        Err(InvalidArgs)
    );
    assert_eq!(
        child(&fixed, ChildKind::Slice, 3 * P, 2 * P, opts),
        Err(OutOfRange)
    );
    assert_eq!(
        child(&resizable, ChildKind::Slice, 0, P, opts),
        Err(NotSupported)
    );
    // A snapshot of a one-way clone freezes content that follows its parent: eager copies.
    fixed.write(0, &[7]).unwrap();
    let legacy = fixed.create_child(ChildKind::OneWay, 0, P, opts).unwrap();
    let frozen = legacy
        .create_child(ChildKind::Snapshot, 0, P, opts)
        .unwrap();
    fixed.write(0, &[8]).unwrap();
    assert_eq!((byte(&legacy, 0), byte(&frozen, 0)), (8, 7));
    drop(frozen);
    // Windows far past the parent's end are fine and read zeros; nothing was leaked by refusals.
    let far = fixed
        .create_child(ChildKind::Snapshot, u64::MAX - 2 * P + 1, P, opts)
        .unwrap();
    assert_eq!(byte(&far, 0), 0);
    assert_eq!(fixed.info().num_children, 2);
    check(&fixed);
    drop((far, legacy));
    assert_eq!(fixed.info().num_children, 0);
    assert_eq!(frames.frames_in_use(), 1); // the page `fixed` wrote
}
