//! The interpreter: runs decoded [`Call`]s against a real kernel (Zircon, Magenta and Jinue
//! calls of one process, frames in a memfd) and, side by side, against the engine's naive
//! reference model plus a small table of the handles, mappings and Jinue descriptors the
//! harness holds. Every call's status is predicted before the call from the spec's check
//! order (handle, type, rights, arguments) and the model's answer; bytes read, info, frames in
//! use, every family's invariants and every translation are compared after every call. When
//! the sequence ends everything is closed and no frame may stay in use.
//!
//! A divergence is returned as a message naming the step; the fuzz target turns it into a
//! crash, the replay tests into a failure.

use std::collections::BTreeMap;
use std::sync::Arc;

use vm_engine::{ChildKind, FrameSource, VmError};
use zircon::kernel::jinue::{Errno, MCloneArgs};
use zircon::kernel::magenta::MX_VMO_CLONE_COPY_ON_WRITE;
use zircon::kernel::rights::{Rights, SAME_RIGHTS};
use zircon::kernel::status::*;
use zircon::kernel::zircon::*;
use zircon::kernel::{HandleValue, Kernel, Name, Object, Process, Status, UserBuffer, UserBytes};
use zircon::{HostPlatform, MemfdFrames};

use crate::calls::{
    Amount, AmountChoice, Call, ChildType, HandleArg, HandleChoice, Hostile, Len, MapPerms, RangeOp,
};
use crate::model::{Model, VmoId, PAGE};

/// The most frames the kernel may ever have in use; [`Call::SetFrameLimit`] moves the limit
/// below this.
pub const FRAME_CAPACITY: usize = 96;
/// Handles the harness keeps at most (creating more is skipped, not refused).
const MAX_HANDLES: usize = 40;
/// Mappings the harness keeps at most.
const MAX_MAPPINGS: usize = 16;
/// Jinue descriptor slots (spec/jinue.md).
const JINUE_SLOTS: usize = 12;
/// Destination slots of MCLONE in a Jinue process, each 16 pages apart.
const CLONE_SLOTS: u64 = 4;
const SLOT_BYTES: u64 = 16 * PAGE;
const MAX_VMO: u64 = 1 << 48;

type HostKernel = Kernel<HostPlatform>;
type HostProcess = Arc<Process<HostPlatform>>;

/// A handle the harness holds.
#[derive(Clone, Copy, Debug)]
struct HeldHandle {
    value: HandleValue,
    vmo: VmoId,
    rights: Rights,
}

/// A mapping in the harness's own process.
#[derive(Clone, Copy, Debug)]
struct HeldMapping {
    addr: u64,
    len: u64,
    vmo: VmoId,
    vmo_offset: u64,
    writable: bool,
    /// The permissions the VMO handle allowed (what MCLONE may ask for).
    max_write: bool,
}

/// A piece of a VMO mapped into a Jinue process by MCLONE.
#[derive(Clone, Copy, Debug)]
struct ClonedPiece {
    addr: u64,
    len: u64,
    vmo: VmoId,
    vmo_offset: u64,
}

/// A Jinue process this process created and still has the owner descriptor of.
struct JinueChild {
    process: HostProcess,
    destroyed: bool,
    pieces: Vec<ClonedPiece>,
}

/// What a run did, for the replay tests' coverage minimums and the fuzz figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub calls: u64,
    pub succeeded: u64,
    pub refused: u64,
    pub no_memory: u64,
    pub mapped_accesses: u64,
    pub jinue_clones: u64,
}

/// A run of one sequence.
pub struct World {
    frames: Arc<MemfdFrames>,
    kernel: HostKernel,
    process: HostProcess,
    /// This process's own handle (as `zx_process_self` would give), for the memory calls.
    self_handle: HandleValue,
    root_vmar: HandleValue,
    root_base: u64,
    model: Model,
    handles: Vec<HeldHandle>,
    dead: Vec<HandleValue>,
    /// Handles and mappings (here and in Jinue processes) keeping each VMO open.
    refs: BTreeMap<VmoId, usize>,
    mappings: Vec<HeldMapping>,
    jinue: BTreeMap<usize, JinueChild>,
    step: usize,
    pub stats: Stats,
}

fn mismatch<T: std::fmt::Debug, U: std::fmt::Debug>(what: &str, expected: T, actual: U) -> String {
    format!("{what}: expected {expected:?}, the kernel says {actual:?}")
}

fn check<T: std::fmt::Debug + PartialEq>(what: &str, expected: T, actual: T) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(mismatch(what, expected, actual))
    }
}

/// The status the kernel reports for an engine error (spec/zircon.md's table).
fn status_of(error: VmError) -> Status {
    match error {
        VmError::OutOfRange => ZX_ERR_OUT_OF_RANGE,
        VmError::NoMemory | VmError::NotCommitted => ZX_ERR_NO_MEMORY,
        VmError::InvalidArgs => ZX_ERR_INVALID_ARGS,
        VmError::NotSupported => ZX_ERR_NOT_SUPPORTED,
        VmError::NotResizable => ZX_ERR_UNAVAILABLE,
        VmError::BufferTooSmall => ZX_ERR_BUFFER_TOO_SMALL,
        VmError::AlreadyExists => ZX_ERR_ALREADY_EXISTS,
        VmError::NoResources => ZX_ERR_NO_RESOURCES,
        VmError::BadState => ZX_ERR_BAD_STATE,
        VmError::AccessDenied => ZX_ERR_ACCESS_DENIED,
        VmError::NotFound => ZX_ERR_NOT_FOUND,
        VmError::Unavailable => ZX_ERR_UNAVAILABLE,
        // The fuzzer creates no pager-backed VMO; were one to block, the kernel would report
        // a pager that cannot populate its pages this way.
        VmError::ShouldWait => ZX_ERR_BAD_STATE,
    }
}

fn amount(value: Amount) -> u64 {
    match value.choice() {
        AmountChoice::Pages(n) => u64::from(n) * PAGE,
        AmountChoice::Bytes(n) => u64::from(n) % (16 * PAGE),
        AmountChoice::Hostile(Hostile::Max) => u64::MAX,
        AmountChoice::Hostile(Hostile::PastMaxVmo) => MAX_VMO + 1,
        AmountChoice::Hostile(Hostile::MaxVmo) => MAX_VMO,
        AmountChoice::Hostile(Hostile::Half) => 1 << 63,
        AmountChoice::Hostile(Hostile::MaxPage) => !(PAGE - 1),
    }
}

fn len_of(len: Len) -> usize {
    usize::from(len.0) % (3 * PAGE as usize + 1)
}

/// `size` rounded up to a page within the largest VMO, or OUT_OF_RANGE.
fn vmo_size(size: u64) -> Result<u64, Status> {
    size.checked_next_multiple_of(PAGE)
        .filter(|&rounded| rounded <= MAX_VMO)
        .ok_or(ZX_ERR_OUT_OF_RANGE)
}

/// The pattern a write of `fill` puts at absolute VMO byte `at`: varies within a page so that
/// a misplaced copy shows.
fn pattern(fill: u8, at: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| fill ^ (at.wrapping_add(i) as u8).wrapping_mul(31))
        .collect()
}

impl World {
    /// A fresh kernel with one booted process.
    pub fn new() -> Result<Self, String> {
        let frames = Arc::new(
            MemfdFrames::with_limit(FRAME_CAPACITY).map_err(|e| format!("frame file: {e:?}"))?,
        );
        let kernel = HostKernel::new(frames.clone());
        let (process, _job, root_vmar) = kernel
            .boot_process(Name::new(b"fuzz"))
            .map_err(|s| format!("boot_process: {s}"))?;
        let self_handle = kernel
            .handles()
            .add(
                &process,
                Object::Process(process.clone()),
                Rights::READ | Rights::WRITE,
            )
            .map_err(|s| format!("self handle: {s}"))?;
        let root_base = process.address_space().range().0;
        let mut model = Model::new();
        model.set_frame_limit(Some(FRAME_CAPACITY as u64));
        Ok(World {
            frames,
            kernel,
            process,
            self_handle,
            root_vmar,
            root_base,
            model,
            handles: Vec::new(),
            dead: Vec::new(),
            refs: BTreeMap::new(),
            mappings: Vec::new(),
            jinue: BTreeMap::new(),
            step: 0,
            stats: Stats::default(),
        })
    }

    /// Runs `calls`, checking every result, then closes everything and checks nothing leaked.
    pub fn run(mut self, calls: &[Call]) -> Result<Stats, String> {
        for call in calls {
            self.step(*call)
                .map_err(|e| format!("step {} ({call:?}): {e}", self.step))?;
        }
        let stats = self.stats;
        self.close_everything()
            .map_err(|e| format!("closing everything: {e}"))?;
        Ok(stats)
    }

    /// Runs one call and every check after it (what [`World::run`] does per call).
    pub fn step(&mut self, call: Call) -> Result<(), String> {
        self.step += 1;
        self.stats.calls += 1;
        self.call(call).and_then(|()| self.check_state())
    }

    /// Writes `byte` at offset 0 of the first held VMO in the model only, so that the kernel
    /// and the model disagree: the replay tests use it to prove the checks notice.
    #[doc(hidden)]
    pub fn tamper_with_model(&mut self, byte: u8) -> bool {
        let Some(held) = self.handles.first().copied() else {
            return false;
        };
        self.model.write(held.vmo, 0, &[byte]).is_ok()
    }

    fn sys(&self) -> zircon::kernel::Syscalls<'_, HostPlatform> {
        self.kernel.syscalls(&self.process)
    }

    // -- Handles ---------------------------------------------------------------------------

    /// The handle value an argument names, and what the harness knows of it.
    fn resolve(&self, arg: HandleArg) -> (HandleValue, Option<HeldHandle>, bool) {
        match arg.choice() {
            HandleChoice::Live(i) if !self.handles.is_empty() => {
                let held = self.handles[usize::from(i) % self.handles.len()];
                (held.value, Some(held), false)
            }
            HandleChoice::Dead(i) if !self.dead.is_empty() => {
                (self.dead[usize::from(i) % self.dead.len()], None, false)
            }
            HandleChoice::WrongType => (self.root_vmar, None, true),
            // A value's two low bits, unmasked, are always set: with one of them flipped no
            // value names a handle, whatever the other bits.
            HandleChoice::Garbage(bits) => ((self.root_vmar ^ (bits & !3)) ^ 1, None, false),
            _ => (0, None, false),
        }
    }

    /// The expected outcome of looking up a VMO handle needing `needed`.
    fn expect_vmo(
        held: Option<HeldHandle>,
        wrong_type: bool,
        needed: Rights,
    ) -> Result<HeldHandle, Status> {
        if wrong_type {
            return Err(ZX_ERR_WRONG_TYPE);
        }
        let held = held.ok_or(ZX_ERR_BAD_HANDLE)?;
        if !held.rights.contains(needed) {
            return Err(ZX_ERR_ACCESS_DENIED);
        }
        Ok(held)
    }

    fn add_ref(&mut self, vmo: VmoId) {
        *self.refs.entry(vmo).or_default() += 1;
    }

    /// Drops one reference; the model closes the VMO with its last.
    fn drop_ref(&mut self, vmo: VmoId) {
        let count = self.refs.get_mut(&vmo).expect("a held VMO");
        *count -= 1;
        if *count == 0 {
            self.refs.remove(&vmo);
            self.model.close(vmo);
        }
    }

    fn hold(&mut self, value: HandleValue, vmo: VmoId, rights: Rights) -> Result<(), String> {
        let actual = self.rights_of(value)?;
        check("rights of the new handle", rights, actual)?;
        self.handles.push(HeldHandle { value, vmo, rights });
        self.add_ref(vmo);
        Ok(())
    }

    fn rights_of(&self, value: HandleValue) -> Result<Rights, String> {
        let record = self
            .sys()
            .info_record(value, ZX_INFO_HANDLE_BASIC)
            .map_err(|s| format!("ZX_INFO_HANDLE_BASIC of a new handle: {s}"))?;
        Ok(Rights::from_bits_retain(record.u32_at(8)))
    }

    fn room_for_handle(&self) -> bool {
        self.handles.len() < MAX_HANDLES
    }

    // -- Calls -----------------------------------------------------------------------------

    fn call(&mut self, call: Call) -> Result<(), String> {
        match call {
            Call::VmoCreate {
                size,
                resizable,
                bad_options,
            } => self.vmo_create(amount(size), resizable, bad_options),
            Call::VmoCreateChild {
                vmo,
                kind,
                resizable,
                no_write,
                offset,
                size,
            } => self.create_child(vmo, kind, resizable, no_write, amount(offset), amount(size)),
            Call::VmoClone {
                vmo,
                offset,
                size,
                non_resizable,
                bad_options,
            } => self.legacy_clone(
                vmo,
                amount(offset),
                amount(size),
                Some((non_resizable, bad_options)),
            ),
            Call::MagentaClone { vmo, offset, size } => {
                self.legacy_clone(vmo, amount(offset), amount(size), None)
            }
            Call::VmoWrite {
                vmo,
                offset,
                len,
                fill,
            } => self.vmo_write(vmo, amount(offset), len_of(len), fill),
            Call::VmoRead { vmo, offset, len } => self.vmo_read(vmo, amount(offset), len_of(len)),
            Call::VmoSetSize { vmo, size } => self.set_size(vmo, amount(size)),
            Call::VmoOpRange {
                vmo,
                op,
                offset,
                size,
            } => self.op_range(vmo, op, amount(offset), amount(size)),
            Call::Duplicate {
                handle,
                rights,
                same,
            } => self.duplicate(handle, rights, same),
            Call::Close { handle } => self.close(handle),
            Call::Map {
                vmo,
                perms,
                vmo_offset,
                len,
            } => self.map(vmo, perms, amount(vmo_offset), amount(len)),
            Call::Unmap { mapping } => self.unmap(mapping),
            Call::WriteMemory {
                mapping,
                offset,
                len,
                fill,
            } => self.write_memory(mapping, offset, len_of(len), fill),
            Call::ReadMemory {
                mapping,
                offset,
                len,
            } => self.read_memory(mapping, offset, len_of(len)),
            Call::SetFrameLimit { frames } => {
                let limit = if frames >= 128 {
                    FRAME_CAPACITY
                } else {
                    (self.frames.frames_in_use() + usize::from(frames % 16)).min(FRAME_CAPACITY)
                };
                self.frames.set_limit(limit);
                self.model.set_frame_limit(Some(limit as u64));
                Ok(())
            }
            Call::JinueCreateProcess { fd } => self.jinue_create(usize::from(fd) % 14),
            Call::JinueMclone {
                mapping,
                dest_fd,
                slot,
                write,
                bad_prot,
            } => {
                let created: Vec<usize> = self.jinue.keys().copied().collect();
                let dest = match dest_fd {
                    0..=199 if !created.is_empty() => created[usize::from(dest_fd) % created.len()],
                    _ => usize::from(dest_fd) % 14,
                };
                self.jinue_mclone(mapping, dest, slot, write, bad_prot)
            }
            Call::JinueDestroy { fd } => self.jinue_destroy(usize::from(fd) % 14),
        }
    }

    /// Compares a status result and counts it.
    fn outcome<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        expected: Result<(), Status>,
        actual: &Result<T, Status>,
    ) -> Result<(), String> {
        match (expected, actual) {
            (Ok(()), Ok(_)) => {
                self.stats.succeeded += 1;
                Ok(())
            }
            (Err(e), Err(a)) if e == *a => {
                self.stats.refused += 1;
                if e == ZX_ERR_NO_MEMORY {
                    self.stats.no_memory += 1;
                }
                Ok(())
            }
            (expected, actual) => Err(mismatch(what, expected, actual)),
        }
    }

    fn vmo_create(&mut self, size: u64, resizable: bool, bad_options: bool) -> Result<(), String> {
        if !self.room_for_handle() {
            return Ok(());
        }
        let options =
            if bad_options { 1 << 7 } else { 0 } | if resizable { ZX_VMO_RESIZABLE } else { 0 };
        let expected = if bad_options {
            Err(ZX_ERR_INVALID_ARGS)
        } else {
            vmo_size(size).map(|_| ())
        };
        let actual = self.sys().vmo_create(size, options);
        self.outcome("zx_vmo_create", expected, &actual)?;
        if let Ok(value) = actual {
            let id = self
                .model
                .create(size, resizable)
                .map_err(|e| format!("zx_vmo_create succeeded where the model refuses: {e:?}"))?;
            let mut rights = Rights::DEFAULT_VMO;
            if resizable {
                rights |= Rights::RESIZE;
            }
            self.hold(value, id, rights)?;
        }
        Ok(())
    }

    fn create_child(
        &mut self,
        vmo: HandleArg,
        kind: ChildType,
        resizable: bool,
        no_write: bool,
        offset: u64,
        size: u64,
    ) -> Result<(), String> {
        if !self.room_for_handle() {
            return Ok(());
        }
        let (value, held, wrong_type) = self.resolve(vmo);
        let type_bits = match kind {
            ChildType::Snapshot => ZX_VMO_CHILD_SNAPSHOT,
            ChildType::SnapshotAtLeastOnWrite => ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
            ChildType::Slice => ZX_VMO_CHILD_SLICE,
            ChildType::None => 0,
            ChildType::Two => ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_SLICE,
            ChildType::Unknown => ZX_VMO_CHILD_SNAPSHOT | (1 << 20),
        };
        let options = type_bits
            | if resizable { ZX_VMO_CHILD_RESIZABLE } else { 0 }
            | if no_write { ZX_VMO_CHILD_NO_WRITE } else { 0 };
        let engine_kind = match kind {
            ChildType::SnapshotAtLeastOnWrite => ChildKind::SnapshotAtLeastOnWrite,
            ChildType::Slice => ChildKind::Slice,
            _ => ChildKind::Snapshot,
        };
        // spec/zircon.md section 3's order.
        let expected = (|| {
            vmo_size(size)?;
            if no_write && resizable {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            let parent = Self::expect_vmo(held, wrong_type, Rights::DUPLICATE | Rights::READ)?;
            if !matches!(
                kind,
                ChildType::Snapshot | ChildType::SnapshotAtLeastOnWrite | ChildType::Slice
            ) {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            if engine_kind == ChildKind::Slice && resizable {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            if offset % PAGE != 0 {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            offset.checked_add(size).ok_or(ZX_ERR_OUT_OF_RANGE)?;
            Ok(parent)
        })();
        let actual = self.sys().vmo_create_child(value, options, offset, size);
        let parent = match expected {
            Err(status) => return self.outcome("zx_vmo_create_child", Err(status), &actual),
            Ok(parent) => parent,
        };
        let modelled = self
            .model
            .create_child(parent.vmo, engine_kind, offset, size, resizable);
        self.outcome(
            "zx_vmo_create_child",
            modelled.map(|_| ()).map_err(status_of),
            &actual,
        )?;
        if let (Ok(id), Ok(value)) = (modelled, actual) {
            let mut rights =
                (parent.rights - Rights::RESIZE) | Rights::GET_PROPERTY | Rights::SET_PROPERTY;
            if resizable {
                rights |= Rights::RESIZE;
            }
            if no_write {
                rights -= Rights::WRITE;
            } else if engine_kind != ChildKind::Slice {
                rights |= Rights::WRITE;
                rights -= Rights::EXECUTE;
            }
            self.hold(value, id, rights)?;
        }
        Ok(())
    }

    /// `zx_vmo_clone` when `zircon` is `Some((non_resizable, bad_options))`, else `mx_vmo_clone`.
    fn legacy_clone(
        &mut self,
        vmo: HandleArg,
        offset: u64,
        size: u64,
        zircon: Option<(bool, bool)>,
    ) -> Result<(), String> {
        if !self.room_for_handle() {
            return Ok(());
        }
        let (value, held, wrong_type) = self.resolve(vmo);
        let (options, bad, resizable) = match zircon {
            Some((non_resizable, bad)) => {
                let options = if bad { 0 } else { ZX_VMO_CLONE_COPY_ON_WRITE }
                    | if non_resizable {
                        ZX_VMO_CLONE_NON_RESIZEABLE
                    } else {
                        0
                    };
                (options, bad, !non_resizable)
            }
            None => (MX_VMO_CLONE_COPY_ON_WRITE, false, true),
        };
        let expected = (|| {
            let parent = Self::expect_vmo(held, wrong_type, Rights::DUPLICATE | Rights::READ)?;
            if bad || offset % PAGE != 0 {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            let rounded = vmo_size(size)?;
            offset.checked_add(rounded).ok_or(ZX_ERR_OUT_OF_RANGE)?;
            Ok(parent)
        })();
        let actual = match zircon {
            Some(_) => self.sys().vmo_clone(value, options, offset, size),
            None => self.sys().mx_vmo_clone(value, options, offset, size),
        };
        let what = if zircon.is_some() {
            "zx_vmo_clone"
        } else {
            "mx_vmo_clone"
        };
        let parent = match expected {
            Err(status) => return self.outcome(what, Err(status), &actual),
            Ok(parent) => parent,
        };
        let modelled =
            self.model
                .create_child(parent.vmo, ChildKind::OneWay, offset, size, resizable);
        self.outcome(what, modelled.map(|_| ()).map_err(status_of), &actual)?;
        if let (Ok(id), Ok(value)) = (modelled, actual) {
            let rights = match zircon {
                Some(_) if resizable => (parent.rights | Rights::WRITE) | Rights::RESIZE,
                Some(_) => (parent.rights - Rights::RESIZE) | Rights::WRITE,
                None => {
                    parent.rights | Rights::WRITE | Rights::EXECUTE | Rights::MAP | Rights::RESIZE
                }
            };
            self.hold(value, id, rights)?;
        }
        Ok(())
    }

    fn vmo_write(
        &mut self,
        vmo: HandleArg,
        offset: u64,
        len: usize,
        fill: u8,
    ) -> Result<(), String> {
        let (value, held, wrong_type) = self.resolve(vmo);
        let data = pattern(fill, offset, len);
        let actual = self.sys().vmo_write(value, UserBytes::new(&data), offset);
        let expected = match Self::expect_vmo(held, wrong_type, Rights::WRITE) {
            Err(status) => Err(status),
            Ok(held) => self.model.write(held.vmo, offset, &data).map_err(status_of),
        };
        self.outcome("zx_vmo_write", expected, &actual)
    }

    fn vmo_read(&mut self, vmo: HandleArg, offset: u64, len: usize) -> Result<(), String> {
        let (value, held, wrong_type) = self.resolve(vmo);
        let mut out = vec![0xA5; len];
        let actual = self
            .sys()
            .vmo_read(value, UserBuffer::new(&mut out), offset);
        let expected = Self::expect_vmo(held, wrong_type, Rights::READ)
            .and_then(|held| self.model.read(held.vmo, offset, len).map_err(status_of));
        match (&expected, &actual) {
            (Ok(bytes), Ok(())) => {
                if let Some(at) = bytes.iter().zip(&out).position(|(a, b)| a != b) {
                    return Err(format!(
                        "zx_vmo_read at {offset:#x}: byte {at} is {:#04x}, the model has {:#04x}",
                        out[at], bytes[at]
                    ));
                }
                self.stats.succeeded += 1;
                Ok(())
            }
            _ => self.outcome("zx_vmo_read", expected.map(|_| ()), &actual),
        }
    }

    fn set_size(&mut self, vmo: HandleArg, size: u64) -> Result<(), String> {
        let (value, held, wrong_type) = self.resolve(vmo);
        let actual = self.sys().vmo_set_size(value, size);
        let expected = match Self::expect_vmo(held, wrong_type, Rights::WRITE) {
            Err(status) => Err(status),
            Ok(held) => {
                let resizable = self.model.infos()[&held.vmo].resizable;
                if resizable && !held.rights.contains(Rights::RESIZE) {
                    Err(ZX_ERR_ACCESS_DENIED)
                } else {
                    self.model.set_size(held.vmo, size).map_err(status_of)
                }
            }
        };
        self.outcome("zx_vmo_set_size", expected, &actual)
    }

    fn op_range(
        &mut self,
        vmo: HandleArg,
        op: RangeOp,
        offset: u64,
        size: u64,
    ) -> Result<(), String> {
        let (value, held, wrong_type) = self.resolve(vmo);
        let (number, right) = match op {
            RangeOp::Commit => (ZX_VMO_OP_COMMIT, Rights::WRITE),
            RangeOp::Decommit => (ZX_VMO_OP_DECOMMIT, Rights::WRITE),
            RangeOp::Zero => (ZX_VMO_OP_ZERO, Rights::WRITE),
            RangeOp::Lookup(_) => (ZX_VMO_OP_LOOKUP, Rights::READ),
            RangeOp::Unknown => (0x7777, Rights::empty()),
        };
        let entries = match op {
            RangeOp::Lookup(n) => usize::from(n % 20),
            _ => 0,
        };
        let mut buffer = vec![0u8; entries * 8];
        let actual =
            self.sys()
                .vmo_op_range(value, number, offset, size, UserBuffer::new(&mut buffer));
        let expected = match Self::expect_vmo(held, wrong_type, Rights::empty()) {
            Err(status) => Err(status),
            Ok(_) if matches!(op, RangeOp::Unknown) => Err(ZX_ERR_INVALID_ARGS),
            Ok(held) if !held.rights.contains(right) => Err(ZX_ERR_ACCESS_DENIED),
            Ok(held) => match op {
                RangeOp::Commit => self.model.commit(held.vmo, offset, size),
                RangeOp::Decommit => self.model.decommit(held.vmo, offset, size),
                RangeOp::Zero => self.model.zero(held.vmo, offset, size),
                _ => self
                    .model
                    .lookup(held.vmo, offset, size, entries)
                    .map(|_| ()),
            }
            .map_err(status_of),
        };
        self.outcome("zx_vmo_op_range", expected, &actual)
    }

    fn duplicate(&mut self, handle: HandleArg, rights: u32, same: bool) -> Result<(), String> {
        if !self.room_for_handle() {
            return Ok(());
        }
        let (value, held, wrong_type) = self.resolve(handle);
        let wanted = if same {
            SAME_RIGHTS
        } else {
            rights & Rights::all().bits()
        };
        let actual = self.sys().handle_duplicate(value, wanted);
        if wrong_type {
            // The root VMAR can be duplicated too; keep the copy out of the harness's way.
            if let Ok(copy) = actual {
                self.sys()
                    .handle_close(copy)
                    .map_err(|s| format!("closing a VMAR copy: {s}"))?;
            }
            return Ok(());
        }
        let expected = (|| {
            let held = Self::expect_vmo(held, false, Rights::DUPLICATE)?;
            let rights = if same {
                held.rights
            } else {
                Rights::from_bits_retain(wanted)
            };
            if !held.rights.contains(rights) {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            Ok((held.vmo, rights))
        })();
        self.outcome("zx_handle_duplicate", expected.map(|_| ()), &actual)?;
        if let (Ok((vmo, rights)), Ok(value)) = (expected, actual) {
            self.hold(value, vmo, rights)?;
        }
        Ok(())
    }

    fn close(&mut self, handle: HandleArg) -> Result<(), String> {
        let (value, held, wrong_type) = self.resolve(handle);
        if wrong_type {
            return Ok(()); // The harness keeps its VMAR handle.
        }
        let actual = self.sys().handle_close(value);
        // Closing ZX_HANDLE_INVALID (0) is not an error.
        let expected = match held {
            None if value == 0 => Ok(()),
            held => held.map(|_| ()).ok_or(ZX_ERR_BAD_HANDLE),
        };
        self.outcome("zx_handle_close", expected, &actual)?;
        if let Some(held) = held {
            self.handles.retain(|h| h.value != held.value);
            self.dead.push(held.value);
            self.drop_ref(held.vmo);
        }
        Ok(())
    }

    // -- Mappings --------------------------------------------------------------------------

    fn map(
        &mut self,
        vmo: HandleArg,
        perms: MapPerms,
        vmo_offset: u64,
        len: u64,
    ) -> Result<(), String> {
        if self.mappings.len() >= MAX_MAPPINGS {
            return Ok(());
        }
        let (value, held, wrong_type) = self.resolve(vmo);
        let options = match perms {
            MapPerms::Read => ZX_VM_PERM_READ,
            MapPerms::ReadWrite => ZX_VM_PERM_READ | ZX_VM_PERM_WRITE,
            MapPerms::WriteOnly => ZX_VM_PERM_WRITE,
        };
        let writable = !matches!(perms, MapPerms::Read);
        // zx_vmar_map's order: the handles, the options, alignment and length, the VMO
        // handle's rights, then the range.
        let expected = (|| {
            let held = Self::expect_vmo(held, wrong_type, Rights::empty())?;
            if matches!(perms, MapPerms::WriteOnly) || vmo_offset % PAGE != 0 || len == 0 {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            let mut needed = Rights::MAP | Rights::READ;
            if writable {
                needed |= Rights::WRITE;
            }
            if !held.rights.contains(needed) {
                return Err(ZX_ERR_ACCESS_DENIED);
            }
            let rounded = len.checked_next_multiple_of(PAGE);
            let end = rounded.and_then(|rounded| vmo_offset.checked_add(rounded));
            let rounded = rounded
                .filter(|_| end.is_some())
                .ok_or(ZX_ERR_OUT_OF_RANGE)?;
            // Far larger than the root VMAR: no room.
            if rounded > 1 << 47 {
                return Err(ZX_ERR_NO_RESOURCES);
            }
            Ok((held, rounded))
        })();
        let actual = self
            .sys()
            .vmar_map(self.root_vmar, options, 0, value, vmo_offset, len);
        self.outcome("zx_vmar_map", expected.map(|_| ()), &actual)?;
        if let (Ok((held, len)), Ok(addr)) = (expected, actual) {
            self.mappings.push(HeldMapping {
                addr,
                len,
                vmo: held.vmo,
                vmo_offset,
                writable,
                max_write: held.rights.contains(Rights::WRITE),
            });
            self.add_ref(held.vmo);
        }
        Ok(())
    }

    fn unmap(&mut self, index: u8) -> Result<(), String> {
        if self.mappings.is_empty() {
            return Ok(());
        }
        let mapping = self
            .mappings
            .remove(usize::from(index) % self.mappings.len());
        let actual = self
            .sys()
            .vmar_unmap(self.root_vmar, mapping.addr, mapping.len);
        self.outcome("zx_vmar_unmap", Ok(()), &actual)?;
        self.drop_ref(mapping.vmo);
        Ok(())
    }

    /// The mapping an index names and the address inside it, or an address nothing maps.
    fn memory_target(&self, index: u8, offset: u16) -> (u64, Option<HeldMapping>) {
        if self.mappings.is_empty() || index == u8::MAX {
            return (self.root_base + (1 << 40) + u64::from(offset), None);
        }
        let mapping = self.mappings[usize::from(index) % self.mappings.len()];
        (
            mapping.addr + u64::from(offset) % mapping.len,
            Some(mapping),
        )
    }

    /// What a memory call of `len` bytes at `addr` inside `mapping` moves: page by page until
    /// the VMO's end or a page that fails, as a faulting thread would. `write` carries the
    /// bytes to write (the model is changed as the call goes).
    fn model_memory_access(
        &mut self,
        mapping: HeldMapping,
        addr: u64,
        len: usize,
        write: Option<&[u8]>,
    ) -> Result<Vec<u8>, Status> {
        let end = (addr + len as u64).min(mapping.addr + mapping.len);
        let mut done = Vec::new();
        let mut at = addr;
        while at < end {
            let page_end = (at / PAGE + 1) * PAGE;
            let part = (page_end.min(end) - at) as usize;
            let vmo_at = mapping.vmo_offset + (at - mapping.addr);
            let result = if vmo_at >= self.model.size(mapping.vmo) {
                Err(ZX_ERR_OUT_OF_RANGE)
            } else {
                match write {
                    Some(data) => {
                        let from = (at - addr) as usize;
                        let bytes = &data[from..from + part];
                        self.model
                            .write(mapping.vmo, vmo_at, bytes)
                            .map(|()| bytes.to_vec())
                            .map_err(status_of)
                    }
                    None => self
                        .model
                        .read(mapping.vmo, vmo_at, part)
                        .map_err(status_of),
                }
            };
            match result {
                Ok(bytes) => done.extend_from_slice(&bytes),
                Err(status) if done.is_empty() => return Err(status),
                Err(_) => break,
            }
            at += part as u64;
        }
        Ok(done)
    }

    fn write_memory(&mut self, index: u8, offset: u16, len: usize, fill: u8) -> Result<(), String> {
        let (addr, mapping) = self.memory_target(index, offset);
        let data = pattern(fill, addr, len);
        let actual = self
            .sys()
            .process_write_memory(self.self_handle, addr, UserBytes::new(&data));
        let expected = match mapping {
            _ if len == 0 => Err(ZX_ERR_INVALID_ARGS),
            None => Err(ZX_ERR_NO_MEMORY),
            Some(mapping) if !mapping.writable => Err(ZX_ERR_ACCESS_DENIED),
            Some(mapping) => self
                .model_memory_access(mapping, addr, len, Some(&data))
                .map(|done| done.len()),
        };
        self.stats.mapped_accesses += 1;
        match (expected, actual) {
            (Ok(expected), Ok(done)) => {
                check("bytes zx_process_write_memory wrote", expected, done)?;
                self.stats.succeeded += 1;
                Ok(())
            }
            (expected, actual) => {
                self.outcome("zx_process_write_memory", expected.map(|_| ()), &actual)
            }
        }
    }

    fn read_memory(&mut self, index: u8, offset: u16, len: usize) -> Result<(), String> {
        let (addr, mapping) = self.memory_target(index, offset);
        let mut out = vec![0x5A; len];
        let actual =
            self.sys()
                .process_read_memory(self.self_handle, addr, UserBuffer::new(&mut out));
        let expected = match mapping {
            _ if len == 0 => Err(ZX_ERR_INVALID_ARGS),
            None => Err(ZX_ERR_NO_MEMORY),
            Some(mapping) => self.model_memory_access(mapping, addr, len, None),
        };
        self.stats.mapped_accesses += 1;
        match (expected, actual) {
            (Ok(expected), Ok(done)) => {
                check("bytes zx_process_read_memory read", expected.len(), done)?;
                if expected[..] != out[..done] {
                    return Err(format!(
                        "zx_process_read_memory at {addr:#x}: the bytes differ from the model's"
                    ));
                }
                self.stats.succeeded += 1;
                Ok(())
            }
            (expected, actual) => {
                self.outcome("zx_process_read_memory", expected.map(|_| ()), &actual)
            }
        }
    }

    // -- Jinue -----------------------------------------------------------------------------

    fn jinue_create(&mut self, fd: usize) -> Result<(), String> {
        let actual = self.kernel.jinue(&self.process).create_process(fd);
        // Slot 0 holds this process's own descriptor.
        let expected = if fd >= JINUE_SLOTS || fd == 0 || self.jinue.contains_key(&fd) {
            Err(Errno::BadDescriptor)
        } else {
            Ok(())
        };
        check(
            "Jinue CREATE_PROCESS",
            expected,
            actual.as_ref().map(|_| ()).map_err(|e| *e),
        )?;
        if actual.is_ok() {
            let process = self
                .process
                .descriptors()
                .lock()
                .get(fd)
                .map(|d| d.target.clone());
            let Some(zircon::kernel::jinue::descriptors::Target::Process(process)) = process else {
                return Err("CREATE_PROCESS left no process descriptor".into());
            };
            self.jinue.insert(
                fd,
                JinueChild {
                    process,
                    destroyed: false,
                    pieces: Vec::new(),
                },
            );
            self.stats.succeeded += 1;
        } else {
            self.stats.refused += 1;
        }
        Ok(())
    }

    fn jinue_mclone(
        &mut self,
        index: u8,
        dest: usize,
        slot: u8,
        write: bool,
        bad_prot: bool,
    ) -> Result<(), String> {
        let Some(&mapping) = (!self.mappings.is_empty())
            .then(|| &self.mappings[usize::from(index) % self.mappings.len()])
        else {
            return Ok(());
        };
        let slot = u64::from(slot) % CLONE_SLOTS;
        let dest_addr = self.root_base + (1 << 30) + slot * SLOT_BYTES;
        let prot = 1 | if write { 2 } else { 0 } | if bad_prot { 1 << 9 } else { 0 };
        let args = MCloneArgs {
            src_addr: mapping.addr,
            dest_addr,
            length: mapping.len,
            prot,
        };
        let expected = if bad_prot {
            Err(Errno::Invalid)
        } else if dest >= JINUE_SLOTS {
            Err(Errno::BadDescriptor)
        } else if dest == 0 {
            // Slot 0 names this process: a clone within it, which the harness does not track.
            return Ok(());
        } else {
            match self.jinue.get(&dest) {
                None => Err(Errno::BadDescriptor),
                Some(child) if child.destroyed => Err(Errno::Io),
                Some(_) if write && !mapping.max_write => Err(Errno::Permission),
                Some(_) => Ok(()),
            }
        };
        let actual = self.kernel.jinue(&self.process).mclone(0, dest, Some(args));
        check(
            "Jinue MCLONE",
            expected,
            actual.as_ref().map(|_| ()).map_err(|e| *e),
        )?;
        if actual.is_err() {
            self.stats.refused += 1;
            return Ok(());
        }
        self.stats.succeeded += 1;
        self.stats.jinue_clones += 1;
        // The destination range was unmapped first: a piece it covered lets go of its VMO,
        // and each remnant of a piece cut at the range's edge holds it on its own.
        let child = self.jinue.get_mut(&dest).expect("checked above");
        let (start, end) = (dest_addr, dest_addr + mapping.len);
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        let mut remnants = Vec::new();
        for piece in child.pieces.drain(..) {
            let piece_end = piece.addr + piece.len;
            if piece_end <= start || piece.addr >= end {
                kept.push(piece);
                continue;
            }
            dropped.push(piece.vmo);
            if piece.addr < start {
                remnants.push(ClonedPiece {
                    len: start - piece.addr,
                    ..piece
                });
            }
            if piece_end > end {
                remnants.push(ClonedPiece {
                    addr: end,
                    len: piece_end - end,
                    vmo_offset: piece.vmo_offset + (end - piece.addr),
                    ..piece
                });
            }
        }
        kept.extend_from_slice(&remnants);
        kept.push(ClonedPiece {
            addr: dest_addr,
            len: mapping.len,
            vmo: mapping.vmo,
            vmo_offset: mapping.vmo_offset,
        });
        child.pieces = kept;
        self.add_ref(mapping.vmo);
        for remnant in remnants {
            self.add_ref(remnant.vmo);
        }
        for vmo in dropped {
            self.drop_ref(vmo);
        }
        Ok(())
    }

    fn jinue_destroy(&mut self, fd: usize) -> Result<(), String> {
        let actual = self.kernel.jinue(&self.process).destroy(fd);
        let expected = if fd >= JINUE_SLOTS {
            Err(Errno::BadDescriptor)
        } else if fd == 0 {
            // Slot 0 names this process but is not its owner descriptor.
            Err(Errno::Permission)
        } else {
            match self.jinue.get(&fd) {
                None => Err(Errno::BadDescriptor),
                Some(child) if child.destroyed => Err(Errno::Io),
                Some(_) => Ok(()),
            }
        };
        check(
            "Jinue DESTROY",
            expected,
            actual.as_ref().map(|_| ()).map_err(|e| *e),
        )?;
        if actual.is_err() {
            self.stats.refused += 1;
            return Ok(());
        }
        self.stats.succeeded += 1;
        let child = self.jinue.get_mut(&fd).expect("checked above");
        child.destroyed = true;
        let pieces: Vec<ClonedPiece> = child.pieces.drain(..).collect();
        for piece in pieces {
            self.drop_ref(piece.vmo);
        }
        Ok(())
    }

    // -- Checks ----------------------------------------------------------------------------

    /// Everything the model and the harness know, compared with the kernel.
    fn check_state(&mut self) -> Result<(), String> {
        self.model.check();
        let infos = self.model.infos();
        let mut seen = BTreeMap::new();
        for held in &self.handles {
            if seen.insert(held.vmo, held.value).is_some() {
                continue;
            }
            let (object, _) = self
                .sys()
                .lookup(held.value)
                .map_err(|s| format!("a held handle is gone: {s}"))?;
            let Object::Vmo(vmo) = object else {
                return Err("a held VMO handle names another object".into());
            };
            let engine = vmo.vmo();
            let info = engine.info();
            let expected = infos[&held.vmo];
            let actual = (
                info.size,
                info.committed_bytes,
                info.populated_bytes,
                info.resizable,
                info.num_children,
            );
            check(
                &format!("info of {:?}", held.vmo),
                (
                    expected.size,
                    expected.committed_bytes,
                    expected.populated_bytes,
                    expected.resizable,
                    expected.num_children,
                ),
                actual,
            )?;
            engine.check_family_invariants()?;
        }
        check(
            "frames in use",
            self.model.frames_in_use(),
            self.frames.frames_in_use() as u64,
        )?;
        self.process.address_space().check_translations()?;
        for child in self.jinue.values() {
            child.process.address_space().check_translations()?;
        }
        self.check_cloned_bytes()
    }

    /// What every MCLONE'd piece shows, read through the Jinue process's address space, is what
    /// the model says the VMO holds: the sharing MCLONE promises.
    fn check_cloned_bytes(&self) -> Result<(), String> {
        for child in self.jinue.values() {
            for piece in &child.pieces {
                for page in 0..piece.len / PAGE {
                    let vmo_at = piece.vmo_offset + page * PAGE;
                    let mut byte = [0u8; 1];
                    let (done, stopped) = child
                        .process
                        .address_space()
                        .read(piece.addr + page * PAGE + 7, &mut byte);
                    if vmo_at >= self.model.size(piece.vmo) {
                        if done != 0 {
                            return Err("a cloned page past the VMO's end was readable".into());
                        }
                        continue;
                    }
                    let expected = self
                        .model
                        .read(piece.vmo, vmo_at + 7, 1)
                        .map_err(|e| format!("model read: {e:?}"))?;
                    if done != 1 || byte[0] != expected[0] {
                        return Err(format!(
                            "MCLONE'd page {page} of {:?}: read {done} byte(s) {:#04x} \
                             ({stopped:?}), the model has {:#04x}",
                            piece.vmo, byte[0], expected[0]
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Closes every handle, unmaps everything and destroys the Jinue processes; then no frame
    /// may be in use.
    fn close_everything(mut self) -> Result<(), String> {
        let fds: Vec<usize> = self.jinue.keys().copied().collect();
        for fd in fds {
            if !self.jinue[&fd].destroyed {
                self.jinue_destroy(fd)?;
            }
        }
        while !self.mappings.is_empty() {
            self.unmap(0)?;
            self.check_state()?;
        }
        while let Some(held) = self.handles.first().copied() {
            self.sys()
                .handle_close(held.value)
                .map_err(|s| format!("closing a held handle: {s}"))?;
            self.handles.remove(0);
            self.drop_ref(held.vmo);
            self.check_state()?;
        }
        check("VMOs the harness still holds", 0, self.refs.len())?;
        check(
            "frames in use with nothing open",
            0,
            self.frames.frames_in_use(),
        )?;
        let World {
            frames,
            kernel,
            process,
            jinue,
            ..
        } = self;
        drop(jinue);
        drop(process);
        drop(kernel);
        check(
            "frames in use after the kernel went",
            0,
            frames.frames_in_use(),
        )
    }
}
