//! Address spaces at engine level: VMOs mapped into software-MMU address spaces, written and
//! read through their mappings, with every translation the MMU holds checked against the engine
//! after each step (no stale frame, no write access to a shared frame).

use std::sync::Arc;

use vm_engine::{
    Access, AccessError, AddressSpace, ChildKind, FrameSource, InMemoryFrames, InMemoryPlatform,
    MapRequest, PageTarget, Perms, RegionRequest, SoftwareMmu, VmError, Vmar, Vmo, VmoOptions,
};

type TestVmo = Vmo<InMemoryPlatform>;
type Space = AddressSpace<InMemoryPlatform>;

const PAGE: u64 = 4096;
const BASE: u64 = 0x1000_0000;
const SPACE_SIZE: u64 = 1 << 32;

fn space() -> Space {
    Space::new(BASE, SPACE_SIZE, Box::new(SoftwareMmu::new())).unwrap()
}

fn rw() -> Perms {
    Perms::READ | Perms::WRITE
}

fn request(vmo: &Arc<TestVmo>, len: u64, perms: Perms) -> MapRequest<InMemoryPlatform> {
    MapRequest {
        offset: None,
        overwrite: false,
        vmo: vmo.clone(),
        vmo_offset: 0,
        len,
        perms,
        max_perms: Perms::all(),
        align: PAGE,
        populate: false,
        keep_alive: None,
    }
}

fn map(vmar: &Vmar<InMemoryPlatform>, vmo: &Arc<TestVmo>, len: u64) -> u64 {
    vmar.map(request(vmo, len, rw())).unwrap()
}

fn read_at(space: &Space, vaddr: u64) -> u8 {
    let mut byte = [0u8];
    assert_eq!(space.read(vaddr, &mut byte), (1, None));
    byte[0]
}

fn translations(space: &Space) -> usize {
    space.with_mmu(|mmu| {
        let mut count = 0;
        mmu.for_each_translation(&mut |_, _, _| count += 1);
        count
    })
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            all.push(tail);
        }
    }
    all
}

/// A parent, two snapshots of it and a snapshot of the first snapshot, each mapped into an
/// address space of its own and read there first (so that every mapping holds a translation of
/// the shared frame), then written through the mappings in all 24 orders: each write shows
/// through the writer's mapping and in reads of the writer's VMO, and nowhere else; every write
/// allocates exactly one frame.
#[test]
fn writes_through_mappings_of_a_snapshot_tree_in_all_24_orders() {
    let orders = permutations(&[0, 1, 2, 3]);
    assert_eq!(orders.len(), 24);
    for order in orders {
        let frames = Arc::new(InMemoryFrames::new());
        let parent =
            Arc::new(TestVmo::create(frames.clone(), 2 * PAGE, VmoOptions::default()).unwrap());
        parent.write(0, &[0x11; 2 * PAGE as usize]).unwrap();
        let snap_a = Arc::new(
            parent
                .create_child(ChildKind::Snapshot, 0, 2 * PAGE, VmoOptions::default())
                .unwrap(),
        );
        let snap_b = Arc::new(
            parent
                .create_child(ChildKind::Snapshot, 0, 2 * PAGE, VmoOptions::default())
                .unwrap(),
        );
        let snap_aa = Arc::new(
            snap_a
                .create_child(ChildKind::Snapshot, 0, 2 * PAGE, VmoOptions::default())
                .unwrap(),
        );
        let vmos = [parent, snap_a, snap_b, snap_aa];
        let spaces: Vec<Space> = vmos.iter().map(|_| space()).collect();
        let addrs: Vec<u64> = vmos
            .iter()
            .zip(&spaces)
            .map(|(vmo, space)| map(&space.root(), vmo, 2 * PAGE))
            .collect();
        for (space, &addr) in spaces.iter().zip(&addrs) {
            assert_eq!(read_at(space, addr + 5), 0x11);
            assert_eq!(read_at(space, addr + PAGE + 5), 0x11);
        }
        assert_eq!(frames.frames_in_use(), 2);
        let mut expected = [0x11u8; 4];
        for (step, &writer) in order.iter().enumerate() {
            let value = 0x20 + writer as u8;
            assert_eq!(spaces[writer].write(addrs[writer] + 7, &[value]), (1, None));
            expected[writer] = value;
            // The untouched second page, one frame per write, and the original first page
            // while anyone still reads it: the last reader takes it over instead of copying.
            let original_read = expected.contains(&0x11);
            let wanted = 1 + (step + 1) + usize::from(original_read);
            assert_eq!(
                frames.frames_in_use(),
                wanted,
                "order {order:?} step {step}"
            );
            for (i, ((vmo, space), &addr)) in vmos.iter().zip(&spaces).zip(&addrs).enumerate() {
                space
                    .check_translations()
                    .unwrap_or_else(|e| panic!("order {order:?} step {step} space {i}: {e}"));
                assert_eq!(
                    read_at(space, addr + 7),
                    expected[i],
                    "order {order:?} step {step}: mapping of VMO {i}"
                );
                let mut byte = [0u8];
                vmo.read(7, &mut byte).unwrap();
                assert_eq!(
                    byte[0], expected[i],
                    "order {order:?} step {step}: read of VMO {i}"
                );
                // The second page, never written, still shows the original everywhere.
                assert_eq!(read_at(space, addr + PAGE + 7), 0x11);
            }
        }
        drop(spaces);
        drop(vmos);
        assert_eq!(
            frames.frames_in_use(),
            0,
            "nothing leaks once the mappings and VMOs are gone"
        );
    }
}

#[test]
fn a_snapshot_takes_write_access_away_from_existing_mappings() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames.clone(), PAGE, VmoOptions::default()).unwrap());
    let space = space();
    let addr = map(&space.root(), &vmo, PAGE);
    assert_eq!(space.write(addr, b"before"), (6, None));
    let writable = space.with_mmu(|mmu| mmu.translation(addr)).unwrap().1;
    assert!(writable.contains(Perms::WRITE));
    let snapshot = vmo
        .create_child(ChildKind::Snapshot, 0, PAGE, VmoOptions::default())
        .unwrap();
    let after = space.with_mmu(|mmu| mmu.translation(addr)).unwrap().1;
    assert!(
        !after.contains(Perms::WRITE),
        "the snapshot must write-protect the mapping"
    );
    space.check_translations().unwrap();
    assert_eq!(space.write(addr, b"after!"), (6, None));
    let mut seen = [0u8; 6];
    snapshot.read(0, &mut seen).unwrap();
    assert_eq!(&seen, b"before");
    vmo.read(0, &mut seen).unwrap();
    assert_eq!(&seen, b"after!");
    assert_eq!(frames.frames_in_use(), 2);
    space.check_translations().unwrap();
}

#[test]
fn decommit_zero_and_shrink_remove_stale_translations() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(
        TestVmo::create(frames.clone(), 4 * PAGE, VmoOptions { resizable: true }).unwrap(),
    );
    let space = space();
    let addr = map(&space.root(), &vmo, 4 * PAGE);
    assert_eq!(
        space.write(addr, &[7; 4 * PAGE as usize]),
        (4 * PAGE as usize, None)
    );
    assert_eq!(translations(&space), 4);
    vmo.decommit(0, PAGE).unwrap();
    space.check_translations().unwrap();
    assert_eq!(
        read_at(&space, addr),
        0,
        "decommitted page reads zeros through the mapping"
    );
    vmo.zero(PAGE, PAGE).unwrap();
    space.check_translations().unwrap();
    assert_eq!(read_at(&space, addr + PAGE), 0);
    vmo.set_size(2 * PAGE).unwrap();
    space.check_translations().unwrap();
    let mut byte = [0u8];
    assert_eq!(
        space.read(addr + 3 * PAGE, &mut byte),
        (0, Some(AccessError::BeyondEnd))
    );
    assert_eq!(
        space.fault(addr + 2 * PAGE, Access::Write),
        Err(AccessError::BeyondEnd)
    );
    // Growing again shows zeros, never the old bytes.
    vmo.set_size(4 * PAGE).unwrap();
    assert_eq!(read_at(&space, addr + 3 * PAGE), 0);
    space.check_translations().unwrap();
}

#[test]
fn a_one_way_clone_mapping_follows_its_parent_until_it_writes() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = Arc::new(TestVmo::create(frames.clone(), PAGE, VmoOptions::default()).unwrap());
    parent.write(0, &[1]).unwrap();
    let clone = Arc::new(
        parent
            .create_child(ChildKind::OneWay, 0, PAGE, VmoOptions::default())
            .unwrap(),
    );
    let space = space();
    let at = map(&space.root(), &clone, PAGE);
    assert_eq!(read_at(&space, at), 1);
    parent.write(0, &[2]).unwrap();
    assert_eq!(read_at(&space, at), 2, "a parent write shows through");
    // A snapshot of the parent followed by a parent write moves the parent's content away from
    // the frame the clone's translation points at.
    let _snapshot = parent
        .create_child(ChildKind::Snapshot, 0, PAGE, VmoOptions::default())
        .unwrap();
    parent.write(0, &[3]).unwrap();
    space.check_translations().unwrap();
    assert_eq!(read_at(&space, at), 3);
    assert_eq!(space.write(at, &[4]), (1, None));
    parent.write(0, &[5]).unwrap();
    assert_eq!(
        read_at(&space, at),
        4,
        "after its own write the clone keeps its copy"
    );
    space.check_translations().unwrap();
}

#[test]
fn slices_share_translations_with_their_parent() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent =
        Arc::new(TestVmo::create(frames.clone(), 4 * PAGE, VmoOptions::default()).unwrap());
    let slice = Arc::new(
        parent
            .create_child(ChildKind::Slice, PAGE, 2 * PAGE, VmoOptions::default())
            .unwrap(),
    );
    let space = space();
    let at = map(&space.root(), &slice, 2 * PAGE);
    assert_eq!(space.write(at + PAGE, &[9]), (1, None));
    let mut byte = [0u8];
    parent.read(2 * PAGE, &mut byte).unwrap();
    assert_eq!(byte[0], 9);
    let _snapshot = parent
        .create_child(ChildKind::Snapshot, 0, 4 * PAGE, VmoOptions::default())
        .unwrap();
    space.check_translations().unwrap();
    parent.decommit(2 * PAGE, PAGE).unwrap_err(); // a parent with a snapshot child cannot
    assert_eq!(frames.frames_in_use(), 1);
}

#[test]
fn map_placement_errors_and_overlaps() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames, 4 * PAGE, VmoOptions::default()).unwrap());
    let space = space();
    let root = space.root();
    let specific = |offset: u64, len: u64| MapRequest {
        offset: Some(offset),
        ..request(&vmo, len, rw())
    };
    let at = root.map(specific(0x10000, 2 * PAGE)).unwrap();
    assert_eq!(at, BASE + 0x10000);
    assert_eq!(
        root.map(specific(0x10000 + PAGE, 2 * PAGE)),
        Err(VmError::AlreadyExists)
    );
    assert_eq!(
        root.map(specific(0x10000 - PAGE, 2 * PAGE)),
        Err(VmError::AlreadyExists)
    );
    assert_eq!(
        root.map(specific(0x10000 + 2 * PAGE, PAGE)),
        Ok(BASE + 0x12000),
        "adjacent is fine"
    );
    assert_eq!(root.map(specific(0x10001, PAGE)), Err(VmError::InvalidArgs));
    assert_eq!(
        root.map(specific(SPACE_SIZE - PAGE, 2 * PAGE)),
        Err(VmError::InvalidArgs)
    );
    assert_eq!(
        root.map(specific(SPACE_SIZE, PAGE)),
        Err(VmError::InvalidArgs)
    );
    assert_eq!(root.map(request(&vmo, 0, rw())), Err(VmError::InvalidArgs));
    assert_eq!(
        root.map(MapRequest {
            vmo_offset: 1,
            ..request(&vmo, PAGE, rw())
        }),
        Err(VmError::InvalidArgs)
    );
    assert_eq!(
        root.map(MapRequest {
            vmo_offset: !(PAGE - 1),
            ..request(&vmo, 2 * PAGE, rw())
        }),
        Err(VmError::OutOfRange)
    );
    assert_eq!(
        root.map(request(&vmo, u64::MAX, rw())),
        Err(VmError::OutOfRange)
    );
    assert_eq!(
        root.map(request(&vmo, SPACE_SIZE, rw())),
        Err(VmError::NoResources)
    );
    // Overwrite replaces what is there, splitting a mapping it covers partly.
    let over = MapRequest {
        overwrite: true,
        ..specific(0x10000 + PAGE, 2 * PAGE)
    };
    assert_eq!(root.map(over), Ok(BASE + 0x11000));
    let bases: Vec<(u64, u64)> = space
        .mappings()
        .iter()
        .map(|m| (m.base - BASE, m.len / PAGE))
        .collect();
    assert_eq!(bases, vec![(0x10000, 1), (0x11000, 2)]);
    assert_eq!(vmo.info().num_mappings, 2);
    assert_eq!(vmo.info().mapped_spaces, 1);
}

#[test]
fn unmapping_part_of_a_mapping_splits_it() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames, 8 * PAGE, VmoOptions::default()).unwrap());
    for (i, page) in (0..8u8).enumerate() {
        vmo.write(i as u64 * PAGE, &[page + 1]).unwrap();
    }
    let space = space();
    let at = map(&space.root(), &vmo, 8 * PAGE);
    for i in 0..8 {
        assert_eq!(read_at(&space, at + i * PAGE), i as u8 + 1);
    }
    space.root().unmap(at + 2 * PAGE, 3 * PAGE - 100).unwrap();
    assert_eq!(vmo.info().num_mappings, 2);
    let mut byte = [0u8];
    for i in 0..8 {
        let result = space.read(at + i * PAGE, &mut byte);
        if (2..5).contains(&i) {
            assert_eq!(result, (0, Some(AccessError::Unmapped)));
        } else {
            assert_eq!(result, (1, None));
            assert_eq!(byte[0], i as u8 + 1, "page {i} keeps showing its VMO page");
        }
    }
    space.check_translations().unwrap();
    assert_eq!(translations(&space), 5);
    // Unmapping where nothing is mapped is fine; outside the region is not.
    space.root().unmap(at + 2 * PAGE, PAGE).unwrap();
    assert_eq!(
        space.root().unmap(BASE - PAGE, PAGE),
        Err(VmError::InvalidArgs)
    );
    assert_eq!(space.root().unmap(at + 1, PAGE), Err(VmError::InvalidArgs));
    assert_eq!(space.root().unmap(at, 0), Err(VmError::InvalidArgs));
    space.root().unmap(at, 8 * PAGE).unwrap();
    assert_eq!(vmo.info().num_mappings, 0);
    assert_eq!(translations(&space), 0);
}

#[test]
fn protect_lowers_and_raises_within_the_ceiling() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames, 4 * PAGE, VmoOptions::default()).unwrap());
    let space = space();
    let root = space.root();
    let at = root
        .map(MapRequest {
            max_perms: rw(),
            ..request(&vmo, 4 * PAGE, rw())
        })
        .unwrap();
    assert_eq!(
        space.write(at, &[1; 4 * PAGE as usize]).0,
        4 * PAGE as usize
    );
    root.protect(at + PAGE, PAGE, Perms::READ).unwrap();
    space.check_translations().unwrap();
    assert_eq!(space.write(at + PAGE, &[2]), (0, Some(AccessError::Denied)));
    assert_eq!(space.write(at, &[2]), (1, None));
    assert_eq!(space.mappings().len(), 3);
    assert_eq!(
        root.protect(at, PAGE, Perms::READ | Perms::EXECUTE),
        Err(VmError::AccessDenied)
    );
    root.protect(at + PAGE, PAGE, rw()).unwrap();
    assert_eq!(space.write(at + PAGE, &[3]), (1, None));
    root.protect(at, 4 * PAGE, Perms::empty()).unwrap();
    let mut byte = [0u8];
    assert_eq!(space.read(at, &mut byte), (0, Some(AccessError::Denied)));
    assert_eq!(
        root.protect(at, 5 * PAGE, Perms::READ),
        Err(VmError::NotFound)
    );
    assert_eq!(
        root.protect(at + 4 * PAGE, PAGE, Perms::READ),
        Err(VmError::NotFound)
    );
    assert_eq!(
        root.protect(at - PAGE, PAGE, Perms::READ),
        Err(VmError::InvalidArgs)
    );
    space.check_translations().unwrap();
}

#[test]
fn sub_regions_limit_permissions_and_placement_and_die_with_destroy() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames.clone(), PAGE, VmoOptions::default()).unwrap());
    let space = space();
    let root = space.root();
    let sub = root
        .allocate(RegionRequest {
            offset: None,
            size: 16 * PAGE,
            align: PAGE,
            allows: Perms::READ,
            can_map_specific: false,
        })
        .unwrap();
    assert_eq!(
        sub.map(request(&vmo, PAGE, rw())),
        Err(VmError::AccessDenied)
    );
    assert_eq!(
        sub.map(MapRequest {
            offset: Some(0),
            ..request(&vmo, PAGE, Perms::READ)
        }),
        Err(VmError::AccessDenied)
    );
    let at = sub.map(request(&vmo, PAGE, Perms::READ)).unwrap();
    assert_eq!(space.write(at, &[1]), (0, Some(AccessError::Denied)));
    assert_eq!(read_at(&space, at), 0);
    assert_eq!(
        sub.allocate(RegionRequest {
            offset: None,
            size: PAGE,
            align: PAGE,
            allows: rw(),
            can_map_specific: false
        })
        .err(),
        Some(VmError::AccessDenied)
    );
    // A range partly covering the sub-region cannot be unmapped; a whole one destroys it.
    let sub_base = sub.base().unwrap();
    assert_eq!(root.unmap(sub_base, PAGE), Err(VmError::InvalidArgs));
    assert_eq!(vmo.info().num_mappings, 1);
    sub.destroy().unwrap();
    assert_eq!(sub.destroy(), Err(VmError::BadState));
    assert_eq!(
        sub.map(request(&vmo, PAGE, Perms::READ)),
        Err(VmError::BadState)
    );
    assert_eq!(vmo.info().num_mappings, 0);
    assert_eq!(root.destroy(), Err(VmError::NotSupported));
    let mut byte = [0u8];
    assert_eq!(space.read(at, &mut byte), (0, Some(AccessError::Unmapped)));
}

#[test]
fn a_mapping_keeps_its_vmo_and_its_parents_child_count() {
    let frames = Arc::new(InMemoryFrames::new());
    let parent = TestVmo::create(frames.clone(), PAGE, VmoOptions::default()).unwrap();
    let child = Arc::new(
        parent
            .create_child(ChildKind::Snapshot, 0, PAGE, VmoOptions::default())
            .unwrap(),
    );
    let space = space();
    let at = map(&space.root(), &child, PAGE);
    assert_eq!(space.write(at, &[5]), (1, None));
    drop(child); // the user's reference; the mapping keeps the VMO
    assert!(parent.has_children());
    assert_eq!(read_at(&space, at), 5);
    space.root().unmap(at, PAGE).unwrap();
    assert!(
        !parent.has_children(),
        "unmapping the last mapping closes the child"
    );
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn destroying_an_address_space_releases_everything() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames.clone(), 4 * PAGE, VmoOptions::default()).unwrap());
    let space = space();
    let root = space.root();
    let at = map(&root, &vmo, 4 * PAGE);
    assert_eq!(space.write(at, &[1; 100]).0, 100);
    space.destroy();
    assert_eq!(vmo.info().num_mappings, 0);
    assert_eq!(root.map(request(&vmo, PAGE, rw())), Err(VmError::BadState));
    assert_eq!(Arc::strong_count(&vmo), 1);
    drop(vmo);
    assert_eq!(frames.frames_in_use(), 0);
}

#[test]
fn reads_of_untouched_pages_map_the_zero_page_read_only() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames.clone(), 2 * PAGE, VmoOptions::default()).unwrap());
    let space = space();
    let at = map(&space.root(), &vmo, 2 * PAGE);
    assert_eq!(read_at(&space, at), 0);
    assert_eq!(
        space.with_mmu(|mmu| mmu.translation(at)),
        Some((PageTarget::Zeros, Perms::READ))
    );
    assert_eq!(frames.frames_in_use(), 0, "a read commits nothing");
    assert_eq!(space.write(at, &[1]), (1, None));
    let (target, perms) = space.with_mmu(|mmu| mmu.translation(at)).unwrap();
    assert!(matches!(target, PageTarget::Frame(_)));
    assert_eq!(perms, rw());
    assert_eq!(frames.frames_in_use(), 1);
    space.check_translations().unwrap();
}

/// An MMU that forgets to take translations away: the checker must notice what it leaves.
#[derive(Default)]
struct ForgetfulMmu(SoftwareMmu);

impl vm_engine::Mmu for ForgetfulMmu {
    fn map(
        &mut self,
        vaddr: u64,
        target: PageTarget,
        perms: Perms,
    ) -> Result<(), vm_engine::MmuFull> {
        self.0.map(vaddr, target, perms)
    }
    fn unmap(&mut self, _vaddr: u64, _len: u64) {}
    fn restrict(&mut self, _vaddr: u64, _len: u64, _allowed: Perms) {}
    fn translation(&self, vaddr: u64) -> Option<(PageTarget, Perms)> {
        self.0.translation(vaddr)
    }
    fn for_each_translation(&self, visit: &mut dyn FnMut(u64, PageTarget, Perms)) {
        self.0.for_each_translation(visit)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn the_translation_checker_notices_what_an_mmu_failed_to_remove() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames, 2 * PAGE, VmoOptions::default()).unwrap());
    let space = Space::new(BASE, SPACE_SIZE, Box::<ForgetfulMmu>::default()).unwrap();
    let at = map(&space.root(), &vmo, 2 * PAGE);
    assert_eq!(
        space.write(at, &[1; 2 * PAGE as usize]).0,
        2 * PAGE as usize
    );
    space.check_translations().unwrap();
    let _snapshot = vmo
        .create_child(ChildKind::Snapshot, 0, PAGE, VmoOptions::default())
        .unwrap();
    let complaint = space.check_translations().unwrap_err();
    assert!(complaint.contains("writable"), "{complaint}");

    let other = Arc::new(
        TestVmo::create(Arc::new(InMemoryFrames::new()), PAGE, VmoOptions::default()).unwrap(),
    );
    let space = Space::new(BASE, SPACE_SIZE, Box::<ForgetfulMmu>::default()).unwrap();
    let at = map(&space.root(), &other, PAGE);
    assert_eq!(read_at(&space, at), 0);
    other.write(0, &[1]).unwrap();
    let complaint = space.check_translations().unwrap_err();
    assert!(complaint.contains("stale"), "{complaint}");
}

/// Threads faulting through mappings while others snapshot, write, decommit, map and unmap the
/// same VMO: no deadlock (the lock order holds), and afterwards every translation is true and
/// nothing leaks.
#[test]
fn concurrent_faults_snapshots_and_unmaps_keep_translations_true() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames.clone(), 16 * PAGE, VmoOptions::default()).unwrap());
    let space = Arc::new(space());
    let at = map(&space.root(), &vmo, 16 * PAGE);
    let rounds = 20_000u64;
    std::thread::scope(|scope| {
        let (space1, space2) = (space.clone(), space.clone());
        scope.spawn(move || {
            for i in 0..rounds {
                let page = i % 16;
                let _ = space1.write(at + page * PAGE + 8, &[i as u8; 64]);
                let mut back = [0u8; 8];
                let _ = space1.read(at + page * PAGE, &mut back);
            }
        });
        let vmo1 = vmo.clone();
        scope.spawn(move || {
            for i in 0..rounds / 4 {
                let snapshot = vmo1
                    .create_child(ChildKind::Snapshot, 0, 16 * PAGE, VmoOptions::default())
                    .unwrap();
                snapshot.write((i % 16) * PAGE, &[1]).unwrap();
            }
        });
        let vmo2 = vmo.clone();
        scope.spawn(move || {
            for i in 0..rounds {
                vmo2.write((i * 7 % 16) * PAGE, &[2; 100]).unwrap();
                let _ = vmo2.zero((i * 3 % 16) * PAGE, PAGE);
            }
        });
        let vmo3 = vmo.clone();
        scope.spawn(move || {
            for _ in 0..rounds / 4 {
                let extra = map(&space2.root(), &vmo3, 4 * PAGE);
                let _ = space2.write(extra, &[3]);
                space2.root().unmap(extra, 4 * PAGE).unwrap();
            }
        });
    });
    space.check_translations().unwrap();
    drop(space);
    assert_eq!(
        frames.frames_in_use() as u64,
        vmo.info().committed_bytes / PAGE,
        "only the VMO's own pages remain"
    );
    assert_eq!(Arc::strong_count(&vmo), 1);
    drop(vmo);
    assert_eq!(frames.frames_in_use(), 0);
}

/// Out of frames, or out of room for translations: the access fails with `NoMemory` after the
/// pages before it, and nothing is left half done.
#[test]
fn exhausted_frames_or_translations_fail_cleanly() {
    let frames = Arc::new(InMemoryFrames::with_limit(2));
    let vmo = Arc::new(TestVmo::create(frames.clone(), 4 * PAGE, VmoOptions::default()).unwrap());
    let space = space();
    let at = map(&space.root(), &vmo, 4 * PAGE);
    let page = vec![7u8; 4 * PAGE as usize];
    assert_eq!(
        space.write(at, &page),
        (2 * PAGE as usize, Some(AccessError::NoMemory))
    );
    assert_eq!(vmo.info().committed_bytes, 2 * PAGE);
    space.check_translations().unwrap();
    frames.clear_limit();
    assert_eq!(space.write(at, &page), (4 * PAGE as usize, None));

    let limited = Space::new(BASE, SPACE_SIZE, Box::new(SoftwareMmu::with_limit(2))).unwrap();
    let at = map(&limited.root(), &vmo, 4 * PAGE);
    let mut back = vec![0u8; 4 * PAGE as usize];
    assert_eq!(
        limited.read(at, &mut back),
        (2 * PAGE as usize, Some(AccessError::NoMemory))
    );
    assert_eq!(&back[..2 * PAGE as usize], &page[..2 * PAGE as usize]);
    // Unmapping frees translation room again.
    limited.root().unmap(at, 2 * PAGE).unwrap();
    assert_eq!(
        limited.read(at + 2 * PAGE, &mut back[..2 * PAGE as usize]),
        (2 * PAGE as usize, None)
    );
    limited.check_translations().unwrap();
}

/// At the bound on mappings per address space, a new mapping and a split (a partial unmap or
/// protect) are `NoMemory` and change nothing; unmapping a whole mapping makes room again.
#[test]
fn the_mapping_bound_refuses_new_mappings_and_splits_cleanly() {
    use vm_engine::MAX_MAPPINGS;
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(TestVmo::create(frames, 2 * PAGE, VmoOptions::default()).unwrap());
    let space = Space::new(BASE, 1 << 40, Box::new(SoftwareMmu::new())).unwrap();
    let root = space.root();
    let at = |i: u64| MapRequest {
        offset: Some(i * 4 * PAGE),
        ..request(&vmo, 2 * PAGE, rw())
    };
    for i in 0..MAX_MAPPINGS as u64 {
        root.map(at(i)).unwrap();
    }
    assert_eq!(root.map(at(MAX_MAPPINGS as u64)), Err(VmError::NoMemory));
    let first = BASE;
    assert_eq!(
        root.unmap(first + PAGE, PAGE),
        Err(VmError::NoMemory),
        "a split"
    );
    assert_eq!(
        root.protect(first, PAGE, Perms::READ),
        Err(VmError::NoMemory),
        "a split"
    );
    assert_eq!(
        vmo.info().num_mappings,
        MAX_MAPPINGS as u64,
        "nothing changed"
    );
    space.check_translations().unwrap();
    root.unmap(first, 2 * PAGE).unwrap();
    root.map(at(MAX_MAPPINGS as u64)).unwrap();
    assert_eq!(vmo.info().num_mappings, MAX_MAPPINGS as u64);
}
