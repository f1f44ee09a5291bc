//! Pager-backed VMOs at engine level: pages not supplied yet refuse every operation that needs
//! them with `ShouldWait` and leave everything as it was; `missing_range` names the run to ask
//! the pager for; `supply` moves frames in from a plain VMO (frames in use stay the same, pages
//! already there are kept); one-way clones read the root's current content; snapshots and
//! decommits are refused. The family invariants are checked after every step, and every test
//! ends with no frame left in use.

use std::sync::Arc;

use vm_engine::{
    Access, AccessError, AddressSpace, Backing, ChildKind, FrameSource, InMemoryFrames,
    InMemoryPlatform, MapRequest, Perms, SoftwareMmu, VmError, Vmo, VmoOptions,
};

type TestVmo = Vmo<InMemoryPlatform>;
const P: u64 = 4096;

fn pager_vmo(frames: &Arc<InMemoryFrames>, pages: u64, resizable: bool) -> TestVmo {
    TestVmo::create_pager_backed(frames.clone(), pages * P, VmoOptions { resizable }).unwrap()
}

fn plain(frames: &Arc<InMemoryFrames>, pages: u64) -> TestVmo {
    TestVmo::create(frames.clone(), pages * P, VmoOptions::default()).unwrap()
}

/// A plain VMO of `pages` pages whose page `i` is filled with `fill + i` (nothing where the
/// byte would be 0).
fn filled(frames: &Arc<InMemoryFrames>, pages: u64, fill: u8) -> TestVmo {
    let aux = plain(frames, pages);
    for i in 0..pages {
        let byte = fill.wrapping_add(i as u8);
        if byte != 0 {
            aux.write(i * P, &[byte; P as usize]).unwrap();
        }
    }
    aux
}

fn child(of: &TestVmo, kind: ChildKind, offset_pages: u64, pages: u64) -> TestVmo {
    of.create_child(kind, offset_pages * P, pages * P, VmoOptions::default())
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

/// Every operation that needs an unsupplied page refuses with `ShouldWait` and changes nothing.
fn assert_waits_everywhere(vmo: &TestVmo, page: u64, frames: &InMemoryFrames) {
    let before = frames.frames_in_use();
    let committed = vmo.info().committed_bytes;
    let mut buf = [0u8; 8];
    assert_eq!(vmo.read(page * P + 3, &mut buf), Err(VmError::ShouldWait));
    assert_eq!(vmo.write(page * P + 3, &[9; 8]), Err(VmError::ShouldWait));
    assert_eq!(
        vmo.write(page * P, &[9; P as usize]),
        Err(VmError::ShouldWait)
    );
    assert_eq!(vmo.commit(page * P, P), Err(VmError::ShouldWait));
    assert_eq!(vmo.zero(page * P + 1, 10), Err(VmError::ShouldWait));
    let mut addresses = [0u64; 1];
    assert_eq!(
        vmo.lookup(page * P, P, &mut addresses),
        Err(VmError::ShouldWait)
    );
    assert_eq!(frames.frames_in_use(), before);
    assert_eq!(vmo.info().committed_bytes, committed);
    check(vmo);
}

#[test]
fn unsupplied_pages_refuse_with_should_wait_and_change_nothing() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 4, false);
    assert_eq!(vmo.backing(), Backing::Pager);
    assert_eq!(vmo.size(), 4 * P);
    for page in 0..4 {
        assert_waits_everywhere(&vmo, page, &frames);
    }
    // Operations that need no page content still work: sizes, empty ranges, range errors
    // (reported before any waiting).
    let mut nothing = [0u8; 0];
    assert_eq!(vmo.read(4 * P, &mut nothing), Ok(()));
    assert_eq!(vmo.commit(P, 0), Ok(()));
    assert_eq!(vmo.read(4 * P, &mut [0u8; 1]), Err(VmError::OutOfRange));
    assert_eq!(vmo.commit(3 * P, 2 * P), Err(VmError::OutOfRange));
    assert_eq!(vmo.lookup(0, 0, &mut []), Err(VmError::InvalidArgs));
    assert_eq!(vmo.lookup(0, P, &mut []), Err(VmError::BufferTooSmall));
    assert_eq!(frames.frames_in_use(), 0);
    drop(vmo);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn missing_range_names_the_first_run_and_skips_supplied_pages() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 8, false);
    assert_eq!(vmo.missing_range(0, 8 * P), Some((0, 8 * P)));
    // Unaligned ranges cover the pages they touch.
    assert_eq!(vmo.missing_range(P + 1, 2), Some((P, P)));
    assert_eq!(vmo.missing_range(P - 1, 2), Some((0, 2 * P)));
    let aux = filled(&frames, 2, 1);
    vmo.supply(2 * P, 2 * P, &aux, 0).unwrap();
    check(&vmo);
    assert_eq!(vmo.missing_range(0, 8 * P), Some((0, 2 * P)));
    assert_eq!(vmo.missing_range(2 * P, 6 * P), Some((4 * P, 4 * P)));
    assert_eq!(vmo.missing_range(2 * P, 2 * P), None);
    assert_eq!(vmo.missing_range(3 * P + 5, 100), None);
    // Empty and out-of-range queries: nothing to ask for; the range is cut at the end.
    assert_eq!(vmo.missing_range(P, 0), None);
    assert_eq!(vmo.missing_range(8 * P, P), None);
    assert_eq!(vmo.missing_range(u64::MAX, u64::MAX), None);
    assert_eq!(vmo.missing_range(7 * P, u64::MAX), Some((7 * P, P)));
    // A VMO that is not pager-backed never waits.
    let anonymous = plain(&frames, 2);
    assert_eq!(anonymous.missing_range(0, 2 * P), None);
    drop((vmo, aux, anonymous));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn supply_moves_frames_without_copying_and_holes_become_zeros() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 4, false);
    // Pages 0..3 of aux: 0x10, nothing, 0x12.
    let aux = plain(&frames, 3);
    aux.write(0, &[0x10; P as usize]).unwrap();
    aux.write(2 * P, &[0x12; P as usize]).unwrap();
    let mut addresses = [0u64; 3];
    assert_eq!(aux.lookup(0, P, &mut addresses[..1]), Ok(1));
    let moved = addresses[0];
    assert_eq!(frames.frames_in_use(), 2);
    vmo.supply(P, 3 * P, &aux, 0).unwrap();
    check(&vmo);
    check(&aux);
    // The frames moved: none was allocated or freed, and the page keeps its frame.
    assert_eq!(frames.frames_in_use(), 2);
    assert_eq!(vmo.lookup(P, P, &mut addresses[..1]), Ok(1));
    assert_eq!(addresses[0], moved);
    assert_eq!(
        (byte(&vmo, 1), byte(&vmo, 2), byte(&vmo, 3)),
        (0x10, 0, 0x12)
    );
    // The hole was supplied as zeros: readable, no frame, no request.
    assert_eq!(vmo.missing_range(P, 3 * P), None);
    assert_eq!(
        vmo.lookup(2 * P, P, &mut addresses),
        Err(VmError::NotCommitted)
    );
    // The VMO pays for what it holds; the source holds nothing any more.
    assert_eq!(committed_pages(&vmo), 2);
    assert_eq!(vmo.info().populated_bytes, 2 * P);
    assert_eq!(committed_pages(&aux), 0);
    assert_eq!((byte(&aux, 0), byte(&aux, 2)), (0, 0));
    // Page 0 still waits.
    assert_waits_everywhere(&vmo, 0, &frames);
    // Committing the zero page gives it a frame.
    vmo.commit(2 * P, P).unwrap();
    assert_eq!(committed_pages(&vmo), 3);
    check(&vmo);
    drop(vmo);
    assert_eq!(frames.frames_in_use(), 0);
    drop(aux);
}

#[test]
fn supply_keeps_pages_already_present_and_frees_the_newcomers() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 3, false);
    let first = filled(&frames, 1, 0xA0);
    vmo.supply(0, P, &first, 0).unwrap();
    // The pager's own page changes through the VMO before the redundant supply.
    vmo.write(10, &[0xEE]).unwrap();
    let second = filled(&frames, 3, 0xB0);
    assert_eq!(frames.frames_in_use(), 4);
    vmo.supply(0, 3 * P, &second, 0).unwrap();
    check(&vmo);
    // Page 0 is the one supplied (and written) first; the newcomer for it was freed.
    assert_eq!(byte(&vmo, 0), 0xA0);
    let mut b = [0u8];
    vmo.read(10, &mut b).unwrap();
    assert_eq!(b[0], 0xEE);
    assert_eq!((byte(&vmo, 1), byte(&vmo, 2)), (0xB1, 0xB2));
    assert_eq!(frames.frames_in_use(), 3);
    assert_eq!(committed_pages(&second), 0);
    // Supplying over a fully supplied range changes nothing but the source.
    let third = filled(&frames, 3, 0xC0);
    vmo.supply(0, 3 * P, &third, 0).unwrap();
    assert_eq!(
        (byte(&vmo, 0), byte(&vmo, 1), byte(&vmo, 2)),
        (0xA0, 0xB1, 0xB2)
    );
    assert_eq!(frames.frames_in_use(), 3);
    // Zero-length supplies are fine anywhere inside.
    vmo.supply(3 * P, 0, &third, 3 * P).unwrap();
    check(&vmo);
    drop((vmo, first, second, third));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn a_source_offset_picks_the_pages() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 4, false);
    let aux = filled(&frames, 6, 1);
    vmo.supply(P, 2 * P, &aux, 3 * P).unwrap();
    assert_eq!((byte(&vmo, 1), byte(&vmo, 2)), (4, 5));
    // Only the supplied part of the source was taken.
    assert_eq!(
        (byte(&aux, 2), byte(&aux, 3), byte(&aux, 4), byte(&aux, 5)),
        (3, 0, 0, 6)
    );
    assert_eq!(frames.frames_in_use(), 6);
    check(&vmo);
    check(&aux);
    drop((vmo, aux));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn one_way_children_see_supplied_and_parent_written_pages_until_they_copy() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 4, false);
    let clone = child(&vmo, ChildKind::SnapshotAtLeastOnWrite, 1, 4);
    assert_eq!(clone.info().kind, Some(ChildKind::OneWay));
    // The clone's pages 0..3 read the root's pages 1..4: not supplied yet.
    assert_waits_everywhere(&clone, 0, &frames);
    assert_eq!(clone.missing_range(0, 4 * P), Some((P, 3 * P)));
    // Past the parent's end the clone reads zeros, and never waits.
    assert_eq!(byte(&clone, 3), 0);
    assert_eq!(clone.missing_range(3 * P, P), None);
    let aux = filled(&frames, 4, 1);
    vmo.supply(0, 4 * P, &aux, 0).unwrap();
    check(&vmo);
    assert_eq!(
        (byte(&clone, 0), byte(&clone, 1), byte(&clone, 2)),
        (2, 3, 4)
    );
    // The parent's later writes show through pages the clone has not copied.
    vmo.write(P, &[0x51]).unwrap();
    assert_eq!(byte(&clone, 0), 0x51);
    // The clone's writes are its own.
    clone.write(P, &[0x61]).unwrap();
    assert_eq!((byte(&clone, 1), byte(&vmo, 2)), (0x61, 3));
    vmo.write(2 * P, &[0x52]).unwrap();
    assert_eq!(byte(&clone, 1), 0x61);
    check(&vmo);
    // A legacy clone is the same kind of child.
    let legacy = child(&vmo, ChildKind::OneWay, 0, 2);
    assert_eq!(byte(&legacy, 1), 0x51);
    // Commit in a clone copies the parent's current content.
    clone.commit(2 * P, P).unwrap();
    vmo.write(3 * P, &[0x53]).unwrap();
    assert_eq!(byte(&clone, 2), 4);
    check(&clone);
    // The parent pays for its pages; each clone for its copies.
    assert_eq!(committed_pages(&vmo), 4);
    assert_eq!(committed_pages(&clone), 2);
    drop(vmo);
    check(&clone);
    assert_eq!(byte(&clone, 0), 0x51);
    drop((clone, legacy, aux));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn a_clone_of_a_clone_and_a_slice_wait_for_the_root() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 6, false);
    let slice = child(&vmo, ChildKind::Slice, 2, 3);
    let clone = child(&slice, ChildKind::SnapshotAtLeastOnWrite, 1, 2);
    let grandchild = child(&clone, ChildKind::SnapshotAtLeastOnWrite, 1, 1);
    assert_eq!(slice.missing_range(0, 3 * P), Some((2 * P, 3 * P)));
    assert_eq!(clone.missing_range(0, 2 * P), Some((3 * P, 2 * P)));
    assert_eq!(grandchild.missing_range(0, P), Some((4 * P, P)));
    assert_waits_everywhere(&grandchild, 0, &frames);
    assert_waits_everywhere(&slice, 1, &frames);
    // The clone's own copy hides the root from its children.
    let aux = filled(&frames, 1, 7);
    vmo.supply(3 * P, P, &aux, 0).unwrap();
    clone.write(0, &[1]).unwrap();
    assert_eq!(clone.missing_range(0, 2 * P), Some((4 * P, P)));
    let aux = filled(&frames, 1, 9);
    vmo.supply(4 * P, P, &aux, 0).unwrap();
    assert_eq!(byte(&grandchild, 0), 9);
    assert_eq!(slice.missing_range(0, 3 * P), Some((2 * P, P)));
    check(&vmo);
    drop((vmo, slice, clone, grandchild, aux));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn snapshots_of_a_pager_family_are_not_supported() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 2, false);
    let clone = child(&vmo, ChildKind::SnapshotAtLeastOnWrite, 0, 2);
    let slice = child(&vmo, ChildKind::Slice, 0, 1);
    for parent in [&vmo, &clone, &slice] {
        assert_eq!(
            parent
                .create_child(ChildKind::Snapshot, 0, P, VmoOptions::default())
                .err(),
            Some(VmError::NotSupported)
        );
    }
    assert_eq!(vmo.info().num_children, 2);
    check(&vmo);
    drop((vmo, clone, slice));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn decommit_is_not_supported_and_zero_keeps_pages_supplied() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 3, false);
    let clone = child(&vmo, ChildKind::SnapshotAtLeastOnWrite, 0, 3);
    let aux = filled(&frames, 3, 1);
    vmo.supply(0, 3 * P, &aux, 0).unwrap();
    for target in [&vmo, &clone] {
        assert_eq!(target.decommit(0, P), Err(VmError::NotSupported));
    }
    assert_eq!(frames.frames_in_use(), 3);
    // Zero on the root: zeros in place, the pages stay supplied.
    vmo.zero(P - 2, P + 4).unwrap();
    assert_eq!(vmo.missing_range(0, 3 * P), None);
    let mut around = [0xFFu8; 8];
    vmo.read(P - 4, &mut around).unwrap();
    assert_eq!(around, [1, 1, 0, 0, 0, 0, 0, 0]);
    vmo.read(2 * P, &mut around[..3]).unwrap();
    assert_eq!(around[..3], [0, 0, 3]);
    assert_eq!(frames.frames_in_use(), 3);
    // The clone follows its parent's zeros; zeroing the clone leaves the parent alone.
    assert_eq!(byte(&clone, 1), 0);
    clone.zero(2 * P, P).unwrap();
    vmo.read(2 * P + 5, &mut around[..1]).unwrap();
    assert_eq!((byte(&clone, 2), around[0]), (0, 3));
    check(&vmo);
    drop((vmo, clone, aux));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn shrinking_and_growing_asks_the_pager_again() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = pager_vmo(&frames, 2, true);
    let clone = child(&vmo, ChildKind::SnapshotAtLeastOnWrite, 0, 2);
    let aux = filled(&frames, 2, 1);
    vmo.supply(0, 2 * P, &aux, 0).unwrap();
    vmo.set_size(P).unwrap();
    assert_eq!(frames.frames_in_use(), 1);
    vmo.set_size(3 * P).unwrap();
    assert_eq!(vmo.missing_range(0, 3 * P), Some((P, 2 * P)));
    assert_waits_everywhere(&vmo, 2, &frames);
    // The clone's view was clipped for ever: zeros, never a request.
    assert_eq!(clone.missing_range(0, 2 * P), None);
    assert_eq!((byte(&clone, 0), byte(&clone, 1)), (1, 0));
    // A supply past the new end is out of range and changes nothing.
    let more = filled(&frames, 3, 5);
    assert_eq!(vmo.supply(P, 3 * P, &more, 0), Err(VmError::OutOfRange));
    assert_eq!(frames.frames_in_use(), 4);
    vmo.supply(P, 2 * P, &more, 0).unwrap();
    assert_eq!((byte(&vmo, 1), byte(&vmo, 2)), (5, 6));
    check(&vmo);
    drop((vmo, clone, aux, more));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn hostile_supplies_are_refused_and_change_nothing() {
    let frames = Arc::new(InMemoryFrames::with_limit(64));
    let vmo = pager_vmo(&frames, 4, false);
    let aux = filled(&frames, 2, 1);
    let before = frames.frames_in_use();
    let unchanged = |vmo: &TestVmo, aux: &TestVmo| {
        assert_eq!(frames.frames_in_use(), before);
        assert_eq!(vmo.missing_range(0, 4 * P), Some((0, 4 * P)));
        assert_eq!((byte(aux, 0), byte(aux, 1)), (1, 2));
        check(vmo);
        check(aux);
    };
    // Misaligned offsets and lengths.
    for (offset, len, from) in [(1, P, 0), (0, P + 1, 0), (0, P, 1), (0, 1, 0)] {
        assert_eq!(
            vmo.supply(offset, len, &aux, from),
            Err(VmError::InvalidArgs)
        );
    }
    // Ranges past either end, or overflowing.
    assert_eq!(vmo.supply(0, 3 * P, &aux, 0), Err(VmError::OutOfRange));
    assert_eq!(vmo.supply(0, P, &aux, 2 * P), Err(VmError::OutOfRange));
    assert_eq!(vmo.supply(4 * P, P, &aux, 0), Err(VmError::OutOfRange));
    assert_eq!(
        vmo.supply(0, P, &aux, u64::MAX - P + 1),
        Err(VmError::OutOfRange)
    );
    assert_eq!(
        vmo.supply(u64::MAX - P + 1, P, &aux, 0),
        Err(VmError::OutOfRange)
    );
    assert_eq!(
        vmo.supply(0, u64::MAX - P + 1, &aux, 0),
        Err(VmError::OutOfRange)
    );
    unchanged(&vmo, &aux);
    // Sources that are not plain VMOs of their own.
    let with_child = filled(&frames, 1, 3);
    let its_child = child(&with_child, ChildKind::Snapshot, 0, 1);
    let with_slice = filled(&frames, 1, 3);
    let its_slice = child(&with_slice, ChildKind::Slice, 0, 1);
    let other_pager = pager_vmo(&frames, 1, false);
    let refused = [
        &with_child,
        &its_child,
        &with_slice,
        &its_slice,
        &other_pager,
        &vmo,
    ];
    for source in refused {
        assert_eq!(vmo.supply(0, P, source, 0), Err(VmError::BadState));
    }
    let pager_clone = child(&vmo, ChildKind::SnapshotAtLeastOnWrite, 0, 1);
    assert_eq!(vmo.supply(0, P, &pager_clone, 0), Err(VmError::BadState));
    assert_eq!(byte(&with_child, 0), 3);
    // Destinations that are not a pager-backed root.
    let anonymous = plain(&frames, 1);
    assert_eq!(anonymous.supply(0, P, &aux, 0), Err(VmError::NotSupported));
    assert_eq!(pager_clone.supply(0, P, &aux, 0), Err(VmError::InvalidArgs));
    let pager_slice = child(&vmo, ChildKind::Slice, 0, 1);
    assert_eq!(pager_slice.supply(0, P, &aux, 0), Err(VmError::InvalidArgs));
    // Frames from another frame source cannot move in.
    let elsewhere = Arc::new(InMemoryFrames::new());
    let foreign = filled(&elsewhere, 1, 8);
    assert_eq!(vmo.supply(0, P, &foreign, 0), Err(VmError::NotSupported));
    assert_eq!(byte(&foreign, 0), 8);
    drop((
        its_child,
        with_child,
        its_slice,
        with_slice,
        other_pager,
        anonymous,
    ));
    drop((pager_clone, pager_slice, foreign));
    unchanged(&vmo, &aux);
    // More pages to supply as zeros than frames could hold: refused before anything moves.
    let huge = pager_vmo(&frames, 1 << 20, false);
    let big_empty = plain(&frames, 1 << 20);
    assert_eq!(
        huge.supply(0, (1 << 20) * P, &big_empty, 0),
        Err(VmError::NoMemory)
    );
    assert_eq!(
        huge.missing_range(0, (1 << 20) * P),
        Some((0, (1 << 20) * P))
    );
    unchanged(&vmo, &aux);
    drop((vmo, aux, huge, big_empty));
    assert_eq!(frames.frames_in_use(), 0);
    assert_eq!(elsewhere.frames_in_use(), 0);
}

#[test]
fn supply_within_the_frame_limit_and_everything_is_freed_at_the_end() {
    // Zero pages cost no frame: a supply of mostly holes fits a small limit.
    let frames = Arc::new(InMemoryFrames::with_limit(8));
    let vmo = pager_vmo(&frames, 8, false);
    let aux = plain(&frames, 8);
    aux.write(5 * P, &[5]).unwrap();
    vmo.supply(0, 8 * P, &aux, 0).unwrap();
    assert_eq!(frames.frames_in_use(), 1);
    assert_eq!((byte(&vmo, 4), byte(&vmo, 5)), (0, 5));
    // Commit fills the zero pages up to the limit, and no further.
    assert_eq!(vmo.commit(0, 8 * P), Ok(()));
    assert_eq!(frames.frames_in_use(), 8);
    let clone = child(&vmo, ChildKind::SnapshotAtLeastOnWrite, 0, 8);
    assert_eq!(clone.write(0, &[1]), Err(VmError::NoMemory));
    check(&vmo);
    drop((vmo, aux));
    assert_eq!(byte(&clone, 5), 5);
    drop(clone);
    assert_eq!(frames.frames_in_use(), 0);
}

fn map(space: &AddressSpace<InMemoryPlatform>, vmo: &Arc<TestVmo>, len: u64, perms: Perms) -> u64 {
    space
        .root()
        .map(MapRequest {
            offset: None,
            overwrite: false,
            vmo: vmo.clone(),
            vmo_offset: 0,
            len,
            perms,
            max_perms: Perms::all(),
            align: P,
            populate: true,
            keep_alive: None,
        })
        .unwrap()
}

#[test]
fn faults_through_mappings_report_what_to_wait_for() {
    let frames = Arc::new(InMemoryFrames::new());
    let space =
        AddressSpace::<InMemoryPlatform>::new(0x1000_0000, 1 << 32, Box::new(SoftwareMmu::new()))
            .unwrap();
    let vmo = Arc::new(pager_vmo(&frames, 4, false));
    let clone = Arc::new(child(&vmo, ChildKind::SnapshotAtLeastOnWrite, 2, 2));
    let rw = Perms::READ | Perms::WRITE;
    let at = map(&space, &vmo, 4 * P, rw);
    let clone_at = map(&space, &clone, 2 * P, rw);
    for (access, page) in [(Access::Read, 1), (Access::Write, 3)] {
        assert_eq!(
            space.fault(at + page * P + 7, access),
            Err(AccessError::ShouldWait {
                vmo_offset: page * P
            })
        );
    }
    assert_eq!(
        space.fault(clone_at + P, Access::Read),
        Err(AccessError::ShouldWait { vmo_offset: P })
    );
    let mut buf = [0u8; 2];
    assert_eq!(
        space.read(at + P - 1, &mut buf),
        (0, Some(AccessError::ShouldWait { vmo_offset: 0 }))
    );
    assert_eq!(frames.frames_in_use(), 0);
    space.check_translations().unwrap();
    let aux = filled(&frames, 4, 1);
    vmo.supply(0, 4 * P, &aux, 0).unwrap();
    assert_eq!(space.read(at + P - 1, &mut buf), (2, None));
    assert_eq!(buf, [1, 2]);
    assert_eq!(space.write(clone_at + P, &[0x44]), (1, None));
    assert_eq!(space.fault(at + 3 * P, Access::Write), Ok(()));
    assert_eq!(space.write(at + 3 * P, &[0x33]), (1, None));
    space.check_translations().unwrap();
    assert_eq!((byte(&vmo, 3), byte(&clone, 1)), (0x33, 0x44));
    // A populated mapping of a partly supplied VMO maps what is there and waits for the rest.
    let partly = Arc::new(pager_vmo(&frames, 2, false));
    let one = filled(&frames, 1, 9);
    partly.supply(P, P, &one, 0).unwrap();
    let partly_at = map(&space, &partly, 2 * P, Perms::READ);
    space.check_translations().unwrap();
    assert_eq!(space.read(partly_at + P, &mut buf[..1]), (1, None));
    assert_eq!(
        space.fault(partly_at, Access::Read),
        Err(AccessError::ShouldWait { vmo_offset: 0 })
    );
    space.destroy();
    drop((vmo, clone, aux, partly, one));
    assert_eq!(frames.frames_in_use(), 0);
}

/// A pinned frame must stay where it is: a supply from a source range holding a pinned page is
/// BAD_STATE and moves nothing; once unpinned, the same supply works (found by the fuzzer).
#[test]
fn supply_from_a_pinned_source_is_refused() {
    let frames = Arc::new(InMemoryFrames::with_limit(64));
    let vmo = pager_vmo(&frames, 4, false);
    let aux = filled(&frames, 2, 1);
    aux.pin(P, P).unwrap();
    let before = frames.frames_in_use();
    assert_eq!(vmo.supply(0, 2 * P, &aux, 0), Err(VmError::BadState));
    assert_eq!(frames.frames_in_use(), before);
    assert_eq!(vmo.missing_range(0, 4 * P), Some((0, 4 * P)));
    assert_eq!((byte(&aux, 0), byte(&aux, 1)), (1, 2));
    assert_eq!(aux.pin_count(P), 1);
    // The unpinned page alone may go.
    vmo.supply(0, P, &aux, 0).unwrap();
    aux.unpin(P, P).unwrap();
    vmo.supply(P, P, &aux, P).unwrap();
    assert_eq!((byte(&vmo, 0), byte(&vmo, 1)), (1, 2));
    check(&vmo);
    check(&aux);
}
