//! The interpreter: runs decoded [`Call`]s against a real kernel (Zircon, Magenta and Jinue
//! calls of one process, frames in a memfd) and, side by side, against the engine's naive
//! reference model plus a small table of the handles, mappings and Jinue descriptors the
//! harness holds. Every call's status is predicted before the call from the spec's check
//! order (handle, type, rights, arguments) and the model's answer; bytes read, info, frames in
//! use, every family's invariants and every translation are compared after every call. When
//! the sequence ends everything is closed and no frame may stay in use.
//!
//! The reference model knows anonymous VMOs and their clones. What it does not know is kept
//! beside it (module `families`): contiguous VMOs and pager-backed VMOs are model VMOs whose
//! pages the harness commits, fills and zeroes the way the kernel does (all of a contiguous
//! VMO's pages are committed at creation and ZERO keeps them; supplied pages of a pager-backed
//! VMO are written into it and a page supplied as zeros is an empty page), with the pager's
//! supplied pages and each one-way clone's own pages tracked here so that a call that would
//! wait for the pager is known in advance; physical VMOs are the harness's own, each a window
//! onto a live contiguous VMO's frames; pins are counted per page of the VMO holding the pages
//! (module `devices`), which decides the refusals they cause and keeps the frames that ZERO
//! would otherwise free. Ports and pagers are modelled in module `paging`.
//!
//! The harness is single-threaded: a call that would wait for a pager (a page not supplied yet,
//! the VMO attached and its pager alive) is never issued. The harness predicts that from its
//! own tables and asks the kernel too (its missing range and binding), so that a disagreement
//! is reported as a divergence instead of hanging the run.
//!
//! `VM_FUZZ_TRACE=1` prints every call and status.
//!
//! A divergence is returned as a message naming the step; the fuzz target turns it into a
//! crash, the replay tests into a failure.

mod devices;
mod families;
mod paging;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use vm_engine::{ChildKind, FrameSource, VmError};
use zircon::kernel::bti::Bti;
use zircon::kernel::jinue::{Errno, MCloneArgs};
use zircon::kernel::magenta::MX_VMO_CLONE_COPY_ON_WRITE;
use zircon::kernel::port::PortPacket;
use zircon::kernel::rights::{Rights, SAME_RIGHTS};
use zircon::kernel::status::*;
use zircon::kernel::zircon::*;
use zircon::kernel::{
    HandleValue, Kernel, Name, Object, Process, Status, UserBuffer, UserBytes, VmoObject,
};
use zircon::{HostPlatform, MemfdFrames};

use crate::calls::{
    Amount, AmountChoice, Call, ChildType, HandleArg, HandleChoice, Hostile, Len, MapPerms, RangeOp,
};
use crate::model::{Model, VmoId, PAGE};

use families::{Fam, Gate, Meta};

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
/// The longest ZERO issued on a one-way clone (or a slice of one), whose every page the model
/// visits (and the kernel too, taking heap for each: see `kernel_bug_zero_of_a_long_clone_range`
/// in `tests/replay.rs`).
const MAX_MARKED_ZERO: u64 = 1024 * PAGE;

type HostKernel = Kernel<HostPlatform>;
type HostProcess = Arc<Process<HostPlatform>>;
type HostVmo = Arc<VmoObject<HostPlatform>>;
type HostBti = Arc<Bti<HostPlatform>>;

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

/// A non-VMO object the harness holds a handle to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Obj {
    Resource,
    Iommu,
    /// By index into the BTIs.
    Bti(usize),
    /// By PMT id.
    Pmt(u64),
    /// By index into the ports.
    Port(usize),
    /// By index into the pagers.
    Pager(usize),
}

/// A handle to a non-VMO object.
#[derive(Clone, Copy, Debug)]
struct OtherHandle {
    value: HandleValue,
    obj: Obj,
    rights: Rights,
}

/// What a call's handle argument names.
#[derive(Clone, Copy, Debug)]
enum Named {
    /// A handle of a non-VMO object.
    Other(OtherHandle),
    /// A VMO handle.
    Vmo,
    /// The root VMAR's handle.
    Vmar,
    /// No handle (`ZX_ERR_BAD_HANDLE`).
    Nothing,
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
    /// Successful `zx_bti_pin`s.
    pub pins: u64,
    /// Successful `zx_pmt_unpin`s of a PMT.
    pub unpins: u64,
    /// PMT handles closed without unpinning (their pins quarantined).
    pub quarantined: u64,
    /// `zx_bti_release_quarantine`s that released at least one pin.
    pub quarantine_releases: u64,
    /// Pins refused because their BTI had pins in quarantine.
    pub quarantine_refusals: u64,
    /// DECOMMITs, shrinks and snapshots refused with `ZX_ERR_BAD_STATE` because of pinned pages.
    pub pinned_refusals: u64,
    /// ZEROs over pinned pages (zeroed in place).
    pub pinned_zeroes: u64,
    /// Successful `zx_vmo_create_contiguous`.
    pub contiguous: u64,
    /// Successful `zx_vmo_create_physical`.
    pub physical: u64,
    /// Mapped accesses through a physical VMO's mapping.
    pub physical_accesses: u64,
    /// Successful `zx_pager_create_vmo`.
    pub pager_vmos: u64,
    /// Successful `zx_pager_supply_pages` of at least one page.
    pub supplies: u64,
    /// Accesses refused with `ZX_ERR_BAD_STATE` because the pager will not supply the page.
    pub pager_refusals: u64,
    /// Packets `zx_port_wait` returned.
    pub packets: u64,
    /// Calls not issued because they would have waited for a pager.
    pub blocked: u64,
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
    /// The frame limit the kernel's frame source has now.
    frame_limit: usize,
    model: Model,
    handles: Vec<HeldHandle>,
    dead: Vec<HandleValue>,
    /// Handles and mappings (here and in Jinue processes), pins, and the harness's own anchors
    /// keeping each VMO open.
    refs: BTreeMap<VmoId, usize>,
    /// What the harness knows of every VMO beyond the model (see module `families`).
    meta: BTreeMap<VmoId, Meta>,
    phys: BTreeMap<VmoId, families::PhysVmo>,
    next_phys: u64,
    contigs: BTreeMap<VmoId, families::Contig>,
    /// Handles to objects other than VMOs.
    others: Vec<OtherHandle>,
    /// The root resource's first handle, which the harness never closes.
    resource: HandleValue,
    btis: Vec<HostBti>,
    pmts: BTreeMap<u64, devices::PmtRec>,
    next_pmt: u64,
    /// How many times each page is pinned, by the VMO holding the pages (a slice's target) and
    /// page there.
    pins: BTreeMap<(VmoId, u64), u32>,
    ports: Vec<paging::PortRec>,
    pagers: Vec<paging::PagerRec>,
    pager_fams: Vec<paging::PagerFam>,
    mappings: Vec<HeldMapping>,
    jinue: BTreeMap<usize, JinueChild>,
    step: usize,
    /// `VM_FUZZ_TRACE` is set: every call and status is printed.
    trace: bool,
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

/// [`check`], naming what is compared only when it differs (the checks after every call are
/// many).
fn check_that<T: std::fmt::Debug + PartialEq>(
    what: impl FnOnce() -> String,
    expected: T,
    actual: T,
) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(mismatch(&what(), expected, actual))
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
        // The harness never lets a call wait for a pager (see the module documentation); a
        // pager that will not populate its pages is reported this way.
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

/// Whether `[offset, offset + len)` lies within `size` bytes.
fn within(offset: u64, len: u64, size: u64) -> bool {
    offset.checked_add(len).is_some_and(|end| end <= size)
}

/// The pages `[offset, offset + len)` touches (meaningful for a range within a VMO).
fn touched(offset: u64, len: u64) -> std::ops::Range<u64> {
    if len == 0 {
        return 0..0;
    }
    offset / PAGE..offset.saturating_add(len).div_ceil(PAGE)
}

/// The pattern a write of `fill` puts at absolute VMO byte `at`: varies within a page so that
/// a misplaced copy shows.
fn pattern(fill: u8, at: u64, len: usize) -> Vec<u8> {
    // Periodic in 256 bytes: one period, then copies (cheap in unoptimized builds).
    let period: Vec<u8> = (0..256u64.min(len as u64))
        .map(|i| fill ^ (at.wrapping_add(i) as u8).wrapping_mul(31))
        .collect();
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        let part = (len - bytes.len()).min(period.len());
        bytes.extend_from_slice(&period[..part]);
    }
    bytes
}

impl World {
    /// A fresh kernel with one booted process, which holds the root resource and a dummy
    /// IOMMU, a BTI, a port and a pager of its own from the start.
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
        let resource = kernel
            .create_root_resource(&process)
            .map_err(|s| format!("root resource: {s}"))?;
        let root_base = process.address_space().range().0;
        let mut model = Model::new();
        model.set_frame_limit(Some(FRAME_CAPACITY as u64));
        let mut world = World {
            frames,
            kernel,
            process,
            self_handle,
            root_vmar,
            root_base,
            frame_limit: FRAME_CAPACITY,
            model,
            handles: Vec::new(),
            dead: Vec::new(),
            refs: BTreeMap::new(),
            meta: BTreeMap::new(),
            phys: BTreeMap::new(),
            next_phys: 0,
            contigs: BTreeMap::new(),
            others: Vec::new(),
            resource,
            btis: Vec::new(),
            pmts: BTreeMap::new(),
            next_pmt: 0,
            pins: BTreeMap::new(),
            ports: Vec::new(),
            pagers: Vec::new(),
            pager_fams: Vec::new(),
            mappings: Vec::new(),
            jinue: BTreeMap::new(),
            step: 0,
            trace: std::env::var_os("VM_FUZZ_TRACE").is_some(),
            stats: Stats::default(),
        };
        world.hold_other(resource, Obj::Resource, Rights::DEFAULT_RESOURCE)?;
        world.boot_objects()?;
        world.stats = Stats::default();
        Ok(world)
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
        if self.trace {
            eprintln!("step {}: {call:?}", self.step);
        }
        self.call(call).and_then(|()| self.check_state())
    }

    /// Writes `byte` at offset 0 of the first held VMO in the model only, so that the kernel
    /// and the model disagree: the replay tests use it to prove the checks notice.
    #[doc(hidden)]
    pub fn tamper_with_model(&mut self, byte: u8) -> bool {
        let Some(held) = self.handles.first().copied() else {
            return false;
        };
        if families::is_phys(held.vmo) {
            return false;
        }
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
        let count = self.refs.entry(vmo).or_default();
        *count += 1;
        if *count == 1 {
            if let Fam::Pager(f) = self.meta[&vmo].fam {
                self.pager_fams[f].live += 1;
            }
        }
    }

    /// Drops one reference; the VMO closes with its last (a contiguous VMO's anchor goes once
    /// it is all that is left).
    fn drop_ref(&mut self, vmo: VmoId) {
        let count = self.refs.get_mut(&vmo).expect("a held VMO");
        *count -= 1;
        if *count == 1 {
            if let Some(anchor) = self.contigs.get_mut(&vmo).and_then(|c| c.anchor.take()) {
                // Only the harness's own reference is left: let the kernel close the VMO.
                drop(anchor);
                *self.refs.get_mut(&vmo).expect("a held VMO") = 0;
            }
        }
        if self.refs[&vmo] > 0 {
            return;
        }
        self.refs.remove(&vmo);
        if families::is_phys(vmo) {
            self.phys_close(vmo);
        } else {
            self.model.close(vmo);
        }
        if let Fam::Pager(f) = self.meta[&vmo].fam {
            self.pager_member_gone(f);
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

    /// The VMO object a handle of the harness names, straight from the handle table.
    fn vmo_object(&self, value: HandleValue) -> Result<HostVmo, String> {
        match self.sys().lookup(value) {
            Ok((Object::Vmo(vmo), _)) => Ok(vmo),
            Ok(_) => Err("a held VMO handle names another object".into()),
            Err(s) => Err(format!("a held handle is gone: {s}")),
        }
    }

    /// Forgets a handle the kernel no longer has (closed, or consumed by `zx_pmt_unpin`).
    fn forget_handle(&mut self, value: HandleValue) {
        if let Some(at) = self.handles.iter().position(|h| h.value == value) {
            let held = self.handles.remove(at);
            self.dead.push(value);
            self.drop_ref(held.vmo);
        } else if let Some(at) = self.others.iter().position(|h| h.value == value) {
            let held = self.others.remove(at);
            self.dead.push(value);
            self.other_closed(held.obj);
        }
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
                self.frame_limit = limit;
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
            Call::IommuCreate { resource, desc } => self.iommu_create(resource, desc),
            Call::BtiCreate {
                iommu,
                options,
                bti_id,
            } => self.bti_create(iommu, options >= 224, bti_id),
            Call::BtiPin {
                bti,
                vmo,
                perms,
                layout,
                offset,
                size,
                addrs,
            } => self.bti_pin(
                bti,
                vmo,
                u32::from(perms % 8),
                layout,
                Some((amount(offset), amount(size))),
                addrs,
            ),
            Call::BtiPinWhole { bti, vmo } => self.bti_pin(
                bti,
                vmo,
                ZX_BTI_PERM_READ | ZX_BTI_PERM_WRITE,
                crate::calls::PinLayout::Pages,
                None,
                crate::calls::AddrCount::Exact,
            ),
            Call::PmtUnpin { pmt } => self.pmt_unpin(pmt),
            Call::BtiReleaseQuarantine { bti } => self.release_quarantine(bti),
            Call::VmoCreateContiguous { bti, size, align } => {
                // Every page is committed at once: at most eight pages usually, so that the
                // frames last for the rest of the run.
                let size = match size.choice() {
                    AmountChoice::Pages(n) => u64::from(n % 9) * PAGE,
                    _ => amount(size),
                };
                self.create_contiguous(bti, size, align)
            }
            Call::VmoCreatePhysical { resource, range } => self.create_physical(resource, range),
            Call::PortCreate { options } => self.port_create(options),
            Call::PortQueue { port, key, status } => self.port_queue(port, key, status),
            Call::PortWait { port, short_buffer } => self.port_wait(port, short_buffer),
            Call::PagerCreate { options } => self.pager_create(options >= 224),
            Call::PagerCreateVmo {
                pager,
                port,
                size,
                options,
                key,
            } => self.pager_create_vmo(
                pager,
                port,
                amount(size),
                options & 1 != 0,
                options >= 224,
                key,
            ),
            Call::PagerSupply {
                pager,
                vmo,
                offset,
                len,
                aux,
                aux_offset,
            } => self.pager_supply(
                pager,
                vmo,
                amount(offset),
                amount(len),
                aux,
                amount(aux_offset),
            ),
            Call::PagerSupplyPages {
                pager,
                vmo,
                first,
                pages,
                mask,
                fill,
            } => {
                // Pages of the VMO the handle names, cut at its end.
                let (_, held, _) = self.resolve_pager_vmo(vmo);
                let size = held.map_or(0, |held| self.size_of(held.vmo)) / PAGE;
                let first = u64::from(first) % size.max(1);
                let pages = (1 + u64::from(pages) % 8).min(size - first.min(size));
                self.pager_supply(
                    pager,
                    vmo,
                    first * PAGE,
                    pages * PAGE,
                    crate::calls::AuxArg::Fresh { mask, fill },
                    0,
                )
            }
            Call::PagerDetach { pager, vmo } => self.pager_detach(pager, vmo),
            Call::CloseObject { which, index } => {
                self.close_object(crate::calls::ObjectKind::closed(which), index)
            }
            Call::PinnedOp {
                pmt,
                op,
                offset,
                len,
            } => self.pinned_op(pmt, op, offset, len),
            Call::DuplicateObject {
                kind,
                handle,
                rights,
                same,
            } => self.duplicate_object(kind, handle, rights, same),
        }
    }

    /// Compares a status result and counts it.
    fn outcome<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        expected: Result<(), Status>,
        actual: &Result<T, Status>,
    ) -> Result<(), String> {
        if self.trace {
            eprintln!("  {what}: expected {expected:?}, the kernel says {actual:?}");
        }
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
            self.meta.insert(id, Meta::root(id, Fam::Anon));
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
        let modelled = self.child_of(parent.vmo, engine_kind, offset, size, resizable);
        if modelled == Err(VmError::BadState) && actual == Err(ZX_ERR_BAD_STATE) {
            self.stats.pinned_refusals += 1;
        }
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
        let modelled = self.child_of(parent.vmo, ChildKind::OneWay, offset, size, resizable);
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

    /// What waiting for the pager means for a call on `held`'s VMO needing `[offset, offset +
    /// len)`, a range within the VMO: `None` if the call must not be issued (it would wait).
    fn pager_outcome(
        &mut self,
        what: &str,
        held: HeldHandle,
        offset: u64,
        len: u64,
    ) -> Result<Option<Gate>, String> {
        match self.gate(what, held.value, held.vmo, offset, len)? {
            Gate::Blocks => {
                self.stats.blocked += 1;
                Ok(None)
            }
            gate => Ok(Some(gate)),
        }
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
        let expected = match Self::expect_vmo(held, wrong_type, Rights::WRITE) {
            Err(status) => Err(status),
            Ok(held) if self.fam(held.vmo) == Fam::Phys => Err(ZX_ERR_NOT_SUPPORTED),
            Ok(held) if !within(offset, len as u64, self.size_of(held.vmo)) => {
                Err(ZX_ERR_OUT_OF_RANGE)
            }
            Ok(held) => match self.pager_outcome("zx_vmo_write", held, offset, len as u64)? {
                None => return Ok(()),
                Some(Gate::BadState) => Err(ZX_ERR_BAD_STATE),
                Some(_) => self
                    .content_write(held.vmo, offset, &data)
                    .map_err(status_of),
            },
        };
        let actual = self.sys().vmo_write(value, UserBytes::new(&data), offset);
        self.count_pager_refusal(expected, &actual);
        self.outcome("zx_vmo_write", expected, &actual)
    }

    fn vmo_read(&mut self, vmo: HandleArg, offset: u64, len: usize) -> Result<(), String> {
        let (value, held, wrong_type) = self.resolve(vmo);
        let expected = match Self::expect_vmo(held, wrong_type, Rights::READ) {
            Err(status) => Err(status),
            Ok(held) if self.fam(held.vmo) == Fam::Phys => Err(ZX_ERR_NOT_SUPPORTED),
            Ok(held) if !within(offset, len as u64, self.size_of(held.vmo)) => {
                Err(ZX_ERR_OUT_OF_RANGE)
            }
            Ok(held) => match self.pager_outcome("zx_vmo_read", held, offset, len as u64)? {
                None => return Ok(()),
                Some(Gate::BadState) => Err(ZX_ERR_BAD_STATE),
                Some(_) => self.content_read(held.vmo, offset, len).map_err(status_of),
            },
        };
        let mut out = vec![0xA5; len];
        let actual = self
            .sys()
            .vmo_read(value, UserBuffer::new(&mut out), offset);
        match (&expected, &actual) {
            (Ok(bytes), Ok(())) => {
                let differ = bytes[..] != out[..];
                if let Some(at) = differ
                    .then(|| bytes.iter().zip(&out).position(|(a, b)| a != b))
                    .flatten()
                {
                    return Err(format!(
                        "zx_vmo_read at {offset:#x}: byte {at} is {:#04x}, the model has {:#04x}",
                        out[at], bytes[at]
                    ));
                }
                self.stats.succeeded += 1;
                Ok(())
            }
            _ => {
                let expected = expected.map(|_| ());
                self.count_pager_refusal(expected, &actual);
                self.outcome("zx_vmo_read", expected, &actual)
            }
        }
    }

    /// Counts a refusal because a pager will not supply a page.
    fn count_pager_refusal<T>(&mut self, expected: Result<(), Status>, actual: &Result<T, Status>) {
        if expected == Err(ZX_ERR_BAD_STATE) && matches!(actual, Err(ZX_ERR_BAD_STATE)) {
            self.stats.pager_refusals += 1;
        }
    }

    fn set_size(&mut self, vmo: HandleArg, size: u64) -> Result<(), String> {
        let (value, held, wrong_type) = self.resolve(vmo);
        let expected = match Self::expect_vmo(held, wrong_type, Rights::WRITE) {
            Err(status) => Err(status),
            Ok(held) if self.fam(held.vmo) == Fam::Phys => Err(ZX_ERR_UNAVAILABLE),
            Ok(held) => {
                let resizable = self.model.infos()[&held.vmo].resizable;
                if resizable && !held.rights.contains(Rights::RESIZE) {
                    Err(ZX_ERR_ACCESS_DENIED)
                } else {
                    let result = self.resize(held.vmo, size);
                    if result == Err(VmError::BadState) {
                        self.stats.pinned_refusals += 1;
                    }
                    result.map_err(status_of)
                }
            }
        };
        let actual = self.sys().vmo_set_size(value, size);
        self.outcome("zx_vmo_set_size", expected, &actual)
    }

    fn op_range(
        &mut self,
        vmo: HandleArg,
        op: RangeOp,
        offset: u64,
        mut size: u64,
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
        let what = "zx_vmo_op_range";
        let expected = match Self::expect_vmo(held, wrong_type, Rights::empty()) {
            Err(status) => Err(status),
            Ok(_) if matches!(op, RangeOp::Unknown) => Err(ZX_ERR_INVALID_ARGS),
            Ok(held) if !held.rights.contains(right) => Err(ZX_ERR_ACCESS_DENIED),
            Ok(held) => {
                let fam = self.fam(held.vmo);
                let in_range = within(offset, size, self.size_of(held.vmo));
                match op {
                    RangeOp::Commit | RangeOp::Decommit | RangeOp::Zero if fam == Fam::Phys => {
                        Err(ZX_ERR_NOT_SUPPORTED)
                    }
                    // Contiguous frames stay for the VMO's life; a pager's pages are only
                    // decommitted by Zircon for VMOs of zx_vmo_create: before the range.
                    RangeOp::Decommit if fam != Fam::Anon => Err(ZX_ERR_NOT_SUPPORTED),
                    RangeOp::Decommit => {
                        let result = self.decommit(held.vmo, offset, size);
                        if result == Err(VmError::BadState) {
                            self.stats.pinned_refusals += 1;
                        }
                        result.map_err(status_of)
                    }
                    RangeOp::Commit | RangeOp::Zero if !in_range => Err(ZX_ERR_OUT_OF_RANGE),
                    RangeOp::Commit | RangeOp::Zero => {
                        // A one-way clone's ZERO visits every page in the model (and in the
                        // engine while its parent is open): long ranges are cut short, as the
                        // engine's property tests cut them.
                        if matches!(op, RangeOp::Zero)
                            && self.model.zero_marks_every_page(held.vmo)
                            && size > MAX_MARKED_ZERO
                        {
                            size = MAX_MARKED_ZERO;
                        }
                        match self.pager_outcome(what, held, offset, size)? {
                            None => return Ok(()),
                            Some(Gate::BadState) => Err(ZX_ERR_BAD_STATE),
                            Some(_) if matches!(op, RangeOp::Commit) => {
                                self.commit(held.vmo, offset, size).map_err(status_of)
                            }
                            Some(_) => self.zero(held.vmo, offset, size).map_err(status_of),
                        }
                    }
                    RangeOp::Lookup(_) => {
                        // Size, range and room come before any wait for the pager.
                        let pages = touched(offset, size);
                        if size == 0 {
                            Err(ZX_ERR_INVALID_ARGS)
                        } else if !in_range {
                            Err(ZX_ERR_OUT_OF_RANGE)
                        } else if (entries as u64) < pages.end - pages.start {
                            Err(ZX_ERR_BUFFER_TOO_SMALL)
                        } else if fam == Fam::Phys {
                            Ok(())
                        } else {
                            match self.pager_outcome(what, held, offset, size)? {
                                None => return Ok(()),
                                Some(Gate::BadState) => Err(ZX_ERR_BAD_STATE),
                                Some(_) => self
                                    .model
                                    .lookup(held.vmo, offset, size, entries)
                                    .map(|_| ())
                                    .map_err(status_of),
                            }
                        }
                    }
                    RangeOp::Unknown => unreachable!("refused above"),
                }
            }
        };
        let mut buffer = vec![0u8; entries * 8];
        let actual =
            self.sys()
                .vmo_op_range(value, number, offset, size, UserBuffer::new(&mut buffer));
        self.count_pager_refusal(expected, &actual);
        self.outcome(what, expected, &actual)?;
        if let (Some(held), RangeOp::Lookup(_), Ok(())) = (held, op, actual) {
            let addresses: Vec<u64> = buffer
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")))
                .collect();
            let pages = touched(offset, size);
            let count = (pages.end - pages.start) as usize;
            self.check_addresses(
                "ZX_VMO_OP_LOOKUP",
                held.vmo,
                pages.start,
                &addresses[..count],
            )?;
        }
        Ok(())
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
            self.forget_handle(held.value);
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

    /// The pages a memory call of `len` bytes at `addr` inside `mapping` visits, in order, as
    /// (address, bytes, offset in the VMO), up to the mapping's end.
    fn memory_pages(mapping: HeldMapping, addr: u64, len: usize) -> Vec<(u64, usize, u64)> {
        let end = (addr + len as u64).min(mapping.addr + mapping.len);
        let mut pages = Vec::new();
        let mut at = addr;
        while at < end {
            let page_end = (at / PAGE + 1) * PAGE;
            let part = (page_end.min(end) - at) as usize;
            pages.push((at, part, mapping.vmo_offset + (at - mapping.addr)));
            at += part as u64;
        }
        pages
    }

    /// Whether a memory call of `len` bytes at `addr` inside `mapping` would wait for a pager:
    /// it goes page by page and stops at the VMO's end or at a page its pager will not supply.
    fn memory_blocks(&self, mapping: HeldMapping, addr: u64, len: usize) -> Result<bool, String> {
        let size = self.size_of(mapping.vmo);
        for (at, _, vmo_at) in Self::memory_pages(mapping, addr, len) {
            if vmo_at >= size {
                return Ok(false);
            }
            let page = vmo_at / PAGE;
            let predicted = self.pager_gate(mapping.vmo, page..page + 1);
            let kernel = self.kernel_mapping_gate(at);
            if predicted != kernel {
                return Err(format!(
                    "the page at {at:#x} (offset {vmo_at:#x} of {:?}): the harness predicts \
                     {predicted:?} from its pager, the kernel's state says {kernel:?}",
                    mapping.vmo
                ));
            }
            match predicted {
                Gate::Blocks => return Ok(true),
                Gate::BadState => return Ok(false),
                Gate::Clear => {}
            }
        }
        Ok(false)
    }

    /// What a memory call of `len` bytes at `addr` inside `mapping` moves: page by page until
    /// the VMO's end or a page that fails, as a faulting thread would. `write` carries the
    /// bytes to write (the model is changed as the call goes). The caller checked that it does
    /// not wait for a pager.
    fn model_memory_access(
        &mut self,
        mapping: HeldMapping,
        addr: u64,
        len: usize,
        write: Option<&[u8]>,
    ) -> Result<Vec<u8>, Status> {
        let mut done = Vec::new();
        let size = self.size_of(mapping.vmo);
        for (at, part, vmo_at) in Self::memory_pages(mapping, addr, len) {
            let page = vmo_at / PAGE;
            let result = if vmo_at >= size {
                Err(ZX_ERR_OUT_OF_RANGE)
            } else if self.pager_gate(mapping.vmo, page..page + 1) != Gate::Clear {
                Err(ZX_ERR_BAD_STATE)
            } else {
                match write {
                    Some(data) => {
                        let from = (at - addr) as usize;
                        let bytes = &data[from..from + part];
                        self.content_write(mapping.vmo, vmo_at, bytes)
                            .map(|()| bytes.to_vec())
                            .map_err(status_of)
                    }
                    None => self
                        .content_read(mapping.vmo, vmo_at, part)
                        .map_err(status_of),
                }
            };
            match result {
                Ok(bytes) => done.extend_from_slice(&bytes),
                Err(status) if done.is_empty() => return Err(status),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// Counts a mapped access, and one through a physical VMO.
    fn count_access(&mut self, mapping: Option<HeldMapping>) {
        self.stats.mapped_accesses += 1;
        if mapping.is_some_and(|m| families::is_phys(m.vmo)) {
            self.stats.physical_accesses += 1;
        }
    }

    fn write_memory(&mut self, index: u8, offset: u16, len: usize, fill: u8) -> Result<(), String> {
        let (addr, mapping) = self.memory_target(index, offset);
        let data = pattern(fill, addr, len);
        let expected = match mapping {
            _ if len == 0 => Err(ZX_ERR_INVALID_ARGS),
            None => Err(ZX_ERR_NO_MEMORY),
            Some(mapping) if !mapping.writable => Err(ZX_ERR_ACCESS_DENIED),
            Some(mapping) => {
                if self.memory_blocks(mapping, addr, len)? {
                    self.stats.blocked += 1;
                    return Ok(());
                }
                self.model_memory_access(mapping, addr, len, Some(&data))
                    .map(|done| done.len())
            }
        };
        let actual = self
            .sys()
            .process_write_memory(self.self_handle, addr, UserBytes::new(&data));
        self.count_access(mapping);
        match (expected, actual) {
            (Ok(expected), Ok(done)) => {
                check("bytes zx_process_write_memory wrote", expected, done)?;
                self.stats.succeeded += 1;
                Ok(())
            }
            (expected, actual) => {
                let expected = expected.map(|_| ());
                self.count_pager_refusal(expected, &actual);
                self.outcome("zx_process_write_memory", expected, &actual)
            }
        }
    }

    fn read_memory(&mut self, index: u8, offset: u16, len: usize) -> Result<(), String> {
        let (addr, mapping) = self.memory_target(index, offset);
        let expected = match mapping {
            _ if len == 0 => Err(ZX_ERR_INVALID_ARGS),
            None => Err(ZX_ERR_NO_MEMORY),
            Some(mapping) => {
                if self.memory_blocks(mapping, addr, len)? {
                    self.stats.blocked += 1;
                    return Ok(());
                }
                self.model_memory_access(mapping, addr, len, None)
            }
        };
        let mut out = vec![0x5A; len];
        let actual =
            self.sys()
                .process_read_memory(self.self_handle, addr, UserBuffer::new(&mut out));
        self.count_access(mapping);
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
                let expected = expected.map(|_| ());
                self.count_pager_refusal(expected, &actual);
                self.outcome("zx_process_read_memory", expected, &actual)
            }
        }
    }

    // -- Jinue -----------------------------------------------------------------------------

    /// Compares a Jinue call's outcome with the expected one and counts it; `Ok(true)` when it
    /// succeeded.
    fn jinue_outcome(
        &mut self,
        what: &str,
        expected: Result<(), Errno>,
        actual: Result<usize, Errno>,
    ) -> Result<bool, String> {
        check(what, expected, actual.map(|_| ()))?;
        if actual.is_ok() {
            self.stats.succeeded += 1;
        } else {
            self.stats.refused += 1;
        }
        Ok(actual.is_ok())
    }

    fn jinue_create(&mut self, fd: usize) -> Result<(), String> {
        let actual = self.kernel.jinue(&self.process).create_process(fd);
        // Slot 0 holds this process's own descriptor.
        let expected = if fd >= JINUE_SLOTS || fd == 0 || self.jinue.contains_key(&fd) {
            Err(Errno::BadDescriptor)
        } else {
            Ok(())
        };
        if self.jinue_outcome("Jinue CREATE_PROCESS", expected, actual)? {
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
        if !self.jinue_outcome("Jinue MCLONE", expected, actual)? {
            return Ok(());
        }
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
        if !self.jinue_outcome("Jinue DESTROY", expected, actual)? {
            return Ok(());
        }
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
        // Each family's invariants once (they cover the whole family).
        let mut families = BTreeSet::new();
        for held in &self.handles {
            if seen.insert(held.vmo, held.value).is_some() {
                continue;
            }
            let object = self.vmo_object(held.value)?;
            let engine = object.vmo();
            let info = engine.info();
            let expected = if families::is_phys(held.vmo) {
                self.phys_info(held.vmo)
            } else {
                let expected = infos[&held.vmo];
                (
                    expected.size,
                    expected.committed_bytes,
                    expected.populated_bytes,
                    expected.resizable,
                    expected.num_children,
                )
            };
            let actual = (
                info.size,
                info.committed_bytes,
                info.populated_bytes,
                info.resizable,
                info.num_children,
            );
            check_that(|| format!("info of {:?}", held.vmo), expected, actual)?;
            self.check_kind(held.vmo, &object)?;
            self.check_aliased_bytes(held.vmo, &object)?;
            if families.insert(engine.family_id()) {
                engine.check_family_invariants()?;
            }
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
        self.check_cloned_bytes()?;
        self.check_pins()?;
        self.check_ports()
    }

    /// What every MCLONE'd piece shows, read through the Jinue process's address space, is what
    /// the model says the VMO holds: the sharing MCLONE promises. A page its pager has not
    /// supplied reads nothing (the engine never waits).
    fn check_cloned_bytes(&self) -> Result<(), String> {
        for child in self.jinue.values() {
            for piece in &child.pieces {
                let size = self.size_of(piece.vmo);
                for page in 0..piece.len / PAGE {
                    let vmo_at = piece.vmo_offset + page * PAGE;
                    let mut byte = [0u8; 1];
                    let (done, stopped) = child
                        .process
                        .address_space()
                        .read(piece.addr + page * PAGE + 7, &mut byte);
                    let at = vmo_at / PAGE;
                    if vmo_at >= size || self.pager_gate(piece.vmo, at..at + 1) != Gate::Clear {
                        if done != 0 {
                            return Err(format!(
                                "MCLONE'd page {page} of {:?} past its end or not supplied \
                                 was readable",
                                piece.vmo
                            ));
                        }
                        continue;
                    }
                    let expected = self
                        .content_read(piece.vmo, vmo_at + 7, 1)
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

    /// Closes every handle, unmaps everything, unpins and releases every pin and destroys the
    /// Jinue processes; then no frame may be in use.
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
        self.release_every_pin()?;
        while let Some(held) = self.handles.first().copied() {
            self.sys()
                .handle_close(held.value)
                .map_err(|s| format!("closing a held handle: {s}"))?;
            self.forget_handle(held.value);
            self.check_state()?;
        }
        while let Some(held) = self.others.first().copied() {
            self.sys()
                .handle_close(held.value)
                .map_err(|s| format!("closing a held handle: {s}"))?;
            self.forget_handle(held.value);
            // Closing a port drops its packets; the others change nothing the checks see.
            if matches!(held.obj, Obj::Port(_)) {
                self.check_state()?;
            }
        }
        self.check_state()?;
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
            btis,
            ..
        } = self;
        drop(btis);
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

/// Queued packets as the harness expects them, oldest first.
type Queue = VecDeque<PortPacket>;

/// Pages of a one-way clone (pager families) it holds itself.
type Owned = BTreeSet<u64>;
