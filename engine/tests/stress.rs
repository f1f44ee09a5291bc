//! Concurrency stress tests of the engine: several threads hammer VMOs of shared families (every
//! thread takes children of the same roots, so their operations meet under the same family
//! locks and in the same clone trees) and one shared address space, each checking its own
//! results against a per-thread model that stays exact whatever the other threads do:
//!
//! - a thread writes only VMOs it created, and of the shared roots only its own partition of
//!   pages (directly or through slices inside it);
//! - a page of the model is either known (its bytes are what the thread's own operations made
//!   them) or unknown (another thread may have changed it, or the engine is free to show
//!   either of two contents): reads compare the known pages only, and read everything else only
//!   to catch crashes;
//! - a one-way clone's page follows its parent until the clone writes or commits it; whenever
//!   the parent's content changes there, the model forgets the page (it becomes unknown).
//!
//! The engine's invariant checker runs on the shared families at random moments (it takes the
//! family lock, so the invariants must hold between any two operations), and after every round
//! (all threads parked on a barrier) on every family together with the address space's
//! translation checker. At the end every VMO is gone and no frame is in use.
//!
//! Further tests race the drop of two snapshot children of one parent (a hidden node losing
//! both children at once), the close of a parent against writes and snapshots of its children,
//! and write faults on one page through two mappings against snapshots of it.
//!
//! `VM_STRESS_ROUNDS=<n>` runs longer (the default keeps a debug run well under 20 s on two
//! cores); `VM_STRESS_SEED=<n>` chooses the seeds (each thread's seed is derived from it and
//! printed on failure; thread scheduling is not replayable, so a failure may need a few runs).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use vm_engine::{
    Access, AccessError, AddressSpace, ChildKind, FrameSource, InMemoryFrames, InMemoryPlatform,
    MapRequest, Perms, SoftwareMmu, VmError, Vmo, VmoOptions,
};

type V = Vmo<InMemoryPlatform>;
type Space = AddressSpace<InMemoryPlatform>;

const PAGE: u64 = 4096;
const P: usize = PAGE as usize;

const THREADS: usize = 4;
/// Shared root families.
const FAMILIES: usize = 3;
/// Pages of each root every thread owns.
const PARTITION: u64 = 4;
const ROOT_PAGES: u64 = PARTITION * THREADS as u64;

// ---------------------------------------------------------------------------------------------
// Configuration, randomness, failure reports.

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

/// How many times longer than the default to run.
fn scale() -> u64 {
    env_u64("VM_STRESS_ROUNDS").unwrap_or(1).max(1)
}

fn base_seed() -> u64 {
    env_u64("VM_STRESS_SEED").unwrap_or(0x0005_EED0_F57E_55ED)
}

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng((seed ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xD1B5_4A32_D192_ED03) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0);
        self.next() % n
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    fn range(&mut self, range: Range<u64>) -> u64 {
        range.start + self.below(range.end - range.start)
    }
}

thread_local! {
    /// What the current thread is doing, for the failure report.
    static DOING: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Names what the current thread does (with its seed) in the report of a panic.
fn doing(what: String) {
    DOING.with(|doing| *doing.borrow_mut() = what);
}

/// Makes any panic fatal at once, reported past the test harness's capture with the seeds: a
/// thread that panics would otherwise leave the others waiting on a barrier for ever.
fn fail_fast() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let what = DOING.with(|doing| doing.borrow().clone());
            report(&format!(
                "stress test panic in {what}: {info}\nbase seed {:#x} (replay with \
                 VM_STRESS_SEED={})",
                base_seed(),
                base_seed()
            ));
            default(info);
            std::process::abort();
        }));
    });
}

/// Writes to the process's stderr, not to the harness's capture.
fn report(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Aborts the process if the test does not finish in time: a deadlock must not hang CI.
struct Watchdog {
    done: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(what: &'static str, limit: Duration) -> Self {
        fail_fast();
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        thread::spawn(move || {
            let start = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                if start.elapsed() > limit {
                    report(&format!(
                        "{what}: still running after {limit:?}: deadlock or livelock? base \
                         seed {:#x}",
                        base_seed()
                    ));
                    std::process::abort();
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        Watchdog { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

fn watchdog_limit() -> Duration {
    Duration::from_secs(120 * scale())
}

fn new_space() -> Space {
    Space::new(1 << 30, 1 << 36, Box::new(SoftwareMmu::new())).expect("address space")
}

fn fill(rng: &mut Rng, len: usize) -> Vec<u8> {
    let start = rng.next() as u8;
    let step = (rng.next() as u8) | 1;
    (0..len)
        .map(|i| start.wrapping_add(step.wrapping_mul(i as u8)))
        .collect()
}

fn pages_of(offset: u64, len: u64) -> Range<u64> {
    if len == 0 {
        return offset / PAGE..offset / PAGE;
    }
    offset / PAGE..(offset + len).div_ceil(PAGE)
}

// ---------------------------------------------------------------------------------------------
// The per-thread model.

/// A one-way clone's link: page `q < limit` of the store reads page `offset + q` of `parent`
/// until the store detaches it (writes or commits it). `limit` is at least the engine's, so
/// forgetting pages on every change in that window is always safe.
#[derive(Clone, Copy)]
struct Follow {
    parent: usize,
    offset: u64,
    limit: u64,
}

/// The content of one VMO (and of every slice of it): bytes, and per page whether they are
/// known.
struct Store {
    bytes: Vec<u8>,
    pages: u64,
    known: Vec<bool>,
    detached: Vec<bool>,
    follow: Option<Follow>,
    followers: Vec<usize>,
    /// Created as a snapshot: decommit must be NotSupported.
    snapshot_child: bool,
    /// Views (VMOs and mappings) that can still reach the bytes.
    refs: usize,
}

#[derive(Default)]
struct Model {
    stores: Vec<Store>,
    /// Known pages compared with what the engine returned.
    compared: u64,
}

/// How a VMO (or a mapping of it) sees a store.
#[derive(Clone)]
struct View {
    store: usize,
    /// Byte offset of the VMO in the store (slices).
    base: u64,
    /// Size of a slice (fixed); others have their store's size.
    fixed: Option<u64>,
    /// Bytes the thread may change (its partition of a shared root; everything otherwise).
    writable: Range<u64>,
    resizable: bool,
    root: bool,
}

impl Model {
    fn add(
        &mut self,
        bytes: Vec<u8>,
        known: Vec<bool>,
        follow: Option<Follow>,
        snapshot_child: bool,
    ) -> usize {
        let pages = bytes.len() as u64 / PAGE;
        let id = self.stores.len();
        if let Some(follow) = follow {
            self.stores[follow.parent].followers.push(id);
        }
        self.stores.push(Store {
            bytes,
            pages,
            detached: vec![follow.is_none(); pages as usize],
            known,
            follow,
            followers: Vec::new(),
            snapshot_child,
            refs: 0,
        });
        id
    }

    fn size(&self, view: &View) -> u64 {
        view.fixed.unwrap_or(self.stores[view.store].pages * PAGE)
    }

    fn take_ref(&mut self, view: &View) {
        self.stores[view.store].refs += 1;
    }

    fn drop_ref(&mut self, view: &View) {
        let store = &mut self.stores[view.store];
        store.refs -= 1;
        if store.refs == 0 {
            // Nobody can read or change these bytes any more (followers keep their own copy).
            store.bytes = Vec::new();
        }
    }

    /// The content of `len` bytes of a view at `offset` as a new store would start with it:
    /// bytes and per-page knowledge, zeros past the view's end.
    fn copy_out(&self, view: &View, offset: u64, pages: u64) -> (Vec<u8>, Vec<bool>) {
        let size = self.size(view);
        let store = &self.stores[view.store];
        let mut bytes = vec![0u8; (pages * PAGE) as usize];
        let mut known = vec![true; pages as usize];
        for q in 0..pages {
            let at = offset + q * PAGE;
            if at < size {
                let s = (view.base + at) as usize;
                bytes[(q * PAGE) as usize..((q + 1) * PAGE) as usize]
                    .copy_from_slice(&store.bytes[s..s + P]);
                known[q as usize] = store.known[s / P];
            }
        }
        (bytes, known)
    }

    /// The content of store `s` changed in `pages`: followers forget what they follow there.
    fn changed(&mut self, s: usize, pages: Range<u64>) {
        let followers = self.stores[s].followers.clone();
        for f in followers {
            let Some(follow) = self.stores[f].follow else {
                continue;
            };
            let lo = pages.start.max(follow.offset);
            let hi = pages.end.min(follow.offset + follow.limit);
            if lo >= hi {
                continue;
            }
            let follower = &mut self.stores[f];
            let (qlo, qhi) = (lo - follow.offset, (hi - follow.offset).min(follower.pages));
            for q in qlo..qhi {
                if !follower.detached[q as usize] {
                    follower.known[q as usize] = false;
                }
            }
            if qlo < qhi {
                self.changed(f, qlo..qhi);
            }
        }
    }

    fn write(&mut self, view: &View, offset: u64, data: &[u8]) {
        let at = view.base + offset;
        let store = &mut self.stores[view.store];
        store.bytes[at as usize..at as usize + data.len()].copy_from_slice(data);
        let pages = pages_of(at, data.len() as u64);
        for p in pages.clone() {
            if at <= p * PAGE && (p + 1) * PAGE <= at + data.len() as u64 {
                store.known[p as usize] = true;
            }
            store.detached[p as usize] = true;
        }
        self.changed(view.store, pages);
    }

    fn commit(&mut self, view: &View, offset: u64, len: u64) {
        let store = &mut self.stores[view.store];
        for p in pages_of(view.base + offset, len) {
            store.detached[p as usize] = true;
        }
    }

    fn zero(&mut self, view: &View, offset: u64, len: u64) {
        let at = view.base + offset;
        let store = &mut self.stores[view.store];
        store.bytes[at as usize..(at + len) as usize].fill(0);
        let pages = pages_of(at, len);
        for p in pages.clone() {
            if at <= p * PAGE && (p + 1) * PAGE <= at + len {
                store.known[p as usize] = true;
                store.detached[p as usize] = true;
            }
            // A partly zeroed page may be left alone (it already read zeros) and keep following.
        }
        self.changed(view.store, pages);
    }

    fn decommit(&mut self, view: &View, offset: u64, len: u64) {
        let at = view.base + offset;
        let store = &mut self.stores[view.store];
        let pages = pages_of(at, len);
        for p in pages.clone() {
            let range = (p * PAGE) as usize..((p + 1) * PAGE) as usize;
            match store.follow {
                // A one-way clone shows its parent again: whatever that is now.
                Some(follow) if p < follow.limit => {
                    store.detached[p as usize] = false;
                    store.known[p as usize] = false;
                }
                _ => {
                    store.bytes[range].fill(0);
                    store.known[p as usize] = true;
                    store.detached[p as usize] = true;
                }
            }
        }
        self.changed(view.store, pages);
    }

    fn resize(&mut self, view: &View, size: u64) {
        let new = size.div_ceil(PAGE);
        let store = &mut self.stores[view.store];
        let old = store.pages;
        store.pages = new;
        store.bytes.resize((new * PAGE) as usize, 0);
        store.known.resize(new as usize, true);
        // Pages past the old end read zeros for ever, whatever the parent does.
        store.detached.resize(new as usize, true);
        if new < old {
            if let Some(follow) = &mut store.follow {
                follow.limit = follow.limit.min(new);
            }
            self.changed(view.store, new..old);
        }
    }

    /// Compares bytes read from a view at `offset` with the model, on known pages only.
    fn check(&mut self, view: &View, offset: u64, actual: &[u8], context: &dyn Fn() -> String) {
        let store = &self.stores[view.store];
        let at = view.base + offset;
        for p in pages_of(at, actual.len() as u64) {
            if !store.known[p as usize] {
                continue;
            }
            self.compared += 1;
            let lo = (p * PAGE).max(at);
            let hi = ((p + 1) * PAGE).min(at + actual.len() as u64);
            let expected = &store.bytes[lo as usize..hi as usize];
            let got = &actual[(lo - at) as usize..(hi - at) as usize];
            if expected != got {
                let first = expected.iter().zip(got).position(|(a, b)| a != b).unwrap();
                panic!(
                    "{}: wrong bytes in store page {p} (view offset {offset:#x}, {} bytes): \
                     at store byte {:#x} expected {:#04x}, read {:#04x}",
                    context(),
                    actual.len(),
                    lo as usize + first,
                    expected[first],
                    got[first]
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared-family stress.

struct Owned {
    vmo: Arc<V>,
    view: View,
    kind: Option<ChildKind>,
}

struct Mapped {
    addr: u64,
    vmo_offset: u64,
    len: u64,
    view: View,
    writable: bool,
}

struct Shared {
    roots: Vec<Arc<V>>,
    space: Space,
    frames: Arc<InMemoryFrames>,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    ops: u64,
    children: u64,
    writes: u64,
    reads: u64,
    mapped: u64,
    checks: u64,
    closes: u64,
    compared: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.ops += other.ops;
        self.children += other.children;
        self.writes += other.writes;
        self.reads += other.reads;
        self.mapped += other.mapped;
        self.checks += other.checks;
        self.closes += other.closes;
        self.compared += other.compared;
    }
}

const KINDS: [ChildKind; 4] = [
    ChildKind::Snapshot,
    ChildKind::SnapshotAtLeastOnWrite,
    ChildKind::Slice,
    ChildKind::OneWay,
];

struct Worker<'a> {
    thread: usize,
    rng: Rng,
    model: Model,
    shared: &'a Shared,
    /// The roots (never closed), then the thread's own VMOs.
    vmos: Vec<Owned>,
    mappings: Vec<Mapped>,
    counts: Counts,
    step: u64,
}

impl<'a> Worker<'a> {
    fn new(thread: usize, shared: &'a Shared, seed: u64) -> Self {
        let mut worker = Worker {
            thread,
            rng: Rng::new(seed),
            model: Model::default(),
            shared,
            vmos: Vec::new(),
            mappings: Vec::new(),
            counts: Counts::default(),
            step: 0,
        };
        for (family, root) in shared.roots.iter().enumerate() {
            // The main thread wrote every partition before the workers started; only this
            // thread's stays known.
            let mut bytes = vec![0u8; (ROOT_PAGES * PAGE) as usize];
            root.read(0, &mut bytes).expect("read root");
            let known = (0..ROOT_PAGES)
                .map(|p| p / PARTITION == thread as u64)
                .collect();
            let store = worker.model.add(bytes, known, None, false);
            let view = View {
                store,
                base: 0,
                fixed: None,
                writable: thread as u64 * PARTITION * PAGE..(thread as u64 + 1) * PARTITION * PAGE,
                resizable: false,
                root: true,
            };
            worker.model.take_ref(&view);
            worker.vmos.push(Owned {
                vmo: shared.roots[family].clone(),
                view,
                kind: None,
            });
        }
        worker
    }

    fn context(&self) -> String {
        format!("thread {} step {}", self.thread, self.step)
    }

    fn pick(&mut self) -> usize {
        self.rng.below(self.vmos.len() as u64) as usize
    }

    /// An owned VMO (not a root), if any.
    fn pick_own(&mut self) -> Option<usize> {
        let roots = self.shared.roots.len();
        (self.vmos.len() > roots)
            .then(|| roots + self.rng.below((self.vmos.len() - roots) as u64) as usize)
    }

    /// A random range inside `0..size` (whole pages with `aligned`), within `writable`.
    fn range_in(&mut self, writable: &Range<u64>, size: u64, aligned: bool) -> Option<(u64, u64)> {
        let lo = writable.start;
        let hi = writable.end.min(size);
        if lo >= hi {
            return None;
        }
        if aligned {
            let first = self.rng.range(lo / PAGE..hi / PAGE);
            let pages = 1 + self.rng.below((hi / PAGE - first).min(3));
            return Some((first * PAGE, pages * PAGE));
        }
        let offset = self.rng.range(lo..hi);
        let len = 1 + self.rng.below((hi - offset).min(2 * PAGE + 50));
        Some((offset, len))
    }

    fn run(&mut self, steps: u64) {
        for _ in 0..steps {
            self.step += 1;
            self.counts.ops += 1;
            match self.rng.below(100) {
                0..=14 => self.create_child(),
                15..=16 => self.create_fresh(),
                17..=31 => self.write(),
                32..=44 => self.read(),
                45..=48 => self.commit(),
                49..=51 => self.decommit(),
                52..=55 => self.zero(),
                56..=59 => self.resize(),
                60..=66 => self.map(),
                67..=80 => self.access(),
                81..=84 => self.unmap(),
                85..=92 => self.close(),
                93..=96 => self.poke_others(),
                _ => self.check_family(),
            }
            while self.vmos.len() > self.shared.roots.len() + 24 {
                let victim = self.pick_own().unwrap();
                self.close_at(victim);
            }
            while self.mappings.len() > 16 {
                self.unmap_at(0);
            }
        }
    }

    fn create_fresh(&mut self) {
        let pages = self.rng.range(1..7);
        let resizable = self.rng.chance(2);
        let vmo = V::create(
            self.shared.frames.clone(),
            pages * PAGE,
            VmoOptions { resizable },
        )
        .expect("create");
        let store = self.model.add(
            vec![0; (pages * PAGE) as usize],
            vec![true; pages as usize],
            None,
            false,
        );
        let view = View {
            store,
            base: 0,
            fixed: None,
            writable: 0..u64::MAX,
            resizable,
            root: false,
        };
        self.model.take_ref(&view);
        self.vmos.push(Owned {
            vmo: Arc::new(vmo),
            view,
            kind: None,
        });
        self.counts.children += 1;
    }

    fn create_child(&mut self) {
        // Half the time a child of a shared root, so that the families stay shared.
        let parent = if self.rng.chance(2) {
            self.rng.below(self.shared.roots.len() as u64) as usize
        } else {
            self.pick()
        };
        let kind = KINDS[self.rng.below(4) as usize];
        let parent_view = self.vmos[parent].view.clone();
        let parent_size = self.model.size(&parent_view);
        let resizable = kind != ChildKind::Slice && self.rng.chance(2);
        let (offset, size) = if kind == ChildKind::Slice {
            // Inside the parent, and inside what this thread may write.
            match self.range_in(&parent_view.writable.clone(), parent_size, true) {
                Some(range) => range,
                None => return,
            }
        } else {
            // Anywhere, possibly past the parent's end.
            let offset = self.rng.below(parent_size / PAGE + 2) * PAGE;
            (offset, self.rng.range(1..7) * PAGE)
        };
        let context = || {
            format!(
                "{}: create_child({kind:?}, {offset:#x}, {size:#x}) of a VMO of {parent_size:#x}",
                self.context()
            )
        };
        let result =
            self.vmos[parent]
                .vmo
                .create_child(kind, offset, size, VmoOptions { resizable });
        if kind == ChildKind::Slice && parent_view.resizable {
            assert_eq!(
                result.map(|_| ()),
                Err(VmError::NotSupported),
                "{}",
                context()
            );
            return;
        }
        let child = result.unwrap_or_else(|error| panic!("{}: {error:?}", context()));
        let view = match kind {
            ChildKind::Slice => View {
                store: parent_view.store,
                base: parent_view.base + offset,
                fixed: Some(size),
                writable: 0..u64::MAX,
                resizable: false,
                root: false,
            },
            _ => {
                let pages = size / PAGE;
                let (bytes, known) = self.model.copy_out(&parent_view, offset, pages);
                let follow = (kind == ChildKind::OneWay).then(|| Follow {
                    parent: parent_view.store,
                    offset: (parent_view.base + offset) / PAGE,
                    limit: pages,
                });
                let store = self.model.add(
                    bytes,
                    known,
                    follow,
                    matches!(
                        kind,
                        ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite
                    ),
                );
                View {
                    store,
                    base: 0,
                    fixed: None,
                    writable: 0..u64::MAX,
                    resizable,
                    root: false,
                }
            }
        };
        self.model.take_ref(&view);
        self.vmos.push(Owned {
            vmo: Arc::new(child),
            view,
            kind: Some(kind),
        });
        self.counts.children += 1;
    }

    fn write(&mut self) {
        let index = self.pick();
        let view = self.vmos[index].view.clone();
        let size = self.model.size(&view);
        let Some((offset, len)) = self.range_in(&view.writable, size, false) else {
            return;
        };
        let data = fill(&mut self.rng, len as usize);
        let result = self.vmos[index].vmo.write(offset, &data);
        assert_eq!(
            result,
            Ok(()),
            "{}: write({offset:#x}, {len})",
            self.context()
        );
        self.model.write(&view, offset, &data);
        // Past the end is refused and changes nothing.
        let result = self.vmos[index].vmo.write(size, &data[..1]);
        assert_eq!(
            result,
            Err(VmError::OutOfRange),
            "{}: write past the end",
            self.context()
        );
        self.counts.writes += 1;
    }

    fn read(&mut self) {
        let index = self.pick();
        let view = self.vmos[index].view.clone();
        let size = self.model.size(&view);
        let (offset, len) = if self.rng.chance(2) {
            (0, size)
        } else {
            self.range_in(&(0..size), size, false).unwrap_or((0, 0))
        };
        let mut bytes = vec![0u8; len as usize];
        let result = self.vmos[index].vmo.read(offset, &mut bytes);
        assert_eq!(
            result,
            Ok(()),
            "{}: read({offset:#x}, {len})",
            self.context()
        );
        let context = self.context();
        self.model.check(&view, offset, &bytes, &|| {
            format!("{context}: read of {:?}", self.vmos[index].kind)
        });
        assert_eq!(self.vmos[index].vmo.size(), size, "{context}: size");
        self.counts.reads += 1;
    }

    fn commit(&mut self) {
        let index = self.pick();
        let view = self.vmos[index].view.clone();
        let size = self.model.size(&view);
        let Some((offset, len)) = self.range_in(&view.writable, size, false) else {
            return;
        };
        let vmo = &self.vmos[index].vmo;
        assert_eq!(
            vmo.commit(offset, len),
            Ok(()),
            "{}: commit",
            self.context()
        );
        self.model.commit(&view, offset, len);
        // Nobody else may decommit this VMO's pages: they stay committed.
        let pages = pages_of(offset, len);
        let mut addresses = vec![0u64; (pages.end - pages.start) as usize];
        assert_eq!(
            vmo.lookup(offset, len, &mut addresses),
            Ok(addresses.len()),
            "{}: lookup after commit",
            self.context()
        );
    }

    fn decommit(&mut self) {
        let index = self.pick();
        let view = self.vmos[index].view.clone();
        let size = self.model.size(&view);
        let Some((offset, len)) = self.range_in(&view.writable, size, true) else {
            return;
        };
        let result = self.vmos[index].vmo.decommit(offset, len);
        let store = &self.model.stores[view.store];
        if store.snapshot_child {
            assert_eq!(
                result,
                Err(VmError::NotSupported),
                "{}: decommit of a snapshot",
                self.context()
            );
            return;
        }
        // Whether there are (hidden) non-slice children depends on other threads for roots.
        match result {
            Ok(()) => self.model.decommit(&view, offset, len),
            Err(VmError::NotSupported) => {}
            Err(error) => panic!("{}: decommit: {error:?}", self.context()),
        }
    }

    fn zero(&mut self) {
        let index = self.pick();
        let view = self.vmos[index].view.clone();
        let size = self.model.size(&view);
        let Some((offset, len)) = self.range_in(&view.writable, size, false) else {
            return;
        };
        let result = self.vmos[index].vmo.zero(offset, len);
        assert_eq!(
            result,
            Ok(()),
            "{}: zero({offset:#x}, {len})",
            self.context()
        );
        self.model.zero(&view, offset, len);
    }

    fn resize(&mut self) {
        let Some(index) = self.pick_own() else {
            return;
        };
        let view = self.vmos[index].view.clone();
        let size = self.rng.range(0..8) * PAGE;
        let result = self.vmos[index].vmo.set_size(size);
        if !view.resizable {
            assert_eq!(
                result,
                Err(VmError::NotResizable),
                "{}: set_size",
                self.context()
            );
            return;
        }
        assert_eq!(result, Ok(()), "{}: set_size({size:#x})", self.context());
        self.model.resize(&view, size);
    }

    fn map(&mut self) {
        let index = self.pick();
        let view = self.vmos[index].view.clone();
        let size = self.model.size(&view);
        if size == 0 {
            return;
        }
        let first = self.rng.below(size / PAGE);
        let pages = 1 + self.rng.below(size / PAGE - first + 1);
        let writable = !view.root;
        let perms = if writable {
            Perms::READ | Perms::WRITE
        } else {
            Perms::READ
        };
        let addr = self
            .shared
            .space
            .root()
            .map(MapRequest {
                offset: None,
                overwrite: false,
                vmo: self.vmos[index].vmo.clone(),
                vmo_offset: first * PAGE,
                len: pages * PAGE,
                perms,
                max_perms: Perms::all(),
                align: PAGE,
                populate: self.rng.chance(2),
                keep_alive: None,
            })
            .unwrap_or_else(|error| panic!("{}: map: {error:?}", self.context()));
        self.model.take_ref(&view);
        self.mappings.push(Mapped {
            addr,
            vmo_offset: first * PAGE,
            len: pages * PAGE,
            view,
            writable,
        });
        self.counts.mapped += 1;
    }

    /// Reads, writes or faults through one of the thread's mappings.
    fn access(&mut self) {
        if self.mappings.is_empty() {
            return self.map();
        }
        self.counts.mapped += 1;
        let index = self.rng.below(self.mappings.len() as u64) as usize;
        let (addr, vmo_offset, len, view, writable) = {
            let m = &self.mappings[index];
            (m.addr, m.vmo_offset, m.len, m.view.clone(), m.writable)
        };
        let space = &self.shared.space;
        let size = self.model.size(&view);
        // Bytes of the mapping the VMO still backs.
        let backed = size.saturating_sub(vmo_offset).min(len);
        let context = self.context();
        if backed == 0 {
            let mut byte = [0u8];
            assert_eq!(
                space.read(addr, &mut byte),
                (0, Some(AccessError::BeyondEnd)),
                "{context}: read past the VMO's end"
            );
            return;
        }
        let offset = self.rng.below(backed);
        let n = 1 + self.rng.below((backed - offset).min(2 * PAGE + 50));
        match self.rng.below(4) {
            0 | 1 if writable && view.writable.start == 0 => {
                let data = fill(&mut self.rng, n as usize);
                assert_eq!(
                    space.write(addr + offset, &data),
                    (n as usize, None),
                    "{context}: write through a mapping"
                );
                self.model.write(&view, vmo_offset + offset, &data);
                self.counts.writes += 1;
            }
            0 | 1 => {
                assert_eq!(
                    space.write(addr + offset, &[1]),
                    (0, Some(AccessError::Denied)),
                    "{context}: write through a read-only mapping"
                );
            }
            2 => {
                let mut bytes = vec![0u8; n as usize];
                assert_eq!(
                    space.read(addr + offset, &mut bytes),
                    (n as usize, None),
                    "{context}: read through a mapping"
                );
                self.model.check(&view, vmo_offset + offset, &bytes, &|| {
                    format!("{context}: read through a mapping")
                });
                self.counts.reads += 1;
                if backed < len {
                    let mut byte = [0u8];
                    assert_eq!(
                        space.read(addr + backed, &mut byte),
                        (0, Some(AccessError::BeyondEnd)),
                        "{context}: read past the VMO's end"
                    );
                }
            }
            _ => {
                let write = writable && self.rng.chance(2);
                let access = if write { Access::Write } else { Access::Read };
                assert_eq!(
                    space.fault(addr + offset, access),
                    Ok(()),
                    "{context}: {access:?} fault"
                );
                if write {
                    self.model.commit(&view, vmo_offset + offset, 1);
                }
            }
        }
    }

    fn unmap(&mut self) {
        if !self.mappings.is_empty() {
            let index = self.rng.below(self.mappings.len() as u64) as usize;
            self.unmap_at(index);
        }
    }

    fn unmap_at(&mut self, index: usize) {
        let mapping = self.mappings.swap_remove(index);
        assert_eq!(
            self.shared.space.root().unmap(mapping.addr, mapping.len),
            Ok(()),
            "{}: unmap",
            self.context()
        );
        self.model.drop_ref(&mapping.view);
    }

    fn close(&mut self) {
        if let Some(index) = self.pick_own() {
            self.close_at(index);
        }
    }

    fn close_at(&mut self, index: usize) {
        // Mappings keep the VMO alive; sometimes unmap them first.
        if self.rng.chance(2) {
            let vmo = self.vmos[index].vmo.clone();
            let mut i = 0;
            while i < self.mappings.len() {
                if self.mappings[i].view.store == self.vmos[index].view.store
                    && self
                        .shared
                        .space
                        .mapped_pieces(self.mappings[i].addr, self.mappings[i].addr + 1)
                        .first()
                        .is_some_and(|piece| Arc::ptr_eq(&piece.vmo, &vmo))
                {
                    self.unmap_at(i);
                } else {
                    i += 1;
                }
            }
        }
        let owned = self.vmos.swap_remove(index);
        self.model.drop_ref(&owned.view);
        drop(owned);
        self.counts.closes += 1;
    }

    /// Reads what other threads change (the roots, the whole address space) only to catch
    /// crashes, and looks at shared families' metadata.
    fn poke_others(&mut self) {
        let root = &self.shared.roots[self.rng.below(self.shared.roots.len() as u64) as usize];
        let mut bytes = vec![0u8; (ROOT_PAGES * PAGE) as usize];
        root.read(0, &mut bytes).expect("read a root");
        let info = root.info();
        assert_eq!(info.size, ROOT_PAGES * PAGE);
        let _ = root.has_children();
        let mut addresses = [0u64; ROOT_PAGES as usize];
        match root.lookup(0, ROOT_PAGES * PAGE, &mut addresses) {
            Ok(_) | Err(VmError::NotCommitted) => {}
            Err(error) => panic!("{}: lookup of a root: {error:?}", self.context()),
        }
        let space = &self.shared.space;
        let mappings = space.mappings();
        if let Some(m) = mappings.get(self.rng.below(mappings.len() as u64 + 1) as usize) {
            let mut bytes = vec![0u8; m.len.min(3 * PAGE) as usize];
            let _ = space.read(m.base, &mut bytes);
        }
        let _ = space.read(1 << 30, &mut [0u8; 16]);
        self.counts.reads += 1;
    }

    fn check_family(&mut self) {
        let index = self.pick();
        if let Err(error) = self.vmos[index].vmo.check_family_invariants() {
            panic!("{}: family invariants (mid-run): {error}", self.context());
        }
        self.counts.checks += 1;
    }

    /// Closes everything, checking the content of every VMO last.
    fn finish(&mut self) {
        self.step += 1;
        for index in 0..self.vmos.len() {
            let view = self.vmos[index].view.clone();
            let mut bytes = vec![0u8; self.model.size(&view) as usize];
            self.vmos[index]
                .vmo
                .read(0, &mut bytes)
                .expect("final read");
            let context = self.context();
            self.model
                .check(&view, 0, &bytes, &|| format!("{context}: final contents"));
        }
        while !self.mappings.is_empty() {
            self.unmap_at(0);
        }
        let roots = self.shared.roots.len();
        while self.vmos.len() > roots {
            let index = self.vmos.len() - 1;
            self.close_at(index);
        }
    }

    /// This thread's partition of root `family`.
    fn partition(&self, family: usize) -> Vec<u8> {
        let store = &self.model.stores[self.vmos[family].view.store];
        let range = self.vmos[family].view.writable.clone();
        assert!(
            store.known[(range.start / PAGE) as usize..(range.end / PAGE) as usize]
                .iter()
                .all(|&k| k)
        );
        store.bytes[range.start as usize..range.end as usize].to_vec()
    }
}

fn check_round(shared: &Shared, round: u64) {
    for (family, root) in shared.roots.iter().enumerate() {
        if let Err(error) = root.check_family_invariants() {
            panic!("round {round}: family {family}: {error}");
        }
    }
    if let Err(error) = shared.space.check_translations() {
        panic!("round {round}: translations: {error}");
    }
}

#[test]
fn threads_share_families_and_an_address_space() {
    let _watchdog = Watchdog::start("threads_share_families", watchdog_limit());
    let start = Instant::now();
    let rounds = 10 * scale();
    let steps = 400;
    let frames = Arc::new(InMemoryFrames::new());
    let roots: Vec<Arc<V>> = (0..FAMILIES)
        .map(|family| {
            let root =
                V::create(frames.clone(), ROOT_PAGES * PAGE, VmoOptions::default()).expect("root");
            let mut rng = Rng::new(base_seed() ^ 0xF00 ^ family as u64);
            root.write(0, &fill(&mut rng, (ROOT_PAGES * PAGE) as usize))
                .expect("fill root");
            Arc::new(root)
        })
        .collect();
    let shared = Shared {
        roots,
        space: new_space(),
        frames: frames.clone(),
    };
    let barrier = Barrier::new(THREADS);
    let results: Vec<(Counts, Vec<Vec<u8>>)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let shared = &shared;
                let barrier = &barrier;
                scope.spawn(move || {
                    let seed = base_seed().wrapping_add(thread as u64 * 0x1_0000_0001);
                    doing(format!(
                        "threads_share_families thread {thread} (thread seed {seed:#x})"
                    ));
                    let mut worker = Worker::new(thread, shared, seed);
                    for round in 0..rounds {
                        worker.run(steps);
                        if barrier.wait().is_leader() {
                            check_round(shared, round);
                        }
                        barrier.wait();
                    }
                    worker.finish();
                    let partitions = (0..FAMILIES).map(|f| worker.partition(f)).collect();
                    worker.counts.compared = worker.model.compared;
                    (worker.counts, partitions)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let mut total = Counts::default();
    for (counts, _) in &results {
        total.add(*counts);
    }
    // Every partition of every root holds what its thread's model says.
    for (family, root) in shared.roots.iter().enumerate() {
        let mut bytes = vec![0u8; (ROOT_PAGES * PAGE) as usize];
        root.read(0, &mut bytes).unwrap();
        for (thread, (_, partitions)) in results.iter().enumerate() {
            let at = thread * (PARTITION * PAGE) as usize;
            assert!(
                bytes[at..at + (PARTITION * PAGE) as usize] == partitions[family][..],
                "family {family}: partition of thread {thread}"
            );
        }
        root.check_family_invariants().unwrap();
    }
    check_round(&shared, rounds);
    assert!(shared.space.mappings().is_empty());
    drop(shared);
    assert_eq!(frames.frames_in_use(), 0, "frames leaked");
    eprintln!(
        "threads_share_families: {THREADS} threads, {rounds} rounds: {} operations ({} children, \
         {} writes, {} reads, {} mapped accesses, {} mid-run invariant checks, {} closes, {} known pages compared) in {:?}",
        total.ops,
        total.children,
        total.writes,
        total.reads,
        total.mapped,
        total.checks,
        total.closes,
        total.compared,
        start.elapsed()
    );
    assert!(total.ops >= (THREADS as u64) * rounds * steps);
    assert!(total.children > 1000 && total.mapped > 500 && total.checks > 50);
    assert!(
        total.compared > 2_000,
        "the model knows too little to check anything"
    );
}

// ---------------------------------------------------------------------------------------------
// Two children of one parent dropped at the same moment.

/// A slot through which one thread hands a VMO to another.
type Slot = Mutex<Option<V>>;

#[test]
fn two_snapshot_children_dropped_in_parallel() {
    let _watchdog = Watchdog::start(
        "two_snapshot_children_dropped_in_parallel",
        watchdog_limit(),
    );
    doing("two_snapshot_children_dropped_in_parallel".into());
    let start = Instant::now();
    let iterations = 3000 * scale();
    let frames = Arc::new(InMemoryFrames::new());
    let barrier = Barrier::new(2);
    let slot: Slot = Mutex::new(None);
    let dropped = AtomicU64::new(0);
    thread::scope(|scope| {
        let helper = scope.spawn(|| {
            for _ in 0..iterations {
                barrier.wait();
                let vmo = slot.lock().unwrap().take();
                barrier.wait();
                drop(vmo);
                dropped.fetch_add(1, Ordering::Relaxed);
                barrier.wait();
            }
        });
        let mut rng = Rng::new(base_seed() ^ 0xD0D0);
        for iteration in 0..iterations {
            let context = format!("iteration {iteration}");
            let pages = rng.range(1..5);
            let parent = V::create(frames.clone(), pages * PAGE, VmoOptions::default()).unwrap();
            let content = fill(&mut rng, (pages * PAGE) as usize);
            parent.write(0, &content).unwrap();
            // Variant: which kinds, which writes, and whether a grandchild sits below.
            let variant = rng.below(6);
            let kind = |rng: &mut Rng| {
                if rng.chance(2) {
                    ChildKind::Snapshot
                } else {
                    ChildKind::SnapshotAtLeastOnWrite
                }
            };
            let a = parent
                .create_child(kind(&mut rng), 0, pages * PAGE, VmoOptions::default())
                .unwrap();
            let b = match variant {
                // A snapshot of the first child: two children of a hidden node below another.
                4 => a.create_child(kind(&mut rng), 0, pages * PAGE, VmoOptions::default()),
                _ => parent.create_child(kind(&mut rng), 0, pages * PAGE, VmoOptions::default()),
            }
            .unwrap();
            let mut expected_parent = content.clone();
            if variant >= 1 {
                a.write(rng.below(pages) * PAGE, &[0xAA; 100]).unwrap();
            }
            if variant >= 2 {
                b.write(rng.below(pages) * PAGE + 7, &[0xBB; P - 7])
                    .unwrap();
            }
            if variant == 3 || variant == 5 {
                let at = rng.below(pages * PAGE);
                parent.write(at, &[0xCC]).unwrap();
                expected_parent[at as usize] = 0xCC;
            }
            if variant == 5 {
                // The parent itself goes at the same moment as one child; the other survives.
                let survivor_content = {
                    let mut bytes = vec![0u8; (pages * PAGE) as usize];
                    b.read(0, &mut bytes).unwrap();
                    bytes
                };
                *slot.lock().unwrap() = Some(parent);
                barrier.wait();
                barrier.wait();
                drop(a);
                barrier.wait();
                let mut bytes = vec![0u8; (pages * PAGE) as usize];
                b.read(0, &mut bytes).unwrap();
                assert!(bytes == survivor_content, "{context}: survivor's contents");
                b.check_family_invariants()
                    .unwrap_or_else(|error| panic!("{context}: {error}"));
                let own = b.info().committed_bytes / PAGE;
                assert_eq!(
                    frames.frames_in_use() as u64,
                    own,
                    "{context}: frames with one survivor"
                );
                assert_eq!(own, pages, "{context}: the survivor pays for every page");
                drop(b);
                assert_eq!(frames.frames_in_use(), 0, "{context}: frames after all");
                continue;
            }
            *slot.lock().unwrap() = Some(b);
            barrier.wait();
            barrier.wait();
            drop(a);
            barrier.wait();
            parent
                .check_family_invariants()
                .unwrap_or_else(|error| panic!("{context}: {error}"));
            let mut bytes = vec![0u8; (pages * PAGE) as usize];
            parent.read(0, &mut bytes).unwrap();
            assert!(bytes == expected_parent, "{context}: parent's contents");
            let info = parent.info();
            assert_eq!(info.num_children, 0, "{context}: children left");
            assert_eq!(
                info.committed_bytes,
                pages * PAGE,
                "{context}: parent's committed bytes"
            );
            assert_eq!(
                frames.frames_in_use() as u64,
                pages,
                "{context}: frames in use"
            );
            drop(parent);
            assert_eq!(frames.frames_in_use(), 0, "{context}: frames after all");
        }
        helper.join().unwrap();
    });
    assert_eq!(dropped.load(Ordering::Relaxed), iterations);
    assert_eq!(frames.frames_in_use(), 0);
    eprintln!(
        "two_snapshot_children_dropped_in_parallel: {iterations} racing drops in {:?}",
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// A parent closed while its children are written and snapshotted.

#[test]
fn parent_closed_while_children_are_written_and_snapshotted() {
    let _watchdog = Watchdog::start("parent_closed_while_children", watchdog_limit());
    let start = Instant::now();
    let iterations = 300 * scale();
    let frames = Arc::new(InMemoryFrames::new());
    let barrier = Barrier::new(3);
    // Thread 1 gets a snapshot and a slice of pages 4..8; thread 2 an at-least-on-write child
    // and a one-way clone of pages 0..4 (which nobody writes in the parent).
    let slots: [Mutex<Vec<V>>; 2] = [Mutex::new(Vec::new()), Mutex::new(Vec::new())];
    let ops = AtomicU64::new(0);
    const PAGES: u64 = 8;
    thread::scope(|scope| {
        for worker in 0..2usize {
            let (barrier, slots, ops) = (&barrier, &slots, &ops);
            scope.spawn(move || {
                let seed = base_seed() ^ (0xC105E + worker as u64);
                doing(format!(
                    "parent_closed_while_children worker {worker} (seed {seed:#x})"
                ));
                let mut rng = Rng::new(seed);
                for iteration in 0..iterations {
                    barrier.wait();
                    let children = std::mem::take(&mut *slots[worker].lock().unwrap());
                    // (vmo, model, size) of each child; snapshots of them with their models.
                    let mut models: Vec<Vec<u8>> = children
                        .iter()
                        .map(|c| {
                            let mut bytes = vec![0u8; c.size() as usize];
                            c.read(0, &mut bytes).unwrap();
                            bytes
                        })
                        .collect();
                    let mut snapshots: Vec<(V, Vec<u8>)> = Vec::new();
                    for step in 0..40 {
                        let context = format!("worker {worker} iteration {iteration} step {step}");
                        let which = rng.below(children.len() as u64) as usize;
                        let child = &children[which];
                        let size = models[which].len() as u64;
                        match rng.below(4) {
                            0 | 1 => {
                                let at = rng.below(size);
                                let data = fill(&mut rng, (size - at).min(PAGE + 10) as usize);
                                child.write(at, &data).unwrap();
                                models[which][at as usize..at as usize + data.len()]
                                    .copy_from_slice(&data);
                            }
                            2 => {
                                let kind = [ChildKind::Snapshot, ChildKind::SnapshotAtLeastOnWrite]
                                    [rng.below(2) as usize];
                                let snapshot = child
                                    .create_child(kind, 0, size, VmoOptions::default())
                                    .unwrap_or_else(|e| panic!("{context}: snapshot: {e:?}"));
                                snapshots.push((snapshot, models[which].clone()));
                            }
                            _ => {
                                let mut bytes = vec![0u8; size as usize];
                                child.read(0, &mut bytes).unwrap();
                                assert!(bytes == models[which], "{context}: child's contents");
                            }
                        }
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    for (snapshot, model) in &snapshots {
                        let mut bytes = vec![0u8; model.len()];
                        snapshot.read(0, &mut bytes).unwrap();
                        assert!(
                            bytes == *model,
                            "worker {worker} iteration {iteration}: snapshot"
                        );
                    }
                    for child in &children {
                        child.check_family_invariants().unwrap();
                    }
                    drop(snapshots);
                    barrier.wait();
                    drop(children);
                }
            });
        }
        let mut rng = Rng::new(base_seed() ^ 0xC105E);
        doing("parent_closed_while_children parent thread".into());
        for iteration in 0..iterations {
            let parent = V::create(frames.clone(), PAGES * PAGE, VmoOptions::default()).unwrap();
            let content = fill(&mut rng, (PAGES * PAGE) as usize);
            parent.write(0, &content).unwrap();
            let options = VmoOptions::default();
            let all = PAGES * PAGE;
            let snapshot = parent
                .create_child(ChildKind::Snapshot, 0, all, options)
                .unwrap();
            let slice = parent
                .create_child(ChildKind::Slice, 4 * PAGE, 4 * PAGE, options)
                .unwrap();
            let alow = parent
                .create_child(ChildKind::SnapshotAtLeastOnWrite, 0, all, options)
                .unwrap();
            let one_way = parent
                .create_child(ChildKind::OneWay, 0, 4 * PAGE, options)
                .unwrap();
            *slots[0].lock().unwrap() = vec![snapshot, slice];
            *slots[1].lock().unwrap() = vec![alow, one_way];
            barrier.wait();
            // Close the parent at a random moment of the children's work, sometimes right after
            // a snapshot of its own (whose contents must be the parent's pages 0..4 whatever
            // the slice's writer does to pages 4..8).
            for _ in 0..rng.below(2000) {
                std::hint::spin_loop();
            }
            let late = parent
                .create_child(ChildKind::Snapshot, 0, 4 * PAGE, options)
                .unwrap();
            drop(parent);
            let mut bytes = vec![0u8; (4 * PAGE) as usize];
            late.read(0, &mut bytes).unwrap();
            assert!(
                bytes[..] == content[..(4 * PAGE) as usize],
                "iteration {iteration}: snapshot of the closing parent"
            );
            late.check_family_invariants().unwrap();
            drop(late);
            barrier.wait();
            // The workers drop their children now; the next iteration starts when they did.
            if iteration + 1 == iterations {
                break;
            }
        }
    });
    assert_eq!(frames.frames_in_use(), 0, "frames leaked");
    let ops = ops.load(Ordering::Relaxed);
    eprintln!(
        "parent_closed_while_children: {iterations} parents, {ops} child operations in {:?}",
        start.elapsed()
    );
    assert!(ops >= iterations * 80);
}

// ---------------------------------------------------------------------------------------------
// Faults on one page from two threads through two mappings.

#[test]
fn faults_on_one_page_through_two_mappings() {
    let _watchdog = Watchdog::start("faults_on_one_page", watchdog_limit());
    let start = Instant::now();
    let rounds = 200 * scale();
    const WRITES: u64 = 40;
    const PAGES: u64 = 2;
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(V::create(frames.clone(), PAGES * PAGE, VmoOptions::default()).unwrap());
    // Two spaces: thread 0 maps the VMO in one, thread 1 twice in the other (so two of its
    // mappings and one of thread 0's fault on the same pages).
    let spaces = [new_space(), new_space()];
    let map = |space: &Space| {
        space
            .root()
            .map(MapRequest {
                offset: None,
                overwrite: false,
                vmo: vmo.clone(),
                vmo_offset: 0,
                len: PAGES * PAGE,
                perms: Perms::READ | Perms::WRITE,
                max_perms: Perms::all(),
                align: PAGE,
                populate: false,
                keep_alive: None,
            })
            .unwrap()
    };
    let addrs = [
        vec![map(&spaces[0])],
        vec![map(&spaces[1]), map(&spaces[1])],
    ];
    let barrier = Barrier::new(3);
    let faults = AtomicU64::new(0);
    let half = P / 2;
    thread::scope(|scope| {
        for thread in 0..2usize {
            let (barrier, faults, spaces, addrs) = (&barrier, &faults, &spaces, &addrs);
            scope.spawn(move || {
                let space = &spaces[thread];
                let mut rng = Rng::new(base_seed() ^ (0xFA17 + thread as u64));
                for round in 0..rounds {
                    barrier.wait();
                    for write in 0..WRITES {
                        let tag = ((round * WRITES + write) % 127) as u8 + 1 + (thread as u8) * 128;
                        for page in 0..PAGES {
                            let addr = addrs[thread]
                                [rng.below(addrs[thread].len() as u64) as usize]
                                + page * PAGE
                                + (thread * half) as u64;
                            if rng.chance(3) {
                                assert_eq!(space.fault(addr, Access::Write), Ok(()));
                            }
                            // Each thread writes its own half of the page, in one piece.
                            assert_eq!(space.write(addr, &vec![tag; half]), (half, None));
                            let mut back = vec![0u8; half];
                            assert_eq!(space.read(addr, &mut back), (half, None));
                            assert!(
                                back.iter().all(|&b| b == tag),
                                "thread {thread} round {round}: read back its own half"
                            );
                            faults.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    barrier.wait();
                }
            });
        }
        let mut snapshots = 0u64;
        for round in 0..rounds {
            barrier.wait();
            // Snapshots while the threads write: each half of each page must be uniform (a
            // write of a half is one piece under the family lock).
            for _ in 0..4 {
                let snapshot = vmo
                    .create_child(ChildKind::Snapshot, 0, PAGES * PAGE, VmoOptions::default())
                    .unwrap();
                let mut bytes = vec![0u8; (PAGES * PAGE) as usize];
                snapshot.read(0, &mut bytes).unwrap();
                for piece in bytes.chunks(half) {
                    assert!(
                        piece.iter().all(|&b| b == piece[0]),
                        "round {round}: a half page torn in a snapshot"
                    );
                }
                snapshots += 1;
                drop(snapshot);
            }
            barrier.wait();
            for (space, name) in spaces.iter().zip(["space 0", "space 1"]) {
                space
                    .check_translations()
                    .unwrap_or_else(|error| panic!("round {round}: {name}: {error}"));
            }
            vmo.check_family_invariants().unwrap();
            let mut bytes = vec![0u8; (PAGES * PAGE) as usize];
            vmo.read(0, &mut bytes).unwrap();
            for page in 0..PAGES as usize {
                for thread in 0..2 {
                    let at = page * P + thread * half;
                    let tag =
                        ((round * WRITES + WRITES - 1) % 127) as u8 + 1 + (thread as u8) * 128;
                    assert!(
                        bytes[at..at + half].iter().all(|&b| b == tag),
                        "round {round}: page {page}: thread {thread}'s last write"
                    );
                }
            }
            if round % 16 == 15 {
                // Decommitting every page takes every translation away; the next writes fault
                // afresh.
                vmo.decommit(0, PAGES * PAGE).unwrap();
                assert_eq!(frames.frames_in_use(), 0);
            }
        }
        eprintln!("faults_on_one_page: {snapshots} snapshots taken during the writes");
    });
    for space in &spaces {
        space.check_translations().unwrap();
        space.destroy();
    }
    drop(spaces);
    assert_eq!(Arc::strong_count(&vmo), 1, "mappings still hold the VMO");
    drop(vmo);
    assert_eq!(frames.frames_in_use(), 0);
    let faults = faults.load(Ordering::Relaxed);
    eprintln!(
        "faults_on_one_page: {faults} page writes through mappings in {:?}",
        start.elapsed()
    );
    assert_eq!(faults, rounds * WRITES * PAGES * 2);
}
