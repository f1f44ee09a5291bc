//! Engine throughput against `memcpy` of the same bytes, measured in the same run.
//!
//! Every case moves a working set in 4 KiB calls and is timed in alternation with a plain
//! `memcpy` of the same bytes in the same 4 KiB pieces; the figure reported is the ratio of the
//! two throughputs (1.0 = as fast as memcpy). Two working sets: 64 MiB, larger than this
//! machine's last-level cache (the memory-bound case a large VMO lives in), and 256 KiB, which
//! stays in cache (where per-call overhead shows most).
//!
//! `cargo bench -p vm-engine --bench throughput` (add `-- --quick` for a fast smoke run).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vm_engine::{InMemoryFrames, InMemoryPlatform, Vmo, VmoOptions, PAGE_SIZE};

type TestVmo = Vmo<InMemoryPlatform>;

/// A page-aligned page, so that buffers start where frames do: copies between buffers whose
/// addresses differ by a small amount modulo 64 take a slow path of `rep movsb` on some CPUs,
/// which would make the baseline, not the engine, the thing measured.
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct AlignedPage([u8; PAGE_SIZE]);

/// A page-aligned buffer of `bytes` bytes (a multiple of the page size), every byte `fill`.
fn aligned_buffer(bytes: usize, fill: u8) -> Vec<AlignedPage> {
    vec![AlignedPage([fill; PAGE_SIZE]); bytes / PAGE_SIZE]
}

struct WorkingSet {
    label: &'static str,
    bytes: usize,
    rounds: usize,
}

/// Median of the samples.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times `case` and the memcpy baseline in alternation; returns (case, memcpy) medians.
/// `prepare` runs untimed before each timed round and hands the case its state, which is
/// dropped after the round's clock stops.
fn compare<T>(
    set: &WorkingSet,
    mut prepare: impl FnMut() -> T,
    mut case: impl FnMut(&T),
) -> (Duration, Duration) {
    let src = aligned_buffer(set.bytes, 0x5a);
    let mut dst = aligned_buffer(set.bytes, 0);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    // One untimed round of each to warm caches, free lists and page tables.
    for round in 0..=set.rounds {
        let start = Instant::now();
        for (d, s) in dst.iter_mut().zip(&src) {
            d.0.copy_from_slice(black_box(&s.0));
        }
        black_box(&mut dst);
        let baseline = start.elapsed();
        let state = prepare();
        let start = Instant::now();
        case(&state);
        let elapsed = start.elapsed();
        drop(state);
        if round > 0 {
            theirs.push(baseline);
            ours.push(elapsed);
        }
    }
    (median(ours), median(theirs))
}

fn report(name: &str, set: &WorkingSet, target: &str, (ours, memcpy): (Duration, Duration)) {
    let gib = |d: Duration| set.bytes as f64 / d.as_secs_f64() / (1u64 << 30) as f64;
    println!(
        "{name:<34} {:>8} {:>9.2} {:>9.2} {:>7.2}x  {target}",
        set.label,
        gib(ours),
        gib(memcpy),
        memcpy.as_secs_f64() / ours.as_secs_f64(),
    );
}

fn filled_vmo(frames: &Arc<InMemoryFrames>, bytes: usize) -> TestVmo {
    let vmo = TestVmo::create(frames.clone(), bytes as u64, VmoOptions::default()).unwrap();
    let page = [0xa5u8; PAGE_SIZE];
    for offset in (0..bytes).step_by(PAGE_SIZE) {
        vmo.write(offset as u64, &page).unwrap();
    }
    vmo
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sets = [
        WorkingSet {
            label: "64 MiB",
            bytes: 64 << 20,
            rounds: if quick { 2 } else { 9 },
        },
        WorkingSet {
            label: "256 KiB",
            bytes: 256 << 10,
            rounds: if quick { 20 } else { 2001 },
        },
    ];
    println!(
        "{:<34} {:>8} {:>9} {:>9} {:>8}  target",
        "case (4 KiB calls)", "set", "GiB/s", "memcpy", "ratio"
    );
    for set in &sets {
        let frames = Arc::new(InMemoryFrames::new());
        let mut buffer = aligned_buffer(set.bytes, 0);
        let source = aligned_buffer(set.bytes, 0x3c);

        let vmo = filled_vmo(&frames, set.bytes);
        let read = compare(
            set,
            || {},
            |_| {
                for (offset, out) in buffer.iter_mut().enumerate() {
                    vmo.read((offset * PAGE_SIZE) as u64, &mut out.0).unwrap();
                }
                black_box(&mut buffer);
            },
        );
        report("read committed pages", set, ">= 0.9x", read);

        let write = compare(
            set,
            || {},
            |_| {
                for (offset, data) in source.iter().enumerate() {
                    vmo.write((offset * PAGE_SIZE) as u64, black_box(&data.0))
                        .unwrap();
                }
            },
        );
        report("write committed pages", set, ">= 0.9x", write);

        let zero = compare(
            set,
            || vmo.commit(0, set.bytes as u64).unwrap(),
            |_| {
                for offset in (0..set.bytes).step_by(PAGE_SIZE) {
                    vmo.zero(offset as u64, PAGE_SIZE as u64).unwrap();
                }
            },
        );
        report("zero whole pages (releases them)", set, "", zero);
        drop(vmo);

        let fresh_vmo =
            || TestVmo::create(frames.clone(), set.bytes as u64, VmoOptions::default()).unwrap();
        let first_write = compare(set, fresh_vmo, |vmo| {
            for (offset, data) in source.iter().enumerate() {
                vmo.write((offset * PAGE_SIZE) as u64, black_box(&data.0))
                    .unwrap();
            }
        });
        report("first write into fresh pages", set, ">= 0.6x", first_write);

        let commit = compare(set, fresh_vmo, |vmo| {
            for offset in (0..set.bytes).step_by(PAGE_SIZE) {
                vmo.commit(offset as u64, PAGE_SIZE as u64).unwrap();
            }
        });
        report("commit fresh pages (zero-filled)", set, "", commit);
    }

    let frames = Arc::new(InMemoryFrames::new());
    let pages = 262_144usize;
    let vmo = filled_vmo(&frames, pages * PAGE_SIZE);
    println!(
        "\npage-list metadata, {pages} committed pages: {:.2} bytes a page (limit 16)",
        vmo.page_list_metadata_bytes() as f64 / pages as f64
    );
    let sparse = TestVmo::create(frames.clone(), 1 << 40, VmoOptions::default()).unwrap();
    for page in [0u64, 1 << 20, 1 << 24, (1 << 28) - 1] {
        sparse.write(page * PAGE_SIZE as u64, &[1]).unwrap();
    }
    println!(
        "page-list metadata, 4 scattered pages in a 1 TiB VMO: {} bytes in all",
        sparse.page_list_metadata_bytes()
    );
}
