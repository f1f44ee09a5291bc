//! Device memory: the root resource, IOMMUs, BTIs, pins and their tokens (PMTs), contiguous
//! and physical VMOs, and the handles of non-VMO objects in general.
//!
//! A pin is modelled as the commit it makes (the kernel commits the range as a write fault
//! would, which the model's COMMIT matches frame for frame) plus one count per page of the VMO
//! holding the pages; the PMT holds its VMO (a reference, like a handle) until it is unpinned,
//! or, once its handle is closed without unpinning, until its BTI's quarantine is released. A
//! pin that fails after pinning (a BTI with quarantined pins, no permission, the wrong number
//! of addresses) leaves the pages committed, as the kernel documents. Physical VMOs' pins are
//! not counted (their memory is always present).
//!
//! The harness holds every BTI's kernel object itself, so that a BTI never goes away with pins
//! in quarantine (the kernel would leak them on purpose, as Zircon does, and the end-of-run
//! leak check must stay exact); at the end every pin is unpinned and every quarantine released.

use zircon::kernel::object::ObjectType;

use crate::calls::{
    AddrCount, IommuDesc, ObjArg, ObjChoice, ObjectKind, PhysRange, PinLayout, PinnedOp,
};

use super::families::Contig;
use super::*;

/// Handles to non-VMO objects other than PMTs the harness keeps at most.
const MAX_OTHERS: usize = 16;
/// PMTs (live or quarantined) the harness keeps at most.
const MAX_PMTS: usize = 32;
/// BTIs the harness keeps at most.
const MAX_BTIS: usize = 4;

/// A pin made through a BTI.
pub(super) struct PmtRec {
    /// The token's handle (closed once quarantined).
    value: HandleValue,
    bti: usize,
    vmo: VmoId,
    /// The VMO object the pin holds, for the checks (the harness drops it when the kernel's
    /// token lets go).
    object: HostVmo,
    offset: u64,
    size: u64,
    /// The VMO holding the pages, the first of them there and how many.
    target: VmoId,
    first: u64,
    pages: u64,
    /// Whether the pin counts (not on a physical VMO).
    counted: bool,
    /// The addresses the pin reported: one per page, or the first only (ZX_BTI_CONTIGUOUS).
    addrs: Vec<u64>,
    quarantined: bool,
}

fn kind_of(obj: Obj) -> ObjectKind {
    match obj {
        Obj::Resource => ObjectKind::Resource,
        Obj::Iommu => ObjectKind::Iommu,
        Obj::Bti(_) => ObjectKind::Bti,
        Obj::Pmt(_) => ObjectKind::Pmt,
        Obj::Port(_) => ObjectKind::Port,
        Obj::Pager(_) => ObjectKind::Pager,
    }
}

fn object_type(obj: Obj) -> ObjectType {
    match obj {
        Obj::Resource => ObjectType::Resource,
        Obj::Iommu => ObjectType::Iommu,
        Obj::Bti(_) => ObjectType::Bti,
        Obj::Pmt(_) => ObjectType::Pmt,
        Obj::Port(_) => ObjectType::Port,
        Obj::Pager(_) => ObjectType::Pager,
    }
}

impl World {
    /// The objects every run starts with: a dummy IOMMU, a BTI, a port and a pager.
    pub(super) fn boot_objects(&mut self) -> Result<(), String> {
        self.iommu_create(ObjArg::live(0), IommuDesc::Dummy)?;
        self.bti_create(ObjArg::live(0), false, 0)?;
        self.port_create(0)?;
        self.pager_create(false)?;
        check("objects the run starts with", 5, self.others.len())
    }

    /// Records a new handle of a non-VMO object, checking its type and rights.
    pub(super) fn hold_other(
        &mut self,
        value: HandleValue,
        obj: Obj,
        rights: Rights,
    ) -> Result<(), String> {
        let record = self
            .sys()
            .info_record(value, ZX_INFO_HANDLE_BASIC)
            .map_err(|s| format!("ZX_INFO_HANDLE_BASIC of a new handle: {s}"))?;
        check(
            "type of the new handle",
            object_type(obj) as u32,
            record.u32_at(12),
        )?;
        check(
            "rights of the new handle",
            rights,
            Rights::from_bits_retain(record.u32_at(8)),
        )?;
        if let Obj::Port(port) = obj {
            self.ports[port].handles += 1;
        }
        self.others.push(OtherHandle { value, obj, rights });
        Ok(())
    }

    pub(super) fn room_for_other(&self) -> bool {
        let others = self
            .others
            .iter()
            .filter(|h| !matches!(h.obj, Obj::Pmt(_)))
            .count();
        others < MAX_OTHERS
    }

    /// A non-VMO handle is gone (closed, or consumed by `zx_pmt_unpin` as another type).
    pub(super) fn other_closed(&mut self, obj: Obj) {
        match obj {
            Obj::Pmt(id) => {
                // Closed without unpinning: the pin waits in its BTI's quarantine.
                self.pmts.get_mut(&id).expect("a live PMT").quarantined = true;
                self.stats.quarantined += 1;
            }
            Obj::Port(port) => self.port_handle_gone(port),
            Obj::Pager(pager) => self.pagers[pager].open = false,
            Obj::Resource | Obj::Iommu | Obj::Bti(_) => {}
        }
    }

    /// The handle an [`ObjArg`] names for a call wanting a `want`.
    pub(super) fn resolve_obj(&self, arg: ObjArg, want: ObjectKind) -> (HandleValue, Named) {
        let garbage = |bits: u8| (self.root_vmar ^ (u32::from(bits) << 2)) ^ 1;
        let pick = |list: Vec<OtherHandle>, i: u8| {
            (!list.is_empty()).then(|| list[usize::from(i) % list.len()])
        };
        match arg.choice() {
            ObjChoice::Live(i) => {
                let live = self
                    .others
                    .iter()
                    .copied()
                    .filter(|h| kind_of(h.obj) == want)
                    .collect();
                match pick(live, i) {
                    Some(held) => (held.value, Named::Other(held)),
                    None => (garbage(i), Named::Nothing),
                }
            }
            ObjChoice::Vmo(i) if !self.handles.is_empty() => {
                let held = self.handles[usize::from(i) % self.handles.len()];
                (held.value, Named::Vmo)
            }
            ObjChoice::OtherType(i) => {
                let others = self
                    .others
                    .iter()
                    .copied()
                    .filter(|h| kind_of(h.obj) != want)
                    .collect();
                match pick(others, i) {
                    Some(held) => (held.value, Named::Other(held)),
                    None => (self.root_vmar, Named::Vmar),
                }
            }
            ObjChoice::Vmo(_) => (self.root_vmar, Named::Vmar),
            ObjChoice::Dead(i) if !self.dead.is_empty() => {
                (self.dead[usize::from(i) % self.dead.len()], Named::Nothing)
            }
            ObjChoice::Dead(i) | ObjChoice::Garbage(i) => (garbage(i), Named::Nothing),
        }
    }

    /// The expected outcome of looking up a handle of a `want` needing `needed`.
    pub(super) fn expect_other(
        named: Named,
        want: ObjectKind,
        needed: Rights,
    ) -> Result<OtherHandle, Status> {
        match named {
            Named::Nothing => Err(ZX_ERR_BAD_HANDLE),
            Named::Vmo | Named::Vmar => Err(ZX_ERR_WRONG_TYPE),
            Named::Other(held) if kind_of(held.obj) != want => Err(ZX_ERR_WRONG_TYPE),
            Named::Other(held) if !held.rights.contains(needed) => Err(ZX_ERR_ACCESS_DENIED),
            Named::Other(held) => Ok(held),
        }
    }

    // -- IOMMU and BTI ---------------------------------------------------------------------

    pub(super) fn iommu_create(&mut self, resource: ObjArg, desc: IommuDesc) -> Result<(), String> {
        if !self.room_for_other() {
            return Ok(());
        }
        let (value, named) = self.resolve_obj(resource, ObjectKind::Resource);
        let (kind, len, readable) = match desc {
            IommuDesc::Dummy => (ZX_IOMMU_TYPE_DUMMY, IOMMU_DESC_DUMMY_SIZE, true),
            IommuDesc::Intel => (ZX_IOMMU_TYPE_INTEL, IOMMU_DESC_DUMMY_SIZE, true),
            IommuDesc::Empty => (ZX_IOMMU_TYPE_DUMMY, 0, true),
            IommuDesc::Long => (ZX_IOMMU_TYPE_DUMMY, 8, true),
            IommuDesc::TooLong => (ZX_IOMMU_TYPE_INTEL, ZX_IOMMU_MAX_DESC_LEN + 1, true),
            IommuDesc::BadPointer => (ZX_IOMMU_TYPE_INTEL, IOMMU_DESC_DUMMY_SIZE, false),
        };
        // The resource (no right needed), the descriptor's length and memory, the type, and
        // the descriptor's size for the type.
        let expected = (|| {
            Self::expect_other(named, ObjectKind::Resource, Rights::empty())?;
            if len > ZX_IOMMU_MAX_DESC_LEN || !readable {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            if kind != ZX_IOMMU_TYPE_DUMMY {
                return Err(ZX_ERR_NOT_SUPPORTED);
            }
            if len != IOMMU_DESC_DUMMY_SIZE {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            Ok(())
        })();
        let bytes = vec![0u8; len];
        let desc = if readable {
            UserBytes::new(&bytes)
        } else {
            UserBytes::invalid(len)
        };
        let actual = self.sys().iommu_create(value, kind, desc);
        self.outcome("zx_iommu_create", expected, &actual)?;
        if let Ok(iommu) = actual {
            self.hold_other(iommu, Obj::Iommu, Rights::DEFAULT_IOMMU)?;
        }
        Ok(())
    }

    pub(super) fn bti_create(
        &mut self,
        iommu: ObjArg,
        bad_options: bool,
        bti_id: u64,
    ) -> Result<(), String> {
        if !self.room_for_other() || self.btis.len() >= MAX_BTIS {
            return Ok(());
        }
        let (value, named) = self.resolve_obj(iommu, ObjectKind::Iommu);
        // Options first, then the IOMMU (no right needed).
        let expected = if bad_options {
            Err(ZX_ERR_INVALID_ARGS)
        } else {
            Self::expect_other(named, ObjectKind::Iommu, Rights::empty()).map(|_| ())
        };
        let actual = self.sys().bti_create(value, u32::from(bad_options), bti_id);
        self.outcome("zx_bti_create", expected, &actual)?;
        if let Ok(handle) = actual {
            let Ok((Object::Bti(bti), _)) = self.sys().lookup(handle) else {
                return Err("zx_bti_create's handle names no BTI".into());
            };
            self.btis.push(bti);
            self.hold_other(handle, Obj::Bti(self.btis.len() - 1), Rights::DEFAULT_BTI)?;
        }
        Ok(())
    }

    // -- Pins ------------------------------------------------------------------------------

    /// `zx_bti_pin` of `range` (offset and size; the whole VMO if `None`), in the kernel's
    /// documented order (see `bti_calls.rs`).
    pub(super) fn bti_pin(
        &mut self,
        bti: ObjArg,
        vmo: HandleArg,
        perms: u32,
        layout: PinLayout,
        range: Option<(u64, u64)>,
        addrs: AddrCount,
    ) -> Result<(), String> {
        if self.pmts.len() >= MAX_PMTS {
            return Ok(());
        }
        let (bti_value, bti_named) = self.resolve_obj(bti, ObjectKind::Bti);
        let (vmo_value, held, wrong_type) = self.resolve(vmo);
        let (offset, size) =
            range.unwrap_or_else(|| (0, held.map_or(PAGE, |held| self.size_of(held.vmo))));
        let options = perms
            | match layout {
                PinLayout::Pages => 0,
                PinLayout::Compress => ZX_BTI_COMPRESS,
                PinLayout::Contiguous => ZX_BTI_CONTIGUOUS,
                PinLayout::Both => ZX_BTI_COMPRESS | ZX_BTI_CONTIGUOUS,
                PinLayout::Unknown => 1 << 5,
            };
        // Steps 1 to 6: the handles, rights and arguments.
        let checked = (|| {
            let bti = Self::expect_other(bti_named, ObjectKind::Bti, Rights::MAP)?;
            if offset % PAGE != 0 || size % PAGE != 0 {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            let held = Self::expect_vmo(held, wrong_type, Rights::MAP)?;
            for (bit, right) in [
                (ZX_BTI_PERM_READ, Rights::READ),
                (ZX_BTI_PERM_WRITE, Rights::WRITE),
                (ZX_BTI_PERM_EXECUTE, Rights::READ),
            ] {
                if perms & bit != 0 && !held.rights.contains(right) {
                    return Err(ZX_ERR_ACCESS_DENIED);
                }
            }
            let contiguous_vmo = matches!(self.fam(held.vmo), Fam::Contig(_) | Fam::Phys);
            let contiguous = match layout {
                PinLayout::Both | PinLayout::Unknown => return Err(ZX_ERR_INVALID_ARGS),
                PinLayout::Contiguous if !contiguous_vmo => return Err(ZX_ERR_INVALID_ARGS),
                PinLayout::Contiguous => true,
                PinLayout::Pages | PinLayout::Compress => false,
            };
            if size == 0 {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            let Obj::Bti(bti) = bti.obj else {
                unreachable!("a BTI handle")
            };
            Ok((bti, held, contiguous))
        })();
        let pages = size / PAGE;
        let wanted = match checked {
            Ok((_, _, true)) => 1,
            _ => pages,
        };
        let small = wanted <= 1024;
        let num_addrs = match addrs {
            AddrCount::Exact if small => wanted,
            AddrCount::Exact | AddrCount::One => 1,
            AddrCount::Zero => 0,
            AddrCount::Fewer if small => wanted.saturating_sub(1),
            AddrCount::Fewer => 0,
            AddrCount::More if small => wanted + 1,
            AddrCount::More => 2,
        } as usize;
        let what = "zx_bti_pin";
        // Step 7, the pin (committing the range), then steps 8 to 10.
        let expected = match checked {
            Err(status) => Err(status),
            Ok((_, held, _)) if !within(offset, size, self.size_of(held.vmo)) => {
                Err(ZX_ERR_OUT_OF_RANGE)
            }
            Ok((bti, held, contiguous)) => match self.pager_outcome(what, held, offset, size)? {
                None => return Ok(()),
                Some(Gate::BadState) => Err(ZX_ERR_BAD_STATE),
                Some(_) => {
                    let (target, base) = self.target_of(held.vmo);
                    let first = base + offset / PAGE;
                    let counted = self.fam(held.vmo) != Fam::Phys;
                    let at_limit = self
                        .pins
                        .range((target, first)..(target, first + pages))
                        .any(|(_, &count)| count >= vm_engine::MAX_PIN_COUNT);
                    if counted && at_limit {
                        Err(ZX_ERR_UNAVAILABLE)
                    } else {
                        let committed = if counted {
                            self.commit(held.vmo, offset, size)
                        } else {
                            Ok(())
                        };
                        let quarantine = self.pmts.values().any(|p| p.bti == bti && p.quarantined);
                        match committed {
                            Err(error) => Err(status_of(error)),
                            Ok(()) if quarantine => Err(ZX_ERR_BAD_STATE),
                            Ok(()) if perms == 0 => Err(ZX_ERR_INVALID_ARGS),
                            Ok(()) if num_addrs as u64 != wanted => Err(ZX_ERR_INVALID_ARGS),
                            Ok(()) => Ok((bti, held, contiguous, target, first, counted)),
                        }
                    }
                }
            },
        };
        let mut buffer = vec![0u8; num_addrs * 8];
        let actual = self.sys().bti_pin(
            bti_value,
            options,
            vmo_value,
            offset,
            size,
            UserBuffer::new(&mut buffer),
            num_addrs,
        );
        let status = expected.map(|_| ());
        self.count_pager_refusal(status, &actual);
        if status == Err(ZX_ERR_BAD_STATE)
            && actual == Err(ZX_ERR_BAD_STATE)
            && checked
                .is_ok_and(|(bti, _, _)| self.pmts.values().any(|p| p.bti == bti && p.quarantined))
        {
            self.stats.quarantine_refusals += 1;
        }
        self.outcome(what, status, &actual)?;
        let (Ok((bti, held, contiguous, target, first, counted)), Ok(pmt)) = (expected, actual)
        else {
            return Ok(());
        };
        let addresses: Vec<u64> = buffer
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")))
            .collect();
        self.check_addresses(what, held.vmo, offset / PAGE, &addresses)?;
        let object = self.vmo_object(vmo_value)?;
        let id = self.next_pmt;
        self.next_pmt += 1;
        self.pmts.insert(
            id,
            PmtRec {
                value: pmt,
                bti,
                vmo: held.vmo,
                object,
                offset,
                size,
                target,
                first,
                pages,
                counted,
                addrs: if contiguous {
                    addresses[..1].to_vec()
                } else {
                    addresses
                },
                quarantined: false,
            },
        );
        if counted {
            for page in first..first + pages {
                *self.pins.entry((target, page)).or_default() += 1;
            }
        }
        self.add_ref(held.vmo);
        self.stats.pins += 1;
        self.hold_other(pmt, Obj::Pmt(id), Rights::DEFAULT_PMT)
    }

    /// The pin is over (unpinned, or released from quarantine): its pages' counts go down and
    /// it lets go of its VMO.
    fn release_pmt(&mut self, id: u64) {
        let rec = self.pmts.remove(&id).expect("a PMT");
        if rec.counted {
            for page in rec.first..rec.first + rec.pages {
                let count = self
                    .pins
                    .get_mut(&(rec.target, page))
                    .expect("a pinned page");
                *count -= 1;
                if *count == 0 {
                    self.pins.remove(&(rec.target, page));
                }
            }
        }
        drop(rec.object);
        self.drop_ref(rec.vmo);
    }

    /// The address a live or quarantined pin reported for page `page` of `target`.
    pub(super) fn pinned_address(&self, target: VmoId, page: u64) -> Option<u64> {
        self.pmts.values().find_map(|rec| {
            let index = page.checked_sub(rec.first)?;
            (rec.target == target && index < rec.pages)
                .then(|| rec.addrs.get(index as usize).copied())
                .flatten()
        })
    }

    /// `zx_pmt_unpin`, which consumes the handle whatever it names.
    pub(super) fn pmt_unpin(&mut self, pmt: ObjArg) -> Result<(), String> {
        let (value, named) = self.resolve_obj(pmt, ObjectKind::Pmt);
        match named {
            // The harness keeps its VMAR and its root resource.
            Named::Vmar => return Ok(()),
            Named::Other(held) if held.value == self.resource => return Ok(()),
            _ => {}
        }
        let expected = match named {
            Named::Nothing => Err(ZX_ERR_BAD_HANDLE),
            Named::Other(OtherHandle {
                obj: Obj::Pmt(_), ..
            }) => Ok(()),
            Named::Other(_) | Named::Vmo | Named::Vmar => Err(ZX_ERR_WRONG_TYPE),
        };
        let actual = self.sys().pmt_unpin(value);
        self.outcome("zx_pmt_unpin", expected, &actual)?;
        match named {
            Named::Other(OtherHandle {
                obj: Obj::Pmt(id), ..
            }) => {
                self.others.retain(|h| h.value != value);
                self.dead.push(value);
                self.release_pmt(id);
                self.stats.unpins += 1;
            }
            Named::Other(_) | Named::Vmo => self.forget_handle(value),
            Named::Nothing | Named::Vmar => {}
        }
        Ok(())
    }

    pub(super) fn release_quarantine(&mut self, bti: ObjArg) -> Result<(), String> {
        let (value, named) = self.resolve_obj(bti, ObjectKind::Bti);
        let expected = Self::expect_other(named, ObjectKind::Bti, Rights::WRITE);
        let actual = self.sys().bti_release_quarantine(value);
        self.outcome("zx_bti_release_quarantine", expected.map(|_| ()), &actual)?;
        if let (
            Ok(OtherHandle {
                obj: Obj::Bti(bti), ..
            }),
            Ok(()),
        ) = (expected, actual)
        {
            self.release_quarantined(bti);
        }
        Ok(())
    }

    /// Every quarantined pin of BTI `bti` is released.
    fn release_quarantined(&mut self, bti: usize) {
        let released: Vec<u64> = self
            .pmts
            .iter()
            .filter(|(_, rec)| rec.bti == bti && rec.quarantined)
            .map(|(&id, _)| id)
            .collect();
        if !released.is_empty() {
            self.stats.quarantine_releases += 1;
        }
        for id in released {
            self.release_pmt(id);
        }
    }

    /// Unpins every live pin and releases every quarantine (the end of a run).
    pub(super) fn release_every_pin(&mut self) -> Result<(), String> {
        let live: Vec<(u64, HandleValue)> = self
            .pmts
            .iter()
            .filter(|(_, rec)| !rec.quarantined)
            .map(|(&id, rec)| (id, rec.value))
            .collect();
        for (id, value) in live {
            self.sys()
                .pmt_unpin(value)
                .map_err(|s| format!("unpinning a live PMT: {s}"))?;
            self.others.retain(|h| h.value != value);
            self.dead.push(value);
            self.release_pmt(id);
            self.check_state()?;
        }
        for bti in 0..self.btis.len() {
            self.btis[bti].release_quarantine();
            if self.pmts.values().any(|rec| rec.bti == bti) {
                self.release_quarantined(bti);
                self.check_state()?;
            }
        }
        Ok(())
    }

    /// Every pin still reports the frames it pinned (pinned frames never move) and the engine
    /// counts exactly the pins the harness made; every BTI has the live and quarantined pins
    /// the harness expects.
    pub(super) fn check_pins(&self) -> Result<(), String> {
        for (id, rec) in &self.pmts {
            let mut addresses = vec![0u64; rec.pages as usize];
            rec.object
                .vmo()
                .lookup(rec.offset, rec.size, &mut addresses)
                .map_err(|e| format!("PMT {id}: the pinned range cannot be looked up: {e:?}"))?;
            check_that(
                || format!("PMT {id}: the pinned frames of {:?}", rec.vmo),
                &rec.addrs[..],
                &addresses[..rec.addrs.len()],
            )?;
            for i in 0..rec.pages {
                let expected = if rec.counted {
                    self.pins[&(rec.target, rec.first + i)]
                } else {
                    0
                };
                check_that(
                    || {
                        format!(
                            "PMT {id}: pins of page {} of {:?}",
                            rec.first + i,
                            rec.target
                        )
                    },
                    expected,
                    rec.object.vmo().pin_count(rec.offset + i * PAGE),
                )?;
            }
        }
        for (index, bti) in self.btis.iter().enumerate() {
            let of_bti = |quarantined: bool| {
                self.pmts
                    .values()
                    .filter(|rec| rec.bti == index && rec.quarantined == quarantined)
                    .count()
            };
            check_that(
                || format!("live PMTs of BTI {index}"),
                of_bti(false),
                bti.pmt_count(),
            )?;
            check_that(
                || format!("quarantined pins of BTI {index}"),
                of_bti(true),
                bti.quarantine_count(),
            )?;
        }
        Ok(())
    }

    /// An operation pinned pages may refuse, on a handle of a VMO showing pinned pages (a
    /// live or quarantined pin's), around the pinned range.
    pub(super) fn pinned_op(
        &mut self,
        pmt: u8,
        op: PinnedOp,
        offset: u8,
        len: u16,
    ) -> Result<(), String> {
        let pinned: Vec<(VmoId, u64, u64)> = self
            .pmts
            .values()
            .filter(|rec| rec.counted)
            .map(|rec| (rec.target, rec.first, rec.pages))
            .collect();
        if pinned.is_empty() {
            return Ok(());
        }
        let (target, first, pages) = pinned[usize::from(pmt) % pinned.len()];
        let Some(index) = self
            .handles
            .iter()
            .position(|h| self.target_of(h.vmo).0 == target)
        else {
            return Ok(());
        };
        let (_, base) = self.target_of(self.handles[index].vmo);
        let vmo = HandleArg::live(index as u8);
        // The pinned range in the handle's VMO, and a page near it.
        let at = first.saturating_sub(base);
        let near = (at + u64::from(offset % 5)).saturating_sub(2);
        let len = u64::from(len);
        match op {
            PinnedOp::Decommit => {
                self.op_range(vmo, RangeOp::Decommit, near * PAGE, (1 + len % 4) * PAGE)
            }
            PinnedOp::Commit => {
                self.op_range(vmo, RangeOp::Commit, near * PAGE, (1 + len % 4) * PAGE)
            }
            PinnedOp::Zero => {
                let start = (at * PAGE).saturating_sub(PAGE) + u64::from(offset) * 131 % (3 * PAGE);
                self.op_range(vmo, RangeOp::Zero, start, len % ((pages + 2) * PAGE))
            }
            PinnedOp::Shrink => self.set_size(vmo, (at + len % (pages + 2)) * PAGE),
            PinnedOp::Snapshot | PinnedOp::AtLeastOnWrite => {
                let kind = if matches!(op, PinnedOp::Snapshot) {
                    ChildType::Snapshot
                } else {
                    ChildType::SnapshotAtLeastOnWrite
                };
                self.create_child(vmo, kind, false, false, 0, PAGE)
            }
            PinnedOp::Clone => self.legacy_clone(vmo, 0, PAGE, Some((false, false))),
        }
    }

    // -- Contiguous and physical VMOs ------------------------------------------------------

    pub(super) fn create_contiguous(
        &mut self,
        bti: ObjArg,
        size: u64,
        align: u8,
    ) -> Result<(), String> {
        if !self.room_for_handle() {
            return Ok(());
        }
        let alignment_log2 = match align % 8 {
            0 => 0,
            1 => 12,
            2 => 13,
            3 => 16,
            4 => 20,
            5 => 11,
            6 => 64,
            _ => 63,
        };
        let (value, named) = self.resolve_obj(bti, ObjectKind::Bti);
        let in_use = self.model.frames_in_use();
        // Size 0, alignment, the BTI, the size, then a free run of frames.
        let expected = (|| {
            if size == 0 {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            let log2 = if alignment_log2 == 0 {
                12
            } else {
                alignment_log2
            };
            if !(12..64).contains(&log2) {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            Self::expect_other(named, ObjectKind::Bti, Rights::MAP)?;
            let count = vmo_size(size)? / PAGE;
            let available = (self.frame_limit as u64).saturating_sub(in_use);
            // The run must start at a multiple of the alignment (in frames) past the zero
            // frame and end within the frame file.
            let align = 1u64 << (log2 - 12);
            let file = FRAME_CAPACITY as u64 + 1;
            if count > available || align.saturating_add(count) > file {
                return Err(ZX_ERR_NO_MEMORY);
            }
            Ok(1u64 << log2)
        })();
        let actual = self
            .sys()
            .vmo_create_contiguous(value, size, alignment_log2);
        // Where frames are in use, a long enough aligned run may not be free even with enough
        // frames available: where the allocator put them is not the model's business.
        let status = match (expected, &actual) {
            (Ok(_), Err(ZX_ERR_NO_MEMORY)) if in_use > 0 => Err(ZX_ERR_NO_MEMORY),
            (expected, _) => expected.map(|_| ()),
        };
        self.outcome("zx_vmo_create_contiguous", status, &actual)?;
        let (Ok(align), Ok(value)) = (expected, actual) else {
            return Ok(());
        };
        let rounded = vmo_size(size).expect("checked");
        let id = self
            .model
            .create(rounded, false)
            .map_err(|e| format!("the model cannot create a contiguous VMO: {e:?}"))?;
        self.model
            .commit(id, 0, rounded)
            .map_err(|e| format!("the model cannot commit a contiguous VMO: {e:?}"))?;
        self.meta.insert(id, Meta::root(id, Fam::Contig(id)));
        let object = self.vmo_object(value)?;
        let mut addresses = vec![0u64; (rounded / PAGE) as usize];
        object
            .vmo()
            .lookup(0, rounded, &mut addresses)
            .map_err(|e| format!("a new contiguous VMO cannot be looked up: {e:?}"))?;
        let base = addresses[0];
        for (page, &address) in addresses.iter().enumerate() {
            check(
                "address of a contiguous VMO's page",
                base + page as u64 * PAGE,
                address,
            )?;
        }
        if base % align != 0 {
            return Err(format!(
                "contiguous VMO at {base:#x}, not aligned to {align:#x}"
            ));
        }
        self.contigs.insert(
            id,
            Contig {
                base,
                anchor: Some(object),
            },
        );
        self.hold(value, id, Rights::DEFAULT_VMO)?;
        // The anchor.
        self.add_ref(id);
        self.check_addresses("a contiguous VMO's frames", id, 0, &addresses)?;
        self.stats.contiguous += 1;
        Ok(())
    }

    pub(super) fn create_physical(
        &mut self,
        resource: ObjArg,
        range: PhysRange,
    ) -> Result<(), String> {
        if !self.room_for_handle() {
            return Ok(());
        }
        let (value, named) = self.resolve_obj(resource, ObjectKind::Resource);
        let memory_end = (FRAME_CAPACITY as u64 + 1) * PAGE;
        // Only live contiguous VMOs' frames may be shown: their content is known.
        let sources: Vec<VmoId> = self
            .contigs
            .keys()
            .copied()
            .filter(|id| self.refs.contains_key(id))
            .collect();
        let (paddr, size, alias) = match range.choice {
            0..=199 if !sources.is_empty() => {
                let root = sources[usize::from(range.which) % sources.len()];
                let pages = self.model.size(root) / PAGE;
                let first = u64::from(range.first) % pages;
                let count = 1 + u64::from(range.pages) % (pages - first);
                let trim = if range.choice >= 150 {
                    u64::from(range.trim) % PAGE
                } else {
                    0
                };
                let paddr = self.contigs[&root].base + first * PAGE;
                (paddr, count * PAGE - trim, Some((root, first)))
            }
            choice => match choice % 8 {
                // The zero frame.
                0 => (0, PAGE, None),
                // Past the frame file.
                1 => (memory_end, PAGE, None),
                // Overflowing.
                2 => (!(PAGE - 1), 2 * PAGE, None),
                // Misaligned (inside the memory).
                3 => (memory_end / 2 + 1, PAGE, None),
                // Empty.
                4 => (PAGE, 0, None),
                5 => (PAGE, MAX_VMO, None),
                6 => (PAGE, u64::MAX, None),
                // Crossing the end.
                _ => (memory_end - PAGE, 2 * PAGE, None),
            },
        };
        // The resource, the range it grants, then alignment and size.
        let expected = (|| {
            Self::expect_other(named, ObjectKind::Resource, Rights::empty())?;
            let granted = paddr
                .checked_add(size)
                .is_some_and(|end| PAGE <= paddr && end <= memory_end);
            if !granted {
                return Err(ZX_ERR_ACCESS_DENIED);
            }
            if paddr % PAGE != 0 || size == 0 {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            Ok(())
        })();
        let expected = match (expected, alias) {
            (Ok(()), None) => {
                return Err(format!(
                    "the harness made a valid physical range {paddr:#x} + {size:#x} that no \
                     contiguous VMO holds"
                ))
            }
            (expected, _) => expected,
        };
        let actual = self.sys().vmo_create_physical(value, paddr, size);
        self.outcome("zx_vmo_create_physical", expected, &actual)?;
        let (Some((root, first)), Ok(value)) = (alias, actual) else {
            return Ok(());
        };
        let rounded = vmo_size(size).expect("small");
        let id = self.phys_root(root, first, rounded);
        self.hold(value, id, Rights::DEFAULT_VMO)?;
        let object = self.vmo_object(value)?;
        let mut addresses = vec![0u64; (rounded / PAGE) as usize];
        object
            .vmo()
            .lookup(0, rounded, &mut addresses)
            .map_err(|e| format!("a new physical VMO cannot be looked up: {e:?}"))?;
        self.check_addresses("a physical VMO's frames", id, 0, &addresses)?;
        self.stats.physical += 1;
        Ok(())
    }

    // -- Handles of other objects ----------------------------------------------------------

    /// `zx_handle_close` of a non-VMO handle (not the root resource's first handle).
    pub(super) fn close_object(&mut self, kind: ObjectKind, index: u8) -> Result<(), String> {
        let candidates: Vec<OtherHandle> = self
            .others
            .iter()
            .copied()
            .filter(|h| kind_of(h.obj) == kind && h.value != self.resource)
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let held = candidates[usize::from(index) % candidates.len()];
        let actual = self.sys().handle_close(held.value);
        self.outcome("zx_handle_close", Ok(()), &actual)?;
        self.forget_handle(held.value);
        Ok(())
    }

    /// `zx_handle_duplicate` of a non-VMO handle.
    pub(super) fn duplicate_object(
        &mut self,
        kind: ObjectKind,
        handle: ObjArg,
        rights: u32,
        same: bool,
    ) -> Result<(), String> {
        if !self.room_for_other() {
            return Ok(());
        }
        let (value, named) = self.resolve_obj(handle, kind);
        let held = match named {
            Named::Other(held) => Some(held),
            Named::Nothing => None,
            // VMO handles are the other call's business; the VMAR stays out of the way.
            Named::Vmo | Named::Vmar => return Ok(()),
        };
        let wanted = if same {
            SAME_RIGHTS
        } else {
            rights & Rights::all().bits()
        };
        let expected = (|| {
            let held = held.ok_or(ZX_ERR_BAD_HANDLE)?;
            if !held.rights.contains(Rights::DUPLICATE) {
                return Err(ZX_ERR_ACCESS_DENIED);
            }
            let rights = if same {
                held.rights
            } else {
                Rights::from_bits_retain(wanted)
            };
            if !held.rights.contains(rights) {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            Ok((held.obj, rights))
        })();
        let actual = self.sys().handle_duplicate(value, wanted);
        self.outcome("zx_handle_duplicate", expected.map(|_| ()), &actual)?;
        if let (Ok((obj, rights)), Ok(copy)) = (expected, actual) {
            self.hold_other(copy, obj, rights)?;
        }
        Ok(())
    }
}
