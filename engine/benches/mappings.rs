//! Access through mappings with the software MMU, each figure a RATIO of two cases timed in
//! alternation in the same run (medians of rounds after one untimed warm-up):
//!
//! 1. Reading 4096 committed pages through a mapping in 4 KiB accesses (translations already
//!    installed) vs `Vmo::read` of the same pages: the price of the page-table walk of a
//!    software MMU (tree lookup of the mapping, MMU lookup) on top of the copy.
//! 2. First 4 KiB write through a mapping to pages shared with a snapshot (the fault: copy on
//!    write, then a writable translation) vs `Vmo::write` to the same kind of pages: what the
//!    fault path adds to the copy.
//! 3. Taking a snapshot of a 4096-page VMO whose every page has a writable translation (all of
//!    them must lose write access) vs of the same VMO unmapped.
//!
//! `cargo bench -p vm-engine --bench mappings` (a few seconds; `-- --quick` for a smoke run on
//! 256 pages).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vm_engine::{
    AddressSpace, ChildKind, InMemoryFrames, InMemoryPlatform, MapRequest, Perms, SoftwareMmu, Vmo,
    VmoOptions, PAGE_SIZE,
};

type TestVmo = Vmo<InMemoryPlatform>;
type Space = AddressSpace<InMemoryPlatform>;

const PAGE: u64 = PAGE_SIZE as u64;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Times `ours` and `baseline` alternately for `rounds` rounds (after one warm-up of each);
/// each closure builds its own state and returns the time of its measured part.
fn ratio(
    rounds: usize,
    mut ours: impl FnMut() -> Duration,
    mut baseline: impl FnMut() -> Duration,
) -> (f64, Duration, Duration) {
    ours();
    baseline();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(ours());
        b.push(baseline());
    }
    let (a, b) = (median(a), median(b));
    (a.as_secs_f64() / b.as_secs_f64(), a, b)
}

fn filled_vmo(frames: &Arc<InMemoryFrames>, pages: u64) -> Arc<TestVmo> {
    let vmo = TestVmo::create(frames.clone(), pages * PAGE, VmoOptions::default()).unwrap();
    vmo.write(0, &vec![0x5a; (pages * PAGE) as usize]).unwrap();
    Arc::new(vmo)
}

fn mapped(vmo: &Arc<TestVmo>, pages: u64) -> (Space, u64) {
    let space = Space::new(1 << 30, 1 << 40, Box::new(SoftwareMmu::new())).unwrap();
    let base = space
        .root()
        .map(MapRequest {
            offset: None,
            overwrite: false,
            vmo: vmo.clone(),
            vmo_offset: 0,
            len: pages * PAGE,
            perms: Perms::READ | Perms::WRITE,
            max_perms: Perms::READ | Perms::WRITE,
            align: PAGE,
            populate: false,
            keep_alive: None,
        })
        .unwrap();
    (space, base)
}

fn per_page(time: Duration, pages: u64) -> String {
    format!("{:.0} ns/page", time.as_nanos() as f64 / pages as f64)
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (pages, rounds) = if quick { (256, 3) } else { (4096, 15) };
    let frames = Arc::new(InMemoryFrames::new());
    let mut buffer = vec![0u8; PAGE_SIZE];
    let mut other = vec![0u8; PAGE_SIZE];

    // 1. Reads with translations in place.
    let vmo = filled_vmo(&frames, pages);
    let (space, base) = mapped(&vmo, pages);
    for page in 0..pages {
        space.read(base + page * PAGE, &mut buffer);
    }
    let (read, ours, theirs) = ratio(
        rounds,
        || {
            let start = Instant::now();
            for page in 0..pages {
                black_box(space.read(base + page * PAGE, &mut buffer));
            }
            start.elapsed()
        },
        || {
            let start = Instant::now();
            for page in 0..pages {
                vmo.read(page * PAGE, &mut other).unwrap();
                black_box(&other);
            }
            start.elapsed()
        },
    );
    drop(space);

    // 2. First writes to pages shared with a snapshot.
    let data = vec![0xc3u8; PAGE_SIZE];
    let (fault, fault_ours, fault_theirs) = ratio(
        rounds,
        || {
            let vmo = filled_vmo(&frames, pages);
            let _snapshot = vmo
                .create_child(ChildKind::Snapshot, 0, pages * PAGE, VmoOptions::default())
                .unwrap();
            let (space, base) = mapped(&vmo, pages);
            let start = Instant::now();
            for page in 0..pages {
                black_box(space.write(base + page * PAGE, &data));
            }
            start.elapsed()
        },
        || {
            let vmo = filled_vmo(&frames, pages);
            let _snapshot = vmo
                .create_child(ChildKind::Snapshot, 0, pages * PAGE, VmoOptions::default())
                .unwrap();
            let start = Instant::now();
            for page in 0..pages {
                vmo.write(page * PAGE, &data).unwrap();
            }
            start.elapsed()
        },
    );

    // 3. A snapshot write-protecting every translation.
    let (protect, protect_ours, protect_theirs) = ratio(
        rounds,
        || {
            let vmo = filled_vmo(&frames, pages);
            let (space, base) = mapped(&vmo, pages);
            space.write(base, &vec![1u8; (pages * PAGE) as usize]);
            let start = Instant::now();
            let snapshot = vmo
                .create_child(ChildKind::Snapshot, 0, pages * PAGE, VmoOptions::default())
                .unwrap();
            let time = start.elapsed();
            drop(snapshot);
            time
        },
        || {
            let vmo = filled_vmo(&frames, pages);
            let start = Instant::now();
            let snapshot = vmo
                .create_child(ChildKind::Snapshot, 0, pages * PAGE, VmoOptions::default())
                .unwrap();
            let time = start.elapsed();
            drop(snapshot);
            time
        },
    );

    println!(
        "mappings ({pages} pages, software MMU{})",
        if quick { ", quick" } else { "" }
    );
    println!("| measurement | ratio | ours | baseline |");
    println!("|---|---|---|---|");
    println!(
        "| 4 KiB reads through a mapping vs Vmo::read | {read:.2}x | {} | {} |",
        per_page(ours, pages),
        per_page(theirs, pages)
    );
    println!(
        "| first write through a mapping to a shared page (fault) vs Vmo::write | {fault:.2}x | {} | {} |",
        per_page(fault_ours, pages),
        per_page(fault_theirs, pages)
    );
    println!(
        "| snapshot of a VMO with {pages} writable translations vs unmapped | {protect:.2}x | {:?} | {:?} |",
        protect_ours, protect_theirs
    );
}
