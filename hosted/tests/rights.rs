//! Property test of handle rights (spec/zircon.md sections 1, 2, 3 and 5): random sequences of
//! `zx_vmo_create` (both options and hostile ones), `mx_vmo_create`, `zx_handle_duplicate` /
//! `zx_handle_replace` with random rights masks (SAME_RIGHTS, subsets, supersets, unknown bits),
//! `zx_vmo_create_child` with random options, offsets and sizes, `zx_vmo_clone`, `mx_vmo_clone`,
//! `zx_handle_close` and `zx_process_create`, issued by three processes of one kernel, with
//! handles picked from the caller's own handles, another process's, closed ones and garbage.
//!
//! A model tracks every live handle of every process (object koid, type and rights) and predicts
//! each call's status and the rights of every handle it creates: created VMOs exactly `0xD0FF`
//! (+ RESIZE when resizable), Magenta ones `0xFF | RESIZE`; duplicates and replacements a subset
//! of their source (equal for SAME_RIGHTS); children exactly section 3's formula applied to the
//! parent handle's rights; `zx_vmo_clone` and `mx_vmo_clone` exactly section 5's. After every step
//! each live handle's ZX_INFO_HANDLE_BASIC (koid @0, rights @8, type @12) must match the model,
//! the rights must be enforced (zero-length read / write, signal, get-property, VMO info), the
//! kernel's live handle count must equal the model's, and closed values as well as other
//! processes' values must be `ZX_ERR_BAD_HANDLE`. A failed call therefore changes nothing, except
//! `zx_handle_replace`, which consumes a source it found whatever happens. Snapshot-type children of
//! legacy clones are counted separately, to show the run created them.
//!
//! `cargo test -p zircon-hosted --test rights` runs 512 cases of 30 to 70 operations from a fixed
//! seed; `VM_PROPTEST_CASES=<n>` runs more cases from a fresh seed (printed; add
//! `-- --nocapture`), `VM_PROPTEST_SEED=<seed>` replays a run (the convention of
//! `engine/tests/properties.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use zircon::kernel::magenta::MX_VMO_CLONE_COPY_ON_WRITE;
use zircon::kernel::status::*;
use zircon::kernel::zircon::*;
use zircon::kernel::{HandleValue, Kernel, Name, Process, Rights, Status, UserBuffer, UserBytes};
use zircon::HostPlatform;
use zircon::MemfdFrames;

/// Cases when `VM_PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 512;
/// Operations per case, at least and at most.
const MIN_OPS: usize = 30;
const MAX_OPS: usize = 70;
/// Processes issuing calls in each case.
const PROCESSES: usize = 3;

const PAGE: u64 = 4096;

// Rights of spec/zircon.md section 1.
const DUPLICATE: u32 = 1 << 0;
const READ: u32 = 1 << 2;
const WRITE: u32 = 1 << 3;
const EXECUTE: u32 = 1 << 4;
const MAP: u32 = 1 << 5;
const GET_PROPERTY: u32 = 1 << 6;
const SET_PROPERTY: u32 = 1 << 7;
const SIGNAL: u32 = 1 << 12;
const INSPECT: u32 = 1 << 15;
const RESIZE: u32 = 1 << 22;
const SAME_RIGHTS: u32 = 1 << 31;
/// Every right section 1 defines.
const KNOWN_RIGHTS: u32 = 0x3FF | 1 << 12 | 1 << 14 | 1 << 15 | 1 << 22;
/// `zx_vmo_create`'s handle (section 1's decision).
const DEFAULT_VMO_RIGHTS: u32 = 0xD0FF;
/// `mx_vmo_create`'s handle: Magenta's bits 0..7, plus RESIZE (Magenta VMOs are resizable).
const MAGENTA_VMO_RIGHTS: u32 = 0xFF | RESIZE;

// Object types of section 1.
const TYPE_PROCESS: u32 = 1;
const TYPE_VMO: u32 = 3;
const TYPE_JOB: u32 = 17;
const TYPE_VMAR: u32 = 18;

/// Sizes above this are refused by every implementation this test accepts (the spec allows
/// any maximum of at least 2^40).
const SURELY_TOO_BIG: u64 = 1 << 62;

type TestKernel = Kernel<HostPlatform>;
type TestProcess = Arc<Process<HostPlatform>>;

// ---------------------------------------------------------------------------------------------
// Operations.

/// Which handle value an operation uses.
#[derive(Clone, Copy, Debug)]
enum Pick {
    /// One of the caller's live VMO handles (any live handle if it has none).
    OwnVmo(usize),
    /// One of the caller's live handles of any type.
    Own(usize),
    /// A live handle of another process.
    Foreign(usize),
    /// A value the caller closed (or that was replaced).
    Closed(usize),
    /// `ZX_HANDLE_INVALID` or an arbitrary value.
    Raw(u32),
}

/// The rights argument of duplicate / replace, relative to the source's rights.
#[derive(Clone, Copy, Debug)]
enum RightsPick {
    /// ZX_RIGHT_SAME_RIGHTS.
    Same,
    /// The source's rights masked by this.
    Subset(u32),
    /// The source's rights less one bit.
    Without(u32),
    /// The source's rights plus one bit (a superset unless already held; maybe unknown).
    With(u32),
    /// Exactly this mask.
    Raw(u32),
    /// SAME_RIGHTS together with other bits.
    SamePlus(u32),
}

#[derive(Clone, Debug)]
enum Op {
    VmoCreate {
        size: u64,
        options: u32,
    },
    MxVmoCreate {
        size: u64,
        options: u32,
    },
    Duplicate {
        handle: Pick,
        rights: RightsPick,
    },
    Replace {
        handle: Pick,
        rights: RightsPick,
    },
    CreateChild {
        handle: Pick,
        options: u32,
        offset: u64,
        size: u64,
    },
    VmoClone {
        handle: Pick,
        options: u32,
        offset: u64,
        size: u64,
    },
    MxVmoClone {
        handle: Pick,
        options: u32,
        offset: u64,
        size: u64,
    },
    Close {
        handle: Pick,
    },
    ProcessCreate {
        job: Pick,
        options: u32,
    },
}

/// One step: the process (index) that issues the call, and the call.
#[derive(Clone, Debug)]
struct Step {
    process: usize,
    op: Op,
}

fn pick() -> impl Strategy<Value = Pick> {
    let index = 0usize..1000;
    prop_oneof![
        6 => index.clone().prop_map(Pick::OwnVmo),
        2 => index.clone().prop_map(Pick::Own),
        1 => index.clone().prop_map(Pick::Foreign),
        1 => index.prop_map(Pick::Closed),
        1 => prop_oneof![Just(0u32), any::<u32>()].prop_map(Pick::Raw),
    ]
}

fn job_pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        // The job handle is the caller's first handle more often than not; any own handle
        // gives the wrong types too.
        4 => Just(Pick::Own(0)),
        4 => (0usize..1000).prop_map(Pick::Own),
        1 => (0usize..1000).prop_map(Pick::Foreign),
        1 => (0usize..1000).prop_map(Pick::Closed),
    ]
}

fn rights_pick() -> impl Strategy<Value = RightsPick> {
    prop_oneof![
        3 => Just(RightsPick::Same),
        4 => any::<u32>().prop_map(RightsPick::Subset),
        2 => (0u32..32).prop_map(RightsPick::Without),
        3 => (0u32..32).prop_map(RightsPick::With),
        1 => prop_oneof![Just(0u32), any::<u32>(), Just(KNOWN_RIGHTS), Just(u32::MAX)]
            .prop_map(RightsPick::Raw),
        1 => (1u32..u32::MAX).prop_map(|bits| RightsPick::SamePlus(bits & !SAME_RIGHTS | 1)),
    ]
}

fn create_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => select(vec![0, 1, PAGE, 3 * PAGE + 5, 8 * PAGE]),
        1 => select(vec![
            1 << 40,
            u64::MAX,
            u64::MAX - PAGE + 2,
            u64::MAX - 2 * PAGE,
        ]),
    ]
}

fn child_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => select(vec![0, 1, PAGE, 2 * PAGE + 1, 4 * PAGE, 8 * PAGE]),
        1 => select(vec![1 << 40, u64::MAX, u64::MAX - PAGE]),
    ]
}

fn child_offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => select(vec![0, PAGE, 2 * PAGE, 4 * PAGE]),
        1 => select(vec![1, PAGE + 1, 1 << 40, !(PAGE - 1)]),
    ]
}

fn child_options() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => select(vec![
            ZX_VMO_CHILD_SNAPSHOT,
            ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE,
            ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE,
            ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
            ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_RESIZABLE,
            ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_NO_WRITE,
            ZX_VMO_CHILD_SLICE,
            ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_NO_WRITE,
        ]),
        // Every combination of the six low bits (bit 1 is not a child option).
        2 => 0u32..64,
        1 => (0u32..64, 6u32..32).prop_map(|(options, bit)| options | 1 << bit),
    ]
}

fn clone_options() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => select(vec![
            ZX_VMO_CLONE_COPY_ON_WRITE,
            ZX_VMO_CLONE_COPY_ON_WRITE | ZX_VMO_CLONE_NON_RESIZEABLE,
        ]),
        1 => 0u32..8,
        1 => (0u32..4, 2u32..32).prop_map(|(options, bit)| options | 1 << bit),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            create_size(),
            prop_oneof![
                3 => Just(0u32),
                3 => Just(ZX_VMO_RESIZABLE),
                1 => select(vec![1u32, 1 << 2, ZX_VMO_RESIZABLE | 1 << 7, 1 << 31]),
            ],
        )
            .prop_map(|(size, options)| Op::VmoCreate { size, options }),
        2 => (
            create_size(),
            prop_oneof![4 => Just(0u32), 1 => any::<u32>()],
        )
            .prop_map(|(size, options)| Op::MxVmoCreate { size, options }),
        5 => (pick(), rights_pick())
            .prop_map(|(handle, rights)| Op::Duplicate { handle, rights }),
        3 => (pick(), rights_pick()).prop_map(|(handle, rights)| Op::Replace { handle, rights }),
        6 => (pick(), child_options(), child_offset(), child_size()).prop_map(
            |(handle, options, offset, size)| Op::CreateChild {
                handle,
                options,
                offset,
                size,
            }
        ),
        3 => (pick(), clone_options(), child_offset(), child_size()).prop_map(
            |(handle, options, offset, size)| Op::VmoClone {
                handle,
                options,
                offset,
                size,
            }
        ),
        3 => (
            pick(),
            prop_oneof![
                4 => Just(MX_VMO_CLONE_COPY_ON_WRITE),
                1 => Just(0u32),
                1 => any::<u32>(),
            ],
            child_offset(),
            child_size(),
        )
            .prop_map(|(handle, options, offset, size)| Op::MxVmoClone {
                handle,
                options,
                offset,
                size,
            }),
        4 => pick().prop_map(|handle| Op::Close { handle }),
        1 => (job_pick(), prop_oneof![6 => Just(0u32), 1 => 1u32..]).prop_map(
            |(job, options)| Op::ProcessCreate { job, options }
        ),
    ]
}

fn scenario() -> impl Strategy<Value = Vec<Step>> {
    vec(
        (0..PROCESSES, op()).prop_map(|(process, op)| Step { process, op }),
        MIN_OPS..=MAX_OPS,
    )
}

// ---------------------------------------------------------------------------------------------
// The model.

/// What a handle grants, as the model knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HandleModel {
    koid: u64,
    object_type: u32,
    rights: u32,
}

/// What the model knows of a VMO (sizes never change: no call here resizes).
#[derive(Clone, Copy, Debug)]
struct VmoModel {
    size: u64,
    resizable: bool,
    /// A legacy (one-way) clone, or a slice of one: its content follows its parent's writes.
    follows_parent: bool,
}

#[derive(Default)]
struct ProcessModel {
    live: BTreeMap<HandleValue, HandleModel>,
    closed: Vec<HandleValue>,
}

struct Model {
    processes: Vec<ProcessModel>,
    vmos: BTreeMap<u64, VmoModel>,
}

impl Model {
    /// The handle value `pick` names for `process`.
    fn resolve(&self, process: usize, pick: Pick) -> HandleValue {
        let own = &self.processes[process];
        let nth = |values: Vec<HandleValue>, index: usize| -> Option<HandleValue> {
            (!values.is_empty()).then(|| values[index % values.len()])
        };
        let any_own = |index| nth(own.live.keys().copied().collect(), index);
        let fallback = 0x5A5A_5A5B;
        match pick {
            Pick::OwnVmo(index) => {
                let vmos = own
                    .live
                    .iter()
                    .filter(|(_, h)| h.object_type == TYPE_VMO)
                    .map(|(&v, _)| v)
                    .collect();
                nth(vmos, index).or_else(|| any_own(index))
            }
            Pick::Own(index) => any_own(index),
            Pick::Foreign(index) => {
                let foreign = self
                    .processes
                    .iter()
                    .enumerate()
                    .filter(|&(other, _)| other != process)
                    .flat_map(|(_, p)| p.live.keys().copied())
                    .collect();
                nth(foreign, index)
            }
            Pick::Closed(index) => nth(own.closed.clone(), index),
            Pick::Raw(value) => Some(value),
        }
        .unwrap_or(fallback)
    }

    fn handle(&self, process: usize, value: HandleValue) -> Option<HandleModel> {
        self.processes[process].live.get(&value).copied()
    }

    fn total_handles(&self) -> usize {
        self.processes.iter().map(|p| p.live.len()).sum()
    }

    /// Records a new handle, which must not collide with a live one of the same process.
    fn add(
        &mut self,
        process: usize,
        value: HandleValue,
        handle: HandleModel,
    ) -> Result<(), TestCaseError> {
        prop_assert!(value != 0, "a new handle is ZX_HANDLE_INVALID");
        prop_assert_eq!(value & 3, 3, "the two low bits of a handle value are set");
        let p = &mut self.processes[process];
        prop_assert!(
            !p.live.contains_key(&value),
            "new handle {value:#x} duplicates a live value"
        );
        p.closed.retain(|&v| v != value);
        p.live.insert(value, handle);
        Ok(())
    }

    fn remove(&mut self, process: usize, value: HandleValue) {
        let p = &mut self.processes[process];
        if p.live.remove(&value).is_some() {
            p.closed.push(value);
        }
    }
}

/// The rights `zx_handle_duplicate` / `replace` give for `wanted` from `held`.
fn reduced(held: u32, wanted: u32) -> Result<u32, Status> {
    if wanted == SAME_RIGHTS {
        Ok(held)
    } else if wanted & !held == 0 {
        Ok(wanted)
    } else {
        Err(ZX_ERR_INVALID_ARGS)
    }
}

fn wanted_rights(pick: RightsPick, held: u32) -> u32 {
    match pick {
        RightsPick::Same => SAME_RIGHTS,
        RightsPick::Subset(mask) => held & mask,
        RightsPick::Without(bit) => held & !(1 << bit),
        RightsPick::With(bit) => held | 1 << bit,
        RightsPick::Raw(bits) => bits,
        RightsPick::SamePlus(bits) => SAME_RIGHTS | bits,
    }
}

/// `size` rounded up to a page, or OUT_OF_RANGE when that overflows or is surely too big.
fn rounded(size: u64) -> Result<u64, Status> {
    size.checked_add(PAGE - 1)
        .map(|s| s & !(PAGE - 1))
        .filter(|&s| s < SURELY_TOO_BIG)
        .ok_or(ZX_ERR_OUT_OF_RANGE)
}

/// A VMO handle of `process` with `needed` rights (BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED).
fn vmo_handle(
    model: &Model,
    process: usize,
    value: HandleValue,
    needed: u32,
) -> Result<HandleModel, Status> {
    let handle = model.handle(process, value).ok_or(ZX_ERR_BAD_HANDLE)?;
    if handle.object_type != TYPE_VMO {
        return Err(ZX_ERR_WRONG_TYPE);
    }
    if handle.rights & needed != needed {
        return Err(ZX_ERR_ACCESS_DENIED);
    }
    Ok(handle)
}

/// What a `zx_vmo_create_child` should do: the child's rights and resizability, or the status.
/// `Err(statuses)` lists the acceptable ones (several only where the spec leaves the order of
/// two checks open).
fn expect_child(
    model: &Model,
    process: usize,
    value: HandleValue,
    options: u32,
    offset: u64,
    size: u64,
) -> Result<(u32, VmoModel), Vec<Status>> {
    let size = rounded(size).map_err(|s| vec![s])?;
    let no_write = options & ZX_VMO_CHILD_NO_WRITE != 0;
    let resizable = options & ZX_VMO_CHILD_RESIZABLE != 0;
    if no_write && resizable {
        return Err(vec![ZX_ERR_INVALID_ARGS]);
    }
    let parent = vmo_handle(model, process, value, DUPLICATE | READ).map_err(|s| vec![s])?;
    let type_bits = options
        & (ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_SLICE);
    let known = ZX_VMO_CHILD_SNAPSHOT
        | ZX_VMO_CHILD_RESIZABLE
        | ZX_VMO_CHILD_SLICE
        | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE
        | ZX_VMO_CHILD_NO_WRITE;
    if type_bits.count_ones() != 1 || options & !known != 0 {
        return Err(vec![ZX_ERR_INVALID_ARGS]);
    }
    let slice = type_bits == ZX_VMO_CHILD_SLICE;
    let parent_vmo = model.vmos[&parent.koid];
    if slice && options & !(ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_NO_WRITE) != 0 {
        return Err(vec![ZX_ERR_INVALID_ARGS]);
    }
    if offset % PAGE != 0 {
        return Err(vec![ZX_ERR_INVALID_ARGS]);
    }
    let end = offset
        .checked_add(size)
        .ok_or_else(|| vec![ZX_ERR_OUT_OF_RANGE])?;
    if slice {
        let outside = end > parent_vmo.size;
        match (outside, parent_vmo.resizable) {
            (true, true) => return Err(vec![ZX_ERR_OUT_OF_RANGE, ZX_ERR_NOT_SUPPORTED]),
            (true, false) => return Err(vec![ZX_ERR_OUT_OF_RANGE]),
            (false, true) => return Err(vec![ZX_ERR_NOT_SUPPORTED]),
            (false, false) => {}
        }
    }
    // Section 3: (parent rights minus RESIZE) + GET_PROPERTY + SET_PROPERTY + RESIZE if
    // CHILD_RESIZABLE; then NO_WRITE removes WRITE, otherwise a snapshot type adds WRITE and
    // removes EXECUTE.
    let mut rights = (parent.rights & !RESIZE) | GET_PROPERTY | SET_PROPERTY;
    if resizable {
        rights |= RESIZE;
    }
    if no_write {
        rights &= !WRITE;
    } else if !slice {
        rights = (rights | WRITE) & !EXECUTE;
    }
    let vmo = VmoModel {
        size,
        resizable,
        follows_parent: slice && parent_vmo.follows_parent,
    };
    Ok((rights, vmo))
}

/// `zx_vmo_clone` (section 5).
fn expect_vmo_clone(
    model: &Model,
    process: usize,
    value: HandleValue,
    options: u32,
    offset: u64,
    size: u64,
) -> Result<(u32, VmoModel), Status> {
    let parent = vmo_handle(model, process, value, DUPLICATE | READ)?;
    if options & ZX_VMO_CLONE_COPY_ON_WRITE == 0
        || options & !(ZX_VMO_CLONE_COPY_ON_WRITE | ZX_VMO_CLONE_NON_RESIZEABLE) != 0
    {
        return Err(ZX_ERR_INVALID_ARGS);
    }
    let (size, _) = legacy_range(offset, size)?;
    let resizable = options & ZX_VMO_CLONE_NON_RESIZEABLE == 0;
    // Parent's rights + WRITE, RESIZE exactly when the clone is resizable.
    let mut rights = (parent.rights | WRITE) & !RESIZE;
    if resizable {
        rights |= RESIZE;
    }
    let vmo = VmoModel {
        size,
        resizable,
        follows_parent: true,
    };
    Ok((rights, vmo))
}

/// `mx_vmo_clone` (section 5; Magenta clones are resizable, so section 1 adds RESIZE).
fn expect_mx_vmo_clone(
    model: &Model,
    process: usize,
    value: HandleValue,
    options: u32,
    offset: u64,
    size: u64,
) -> Result<(u32, VmoModel), Status> {
    let parent = vmo_handle(model, process, value, DUPLICATE | READ)?;
    if options != MX_VMO_CLONE_COPY_ON_WRITE {
        return Err(ZX_ERR_INVALID_ARGS);
    }
    let (size, _) = legacy_range(offset, size)?;
    let rights = parent.rights | WRITE | EXECUTE | MAP | RESIZE;
    let vmo = VmoModel {
        size,
        resizable: true,
        follows_parent: true,
    };
    Ok((rights, vmo))
}

/// The offset and size checks both legacy clones share: alignment, then the range.
fn legacy_range(offset: u64, size: u64) -> Result<(u64, u64), Status> {
    if offset % PAGE != 0 {
        return Err(ZX_ERR_INVALID_ARGS);
    }
    let size = rounded(size)?;
    let end = offset.checked_add(size).ok_or(ZX_ERR_OUT_OF_RANGE)?;
    Ok((size, end))
}

// ---------------------------------------------------------------------------------------------
// Running a case.

/// How often each outcome occurred over a run, to show the run exercised what it claims.
#[derive(Default)]
struct Coverage {
    outcomes: BTreeMap<(&'static str, Status), usize>,
}

impl Coverage {
    fn count(&self, op: &'static str, status: Status) -> usize {
        self.outcomes.get(&(op, status)).copied().unwrap_or(0)
    }
}

impl fmt::Debug for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_map();
        for ((op, status), n) in &self.outcomes {
            list.entry(&format_args!("{op} {status}"), n);
        }
        list.finish()
    }
}

struct World {
    kernel: TestKernel,
    processes: Vec<TestProcess>,
    model: Model,
}

fn status_of<T>(result: &Result<T, Status>) -> Status {
    match result {
        Ok(_) => ZX_OK,
        Err(status) => *status,
    }
}

fn boot() -> Result<World, TestCaseError> {
    let kernel = TestKernel::new(Arc::new(
        MemfdFrames::with_limit(1 << 20).expect("frame file"),
    ));
    let mut processes = Vec::new();
    let mut model = Model {
        processes: Vec::new(),
        vmos: BTreeMap::new(),
    };
    for index in 0..PROCESSES {
        let (process, job, vmar) = kernel
            .boot_process(Name::new(format!("p{index}").as_bytes()))
            .map_err(|s| TestCaseError::fail(format!("boot_process: {s}")))?;
        let mut p = ProcessModel::default();
        p.live.insert(
            job,
            HandleModel {
                koid: kernel.root_job().koid(),
                object_type: TYPE_JOB,
                rights: Rights::DEFAULT_JOB.bits(),
            },
        );
        p.live.insert(
            vmar,
            HandleModel {
                koid: process.root_vmar().koid(),
                object_type: TYPE_VMAR,
                rights: Rights::DEFAULT_VMAR.bits(),
            },
        );
        model.processes.push(p);
        processes.push(process);
    }
    Ok(World {
        kernel,
        processes,
        model,
    })
}

/// The koid of a handle just created, from ZX_INFO_HANDLE_BASIC.
fn koid_of(world: &World, process: usize, value: HandleValue) -> Result<u64, TestCaseError> {
    let sys = world.kernel.syscalls(&world.processes[process]);
    let record = sys
        .info_record(value, ZX_INFO_HANDLE_BASIC)
        .map_err(|s| TestCaseError::fail(format!("info of new handle {value:#x}: {s}")))?;
    Ok(record.u64_at(0))
}

/// Runs one step against the kernel and the model; returns the op's name and its status.
fn run_step(world: &mut World, step: &Step) -> Result<(&'static str, Status), TestCaseError> {
    let p = step.process;
    let process = world.processes[p].clone();
    match step.op {
        Op::VmoCreate { size, options } => {
            let result = world.kernel.syscalls(&process).vmo_create(size, options);
            let expected = if options & !ZX_VMO_RESIZABLE != 0 {
                Err(ZX_ERR_INVALID_ARGS)
            } else {
                rounded(size)
            };
            prop_assert_eq!(status_of(&result), status_of(&expected), "vmo_create");
            if let (Ok(value), Ok(size)) = (result, expected) {
                let resizable = options & ZX_VMO_RESIZABLE != 0;
                let rights = DEFAULT_VMO_RIGHTS | if resizable { RESIZE } else { 0 };
                let vmo = VmoModel {
                    size,
                    resizable,
                    follows_parent: false,
                };
                new_vmo(world, p, value, rights, vmo)?;
            }
            Ok(("vmo_create", status_of(&result)))
        }
        Op::MxVmoCreate { size, options } => {
            let result = world.kernel.syscalls(&process).mx_vmo_create(size, options);
            let expected = if options != 0 {
                Err(ZX_ERR_INVALID_ARGS)
            } else {
                rounded(size)
            };
            prop_assert_eq!(status_of(&result), status_of(&expected), "mx_vmo_create");
            if let (Ok(value), Ok(size)) = (result, expected) {
                let vmo = VmoModel {
                    size,
                    resizable: true,
                    follows_parent: false,
                };
                new_vmo(world, p, value, MAGENTA_VMO_RIGHTS, vmo)?;
            }
            Ok(("mx_vmo_create", status_of(&result)))
        }
        Op::Duplicate { handle, rights } => {
            let value = world.model.resolve(p, handle);
            let source = world.model.handle(p, value);
            let wanted = wanted_rights(rights, source.map_or(0, |h| h.rights));
            let result = world
                .kernel
                .syscalls(&process)
                .handle_duplicate(value, wanted);
            let expected = match source {
                None => Err(ZX_ERR_BAD_HANDLE),
                Some(h) if h.rights & DUPLICATE == 0 => Err(ZX_ERR_ACCESS_DENIED),
                Some(h) => reduced(h.rights, wanted),
            };
            prop_assert_eq!(
                status_of(&result),
                status_of(&expected),
                "duplicate {:#x} wanting {:#x}",
                value,
                wanted
            );
            if let (Ok(new), Ok(rights), Some(source)) = (result, expected, source) {
                prop_assert!(rights & !source.rights == 0);
                world.model.add(p, new, HandleModel { rights, ..source })?;
            }
            Ok(("duplicate", status_of(&result)))
        }
        Op::Replace { handle, rights } => {
            let value = world.model.resolve(p, handle);
            let source = world.model.handle(p, value);
            let wanted = wanted_rights(rights, source.map_or(0, |h| h.rights));
            let result = world
                .kernel
                .syscalls(&process)
                .handle_replace(value, wanted);
            let expected = match source {
                None => Err(ZX_ERR_BAD_HANDLE),
                Some(h) => reduced(h.rights, wanted),
            };
            prop_assert_eq!(
                status_of(&result),
                status_of(&expected),
                "replace {:#x} wanting {:#x}",
                value,
                wanted
            );
            if let Some(source) = source {
                // Consumed whatever happened, once found.
                world.model.remove(p, value);
                if let (Ok(new), Ok(rights)) = (result, expected) {
                    prop_assert!(rights & !source.rights == 0);
                    world.model.add(p, new, HandleModel { rights, ..source })?;
                }
            }
            Ok(("replace", status_of(&result)))
        }
        Op::CreateChild {
            handle,
            options,
            offset,
            size,
        } => {
            let value = world.model.resolve(p, handle);
            let expected = expect_child(&world.model, p, value, options, offset, size);
            let result = world
                .kernel
                .syscalls(&process)
                .vmo_create_child(value, options, offset, size);
            let context = format!(
                "create_child({value:#x}, {options:#x}, {offset:#x}, {size:#x}) of {:?}",
                world.model.handle(p, value)
            );
            let snapshot_of_follower = options & ZX_VMO_CHILD_SLICE == 0
                && world
                    .model
                    .handle(p, value)
                    .and_then(|h| world.model.vmos.get(&h.koid))
                    .is_some_and(|v| v.follows_parent);
            match (result, expected) {
                (Ok(new), Ok((rights, vmo))) => new_vmo(world, p, new, rights, vmo)?,
                (Err(status), Err(allowed)) => {
                    prop_assert!(
                        allowed.contains(&status),
                        "{context}: {status}, not {allowed:?}"
                    );
                }
                (result, expected) => {
                    return Err(TestCaseError::fail(format!(
                        "{context}: got {result:?}, expected {expected:?}"
                    )))
                }
            }
            if snapshot_of_follower && result.is_ok() {
                return Ok(("create_child of a legacy clone", ZX_OK));
            }
            Ok(("create_child", status_of(&result)))
        }
        Op::VmoClone {
            handle,
            options,
            offset,
            size,
        } => {
            let value = world.model.resolve(p, handle);
            let expected = expect_vmo_clone(&world.model, p, value, options, offset, size);
            let result = world
                .kernel
                .syscalls(&process)
                .vmo_clone(value, options, offset, size);
            prop_assert_eq!(
                status_of(&result),
                status_of(&expected),
                "vmo_clone({:#x}, {:#x}, {:#x}, {:#x}) of {:?}",
                value,
                options,
                offset,
                size,
                world.model.handle(p, value)
            );
            if let (Ok(new), Ok((rights, vmo))) = (result, expected) {
                new_vmo(world, p, new, rights, vmo)?;
            }
            Ok(("vmo_clone", status_of(&result)))
        }
        Op::MxVmoClone {
            handle,
            options,
            offset,
            size,
        } => {
            let value = world.model.resolve(p, handle);
            let expected = expect_mx_vmo_clone(&world.model, p, value, options, offset, size);
            let result = world
                .kernel
                .syscalls(&process)
                .mx_vmo_clone(value, options, offset, size);
            prop_assert_eq!(
                status_of(&result),
                status_of(&expected),
                "mx_vmo_clone({:#x}, {:#x}, {:#x}, {:#x}) of {:?}",
                value,
                options,
                offset,
                size,
                world.model.handle(p, value)
            );
            if let (Ok(new), Ok((rights, vmo))) = (result, expected) {
                new_vmo(world, p, new, rights, vmo)?;
            }
            Ok(("mx_vmo_clone", status_of(&result)))
        }
        Op::Close { handle } => {
            let value = world.model.resolve(p, handle);
            let result = world.kernel.syscalls(&process).handle_close(value);
            let expected = if value == 0 || world.model.handle(p, value).is_some() {
                Ok(())
            } else {
                Err(ZX_ERR_BAD_HANDLE)
            };
            prop_assert_eq!(result, expected, "close {:#x}", value);
            world.model.remove(p, value);
            Ok(("close", status_of(&result)))
        }
        Op::ProcessCreate { job, options } => {
            let value = world.model.resolve(p, job);
            let result = world.kernel.syscalls(&process).process_create(
                value,
                UserBytes::new(b"child"),
                options,
            );
            let expected = if options != 0 {
                Err(ZX_ERR_INVALID_ARGS)
            } else {
                match world.model.handle(p, value) {
                    None => Err(ZX_ERR_BAD_HANDLE),
                    Some(h) if h.object_type != TYPE_JOB => Err(ZX_ERR_WRONG_TYPE),
                    Some(h) if h.rights & WRITE == 0 => Err(ZX_ERR_ACCESS_DENIED),
                    Some(_) => Ok(()),
                }
            };
            prop_assert_eq!(status_of(&result), status_of(&expected), "process_create");
            if let Ok((process_handle, vmar_handle)) = result {
                let process_koid = koid_of(world, p, process_handle)?;
                let vmar_koid = koid_of(world, p, vmar_handle)?;
                prop_assert!(process_koid != vmar_koid);
                let process_model = HandleModel {
                    koid: process_koid,
                    object_type: TYPE_PROCESS,
                    rights: Rights::DEFAULT_PROCESS.bits(),
                };
                world.model.add(p, process_handle, process_model)?;
                let vmar_model = HandleModel {
                    koid: vmar_koid,
                    object_type: TYPE_VMAR,
                    rights: Rights::DEFAULT_VMAR.bits(),
                };
                world.model.add(p, vmar_handle, vmar_model)?;
            }
            Ok(("process_create", status_of(&result)))
        }
    }
}

/// Records a new VMO handle; its koid must be new.
fn new_vmo(
    world: &mut World,
    process: usize,
    value: HandleValue,
    rights: u32,
    vmo: VmoModel,
) -> Result<(), TestCaseError> {
    let koid = koid_of(world, process, value)?;
    prop_assert!(koid >= 1024, "koid {koid} below 1024");
    prop_assert!(
        !world.model.vmos.contains_key(&koid),
        "koid {koid} handed out twice"
    );
    world.model.vmos.insert(koid, vmo);
    let handle = HandleModel {
        koid,
        object_type: TYPE_VMO,
        rights,
    };
    world.model.add(process, value, handle)
}

/// Everything the kernel reports about handles agrees with the model, and rights are enforced.
fn check(world: &World) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        world.kernel.handles().live(),
        world.model.total_handles(),
        "live handles"
    );
    for (index, process) in world.processes.iter().enumerate() {
        let sys = world.kernel.syscalls(process);
        let own = &world.model.processes[index];
        for (&value, handle) in &own.live {
            let record = sys
                .info_record(value, ZX_INFO_HANDLE_BASIC)
                .map_err(|s| TestCaseError::fail(format!("info of live {value:#x}: {s}")))?;
            let got = HandleModel {
                koid: record.u64_at(0),
                rights: record.u32_at(8),
                object_type: record.u32_at(12),
            };
            prop_assert_eq!(got, *handle, "process {} handle {:#x}", index, value);
            prop_assert_eq!(handle.rights & !KNOWN_RIGHTS, 0);
            check_enforced(&sys, value, handle)?;
        }
        for &value in own.closed.iter().rev().take(16) {
            prop_assert_eq!(
                sys.info_record(value, ZX_INFO_HANDLE_BASIC).err(),
                Some(ZX_ERR_BAD_HANDLE),
                "closed value {:#x} of process {}",
                value,
                index
            );
        }
        for (other, theirs) in world.model.processes.iter().enumerate() {
            if other == index {
                continue;
            }
            for &value in theirs.live.keys().filter(|v| !own.live.contains_key(v)) {
                prop_assert_eq!(
                    sys.info_record(value, ZX_INFO_HANDLE_BASIC).err(),
                    Some(ZX_ERR_BAD_HANDLE),
                    "process {} used handle {:#x} of process {}",
                    index,
                    value,
                    other
                );
            }
        }
    }
    Ok(())
}

/// Calls that need one right each succeed exactly when the handle has it.
fn check_enforced(
    sys: &zircon::kernel::Syscalls<'_, HostPlatform>,
    value: HandleValue,
    handle: &HandleModel,
) -> Result<(), TestCaseError> {
    let verdict = |right: u32| {
        if handle.rights & right != 0 {
            ZX_OK
        } else {
            ZX_ERR_ACCESS_DENIED
        }
    };
    prop_assert_eq!(
        status_of(&sys.object_signal(value, 0, 0)),
        verdict(SIGNAL),
        "signal {:#x}",
        value
    );
    let mut name = [0u8; 32];
    prop_assert_eq!(
        status_of(&sys.object_get_property(value, ZX_PROP_NAME, UserBuffer::new(&mut name))),
        verdict(GET_PROPERTY),
        "get_property {:#x}",
        value
    );
    if handle.object_type != TYPE_VMO {
        prop_assert_eq!(sys.vmo_get_size(value).err(), Some(ZX_ERR_WRONG_TYPE));
        return Ok(());
    }
    prop_assert_eq!(
        status_of(&sys.vmo_read(value, UserBuffer::new(&mut []), 0)),
        verdict(READ),
        "read {:#x}",
        value
    );
    prop_assert_eq!(
        status_of(&sys.vmo_write(value, UserBytes::new(&[]), 0)),
        verdict(WRITE),
        "write {:#x}",
        value
    );
    let info = sys.info_record(value, ZX_INFO_VMO);
    prop_assert_eq!(status_of(&info), verdict(INSPECT), "info {:#x}", value);
    if let Ok(info) = info {
        prop_assert_eq!(
            info.u32_at(96),
            handle.rights,
            "handle_rights of {:#x}",
            value
        );
        prop_assert_eq!(info.u64_at(0), handle.koid);
    }
    Ok(())
}

fn run_case(steps: &[Step], coverage: &Mutex<Coverage>) -> Result<(), TestCaseError> {
    let mut world = boot()?;
    check(&world)?;
    let mut outcomes = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        let outcome = run_step(&mut world, step)
            .map_err(|e| TestCaseError::fail(format!("step {index} {step:?}: {e}")))?;
        check(&world).map_err(|e| {
            TestCaseError::fail(format!("after step {index} {step:?} ({outcome:?}): {e}"))
        })?;
        outcomes.push(outcome);
    }
    if let Ok(mut coverage) = coverage.lock() {
        for outcome in outcomes {
            *coverage.outcomes.entry(outcome).or_default() += 1;
        }
    }
    // Dropping the processes releases every handle.
    let World {
        kernel, processes, ..
    } = world;
    drop(processes);
    prop_assert_eq!(kernel.handles().live(), 0);
    Ok(())
}

fn configured_cases() -> u32 {
    match std::env::var("VM_PROPTEST_CASES") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("VM_PROPTEST_CASES={value:?} is not a case count")),
        Err(_) => DEFAULT_CASES,
    }
}

/// `VM_PROPTEST_SEED` if set; a fresh seed for exploration runs (those that set
/// `VM_PROPTEST_CASES`); otherwise a fixed one, so the default run checks the same sequences
/// every time.
fn configured_seed() -> u64 {
    match std::env::var("VM_PROPTEST_SEED") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("VM_PROPTEST_SEED={value:?} is not a number")),
        Err(_) if std::env::var("VM_PROPTEST_CASES").is_ok() => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |t| t.as_nanos() as u64),
        Err(_) => 0x7269_6768_7473,
    }
}

fn seeded_runner(config: Config) -> TestRunner {
    let seed = configured_seed();
    println!("seed {seed} (VM_PROPTEST_SEED={seed} repeats this run)");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

#[test]
fn rights_never_exceed_what_the_spec_grants() {
    let cases = configured_cases();
    let mut runner = seeded_runner(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 10_000,
        ..Config::default()
    });
    let coverage = Mutex::new(Coverage::default());
    if let Err(failure) = runner.run(&scenario(), |steps| run_case(&steps, &coverage)) {
        panic!("{failure}");
    }
    let coverage = coverage.into_inner().unwrap_or_default();
    println!("{coverage:?}");
    if cases >= DEFAULT_CASES {
        // The run must have exercised every success and the interesting refusals.
        let floors = [
            ("vmo_create", ZX_OK),
            ("vmo_create", ZX_ERR_INVALID_ARGS),
            ("vmo_create", ZX_ERR_OUT_OF_RANGE),
            ("mx_vmo_create", ZX_OK),
            ("mx_vmo_create", ZX_ERR_INVALID_ARGS),
            ("duplicate", ZX_OK),
            ("duplicate", ZX_ERR_INVALID_ARGS),
            ("duplicate", ZX_ERR_ACCESS_DENIED),
            ("duplicate", ZX_ERR_BAD_HANDLE),
            ("replace", ZX_OK),
            ("replace", ZX_ERR_INVALID_ARGS),
            ("replace", ZX_ERR_BAD_HANDLE),
            ("create_child", ZX_OK),
            ("create_child", ZX_ERR_INVALID_ARGS),
            ("create_child", ZX_ERR_ACCESS_DENIED),
            ("create_child", ZX_ERR_WRONG_TYPE),
            ("create_child", ZX_ERR_OUT_OF_RANGE),
            ("create_child", ZX_ERR_NOT_SUPPORTED),
            ("create_child of a legacy clone", ZX_OK),
            ("vmo_clone", ZX_OK),
            ("vmo_clone", ZX_ERR_INVALID_ARGS),
            ("vmo_clone", ZX_ERR_ACCESS_DENIED),
            ("mx_vmo_clone", ZX_OK),
            ("mx_vmo_clone", ZX_ERR_INVALID_ARGS),
            ("close", ZX_OK),
            ("close", ZX_ERR_BAD_HANDLE),
            ("process_create", ZX_OK),
            ("process_create", ZX_ERR_WRONG_TYPE),
        ];
        for (op, status) in floors {
            let seen = coverage.count(op, status);
            assert!(seen >= 20, "only {seen} {op} -> {status}: {coverage:?}");
        }
    }
}

#[test]
fn model_constants_match_the_kernel() {
    assert_eq!(Rights::DEFAULT_VMO.bits(), DEFAULT_VMO_RIGHTS);
    assert_eq!(
        (Rights::MAGENTA_VMO | Rights::RESIZE).bits(),
        MAGENTA_VMO_RIGHTS
    );
    assert_eq!(Rights::all().bits(), KNOWN_RIGHTS);
    assert_eq!(SAME_RIGHTS, zircon::kernel::rights::SAME_RIGHTS);
}
