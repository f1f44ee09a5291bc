//! Concurrency stress of the Zircon system calls through the Rust API: several threads issue
//! calls on handles of one process at once (create, create_child of every kind, clone, write,
//! read, set_size, duplicate, close, map into a process created with `zx_process_create`,
//! `zx_process_write_memory` / `read_memory`, unmap), each checking its own results against a
//! byte model of the VMOs it owns; and they use handles other threads own and close whenever
//! they like, which must either work or fail with `ZX_ERR_BAD_HANDLE`, never crash or corrupt
//! anything. At the end every handle is closed, the handle table is back where it started and no
//! frame is in use.
//!
//! `VM_STRESS_ROUNDS=<n>` runs n times longer; `VM_STRESS_SEED=<n>` chooses the seeds.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use zircon::engine::FrameSource;
use zircon::kernel::status::*;
use zircon::kernel::zircon::*;
use zircon::kernel::{HandleValue, Kernel, Name, Process, Status, Syscalls, UserBuffer, UserBytes};
use zircon::HostPlatform;
use zircon::MemfdFrames;

type TestKernel = Kernel<HostPlatform>;
type Sys<'a> = Syscalls<'a, HostPlatform>;

const PAGE: u64 = 4096;
const THREADS: u64 = 4;
/// `zx_handle_duplicate`'s SAME_RIGHTS.
const SAME_RIGHTS: u32 = 1 << 31;

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

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
        self.next() % n
    }
}

thread_local! {
    static DOING: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn report(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Any panic ends the process at once, reported past the harness's capture with the seed (a
/// panicking thread would otherwise leave the others on a barrier for ever); a run that takes
/// far too long (a deadlock) is aborted.
fn fail_fast(limit: Duration) -> Arc<AtomicBool> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let what = DOING.with(|doing| doing.borrow().clone());
            report(&format!(
                "stress test panic in {what}: {info}\nbase seed {:#x} (VM_STRESS_SEED={})",
                base_seed(),
                base_seed()
            ));
            default(info);
            std::process::abort();
        }));
    });
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    thread::spawn(move || {
        let start = Instant::now();
        while !flag.load(Ordering::Relaxed) {
            if start.elapsed() > limit {
                report(&format!(
                    "still running after {limit:?}: deadlock? base seed {:#x}",
                    base_seed()
                ));
                std::process::abort();
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    done
}

fn fill(rng: &mut Rng, len: usize) -> Vec<u8> {
    let start = rng.next() as u8;
    let step = (rng.next() as u8) | 1;
    (0..len)
        .map(|i| start.wrapping_add(step.wrapping_mul(i as u8)))
        .collect()
}

/// A handle the thread owns and what it sees: `len` bytes of model `model` from `base` (a slice
/// sees a window of its parent's model; duplicates share everything).
#[derive(Clone, Copy)]
struct Entry {
    handle: HandleValue,
    model: usize,
    base: usize,
    len: usize,
    resizable: bool,
    /// A slice's window is fixed, and its model must not be resized under it.
    sliced: bool,
}

#[derive(Default)]
struct Counts {
    ops: u64,
    memory: u64,
    foreign: u64,
    foreign_bad_handle: u64,
}

struct Shared<'a> {
    kernel: &'a TestKernel,
    process: &'a Arc<Process<HostPlatform>>,
    /// The created process and its root VMAR, as handles of `process`.
    target: HandleValue,
    target_vmar: HandleValue,
    /// Handles other threads may use while their owner closes them: (owner, handle).
    pool: Mutex<Vec<(u64, HandleValue)>>,
}

struct Worker<'a> {
    thread: u64,
    rng: Rng,
    sys: Sys<'a>,
    shared: &'a Shared<'a>,
    entries: Vec<Entry>,
    models: Vec<Vec<u8>>,
    /// Mappings in the created process: (address, length, entry).
    mappings: Vec<(u64, u64, Entry)>,
    /// Handles this thread put in the pool.
    offered: Vec<HandleValue>,
    counts: Counts,
    op: u64,
}

impl<'a> Worker<'a> {
    fn context(&self) -> String {
        format!("thread {} op {}", self.thread, self.op)
    }

    fn read_entry(&self, entry: &Entry) -> Vec<u8> {
        let mut bytes = vec![0u8; entry.len];
        self.sys
            .vmo_read(entry.handle, UserBuffer::new(&mut bytes), 0)
            .unwrap_or_else(|s| panic!("{}: read: {s}", self.context()));
        bytes
    }

    fn check_entry(&self, entry: &Entry, what: &str) {
        let bytes = self.read_entry(entry);
        let expected = &self.models[entry.model][entry.base..entry.base + entry.len];
        assert!(bytes == expected, "{}: {what}: contents", self.context());
        assert_eq!(
            self.sys.vmo_get_size(entry.handle),
            Ok(entry.len as u64),
            "{}: {what}: size",
            self.context()
        );
    }

    fn pick(&mut self) -> Entry {
        self.entries[self.rng.below(self.entries.len() as u64) as usize]
    }

    fn step(&mut self) {
        self.op += 1;
        self.counts.ops += 1;
        let choice = if self.entries.is_empty() {
            0
        } else {
            self.rng.below(20)
        };
        let context = self.context();
        match choice {
            0 | 1 => {
                let pages = 1 + self.rng.below(4);
                let resizable = self.rng.below(3) == 0;
                let options = if resizable { ZX_VMO_RESIZABLE } else { 0 };
                let handle = self
                    .sys
                    .vmo_create(pages * PAGE, options)
                    .unwrap_or_else(|s| panic!("{context}: create: {s}"));
                self.models.push(vec![0; (pages * PAGE) as usize]);
                self.entries.push(Entry {
                    handle,
                    model: self.models.len() - 1,
                    base: 0,
                    len: (pages * PAGE) as usize,
                    resizable,
                    sliced: false,
                });
            }
            2 | 3 => {
                let parent = self.pick();
                let kinds = [
                    ZX_VMO_CHILD_SNAPSHOT,
                    ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                    ZX_VMO_CHILD_SLICE,
                ];
                let kind = kinds[self.rng.below(3) as usize];
                let pages = (parent.len as u64 / PAGE).max(1);
                let first = self.rng.below(pages);
                let len = (1 + self.rng.below(pages - first)) * PAGE;
                let result = self
                    .sys
                    .vmo_create_child(parent.handle, kind, first * PAGE, len);
                if kind == ZX_VMO_CHILD_SLICE && (parent.resizable || parent.len == 0) {
                    assert!(result.is_err(), "{context}: slice of a resizable VMO");
                    return;
                }
                let handle = result.unwrap_or_else(|s| panic!("{context}: create_child: {s}"));
                let start = parent.base + (first * PAGE) as usize;
                let entry = if kind == ZX_VMO_CHILD_SLICE {
                    for e in self.entries.iter_mut().filter(|e| e.model == parent.model) {
                        e.sliced = true;
                    }
                    Entry {
                        handle,
                        base: start,
                        len: len as usize,
                        resizable: false,
                        sliced: true,
                        ..parent
                    }
                } else {
                    let mut model = vec![0u8; len as usize];
                    let end = (parent.base + parent.len).min(start + len as usize);
                    if start < end {
                        model[..end - start]
                            .copy_from_slice(&self.models[parent.model][start..end]);
                    }
                    self.models.push(model);
                    Entry {
                        handle,
                        model: self.models.len() - 1,
                        base: 0,
                        len: len as usize,
                        resizable: false,
                        sliced: false,
                    }
                };
                self.entries.push(entry);
                self.check_entry(&entry, "new child");
            }
            4 => {
                // A legacy clone reads its parent's current content; check it and close it.
                let parent = self.pick();
                let clone = self
                    .sys
                    .vmo_clone(
                        parent.handle,
                        ZX_VMO_CLONE_COPY_ON_WRITE,
                        0,
                        parent.len as u64,
                    )
                    .unwrap_or_else(|s| panic!("{context}: clone: {s}"));
                let entry = Entry {
                    handle: clone,
                    ..parent
                };
                self.check_entry(&entry, "clone");
                self.sys.handle_close(clone).unwrap();
            }
            5..=7 => {
                let entry = self.pick();
                if entry.len == 0 {
                    return;
                }
                let offset = self.rng.below(entry.len as u64) as usize;
                let len = 1 + self.rng.below((entry.len - offset).min(5000) as u64) as usize;
                let data = fill(&mut self.rng, len);
                self.sys
                    .vmo_write(entry.handle, UserBytes::new(&data), offset as u64)
                    .unwrap_or_else(|s| panic!("{context}: write: {s}"));
                let at = entry.base + offset;
                self.models[entry.model][at..at + len].copy_from_slice(&data);
            }
            8 | 9 => {
                let entry = self.pick();
                self.check_entry(&entry, "read");
            }
            10 => {
                let entry = self.pick();
                let copy = self
                    .sys
                    .handle_duplicate(entry.handle, SAME_RIGHTS)
                    .unwrap_or_else(|s| panic!("{context}: duplicate: {s}"));
                self.entries.push(Entry {
                    handle: copy,
                    ..entry
                });
            }
            11 => {
                let index = self.rng.below(self.entries.len() as u64) as usize;
                if !self.entries[index].resizable || self.entries[index].sliced {
                    return;
                }
                let entry = self.entries[index];
                let size = self.rng.below(5) * PAGE;
                self.sys
                    .vmo_set_size(entry.handle, size)
                    .unwrap_or_else(|s| panic!("{context}: set_size: {s}"));
                self.models[entry.model].resize(size as usize, 0);
                for e in self.entries.iter_mut().filter(|e| e.model == entry.model) {
                    e.len = size as usize;
                }
            }
            12 | 13 => self.memory(),
            14 | 15 => self.foreign(),
            16 => self.offer(),
            _ => {
                let index = self.rng.below(self.entries.len() as u64) as usize;
                let entry = self.entries.swap_remove(index);
                self.sys
                    .handle_close(entry.handle)
                    .unwrap_or_else(|s| panic!("{context}: close: {s}"));
                assert_eq!(
                    self.sys.vmo_get_size(entry.handle),
                    Err(ZX_ERR_BAD_HANDLE),
                    "{context}: closed"
                );
            }
        }
        while self.entries.len() > 20 {
            let entry = self.entries.swap_remove(0);
            self.sys.handle_close(entry.handle).unwrap();
        }
    }

    /// Maps an entry into the created process, or writes, reads or unmaps one of its mappings.
    fn memory(&mut self) {
        self.counts.memory += 1;
        let context = self.context();
        let (target, vmar) = (self.shared.target, self.shared.target_vmar);
        if self.mappings.is_empty() || self.rng.below(4) == 0 {
            let entry = self.pick();
            // Resizable VMOs could shrink under the mapping: the model keeps to fixed sizes.
            if entry.resizable || entry.len == 0 {
                return;
            }
            let addr = self
                .sys
                .vmar_map(
                    vmar,
                    ZX_VM_PERM_READ | ZX_VM_PERM_WRITE,
                    0,
                    entry.handle,
                    0,
                    entry.len as u64,
                )
                .unwrap_or_else(|s| panic!("{context}: map: {s}"));
            self.mappings.push((addr, entry.len as u64, entry));
            return;
        }
        let index = self.rng.below(self.mappings.len() as u64) as usize;
        let (addr, len, entry) = self.mappings[index];
        match self.rng.below(5) {
            0 => {
                self.mappings.swap_remove(index);
                self.sys
                    .vmar_unmap(vmar, addr, len)
                    .unwrap_or_else(|s| panic!("{context}: unmap: {s}"));
            }
            1 | 2 => {
                let offset = self.rng.below(len);
                let n = 1 + self.rng.below((len - offset).min(6000));
                let data = fill(&mut self.rng, n as usize);
                assert_eq!(
                    self.sys
                        .process_write_memory(target, addr + offset, UserBytes::new(&data)),
                    Ok(n as usize),
                    "{context}: process_write_memory"
                );
                let at = entry.base + offset as usize;
                self.models[entry.model][at..at + n as usize].copy_from_slice(&data);
            }
            _ => {
                let mut bytes = vec![0u8; len as usize];
                assert_eq!(
                    self.sys
                        .process_read_memory(target, addr, UserBuffer::new(&mut bytes)),
                    Ok(len as usize),
                    "{context}: process_read_memory"
                );
                let expected = &self.models[entry.model][entry.base..entry.base + len as usize];
                assert!(bytes == expected, "{context}: memory of the process");
            }
        }
    }

    /// Puts a new VMO's handle in the pool for others to use, or closes one this thread put
    /// there earlier (while others may be using it).
    fn offer(&mut self) {
        let context = self.context();
        if !self.offered.is_empty() && self.rng.below(2) == 0 {
            let index = self.rng.below(self.offered.len() as u64) as usize;
            let handle = self.offered.swap_remove(index);
            if self.rng.below(2) == 0 {
                // Close first, then withdraw it: others may still take the dead value.
                self.sys
                    .handle_close(handle)
                    .unwrap_or_else(|s| panic!("{context}: close pooled: {s}"));
                self.shared
                    .pool
                    .lock()
                    .unwrap()
                    .retain(|&(_, h)| h != handle);
            } else {
                self.shared
                    .pool
                    .lock()
                    .unwrap()
                    .retain(|&(_, h)| h != handle);
                self.sys
                    .handle_close(handle)
                    .unwrap_or_else(|s| panic!("{context}: close pooled: {s}"));
            }
            return;
        }
        let handle = self.sys.vmo_create(2 * PAGE, 0).unwrap();
        let data = fill(&mut self.rng, 100);
        self.sys
            .vmo_write(handle, UserBytes::new(&data), 0)
            .unwrap();
        self.offered.push(handle);
        self.shared.pool.lock().unwrap().push((self.thread, handle));
    }

    /// Uses a handle of another thread, which its owner may be closing: every call must
    /// succeed or say BAD_HANDLE. (Only reads and copies: a stale value whose slot came back
    /// could in principle name someone else's VMO.)
    fn foreign(&mut self) {
        let picked = {
            let pool = self.shared.pool.lock().unwrap();
            let others: Vec<HandleValue> = pool
                .iter()
                .filter(|&&(owner, _)| owner != self.thread)
                .map(|&(_, h)| h)
                .collect();
            (!others.is_empty()).then(|| others[self.rng.below(others.len() as u64) as usize])
        };
        let Some(handle) = picked else {
            return;
        };
        self.counts.foreign += 1;
        let context = self.context();
        let ok_or_bad = |result: Result<(), Status>, what: &str| match result {
            Ok(()) => false,
            Err(ZX_ERR_BAD_HANDLE) => true,
            Err(status) => panic!("{context}: {what} on another thread's handle: {status}"),
        };
        let bad = match self.rng.below(5) {
            0 => {
                let mut bytes = vec![0u8; 2 * PAGE as usize];
                ok_or_bad(
                    self.sys.vmo_read(handle, UserBuffer::new(&mut bytes), 0),
                    "read",
                )
            }
            1 => ok_or_bad(self.sys.vmo_get_size(handle).map(|_| ()), "get_size"),
            2 => match self.sys.handle_duplicate(handle, SAME_RIGHTS) {
                Ok(copy) => {
                    // The copy is this thread's: it outlives the original's close.
                    let mut bytes = [0u8; 100];
                    self.sys
                        .vmo_read(copy, UserBuffer::new(&mut bytes), 0)
                        .unwrap_or_else(|s| panic!("{context}: read of a duplicate: {s}"));
                    self.sys.handle_close(copy).unwrap();
                    false
                }
                Err(status) => ok_or_bad(Err(status), "duplicate"),
            },
            3 => match self
                .sys
                .vmo_create_child(handle, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE)
            {
                Ok(child) => {
                    self.sys.handle_close(child).unwrap();
                    false
                }
                Err(status) => ok_or_bad(Err(status), "create_child"),
            },
            _ => match self.sys.vmar_map(
                self.shared.target_vmar,
                ZX_VM_PERM_READ,
                0,
                handle,
                0,
                2 * PAGE,
            ) {
                Ok(addr) => {
                    let mut bytes = vec![0u8; 2 * PAGE as usize];
                    assert_eq!(
                        self.sys.process_read_memory(
                            self.shared.target,
                            addr,
                            UserBuffer::new(&mut bytes)
                        ),
                        Ok(2 * PAGE as usize),
                        "{context}: reading a mapping of another thread's VMO"
                    );
                    self.sys
                        .vmar_unmap(self.shared.target_vmar, addr, 2 * PAGE)
                        .unwrap();
                    false
                }
                Err(status) => ok_or_bad(Err(status), "map"),
            },
        };
        if bad {
            self.counts.foreign_bad_handle += 1;
        }
    }

    fn finish(&mut self) {
        for entry in self.entries.clone() {
            self.check_entry(&entry, "final");
        }
        for (addr, len, _) in std::mem::take(&mut self.mappings) {
            self.sys
                .vmar_unmap(self.shared.target_vmar, addr, len)
                .unwrap();
        }
        for entry in std::mem::take(&mut self.entries) {
            self.sys.handle_close(entry.handle).unwrap();
        }
        let offered = std::mem::take(&mut self.offered);
        self.shared
            .pool
            .lock()
            .unwrap()
            .retain(|(_, h)| !offered.contains(h));
        for handle in offered {
            self.sys.handle_close(handle).unwrap();
        }
    }
}

#[test]
fn threads_issue_syscalls_on_one_process_and_close_each_others_handles() {
    let done = fail_fast(Duration::from_secs(120 * scale()));
    let start = Instant::now();
    let rounds = 50 * scale();
    let ops_per_round = 600;
    let frames = Arc::new(MemfdFrames::with_limit(1 << 16).expect("frame file"));
    let kernel = TestKernel::new(frames.clone());
    let (process, job, root_vmar) = kernel.boot_process(Name::new(b"stress")).unwrap();
    let sys = kernel.syscalls(&process);
    let baseline = kernel.handles().live();
    let (target, target_vmar) = sys
        .process_create(job, UserBytes::new(b"target"), 0)
        .unwrap();
    let shared = Shared {
        kernel: &kernel,
        process: &process,
        target,
        target_vmar,
        pool: Mutex::new(Vec::new()),
    };
    let barrier = Barrier::new(THREADS as usize);
    let totals = AtomicU64::new(0);
    let memory = AtomicU64::new(0);
    let foreign = AtomicU64::new(0);
    let foreign_bad = AtomicU64::new(0);
    thread::scope(|scope| {
        for thread in 0..THREADS {
            let (shared, barrier) = (&shared, &barrier);
            let (totals, memory, foreign, foreign_bad) = (&totals, &memory, &foreign, &foreign_bad);
            scope.spawn(move || {
                let seed = base_seed().wrapping_add(thread.wrapping_mul(0x1_0000_0001));
                DOING.with(|d| *d.borrow_mut() = format!("thread {thread} (seed {seed:#x})"));
                let mut worker = Worker {
                    thread,
                    rng: Rng::new(seed),
                    sys: shared.kernel.syscalls(shared.process),
                    shared,
                    entries: Vec::new(),
                    models: Vec::new(),
                    mappings: Vec::new(),
                    offered: Vec::new(),
                    counts: Counts::default(),
                    op: 0,
                };
                for _ in 0..rounds {
                    for _ in 0..ops_per_round {
                        worker.step();
                    }
                    // Every thread's own VMOs still hold what it wrote, whatever the others did.
                    for entry in worker.entries.clone() {
                        worker.check_entry(&entry, "end of round");
                    }
                    barrier.wait();
                }
                worker.finish();
                totals.fetch_add(worker.counts.ops, Ordering::Relaxed);
                memory.fetch_add(worker.counts.memory, Ordering::Relaxed);
                foreign.fetch_add(worker.counts.foreign, Ordering::Relaxed);
                foreign_bad.fetch_add(worker.counts.foreign_bad_handle, Ordering::Relaxed);
            });
        }
    });
    assert!(shared.pool.lock().unwrap().is_empty());
    sys.handle_close(target_vmar).unwrap();
    sys.handle_close(target).unwrap();
    assert_eq!(kernel.handles().live(), baseline, "handles left open");
    assert_eq!(frames.frames_in_use(), 0, "frames leaked");
    let _ = root_vmar;
    let total = totals.load(Ordering::Relaxed);
    eprintln!(
        "hosted stress: {THREADS} threads, {total} system-call steps ({} on process memory, {} \
         on other threads' handles, {} of them BAD_HANDLE) in {:?}",
        memory.load(Ordering::Relaxed),
        foreign.load(Ordering::Relaxed),
        foreign_bad.load(Ordering::Relaxed),
        start.elapsed()
    );
    assert_eq!(total, THREADS * rounds * ops_per_round);
    assert!(foreign.load(Ordering::Relaxed) > 100);
    done.store(true, Ordering::Relaxed);
}
