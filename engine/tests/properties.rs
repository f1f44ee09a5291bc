//! Property tests of the engine's VMOs and their copy-on-write clones against the naive reference
//! model in `model/`: random sequences of create, create-child (snapshots, at-least-on-write
//! snapshots, slices, one-way clones), close (parents with live children included), read,
//! write, commit, decommit, zero, lookup, resize and frame-limit changes run on both side by
//! side, across several families sharing one frame source. After every operation the results
//! (down to the exact error), the bytes of every live VMO, every live VMO's size, accounting,
//! kind and child count, the frames in use and the addresses lookups report must agree, and the
//! engine's own invariant checker must pass on every family. The frame limit moves at random, so
//! memory runs out in the middle of sequences, and a refused operation must leave everything as
//! it was. Plain tests at the end throw hostile arguments at every operation and check
//! exhaustion by hand.
//!
//! `cargo test -p vm-engine --test properties` runs 256 cases of 41 to 83 operations in two
//! profiles (a mixed one that also creates huge VMOs, and a clone-heavy one with VMOs of a few
//! pages); set `VM_PROPTEST_CASES` for more cases (add `-- --nocapture` to see the operation and
//! coverage counts).

mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use vm_engine::{
    AccessError, AddressSpace, ChildKind, FrameSource, InMemoryFrames, InMemoryPlatform,
    MapRequest, Perms, SoftwareMmu, VmError, Vmo, VmoOptions,
};

use model::{Model, ModelInfo, Version, VmoId, MAX_VMO_SIZE, PAGE};

type TestVmo = Vmo<InMemoryPlatform>;

/// Every VMO is mapped (read and write) into one address space from its first byte for this
/// many pages, whatever its size; accesses through the mapping go page by page, as a thread's
/// would, and are compared with the model's reads and writes of the same pages.
const MAPPED_PAGES: u64 = 8;

/// Cases when `VM_PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 256;
/// Operations a case runs after its opening creates, at least and at most.
const MIN_OPS: usize = 60;
const MAX_OPS: usize = 100;
/// The default run must exercise at least this many operations.
const DEFAULT_MIN_TOTAL: usize = 10_000;

/// The longest read or write buffer. Reads and writes take real slices, so their lengths cannot
/// be hostile; offsets can.
const MAX_BUFFER: u64 = 4 * PAGE + 2;
/// A valid commit range is cut down to this many pages: without a limit the engine and the model
/// would really commit a huge range. Zero ranges of one-way clones are cut down the same way,
/// because the engine visits (and marks) every page of those.
const MAX_COMMIT_PAGES: u64 = 16;
/// Other zero ranges are not cut down: the engine visits only committed and partly covered
/// pages.
const MAX_ZERO_PAGES: u64 = MAX_VMO_SIZE / PAGE;
/// VMOs up to this many pages have every page compared after an operation; larger ones have
/// the pages showing a version and the pages around the operation compared.
const FULL_CHECK_PAGES: u64 = 64;

const KINDS: [ChildKind; 4] = [
    ChildKind::Snapshot,
    ChildKind::SnapshotAtLeastOnWrite,
    ChildKind::Slice,
    ChildKind::OneWay,
];

// ---------------------------------------------------------------------------------------------
// Operations as generated, and as run.

/// An offset as generated: absolute, or counted back from the VMO's size when the operation
/// runs, so that the last pages of a huge VMO are reached as often as the first.
#[derive(Clone, Copy, Debug)]
enum Offset {
    At(u64),
    BeforeEnd(u64),
}

impl Offset {
    fn resolve(self, size: u64) -> u64 {
        match self {
            Offset::At(offset) => offset,
            Offset::BeforeEnd(back) => size.wrapping_sub(back),
        }
    }
}

/// A length as generated: absolute; up to the VMO's end give or take a little; or so that
/// `offset + len` wraps past 2^64 by `Wrapping`'s amount.
#[derive(Clone, Copy, Debug)]
enum Len {
    Exactly(u64),
    ToEnd(i64),
    Wrapping(u64),
}

impl Len {
    fn resolve(self, size: u64, offset: u64) -> u64 {
        match self {
            Len::Exactly(len) => len,
            Len::ToEnd(delta) => size.wrapping_sub(offset).wrapping_add_signed(delta),
            Len::Wrapping(excess) => (u64::MAX - offset).wrapping_add(1).wrapping_add(excess),
        }
    }
}

/// A new size as generated: absolute, or relative to the current size.
#[derive(Clone, Copy, Debug)]
enum SizeArg {
    Bytes(u64),
    Change(i64),
}

/// A frame limit as generated: relative to the frames in use when it is set (so that the very
/// next allocation can hit it), or absolute.
#[derive(Clone, Copy, Debug)]
enum LimitArg {
    Headroom(u8),
    Frames(u64),
}

/// What a write writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fill {
    /// Zeros: a write must commit its pages even when it changes no byte.
    Zeros,
    /// Pseudo-random bytes from a seed, so that misplaced bytes cannot look right.
    Seeded(u64),
}

impl Fill {
    fn bytes(self, len: usize) -> Vec<u8> {
        match self {
            Fill::Zeros => vec![0; len],
            Fill::Seeded(seed) => {
                let mut state = seed | 1;
                let mut out = Vec::with_capacity(len + 8);
                while out.len() < len {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    out.extend_from_slice(&state.to_le_bytes());
                }
                out.truncate(len);
                out
            }
        }
    }
}

/// A generated operation. `vmo` picks a VMO with a live handle modulo how many there are.
#[derive(Clone, Debug)]
enum Op {
    Create {
        size: u64,
        resizable: bool,
    },
    CreateChild {
        vmo: usize,
        kind: ChildKind,
        offset: Offset,
        size: Len,
        resizable: bool,
    },
    Close {
        vmo: usize,
    },
    Read {
        vmo: usize,
        offset: Offset,
        len: Len,
    },
    Write {
        vmo: usize,
        offset: Offset,
        len: Len,
        fill: Fill,
    },
    Commit {
        vmo: usize,
        offset: Offset,
        len: Len,
    },
    Decommit {
        vmo: usize,
        offset: Offset,
        len: Len,
    },
    Zero {
        vmo: usize,
        offset: Offset,
        len: Len,
    },
    Lookup {
        vmo: usize,
        offset: Offset,
        len: Len,
        buffer_len: usize,
    },
    SetSize {
        vmo: usize,
        size: SizeArg,
    },
    SetFrameLimit {
        limit: Option<LimitArg>,
    },
    MappedRead {
        vmo: usize,
        offset: u64,
        len: u64,
    },
    MappedWrite {
        vmo: usize,
        offset: u64,
        len: u64,
        fill: Fill,
    },
}

/// An operation with every argument concrete, as it is run on both sides and reported.
#[derive(Clone, Copy, Debug)]
enum Action {
    Create {
        size: u64,
        resizable: bool,
    },
    CreateChild {
        parent: VmoId,
        kind: ChildKind,
        offset: u64,
        size: u64,
        resizable: bool,
    },
    Close {
        vmo: VmoId,
    },
    Read {
        vmo: VmoId,
        offset: u64,
        len: usize,
    },
    Write {
        vmo: VmoId,
        offset: u64,
        len: usize,
        fill: Fill,
    },
    Commit {
        vmo: VmoId,
        offset: u64,
        len: u64,
    },
    Decommit {
        vmo: VmoId,
        offset: u64,
        len: u64,
    },
    Zero {
        vmo: VmoId,
        offset: u64,
        len: u64,
    },
    Lookup {
        vmo: VmoId,
        offset: u64,
        len: u64,
        buffer_len: usize,
    },
    SetSize {
        vmo: VmoId,
        size: u64,
    },
    SetFrameLimit {
        limit: Option<u64>,
    },
    /// Through the VMO's mapping; `offset + len` stays inside the mapped window.
    MappedRead {
        vmo: VmoId,
        offset: u64,
        len: usize,
    },
    MappedWrite {
        vmo: VmoId,
        offset: u64,
        len: usize,
        fill: Fill,
    },
}

impl Action {
    /// The VMO the action works on, if any.
    fn target(&self) -> Option<VmoId> {
        match *self {
            Action::Create { .. } | Action::SetFrameLimit { .. } | Action::Close { .. } => None,
            Action::CreateChild { parent: vmo, .. }
            | Action::Read { vmo, .. }
            | Action::Write { vmo, .. }
            | Action::Commit { vmo, .. }
            | Action::Decommit { vmo, .. }
            | Action::Zero { vmo, .. }
            | Action::Lookup { vmo, .. }
            | Action::MappedRead { vmo, .. }
            | Action::MappedWrite { vmo, .. }
            | Action::SetSize { vmo, .. } => Some(vmo),
        }
    }

    /// The byte range the action names, if it names one.
    fn range(&self) -> Option<(u64, u64)> {
        match *self {
            Action::Read { offset, len, .. }
            | Action::Write { offset, len, .. }
            | Action::MappedRead { offset, len, .. }
            | Action::MappedWrite { offset, len, .. } => Some((offset, len as u64)),
            Action::CreateChild { offset, size, .. } => Some((offset, size)),
            Action::Commit { offset, len, .. }
            | Action::Decommit { offset, len, .. }
            | Action::Zero { offset, len, .. }
            | Action::Lookup { offset, len, .. } => Some((offset, len)),
            _ => None,
        }
    }
}

/// Shortens a valid range to `max_pages` pages; leaves invalid ranges alone, since refusing them
/// is what is under test.
fn cap_range(offset: u64, len: u64, size: u64, max_pages: u64) -> u64 {
    match offset.checked_add(len) {
        // A shorter range from the same offset is still inside the VMO.
        Some(end) if end <= size && len > max_pages * PAGE => max_pages * PAGE,
        _ => len,
    }
}

/// The longest zero range worth running on `vmo` (see [`MAX_COMMIT_PAGES`]).
fn zero_cap(model: &Model, vmo: VmoId) -> u64 {
    if model.zero_marks_every_page(vmo) {
        MAX_COMMIT_PAGES
    } else {
        MAX_ZERO_PAGES
    }
}

/// An access inside the mapped window of a VMO of `size` bytes: the offset wrapped into the
/// VMO's pages and the one after them (so that some accesses run past the end), the length cut
/// at the window's end.
fn in_window(size: u64, offset: u64, len: u64) -> (u64, usize) {
    let window = MAPPED_PAGES * PAGE;
    let offset = offset % window.min(size.saturating_add(PAGE));
    (offset, len.min(window - offset).min(MAX_BUFFER) as usize)
}

/// The concrete action `op` means in the current state, or `None` when it names a VMO and none
/// is live.
fn resolve(op: &Op, model: &Model) -> Option<Action> {
    let live: Vec<VmoId> = model.live().collect();
    let pick = |index: usize| (!live.is_empty()).then(|| live[index % live.len()]);
    let place = |vmo: VmoId, offset: Offset, len: Len| {
        let size = model.size(vmo);
        let offset = offset.resolve(size);
        (size, offset, len.resolve(size, offset))
    };
    let buffer = |len: u64| len.min(MAX_BUFFER) as usize;
    Some(match *op {
        Op::Create { size, resizable } => Action::Create { size, resizable },
        Op::CreateChild {
            vmo,
            kind,
            offset,
            size,
            resizable,
        } => {
            let parent = pick(vmo)?;
            let (_, offset, size) = place(parent, offset, size);
            Action::CreateChild {
                parent,
                kind,
                offset,
                size,
                resizable,
            }
        }
        Op::Close { vmo } => Action::Close { vmo: pick(vmo)? },
        Op::Read { vmo, offset, len } => {
            let vmo = pick(vmo)?;
            let (_, offset, len) = place(vmo, offset, len);
            Action::Read {
                vmo,
                offset,
                len: buffer(len),
            }
        }
        Op::Write {
            vmo,
            offset,
            len,
            fill,
        } => {
            let vmo = pick(vmo)?;
            let (_, offset, len) = place(vmo, offset, len);
            Action::Write {
                vmo,
                offset,
                len: buffer(len),
                fill,
            }
        }
        Op::Commit { vmo, offset, len } => {
            let vmo = pick(vmo)?;
            let (size, offset, len) = place(vmo, offset, len);
            let len = cap_range(offset, len, size, MAX_COMMIT_PAGES);
            Action::Commit { vmo, offset, len }
        }
        Op::Decommit { vmo, offset, len } => {
            let vmo = pick(vmo)?;
            let (_, offset, len) = place(vmo, offset, len);
            Action::Decommit { vmo, offset, len }
        }
        Op::Zero { vmo, offset, len } => {
            let vmo = pick(vmo)?;
            let (size, offset, len) = place(vmo, offset, len);
            let len = cap_range(offset, len, size, zero_cap(model, vmo));
            Action::Zero { vmo, offset, len }
        }
        Op::Lookup {
            vmo,
            offset,
            len,
            buffer_len,
        } => {
            let vmo = pick(vmo)?;
            let (_, offset, len) = place(vmo, offset, len);
            Action::Lookup {
                vmo,
                offset,
                len,
                buffer_len,
            }
        }
        Op::SetSize { vmo, size } => {
            let vmo = pick(vmo)?;
            let size = match size {
                SizeArg::Bytes(size) => size,
                SizeArg::Change(delta) => model.size(vmo).wrapping_add_signed(delta),
            };
            Action::SetSize { vmo, size }
        }
        Op::MappedRead { vmo, offset, len } => {
            let vmo = pick(vmo)?;
            let (offset, len) = in_window(model.size(vmo), offset, len);
            Action::MappedRead { vmo, offset, len }
        }
        Op::MappedWrite {
            vmo,
            offset,
            len,
            fill,
        } => {
            let vmo = pick(vmo)?;
            let (offset, len) = in_window(model.size(vmo), offset, len);
            Action::MappedWrite {
                vmo,
                offset,
                len,
                fill,
            }
        }
        Op::SetFrameLimit { limit } => Action::SetFrameLimit {
            limit: limit.map(|limit| match limit {
                LimitArg::Headroom(extra) => model.frames_in_use() + u64::from(extra),
                LimitArg::Frames(frames) => frames,
            }),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// The engine and the model side by side.

/// What the random sequences exercised, so that a generator that stopped producing the
/// interesting cases makes the test fail instead of passing quietly.
#[derive(Clone, Debug, Default)]
struct Coverage {
    /// Children created, by kind (in [`KINDS`] order).
    children: [usize; 4],
    /// Child creations refused (with the model agreeing on the error).
    refused_children: usize,
    /// Closes of a VMO that still had children.
    closed_parents: usize,
    /// Operations refused for lack of frames.
    no_memory: usize,
    /// Lookups that reported addresses.
    lookups: usize,
    /// Successful writes, commits or zeros of one-way clones (or slices of them).
    one_way_writes: usize,
    /// Successful decommits of one-way clones (the parent shows again).
    one_way_decommits: usize,
    /// Successful reads and writes through mappings.
    mapped_accesses: usize,
    /// Translations removed or write-protected because their page changed (unmaps of whole
    /// mappings at close included).
    shootdowns: u64,
}

impl Coverage {
    fn add(&mut self, other: &Coverage) {
        self.mapped_accesses += other.mapped_accesses;
        self.shootdowns += other.shootdowns;
        for (mine, theirs) in self.children.iter_mut().zip(other.children) {
            *mine += theirs;
        }
        self.refused_children += other.refused_children;
        self.closed_parents += other.closed_parents;
        self.no_memory += other.no_memory;
        self.lookups += other.lookups;
        self.one_way_writes += other.one_way_writes;
        self.one_way_decommits += other.one_way_decommits;
    }
}

/// The engine's VMOs and the model's, under the same ids, plus what lookups have taught us.
struct World {
    frames: Arc<InMemoryFrames>,
    model: Model,
    vmos: BTreeMap<VmoId, Arc<TestVmo>>,
    /// Where every live VMO's window is mapped.
    space: AddressSpace<InMemoryPlatform>,
    mapped: BTreeMap<VmoId, u64>,
    /// The frame address a lookup reported for a version, kept while some observing VMO shows
    /// that version: it must keep its frame, and no other visible version may share it.
    addresses: BTreeMap<Version, u64>,
    coverage: Coverage,
}

/// Formats a mismatch between the model's result and the engine's.
fn mismatch<T: std::fmt::Debug, U: std::fmt::Debug>(model: T, engine: U) -> String {
    format!("model says {model:?}, engine says {engine:?}")
}

/// Compares two byte results without printing kilobytes: the first differing byte is enough.
fn compare_bytes(
    what: &str,
    model: Result<Vec<u8>, VmError>,
    engine: Result<Vec<u8>, VmError>,
) -> Result<(), String> {
    match (model, engine) {
        (Ok(expected), Ok(actual)) => {
            if expected.len() != actual.len() {
                return Err(format!(
                    "{what}: model has {} bytes, engine {}",
                    expected.len(),
                    actual.len()
                ));
            }
            match expected.iter().zip(&actual).position(|(a, b)| a != b) {
                None => Ok(()),
                Some(at) => Err(format!(
                    "{what}: byte {at} differs: model {:#04x}, engine {:#04x}",
                    expected[at], actual[at]
                )),
            }
        }
        (Err(expected), Err(actual)) if expected == actual => Ok(()),
        (model, engine) => Err(format!(
            "{what}: {}",
            mismatch(model.map(|b| b.len()), engine.map(|b| b.len()))
        )),
    }
}

fn compare_results(model: Result<(), VmError>, engine: Result<(), VmError>) -> Result<(), String> {
    if model == engine {
        Ok(())
    } else {
        Err(mismatch(model, engine))
    }
}

impl World {
    fn new() -> Self {
        World {
            frames: Arc::new(InMemoryFrames::new()),
            model: Model::new(),
            vmos: BTreeMap::new(),
            space: AddressSpace::new(1 << 30, 1 << 40, Box::new(SoftwareMmu::new()))
                .expect("a valid address range"),
            mapped: BTreeMap::new(),
            addresses: BTreeMap::new(),
            coverage: Coverage::default(),
        }
    }

    fn engine(&self, vmo: VmoId) -> &TestVmo {
        &self.vmos[&vmo]
    }

    /// Takes a new engine VMO and maps its window.
    fn adopt(&mut self, id: VmoId, vmo: TestVmo) {
        let vmo = Arc::new(vmo);
        let base = self
            .space
            .root()
            .map(MapRequest {
                offset: None,
                overwrite: false,
                vmo: vmo.clone(),
                vmo_offset: 0,
                len: MAPPED_PAGES * PAGE,
                perms: Perms::READ | Perms::WRITE,
                max_perms: Perms::READ | Perms::WRITE,
                align: PAGE,
                populate: false,
                keep_alive: None,
            })
            .expect("the address space has room");
        self.mapped.insert(id, base);
        self.vmos.insert(id, vmo);
    }

    /// Reads (or, with `fill`, writes) through `vmo`'s mapping page by page, as a thread would,
    /// and the model's VMO one page at a time: both stop at the first page that fails, with the
    /// same error (past the VMO's end: the model's `OutOfRange`), after the same bytes.
    fn mapped_access(
        &mut self,
        vmo: VmoId,
        offset: u64,
        len: usize,
        fill: Option<Fill>,
    ) -> Result<Result<(), VmError>, String> {
        let base = self.mapped[&vmo];
        let data = fill.map(|fill| fill.bytes(len));
        let mut done = 0usize;
        while done < len {
            let at = offset + done as u64;
            let chunk = (PAGE - at % PAGE).min((len - done) as u64) as usize;
            let as_result = |(copied, stopped): (usize, Option<AccessError>)| match stopped {
                None if copied == chunk => Ok(()),
                Some(AccessError::BeyondEnd) if copied == 0 => Err(VmError::OutOfRange),
                Some(AccessError::NoMemory) if copied == 0 => Err(VmError::NoMemory),
                _ => Err(VmError::NotSupported), // never the model's answer: reported as a mismatch
            };
            let outcome = match &data {
                Some(data) => {
                    let bytes = &data[done..done + chunk];
                    let model = self.model.write(vmo, at, bytes);
                    let engine = as_result(self.space.write(base + at, bytes));
                    compare_results(model, engine)
                        .map_err(|e| format!("write through the mapping at {at:#x}: {e}"))?;
                    // A write fault keeps the shared frame its mapping shows and gives the
                    // other readers the copy: the content they share has a new address now.
                    self.addresses.clear();
                    model
                }
                None => {
                    let model = self.model.read(vmo, at, chunk);
                    let mut buffer = vec![0xa5; chunk];
                    let engine =
                        as_result(self.space.read(base + at, &mut buffer)).map(|()| buffer);
                    let outcome = model.as_ref().map(|_| ()).map_err(|e| *e);
                    compare_bytes("read through the mapping", model, engine)?;
                    outcome
                }
            };
            if let Err(error) = outcome {
                return Ok(Err(error));
            }
            done += chunk;
        }
        self.coverage.mapped_accesses += 1;
        Ok(Ok(()))
    }

    /// Runs `action` on both sides, then compares everything observable.
    fn apply(&mut self, action: &Action) -> Result<(), String> {
        let old_size = action.target().map(|vmo| self.model.size(vmo));
        self.run(action)?;
        self.check_everything(action, old_size)
    }

    /// Compares everything observable after `action` (which ran on a target of `old_size`
    /// bytes, if it has one) and runs the engine's invariant checker.
    fn check_everything(&mut self, action: &Action, old_size: Option<u64>) -> Result<(), String> {
        self.forget_freed_addresses();
        self.check_state()?;
        for vmo in self.model.live().collect::<Vec<_>>() {
            let near = (action.target() == Some(vmo)).then_some((action, old_size));
            self.check_contents(vmo, &self.probe_pages(vmo, near))?;
        }
        self.check_invariants()
    }

    fn note_coverage(&mut self, action: &Action, outcome: Result<(), VmError>) {
        match *action {
            Action::Write { vmo, .. } | Action::Commit { vmo, .. } | Action::Zero { vmo, .. }
                if outcome.is_ok() && self.model.zero_marks_every_page(vmo) =>
            {
                self.coverage.one_way_writes += 1;
            }
            Action::Decommit { vmo, len, .. }
                if outcome.is_ok() && len > 0 && self.model.zero_marks_every_page(vmo) =>
            {
                self.coverage.one_way_decommits += 1;
            }
            Action::Close { vmo } if self.engine(vmo).has_children() => {
                self.coverage.closed_parents += 1;
            }
            _ => {}
        }
        match outcome {
            Ok(()) => {}
            Err(VmError::NoMemory) => self.coverage.no_memory += 1,
            Err(_) if matches!(action, Action::CreateChild { .. }) => {
                self.coverage.refused_children += 1;
            }
            Err(_) => {}
        }
    }

    fn run(&mut self, action: &Action) -> Result<(), String> {
        if let Action::Close { .. } = action {
            self.note_coverage(action, Ok(()));
        }
        let outcome = self.run_both(action)?;
        if !matches!(action, Action::Close { .. }) {
            self.note_coverage(action, outcome);
        }
        Ok(())
    }

    /// Runs `action` on both sides; on agreement returns the (shared) result.
    fn run_both(&mut self, action: &Action) -> Result<Result<(), VmError>, String> {
        let agreed = |model: Result<(), VmError>, engine: Result<(), VmError>| {
            compare_results(model, engine).map(|()| model)
        };
        match *action {
            Action::Create { size, resizable } => {
                let model = self.model.create(size, resizable);
                let engine = TestVmo::create(self.frames.clone(), size, VmoOptions { resizable });
                match (model, engine) {
                    (Ok(id), Ok(vmo)) => {
                        self.adopt(id, vmo);
                        Ok(Ok(()))
                    }
                    (Err(expected), Err(actual)) if expected == actual => Ok(Err(expected)),
                    (model, engine) => Err(mismatch(model.map(|_| ()), engine.map(|_| ()))),
                }
            }
            Action::CreateChild {
                parent,
                kind,
                offset,
                size,
                resizable,
            } => {
                let model = self
                    .model
                    .create_child(parent, kind, offset, size, resizable);
                let engine =
                    self.engine(parent)
                        .create_child(kind, offset, size, VmoOptions { resizable });
                match (model, engine) {
                    (Ok(id), Ok(vmo)) => {
                        self.adopt(id, vmo);
                        let index = KINDS.iter().position(|&k| k == kind).unwrap_or(0);
                        self.coverage.children[index] += 1;
                        Ok(Ok(()))
                    }
                    (Err(expected), Err(actual)) if expected == actual => Ok(Err(expected)),
                    (model, engine) => Err(mismatch(model.map(|_| ()), engine.map(|_| ()))),
                }
            }
            Action::Close { vmo } => {
                self.model.close(vmo);
                // The mapping holds the VMO: it goes first, so that the close is a close.
                if let Some(base) = self.mapped.remove(&vmo) {
                    self.space
                        .root()
                        .unmap(base, MAPPED_PAGES * PAGE)
                        .map_err(|e| format!("unmapping {vmo:?}: {e}"))?;
                }
                let vmo = self.vmos.remove(&vmo);
                if vmo.as_ref().is_some_and(|vmo| Arc::strong_count(vmo) != 1) {
                    return Err("an unmapped VMO is still held by its mapping".into());
                }
                drop(vmo);
                Ok(Ok(()))
            }
            Action::Read { vmo, offset, len } => {
                let model = self.model.read(vmo, offset, len);
                // Poisoned, so that bytes the engine forgets to fill cannot pass for zeros.
                let mut buffer = vec![0xa5; len];
                let engine = self.engine(vmo).read(offset, &mut buffer).map(|()| buffer);
                let outcome = model.as_ref().map(|_| ()).map_err(|e| *e);
                compare_bytes("read", model, engine).map(|()| outcome)
            }
            Action::Write {
                vmo,
                offset,
                len,
                fill,
            } => {
                let data = fill.bytes(len);
                let model = self.model.write(vmo, offset, &data);
                agreed(model, self.engine(vmo).write(offset, &data))
            }
            Action::Commit { vmo, offset, len } => {
                let model = self.model.commit(vmo, offset, len);
                agreed(model, self.engine(vmo).commit(offset, len))
            }
            Action::Decommit { vmo, offset, len } => {
                let model = self.model.decommit(vmo, offset, len);
                agreed(model, self.engine(vmo).decommit(offset, len))
            }
            Action::Zero { vmo, offset, len } => {
                let model = self.model.zero(vmo, offset, len);
                agreed(model, self.engine(vmo).zero(offset, len))
            }
            Action::Lookup {
                vmo,
                offset,
                len,
                buffer_len,
            } => {
                let model = self.model.lookup(vmo, offset, len, buffer_len);
                let mut buffer = vec![u64::MAX; buffer_len];
                let engine = self.engine(vmo).lookup(offset, len, &mut buffer);
                match (model, engine) {
                    (Ok(versions), Ok(count)) if versions.len() == count => {
                        self.coverage.lookups += 1;
                        self.learn_addresses(&versions, &buffer[..count])
                            .map(|()| Ok(()))
                    }
                    (Err(expected), Err(actual)) if expected == actual => Ok(Err(expected)),
                    (model, engine) => Err(mismatch(model.map(|p| p.len()), engine)),
                }
            }
            Action::SetSize { vmo, size } => {
                let model = self.model.set_size(vmo, size);
                agreed(model, self.engine(vmo).set_size(size))
            }
            Action::MappedRead { vmo, offset, len } => self.mapped_access(vmo, offset, len, None),
            Action::MappedWrite {
                vmo,
                offset,
                len,
                fill,
            } => self.mapped_access(vmo, offset, len, Some(fill)),
            Action::SetFrameLimit { limit } => {
                self.model.set_frame_limit(limit);
                match limit {
                    Some(limit) => self
                        .frames
                        .set_limit(usize::try_from(limit).unwrap_or(usize::MAX)),
                    None => self.frames.clear_limit(),
                }
                Ok(Ok(()))
            }
        }
    }

    /// Checks the addresses a successful lookup returned and remembers them: one version, one
    /// frame; two visible versions, two frames.
    fn learn_addresses(&mut self, versions: &[Version], found: &[u64]) -> Result<(), String> {
        for (&version, &address) in versions.iter().zip(found) {
            if address % PAGE != 0 {
                return Err(format!(
                    "lookup: {version:?} at unaligned address {address:#x}"
                ));
            }
            match self.addresses.get(&version) {
                Some(&known) if known != address => {
                    return Err(format!(
                        "lookup: {version:?} moved from {known:#x} to {address:#x} while visible"
                    ));
                }
                Some(_) => {}
                None => {
                    if let Some((other, _)) = self.addresses.iter().find(|(_, &a)| a == address) {
                        return Err(format!(
                            "lookup: {version:?} has address {address:#x}, which {other:?} \
                             holds too"
                        ));
                    }
                    self.addresses.insert(version, address);
                }
            }
        }
        Ok(())
    }

    /// Drops remembered addresses of versions nobody can see: their frames may serve others.
    fn forget_freed_addresses(&mut self) {
        let visible = self.model.visible_versions();
        self.addresses.retain(|v, _| visible.contains(v));
    }

    /// Sizes, accounting, kinds, children and frames in use, for every live VMO.
    fn check_state(&self) -> Result<(), String> {
        self.model.check();
        let model_live: Vec<VmoId> = self.model.live().collect();
        let engine_live: Vec<VmoId> = self.vmos.keys().copied().collect();
        assert_eq!(model_live, engine_live, "harness: VMO sets diverged");
        let infos = self.model.infos();
        for (&id, vmo) in &self.vmos {
            let expected = infos[&id];
            let info = vmo.info();
            let actual = ModelInfo {
                size: info.size,
                committed_bytes: info.committed_bytes,
                populated_bytes: info.populated_bytes,
                resizable: info.resizable,
                kind: info.kind,
                num_children: info.num_children,
            };
            if expected != actual {
                return Err(format!("info of {id:?}: {}", mismatch(expected, actual)));
            }
            if vmo.size() != expected.size {
                return Err(format!(
                    "size of {id:?}: {}",
                    mismatch(expected.size, vmo.size())
                ));
            }
            if vmo.has_children() != (expected.num_children > 0) {
                return Err(format!(
                    "has_children of {id:?}: {}",
                    mismatch(expected.num_children > 0, vmo.has_children())
                ));
            }
        }
        let in_use = self.frames.frames_in_use() as u64;
        if in_use != self.model.frames_in_use() {
            return Err(format!(
                "frames in use: {}",
                mismatch(self.model.frames_in_use(), in_use)
            ));
        }
        Ok(())
    }

    /// The engine's invariant checker on one live VMO of each family, and every translation
    /// of the address space against the engine.
    fn check_invariants(&self) -> Result<(), String> {
        self.space
            .check_translations()
            .map_err(|e| format!("translations: {e}"))?;
        let mut checked = BTreeSet::new();
        for (&id, vmo) in &self.vmos {
            if checked.insert(self.model.family(id)) {
                vmo.check_family_invariants()
                    .map_err(|e| format!("invariants of {id:?}'s family: {e}"))?;
            }
        }
        Ok(())
    }

    /// The pages of `vmo` worth reading back: all of a small VMO; of a large one the pages
    /// showing a version, its first and last pages, and, when `near` names the action that just
    /// ran on it, those around the action's range and around the size it had before.
    fn probe_pages(&self, vmo: VmoId, near: Option<(&Action, Option<u64>)>) -> BTreeSet<u64> {
        let pages = self.model.size(vmo) / PAGE;
        if pages <= FULL_CHECK_PAGES {
            return (0..pages).collect();
        }
        let mut probes: BTreeSet<u64> = self.model.version_pages(vmo).into_iter().collect();
        let mut around = |byte: u64| {
            let page = byte / PAGE;
            probes.extend([page.wrapping_sub(1), page, page.wrapping_add(1)]);
        };
        around(0);
        around(pages * PAGE - 1);
        if let Some((action, old_size)) = near {
            if let Some((offset, len)) = action.range() {
                around(offset);
                around(offset.wrapping_add(len));
            }
            if let Some(old) = old_size {
                around(old);
            }
        }
        probes.retain(|&page| page < pages);
        probes
    }

    /// Reads `pages` of `vmo` from both sides and compares them byte for byte.
    fn check_contents(&self, vmo: VmoId, pages: &BTreeSet<u64>) -> Result<(), String> {
        let engine = self.engine(vmo);
        let mut actual = vec![0u8; PAGE as usize];
        for &page in pages {
            let expected = match self.model.page(vmo, page) {
                Some(bytes) => bytes.to_vec(),
                None => vec![0; PAGE as usize],
            };
            actual.fill(0xa5);
            let read = engine
                .read(page * PAGE, &mut actual)
                .map(|()| actual.clone());
            compare_bytes(
                &format!("contents of {vmo:?} page {page}"),
                Ok(expected),
                read,
            )?;
        }
        Ok(())
    }

    /// Closes every live VMO, newest first (children before their parents), comparing
    /// everything after each close, and checks no frame is left.
    fn finish(&mut self) -> Result<bool, String> {
        self.coverage.shootdowns += self.space.with_mmu(|mmu| {
            mmu.as_any()
                .downcast_ref::<SoftwareMmu>()
                .map_or(0, |mmu| mmu.unmaps + mmu.restricts)
        });
        let live: Vec<VmoId> = self.model.live().collect();
        for vmo in live.into_iter().rev() {
            let close = Action::Close { vmo };
            if let Err(problem) = self.apply(&close) {
                return Err(format!("{close:?}: {problem}"));
            }
        }
        match self.frames.frames_in_use() {
            0 => Ok(true),
            leaked => Err(format!(
                "{leaked} frames still in use after every VMO closed"
            )),
        }
    }

    /// Creates a VMO on both sides and returns its id; panics if that fails.
    fn create(&mut self, size: u64, resizable: bool) -> VmoId {
        self.apply(&Action::Create { size, resizable })
            .unwrap_or_else(|e| panic!("create({size:#x}): {e}"));
        self.model.live().last().expect("a VMO was just created")
    }

    /// Creates a child on both sides and returns its id; panics if that fails.
    fn child(&mut self, parent: VmoId, kind: ChildKind, offset: u64, size: u64) -> VmoId {
        let action = Action::CreateChild {
            parent,
            kind,
            offset,
            size,
            resizable: false,
        };
        self.apply(&action)
            .unwrap_or_else(|e| panic!("{action:?}: {e}"));
        self.model.live().last().expect("a VMO was just created")
    }
}

/// Runs one generated case; counts the operations it ran into `executed` and what they covered
/// into `coverage`. An engine panic fails the case (so that it shrinks) rather than the test.
fn run_case(
    ops: &[Op],
    executed: &AtomicUsize,
    coverage: &Mutex<Coverage>,
) -> Result<(), TestCaseError> {
    let mut world = World::new();
    let mut log = String::new();
    let outcome = match quietly(|| run_steps(ops, &mut world, &mut log, executed)) {
        Ok(Ok(true)) => match quietly(|| world.finish()) {
            Ok(Ok(finished)) => Ok(finished),
            Ok(Err(problem)) => Err(format!("at the end: {problem}")),
            Err(panic) => Err(format!("engine panicked at the end: {panic}")),
        },
        // The engine leaked frames at a known bug; closing the rest proves nothing more.
        Ok(Ok(false)) => Ok(false),
        Ok(Err(problem)) => Err(problem),
        Err(panic) => Err(format!("engine panicked: {panic}")),
    };
    if let Ok(mut total) = coverage.lock() {
        total.add(&world.coverage);
    }
    if outcome != Ok(true) {
        // The family may be inconsistent (or hold known leaks); dropping its VMOs could panic.
        std::mem::forget(world);
    }
    outcome
        .map(|_| ())
        .map_err(|problem| TestCaseError::fail(format!("{problem}\nactions run:\n{log}")))
}

/// Runs the steps of a case, logging each action before it runs.
fn run_steps(
    ops: &[Op],
    world: &mut World,
    log: &mut String,
    executed: &AtomicUsize,
) -> Result<bool, String> {
    for (step, op) in ops.iter().enumerate() {
        let Some(action) = resolve(op, &world.model) else {
            continue;
        };
        let _ = writeln!(log, "  {step}: {action:?}");
        executed.fetch_add(1, Ordering::Relaxed);
        if let Err(problem) = world.apply(&action) {
            return Err(format!("step {step}, {action:?}: {problem}"));
        }
    }
    Ok(true)
}

thread_local! {
    /// Set while [`quietly`] runs on this thread: panics there are reported as case failures,
    /// so the panic hook need not print them (shrinking would print hundreds).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into its message. The default panic output is suppressed on this
/// thread only; other tests keep theirs.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|quiet| quiet.get()) || std::env::var_os("VM_LOUD").is_some() {
                previous(info);
            }
        }));
    });
    QUIET.with(|quiet| quiet.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|quiet| quiet.set(false));
    outcome.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// Values that break careless arithmetic: near 2^64, around 2^48 (the largest VMO), 2^40.
const HOSTILE: [u64; 12] = [
    u64::MAX,
    u64::MAX - 1,
    u64::MAX - PAGE + 1,
    u64::MAX - PAGE + 2,
    1 << 63,
    MAX_VMO_SIZE - PAGE,
    MAX_VMO_SIZE - 1,
    MAX_VMO_SIZE,
    MAX_VMO_SIZE + 1,
    MAX_VMO_SIZE + PAGE,
    1 << 40,
    (1 << 40) + 1,
];

/// A page boundary of the first few pages, or one byte either side of it.
fn near_page_boundary(pages: u64) -> impl Strategy<Value = u64> {
    (0..=pages, -1i64..=1).prop_map(|(page, delta)| (page * PAGE).saturating_add_signed(delta))
}

fn hostile() -> impl Strategy<Value = u64> {
    prop_oneof![4 => select(HOSTILE.to_vec()), 1 => any::<u64>()]
}

/// Offsets: mostly within the first or the last few pages (most VMOs have a few pages, so both
/// usually land inside), sometimes hostile.
fn offset() -> impl Strategy<Value = Offset> {
    prop_oneof![
        6 => near_page_boundary(2).prop_map(Offset::At),
        2 => (0..=3 * PAGE).prop_map(Offset::At),
        4 => (1u64..=2, -1i64..=1)
            .prop_map(|(pages, delta)| Offset::BeforeEnd((pages * PAGE).wrapping_add_signed(delta))),
        1 => (0u64..=64).prop_map(Offset::BeforeEnd),
        1 => hostile().prop_map(Offset::At),
    ]
}

/// Lengths: mostly up to a page or two, on or next to page boundaries or a few bytes; sometimes
/// up to the end give or take a little, hostile, or wrapping past 2^64.
fn len() -> impl Strategy<Value = Len> {
    let page = PAGE as i64;
    prop_oneof![
        5 => near_page_boundary(1).prop_map(Len::Exactly),
        4 => (0u64..=64).prop_map(Len::Exactly),
        2 => (0..=2 * PAGE + 1).prop_map(Len::Exactly),
        2 => select(vec![-page - 1, -page, -1, 0, 0, 1, page]).prop_map(Len::ToEnd),
        1 => hostile().prop_map(Len::Exactly),
        1 => prop_oneof![Just(0), Just(1), 0..=2 * PAGE].prop_map(Len::Wrapping),
    ]
}

/// Page-aligned offsets and lengths within the first pages, as decommits need.
fn aligned_range() -> impl Strategy<Value = (Offset, Len)> {
    let page = PAGE as i64;
    (
        prop_oneof![
            3 => (0u64..=2).prop_map(|pages| Offset::At(pages * PAGE)),
            1 => (1u64..=2).prop_map(|pages| Offset::BeforeEnd(pages * PAGE)),
        ],
        prop_oneof![
            3 => (0u64..=2).prop_map(|pages| Len::Exactly(pages * PAGE)),
            1 => select(vec![-page, 0]).prop_map(Len::ToEnd),
        ],
    )
}

/// Sizes for new VMOs: mostly one to `pages` pages, sometimes empty, and (when `hostile_too`)
/// huge or invalid.
fn create_size(pages: u64, hostile_too: bool) -> BoxedStrategy<u64> {
    let small = (1u64..=pages, -1i64..=1)
        .prop_map(|(pages, delta)| (pages * PAGE).wrapping_add_signed(delta));
    if hostile_too {
        prop_oneof![12 => small, 2 => 0..=pages * PAGE, 1 => Just(0), 2 => hostile()].boxed()
    } else {
        prop_oneof![12 => small, 2 => 0..=pages * PAGE, 1 => Just(0)].boxed()
    }
}

/// Child offsets: mostly a page boundary among the first pages of the parent or at its end
/// (children may start past it), sometimes misaligned or hostile.
fn child_offset() -> impl Strategy<Value = Offset> {
    prop_oneof![
        10 => (0u64..=3).prop_map(|pages| Offset::At(pages * PAGE)),
        3 => (0u64..=2).prop_map(|pages| Offset::BeforeEnd(pages * PAGE)),
        1 => near_page_boundary(2).prop_map(Offset::At),
        1 => hostile().prop_map(Offset::At),
    ]
}

/// Child sizes: mostly a few pages, or up to the parent's end give or take a page; sometimes
/// hostile or wrapping.
fn child_size() -> impl Strategy<Value = Len> {
    let page = PAGE as i64;
    prop_oneof![
        10 => (0u64..=4, -1i64..=1)
            .prop_map(|(pages, delta)| Len::Exactly((pages * PAGE).saturating_add_signed(delta))),
        4 => select(vec![-page, 0, 0, page]).prop_map(Len::ToEnd),
        1 => hostile().prop_map(Len::Exactly),
        1 => prop_oneof![Just(0), 0..=2 * PAGE].prop_map(Len::Wrapping),
    ]
}

/// A child's kind, offset and size. Slices must fit inside their parent, so they mostly get a
/// window that does.
fn child_args() -> impl Strategy<Value = (ChildKind, Offset, Len)> {
    let page = PAGE as i64;
    let fitting_slice = (
        prop_oneof![
            2 => Just(Offset::At(0)),
            1 => Just(Offset::At(PAGE)),
            1 => Just(Offset::BeforeEnd(PAGE)),
        ],
        prop_oneof![
            2 => select(vec![-page, 0]).prop_map(Len::ToEnd),
            1 => (0u64..=1).prop_map(|pages| Len::Exactly(pages * PAGE)),
        ],
    )
        .prop_map(|(offset, size)| (ChildKind::Slice, offset, size));
    prop_oneof![
        3 => (select(KINDS.to_vec()), child_offset(), child_size()),
        1 => fitting_slice,
    ]
}

/// Lookup lengths: mostly within a page or two, since a lookup only succeeds when every page it
/// touches is committed.
fn lookup_len() -> impl Strategy<Value = Len> {
    prop_oneof![
        3 => (1..=PAGE + 1).prop_map(Len::Exactly),
        1 => len(),
    ]
}

fn new_size(pages: u64, hostile_too: bool) -> impl Strategy<Value = SizeArg> {
    let page = PAGE as i64;
    prop_oneof![
        3 => create_size(pages, hostile_too).prop_map(SizeArg::Bytes),
        2 => select(vec![-3 * page, -page - 1, -page, -1, 0, 1, page, page + 1, 3 * page])
            .prop_map(SizeArg::Change),
    ]
}

fn frame_limit() -> impl Strategy<Value = Option<LimitArg>> {
    prop_oneof![
        2 => Just(None),
        3 => (0u8..=3).prop_map(|extra| Some(LimitArg::Headroom(extra))),
        1 => (0u64..=8).prop_map(|frames| Some(LimitArg::Frames(frames))),
    ]
}

fn fill() -> impl Strategy<Value = Fill> {
    prop_oneof![1 => Just(Fill::Zeros), 4 => any::<u64>().prop_map(Fill::Seeded)]
}

fn vmo_index() -> impl Strategy<Value = usize> {
    0usize..32
}

/// Which mix of operations a case draws from.
#[derive(Clone, Copy, Debug)]
enum Profile {
    /// Every operation, VMOs of up to eight pages and sometimes huge ones, clones now and then.
    Mixed,
    /// Mostly clones of VMOs of up to three pages, closes and the writes and decommits that
    /// make their pages diverge, with the invariant checker kept cheap.
    CloneHeavy,
}

fn op(profile: Profile) -> BoxedStrategy<Op> {
    let (pages, hostile_too, create, child, close) = match profile {
        Profile::Mixed => (8, true, 5, 6, 3),
        Profile::CloneHeavy => (3, false, 2, 14, 6),
    };
    prop_oneof![
        create => (create_size(pages, hostile_too), prop::bool::weighted(0.3))
            .prop_map(|(size, resizable)| Op::Create { size, resizable }),
        child => (vmo_index(), child_args(), prop::bool::weighted(0.3))
            .prop_map(|(vmo, (kind, offset, size), resizable)| Op::CreateChild {
                vmo,
                kind,
                offset,
                size,
                // Resizable slices are refused; ask for them only now and then.
                resizable: resizable && (kind != ChildKind::Slice || vmo % 4 == 0),
            }),
        close => vmo_index().prop_map(|vmo| Op::Close { vmo }),
        10 => (vmo_index(), offset(), len())
            .prop_map(|(vmo, offset, len)| Op::Read { vmo, offset, len }),
        14 => (vmo_index(), offset(), len(), fill())
            .prop_map(|(vmo, offset, len, fill)| Op::Write { vmo, offset, len, fill }),
        7 => (vmo_index(), offset(), len())
            .prop_map(|(vmo, offset, len)| Op::Commit { vmo, offset, len }),
        4 => (vmo_index(), offset(), len())
            .prop_map(|(vmo, offset, len)| Op::Decommit { vmo, offset, len }),
        4 => (vmo_index(), aligned_range())
            .prop_map(|(vmo, (offset, len))| Op::Decommit { vmo, offset, len }),
        7 => (vmo_index(), offset(), len())
            .prop_map(|(vmo, offset, len)| Op::Zero { vmo, offset, len }),
        7 => (vmo_index(), offset(), lookup_len(), prop_oneof![0usize..=4, select(vec![8, 17, 64])])
            .prop_map(|(vmo, offset, len, buffer_len)| Op::Lookup {
                vmo,
                offset,
                len,
                buffer_len
            }),
        5 => (vmo_index(), new_size(pages, hostile_too))
            .prop_map(|(vmo, size)| Op::SetSize { vmo, size }),
        4 => frame_limit().prop_map(|limit| Op::SetFrameLimit { limit }),
        9 => (vmo_index(), 0..MAPPED_PAGES * PAGE, 1..2 * PAGE + 3)
            .prop_map(|(vmo, offset, len)| Op::MappedRead { vmo, offset, len }),
        12 => (vmo_index(), 0..MAPPED_PAGES * PAGE, 1..2 * PAGE + 3, fill())
            .prop_map(|(vmo, offset, len, fill)| Op::MappedWrite { vmo, offset, len, fill }),
    ]
    .boxed()
}

/// A case: one to three small VMOs to start with, then the random operations of one profile.
fn scenario() -> impl Strategy<Value = Vec<Op>> {
    let case = |profile: Profile| {
        let pages = match profile {
            Profile::Mixed => 6,
            Profile::CloneHeavy => 3,
        };
        let opening = (near_page_boundary(pages), prop::bool::weighted(0.3))
            .prop_map(|(size, resizable)| Op::Create { size, resizable });
        (vec(opening, 1..=3), vec(op(profile), MIN_OPS..=MAX_OPS)).prop_map(|(mut ops, rest)| {
            ops.extend(rest);
            ops
        })
    };
    prop_oneof![case(Profile::Mixed), case(Profile::CloneHeavy)]
}

fn configured_cases() -> u32 {
    match std::env::var("VM_PROPTEST_CASES") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("VM_PROPTEST_CASES={value:?} is not a case count")),
        Err(_) => DEFAULT_CASES,
    }
}

/// The seed of a run: `VM_PROPTEST_SEED` if set; a fresh one for exploration runs (those that set
/// `VM_PROPTEST_CASES`); otherwise a fixed one, so that the default run (the one CI makes) checks
/// the same sequences every time and a failure there reproduces exactly.
fn configured_seed() -> u64 {
    match std::env::var("VM_PROPTEST_SEED") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("VM_PROPTEST_SEED={value:?} is not a number")),
        Err(_) if std::env::var("VM_PROPTEST_CASES").is_ok() => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |t| t.as_nanos() as u64),
        Err(_) => 0x5eed_2026_1122,
    }
}

/// A test runner seeded by [`configured_seed`], which it prints.
fn seeded_runner(config: Config) -> TestRunner {
    let seed = configured_seed();
    println!("seed {seed} (VM_PROPTEST_SEED={seed} repeats this run)");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn model_constants_are_the_engines() {
    assert_eq!(PAGE, vm_engine::PAGE_SIZE as u64);
    assert_eq!(MAX_VMO_SIZE, vm_engine::MAX_VMO_SIZE);
}

#[test]
fn engine_matches_model_on_random_operation_sequences() {
    let cases = configured_cases();
    let mut runner = seeded_runner(Config {
        cases,
        // A failure prints its minimal case; a regression file would land in the source tree.
        failure_persistence: None,
        // Cases are cheap, and a sequence shrunk further is much quicker to read.
        max_shrink_iters: 20_000,
        ..Config::default()
    });
    let executed = AtomicUsize::new(0);
    let coverage = Mutex::new(Coverage::default());
    let started = Instant::now();
    if let Err(failure) = runner.run(&scenario(), |ops| run_case(&ops, &executed, &coverage)) {
        panic!("{failure}");
    }
    let total = executed.load(Ordering::Relaxed);
    let coverage = coverage.into_inner().unwrap_or_default();
    println!(
        "{total} operations in {cases} cases, {:.1} s; {coverage:?}",
        started.elapsed().as_secs_f64()
    );
    if cases >= DEFAULT_CASES {
        assert!(total >= DEFAULT_MIN_TOTAL, "only {total} operations ran");
        for (kind, &made) in KINDS.iter().zip(&coverage.children) {
            assert!(made >= 100, "only {made} {kind:?} children created");
        }
        assert!(coverage.refused_children >= 100, "{coverage:?}");
        assert!(coverage.closed_parents >= 100, "{coverage:?}");
        assert!(coverage.no_memory >= 100, "{coverage:?}");
        assert!(coverage.lookups >= 100, "{coverage:?}");
        assert!(coverage.one_way_writes >= 100, "{coverage:?}");
        assert!(coverage.mapped_accesses >= 1000, "{coverage:?}");
        assert!(coverage.shootdowns >= 1000, "{coverage:?}");
        // Decommit refuses VMOs that share pages with a snapshot (also one taken through a
        // slice), so fewer succeed than other operations: a default run sees 25 to 40, and the
        // floor leaves room for the randomness of the seed.
        assert!(coverage.one_way_decommits >= 10, "{coverage:?}");
    }
}

/// Offsets that probe every edge of a VMO of `size` bytes and of the `u64` range.
fn hostile_offsets(size: u64) -> Vec<u64> {
    let mut offsets = vec![0, 1, PAGE - 1, PAGE, PAGE + 1];
    offsets.extend([
        size.wrapping_sub(PAGE),
        size.wrapping_sub(1),
        size,
        size + 1,
    ]);
    offsets.extend(HOSTILE);
    offsets
}

/// Lengths that probe every edge from `offset`: empty, a byte, pages, exactly to the end, one
/// past it, ending exactly at 2^64 - 1, wrapping to exactly 2^64 and beyond.
fn hostile_lens(size: u64, offset: u64) -> Vec<u64> {
    let to_end = size.wrapping_sub(offset);
    let mut lens = vec![0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE];
    lens.extend([to_end, to_end.wrapping_add(1), to_end.wrapping_sub(1)]);
    lens.extend([u64::MAX - offset, (u64::MAX - offset).wrapping_add(1)]);
    lens.extend([(u64::MAX - offset).wrapping_add(2)]);
    lens.extend(HOSTILE);
    lens
}

/// Every operation with every hostile offset and length, on a zero-sized, a small and a 2^48-byte
/// VMO, with and without frames to spare: nothing may panic, and every answer and every byte must
/// be the model's.
#[test]
fn hostile_arguments_get_the_models_answers() {
    let mut world = World::new();
    for size in HOSTILE.into_iter().chain([0, 1, PAGE - 1, PAGE + 1]) {
        for resizable in [false, true] {
            world
                .apply(&Action::Create { size, resizable })
                .unwrap_or_else(|e| panic!("create({size:#x}): {e}"));
        }
    }
    let finished = world.finish().unwrap_or_else(|e| panic!("closing: {e}"));
    assert!(finished, "closing hit a known engine bug");

    let sizes = [
        (0, true),
        (0, false),
        (3 * PAGE, true),
        (MAX_VMO_SIZE, true),
    ];
    for (size, resizable) in sizes {
        for exhausted in [false, true] {
            let mut world = World::new();
            let vmo = world.create(size, resizable);
            let run = |world: &mut World, action: Action| {
                world
                    .apply(&action)
                    .unwrap_or_else(|e| panic!("size {size:#x}, {action:?}: {e}"))
            };
            if size > 0 {
                let fill = Fill::Seeded(size);
                run(
                    &mut world,
                    Action::Write {
                        vmo,
                        offset: 0,
                        len: 10,
                        fill,
                    },
                );
                let offset = size - 10;
                run(
                    &mut world,
                    Action::Write {
                        vmo,
                        offset,
                        len: 10,
                        fill,
                    },
                );
            }
            if exhausted {
                let limit = Some(world.model.frames_in_use());
                run(&mut world, Action::SetFrameLimit { limit });
            }
            for offset in hostile_offsets(size) {
                for len in hostile_lens(size, offset) {
                    let mut actions = vec![
                        Action::Decommit { vmo, offset, len },
                        Action::Lookup {
                            vmo,
                            offset,
                            len,
                            buffer_len: 0,
                        },
                        Action::Lookup {
                            vmo,
                            offset,
                            len,
                            buffer_len: 3,
                        },
                    ];
                    // Valid huge commits and zeros are left out for the reasons given at
                    // MAX_COMMIT_PAGES and MAX_ZERO_PAGES.
                    if cap_range(offset, len, size, MAX_COMMIT_PAGES) == len {
                        actions.push(Action::Commit { vmo, offset, len });
                    }
                    if cap_range(offset, len, size, MAX_ZERO_PAGES) == len {
                        actions.push(Action::Zero { vmo, offset, len });
                    }
                    if len <= MAX_BUFFER {
                        let len = len as usize;
                        actions.push(Action::Read { vmo, offset, len });
                        let fill = Fill::Seeded(offset ^ len as u64);
                        actions.push(Action::Write {
                            vmo,
                            offset,
                            len,
                            fill,
                        });
                    }
                    for action in actions {
                        run(&mut world, action);
                    }
                }
            }
            let mut new_sizes = vec![0, 1, PAGE, size, size.wrapping_add(1)];
            new_sizes.extend(HOSTILE);
            for new_size in new_sizes {
                run(
                    &mut world,
                    Action::SetSize {
                        vmo,
                        size: new_size,
                    },
                );
                run(&mut world, Action::SetSize { vmo, size });
            }
            let finished = world
                .finish()
                .unwrap_or_else(|e| panic!("size {size:#x}: {e}"));
            assert!(finished, "closing hit a known engine bug");
        }
    }
}

/// Every kind of child with hostile offsets and sizes, resizable or not, of roots of several
/// sizes and of a slice, a one-way clone and a snapshot of them: every answer must be the
/// model's, and every child created must agree with the model in everything (it is closed again
/// at once). Refusals are compared by result only, to keep the test quick.
#[test]
fn hostile_child_arguments_get_the_models_answers() {
    let roots = [
        (0, false),
        (3 * PAGE, false),
        (3 * PAGE, true),
        (MAX_VMO_SIZE, false),
    ];
    let mut created = 0;
    for (size, resizable) in roots {
        let mut world = World::new();
        let root = world.create(size, resizable);
        if size > 0 {
            for offset in [0, size - 10] {
                let fill = Fill::Seeded(offset);
                world
                    .apply(&Action::Write {
                        vmo: root,
                        offset,
                        len: 10,
                        fill,
                    })
                    .unwrap_or_else(|e| panic!("write: {e}"));
            }
        }
        let mut parents = vec![root];
        if !resizable {
            parents.push(world.child(root, ChildKind::Slice, 0, size));
        }
        parents.push(world.child(root, ChildKind::OneWay, 0, size));
        parents.push(world.child(root, ChildKind::Snapshot, 0, size));
        for &parent in &parents {
            let parent_size = world.model.size(parent);
            let mut offsets = vec![0, 1, PAGE, parent_size, parent_size + PAGE];
            offsets.extend([MAX_VMO_SIZE, 1 << 63, u64::MAX - PAGE + 1]);
            for offset in offsets {
                let to_end = parent_size.wrapping_sub(offset);
                let mut sizes = vec![0, 1, PAGE, to_end, to_end.wrapping_add(PAGE)];
                sizes.extend([
                    MAX_VMO_SIZE,
                    MAX_VMO_SIZE + 1,
                    u64::MAX - PAGE + 2,
                    u64::MAX,
                ]);
                sizes.push((u64::MAX - offset).wrapping_add(1));
                for child_size in sizes {
                    for kind in KINDS {
                        for resizable in [false, true] {
                            let action = Action::CreateChild {
                                parent,
                                kind,
                                offset,
                                size: child_size,
                                resizable,
                            };
                            let outcome = world
                                .run_both(&action)
                                .unwrap_or_else(|e| panic!("{action:?}: {e}"));
                            if outcome.is_err() {
                                continue;
                            }
                            created += 1;
                            let child = world.model.live().last().expect("a child");
                            world
                                .check_everything(&action, None)
                                .unwrap_or_else(|e| panic!("{action:?}: {e}"));
                            world
                                .apply(&Action::Close { vmo: child })
                                .unwrap_or_else(|e| panic!("closing {action:?}: {e}"));
                        }
                    }
                }
            }
        }
        let finished = world.finish().unwrap_or_else(|e| panic!("closing: {e}"));
        assert!(finished, "closing hit a known engine bug");
    }
    assert!(created >= 100, "only {created} children created");
}

/// Hand-written clone sequences through the same comparison as the random test: the spec's
/// accounting example, one-way clones following their parent, slices writing through, snapshots
/// of slices, chains closed from the middle, shrinking under clones, and exhaustion in clones.
#[test]
fn scripted_clone_sequences_agree_with_the_model() {
    use ChildKind::{OneWay, Slice, Snapshot, SnapshotAtLeastOnWrite};
    let write = |vmo, offset, len, seed| Action::Write {
        vmo,
        offset,
        len,
        fill: Fill::Seeded(seed),
    };
    let run = |world: &mut World, action: Action| {
        world
            .apply(&action)
            .unwrap_or_else(|e| panic!("{action:?}: {e}"))
    };

    // Spec section 4: 2 pages committed in V; snapshot C; V writes page 0; C writes page 1.
    let mut world = World::new();
    let v = world.create(2 * PAGE, false);
    run(
        &mut world,
        Action::Commit {
            vmo: v,
            offset: 0,
            len: 2 * PAGE,
        },
    );
    let c = world.child(v, Snapshot, 0, 2 * PAGE);
    run(&mut world, write(v, 0, 1, 1));
    run(&mut world, write(c, PAGE, 1, 2));
    assert_eq!(world.frames.frames_in_use(), 4);
    run(&mut world, Action::Close { vmo: v });
    assert!(world.finish().unwrap_or_else(|e| panic!("{e}")));

    // One-way clones follow the parent until they write; decommit shows the parent again;
    // the parent's shrink clips the clone for ever; an at-least-on-write snapshot is frozen.
    let mut world = World::new();
    let v = world.create(3 * PAGE, true);
    run(&mut world, write(v, 0, 3 * PAGE as usize, 3));
    let one_way = world.child(v, OneWay, PAGE, 3 * PAGE);
    let frozen = world.child(v, SnapshotAtLeastOnWrite, 0, 2 * PAGE);
    let grandchild = world.child(one_way, OneWay, 0, 2 * PAGE);
    run(&mut world, write(v, PAGE + 5, 10, 4));
    run(&mut world, write(one_way, 5, 10, 5));
    run(&mut world, write(v, PAGE + 7, 10, 6));
    run(
        &mut world,
        Action::Zero {
            vmo: one_way,
            offset: PAGE,
            len: PAGE,
        },
    );
    run(
        &mut world,
        Action::Decommit {
            vmo: one_way,
            offset: 0,
            len: 2 * PAGE,
        },
    );
    run(&mut world, Action::SetSize { vmo: v, size: PAGE });
    run(
        &mut world,
        Action::SetSize {
            vmo: v,
            size: 3 * PAGE,
        },
    );
    run(
        &mut world,
        Action::Commit {
            vmo: grandchild,
            offset: 0,
            len: 2 * PAGE,
        },
    );
    run(
        &mut world,
        Action::Lookup {
            vmo: frozen,
            offset: 0,
            len: 2 * PAGE,
            buffer_len: 2,
        },
    );
    assert!(world.finish().unwrap_or_else(|e| panic!("{e}")));

    // Slices write through, compose, and snapshots of them are frozen; a slice's parent closes
    // first while a snapshot of the slice lives on.
    let mut world = World::new();
    let v = world.create(4 * PAGE, false);
    let slice = world.child(v, Slice, PAGE, 3 * PAGE);
    let inner = world.child(slice, Slice, PAGE, PAGE);
    run(&mut world, write(inner, 0, 20, 7));
    let snapshot = world.child(slice, Snapshot, 0, 4 * PAGE);
    run(&mut world, write(v, 2 * PAGE, 20, 8));
    run(&mut world, write(snapshot, 0, 1, 9));
    run(
        &mut world,
        Action::Lookup {
            vmo: inner,
            offset: 0,
            len: 1,
            buffer_len: 1,
        },
    );
    run(&mut world, Action::Close { vmo: inner });
    run(&mut world, Action::Close { vmo: slice });
    run(&mut world, Action::Close { vmo: v });
    assert!(world.finish().unwrap_or_else(|e| panic!("{e}")));

    // A chain of snapshots closed from the middle, with writes at every level, and a frame
    // limit that refuses a copy but not a move.
    let mut world = World::new();
    let mut chain = vec![world.create(3 * PAGE, false)];
    for level in 0..4u64 {
        let top = *chain.last().expect("a level");
        run(&mut world, write(top, (level % 3) * PAGE, 1, level));
        chain.push(world.child(top, Snapshot, 0, 3 * PAGE));
    }
    run(&mut world, Action::Close { vmo: chain[2] });
    run(&mut world, Action::Close { vmo: chain[1] });
    let limit = Some(world.model.frames_in_use());
    run(&mut world, Action::SetFrameLimit { limit });
    run(&mut world, write(chain[4], 0, 1, 10));
    run(&mut world, write(chain[3], 0, 1, 11));
    run(&mut world, Action::Close { vmo: chain[0] });
    assert!(world.finish().unwrap_or_else(|e| panic!("{e}")));
}

/// The comparison can fail: a byte written to the engine behind the model's back is noticed by
/// the next operation, whatever it is, and so is a frame allocated behind its back.
#[test]
fn the_harness_notices_a_divergence() {
    let mut world = World::new();
    let parent = world.create(2 * PAGE, false);
    let child = world.child(parent, ChildKind::OneWay, 0, 2 * PAGE);
    world.engine(child).write(PAGE, &[1]).unwrap();
    let noticed = world.apply(&Action::Read {
        vmo: parent,
        offset: 0,
        len: 0,
    });
    assert!(
        noticed.is_err(),
        "a write behind the model's back went unnoticed"
    );

    let mut world = World::new();
    let parent = world.create(2 * PAGE, false);
    world
        .apply(&Action::Write {
            vmo: parent,
            offset: 0,
            len: 1,
            fill: Fill::Seeded(1),
        })
        .unwrap();
    let snapshot = world.child(parent, ChildKind::Snapshot, 0, 2 * PAGE);
    // Reads the same bytes, but needs a frame of its own.
    world.engine(snapshot).commit(0, PAGE).unwrap();
    let noticed = world.apply(&Action::Read {
        vmo: parent,
        offset: 0,
        len: 0,
    });
    assert!(
        noticed.is_err(),
        "a frame allocated behind the model's back went unnoticed"
    );
}

/// Everything a caller can observe of one VMO: every byte, the accounting, the frames in use and
/// the address of every committed page.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    bytes: Vec<u8>,
    committed_bytes: u64,
    populated_bytes: u64,
    frames_in_use: usize,
    addresses: Vec<Option<u64>>,
}

impl Observed {
    fn of(vmo: &TestVmo, frames: &InMemoryFrames) -> Self {
        let size = vmo.size();
        let mut bytes = vec![0; size as usize];
        vmo.read(0, &mut bytes).expect("read of the whole VMO");
        let addresses = (0..size / PAGE)
            .map(|page| {
                let mut address = [0];
                vmo.lookup(page * PAGE, PAGE, &mut address)
                    .ok()
                    .map(|_| address[0])
            })
            .collect();
        let info = vmo.info();
        Observed {
            bytes,
            committed_bytes: info.committed_bytes,
            populated_bytes: info.populated_bytes,
            frames_in_use: frames.frames_in_use(),
            addresses,
        }
    }
}

/// With the frame limit reached, writes and commits that need frames fail with `NoMemory` and
/// leave the VMO byte for byte and count for count as it was, including a write over pages of
/// which some are committed and some are not; operations that need no new frame still work, and
/// one that needs exactly the frames left succeeds.
#[test]
fn exhaustion_refuses_and_changes_nothing() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), 6 * PAGE, VmoOptions::default()).unwrap();
    let neighbour = TestVmo::create(frames.clone(), 2 * PAGE, VmoOptions::default()).unwrap();
    vmo.write(PAGE + 100, &Fill::Seeded(1).bytes(200)).unwrap();
    vmo.write(3 * PAGE, &Fill::Seeded(3).bytes(PAGE as usize))
        .unwrap();
    neighbour.write(5, &Fill::Seeded(9).bytes(10)).unwrap();
    let before = Observed::of(&vmo, &frames);
    let neighbour_before = Observed::of(&neighbour, &frames);
    assert_eq!(before.frames_in_use, 3);
    assert_eq!(before.committed_bytes, 2 * PAGE);

    frames.set_limit(3);
    // Pages 0 to 4: 1 and 3 are committed, 0, 2 and 4 are not.
    let spanning = Fill::Seeded(7).bytes(4 * PAGE as usize + 20);
    let refused_and_unchanged = |what: &str, result: Result<(), VmError>| {
        assert_eq!(result, Err(VmError::NoMemory), "{what}");
        assert_eq!(
            Observed::of(&vmo, &frames),
            before,
            "{what} changed the VMO"
        );
        assert_eq!(
            Observed::of(&neighbour, &frames),
            neighbour_before,
            "{what}"
        );
    };
    refused_and_unchanged(
        "write over committed and uncommitted pages",
        vmo.write(PAGE - 10, &spanning),
    );
    refused_and_unchanged(
        "write of a zero byte to an uncommitted page",
        vmo.write(0, &[0]),
    );
    refused_and_unchanged(
        "write ending in an uncommitted page",
        vmo.write(2 * PAGE - 1, &[1, 2]),
    );
    refused_and_unchanged("commit of the whole VMO", vmo.commit(0, 6 * PAGE));
    refused_and_unchanged(
        "commit of a byte of an uncommitted page",
        vmo.commit(2 * PAGE + 5, 1),
    );
    refused_and_unchanged(
        "commit of a committed and an uncommitted page",
        vmo.commit(3 * PAGE, PAGE + 1),
    );

    // Two frames to spare, three needed: still all or nothing.
    frames.set_limit(5);
    refused_and_unchanged(
        "write needing three frames",
        vmo.write(PAGE - 10, &spanning),
    );
    refused_and_unchanged("commit needing three frames", vmo.commit(0, 5 * PAGE));

    // Needing no new frame works at the limit, and even below it.
    frames.set_limit(0);
    let inside = Fill::Seeded(11).bytes(PAGE as usize);
    vmo.write(3 * PAGE, &inside).unwrap();
    vmo.commit(PAGE, 1).unwrap();
    let mut back = vec![0; PAGE as usize];
    vmo.read(3 * PAGE, &mut back).unwrap();
    assert_eq!(back, inside);
    assert_eq!(frames.frames_in_use(), 3);

    // Exactly the frames left: pages 0 and 2 are missing from [0, 3 pages).
    frames.set_limit(5);
    vmo.commit(0, 3 * PAGE).unwrap();
    assert_eq!(frames.frames_in_use(), 5);
    assert_eq!(vmo.info().committed_bytes, 4 * PAGE);
    let after = Observed::of(&vmo, &frames);
    assert_eq!(
        after.addresses[1], before.addresses[1],
        "page 1 kept its frame"
    );
    assert_eq!(
        after.addresses[3], before.addresses[3],
        "page 3 kept its frame"
    );
    assert_eq!(&after.bytes[..PAGE as usize], &[0; PAGE as usize][..]);
    assert_eq!(
        after.bytes[PAGE as usize..2 * PAGE as usize],
        before.bytes[PAGE as usize..2 * PAGE as usize]
    );

    drop(vmo);
    drop(neighbour);
    assert_eq!(frames.frames_in_use(), 0);
}

/// A commit that cannot get a single frame fails without visiting every page of its range (the
/// engine counts missing pages through the page list's chunks and checks the frames available
/// first). One page is committed first so that the page list is not empty.
#[test]
fn a_huge_commit_under_a_frame_limit_fails_quickly() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), MAX_VMO_SIZE, VmoOptions::default()).unwrap();
    vmo.write(0, &[1]).unwrap();
    frames.set_limit(frames.frames_in_use());
    let (done, result) = mpsc::channel();
    // On a timeout the thread is left spinning; the test process ends with the harness.
    std::thread::spawn(move || done.send(vmo.commit(0, MAX_VMO_SIZE)));
    match result.recv_timeout(Duration::from_secs(5)) {
        Ok(outcome) => assert_eq!(outcome, Err(VmError::NoMemory)),
        Err(_) => panic!("commit(0, 2^48) with no frame available still running after 5 s"),
    }
}

/// Zeroing a whole 2^48-byte VMO visits its few committed pages and at most two partial ones,
/// not 2^36 pages.
#[test]
fn a_huge_zero_finishes_quickly_and_frees_what_it_covers() {
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = TestVmo::create(frames.clone(), MAX_VMO_SIZE, VmoOptions::default()).unwrap();
    for page in [0, 1 << 20, (MAX_VMO_SIZE / PAGE) - 1] {
        vmo.write(page * PAGE + 7, &[9]).unwrap();
    }
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = vmo.zero(1, MAX_VMO_SIZE - 2);
        done.send((outcome, vmo)).unwrap();
    });
    match result.recv_timeout(Duration::from_secs(5)) {
        Ok((outcome, vmo)) => {
            assert_eq!(outcome, Ok(()));
            // The first and last pages are only partly covered, so they keep their frames.
            assert_eq!(vmo.info().committed_bytes, 2 * PAGE);
            let mut byte = [1u8];
            vmo.read(7, &mut byte).unwrap();
            assert_eq!(byte, [0]);
            assert_eq!(frames.frames_in_use(), 2);
        }
        Err(_) => panic!("zero(1, 2^48 - 2) still running after 5 s"),
    }
}
