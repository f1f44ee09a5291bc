//! The family picture tools draw: every node with its role, link and accounting.

use std::sync::Arc;

use vm_engine::{ChildKind, InMemoryFrames, InMemoryPlatform, NodeRole, Vmo, VmoOptions};

type TestVmo = Vmo<InMemoryPlatform>;
const PAGE: u64 = 4096;

#[test]
fn a_snapshot_shows_a_hidden_node_with_the_shared_frames() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = TestVmo::create(frames, 2 * PAGE, VmoOptions::default()).unwrap();
    parent.write(0, &[1; 2 * PAGE as usize]).unwrap();
    let snapshot = parent
        .create_child(ChildKind::Snapshot, 0, 2 * PAGE, VmoOptions::default())
        .unwrap();
    snapshot.write(0, b"x").unwrap();
    let slice_parent =
        TestVmo::create(parent.frames().clone(), PAGE, VmoOptions::default()).unwrap();
    assert_ne!(parent.family_id(), slice_parent.family_id());
    assert_eq!(parent.family_id(), snapshot.family_id());

    let view = parent.family_view();
    let hidden: Vec<_> = view
        .nodes
        .iter()
        .filter(|n| n.role == NodeRole::Hidden)
        .collect();
    assert_eq!(hidden.len(), 1, "{view:?}");
    assert_eq!(hidden[0].own_frames, 2, "the original pages moved up");
    let me = view.nodes.iter().find(|n| n.id == view.this).unwrap();
    assert_eq!(
        me.role,
        NodeRole::Vmo {
            open: true,
            kind: None
        }
    );
    assert_eq!(me.link.map(|(parent, _, _)| parent), Some(hidden[0].id));
    assert_eq!(me.committed_bytes, 2 * PAGE);
    let snap = view
        .nodes
        .iter()
        .find(|n| n.id == snapshot.family_view().this)
        .unwrap();
    assert_eq!(
        snap.role,
        NodeRole::Vmo {
            open: true,
            kind: Some(ChildKind::Snapshot)
        }
    );
    assert_eq!(snap.own_frames, 1);
    assert_eq!(snap.committed_bytes, PAGE);
    assert_eq!(snap.populated_bytes, 2 * PAGE);
    let total: u64 = view.nodes.iter().map(|n| n.committed_bytes).sum();
    assert_eq!(total, 3 * PAGE, "committed bytes add up to the frames");
}
