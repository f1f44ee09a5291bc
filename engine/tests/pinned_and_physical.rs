//! Pinned pages, contiguous VMOs and physical VMOs at engine level (seed 002's rules about them):
//! pins stack and keep their frames in place, decommits, shrinks and snapshots that would free
//! or move pinned pages are refused, ZERO zeroes them in place; contiguous VMOs hold consecutive
//! aligned frames for their whole life; physical VMOs borrow frames they never release. The
//! family invariant checker (pin bookkeeping and borrowed frames included) runs after every step,
//! and every test ends with no frame in use.

use std::sync::Arc;

use vm_engine::{
    AddressSpace, ArenaFrames, ArenaPlatform, Backing, ChildKind, FrameSource, InMemoryFrames,
    InMemoryPlatform, MapRequest, Perms, SoftwareMmu, VmError, Vmo, VmoOptions, MAX_PIN_COUNT,
    MAX_VMO_SIZE,
};

type AnonVmo = Vmo<InMemoryPlatform>;
type ArenaVmo = Vmo<ArenaPlatform>;

const P: u64 = 4096;

fn anon(frames: &Arc<InMemoryFrames>, pages: u64, resizable: bool) -> AnonVmo {
    AnonVmo::create(frames.clone(), pages * P, VmoOptions { resizable }).unwrap()
}

fn arena(frames: usize) -> Arc<ArenaFrames> {
    Arc::new(ArenaFrames::new(frames).unwrap())
}

fn child<Q: vm_engine::Platform>(
    of: &Vmo<Q>,
    kind: ChildKind,
    pages: u64,
) -> Result<Vmo<Q>, VmError> {
    of.create_child(kind, 0, pages * P, VmoOptions::default())
}

fn check<Q: vm_engine::Platform>(vmo: &Vmo<Q>) {
    vmo.check_family_invariants().unwrap();
}

fn byte<Q: vm_engine::Platform>(vmo: &Vmo<Q>, offset: u64) -> u8 {
    let mut b = [0u8];
    vmo.read(offset, &mut b).unwrap();
    b[0]
}

fn lookup<Q: vm_engine::Platform>(vmo: &Vmo<Q>, offset: u64, pages: u64) -> Vec<u64> {
    let mut addresses = vec![0; pages as usize];
    vmo.lookup(offset, pages * P, &mut addresses).unwrap();
    addresses
}

#[test]
fn pins_commit_own_frames_and_stack() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = anon(&frames, 4, false);
    v.write(0, &[1]).unwrap();
    let pinned = v.pin(0, 2 * P).unwrap();
    check(&v);
    // Page 1 was not committed: pinning committed it, like a write fault.
    assert_eq!(frames.frames_in_use(), 2);
    assert_eq!(pinned, lookup(&v, 0, 2));
    assert_eq!(
        (v.pin_count(0), v.pin_count(P), v.pin_count(2 * P)),
        (1, 1, 0)
    );
    assert_eq!(v.pin(0, P).unwrap(), pinned[..1]);
    assert_eq!(v.pin_count(0), 2);
    assert_eq!(v.pinned_bytes(), 2 * P);
    check(&v);
    v.unpin(0, P).unwrap();
    assert_eq!(v.pin_count(0), 1);
    v.unpin(0, 2 * P).unwrap();
    assert_eq!((v.pin_count(0), v.pin_count(P)), (0, 0));
    check(&v);
    // Nothing left to unpin: refused whole, nothing changes.
    assert_eq!(v.unpin(0, P), Err(VmError::BadState));
    v.pin(P, P).unwrap();
    assert_eq!(v.unpin(0, 2 * P), Err(VmError::BadState));
    assert_eq!(v.pin_count(P), 1);
    v.unpin(P, P).unwrap();
    assert_eq!(v.pinned_bytes(), 0);
    check(&v);
    drop(v);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn a_page_takes_at_most_the_maximum_pins() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = anon(&frames, 2, false);
    for _ in 0..MAX_PIN_COUNT {
        v.pin(0, P).unwrap();
    }
    // Refused whole: page 1 is not pinned by the failed call.
    assert_eq!(v.pin(0, 2 * P), Err(VmError::Unavailable));
    assert_eq!((v.pin_count(0), v.pin_count(P)), (MAX_PIN_COUNT, 0));
    check(&v);
    for _ in 0..MAX_PIN_COUNT {
        v.unpin(0, P).unwrap();
    }
    v.pin(0, 2 * P).unwrap();
    v.unpin(0, 2 * P).unwrap();
    check(&v);
    drop(v);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn decommit_and_shrink_over_pinned_pages_are_bad_state() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = anon(&frames, 4, true);
    v.write(0, &[7; 4 * P as usize]).unwrap();
    v.pin(2 * P, P).unwrap();
    assert_eq!(v.decommit(0, 4 * P), Err(VmError::BadState));
    assert_eq!(v.decommit(2 * P, P), Err(VmError::BadState));
    assert_eq!(
        frames.frames_in_use(),
        4,
        "a refused decommit frees nothing"
    );
    check(&v);
    v.decommit(0, 2 * P).unwrap();
    v.decommit(3 * P, P).unwrap();
    assert_eq!((byte(&v, 0), byte(&v, 2 * P)), (0, 7));
    assert_eq!(frames.frames_in_use(), 1);
    check(&v);
    assert_eq!(v.set_size(2 * P), Err(VmError::BadState));
    assert_eq!(v.set_size(0), Err(VmError::BadState));
    assert_eq!(v.size(), 4 * P);
    // Dropping only unpinned pages is fine.
    v.set_size(3 * P).unwrap();
    check(&v);
    v.unpin(2 * P, P).unwrap();
    v.set_size(P).unwrap();
    check(&v);
    drop(v);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn snapshots_of_pinned_vmos_are_bad_state_other_children_are_not() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = anon(&frames, 4, false);
    v.write(0, &[1; 4 * P as usize]).unwrap();
    v.pin(3 * P, P).unwrap();
    // Any pinned page of the parent, inside the child's window or not.
    for kind in [ChildKind::Snapshot, ChildKind::SnapshotAtLeastOnWrite] {
        assert_eq!(
            v.create_child(kind, 0, P, VmoOptions::default()).err(),
            Some(VmError::BadState)
        );
    }
    assert_eq!(v.info().num_children, 0);
    check(&v);
    let one_way = child(&v, ChildKind::OneWay, 4).unwrap();
    let slice = child(&v, ChildKind::Slice, 4).unwrap();
    check(&v);
    // A snapshot through the slice would move the same pinned pages.
    assert_eq!(
        child(&slice, ChildKind::Snapshot, 4).err(),
        Some(VmError::BadState)
    );
    one_way.write(0, &[2]).unwrap();
    slice.write(P, &[3]).unwrap();
    assert_eq!((byte(&v, 0), byte(&v, P)), (1, 3));
    check(&v);
    v.unpin(3 * P, P).unwrap();
    let snap = child(&v, ChildKind::Snapshot, 4).unwrap();
    check(&v);
    drop((snap, slice, one_way, v));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn zero_over_pinned_pages_zeroes_them_in_place() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = anon(&frames, 3, false);
    v.write(0, &[9; 3 * P as usize]).unwrap();
    let address = v.pin(P, P).unwrap();
    v.zero(0, 3 * P).unwrap();
    check(&v);
    assert!((0..3).all(|page| byte(&v, page * P) == 0 && byte(&v, page * P + 100) == 0));
    // Pages 0 and 2 lost their frames; the pinned one kept its frame.
    assert_eq!(frames.frames_in_use(), 1);
    assert_eq!(lookup(&v, P, 1), address);
    // A partial zero of a pinned page also writes in place.
    v.write(P, &[5; 16]).unwrap();
    v.zero(P + 4, 8).unwrap();
    let mut head = [0u8; 16];
    v.read(P, &mut head).unwrap();
    assert_eq!(head[..4], [5; 4]);
    assert_eq!(head[4..12], [0; 8]);
    assert_eq!(head[12..], [5; 4]);
    assert_eq!(lookup(&v, P, 1), address);
    v.unpin(P, P).unwrap();
    // Unpinned, a whole-page zero releases the frame again.
    v.zero(0, 3 * P).unwrap();
    assert_eq!(frames.frames_in_use(), 0);
    check(&v);
}

#[test]
fn zero_of_a_pinned_page_in_a_clone_keeps_the_frame_and_hides_the_parent() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = anon(&frames, 2, false);
    v.write(0, &[4; 2 * P as usize]).unwrap();
    let c = child(&v, ChildKind::OneWay, 2).unwrap();
    let address = c.pin(0, P).unwrap();
    assert_ne!(
        address,
        lookup(&v, 0, 1),
        "the clone pins a copy of its own"
    );
    c.zero(0, 2 * P).unwrap();
    check(&v);
    assert_eq!((byte(&c, 0), byte(&c, P)), (0, 0));
    assert_eq!((byte(&v, 0), byte(&v, P)), (4, 4));
    assert_eq!(lookup(&c, 0, 1), address);
    c.unpin(0, P).unwrap();
    drop((c, v));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn pinned_frames_stay_put_across_sibling_writes_and_faults() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = Arc::new(anon(&frames, 2, false));
    v.write(0, b"original").unwrap();
    let snap = child(&v, ChildKind::Snapshot, 2).unwrap();
    // V shares page 0 with the snapshot: pinning gives V a frame of its own.
    let address = v.pin(0, P).unwrap()[0];
    check(&v);
    snap.write(0, b"snapshot").unwrap();
    v.write(4, b"PIN").unwrap();
    check(&v);
    assert_eq!(lookup(&v, 0, 1), [address]);
    let mut text = [0u8; 8];
    v.read(0, &mut text).unwrap();
    assert_eq!(&text, b"origPINl");
    snap.read(0, &mut text).unwrap();
    assert_eq!(&text, b"snapshot");
    // A one-way clone reading V's pinned page, then taking a write fault there through a
    // mapping: it must get a copy; V keeps the pinned frame.
    let clone = Arc::new(child(&v, ChildKind::OneWay, 2).unwrap());
    let space =
        AddressSpace::<InMemoryPlatform>::new(0x1000_0000, 1 << 30, Box::new(SoftwareMmu::new()))
            .unwrap();
    let at = space
        .root()
        .map(MapRequest {
            offset: None,
            overwrite: false,
            vmo: clone.clone(),
            vmo_offset: 0,
            len: 2 * P,
            perms: Perms::READ | Perms::WRITE,
            max_perms: Perms::all(),
            align: P,
            populate: false,
            keep_alive: None,
        })
        .unwrap();
    let mut first = [0u8];
    assert_eq!(space.read(at, &mut first), (1, None));
    assert_eq!(space.write(at, b"clone"), (5, None));
    check(&v);
    assert_eq!(lookup(&v, 0, 1), [address]);
    assert_ne!(lookup(&clone, 0, 1), [address]);
    v.read(0, &mut text).unwrap();
    assert_eq!(&text[..4], b"orig");
    // Closing the snapshot merges its hidden parent into V: the pinned frame stays.
    drop(snap);
    check(&v);
    assert_eq!(lookup(&v, 0, 1), [address]);
    v.unpin(0, P).unwrap();
    drop(space);
    drop(clone);
    drop(v);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn pins_through_a_slice_land_on_the_parent_and_live_while_someone_sees_them() {
    let frames = Arc::new(InMemoryFrames::new());
    let v = anon(&frames, 4, false);
    let slice = v
        .create_child(ChildKind::Slice, 2 * P, 2 * P, VmoOptions::default())
        .unwrap();
    let addresses = slice.pin(0, 2 * P).unwrap();
    assert_eq!(addresses, lookup(&v, 2 * P, 2));
    assert_eq!((v.pin_count(2 * P), v.pin_count(3 * P)), (1, 1));
    assert_eq!(v.decommit(2 * P, P), Err(VmError::BadState));
    check(&v);
    // V closes; the slice still sees the pinned pages, so they stay pinned.
    drop(v);
    check(&slice);
    assert_eq!(slice.pin_count(0), 1);
    assert_eq!(frames.frames_in_use(), 2);
    // Nobody sees them any more: freed, pins and all (an embedder that needs them keeps a VMO).
    drop(slice);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn pin_hostile_arguments_change_nothing() {
    let frames = Arc::new(InMemoryFrames::with_limit(3));
    let v = anon(&frames, 4, false);
    for (offset, len) in [(1, P), (0, P + 1), (0, 0), (P, 0)] {
        assert_eq!(
            v.pin(offset, len),
            Err(VmError::InvalidArgs),
            "{offset} {len}"
        );
        assert_eq!(
            v.unpin(offset, len),
            Err(VmError::InvalidArgs),
            "{offset} {len}"
        );
    }
    for (offset, len) in [(0, 5 * P), (4 * P, P), (!(P - 1), P), (P, !(P - 1))] {
        assert_eq!(
            v.pin(offset, len),
            Err(VmError::OutOfRange),
            "{offset} {len}"
        );
        assert_eq!(
            v.unpin(offset, len),
            Err(VmError::OutOfRange),
            "{offset} {len}"
        );
    }
    // Four pages need four frames; three are all there is: nothing committed, nothing pinned.
    assert_eq!(v.pin(0, 4 * P), Err(VmError::NoMemory));
    assert_eq!((frames.frames_in_use(), v.pinned_bytes()), (0, 0));
    check(&v);
    v.pin(0, 3 * P).unwrap();
    assert_eq!(v.pin(3 * P, P), Err(VmError::NoMemory));
    assert_eq!(v.pinned_bytes(), 3 * P);
    v.unpin(0, 3 * P).unwrap();
    check(&v);
    drop(v);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn contiguous_vmos_hold_consecutive_aligned_frames_for_life() {
    let frames = arena(64);
    let c = ArenaVmo::create_contiguous(frames.clone(), 8 * P - 100, 15).unwrap();
    check(&c);
    assert_eq!(c.backing(), Backing::Contiguous);
    assert_eq!(c.size(), 8 * P);
    assert_eq!(frames.frames_in_use(), 8);
    assert_eq!(c.info().committed_bytes, 8 * P);
    assert!(!c.is_resizable());
    let addresses = lookup(&c, 0, 8);
    assert_eq!(addresses[0] % (1 << 15), 0);
    assert!(addresses.windows(2).all(|w| w[1] == w[0] + P));
    // Fixed for life: no decommit, no resize, no copy-on-write children of any kind.
    assert_eq!(c.decommit(0, P), Err(VmError::NotSupported));
    assert_eq!(c.set_size(16 * P), Err(VmError::NotResizable));
    for kind in [
        ChildKind::Snapshot,
        ChildKind::SnapshotAtLeastOnWrite,
        ChildKind::OneWay,
    ] {
        assert_eq!(child(&c, kind, 8).err(), Some(VmError::NotSupported));
    }
    // Slices, and slices of slices, share the frames; their snapshots are refused too.
    let slice = c
        .create_child(ChildKind::Slice, 2 * P, 4 * P, VmoOptions::default())
        .unwrap();
    let inner = slice
        .create_child(ChildKind::Slice, P, P, VmoOptions::default())
        .unwrap();
    assert_eq!(slice.backing(), Backing::Contiguous);
    assert_eq!(
        child(&slice, ChildKind::Snapshot, 1).err(),
        Some(VmError::NotSupported)
    );
    assert_eq!(
        child(&inner, ChildKind::SnapshotAtLeastOnWrite, 1).err(),
        Some(VmError::NotSupported)
    );
    inner.write(10, b"via inner").unwrap();
    let mut text = [0u8; 9];
    c.read(3 * P + 10, &mut text).unwrap();
    assert_eq!(&text, b"via inner");
    assert_eq!(lookup(&inner, 0, 1), [addresses[3]]);
    check(&c);
    // ZERO writes in place; COMMIT has nothing to do.
    c.write(0, &[3; 8 * P as usize]).unwrap();
    c.zero(P / 2, 6 * P).unwrap();
    c.commit(0, 8 * P).unwrap();
    assert_eq!(
        (byte(&c, 0), byte(&c, P / 2), byte(&c, 6 * P + P / 2)),
        (3, 0, 3)
    );
    assert_eq!(lookup(&c, 0, 8), addresses);
    assert_eq!(frames.frames_in_use(), 8);
    // Pins work as on any VMO; ZERO over them too.
    assert_eq!(inner.pin(0, P).unwrap(), [addresses[3]]);
    c.zero(0, 8 * P).unwrap();
    inner.unpin(0, P).unwrap();
    check(&c);
    drop(c);
    check(&slice);
    assert_eq!(frames.frames_in_use(), 8, "slices keep the frames");
    drop((inner, slice));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn contiguous_hostile_arguments_and_exhaustion() {
    let frames = arena(16);
    let create = |size, align| ArenaVmo::create_contiguous(frames.clone(), size, align).err();
    assert_eq!(create(0, 12), Some(VmError::InvalidArgs));
    assert_eq!(create(P, 11), Some(VmError::InvalidArgs));
    assert_eq!(create(P, 64), Some(VmError::InvalidArgs));
    assert_eq!(create(P, u32::MAX), Some(VmError::InvalidArgs));
    assert_eq!(create(u64::MAX, 12), Some(VmError::OutOfRange));
    assert_eq!(create(MAX_VMO_SIZE + 1, 12), Some(VmError::OutOfRange));
    assert_eq!(create(17 * P, 12), Some(VmError::NoMemory));
    // An alignment no frame of the arena has (2^40 bytes; the arena starts at 1 MiB).
    assert_eq!(create(P, 40), Some(VmError::NoMemory));
    assert_eq!(frames.frames_in_use(), 0);
    // Fragmented memory: every other frame taken, so no run of two exists.
    let singles: Vec<_> = (0..16).map(|_| frames.allocate_zeroed().unwrap()).collect();
    let mut kept = Vec::new();
    for (i, frame) in singles.into_iter().enumerate() {
        if i % 2 == 0 {
            kept.push(frame);
        } else {
            frames.release(frame);
        }
    }
    assert_eq!(create(2 * P, 12), Some(VmError::NoMemory));
    let one = ArenaVmo::create_contiguous(frames.clone(), P, 12).unwrap();
    check(&one);
    assert_eq!(frames.frames_in_use(), 9);
    drop(one);
    for frame in kept {
        frames.release(frame);
    }
    // Heap frames have no physical order: the in-memory source cannot.
    let heap = Arc::new(InMemoryFrames::new());
    assert_eq!(
        AnonVmo::create_contiguous(heap.clone(), P, 12).err(),
        Some(VmError::NotSupported)
    );
    assert_eq!(
        AnonVmo::create_physical(heap.clone(), 0, P).err(),
        Some(VmError::NotSupported)
    );
    assert_eq!((frames.frames_in_use(), heap.frames_in_use()), (0, 0));
}

#[test]
fn physical_vmos_borrow_frames_and_never_release_them() {
    let frames = arena(32);
    let owner = ArenaVmo::create_contiguous(frames.clone(), 4 * P, 12).unwrap();
    let addresses = owner.pin(0, 4 * P).unwrap();
    let physical = ArenaVmo::create_physical(frames.clone(), addresses[0], 4 * P).unwrap();
    check(&physical);
    assert_eq!(physical.backing(), Backing::Physical);
    assert_eq!(lookup(&physical, 0, 4), addresses);
    // It owns nothing: nothing committed, nothing more in use.
    assert_eq!(frames.frames_in_use(), 4);
    assert_eq!(physical.info().committed_bytes, 0);
    assert_eq!(physical.info().populated_bytes, 0);
    assert_eq!(physical.committed_bytes(), 0);
    assert_eq!(frames.borrowed_tokens(addresses[2]), 1);
    // One memory, two views.
    physical.write(P + 1, b"to the owner").unwrap();
    let mut text = [0u8; 12];
    owner.read(P + 1, &mut text).unwrap();
    assert_eq!(&text, b"to the owner");
    owner.write(3 * P, b"and back").unwrap();
    physical.read(3 * P, &mut text[..8]).unwrap();
    assert_eq!(&text[..8], b"and back");
    // Nothing that would free or move its frames; ZERO writes in place.
    assert_eq!(physical.decommit(0, P), Err(VmError::NotSupported));
    assert_eq!(physical.set_size(P), Err(VmError::NotResizable));
    for kind in [
        ChildKind::Snapshot,
        ChildKind::SnapshotAtLeastOnWrite,
        ChildKind::OneWay,
    ] {
        assert_eq!(child(&physical, kind, 1).err(), Some(VmError::NotSupported));
    }
    physical.zero(P, P).unwrap();
    owner.read(P + 1, &mut text).unwrap();
    assert_eq!(text, [0; 12]);
    assert_eq!(lookup(&physical, 0, 4), addresses);
    // A slice of it reaches the same memory; pins of it are not counted (always pinned).
    let slice = physical
        .create_child(ChildKind::Slice, 2 * P, P, VmoOptions::default())
        .unwrap();
    assert_eq!(slice.pin(0, P).unwrap(), [addresses[2]]);
    assert_eq!(slice.pin_count(0), 0);
    slice.unpin(0, P).unwrap();
    slice.write(0, b"!").unwrap();
    assert_eq!(byte(&owner, 2 * P), b'!');
    check(&physical);
    drop((slice, physical));
    assert_eq!(frames.borrowed_tokens(addresses[2]), 0);
    assert_eq!(frames.frames_in_use(), 4, "the owner's frames stay");
    assert_eq!(byte(&owner, 3 * P), b'a');
    owner.unpin(0, 4 * P).unwrap();
    check(&owner);
    drop(owner);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn physical_vmos_over_free_memory_leave_it_free_and_it_comes_back_zeroed() {
    let frames = arena(8);
    let memory = frames.borrowable_range();
    let physical = ArenaVmo::create_physical(frames.clone(), memory.start, 8 * P).unwrap();
    physical.write(0, &[0xEE; 8 * P as usize]).unwrap();
    assert_eq!(frames.frames_in_use(), 0);
    check(&physical);
    // The memory is still free: a VMO can take all of it, and sees zeros.
    let anon = ArenaVmo::create(frames.clone(), 8 * P, VmoOptions::default()).unwrap();
    anon.commit(0, 8 * P).unwrap();
    assert_eq!(frames.frames_in_use(), 8);
    assert!((0..8).all(|page| byte(&anon, page * P) == 0));
    drop(anon);
    drop(physical);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn physical_hostile_arguments() {
    let frames = arena(8);
    let memory = frames.borrowable_range();
    let create = |paddr, size| ArenaVmo::create_physical(frames.clone(), paddr, size).err();
    assert_eq!(create(memory.start + 1, P), Some(VmError::InvalidArgs));
    assert_eq!(create(memory.start, 0), Some(VmError::InvalidArgs));
    assert_eq!(create(!(P - 1), 2 * P), Some(VmError::InvalidArgs));
    assert_eq!(create(memory.start, u64::MAX), Some(VmError::OutOfRange));
    assert_eq!(
        create(memory.start, MAX_VMO_SIZE + P),
        Some(VmError::OutOfRange)
    );
    assert_eq!(create(memory.end, P), Some(VmError::OutOfRange));
    assert_eq!(create(memory.end - P, 2 * P), Some(VmError::OutOfRange));
    assert_eq!(create(memory.start - P, 2 * P), Some(VmError::OutOfRange));
    assert_eq!(create(0, P), Some(VmError::OutOfRange));
    // The last page exactly, with an unrounded size.
    let last = ArenaVmo::create_physical(frames.clone(), memory.end - P, 10).unwrap();
    assert_eq!(last.size(), P);
    check(&last);
    drop(last);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn pager_backed_pages_pin_once_supplied() {
    let frames = Arc::new(InMemoryFrames::new());
    let paged = AnonVmo::create_pager_backed(frames.clone(), 4 * P, VmoOptions::default()).unwrap();
    // Nothing supplied yet: the caller must have the pager supply the pages first.
    assert_eq!(paged.pin(0, 2 * P), Err(VmError::ShouldWait));
    assert_eq!(paged.pinned_bytes(), 0);
    let source = anon(&frames, 2, false);
    source.write(0, &[0x99; 2 * P as usize]).unwrap();
    paged.supply(0, 2 * P, &source, 0).unwrap();
    let addresses = paged.pin(0, 2 * P).unwrap();
    assert_eq!(addresses, lookup(&paged, 0, 2));
    assert_eq!(
        paged.pin(P, 2 * P),
        Err(VmError::ShouldWait),
        "page 2 is not supplied"
    );
    assert_eq!(paged.pin_count(P), 1);
    check(&paged);
    // Its at-least-on-write children are one-way clones: allowed, and the pinned frames stay.
    let clone = child(&paged, ChildKind::SnapshotAtLeastOnWrite, 2).unwrap();
    clone.write(0, &[1]).unwrap();
    assert_eq!(lookup(&paged, 0, 2), addresses);
    assert_eq!(byte(&paged, 0), 0x99);
    assert_eq!(
        child(&paged, ChildKind::Snapshot, 1).err(),
        Some(VmError::NotSupported)
    );
    check(&paged);
    paged.unpin(0, 2 * P).unwrap();
    drop((clone, paged, source));
    assert_eq!(frames.frames_in_use(), 0);
}
