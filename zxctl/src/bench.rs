//! `zxctl bench`: the performance comparisons, as ratios measured in one run.
//!
//! Every figure but the last is a RATIO of two cases timed in this process in the same run
//! (medians of rounds, after one untimed warm-up round):
//!
//! 1. Snapshot + restore of a mapped region (every page written) that dirties `k` pages through
//!    the pointer, against a `fork()` per round whose child dirties the same pages of an equally
//!    written anonymous region and exits (k = 1, 16, 256). The VMO is mapped into this process
//!    through the C functions (`zx_vmar_root_self`), as in `hosted/benches/mapped.rs`. Ratio:
//!    fork / ours.
//! 2. First write to a page shared with a snapshot through a mapping, against the kernel's
//!    copy-on-write fault on a page shared with a forked parent (timed in the child, sent back
//!    through a pipe). Ratio: ours / Linux.
//! 3. The engine alone: 4 KiB reads through a chain of 64 snapshot levels against through one
//!    (as in `engine/benches/clones.rs`). Ratio: 64 levels / 1 level.
//! 4. The engine alone: frames in use after a progressive chain of 5 snapshots of a written
//!    6-page VMO, each level writing one page (ideal: 6 + 5 = 11). A count.
//!
//! `fork()` is only called while the process is single-threaded: `zxctl` runs the benchmark on
//! its main thread and the hosted runtime creates no threads of its own.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vm_engine::{
    ChildKind, FrameSource, InMemoryFrames, InMemoryPlatform, Vmo, VmoOptions, PAGE_SIZE,
};
use zircon::c_abi::zircon::{
    zx_handle_close, zx_object_get_info, zx_vmar_map, zx_vmar_root_self, zx_vmar_unmap,
    zx_vmo_create, zx_vmo_create_child, zx_vmo_write,
};
use zircon::kernel::HandleValue;

type Result<T> = std::result::Result<T, String>;
type EngineVmo = Vmo<InMemoryPlatform>;

const PAGE: usize = PAGE_SIZE;
/// `ZX_VM_PERM_READ | ZX_VM_PERM_WRITE`.
const ZX_VM_PERM_RW: u32 = 0b11;
const ZX_VM_SPECIFIC: u32 = 1 << 4;
const ZX_VMO_CHILD_SNAPSHOT: u32 = 1;
const ZX_INFO_VMAR: u32 = 7;

/// Sizes and round counts of one run.
struct Config {
    quick: bool,
    /// Bytes of the region of measurement 1.
    region: usize,
    /// Rounds of measurements 1 and 2.
    rounds: usize,
    /// Pages dirtied a round in measurement 1.
    dirty: [usize; 3],
    /// Pages written a round in measurement 2.
    fault_pages: usize,
    /// Pages read a round in measurement 3, and its rounds.
    chain_pages: u64,
    chain_rounds: usize,
    /// Snapshot levels of measurement 3.
    depth: u64,
}

impl Config {
    fn new(quick: bool) -> Self {
        Config {
            quick,
            region: if quick { 64 << 20 } else { 1 << 30 },
            rounds: if quick { 3 } else { 9 },
            dirty: [1, 16, 256],
            fault_pages: if quick { 256 } else { 4096 },
            chain_pages: if quick { 256 } else { 4096 },
            chain_rounds: if quick { 11 } else { 31 },
            depth: 64,
        }
    }
}

/// Which way a ratio reads.
#[derive(Clone, Copy)]
enum Direction {
    /// baseline / ours: how many times faster we are (higher is better).
    Speedup,
    /// ours / baseline: how many times the baseline's cost ours is (lower is better).
    Cost,
}

/// One measurement: either a ratio of two timed cases or a count.
struct Measurement {
    name: &'static str,
    label: String,
    unit: &'static str,
    kind: Kind,
}

enum Kind {
    Ratio {
        ours: Duration,
        baseline: Duration,
        /// What the two cases are, as printed.
        ours_case: &'static str,
        baseline_case: &'static str,
        direction: Direction,
    },
    Count {
        value: u64,
        expected: u64,
    },
}

impl Measurement {
    fn ratio(&self) -> Option<f64> {
        match self.kind {
            Kind::Ratio {
                ours,
                baseline,
                direction,
                ..
            } => {
                let (ours, baseline) = (ours.as_secs_f64(), baseline.as_secs_f64());
                Some(match direction {
                    Direction::Speedup => baseline / ours.max(1e-9),
                    Direction::Cost => ours / baseline.max(1e-9),
                })
            }
            Kind::Count { .. } => None,
        }
    }

    fn json(&self) -> Value {
        match &self.kind {
            Kind::Ratio {
                ours,
                baseline,
                ours_case,
                baseline_case,
                direction,
            } => json!({
                "name": self.name,
                "label": self.label,
                "ours_ns": ours.as_nanos() as u64,
                "baseline_ns": baseline.as_nanos() as u64,
                "ratio": self.ratio(),
                "ratio_is": match direction {
                    Direction::Speedup => "baseline / ours",
                    Direction::Cost => "ours / baseline",
                },
                "better": match direction {
                    Direction::Speedup => "higher",
                    Direction::Cost => "lower",
                },
                "ours": ours_case,
                "baseline": baseline_case,
                "unit": self.unit,
            }),
            Kind::Count { value, expected } => json!({
                "name": self.name,
                "label": self.label,
                "ours_ns": null,
                "baseline_ns": null,
                "ratio": null,
                "count": value,
                "expected": expected,
                "unit": self.unit,
            }),
        }
    }
}

/// Runs the comparisons.
pub fn run(quick: bool, json: bool, plot: Option<&Path>) -> Result<()> {
    let started = Instant::now();
    let cfg = Config::new(quick);
    ensure_single_threaded()?;
    let mut results = Vec::new();
    mapped_vs_fork(&cfg, &mut results)?;
    results.push(cow_fault(&cfg)?);
    results.push(chain_reads(&cfg)?);
    results.push(chain_frames()?);
    let elapsed = started.elapsed();
    if json {
        let document = json!({
            "quick": cfg.quick,
            "region_bytes": cfg.region,
            "rounds": cfg.rounds,
            "seconds": elapsed.as_secs_f64(),
            "measurements": results.iter().map(Measurement::json).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", table(&cfg, &results));
    }
    if let Some(path) = plot {
        std::fs::write(path, svg(&cfg, &results))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    eprintln!("bench: done in {:.1} s", elapsed.as_secs_f64());
    Ok(())
}

/// `fork()` is only safe to follow with ordinary code while this process has one thread.
fn ensure_single_threaded() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    let threads = status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse::<u32>().ok());
    match threads {
        Some(1) | None => Ok(()),
        Some(n) => Err(format!(
            "bench forks, and needs a single-threaded process (this one has {n} threads)"
        )),
    }
}

fn progress(what: &str) {
    eprintln!("bench: {what} ...");
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Times `round` `rounds` times after one untimed warm-up, and returns the median.
fn median_of(rounds: usize, mut round: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    let mut samples = Vec::with_capacity(rounds);
    for index in 0..=rounds {
        let time = round()?;
        if index > 0 {
            samples.push(time);
        }
    }
    Ok(median(samples))
}

fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

fn check(status: i32, what: &str) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(format!("{what} failed with status {status}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Handles and mappings of the hosted runtime, through its C functions.

/// A handle of this process, closed when dropped.
struct Handle(HandleValue);

impl Handle {
    fn create_vmo(len: usize) -> Result<Self> {
        let mut out = 0;
        // SAFETY: `out` is a valid, writable out-pointer for the new handle.
        check(
            unsafe { zx_vmo_create(len as u64, 0, &mut out) },
            "zx_vmo_create",
        )?;
        Ok(Handle(out))
    }

    fn snapshot(&self, len: usize) -> Result<Self> {
        let mut out = 0;
        // SAFETY: `out` is a valid, writable out-pointer for the new handle.
        check(
            unsafe { zx_vmo_create_child(self.0, ZX_VMO_CHILD_SNAPSHOT, 0, len as u64, &mut out) },
            "zx_vmo_create_child (snapshot)",
        )?;
        Ok(Handle(out))
    }

    /// Writes `byte` over the first `len` bytes, 1 MiB a call.
    fn fill(&self, len: usize, byte: u8) -> Result<()> {
        let chunk = vec![byte; (1 << 20).min(len)];
        for offset in (0..len).step_by(chunk.len().max(1)) {
            let n = chunk.len().min(len - offset);
            // SAFETY: `chunk` is readable for `n <= chunk.len()` bytes.
            check(
                unsafe { zx_vmo_write(self.0, chunk.as_ptr().cast(), offset as u64, n) },
                "zx_vmo_write",
            )?;
        }
        Ok(())
    }

    /// Maps the first `len` bytes read/write into the root VMAR, at `offset` from its base if
    /// given, wherever it fits otherwise.
    fn map(&self, len: usize, offset: Option<usize>) -> Result<Mapping> {
        let options = match offset {
            Some(_) => ZX_VM_PERM_RW | ZX_VM_SPECIFIC,
            None => ZX_VM_PERM_RW,
        };
        let mut addr = 0usize;
        // SAFETY: `addr` is a valid, writable out-pointer.
        check(
            unsafe {
                zx_vmar_map(
                    zx_vmar_root_self(),
                    options,
                    offset.unwrap_or(0),
                    self.0,
                    0,
                    len,
                    &mut addr,
                )
            },
            "zx_vmar_map",
        )?;
        Ok(Mapping { addr, len })
    }

    /// Closes the handle, reporting a failure.
    fn close(self) -> Result<()> {
        let value = self.0;
        std::mem::forget(self);
        check(zx_handle_close(value), "zx_handle_close")
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = zx_handle_close(self.0);
    }
}

/// A mapping in the root VMAR, unmapped when dropped.
struct Mapping {
    addr: usize,
    len: usize,
}

impl Mapping {
    /// Unmaps it, reporting a failure.
    fn unmap(self) -> Result<()> {
        let (addr, len) = (self.addr, self.len);
        std::mem::forget(self);
        check(
            zx_vmar_unmap(zx_vmar_root_self(), addr, len),
            "zx_vmar_unmap",
        )
    }

    /// Its offset from the root VMAR's base.
    fn offset_in_root(&self) -> Result<usize> {
        let mut info = [0u64; 2];
        // SAFETY: `info` has room for the 16 bytes of zx_info_vmar_t (base, len); the two
        // count pointers may be NULL.
        check(
            unsafe {
                zx_object_get_info(
                    zx_vmar_root_self(),
                    ZX_INFO_VMAR,
                    info.as_mut_ptr().cast(),
                    16,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            },
            "zx_object_get_info (ZX_INFO_VMAR)",
        )?;
        self.addr
            .checked_sub(info[0] as usize)
            .ok_or_else(|| "mapping below the root VMAR's base".to_string())
    }

    /// The first byte of page `page` (0 past the end).
    fn read(&self, page: usize) -> u8 {
        let offset = page * PAGE;
        if offset >= self.len {
            return 0;
        }
        // SAFETY: `offset` lies inside this read/write mapping of `len` bytes, which stays
        // mapped while `self` lives.
        unsafe { std::ptr::read_volatile((self.addr + offset) as *const u8) }
    }

    /// Writes byte `at` of page `page` (nothing past the end).
    fn write(&self, page: usize, at: usize, byte: u8) {
        let offset = page * PAGE + at;
        if offset >= self.len {
            return;
        }
        // SAFETY: as in `read`; the mapping is writable, and no Rust reference to its bytes
        // exists (it is only touched through these volatile accesses).
        unsafe { std::ptr::write_volatile((self.addr + offset) as *mut u8, byte) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let _ = zx_vmar_unmap(zx_vmar_root_self(), self.addr, self.len);
    }
}

// ---------------------------------------------------------------------------------------------
// Forked children.

/// A file descriptor, closed when dropped.
struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: closing a descriptor this process opened and owns.
        unsafe { libc::close(self.0) };
    }
}

/// Forks a child that runs `child` (which must not allocate, lock or panic) and exits with
/// `_exit`, writing the 8 bytes `child` returns into a pipe; waits for it and returns them.
fn in_child(what: &str, child: impl FnOnce() -> u64) -> Result<u64> {
    let mut fds = [0i32; 2];
    // SAFETY: a two-element array for pipe(2).
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!(
            "pipe for {what}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let (read_end, write_end) = (Fd(fds[0]), Fd(fds[1]));
    // SAFETY: the process is single-threaded (the benchmark runs on the main thread and the
    // hosted runtime starts no threads), so the child may run ordinary code; it only writes its
    // own copy of memory, reports through the pipe and leaves with `_exit`, running no
    // destructors of the parent's objects.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let bytes = child().to_le_bytes();
        // SAFETY: writing 8 bytes from a local array to our pipe, then leaving at once.
        unsafe {
            let written = libc::write(write_end.0, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(if written == 8 { 0 } else { 1 });
        }
    }
    if pid < 0 {
        return Err(format!(
            "fork for {what}: {}",
            std::io::Error::last_os_error()
        ));
    }
    // The child holds its own write end: with ours closed, a child that dies early means EOF.
    drop(write_end);
    let mut bytes = [0u8; 8];
    let mut got = 0;
    while got < bytes.len() {
        // SAFETY: reading at most the rest of a local array.
        let n = unsafe {
            libc::read(
                read_end.0,
                bytes[got..].as_mut_ptr().cast(),
                bytes.len() - got,
            )
        };
        if n > 0 {
            got += n as usize;
        } else if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            break;
        }
    }
    wait(pid, what)?;
    if got != bytes.len() {
        return Err(format!("the child of {what} reported nothing"));
    }
    Ok(u64::from_le_bytes(bytes))
}

/// Waits for child `pid` and checks that it exited with status 0.
fn wait(pid: libc::pid_t, what: &str) -> Result<()> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("waitpid for {what}: {error}"));
        }
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(format!(
            "the child of {what} failed (wait status {status:#x})"
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// 1: snapshot + restore vs fork().

/// The pages a round dirties: spread over the region with a fixed stride.
fn dirty_pages(k: usize, pages: usize) -> impl Iterator<Item = usize> {
    let stride = (pages / k.max(1)).max(1);
    (0..k).map(move |i| (i * stride + i % 7) % pages.max(1))
}

/// Our side: a written base VMO, and a snapshot of it mapped read/write, dirtied and restored.
struct Restorable {
    // Field order is drop order: the mapping goes before the handles.
    mapping: Option<Mapping>,
    working: Option<Handle>,
    base: Handle,
    /// Where the region lives, relative to the root VMAR's base.
    offset: Option<usize>,
    len: usize,
}

impl Restorable {
    fn new(len: usize) -> Result<Self> {
        let base = Handle::create_vmo(len)?;
        base.fill(len, 0x5a)?;
        let mut restorable = Restorable {
            mapping: None,
            working: None,
            base,
            offset: None,
            len,
        };
        restorable.restore()?;
        Ok(restorable)
    }

    /// Unmaps and closes the dirty snapshot, then maps a fresh one at the same place. (Closing
    /// first keeps the base's family flat, so the close costs what the round changed.)
    fn restore(&mut self) -> Result<()> {
        if let Some(mapping) = self.mapping.take() {
            mapping.unmap()?;
        }
        if let Some(working) = self.working.take() {
            working.close()?;
        }
        let fresh = self.base.snapshot(self.len)?;
        let mapping = fresh.map(self.len, self.offset)?;
        if self.offset.is_none() {
            self.offset = Some(mapping.offset_in_root()?);
        }
        self.working = Some(fresh);
        self.mapping = Some(mapping);
        Ok(())
    }

    fn dirty(&self, k: usize) -> Result<()> {
        let mapping = self.mapping.as_ref().ok_or("the region is not mapped")?;
        for page in dirty_pages(k, self.len / PAGE) {
            mapping.write(page, 8, 0xa5);
        }
        Ok(())
    }
}

/// The baseline: a written anonymous region, forked per round.
struct Forked {
    region: Vec<u8>,
}

impl Forked {
    fn round(&mut self, k: usize) -> Result<()> {
        let pages = self.region.len() / PAGE;
        let at = self.region.as_mut_ptr();
        in_child("the fork round", || {
            for page in dirty_pages(k, pages) {
                // SAFETY: `page * PAGE + 8` lies inside the child's copy of the region.
                unsafe { std::ptr::write_volatile(at.add(page * PAGE + 8), 0xa5) };
            }
            0
        })?;
        black_box(&mut self.region);
        Ok(())
    }
}

fn mapped_vs_fork(cfg: &Config, results: &mut Vec<Measurement>) -> Result<()> {
    let mib = cfg.region >> 20;
    progress(&format!(
        "writing a {mib} MiB VMO and a {mib} MiB anonymous region"
    ));
    let mut ours = Restorable::new(cfg.region)?;
    let mut forked = Forked {
        region: vec![0x5a; cfg.region],
    };
    for k in cfg.dirty {
        progress(&format!("snapshot+restore k={k}"));
        // Each side's rounds run together: a fork leaves the parent's caches and page tables
        // cold, which would tax our rounds if interleaved.
        let a = median_of(cfg.rounds, || {
            timed(|| {
                ours.dirty(k)?;
                ours.restore()
            })
        })?;
        let b = median_of(cfg.rounds, || timed(|| forked.round(k)))?;
        let name = match k {
            1 => "restore_k1",
            16 => "restore_k16",
            _ => "restore_k256",
        };
        results.push(Measurement {
            name,
            label: format!(
                "snapshot + restore, {k} dirty page{} ({mib} MiB region)",
                if k == 1 { "" } else { "s" }
            ),
            unit: "ns/round",
            kind: Kind::Ratio {
                ours: a,
                baseline: b,
                ours_case: "dirty k pages of a mapped snapshot, unmap, close, map a fresh one",
                baseline_case: "fork() a child that dirties the same pages and exits, wait",
                direction: Direction::Speedup,
            },
        });
    }
    drop(forked);
    drop(ours);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2: first write to a shared page vs the kernel's COW fault.

/// Ours: time per first write through a mapping to pages shared with a snapshot.
fn our_cow_fault(pages: usize) -> Result<Duration> {
    let len = pages * PAGE;
    let base = Handle::create_vmo(len)?;
    base.fill(len, 0x11)?;
    let mapping = base.map(len, None)?;
    let snapshot = base.snapshot(len)?;
    // Read every page first, so that each write meets a present, read-only translation.
    for page in 0..pages {
        black_box(mapping.read(page));
    }
    let start = Instant::now();
    for page in 0..pages {
        mapping.write(page, 1, 0x22);
    }
    let time = start.elapsed();
    mapping.unmap()?;
    snapshot.close()?;
    base.close()?;
    Ok(time / pages as u32)
}

/// Linux: the same writes in a forked child, to pages shared with the parent, timed there.
fn kernel_cow_fault(pages: usize) -> Result<Duration> {
    let mut region = vec![0x11u8; pages * PAGE];
    let at = region.as_mut_ptr();
    let nanos = in_child("the copy-on-write fault", || {
        let start = Instant::now();
        for page in 0..pages {
            // SAFETY: `page * PAGE + 1` lies inside the child's copy of the region.
            unsafe { std::ptr::write_volatile(at.add(page * PAGE + 1), 0x22) };
        }
        start.elapsed().as_nanos() as u64
    })?;
    black_box(&mut region);
    Ok(Duration::from_nanos(nanos) / pages as u32)
}

fn cow_fault(cfg: &Config) -> Result<Measurement> {
    progress(&format!(
        "first write to a shared page vs fork's COW fault, {} pages",
        cfg.fault_pages
    ));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..=cfg.rounds {
        let (x, y) = (
            our_cow_fault(cfg.fault_pages)?,
            kernel_cow_fault(cfg.fault_pages)?,
        );
        if round > 0 {
            a.push(x);
            b.push(y);
        }
    }
    Ok(Measurement {
        name: "cow_fault",
        label: "first write to a page shared with a snapshot vs COW fault after fork()".into(),
        unit: "ns/page",
        kind: Kind::Ratio {
            ours: median(a),
            baseline: median(b),
            ours_case: "write through a mapping to a page shared with a snapshot",
            baseline_case: "write in a forked child to a page shared with the parent",
            direction: Direction::Cost,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// 3 and 4: the engine alone.

/// A page-aligned page, so that copies stay on the fast path (see the engine's benchmarks).
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct AlignedPage([u8; PAGE_SIZE]);

fn engine_error(what: &str) -> impl Fn(vm_engine::VmError) -> String + '_ {
    move |error| format!("{what}: {error}")
}

fn snapshot(of: &EngineVmo, pages: u64) -> Result<EngineVmo> {
    of.create_child(
        ChildKind::Snapshot,
        0,
        pages * PAGE as u64,
        VmoOptions::default(),
    )
    .map_err(engine_error("create_child (snapshot)"))
}

fn filled_vmo(frames: &Arc<InMemoryFrames>, pages: u64, fill: u8) -> Result<EngineVmo> {
    let vmo = EngineVmo::create(frames.clone(), pages * PAGE as u64, VmoOptions::default())
        .map_err(engine_error("create"))?;
    let page = [fill; PAGE_SIZE];
    for at in 0..pages {
        vmo.write(at * PAGE as u64, &page)
            .map_err(engine_error("write"))?;
    }
    Ok(vmo)
}

/// The byte at the start of page `at`.
fn byte(vmo: &EngineVmo, at: u64) -> Result<u8> {
    let mut b = [0u8];
    vmo.read(at * PAGE as u64, &mut b)
        .map_err(engine_error("read"))?;
    Ok(b[0])
}

/// A filled VMO followed by `depth` snapshots, each of the one before.
fn chain(frames: &Arc<InMemoryFrames>, pages: u64, depth: u64) -> Result<Vec<EngineVmo>> {
    let mut levels = vec![filled_vmo(frames, pages, 0xa5)?];
    for _ in 0..depth {
        let child = snapshot(levels.last().ok_or("empty chain")?, pages)?;
        levels.push(child);
    }
    Ok(levels)
}

/// Reads `buffer.len()` pages of `vmo`, one 4 KiB call a page.
fn read_pages(vmo: &EngineVmo, buffer: &mut [AlignedPage]) -> Result<()> {
    for (at, out) in buffer.iter_mut().enumerate() {
        vmo.read(at as u64 * PAGE as u64, &mut out.0)
            .map_err(engine_error("read"))?;
    }
    black_box(buffer);
    Ok(())
}

fn chain_reads(cfg: &Config) -> Result<Measurement> {
    progress(&format!(
        "engine: 4 KiB reads through {} snapshot levels vs 1, {} pages",
        cfg.depth, cfg.chain_pages
    ));
    let frames = Arc::new(InMemoryFrames::new());
    let pages = cfg.chain_pages;
    let deep = chain(&frames, pages, cfg.depth)?;
    let shallow = chain(&frames, pages, 1)?;
    let (deepest, only) = (
        deep.last().ok_or("empty chain")?,
        shallow.last().ok_or("empty chain")?,
    );
    for at in [0, pages / 2, pages - 1] {
        if byte(deepest, at)? != 0xa5 || byte(only, at)? != 0xa5 {
            return Err(format!("the chain reads wrong data at page {at}"));
        }
    }
    let mut deep_buffer = vec![AlignedPage([0; PAGE_SIZE]); pages as usize];
    let mut shallow_buffer = deep_buffer.clone();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..=cfg.chain_rounds {
        let x = timed(|| read_pages(deepest, &mut deep_buffer))?;
        let y = timed(|| read_pages(only, &mut shallow_buffer))?;
        if round > 0 {
            a.push(x);
            b.push(y);
        }
    }
    Ok(Measurement {
        name: "chain_read",
        label: format!(
            "engine: 4 KiB read through {} snapshot levels vs 1",
            cfg.depth
        ),
        unit: "ns/page",
        kind: Kind::Ratio {
            ours: median(a) / pages as u32,
            baseline: median(b) / pages as u32,
            ours_case: "read from the last of a chain of 64 snapshots",
            baseline_case: "read from a single snapshot",
            direction: Direction::Cost,
        },
    })
}

/// Frames in use after a progressive chain of 5 snapshots of a written 6-page VMO, each level
/// writing one page.
fn chain_frames() -> Result<Measurement> {
    progress("engine: frames of a 6-page VMO and 5 progressive snapshots");
    let frames = Arc::new(InMemoryFrames::new());
    let original = EngineVmo::create(frames.clone(), 6 * PAGE as u64, VmoOptions::default())
        .map_err(engine_error("create"))?;
    for at in 0..6u64 {
        original
            .write(at * PAGE as u64, &[0xa0 + at as u8; PAGE_SIZE])
            .map_err(engine_error("write"))?;
    }
    let mut levels = vec![original];
    for level in 1..=5u64 {
        let child = snapshot(levels.last().ok_or("empty chain")?, 6)?;
        child
            .write(level * PAGE as u64, &[level as u8; PAGE_SIZE])
            .map_err(engine_error("write"))?;
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
            if byte(vmo, at)? != expected {
                return Err(format!("level {l} reads wrong data at page {at}"));
            }
        }
    }
    Ok(Measurement {
        name: "chain_frames",
        label: "engine: frames in use, 6-page VMO + 5 progressive snapshots writing 1 page each"
            .into(),
        unit: "frames",
        kind: Kind::Count {
            value: frames.frames_in_use() as u64,
            expected: 11,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Output.

/// A duration in the unit that suits it.
fn human(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// A ratio as "1.23x" (whole numbers from 100 up).
fn times(ratio: f64) -> String {
    if ratio < 100.0 {
        format!("{ratio:.2}x")
    } else {
        format!("{ratio:.0}x")
    }
}

/// What a measurement's ratio says, in words.
fn ratio_text(m: &Measurement) -> String {
    match (&m.kind, m.ratio()) {
        (
            Kind::Ratio {
                direction: Direction::Speedup,
                ..
            },
            Some(r),
        ) => format!("{} (baseline / ours)", times(r)),
        (
            Kind::Ratio {
                direction: Direction::Cost,
                ..
            },
            Some(r),
        ) => format!("{} (ours / baseline)", times(r)),
        (Kind::Count { value, expected }, _) => format!(
            "{value} (expected {expected}{})",
            if value == expected { "" } else { ": NOT MET" }
        ),
        _ => String::new(),
    }
}

fn table(cfg: &Config, results: &[Measurement]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "zxctl bench: {} MiB region, medians of {} rounds{}",
        cfg.region >> 20,
        cfg.rounds,
        if cfg.quick {
            " (quick: a smoke run; its ratios are not the documented figures)"
        } else {
            ""
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| measurement | ours | baseline | ratio |");
    let _ = writeln!(out, "|---|---|---|---|");
    for m in results {
        let (ours, baseline) = match &m.kind {
            Kind::Ratio { ours, baseline, .. } => {
                let per = m.unit.strip_prefix("ns").unwrap_or("");
                (
                    format!("{}{per}", human(*ours)),
                    format!("{}{per}", human(*baseline)),
                )
            }
            Kind::Count { value, .. } => (format!("{value} frames"), String::new()),
        };
        let _ = writeln!(
            out,
            "| {} | {ours} | {baseline} | {} |",
            m.label,
            ratio_text(m)
        );
    }
    out
}

/// 10^decade as "0.01", "1", "1000".
fn decade_label(decade: i32) -> String {
    let decimals = usize::try_from(-decade).unwrap_or(0);
    format!("{:.*}", decimals, 10f64.powi(decade))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of the ratios on a log scale, with the count as a footnote.
fn svg(cfg: &Config, results: &[Measurement]) -> String {
    let bars: Vec<(&Measurement, f64)> = results
        .iter()
        .filter_map(|m| m.ratio().map(|r| (m, r.max(1e-3))))
        .collect();
    let logs = bars.iter().map(|(_, r)| r.log10());
    let lo = logs.clone().fold(0.0f64, f64::min).floor().min(0.0);
    let hi = logs.fold(1.0f64, f64::max).ceil().max(lo + 1.0);
    let (left, chart, right) = (500.0, 420.0, 190.0);
    let (top, row) = (60.0, 44.0);
    let width = left + chart + right;
    let height = top + row * bars.len() as f64 + 90.0;
    let x_of = |r: f64| left + (r.log10() - lo) / (hi - lo) * chart;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">"##
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="white"/><text x="20" y="28" font-size="16" font-weight="bold">zxctl bench: ratios (log scale){}</text>"##,
        if cfg.quick { ", quick run" } else { "" }
    );
    // Decade grid lines, labelled at the bottom.
    let axis_y = top + row * bars.len() as f64;
    for decade in lo as i32..=hi as i32 {
        let x = x_of(10f64.powi(decade));
        let colour = if decade == 0 { "#444" } else { "#ddd" };
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{axis_y}" stroke="{colour}"/><text x="{x:.1}" y="{}" text-anchor="middle" fill="#444">{}x</text>"##,
            top - 10.0,
            axis_y + 18.0,
            decade_label(decade)
        );
    }
    for (index, (m, r)) in bars.iter().enumerate() {
        let y = top + row * index as f64;
        let (x0, x1) = (x_of(10f64.powf(lo)), x_of(*r));
        let (colour, reads) = match m.kind {
            Kind::Ratio {
                direction: Direction::Speedup,
                ..
            } => ("#3a7bd5", "baseline / ours"),
            _ => ("#e07b39", "ours / baseline"),
        };
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{:.1}" text-anchor="end">{}</text><text x="{}" y="{:.1}" text-anchor="end" fill="#777" font-size="11">{}</text>"##,
            left - 10.0,
            y + 16.0,
            xml_escape(&m.label),
            left - 10.0,
            y + 31.0,
            m.name,
        );
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="26" fill="{colour}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}">{} ({reads})</text>"##,
            y + 6.0,
            (x1 - x0).max(1.0),
            m.name,
            times(*r),
            x1.max(x0) + 6.0,
            y + 24.0,
            times(*r),
        );
    }
    let mut y = axis_y + 48.0;
    for m in results {
        if let Kind::Count { value, expected } = m.kind {
            let _ = writeln!(
                s,
                r##"<text x="20" y="{y}">{} ({}): {value} {} (expected {expected})</text>"##,
                xml_escape(&m.label),
                m.name,
                m.unit
            );
            y += 20.0;
        }
    }
    let _ = writeln!(
        s,
        r##"<text x="20" y="{y}" fill="#777" font-size="11">blue: baseline / ours, higher is better; orange: ours / baseline, lower is better</text>"##
    );
    s.push_str("</svg>\n");
    s
}
