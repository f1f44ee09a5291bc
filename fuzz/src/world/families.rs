//! What the harness knows of each VMO beyond the reference model, and the operations whose
//! outcome depends on it.
//!
//! - Anonymous VMOs are the model's own.
//! - A contiguous VMO is a model VMO all of whose pages the harness commits at creation; it is
//!   never decommitted (refused) and ZERO zeroes its frames in place, which the harness mirrors
//!   by committing again, in the model, every whole page ZERO emptied (the model then holds a
//!   zero page with a frame, as the kernel does). Only slices may be made of it.
//! - A pager-backed VMO is a model VMO whose pages the harness writes when they are supplied (a
//!   page supplied as zeros stays empty in the model: a zero marker, no frame). The pager's
//!   supplied pages and each one-way clone's window and own pages are tracked here, so that a
//!   call needing a page no VMO on its path holds is known to wait for the pager (or, detached
//!   or with its pager closed, to fail with `ZX_ERR_BAD_STATE`). ZERO on the root zeroes in
//!   place like a contiguous VMO; snapshots are refused and at-least-on-write children are
//!   one-way clones.
//! - A physical VMO is the harness's own (ids from [`PHYS_BASE`] up, which the model never
//!   reaches): a window onto a live contiguous VMO's frames, read and written through that
//!   VMO's model pages. It owns no frame and reports none; only mapping, LOOKUP, pins and slices
//!   work on it. Each holds a reference to the contiguous VMO, and the harness holds the
//!   contiguous VMO's kernel object itself (its anchor) until nothing else does, so that the
//!   frames a physical VMO shows can never be freed under it.
//! - Pins (module `devices`) are counted per page of the VMO holding the pages: DECOMMIT and
//!   shrinks over them and snapshots of a VMO with any are refused, and ZERO keeps their frames
//!   (mirrored as for contiguous VMOs).

use std::ops::Range;

use vm_engine::Backing;

use super::*;

/// The first id of a physical VMO.
pub(super) const PHYS_BASE: u64 = 1 << 62;

/// Whether `id` names a physical VMO (the harness's own, not the model's).
pub(super) fn is_phys(id: VmoId) -> bool {
    id.0 >= PHYS_BASE
}

/// Where a VMO's pages come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fam {
    Anon,
    /// A contiguous VMO or a slice of one; the root of the family.
    Contig(VmoId),
    /// By index into the pager-backed families.
    Pager(usize),
    Phys,
}

/// What a call needing some pages of a pager-backed family does about its pager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gate {
    /// Nothing it needs is missing (or the VMO is not pager-backed).
    Clear,
    /// A page is missing and the pager could supply it: the call would wait.
    Blocks,
    /// A page is missing and the pager will not supply it: `ZX_ERR_BAD_STATE`.
    BadState,
}

/// A one-way clone's view of its parent's pages: page `i < limit` reads page `offset + i` of
/// `parent` (a VMO that is not a slice).
#[derive(Clone, Copy, Debug)]
pub(super) struct Link {
    parent: VmoId,
    offset: u64,
    limit: u64,
}

/// What the harness knows of a VMO beyond the model.
#[derive(Clone, Debug)]
pub(super) struct Meta {
    pub fam: Fam,
    /// The VMO whose pages it shows (itself unless it is a slice) and where its window starts
    /// there, in pages.
    pub target: VmoId,
    pub base: u64,
    /// Created on its own, not as a child.
    pub root: bool,
    /// For a one-way clone: its view of its parent.
    link: Option<Link>,
    /// For a one-way clone: the pages it holds itself (written, committed, zeroed or pinned).
    owned: Owned,
}

impl Meta {
    /// A VMO created on its own.
    pub fn root(id: VmoId, fam: Fam) -> Self {
        Meta {
            fam,
            target: id,
            base: 0,
            root: true,
            link: None,
            owned: Owned::new(),
        }
    }
}

/// A physical VMO (or a slice of one).
#[derive(Clone, Copy, Debug)]
pub(super) struct PhysVmo {
    pub size: u64,
    /// The contiguous VMO whose frames it shows.
    pub alias: VmoId,
    /// For the physical VMO itself: the page of `alias` its page 0 shows.
    pub first: u64,
    pub open: bool,
    pub user_parent: Option<VmoId>,
}

/// A contiguous VMO.
pub(super) struct Contig {
    /// Physical address of its first page.
    pub base: u64,
    /// The harness's own reference to the kernel object, held while physical VMOs may show
    /// its frames; dropped when it is the last reference left.
    pub anchor: Option<HostVmo>,
}

impl World {
    pub(super) fn fam(&self, id: VmoId) -> Fam {
        self.meta[&id].fam
    }

    pub(super) fn target_of(&self, id: VmoId) -> (VmoId, u64) {
        let meta = &self.meta[&id];
        (meta.target, meta.base)
    }

    pub(super) fn size_of(&self, id: VmoId) -> u64 {
        if is_phys(id) {
            self.phys[&id].size
        } else {
            self.model.size(id)
        }
    }

    /// The contiguous VMO a physical VMO shows and the page there of its page 0.
    fn alias_of(&self, id: VmoId) -> (VmoId, u64) {
        let (target, base) = self.target_of(id);
        let phys = &self.phys[&target];
        (phys.alias, phys.first + base)
    }

    /// The physical address of page `page` of a contiguous or physical VMO.
    pub(super) fn physical_address(&self, id: VmoId, page: u64) -> Option<u64> {
        match self.fam(id) {
            Fam::Contig(root) => {
                let (_, base) = self.target_of(id);
                Some(self.contigs[&root].base + (base + page) * PAGE)
            }
            Fam::Phys => {
                let (alias, first) = self.alias_of(id);
                Some(self.contigs[&alias].base + (first + page) * PAGE)
            }
            _ => None,
        }
    }

    /// `len` bytes at `offset` of any VMO (a caller checked it would not wait for a pager).
    pub(super) fn content_read(
        &self,
        id: VmoId,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, VmError> {
        if is_phys(id) {
            if !within(offset, len as u64, self.size_of(id)) {
                return Err(VmError::OutOfRange);
            }
            let (alias, first) = self.alias_of(id);
            return self.model.read(alias, first * PAGE + offset, len);
        }
        self.model.read(id, offset, len)
    }

    /// Writes `data` at `offset` of any VMO, as `zx_vmo_write` or a write fault would.
    pub(super) fn content_write(
        &mut self,
        id: VmoId,
        offset: u64,
        data: &[u8],
    ) -> Result<(), VmError> {
        if is_phys(id) {
            if !within(offset, data.len() as u64, self.size_of(id)) {
                return Err(VmError::OutOfRange);
            }
            let (alias, first) = self.alias_of(id);
            return self.model.write(alias, first * PAGE + offset, data);
        }
        self.model.write(id, offset, data)?;
        self.note_owned(id, touched(offset, data.len() as u64));
        Ok(())
    }

    /// Pages `pages` of `id` are now held by its target, if that is a one-way clone.
    pub(super) fn note_owned(&mut self, id: VmoId, pages: Range<u64>) {
        let (target, base) = self.target_of(id);
        let meta = self.meta.get_mut(&target).expect("a known VMO");
        if meta.link.is_some() {
            meta.owned.extend(pages.map(|page| page + base));
        }
    }

    /// COMMIT (and the commit a pin makes) of `[offset, offset + len)` (within the VMO) in the
    /// model. A range of more pages than twice the frames there can ever be needs more new
    /// frames than can be had, whatever is committed already, and the kernel says so before
    /// looking at any page: so does the harness (the model would plan every page).
    pub(super) fn commit(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let pages = touched(offset, len);
        if pages.end - pages.start > 2 * FRAME_CAPACITY as u64 {
            return Err(VmError::NoMemory);
        }
        self.model.commit(id, offset, len)?;
        self.note_owned(id, touched(offset, len));
        Ok(())
    }

    /// Whether any page of `target` is pinned.
    pub(super) fn has_pins(&self, target: VmoId) -> bool {
        self.pins
            .range((target, 0)..=(target, u64::MAX))
            .next()
            .is_some()
    }

    /// Whether any of `pages` of `target` is pinned.
    pub(super) fn any_pinned(&self, target: VmoId, pages: Range<u64>) -> bool {
        !pages.is_empty()
            && self
                .pins
                .range((target, pages.start)..(target, pages.end))
                .next()
                .is_some()
    }

    /// ZERO of `[offset, offset + len)` (within the VMO) in the model. Whole pages the kernel
    /// zeroes in place (pinned pages, every page of a contiguous VMO, supplied pages of a
    /// pager-backed VMO) keep a frame: the model, which frees them, commits them again.
    pub(super) fn zero(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let (target, base) = self.target_of(id);
        let whole = offset.div_ceil(PAGE)..(offset + len) / PAGE;
        let in_place = match self.fam(id) {
            Fam::Contig(_) => true,
            Fam::Pager(_) => self.meta[&target].link.is_none(),
            _ => false,
        };
        // Found without visiting every page of the range, which may be huge.
        let kept: Vec<u64> = if whole.is_empty() {
            Vec::new()
        } else if in_place {
            let mut pages = self.model.version_pages(id);
            pages.retain(|page| whole.contains(page));
            pages
        } else {
            self.pins
                .range((target, base + whole.start)..(target, base + whole.end))
                .map(|(&(_, page), _)| page - base)
                .collect()
        };
        self.model.zero(id, offset, len)?;
        for &page in &kept {
            if let Err(error) = self.model.commit(id, page * PAGE, PAGE) {
                panic!("the model cannot keep page {page} of {id:?} after ZERO: {error:?}");
            }
        }
        if !in_place && !kept.is_empty() {
            self.stats.pinned_zeroes += 1;
        }
        self.note_owned(id, touched(offset, len));
        Ok(())
    }

    /// DECOMMIT in the model, refused (after the model's own checks) over pinned pages.
    pub(super) fn decommit(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let (target, base) = self.target_of(id);
        if !self.has_pins(target) {
            return self.model.decommit(id, offset, len);
        }
        let mut trial = self.model.clone();
        trial.decommit(id, offset, len)?;
        let pages = touched(offset, len);
        if self.any_pinned(target, base + pages.start..base + pages.end) {
            return Err(VmError::BadState);
        }
        self.model = trial;
        Ok(())
    }

    /// `zx_vmo_set_size` in the model, a shrink over pinned pages refused (after the size
    /// checks); the one-way windows and the pager's supplied pages follow.
    pub(super) fn resize(&mut self, id: VmoId, size: u64) -> Result<(), VmError> {
        if self.has_pins(id) {
            let mut trial = self.model.clone();
            trial.set_size(id, size)?;
            let (old, new) = (self.model.size(id) / PAGE, trial.size(id) / PAGE);
            if new < old && self.any_pinned(id, new..old) {
                return Err(VmError::BadState);
            }
            self.model = trial;
        } else {
            self.model.set_size(id, size)?;
        }
        let pages = self.model.size(id) / PAGE;
        let meta = self.meta.get_mut(&id).expect("a known VMO");
        meta.owned.retain(|&page| page < pages);
        if let Some(link) = &mut meta.link {
            link.limit = link.limit.min(pages);
        }
        for meta in self.meta.values_mut() {
            if let Some(link) = &mut meta.link {
                if link.parent == id {
                    link.limit = link.limit.min(pages.saturating_sub(link.offset));
                }
            }
        }
        if let Fam::Pager(f) = self.fam(id) {
            if self.pager_fams[f].root == id {
                self.pager_fams[f].supplied.retain(|&page| page < pages);
            }
        }
        Ok(())
    }

    /// A child of `parent` after the checks every kind shares: the kind's own rules (what the
    /// family allows, pins) and then the model's.
    pub(super) fn child_of(
        &mut self,
        parent: VmoId,
        kind: ChildKind,
        offset: u64,
        size: u64,
        resizable: bool,
    ) -> Result<VmoId, VmError> {
        let fam = self.fam(parent);
        let (target, base) = self.target_of(parent);
        // The checks every kind shares come first, with the size rounded up.
        let rounded = vmo_size(size).map_err(|_| VmError::OutOfRange)?;
        if offset % PAGE != 0 {
            return Err(VmError::InvalidArgs);
        }
        offset.checked_add(rounded).ok_or(VmError::OutOfRange)?;
        if kind == ChildKind::Slice && resizable {
            return Err(VmError::InvalidArgs);
        }
        let kind = match (fam, kind) {
            (_, ChildKind::Slice) => ChildKind::Slice,
            (Fam::Anon, kind) => kind,
            (Fam::Pager(_), ChildKind::SnapshotAtLeastOnWrite | ChildKind::OneWay) => {
                ChildKind::OneWay
            }
            _ => return Err(VmError::NotSupported),
        };
        if matches!(
            kind,
            ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite
        ) && self.has_pins(target)
        {
            return Err(VmError::BadState);
        }
        if fam == Fam::Phys {
            return self.phys_slice(parent, offset, size);
        }
        let id = self
            .model
            .create_child(parent, kind, offset, size, resizable)?;
        let pages = self.model.size(id) / PAGE;
        let meta = match kind {
            ChildKind::Slice => Meta {
                fam,
                target,
                base: base + offset / PAGE,
                root: false,
                link: None,
                owned: Owned::new(),
            },
            ChildKind::OneWay => Meta {
                fam,
                target: id,
                base: 0,
                root: false,
                link: Some(Link {
                    parent: target,
                    offset: base + offset / PAGE,
                    limit: pages.min((self.size_of(parent) / PAGE).saturating_sub(offset / PAGE)),
                }),
                owned: Owned::new(),
            },
            _ => Meta {
                root: false,
                ..Meta::root(id, fam)
            },
        };
        self.meta.insert(id, meta);
        Ok(id)
    }

    /// A slice of a physical VMO: inside its parent (`OutOfRange`).
    fn phys_slice(&mut self, parent: VmoId, offset: u64, size: u64) -> Result<VmoId, VmError> {
        let size = vmo_size(size).map_err(|_| VmError::OutOfRange)?;
        let of = self.phys[&parent];
        if offset / PAGE + size / PAGE > of.size / PAGE {
            return Err(VmError::OutOfRange);
        }
        let id = VmoId(PHYS_BASE + self.next_phys);
        self.next_phys += 1;
        let (target, base) = self.target_of(parent);
        self.phys.insert(
            id,
            PhysVmo {
                size,
                alias: of.alias,
                first: of.first,
                open: true,
                user_parent: Some(parent),
            },
        );
        self.meta.insert(
            id,
            Meta {
                fam: Fam::Phys,
                target,
                base: base + offset / PAGE,
                root: false,
                link: None,
                owned: Owned::new(),
            },
        );
        self.add_ref(of.alias);
        Ok(id)
    }

    /// A new physical VMO of `size` bytes showing `alias` from page `first`.
    pub(super) fn phys_root(&mut self, alias: VmoId, first: u64, size: u64) -> VmoId {
        let id = VmoId(PHYS_BASE + self.next_phys);
        self.next_phys += 1;
        self.phys.insert(
            id,
            PhysVmo {
                size,
                alias,
                first,
                open: true,
                user_parent: None,
            },
        );
        self.meta.insert(id, Meta::root(id, Fam::Phys));
        self.add_ref(alias);
        id
    }

    /// A physical VMO's last reference went: its record goes (and its parents' records, if
    /// closed and left with no child), and its hold on the contiguous VMO.
    pub(super) fn phys_close(&mut self, id: VmoId) {
        let alias = self.phys[&id].alias;
        self.phys.get_mut(&id).expect("a physical VMO").open = false;
        let mut at = Some(id);
        while let Some(vmo) = at {
            let record = self.phys[&vmo];
            if record.open || self.phys.values().any(|c| c.user_parent == Some(vmo)) {
                break;
            }
            at = record.user_parent;
            self.phys.remove(&vmo);
        }
        self.drop_ref(alias);
    }

    /// Size, committed and populated bytes, resizability and children of a physical VMO:
    /// nothing committed (its frames are not its own).
    pub(super) fn phys_info(&self, id: VmoId) -> (u64, u64, u64, bool, u64) {
        let children = self
            .phys
            .values()
            .filter(|c| c.user_parent == Some(id))
            .count() as u64;
        (self.phys[&id].size, 0, 0, false, children)
    }

    // -- Waiting for pagers ----------------------------------------------------------------

    /// Whether the pager-backed family `f` still gets pages: not detached, pager open.
    pub(super) fn attached(&self, f: usize) -> bool {
        let fam = &self.pager_fams[f];
        !fam.detached && self.pagers[fam.pager].open
    }

    /// Whether reading `pages` of the non-slice `target` needs a page its family's root does
    /// not have: below a one-way clone's window and not its own, a page reads its parent's.
    fn range_missing(&self, f: usize, target: VmoId, pages: Range<u64>) -> bool {
        if pages.is_empty() {
            return false;
        }
        let meta = &self.meta[&target];
        let Some(link) = meta.link else {
            let supplied = self.pager_fams[f].supplied.range(pages.clone()).count() as u64;
            return supplied < pages.end - pages.start;
        };
        let end = pages.end.min(link.limit);
        let mut cursor = pages.start;
        if cursor >= end {
            return false;
        }
        for &own in meta.owned.range(cursor..end) {
            if own > cursor
                && self.range_missing(f, link.parent, cursor + link.offset..own + link.offset)
            {
                return true;
            }
            cursor = own + 1;
        }
        cursor < end && self.range_missing(f, link.parent, cursor + link.offset..end + link.offset)
    }

    /// What a call needing `pages` of `id` does about its pager, as the harness predicts it.
    pub(super) fn pager_gate(&self, id: VmoId, pages: Range<u64>) -> Gate {
        let Fam::Pager(f) = self.fam(id) else {
            return Gate::Clear;
        };
        let (target, base) = self.target_of(id);
        if !self.range_missing(f, target, base + pages.start..base + pages.end) {
            Gate::Clear
        } else if self.attached(f) {
            Gate::Blocks
        } else {
            Gate::BadState
        }
    }

    /// The same question asked of the kernel's state: the VMO's missing range and binding.
    fn kernel_gate(&self, value: HandleValue, offset: u64, len: u64) -> Result<Gate, String> {
        let object = self.vmo_object(value)?;
        let Some(binding) = object.pager() else {
            return Ok(Gate::Clear);
        };
        Ok(match object.vmo().missing_range(offset, len) {
            None => Gate::Clear,
            Some(_) if binding.is_attached() => Gate::Blocks,
            Some(_) => Gate::BadState,
        })
    }

    /// The question for the page at `addr` of this process, as a fault there would ask it.
    pub(super) fn kernel_mapping_gate(&self, addr: u64) -> Gate {
        let page = addr & !(PAGE - 1);
        let pieces = self
            .process
            .address_space()
            .mapped_pieces(page, page + PAGE);
        let Some(piece) = pieces.first() else {
            return Gate::Clear;
        };
        let object = piece
            .keep_alive
            .as_ref()
            .and_then(|keep| keep.downcast_ref::<VmoObject<HostPlatform>>());
        let Some(binding) = object.and_then(|object| object.pager()) else {
            return Gate::Clear;
        };
        match piece.vmo.missing_range(piece.vmo_offset, PAGE) {
            None => Gate::Clear,
            Some(_) if binding.is_attached() => Gate::Blocks,
            Some(_) => Gate::BadState,
        }
    }

    /// What a call through handle `value` (of `id`) needing `[offset, offset + len)` (within
    /// the VMO) does about its pager; the harness's prediction and the kernel's state must
    /// agree, or the call could hang the run.
    pub(super) fn gate(
        &self,
        what: &str,
        value: HandleValue,
        id: VmoId,
        offset: u64,
        len: u64,
    ) -> Result<Gate, String> {
        let predicted = self.pager_gate(id, touched(offset, len));
        let kernel = self.kernel_gate(value, offset, len)?;
        if predicted != kernel {
            return Err(format!(
                "{what} of [{offset:#x}, +{len:#x}) of {id:?}: the harness predicts \
                 {predicted:?} from its pager, the kernel's state says {kernel:?}"
            ));
        }
        Ok(predicted)
    }

    // -- Checks ----------------------------------------------------------------------------

    /// The kernel object of `id` is of the kind the harness made it, with the pager binding
    /// its family has (attached as predicted, and no request outstanding: the harness never
    /// lets a call ask for pages).
    pub(super) fn check_kind(&self, id: VmoId, object: &HostVmo) -> Result<(), String> {
        let fam = self.fam(id);
        let backing = match fam {
            Fam::Anon => Backing::Anonymous,
            Fam::Contig(_) => Backing::Contiguous,
            Fam::Pager(_) => Backing::Pager,
            Fam::Phys => Backing::Physical,
        };
        check_that(
            || format!("backing of {id:?}"),
            backing,
            object.vmo().backing(),
        )?;
        match (fam, object.pager()) {
            (Fam::Pager(f), Some(binding)) => {
                check_that(
                    || format!("pager key of {id:?}"),
                    self.pager_fams[f].key,
                    binding.key(),
                )?;
                check_that(
                    || format!("whether {id:?}'s pager answers"),
                    self.attached(f),
                    binding.is_attached(),
                )?;
                check_that(
                    || format!("page requests outstanding for {id:?}"),
                    Vec::new(),
                    binding.outstanding(),
                )
            }
            (Fam::Pager(_), None) => Err(format!("{id:?} has no pager binding")),
            (_, Some(_)) => Err(format!("{id:?} has a pager binding")),
            (_, None) => Ok(()),
        }
    }

    /// What the kernel holds where the model's content is not the VMO's own: every page of a
    /// physical VMO shows its contiguous VMO's bytes, and the first supplied pages of a
    /// pager-backed VMO what was supplied and written since (read at engine level, which never
    /// waits).
    pub(super) fn check_aliased_bytes(&self, id: VmoId, object: &HostVmo) -> Result<(), String> {
        let pages: Vec<u64> = match self.fam(id) {
            Fam::Phys => (0..self.size_of(id) / PAGE).collect(),
            Fam::Pager(f) if self.pager_fams[f].root == id => self.pager_fams[f]
                .supplied
                .iter()
                .copied()
                .take(16)
                .collect(),
            _ => return Ok(()),
        };
        let mut bytes = vec![0u8; PAGE as usize];
        for page in pages {
            object
                .vmo()
                .read(page * PAGE, &mut bytes)
                .map_err(|e| format!("page {page} of {id:?} cannot be read: {e:?}"))?;
            let expected = self
                .content_read(id, page * PAGE, PAGE as usize)
                .map_err(|e| format!("model read: {e:?}"))?;
            if expected[..] == bytes[..] {
                continue;
            }
            if let Some(at) = expected.iter().zip(&bytes).position(|(a, b)| a != b) {
                return Err(format!(
                    "page {page} of {id:?}: byte {at} is {:#04x}, the model has {:#04x}",
                    bytes[at], expected[at]
                ));
            }
        }
        Ok(())
    }

    /// The addresses a LOOKUP or a pin reported for pages `first..` of `id`: consecutive from
    /// the frames' known address for contiguous and physical VMOs, the pinned frame's for a
    /// pinned page, and always a frame of the frame file other than the zero frame.
    pub(super) fn check_addresses(
        &self,
        what: &str,
        id: VmoId,
        first: u64,
        addresses: &[u64],
    ) -> Result<(), String> {
        let (target, base) = self.target_of(id);
        let memory = PAGE..(FRAME_CAPACITY as u64 + 1) * PAGE;
        for (i, &address) in addresses.iter().enumerate() {
            let page = first + i as u64;
            if address % PAGE != 0 || !memory.contains(&address) {
                return Err(format!(
                    "{what}: page {page} of {id:?} at {address:#x}, not a frame"
                ));
            }
            let expected = self
                .physical_address(id, page)
                .or_else(|| self.pinned_address(target, base + page));
            if let Some(expected) = expected {
                check_that(
                    || format!("{what}: address of page {page} of {id:?}"),
                    expected,
                    address,
                )?;
            }
        }
        Ok(())
    }
}
