//! Engine bugs the property tests found, each kept as the shortest sequence that showed it, so
//! that none can come back unnoticed. Each test names what went wrong in its assertion.

use std::sync::Arc;

use vm_engine::{ChildKind, FrameSource, InMemoryFrames, InMemoryPlatform, Vmo, VmoOptions};

type TestVmo = Vmo<InMemoryPlatform>;
const P: u64 = 4096;

#[test]
fn close_parent_then_one_way_child() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = TestVmo::create(frames.clone(), 0, VmoOptions::default()).unwrap();
    let child = parent
        .create_child(ChildKind::OneWay, 0, 0, VmoOptions::default())
        .unwrap();
    drop(parent);
    drop(child);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn close_parent_then_slice() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = TestVmo::create(frames.clone(), P, VmoOptions::default()).unwrap();
    let slice = parent
        .create_child(ChildKind::Slice, 0, P, VmoOptions::default())
        .unwrap();
    drop(parent);
    drop(slice);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn close_of_one_way_parent_keeps_pages_no_clone_sees() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = TestVmo::create(frames.clone(), 2 * P, VmoOptions::default()).unwrap();
    parent.write(0, &[1; 2 * P as usize]).unwrap();
    let child = parent
        .create_child(ChildKind::OneWay, 0, P, VmoOptions::default())
        .unwrap();
    drop(parent);
    // Only page 0 is visible (to the clone); page 1 is nobody's.
    let (invariants, in_use) = (child.check_family_invariants(), frames.frames_in_use());
    drop(child);
    assert_eq!(invariants, Ok(()));
    assert_eq!(in_use, 1);
    assert_eq!(
        frames.frames_in_use(),
        0,
        "closing the clone frees the rest"
    );
}

#[test]
fn close_of_last_slice_keeps_pages_no_clone_sees() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = TestVmo::create(frames.clone(), P, VmoOptions::default()).unwrap();
    parent.write(0, &[1]).unwrap();
    let clone = parent
        .create_child(ChildKind::OneWay, 0, 0, VmoOptions::default())
        .unwrap();
    let slice = parent
        .create_child(ChildKind::Slice, 0, P, VmoOptions::default())
        .unwrap();
    drop(parent);
    drop(slice);
    // The clone sees nothing of the parent, so its page is nobody's.
    let (invariants, in_use) = (clone.check_family_invariants(), frames.frames_in_use());
    drop(clone);
    assert_eq!(invariants, Ok(()));
    assert_eq!(in_use, 0);
}

#[test]
fn close_of_twice_snapshotted_vmo_keeps_pages_no_snapshot_sees() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), P, VmoOptions::default()).unwrap();
    vmo.write(0, &[1]).unwrap();
    let snapshot = |vmo: &TestVmo| {
        vmo.create_child(ChildKind::Snapshot, 0, 0, VmoOptions::default())
            .unwrap()
    };
    let (first, second) = (snapshot(&vmo), snapshot(&vmo));
    drop(vmo);
    // Neither empty snapshot sees the page.
    assert_eq!(first.check_family_invariants(), Ok(()));
    assert_eq!(frames.frames_in_use(), 0);
    drop((first, second));
}

#[test]
fn close_of_snapshot_with_a_narrower_snapshot_keeps_pages_nobody_sees() {
    let frames = Arc::new(InMemoryFrames::new());
    let root = TestVmo::create(frames.clone(), 2 * P, VmoOptions::default()).unwrap();
    root.write(0, &[1; 2 * P as usize]).unwrap();
    let middle = root
        .create_child(ChildKind::Snapshot, 0, 2 * P, VmoOptions::default())
        .unwrap();
    root.write(0, &[2; 2 * P as usize]).unwrap();
    let narrow = middle
        .create_child(ChildKind::Snapshot, 0, P, VmoOptions::default())
        .unwrap();
    drop(middle);
    // The root has its own pages, the narrow snapshot sees one old page: three frames.
    assert_eq!(narrow.check_family_invariants(), Ok(()));
    assert_eq!(frames.frames_in_use(), 3);
    drop((root, narrow));
}

#[test]
fn zeroed_page_comes_back_when_the_snapshot_closes() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), P, VmoOptions::default()).unwrap();
    vmo.write(0, &[7]).unwrap();
    let snapshot = vmo
        .create_child(ChildKind::Snapshot, 0, P, VmoOptions::default())
        .unwrap();
    vmo.zero(0, P).unwrap();
    drop(snapshot);
    let mut byte = [0xa5];
    vmo.read(0, &mut byte).unwrap();
    assert_eq!(byte, [0], "zeroed content came back");
    assert_eq!(vmo.info().populated_bytes, 0);
}

#[test]
fn closing_a_slice_with_children_changes_what_decommit_of_its_parent_answers() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), 2 * P, VmoOptions::default()).unwrap();
    let slice = vmo
        .create_child(ChildKind::Slice, 0, P, VmoOptions::default())
        .unwrap();
    let snapshot = slice
        .create_child(ChildKind::Snapshot, 0, 0, VmoOptions::default())
        .unwrap();
    let while_open = vmo.decommit(0, P);
    drop(slice);
    let after_close = vmo.decommit(0, P);
    assert_eq!(
        while_open, after_close,
        "the slice's handle should not matter"
    );
    drop((vmo, snapshot));
}

#[test]
fn lost_page_reexposed_by_decommit() {
    let frames = Arc::new(InMemoryFrames::new());
    let root = TestVmo::create(frames.clone(), P, VmoOptions::default()).unwrap();
    root.write(0, &[1]).unwrap();
    let middle = root
        .create_child(ChildKind::OneWay, 0, P, VmoOptions::default())
        .unwrap();
    middle.write(0, &[2]).unwrap();
    let leaf = middle
        .create_child(ChildKind::OneWay, 0, P, VmoOptions::default())
        .unwrap();
    drop(middle);
    // The leaf is the last reader of the middle's page: it takes the frame.
    leaf.write(0, &[3]).unwrap();
    leaf.decommit(0, P).unwrap();
    let mut byte = [0xa5];
    leaf.read(0, &mut byte).unwrap();
    drop(leaf);
    assert_eq!(frames.frames_in_use(), 1, "only the root's page is left");
    // The middle's page is gone (its frame went to the leaf); it was 2, never the root's 1.
    assert_eq!(
        byte,
        [0],
        "decommit showed content the parent had overwritten"
    );
}

#[test]
fn decommit_beside_a_snapshot_of_a_slice_frees_nothing() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), P, VmoOptions::default()).unwrap();
    vmo.write(0, &[1]).unwrap();
    let slice = vmo
        .create_child(ChildKind::Slice, 0, P, VmoOptions::default())
        .unwrap();
    let snapshot = slice
        .create_child(ChildKind::Snapshot, 0, P, VmoOptions::default())
        .unwrap();
    // The snapshot taken through the slice shares the VMO's pages, so decommit refuses (as it
    // does for any non-slice child) instead of succeeding without freeing anything.
    assert_eq!(vmo.decommit(0, P), Err(vm_engine::VmError::NotSupported));
    let mut byte = [0xa5];
    vmo.read(0, &mut byte).unwrap();
    assert_eq!(byte, [1]);
    drop((snapshot, slice, vmo));
}

#[test]
fn close_merging_into_a_narrow_hidden_survivor_frees_what_only_the_closer_read() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), 4 * P, VmoOptions::default()).unwrap();
    vmo.commit(0, 1).unwrap();
    let wide = vmo
        .create_child(ChildKind::Snapshot, 0, 2 * P, VmoOptions::default())
        .unwrap();
    // An empty snapshot, itself snapshotted: the original's sibling becomes a hidden node whose
    // window covers nothing.
    let empty = vmo
        .create_child(ChildKind::Snapshot, 0, 0, VmoOptions::default())
        .unwrap();
    let of_empty = empty
        .create_child(ChildKind::Snapshot, 0, 4 * P, VmoOptions::default())
        .unwrap();
    wide.write(0, &[0; 4096]).unwrap();
    drop(vmo);
    // Only the original read the shared page 0; the wide snapshot has its own copy now.
    assert_eq!(frames.frames_in_use(), 1, "the original's last page leaked");
    assert_eq!(wide.check_family_invariants(), Ok(()));
    drop((wide, empty, of_empty));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn a_zero_that_frees_one_page_and_takes_another_into_the_same_chunk() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), 2 * P, VmoOptions::default()).unwrap();
    vmo.write(0, &[7; 2 * P as usize]).unwrap();
    let snapshot = vmo
        .create_child(ChildKind::Snapshot, P, 2 * P, VmoOptions::default())
        .unwrap();
    snapshot.zero(0, P).unwrap();
    vmo.zero(P, 1).unwrap(); // takes page 1's frame down into the VMO
                             // Page 0 is taken from above (partly zeroed), page 1 is freed: same chunk, one operation.
    vmo.zero(P - 1, P + 1).unwrap();
    let mut page = [1u8; 2 * P as usize];
    vmo.read(0, &mut page).unwrap();
    assert!(page[..P as usize - 1].iter().all(|&b| b == 7));
    assert!(page[P as usize - 1..].iter().all(|&b| b == 0));
    assert_eq!(vmo.check_family_invariants(), Ok(()));
    drop((vmo, snapshot));
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn decommit_of_a_zeroed_page_keeps_hiding_the_parent() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = TestVmo::create(frames.clone(), P, VmoOptions::default()).unwrap();
    let clone = parent
        .create_child(ChildKind::OneWay, 0, P, VmoOptions::default())
        .unwrap();
    clone.zero(0, P).unwrap();
    clone.decommit(0, P).unwrap();
    parent.write(0, &[1]).unwrap();
    let mut byte = [0xa5];
    clone.read(0, &mut byte).unwrap();
    assert_eq!(byte, [1], "decommit should show the parent again");
    drop((clone, parent));
}

#[test]
fn shrink_keeps_zero_markers_past_the_end() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = TestVmo::create(frames.clone(), 2 * P, VmoOptions::default()).unwrap();
    let clone = parent
        .create_child(ChildKind::OneWay, 0, 2 * P, VmoOptions { resizable: true })
        .unwrap();
    clone.zero(P, P).unwrap();
    clone.set_size(P).unwrap();
    let grandchild = clone
        .create_child(ChildKind::OneWay, 0, P, VmoOptions::default())
        .unwrap();
    drop(clone);
    // Nobody can read the marker the shrink should have dropped.
    let invariants = grandchild.check_family_invariants();
    drop(grandchild);
    assert_eq!(invariants, Ok(()));
}

#[test]
fn write_under_a_closed_parents_zero_marker_leaves_it_unread() {
    let frames = Arc::new(InMemoryFrames::new());
    let root = TestVmo::create(frames.clone(), P, VmoOptions::default()).unwrap();
    let middle = root
        .create_child(ChildKind::OneWay, 0, P, VmoOptions::default())
        .unwrap();
    middle.zero(0, P).unwrap();
    let leaf = middle
        .create_child(ChildKind::OneWay, 0, P, VmoOptions::default())
        .unwrap();
    drop(middle);
    leaf.write(0, &[1]).unwrap();
    // Nobody reads the middle's zero marker any more.
    let invariants = leaf.check_family_invariants();
    drop((leaf, root));
    assert_eq!(invariants, Ok(()));
    assert_eq!(frames.frames_in_use(), 0);
}
