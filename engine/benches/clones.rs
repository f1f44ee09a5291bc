//! Copy-on-write clone trees: the six measurements of the clone-tree issue, each a RATIO of two
//! cases timed in alternation in the same run (the last is a frame count), printed as a table
//! with the target, whether it is met (for "~1x" targets: at most 2x), and the closest
//! Rust peer's figure where the issue gives one.
//!
//! 1. `create_child` (snapshot) of a VMO with 262 144 committed pages (1 GiB) vs one with 1 page.
//!    Only the call is timed; the child is then dropped, timed apart (row 1b: the drop is not
//!    O(1) today). Both cases follow the same untimed sequence of operations, so that they start
//!    from the same cache state (see [`creation`]).
//! 2. First 4 KiB write to pages shared with a snapshot (the snapshot writing; then the parent)
//!    vs first writes to fresh pages of a VMO with no clones, 4096 pages a round, per page; again
//!    with 256 pages a round, which stay in cache.
//! 3. Reading 4096 pages in 4 KiB calls from the last of a chain of 64 live snapshots (each of
//!    the one before) vs from a single snapshot; again with every level having written one
//!    different page (the single snapshot too); both again with 256 pages.
//! 4. Closing (dropping) a snapshot that wrote 16 pages of a 262 144-page parent vs of a
//!    1024-page parent.
//! 5. `committed_bytes()` on a parent + snapshot family of 262 144 pages vs of 1024 pages,
//!    each side having diverged on 16 pages; asked of the parent, then of the snapshot.
//! 6. Frames in use after a progressive chain of 5 snapshots of a fully written 6-page VMO, each
//!    level writing one page (ideal: 6 + 5 = 11).
//!
//! Every time is the median of alternating rounds after one untimed warm-up round; set-up and
//! tear-down stay outside the clock, buffers are page-aligned as in `throughput.rs`, and each
//! case checks once, untimed, that it built the state it claims (contents, accounting).
//!
//! `cargo bench -p vm-engine --bench clones` (about 10 s; add `-- --quick` for a smoke run of
//! well under a second on a 16 384-page big VMO and 256-page sets, whose ratios are not the
//! issue's figures).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vm_engine::{
    ChildKind, FrameSource, InMemoryFrames, InMemoryPlatform, Vmo, VmoOptions, PAGE_SIZE,
};

type TestVmo = Vmo<InMemoryPlatform>;

const PAGE: u64 = PAGE_SIZE as u64;

/// A page-aligned page, so that copies between buffers and frames stay on the fast path of
/// `rep movsb` (see `throughput.rs`).
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct AlignedPage([u8; PAGE_SIZE]);

/// A page-aligned buffer of `pages` pages, every byte `fill`.
fn aligned_buffer(pages: u64, fill: u8) -> Vec<AlignedPage> {
    vec![AlignedPage([fill; PAGE_SIZE]); pages as usize]
}

/// Pages a round of measurements 2 and 3, and how many rounds.
struct WorkingSet {
    pages: u64,
    rounds: usize,
}

/// Sizes and round counts of one run.
struct Config {
    quick: bool,
    /// Committed pages of the large VMO of measurements 1, 4 and 5 (the issue: 262 144).
    big_pages: u64,
    /// Committed pages of the small VMO of measurements 4 and 5 (the issue: 1024).
    small_pages: u64,
    /// Measurements 2 and 3 run once for each.
    sets: Vec<WorkingSet>,
    /// Snapshot levels of measurement 3.
    depth: u64,
    /// Pages the snapshot writes before it is closed (4), and each side diverges on (5).
    diverged: u64,
    create_rounds: usize,
    close_rounds: usize,
    info_rounds: usize,
}

impl Config {
    fn new(quick: bool) -> Self {
        let set = |pages, rounds| WorkingSet { pages, rounds };
        let rounds = |full, quick_rounds| if quick { quick_rounds } else { full };
        Config {
            quick,
            big_pages: if quick { 16_384 } else { 262_144 },
            small_pages: 1024,
            sets: if quick {
                vec![set(256, 51)]
            } else {
                vec![set(4096, 31), set(256, 201)]
            },
            depth: 64,
            diverged: 16,
            create_rounds: rounds(101, 21),
            close_rounds: rounds(31, 11),
            info_rounds: rounds(21, 5),
        }
    }
}

/// Median of the samples.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `a` then `b`, `rounds` times after one discarded warm-up round of each, and returns the
/// samples each produced. Each closure does its own untimed set-up and times only its case.
fn alternate<A, B>(
    rounds: usize,
    mut a: impl FnMut() -> A,
    mut b: impl FnMut() -> B,
) -> (Vec<A>, Vec<B>) {
    let (mut xs, mut ys) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..=rounds {
        let (x, y) = (a(), b());
        if round > 0 {
            xs.push(x);
            ys.push(y);
        }
    }
    (xs, ys)
}

/// Time taken by `f`, and its result (dropped by the caller, outside the clock).
fn timed<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let result = black_box(f());
    (start.elapsed(), result)
}

/// A duration in the unit that suits it.
fn human(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// Nanoseconds a page, for cases that loop over many pages.
fn per_page(d: Duration, pages: u64) -> String {
    format!("{:.0} ns/pg", d.as_secs_f64() * 1e9 / pages as f64)
}

/// What a row is measured against.
struct Target {
    /// As printed.
    text: &'static str,
    /// The largest ratio that meets it (`None`: no target).
    limit: Option<f64>,
    /// The closest Rust peer's figure, where the issue gives one.
    peer: &'static str,
}

const O1_CREATE: Target = Target {
    text: "<= 2x",
    limit: Some(2.0),
    peer: "",
};
const NO_TARGET: Target = Target {
    text: "",
    limit: None,
    peer: "",
};
const FIRST_WRITE: Target = Target {
    text: "<= 1.4x",
    limit: Some(1.4),
    peer: "",
};
const DEEP_READ: Target = Target {
    text: "<= 4x",
    limit: Some(4.0),
    peer: "peer 13x",
};
/// "Near 1": met up to 2x.
const CLOSE: Target = Target {
    text: "~1x",
    limit: Some(2.0),
    peer: "peer grows with parent",
};
const INFO: Target = Target {
    text: "~1x",
    limit: Some(2.0),
    peer: "",
};

/// One row of the table: `a` and `b` as printed, and their ratio.
fn row(id: &str, what: &str, a: String, b: String, ratio: f64, target: &Target) {
    let met = match target.limit {
        Some(limit) if ratio <= limit => "yes",
        Some(_) => "NO",
        None => "",
    };
    println!(
        "{id:<3} {what:<62} {a:>11} {b:>11} {:>9}  {:<9} {met:<4} {}",
        times(ratio),
        target.text,
        target.peer
    );
}

/// A ratio as "1.23x" (whole numbers from 100 up).
fn times(ratio: f64) -> String {
    if ratio < 100.0 {
        format!("{ratio:.2}x")
    } else {
        format!("{ratio:.0}x")
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn snapshot(of: &TestVmo, pages: u64) -> TestVmo {
    of.create_child(ChildKind::Snapshot, 0, pages * PAGE, VmoOptions::default())
        .unwrap()
}

/// A VMO of `pages` pages, every page written (so committed) with `0xa5`.
fn filled_vmo(frames: &Arc<InMemoryFrames>, pages: u64) -> TestVmo {
    let vmo = TestVmo::create(frames.clone(), pages * PAGE, VmoOptions::default()).unwrap();
    let page = [0xa5u8; PAGE_SIZE];
    for at in 0..pages {
        vmo.write(at * PAGE, &page).unwrap();
    }
    vmo
}

/// Writes every page of `source` into `vmo`, one 4 KiB call a page.
fn write_pages(vmo: &TestVmo, source: &[AlignedPage]) {
    for (at, data) in source.iter().enumerate() {
        vmo.write(at as u64 * PAGE, black_box(&data.0)).unwrap();
    }
}

/// Reads `buffer.len()` pages of `vmo`, one 4 KiB call a page.
fn read_pages(vmo: &TestVmo, buffer: &mut [AlignedPage]) {
    for (at, out) in buffer.iter_mut().enumerate() {
        vmo.read(at as u64 * PAGE, &mut out.0).unwrap();
    }
    black_box(buffer);
}

/// `count` page indices spread evenly over `pages` pages, starting at `first`.
fn spread(pages: u64, count: u64, first: u64) -> impl Iterator<Item = u64> {
    (0..count).map(move |k| (first + k * pages / count) % pages)
}

/// The byte at the start of page `at`.
fn byte(vmo: &TestVmo, at: u64) -> u8 {
    let mut b = [0u8];
    vmo.read(at * PAGE, &mut b).unwrap();
    b[0]
}

/// 1: snapshot creation of a big vs a one-page VMO; the drop after it is reported apart.
///
/// The call takes a few hundred nanoseconds, so cache and TLB state decide the figure: the big
/// drop of every round evicts both, and whichever create follows it runs several times slower.
/// Both cases therefore follow the same untimed sequence, and `small` and `warm` (one-page VMOs
/// of two more families) are created before `big`'s frames, as `big`'s family is. Set up
/// otherwise, the same code measured anywhere from 0.5x to over 10x, by order and heap layout
/// alone, while a sweep of sizes from 1 to 262 144 pages with matched state (tried while
/// writing this benchmark) measured the same at every size.
fn creation(cfg: &Config, big: &TestVmo, small: &TestVmo, warm: &TestVmo, timer: Duration) {
    let create_then_drop = |vmo: &TestVmo, pages: u64| {
        // Untimed first, the same sequence before both cases, so that both creates start from
        // the same cache state: a snapshot of each VMO created and dropped, one of a third,
        // one-page family (the code of `create_child` back in cache after the big drop, which
        // evicts caches and TLB), and a look at each VMO (both families in cache).
        drop(snapshot(big, cfg.big_pages));
        drop(snapshot(small, 1));
        drop(snapshot(warm, 1));
        black_box((big.size(), small.size()));
        let (create, child) = timed(|| snapshot(vmo, pages));
        (create, timed(|| drop(child)).0)
    };
    let (on_big, on_small) = alternate(
        cfg.create_rounds,
        || create_then_drop(big, cfg.big_pages),
        || create_then_drop(small, 1),
    );
    let (create_big, drop_big): (Vec<_>, Vec<_>) = on_big.into_iter().unzip();
    let (create_small, drop_small): (Vec<_>, Vec<_>) = on_small.into_iter().unzip();
    let (create_big, create_small) = (median(create_big), median(create_small));
    let (drop_big, drop_small) = (median(drop_big), median(drop_small));
    row(
        "1",
        &format!(
            "create_child (snapshot): {}-page vs 1-page VMO",
            cfg.big_pages
        ),
        human(create_big),
        human(create_small),
        ratio(create_big, create_small),
        &O1_CREATE,
    );
    let net = |d: Duration| human(d.saturating_sub(timer));
    println!(
        "{:<3} {:<62} {:>11} {:>11} {:>9}  (timer overhead {} subtracted)",
        "",
        "  same, net of timer overhead",
        net(create_big),
        net(create_small),
        times(ratio(
            create_big.saturating_sub(timer),
            create_small.saturating_sub(timer)
        )),
        human(timer),
    );
    row(
        "1b",
        "  drop of that snapshot (it wrote nothing; untimed in 1)",
        human(drop_big),
        human(drop_small),
        ratio(drop_big, drop_small),
        &NO_TARGET,
    );
}

/// Row ids and descriptions of a measurement's two rows for working set `index`: the first set
/// gets `base` and `base` + "b", later ones the next letters and a pointer to the first two.
fn row_names(index: usize, base: &str, first: [&str; 2], pages: u64) -> [(String, String); 2] {
    if index == 0 {
        return [
            (base.to_string(), first[0].to_string()),
            (format!("{base}b"), first[1].to_string()),
        ];
    }
    let letters = ["c", "d", "e", "f"];
    let again = |k: usize, of: &str| {
        (
            format!("{base}{}", letters[2 * (index - 1) + k]),
            format!("  {of} again, {pages} pages a round (in cache)"),
        )
    };
    [again(0, base), again(1, &format!("{base}b"))]
}

/// 2: first writes into pages shared with a snapshot vs into fresh pages of a clone-less VMO.
fn first_writes(frames: &Arc<InMemoryFrames>, set: &WorkingSet, index: usize) {
    let pages = set.pages;
    let names = row_names(
        index,
        "2",
        [
            "first 4 KiB write: shared page (snapshot writes) vs fresh",
            "  same, the parent writes (the snapshot keeps the old pages)",
        ],
        pages,
    );
    let source = aligned_buffer(pages, 0x3c);
    let parent = filled_vmo(frames, pages);
    let fresh = || {
        let vmo = TestVmo::create(frames.clone(), pages * PAGE, VmoOptions::default()).unwrap();
        timed(|| write_pages(&vmo, &source)).0
    };
    {
        // Untimed check: a write on either side copies, and the other side keeps the old page.
        let child = snapshot(&parent, pages);
        child.write(0, &[1]).unwrap();
        parent.write(PAGE, &[2]).unwrap();
        assert_eq!((byte(&parent, 0), byte(&child, 0)), (0xa5, 1));
        assert_eq!((byte(&parent, 1), byte(&child, 1)), (2, 0xa5));
    }
    // The snapshot writes: every page gets a new frame (the parent still reads the old one).
    // Then the parent writes: the same (the snapshot still reads the old one); dropping the
    // snapshot, untimed, leaves the parent holding its pages alone again for the next round.
    let snapshot_writes = || {
        let child = snapshot(&parent, pages);
        timed(|| write_pages(&child, &source)).0
    };
    let parent_writes = || {
        let child = snapshot(&parent, pages);
        let elapsed = timed(|| write_pages(&parent, &source)).0;
        drop(child);
        elapsed
    };
    for ((id, what), shared) in names
        .iter()
        .zip([&snapshot_writes as &dyn Fn() -> Duration, &parent_writes])
    {
        let (shared, baseline) = alternate(set.rounds, shared, fresh);
        let (shared, baseline) = (median(shared), median(baseline));
        row(
            id,
            what,
            per_page(shared, pages),
            per_page(baseline, pages),
            ratio(shared, baseline),
            &FIRST_WRITE,
        );
    }
}

/// A filled VMO followed by `depth` snapshots, each of the one before; with `writes`, level `i`
/// writes byte `i` over one page of its own, a different page at each level.
fn chain(frames: &Arc<InMemoryFrames>, pages: u64, depth: u64, writes: bool) -> Vec<TestVmo> {
    let mut levels = vec![filled_vmo(frames, pages)];
    for (level, at) in (1..=depth).zip(spread(pages, depth, 0)) {
        let child = snapshot(levels.last().unwrap(), pages);
        if writes {
            child.write(at * PAGE, &[level as u8; PAGE_SIZE]).unwrap();
        }
        levels.push(child);
    }
    levels
}

/// 3: reading through 64 snapshot levels vs through one.
fn chain_reads(cfg: &Config, frames: &Arc<InMemoryFrames>, set: &WorkingSet, index: usize) {
    let pages = set.pages;
    let names = row_names(
        index,
        "3",
        [
            "read in 4 KiB calls: through 64 snapshot levels vs 1",
            "  same, every level wrote one different page",
        ],
        pages,
    );
    let (mut deep_buffer, mut shallow_buffer) =
        (aligned_buffer(pages, 0), aligned_buffer(pages, 0));
    for ((id, what), writes) in names.iter().zip([false, true]) {
        let deep = chain(frames, pages, cfg.depth, writes);
        let shallow = chain(frames, pages, 1, writes);
        let (deepest, only) = (deep.last().unwrap(), shallow.last().unwrap());
        // The deepest level must see every level's page, and the original data elsewhere.
        for (level, at) in (1..=cfg.depth).zip(spread(pages, cfg.depth, 0)) {
            let expected = if writes { level as u8 } else { 0xa5 };
            assert_eq!(byte(deepest, at), expected);
        }
        assert_eq!(byte(deepest, pages - 1), 0xa5);
        let (a, b) = alternate(
            set.rounds,
            || timed(|| read_pages(deepest, &mut deep_buffer)).0,
            || timed(|| read_pages(only, &mut shallow_buffer)).0,
        );
        let (a, b) = (median(a), median(b));
        row(
            id,
            what,
            per_page(a, pages),
            per_page(b, pages),
            ratio(a, b),
            &DEEP_READ,
        );
    }
}

/// 4: closing a snapshot that wrote `cfg.diverged` pages, of a big vs a small parent.
fn closing(cfg: &Config, big: &TestVmo, small: &TestVmo) {
    let page = [0x77u8; PAGE_SIZE];
    let frames = big.frames().clone();
    let before = frames.frames_in_use();
    let close = |parent: &TestVmo, pages: u64| {
        let child = snapshot(parent, pages);
        for at in spread(pages, cfg.diverged, 0) {
            child.write(at * PAGE, &page).unwrap();
        }
        timed(|| drop(child)).0
    };
    let (a, b) = alternate(
        cfg.close_rounds,
        || close(big, cfg.big_pages),
        || close(small, cfg.small_pages),
    );
    assert_eq!(frames.frames_in_use(), before, "closing frees the copies");
    let (a, b) = (median(a), median(b));
    row(
        "4",
        &format!(
            "close snapshot (wrote {}): {}-page vs {}-page parent",
            cfg.diverged, cfg.big_pages, cfg.small_pages
        ),
        human(a),
        human(b),
        ratio(a, b),
        &CLOSE,
    );
}

/// 5: `info()` on a parent + snapshot family that diverged on `cfg.diverged` pages each side.
fn accounting(cfg: &Config, big: &TestVmo, small: &TestVmo) {
    let page = [0x66u8; PAGE_SIZE];
    let diverge = |parent: &TestVmo, pages: u64| {
        let child = snapshot(parent, pages);
        let half = pages / cfg.diverged / 2;
        for (at, other) in spread(pages, cfg.diverged, 0).zip(spread(pages, cfg.diverged, half)) {
            child.write(at * PAGE, &page).unwrap();
            parent.write(other * PAGE, &page).unwrap();
        }
        // The parent, older, pays for every page it reads; the snapshot for its own copies and
        // for the old pages only it still reads.
        assert_eq!(parent.info().committed_bytes, pages * PAGE);
        assert_eq!(child.info().committed_bytes, 2 * cfg.diverged * PAGE);
        child
    };
    let big_child = diverge(big, cfg.big_pages);
    let small_child = diverge(small, cfg.small_pages);
    for (id, what, big_vmo, small_vmo) in [
        (
            "5",
            format!(
                "committed_bytes() on parent: {}-page vs {}-page family",
                cfg.big_pages, cfg.small_pages
            ),
            big,
            small,
        ),
        (
            "5b",
            "  committed_bytes() on the snapshot".to_string(),
            &big_child,
            &small_child,
        ),
    ] {
        let (a, b) = alternate(
            cfg.info_rounds,
            || timed(|| big_vmo.committed_bytes()).0,
            || timed(|| small_vmo.committed_bytes()).0,
        );
        let (a, b) = (median(a), median(b));
        row(id, &what, human(a), human(b), ratio(a, b), &INFO);
    }
    // The whole info() also counts populated bytes, which still walks the frames the VMO sees.
    let (a, b) = alternate(
        cfg.info_rounds,
        || timed(|| big.info()).0,
        || timed(|| small.info()).0,
    );
    let (a, b) = (median(a), median(b));
    let what = "  info() incl. populated bytes (walks frames)";
    row("5c", what, human(a), human(b), ratio(a, b), &NO_TARGET);
}

/// 6: frames in use after a progressive chain of 5 snapshots of a written 6-page VMO, each level
/// writing one page.
fn chain_frames() {
    let frames = Arc::new(InMemoryFrames::new());
    let original = TestVmo::create(frames.clone(), 6 * PAGE, VmoOptions::default()).unwrap();
    for at in 0..6 {
        original
            .write(at * PAGE, &[0xa0 + at as u8; PAGE_SIZE])
            .unwrap();
    }
    let mut levels = vec![original];
    for level in 1..=5u64 {
        let child = snapshot(levels.last().unwrap(), 6);
        child
            .write(level * PAGE, &[level as u8; PAGE_SIZE])
            .unwrap();
        levels.push(child);
    }
    // Level `l` sees its own page and those of the levels above it; the rest is the original.
    for (l, vmo) in levels.iter().enumerate() {
        for at in 0..6u64 {
            let expected = if at >= 1 && at <= l as u64 {
                at as u8
            } else {
                0xa0 + at as u8
            };
            assert_eq!(byte(vmo, at), expected);
        }
    }
    let in_use = frames.frames_in_use();
    let committed: u64 = levels.iter().map(|v| v.info().committed_bytes / PAGE).sum();
    assert_eq!(committed, in_use as u64, "every frame is paid for once");
    println!(
        "{:<3} {:<62} {:>11} {:>11} {:>9}  {:<9} {:<4} peer 21",
        "6",
        "frames in use: 6-page VMO + 5 snapshots, 1 page each",
        in_use,
        "",
        "",
        "11",
        if in_use <= 11 { "yes" } else { "NO" },
    );
}

fn main() {
    let started = Instant::now();
    let cfg = Config::new(std::env::args().any(|a| a == "--quick"));
    let set_pages: Vec<String> = cfg.sets.iter().map(|set| set.pages.to_string()).collect();
    if cfg.quick {
        println!(
            "QUICK smoke run: big VMO of {} pages (the issue: 262144), {} pages a round in 2 \
             and 3, few rounds; its ratios are not the issue's figures.",
            cfg.big_pages,
            set_pages.join(", ")
        );
    }
    let timer = median((0..10_001).map(|_| timed(|| ()).0).collect());
    let set_rounds: Vec<String> = cfg.sets.iter().map(|set| set.rounds.to_string()).collect();
    println!(
        "medians of alternating rounds (create {}, write and read {}, close {}, info {}); \
         A/B = ratio of the medians; 2 and 3: {} pages a round, ns/pg = a page\n",
        cfg.create_rounds,
        set_rounds.join(" and "),
        cfg.close_rounds,
        cfg.info_rounds,
        set_pages.join(" and "),
    );
    println!(
        "{:<3} {:<62} {:>11} {:>11} {:>9}  {:<9} {:<4} closest Rust peer",
        "#", "measurement: A vs B", "A", "B", "A/B", "target", "met"
    );

    let frames = Arc::new(InMemoryFrames::new());
    let (one_page, warm) = (filled_vmo(&frames, 1), filled_vmo(&frames, 1));
    let big = filled_vmo(&frames, cfg.big_pages);
    let small = filled_vmo(&frames, cfg.small_pages);
    creation(&cfg, &big, &one_page, &warm, timer);
    drop((one_page, warm));
    for (index, set) in cfg.sets.iter().enumerate() {
        first_writes(&frames, set, index);
    }
    for (index, set) in cfg.sets.iter().enumerate() {
        chain_reads(&cfg, &frames, set, index);
    }
    closing(&cfg, &big, &small);
    accounting(&cfg, &big, &small);
    drop((big, small));
    chain_frames();
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
}
