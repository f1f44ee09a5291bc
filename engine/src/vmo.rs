//! [`Vmo`]: the engine's virtual memory object, a resizable sparse array of pages that may share
//! them with clones, and the operations of the Zircon VMO system calls at engine level (no
//! handles, no rights).
//!
//! Every operation either succeeds or fails with the family exactly as it was: operations that
//! need frames or metadata plan every page first, allocate all of it, and mutate only after
//! everything was obtained. A write allocates at most one frame per page, however deep the
//! clone chain: a page nobody else reads is moved down to the writer, not copied.
//!
//! Check order where several errors could apply, for the kernel layer to rely on:
//! - `read`, `write`, `commit`, `zero`: range (`OutOfRange`), then memory (`NoMemory`).
//! - `decommit`: contiguous and physical VMOs (`NotSupported`); range (`OutOfRange`); an empty
//!   range succeeds; snapshot children and VMOs with non-slice children (`NotSupported`); then
//!   alignment of offset and length (`InvalidArgs`), pinned pages in the range (`BadState`),
//!   then memory (`NoMemory`).
//! - `lookup`: empty length (`InvalidArgs`), range (`OutOfRange`), output room
//!   (`BufferTooSmall`), then every page committed (`NotCommitted`).
//! - `set_size`: resizability (`NotResizable`), then size (`OutOfRange`), pinned pages in the
//!   part a shrink drops (`BadState`), then memory (`NoMemory`, shrinking only).
//! - `zero` never releases a pinned frame or a contiguous or physical VMO's frame: those pages
//!   are zeroed in place.
//! - `create_child`: size (`OutOfRange`), offset alignment (`InvalidArgs`), offset + size
//!   overflow (`OutOfRange`), then the kind's own rules: a slice must lie inside its parent
//!   (`OutOfRange`) of a non-resizable parent (`NotSupported`) and cannot be resizable
//!   (`InvalidArgs`); a snapshot of a VMO whose content follows a one-way clone's parent is
//!   refused (`NotSupported`); snapshots and one-way clones of contiguous and physical VMOs
//!   (`NotSupported`); a snapshot of either kind of a VMO with pinned pages (`BadState`).
//! - `pin` / `unpin` (module `pins`) and the contiguous and physical constructors (module
//!   `physical`) document their own orders.
//! - Pager-backed families (module `pager_pages`): `read`, `write`, `commit`, `zero`, `lookup`
//!   and faults refuse with `ShouldWait` when a page they need was not supplied yet, right
//!   after their range checks (and `lookup`'s buffer check), before anything else; `decommit`
//!   is `NotSupported` there, right after the contiguous and physical check; snapshots of any
//!   VMO of the family are `NotSupported`. `supply` documents its own order.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use smallvec::SmallVec;

use crate::accounting::page_counts;
use crate::address_space::{PageTarget, Perms};
use crate::attribution::{
    free_entries, note_insert, note_remove, reserve_noting, reserve_settling, settle, settle_at,
    stored,
};
use crate::clone_tree::{self, content_target, NewChild};
use crate::content_tree::{
    has_visible_ancestor, is_read, path_ranges, reads_through, release_unread_at, resolve,
    take_out, used_in_path, Source,
};
use crate::error::{VmError, VmResult};
pub use crate::family::ChildKind;
use crate::family::{Backing, Family, FamilyState, Node, NodeId, Role};
use crate::frame_source::{FrameSource, OutOfFrames};
use crate::geometry::{
    checked_vmo_size, is_page_aligned, ByteRange, PageSpan, MAX_VMO_SIZE, PAGE_SIZE,
};
use crate::invariants;
use crate::mapping_registry::{invalidate, Change, MappingRecord, RecordKey, Translations};
use crate::page_list::Entry;
use crate::platform::{FrameOf, Platform};

const PAGE: u64 = PAGE_SIZE as u64;

/// How a VMO is created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmoOptions {
    /// Whether [`Vmo::set_size`] may change the size later.
    pub resizable: bool,
}

/// What a VMO reports about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmoInfo {
    /// Size in bytes.
    pub size: u64,
    /// Bytes of frames attributed to this VMO (shared pages count for the oldest living VMO
    /// that reads them).
    pub committed_bytes: u64,
    /// Bytes of committed pages this VMO can see, shared or not.
    pub populated_bytes: u64,
    /// Whether the size may change.
    pub resizable: bool,
    /// The kind of child this VMO was created as; `None` for a VMO created on its own.
    pub kind: Option<ChildKind>,
    /// Children created from this VMO that still exist (a closed child counts while its own
    /// children live, and a mapping keeps its VMO in existence).
    pub num_children: u64,
    /// Mappings of this VMO in any address space.
    pub num_mappings: u64,
    /// Distinct address spaces this VMO is mapped into.
    pub mapped_spaces: u64,
}

/// A family's state with its lock held.
type LockedFamily<'a, P> =
    lock_api::MutexGuard<'a, <P as Platform>::RawMutex, FamilyState<FrameOf<P>>>;

/// A virtual memory object. Dropping it releases every frame no remaining VMO can see.
pub struct Vmo<P: Platform> {
    family: Arc<Family<P>>,
    node: NodeId,
}

impl<P: Platform> fmt::Debug for Vmo<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vmo").field("info", &self.info()).finish()
    }
}

/// What one page of a write, commit or zero needs, decided before anything changes.
enum Plan<F> {
    /// The VMO holds the page itself (or, for a zero, there is nothing to do).
    Own,
    /// The VMO is the last reader of the frame in `node`'s slot `slot`: take it.
    Take { node: NodeId, slot: u64 },
    /// A new frame (a copy of shared content, or zero-filled), allocated in advance. `left` is
    /// the shared frame the VMO stops reading, whose payer may change; `written` says the frame
    /// already holds the write's bytes (a whole-page write).
    Fresh {
        frame: F,
        left: Option<(NodeId, u64)>,
        written: bool,
    },
    /// The VMO takes the shared frame in `node`'s slot `slot`, and the slot gets `copy`, a copy
    /// of it allocated in advance, for its other readers: a write fault keeps the frame its
    /// mapping already translates to, so the host only has to lift the write protection.
    Swap { copy: F, node: NodeId, slot: u64 },
    /// Zero a whole page: drop the VMO's own frame, free a frame only it read, and leave a zero
    /// marker where content above could otherwise show through. `left` as for `Fresh`.
    Zero {
        free_above: Option<(NodeId, u64)>,
        marker: bool,
        left: Option<(NodeId, u64)>,
    },
}

/// What a page operation wants the page to become.
#[derive(Clone, Copy)]
enum Want<'a> {
    /// Its current content, committed (COMMIT).
    Commit,
    /// As `Commit`, for a write fault: a frame still shared stays with this VMO and its other
    /// readers get the copy (see [`Plan::Swap`]), unless the MMU prefers the frame at physical
    /// address `at` and that one can be had.
    FaultCommit { at: Option<u64> },
    /// Current content with `bytes` written at `span.in_page` (a write; also a partial zero).
    Write(&'a [u8]),
    /// Zeros, with no frame (a whole-page ZERO).
    Zero,
    /// `bytes` (zeros) written at `span.in_page` only if the page shows anything but zeros
    /// (a partial ZERO: a page that already reads as zeros is left alone).
    ZeroPart(&'a [u8]),
}

impl<P: Platform> Vmo<P> {
    /// A VMO of `size` bytes rounded up to whole pages, with no page committed. Sizes whose
    /// rounding overflows or that exceed [`MAX_VMO_SIZE`](crate::MAX_VMO_SIZE) are
    /// `OutOfRange`.
    pub fn create(frames: Arc<P::Frames>, size: u64, options: VmoOptions) -> VmResult<Self> {
        let size = checked_vmo_size(size)?;
        Self::new_root(frames, Backing::Anonymous, size / PAGE, options.resizable)
    }

    /// A new family of `backing` whose one VMO has `pages` pages and nothing in them: where
    /// every constructor starts.
    pub(crate) fn new_root(
        frames: Arc<P::Frames>,
        backing: Backing,
        pages: u64,
        resizable: bool,
    ) -> VmResult<Self> {
        // The one allocation of the engine that cannot report failure: stable Rust has no
        // fallible way to allocate an `Arc` (`Arc::try_new` is unstable), and a reference count
        // of our own would need `unsafe`, which the engine forbids. It is a few words, once per
        // family; everything that grows with use is reserved fallibly.
        let family = Arc::new(Family::<P>::new(frames, backing));
        let node = {
            let mut state = family.state.lock();
            state.reserve(1)?;
            let created = state.next_created();
            let role = Role::Visible {
                alive: true,
                resizable,
                kind: None,
                created,
            };
            let id = state.add(Node::new(role, pages));
            state.node_mut(id).holder = Some(id);
            id
        };
        Ok(Vmo { family, node })
    }

    /// A child of this VMO: a window of `size` bytes (rounded up to pages) starting at the
    /// page-aligned `offset`. Snapshot kinds and one-way clones may start or extend past this
    /// VMO's end, where they read zeros.
    pub fn create_child(
        &self,
        kind: ChildKind,
        offset: u64,
        size: u64,
        options: VmoOptions,
    ) -> VmResult<Vmo<P>> {
        let size = checked_vmo_size(size)?;
        if !is_page_aligned(offset) {
            return Err(VmError::InvalidArgs);
        }
        offset.checked_add(size).ok_or(VmError::OutOfRange)?;
        if kind == ChildKind::Slice && options.resizable {
            return Err(VmError::InvalidArgs);
        }
        // Seed 002: only slices may share a physical or contiguous VMO's pages, and a
        // pager-backed VMO has no eager copy, only true one-way clones.
        let kind = match (self.family.backing, kind) {
            (Backing::Anonymous, kind) | (_, kind @ ChildKind::Slice) => kind,
            (Backing::Pager, ChildKind::SnapshotAtLeastOnWrite | ChildKind::OneWay) => {
                ChildKind::OneWay
            }
            _ => return Err(VmError::NotSupported),
        };
        let mut state = self.family.state.lock();
        let (target, _) = content_target(&state, self.node);
        // Seed 002: no snapshot of a VMO with pinned pages (a hidden node would take them over).
        // At-least-on-write is a snapshot here (anonymous), so the same rule applies.
        if matches!(
            kind,
            ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite
        ) && state.pins.node_has_pins(target)
        {
            return Err(VmError::BadState);
        }
        if matches!(
            kind,
            ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite
        ) && has_visible_ancestor(&state, target)
        {
            let child =
                self.eager_snapshot(&mut state, kind, offset / PAGE, size / PAGE, options)?;
            return Ok(Vmo {
                family: self.family.clone(),
                node: child,
            });
        }
        let child = clone_tree::create_child(
            &mut state,
            self.node,
            NewChild {
                kind,
                resizable: options.resizable,
                offset: offset / PAGE,
                pages_len: size / PAGE,
            },
        )?;
        if kind != ChildKind::Slice && kind != ChildKind::OneWay {
            // The target's pages moved up into a hidden node that the snapshot shares.
            invalidate(&state, target, 0..MAX_VMO_SIZE / PAGE, Change::Shared);
        }
        Ok(Vmo {
            family: self.family.clone(),
            node: child,
        })
    }

    /// A snapshot of a VMO whose content follows a one-way clone's parent: that parent's later
    /// writes must stay visible to this VMO and invisible to the snapshot, which no hidden node
    /// above it could arrange, so the snapshot gets its own copy of every committed page it
    /// shows (cost and memory proportional to those pages, not O(1)). It has no content link;
    /// it is still this VMO's child for `num_children` and ZX_VMO_ZERO_CHILDREN.
    fn eager_snapshot(
        &self,
        state: &mut LockedFamily<'_, P>,
        kind: ChildKind,
        first: u64,
        pages_len: u64,
        options: VmoOptions,
    ) -> VmResult<NodeId> {
        let frames = &*self.family.frames;
        let (target, base) = content_target(state, self.node);
        let parent_len = state.node(self.node).pages_len;
        let limit = pages_len.min(parent_len.saturating_sub(first));
        let start = base + first;
        // Every slot on the path that may show through, in the child's coordinates.
        let mut candidates = Vec::new();
        for (node, range, shift) in path_ranges(state, target, start..start + limit) {
            let list = &state.node(node).pages;
            // Counted first, so that the list grows fallibly and then without allocating.
            let count = usize::try_from(list.count_in(range.clone())).unwrap_or(usize::MAX);
            candidates
                .try_reserve(count)
                .map_err(|_| VmError::NoMemory)?;
            list.for_each_in(range, |slot| candidates.push(slot - shift - start));
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut copies: Vec<(u64, FrameOf<P>)> = Vec::new();
        copies
            .try_reserve(candidates.len())
            .map_err(|_| VmError::NoMemory)?;
        let give_back = |copies: Vec<(u64, FrameOf<P>)>| {
            for (_, frame) in copies {
                frames.release(frame);
            }
        };
        for page in candidates {
            if let Source::Frame { node, page: slot } = resolve(state, target, start + page) {
                let Some(shown) = state.node(node).pages.get(slot) else {
                    unreachable!("resolve points at a frame");
                };
                match frames.allocate_copy(shown) {
                    Ok(copy) => copies.push((page, copy)),
                    Err(OutOfFrames) => {
                        give_back(copies);
                        return Err(VmError::NoMemory);
                    }
                }
            }
        }
        let created = state.next_created();
        let mut node = Node::new(
            Role::Visible {
                alive: true,
                resizable: options.resizable,
                kind: Some(kind),
                created,
            },
            pages_len,
        );
        let reserved = node.pages.reserve(copies.iter().map(|&(page, _)| page));
        if let Err(error) = reserved.and_then(|()| state.reserve(1)) {
            give_back(copies);
            return Err(error);
        }
        node.charged = copies.len() as u64;
        for (page, frame) in copies {
            node.pages.insert_reserved(page, frame);
        }
        node.user_parent = Some(self.node);
        node.user_kind = Some(kind);
        let id = state.add(node);
        state.node_mut(id).holder = Some(id);
        state.node_mut(self.node).user_children += 1;
        Ok(id)
    }

    /// The frame source this VMO's pages come from.
    pub fn frames(&self) -> &Arc<P::Frames> {
        &self.family.frames
    }

    /// Size in bytes (always whole pages).
    pub fn size(&self) -> u64 {
        self.family.state.lock().node(self.node).pages_len * PAGE
    }

    /// Size, accounting, kind and children.
    pub fn info(&self) -> VmoInfo {
        let state = self.family.state.lock();
        let node = state.node(self.node);
        let counts = page_counts(&state, self.node, false);
        let charged = charge_reported(&state, self.node);
        let (resizable, kind) = match node.role {
            Role::Visible {
                resizable, kind, ..
            } => (resizable, kind),
            _ => (false, Some(ChildKind::Slice)),
        };
        // A physical VMO owns no frame: Zircon reports nothing committed for it.
        let owned = !matches!(self.family.backing, Backing::Physical);
        VmoInfo {
            size: node.pages_len * PAGE,
            committed_bytes: if owned { charged * PAGE } else { 0 },
            populated_bytes: if owned { counts.populated * PAGE } else { 0 },
            resizable,
            kind,
            num_children: u64::from(node.user_children),
            num_mappings: state.mappings.count_of(self.node),
            mapped_spaces: state.mappings.spaces_of(self.node),
        }
    }

    /// Where this VMO's family gets its pages.
    pub fn backing(&self) -> Backing {
        self.family.backing
    }

    /// Whether [`Vmo::set_size`] may change the size (constant time, unlike [`Vmo::info`]).
    pub fn is_resizable(&self) -> bool {
        matches!(
            self.family.state.lock().node(self.node).role,
            Role::Visible {
                resizable: true,
                ..
            }
        )
    }

    /// Bytes of frames attributed to this VMO: a counter read, independent of the family's size.
    pub fn committed_bytes(&self) -> u64 {
        if matches!(self.family.backing, Backing::Physical) {
            return 0; // borrowed frames are nobody's charge
        }
        charge_reported(&self.family.state.lock(), self.node) * PAGE
    }

    /// Whether this VMO has a child that still exists (for ZX_VMO_ZERO_CHILDREN).
    pub fn has_children(&self) -> bool {
        self.family.state.lock().node(self.node).user_children > 0
    }

    /// Bytes of page-list metadata this VMO's own node occupies.
    pub fn page_list_metadata_bytes(&self) -> usize {
        let state = self.family.state.lock();
        let (target, _) = content_target(&state, self.node);
        state.node(target).pages.metadata_bytes()
    }

    /// Identifies this VMO's family: two VMOs share pages (through any kind of child) exactly
    /// when their family ids are equal.
    pub fn family_id(&self) -> usize {
        Arc::as_ptr(&self.family) as *const () as usize
    }

    /// A picture of this VMO's whole family (hidden snapshot points included), for tools.
    /// Exact and proportional to the family's frames: not for hot paths.
    pub fn family_view(&self) -> crate::FamilyView {
        crate::family_view::view(&self.family.state.lock(), self.node)
    }

    /// Checks every invariant of this VMO's family (structure, no unreadable frame, accounting
    /// adding up). Exhaustive and slow: for tests.
    pub fn check_family_invariants(&self) -> Result<(), String> {
        let state = self.family.state.lock();
        invariants::check(&state)?;
        crate::pins::check(&state)?;
        crate::physical::check(&self.family, &state)
    }

    /// Records that pages `first_page..first_page + pages` of this VMO appear at `base` in
    /// `space`, so that changes to them reach its translations. Pieces are registered all or
    /// none.
    pub(crate) fn register_mappings(
        &self,
        space: &Arc<dyn Translations>,
        pieces: &[(u64, u64, u64)],
    ) -> VmResult<SmallVec<[RecordKey; 2]>> {
        let mut state = self.family.state.lock();
        state.mappings.reserve(pieces.len())?;
        let mut keys = SmallVec::new();
        for &(first_page, pages, base) in pieces {
            let record = MappingRecord {
                node: self.node,
                first_page,
                pages,
                base,
                space: space.clone(),
            };
            keys.push(state.mappings.insert(record)?);
        }
        Ok(keys)
    }

    /// Changes the window of a registered mapping (after part of it was unmapped).
    pub(crate) fn reshape_mapping(&self, key: RecordKey, first_page: u64, pages: u64, base: u64) {
        let mut state = self.family.state.lock();
        if let Some(record) = state.mappings.get_mut(key) {
            (record.first_page, record.pages, record.base) = (first_page, pages, base);
        }
    }

    /// Forgets a mapping; its translations must be removed by the caller.
    pub(crate) fn unregister_mapping(&self, key: RecordKey) {
        self.family.state.lock().mappings.remove(key);
    }

    /// Resolves a fault on page `page` of this VMO, mapped with `perms` at `vaddr` (by a
    /// mapping covering `extent`): a read translates to the page's current frame (or to zeros),
    /// writable only if the VMO holds the frame itself; a write first commits the page exactly
    /// as [`Vmo::write`] would, with the frame where the MMU prefers it if it can be had there.
    /// The translation is installed under the family lock, so no change can slip in between.
    pub(crate) fn fault_in(
        &self,
        page: u64,
        write: bool,
        perms: Perms,
        vaddr: u64,
        extent: (u64, u64),
        space: &dyn Translations,
    ) -> VmResult<()> {
        let mut state = self.family.state.lock();
        state.faulting = Some((
            space as *const dyn Translations as *const () as usize,
            vaddr,
        ));
        let result = self.fault_in_locked(&mut state, page, write, perms, (vaddr, extent), space);
        state.faulting = None;
        result
    }

    /// [`Vmo::fault_in`] with the family locked.
    fn fault_in_locked(
        &self,
        state: &mut LockedFamily<'_, P>,
        page: u64,
        write: bool,
        perms: Perms,
        (vaddr, extent): (u64, (u64, u64)),
        space: &dyn Translations,
    ) -> VmResult<()> {
        if page >= state.node(self.node).pages_len {
            return Err(VmError::OutOfRange);
        }
        let (target, base) = content_target(state, self.node);
        let page = base + page;
        crate::pager_pages::check_supplied(state, self.family.backing, target, page..page + 1)?;
        let frames = &*self.family.frames;
        if write && state.node(target).pages.get(page).is_none() {
            let span = PageSpan {
                page,
                in_page: 0,
                len: PAGE_SIZE,
                in_range: 0,
            };
            let at = space.placement(vaddr, extent);
            apply(
                state,
                frames,
                target,
                core::iter::once((span, Want::FaultCommit { at })),
            )?;
        }
        let (translation, allowed) = match resolve(state, target, page) {
            Source::Frame { node, page: slot } => match state.node(node).pages.get(slot) {
                Some(frame) if node == target => {
                    (PageTarget::Frame(frames.physical_address(frame)), perms)
                }
                Some(frame) => (
                    PageTarget::Frame(frames.physical_address(frame)),
                    perms - Perms::WRITE,
                ),
                None => unreachable!("resolve points at a frame"),
            },
            Source::Zeros | Source::Marker { .. } => (PageTarget::Zeros, perms - Perms::WRITE),
        };
        space.map(vaddr, translation, allowed).map_err(|_| {
            // The old translation was left for this one to replace: it must not outlive it.
            space.unmap(vaddr, PAGE);
            VmError::NoMemory
        })
    }

    /// What page `page` of this VMO translates to right now and whether a write could go to
    /// that frame in place: the truth a checker compares an MMU's translations with. `None`
    /// beyond the end.
    pub(crate) fn current_translation(&self, page: u64) -> Option<(PageTarget, bool)> {
        let state = self.family.state.lock();
        if page >= state.node(self.node).pages_len {
            return None;
        }
        let (target, base) = content_target(&state, self.node);
        Some(match resolve(&state, target, base + page) {
            Source::Frame { node, page: slot } => match state.node(node).pages.get(slot) {
                Some(frame) => (
                    PageTarget::Frame(self.family.frames.physical_address(frame)),
                    node == target,
                ),
                None => unreachable!("resolve points at a frame"),
            },
            Source::Zeros | Source::Marker { .. } => (PageTarget::Zeros, false),
        })
    }

    /// Locks the family and finds the node holding this VMO's pages and the checked range in
    /// that node's coordinates.
    fn locked_range(
        &self,
        offset: u64,
        len: u64,
    ) -> VmResult<(LockedFamily<'_, P>, NodeId, ByteRange)> {
        let state = self.family.state.lock();
        let range = ByteRange::within(offset, len, state.node(self.node).pages_len * PAGE)?;
        let (target, base) = content_target(&state, self.node);
        // The window lies inside the target, so the shifted range does too.
        let range = ByteRange::within(range.start() + base * PAGE, len, u64::MAX)?;
        Ok((state, target, range))
    }

    /// Copies `dst.len()` bytes starting at `offset` into `dst`; pages never committed read as
    /// zeros.
    pub fn read(&self, offset: u64, dst: &mut [u8]) -> VmResult<()> {
        let (state, target, range) = self.locked_range(offset, dst.len() as u64)?;
        crate::pager_pages::check_supplied(&state, self.family.backing, target, range.pages())?;
        let frames = &*self.family.frames;
        for span in range.spans() {
            let out = &mut dst[span.in_range..span.in_range + span.len];
            match resolve(&state, target, span.page) {
                Source::Frame { node, page } => match state.node(node).pages.get(page) {
                    Some(frame) => frames.read(frame, span.in_page, out),
                    None => unreachable!("resolve points at a frame"),
                },
                Source::Zeros | Source::Marker { .. } => out.fill(0),
            }
        }
        Ok(())
    }

    /// Copies `src` into the VMO at `offset`, committing the pages it touches.
    pub fn write(&self, offset: u64, src: &[u8]) -> VmResult<()> {
        let (mut state, target, range) = self.locked_range(offset, src.len() as u64)?;
        crate::pager_pages::check_supplied(&state, self.family.backing, target, range.pages())?;
        let frames = &*self.family.frames;
        // A write within one page the VMO holds, or of a VMO with nothing above it, needs no
        // planning: write in place, or add one frame.
        if let Some(span) = range.single_span() {
            let node = state.node_mut(target);
            if let Some(frame) = node.pages.get_mut(span.page) {
                frames.write(frame, span.in_page, src);
                return Ok(());
            }
            if node.link.is_none() && !matches!(node.pages.entry(span.page), Entry::Zero) {
                let frame = frame_holding(frames, &span, src).map_err(|_| VmError::NoMemory)?;
                // The page list last: a failure after its reservation would leave an empty chunk.
                let reserved = reserve_noting(&mut state, target, Some(target), 1);
                let reserved = reserved.and_then(|()| {
                    let pages = &mut state.node_mut(target).pages;
                    pages.reserve(core::iter::once(span.page))
                });
                if let Err(error) = reserved {
                    frames.release(frame);
                    return Err(error);
                }
                let node = state.node_mut(target);
                node.pages.insert_reserved(span.page, frame);
                note_insert(&mut state, target, span.page, Some(target));
                invalidate(&state, target, span.page..span.page + 1, Change::Content);
                return Ok(());
            }
        }
        let spans = range.spans().map(|span| {
            let bytes = &src[span.in_range..span.in_range + span.len];
            (span, Want::Write(bytes))
        });
        apply(&mut state, frames, target, spans)
    }

    /// Commits every page touched by `[offset, offset + len)`. A page the VMO does not hold gets
    /// a frame with the content it currently shows (a copy of a shared page, or zeros).
    pub fn commit(&self, offset: u64, len: u64) -> VmResult<()> {
        let (mut state, target, range) = self.locked_range(offset, len)?;
        crate::pager_pages::check_supplied(&state, self.family.backing, target, range.pages())?;
        let frames = &*self.family.frames;
        let pages = range.pages();
        let in_range = pages.end - pages.start;
        let own = state.node(target).pages.count_in(pages.clone());
        if own == in_range {
            return Ok(());
        }
        // Every page needs a new frame unless it holds one or can take one from above; when even
        // that many cannot be had, fail before planning page by page.
        let reachable: u64 = path_ranges(&state, target, pages)
            .map(|(node, range, _)| state.node(node).pages.count_in(range))
            .sum();
        let needed = usize::try_from(in_range.saturating_sub(reachable)).unwrap_or(usize::MAX);
        if needed > frames.frames_available() {
            return Err(VmError::NoMemory);
        }
        let spans = range.spans().map(|span| (span, Want::Commit));
        apply(&mut state, frames, target, spans)
    }

    /// Releases the frames of the page-aligned range `[offset, offset + len)`. In a one-way
    /// clone the parent's content shows again; elsewhere the range reads as zeros.
    pub fn decommit(&self, offset: u64, len: u64) -> VmResult<()> {
        if crate::physical::is_fixed(self.family.backing) {
            // Contiguous and physical frames stay for the VMO's life (as in Zircon, first).
            return Err(VmError::NotSupported);
        }
        if self.family.backing == Backing::Pager {
            // Zircon decommits only VMOs made by zx_vmo_create and their slices; pager_test's
            // decommit_test expects NOT_SUPPORTED on a pager VMO and on its clones.
            return Err(VmError::NotSupported);
        }
        let (mut state, target, range) = self.locked_range(offset, len)?;
        if range.is_empty() {
            return Ok(());
        }
        let node = state.node(target);
        let snapshot_child = matches!(
            node.role,
            Role::Visible {
                kind: Some(ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite),
                ..
            }
        );
        // Non-slice children, open or closed; and a snapshot taken through a slice, which puts a
        // hidden node above this VMO's pages just as a direct one would.
        let non_slice_children = state
            .nodes()
            .any(|(_, n)| n.user_parent == Some(target) && n.user_kind != Some(ChildKind::Slice))
            || node
                .link
                .is_some_and(|link| state.node(link.parent).children().is_some());
        if snapshot_child || non_slice_children {
            return Err(VmError::NotSupported);
        }
        if !is_page_aligned(offset) || !is_page_aligned(len) {
            return Err(VmError::InvalidArgs);
        }
        if state.pins.any_in(target, range.pages()) {
            return Err(VmError::BadState);
        }
        let frames = &*self.family.frames;
        // A one-way clone reads its parent again there, and may now be the oldest reader. The
        // slots to settle above it (its path past its own level) are found first: that may run
        // out of memory, and the frames freed below cannot be had back.
        let above = used_in_path(&state, path_ranges(&state, target, range.pages()).skip(1))?;
        // Only this VMO begins to read there: a frame can only become its charge, and only if
        // it is older than the payer.
        let created = state.node(target).created();
        reserve_settling(&mut state, &above, |state, payer| {
            payer.is_none_or(|payer| state.node(payer).created() > created)
        })?;
        free_entries(&mut state, frames, target, range.pages());
        settle_at(&mut state, &above);
        invalidate(&state, target, range.pages(), Change::Content);
        Ok(())
    }

    /// Sets exactly the bytes `[offset, offset + len)` to zero. Pages the range covers entirely
    /// lose their frames (a marker keeps a clone from seeing its parent's content there);
    /// a partly covered page that is shared is copied first, so this may need memory in clones.
    pub fn zero(&self, offset: u64, len: u64) -> VmResult<()> {
        let (mut state, target, range) = self.locked_range(offset, len)?;
        crate::pager_pages::check_supplied(&state, self.family.backing, target, range.pages())?;
        if self.family.backing == Backing::Pager && state.node(target).link.is_none() {
            // An emptied slot of the root would ask the pager again: zeros go in place.
            crate::pager_pages::zero_supplied(&mut state, &*self.family.frames, target, &range);
            return Ok(());
        }
        let whole = range.whole_pages();
        let frames = &*self.family.frames;
        if crate::physical::is_fixed(self.family.backing) {
            // Contiguous and physical frames stay for the VMO's life: zeros are written in place.
            crate::pins::zero_range_in_place(&mut state, frames, target, &range);
            return Ok(());
        }
        // Pinned pages keep their frames: they are zeroed in place once the rest has succeeded.
        let pinned = state.pins.pinned_in(target, whole.clone())?;
        let unpinned = |page: &u64| pinned.binary_search(page).is_err();
        // Whole pages matter only where the VMO or an ancestor holds something, unless a visible
        // ancestor could still write there later (then every page it can show through needs a
        // zero marker).
        let mut pages: Vec<u64> = Vec::new();
        if state.node(target).link.is_none() {
            // Nothing above: whole pages simply lose their frames.
            for gap in crate::pins::gaps(whole.clone(), &pinned) {
                free_entries(&mut state, frames, target, gap);
            }
            invalidate(&state, target, whole.clone(), Change::Content);
        } else if has_visible_ancestor(&state, target) {
            // Past the link's limit nothing above ever shows through: there only the VMO's own
            // pages need zeroing, so a long range over a small parent costs what the parent
            // covers, not the length of the range.
            let limit = state
                .node(target)
                .link
                .map_or(whole.start, |link| link.limit);
            let seen = whole.start..whole.end.min(limit).max(whole.start);
            let beyond = seen.end..whole.end;
            let own_beyond = state.node(target).pages.used_count_in(beyond.clone());
            let count = usize::try_from((seen.end - seen.start).saturating_add(own_beyond))
                .unwrap_or(usize::MAX);
            pages.try_reserve(count).map_err(|_| VmError::NoMemory)?;
            pages.extend(seen.filter(unpinned));
            let split = pages.len();
            state.node(target).pages.for_each_in(beyond, |page| {
                if unpinned(&page) {
                    pages.push(page);
                }
            });
            pages[split..].sort_unstable();
        } else {
            // Counted first, so that the list grows fallibly and then without allocating (every
            // used slot is visited below, markers included).
            let count: u64 = path_ranges(&state, target, whole.clone())
                .map(|(node, range, _)| state.node(node).pages.used_count_in(range))
                .sum();
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            pages.try_reserve(count).map_err(|_| VmError::NoMemory)?;
            for (node, range, shift) in path_ranges(&state, target, whole.clone()) {
                state
                    .node(node)
                    .pages
                    .for_each_in(range, |page| pages.push(page - shift));
            }
            pages.sort_unstable();
            pages.dedup();
            pages.retain(unpinned);
        }
        const ZEROS: [u8; PAGE_SIZE] = [0; PAGE_SIZE];
        let edges = range.spans().next().into_iter().chain(range.last_span());
        let edges = edges.filter(|span| !whole.contains(&span.page));
        let wanted = pages
            .into_iter()
            .map(|page| (range.span_of(page), Want::Zero))
            .chain(edges.map(|span| (span, Want::ZeroPart(&ZEROS[..span.len]))));
        apply(&mut state, frames, target, wanted)?;
        crate::pins::zero_pages_in_place(&mut state, frames, target, &pinned);
        Ok(())
    }

    /// Writes the physical address of every page touched by `[offset, offset + len)` into
    /// `addresses` and returns how many it wrote. Every such page must be committed (in a
    /// clone, a page it shares with its parent reports the parent's frame).
    pub fn lookup(&self, offset: u64, len: u64, addresses: &mut [u64]) -> VmResult<usize> {
        if len == 0 {
            return Err(VmError::InvalidArgs);
        }
        let (state, target, range) = self.locked_range(offset, len)?;
        let pages = range.pages();
        // The range lies inside the VMO, so its page count is below 2^36 and fits a usize on
        // every 64-bit target; on smaller ones a count that does not fit cannot fit the slice.
        let count = usize::try_from(pages.end - pages.start).unwrap_or(usize::MAX);
        if addresses.len() < count {
            return Err(VmError::BufferTooSmall);
        }
        crate::pager_pages::check_supplied(&state, self.family.backing, target, pages.clone())?;
        for (page, out) in pages.zip(addresses.iter_mut()) {
            let Source::Frame { node, page } = resolve(&state, target, page) else {
                return Err(VmError::NotCommitted);
            };
            match state.node(node).pages.get(page) {
                Some(frame) => *out = self.family.frames.physical_address(frame),
                None => unreachable!("resolve points at a frame"),
            }
        }
        Ok(count)
    }

    /// Changes the size to `size` rounded up to whole pages. Shrinking releases the pages past
    /// the new end and clips, for ever, what this VMO and its one-way clones see of their
    /// parents there; growing exposes zeros.
    pub fn set_size(&self, size: u64) -> VmResult<()> {
        let mut state = self.family.state.lock();
        let resizable = matches!(
            state.node(self.node).role,
            Role::Visible {
                resizable: true,
                ..
            }
        );
        if !resizable {
            return Err(VmError::NotResizable);
        }
        let new_len = checked_vmo_size(size)? / PAGE;
        let frames = &*self.family.frames;
        let id = self.node;
        let old_len = state.node(id).pages_len;
        if new_len >= old_len {
            state.node_mut(id).pages_len = new_len;
            return Ok(());
        }
        if state.pins.any_in(id, new_len..old_len) {
            return Err(VmError::BadState);
        }
        // What this VMO stops reading above it: the slots there whose payer may change, or that
        // nobody may read any more, are found before anything changes, since that may run out
        // of memory and the pages dropped below cannot be had back.
        let above = match state.node(id).link {
            Some(link) => {
                let kept = link.limit.min(new_len);
                let dropped = link.offset + kept..link.offset + link.limit;
                used_in_path(&state, path_ranges(&state, link.parent, dropped))?
            }
            None => Vec::new(),
        };
        // Only the VMOs reading through this one stop reading there: only the frames one of them
        // pays for can change payer.
        reserve_settling(&mut state, &above, |state, payer| {
            payer.is_some_and(|payer| reads_through(state, payer, id))
        })?;
        state.node_mut(id).pages_len = new_len;
        // Before the windows below are clipped, while the paths still reach the dropped pages.
        invalidate(&state, id, new_len..old_len, Change::Content);
        free_entries(&mut state, frames, id, new_len..old_len);
        // By index: copying the clone list would allocate, and this late that could no longer
        // fail cleanly.
        for i in 0..state.node(id).content_children.len() {
            let child = state.node(id).content_children[i];
            if let Some(link) = &mut state.node_mut(child).link {
                link.limit = link.limit.min(new_len.saturating_sub(link.offset));
            }
        }
        if let Some(link) = &mut state.node_mut(id).link {
            link.limit = link.limit.min(new_len);
        }
        // It no longer reads the dropped part above it: settle who pays, then free what nobody
        // reads.
        settle_at(&mut state, &above);
        release_unread_at(&mut state, frames, &above);
        Ok(())
    }
}

impl<P: Platform> Drop for Vmo<P> {
    fn drop(&mut self) {
        let mut state = self.family.state.lock();
        clone_tree::close(&mut state, &*self.family.frames, self.node);
        // Pins live only where an open VMO still sees the page (see `pins`).
        crate::pins::prune(&mut state);
    }
}

/// The parts of a VMO that the engine's other modules (`pager_pages`) build on.
impl<P: Platform> Vmo<P> {
    /// The family this VMO belongs to.
    pub(crate) fn family(&self) -> &Arc<Family<P>> {
        &self.family
    }

    /// This VMO's node in its family.
    pub(crate) fn node_id(&self) -> NodeId {
        self.node
    }
}

/// The frames a VMO reports as its `committed_bytes`: what a visible VMO is charged; for a
/// slice, nothing while its target is open (the target pays), and the closed target's whole
/// charge if it is the target's oldest live slice, so that the sum over live VMOs still equals
/// the frames in use. Constant time except for slices of closed targets.
fn charge_reported<F>(state: &FamilyState<F>, id: NodeId) -> u64 {
    let node = state.node(id);
    match node.role {
        Role::Slice {
            target, created, ..
        } if !state.node(target).is_alive() => {
            let oldest = state
                .nodes()
                .filter_map(|(_, other)| match other.role {
                    Role::Slice {
                        alive: true,
                        target: of,
                        created,
                        ..
                    } if of == target => Some(created),
                    _ => None,
                })
                .min();
            if oldest == Some(created) {
                state.node(target).charged
            } else {
                0
            }
        }
        _ if node.is_visible() => node.charged,
        _ => 0,
    }
}

/// A new frame holding `bytes` at the span's place and zeros elsewhere.
fn frame_holding<S: FrameSource>(
    frames: &S,
    span: &PageSpan,
    bytes: &[u8],
) -> Result<S::Frame, OutOfFrames> {
    match <&[u8; PAGE_SIZE]>::try_from(bytes) {
        Ok(whole) => frames.allocate_filled(whole),
        Err(_) => frames.allocate_zeroed().map(|mut frame| {
            frames.write(&mut frame, span.in_page, bytes);
            frame
        }),
    }
}

/// Decides what one page needs, without changing anything.
fn plan<S: FrameSource>(
    state: &FamilyState<S::Frame>,
    frames: &S,
    id: NodeId,
    span: &PageSpan,
    want: Want<'_>,
) -> Result<Plan<S::Frame>, OutOfFrames> {
    let page = span.page;
    let own = state.node(id).pages.entry(page);
    let want = match want {
        Want::ZeroPart(bytes) => match (own, resolve(state, id, page)) {
            (Entry::Page(..), _) => Want::Write(bytes),
            (_, Source::Frame { .. }) => Want::Write(bytes),
            // Already zeros; only a parent that could still write there needs a marker.
            _ if has_visible_ancestor(state, id) && !matches!(own, Entry::Zero) => Want::Zero,
            _ => return Ok(Plan::Own),
        },
        other => other,
    };
    if let Want::Zero = want {
        let above = crate::content_tree::resolve_above(state, id, page);
        let marker = matches!(above, Source::Frame { .. }) || has_visible_ancestor(state, id);
        // A marker of this VMO's own hides one further up, which may then be nobody's.
        let hidden_marker = match above {
            Source::Marker { node, page } if marker => Some((node, page)),
            _ => None,
        };
        return Ok(match (own, above) {
            (Entry::Zero, _) => Plan::Own,
            (Entry::Page(..), _) => Plan::Zero {
                free_above: None,
                marker,
                left: hidden_marker,
            },
            (_, Source::Frame { node, page: slot }) if !is_read(state, node, slot, Some(id)) => {
                Plan::Zero {
                    free_above: Some((node, slot)),
                    marker,
                    left: None,
                }
            }
            (_, Source::Frame { node, page: slot }) => Plan::Zero {
                free_above: None,
                marker,
                left: Some((node, slot)),
            },
            _ if marker => Plan::Zero {
                free_above: None,
                marker,
                left: hidden_marker,
            },
            _ => Plan::Own,
        });
    }
    if let Entry::Page(..) = own {
        return Ok(Plan::Own);
    }
    // A whole-page write needs none of the old content.
    let whole_write = match want {
        Want::Write(bytes) => <&[u8; PAGE_SIZE]>::try_from(bytes).ok(),
        _ => None,
    };
    // The page's own slot holds no frame (checked above), so its content comes from above.
    let source = match own {
        Entry::Zero => Source::Zeros,
        _ => crate::content_tree::resolve_above(state, id, page),
    };
    match source {
        Source::Frame { node, page: slot } => {
            if !is_read(state, node, slot, Some(id)) {
                return Ok(Plan::Take { node, slot });
            }
            let Some(shared) = state.node(node).pages.get(slot) else {
                unreachable!("resolve points at a frame")
            };
            if let Want::FaultCommit { at } = want {
                // The MMU shows the frame at `at` most cheaply: when that is not the shared
                // frame and it is free, the writer gets its copy there.
                let preferred = at
                    .filter(|&at| at != frames.physical_address(shared))
                    .and_then(|at| frames.allocate_copy_at(shared, at));
                if let Some(frame) = preferred {
                    return Ok(Plan::Fresh {
                        frame,
                        left: Some((node, slot)),
                        written: false,
                    });
                }
                // A pinned frame never moves: its reader keeps it, and the writer gets a copy.
                if !state.pins.is_pinned(node, slot) {
                    return Ok(Plan::Swap {
                        copy: frames.allocate_copy(shared)?,
                        node,
                        slot,
                    });
                }
            }
            let frame = match whole_write {
                Some(bytes) => frames.allocate_filled(bytes)?,
                None => frames.allocate_copy(shared)?,
            };
            Ok(Plan::Fresh {
                frame,
                left: Some((node, slot)),
                written: whole_write.is_some(),
            })
        }
        Source::Marker { node, page: slot } => Ok(Plan::Fresh {
            frame: match whole_write {
                Some(bytes) => frames.allocate_filled(bytes)?,
                None => zeroed_at(frames, want)?,
            },
            // The marker above may be nobody's once this page has a frame of its own.
            left: Some((node, slot)),
            written: whole_write.is_some(),
        }),
        Source::Zeros => Ok(Plan::Fresh {
            frame: match whole_write {
                Some(bytes) => frames.allocate_filled(bytes)?,
                None => zeroed_at(frames, want)?,
            },
            left: None,
            written: whole_write.is_some(),
        }),
    }
}

/// A zero-filled frame, where a write fault's MMU prefers it if that one is free.
fn zeroed_at<S: FrameSource>(frames: &S, want: Want<'_>) -> Result<S::Frame, OutOfFrames> {
    match want {
        Want::FaultCommit { at: Some(at) } => match frames.allocate_zeroed_at(at) {
            Some(frame) => Ok(frame),
            None => frames.allocate_zeroed(),
        },
        _ => frames.allocate_zeroed(),
    }
}

/// Each page of an operation with what it wants and what it needs.
type Plans<'a, F> = SmallVec<[(PageSpan, Want<'a>, Plan<F>); 2]>;

/// Plans every page, obtains every frame and page-list slot, then changes the pages. All or
/// nothing: on `NoMemory` the family is as it was.
fn apply<'a, S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    id: NodeId,
    spans: impl Iterator<Item = (PageSpan, Want<'a>)>,
) -> VmResult<()> {
    // Small writes plan a page or two: keep the plans inline.
    let mut plans: Plans<'a, S::Frame> = SmallVec::new();
    let release_all = |plans: Plans<'a, S::Frame>| {
        for (_, _, plan) in plans {
            match plan {
                Plan::Fresh { frame, .. } | Plan::Swap { copy: frame, .. } => frames.release(frame),
                _ => {}
            }
        }
    };
    for (span, want) in spans {
        if plans.try_reserve(1).is_err() {
            release_all(plans);
            return Err(VmError::NoMemory);
        }
        match plan(state, frames, id, &span, want) {
            Ok(plan) => plans.push((span, want, plan)),
            Err(OutOfFrames) => {
                release_all(plans);
                return Err(VmError::NoMemory);
            }
        }
    }
    let needs_slot = |plan: &Plan<S::Frame>| match plan {
        Plan::Own => false,
        Plan::Zero { marker, .. } => *marker,
        Plan::Take { .. } | Plan::Fresh { .. } | Plan::Swap { .. } => true,
    };
    // Shared slots whose frame a swap replaced: whoever translated them must look again. A
    // fault swaps at most one page, but pinning commits many as faults do.
    let mut swapped: SmallVec<[(NodeId, u64); 1]> = SmallVec::new();
    let swaps = plans
        .iter()
        .filter(|(_, _, plan)| matches!(plan, Plan::Swap { .. }))
        .count();
    if swapped.try_reserve(swaps).is_err() {
        release_all(plans);
        return Err(VmError::NoMemory);
    }
    let left_behind = match reserve_records(state, id, &plans) {
        Ok(left_behind) => left_behind,
        Err(error) => {
            release_all(plans);
            return Err(error);
        }
    };
    // The page list last: a failure after its reservation would leave empty chunks behind.
    let slots = plans
        .iter()
        .filter(|(_, _, plan)| needs_slot(plan))
        .map(|(span, _, _)| span.page);
    let pages = &mut state.node_mut(id).pages;
    if let Err(error) = pages.reserve(slots) {
        release_all(plans);
        return Err(error);
    }
    // Pages whose translations go stale: every one that does not stay as it was.
    let changed = plans
        .iter()
        .filter(|(_, _, plan)| !matches!(plan, Plan::Own))
        .fold(None, |acc: Option<core::ops::Range<u64>>, (span, _, _)| {
            let page = span.page;
            Some(match acc {
                Some(range) => range.start.min(page)..range.end.max(page + 1),
                None => page..page + 1,
            })
        });

    // Slots are filled before any is only emptied: emptying the last entry of a chunk drops it,
    // and with it a reservation another page of this operation still needs.
    // Reordered in place (an unstable sort allocates nothing): the order within each group
    // does not matter.
    let mut plans = plans;
    plans.sort_unstable_by_key(|(_, _, plan)| matches!(plan, Plan::Zero { marker: false, .. }));
    for (span, want, plan) in plans {
        match plan {
            Plan::Own => {}
            Plan::Take { node, slot } => {
                note_remove(state, node, slot);
                let Some(frame) = take_out(state, node, slot) else {
                    unreachable!("planned frame is there")
                };
                state.node_mut(id).pages.insert_reserved(span.page, frame);
                note_insert(state, id, span.page, Some(id));
            }
            Plan::Swap { copy, node, slot } => {
                let Some(shared) = state.node_mut(node).pages.get_mut(slot) else {
                    unreachable!("planned frame is there")
                };
                let original = core::mem::replace(shared, copy);
                state
                    .node_mut(id)
                    .pages
                    .insert_reserved(span.page, original);
                note_insert(state, id, span.page, Some(id));
                swapped.push((node, slot));
            }
            Plan::Fresh { frame, written, .. } => {
                state.node_mut(id).pages.insert_reserved(span.page, frame);
                note_insert(state, id, span.page, Some(id));
                if written {
                    continue;
                }
            }
            Plan::Zero {
                free_above, marker, ..
            } => {
                if state.node(id).pages.get(span.page).is_some() {
                    note_remove(state, id, span.page);
                }
                let pages = &mut state.node_mut(id).pages;
                let own = if marker {
                    pages.set_zero_reserved(span.page)
                } else {
                    pages.remove(span.page)
                };
                if let Some(frame) = own {
                    frames.release(frame);
                }
                if let Some((node, slot)) = free_above {
                    note_remove(state, node, slot);
                    if let Some(frame) = state.node_mut(node).pages.remove(slot) {
                        frames.release(frame);
                    }
                }
                continue;
            }
        }
        if let Want::Write(bytes) | Want::ZeroPart(bytes) = want {
            if let Some(frame) = state.node_mut(id).pages.get_mut(span.page) {
                frames.write(frame, span.in_page, bytes);
            }
        }
    }
    // Frames this VMO stopped reading whose payer it was, now that the pages are in place.
    for (node, slot) in left_behind {
        if state.node(node).pages.get(slot).is_some() {
            settle(state, node, slot);
        } else if !state.node(node).is_visible() && !is_read(state, node, slot, None) {
            // A zero marker nobody reads any more (in a hidden node: nobody ever will).
            state.node_mut(node).pages.remove(slot);
        }
    }
    if let Some(changed) = changed {
        invalidate(state, id, changed, Change::Content);
    }
    for (node, slot) in swapped {
        invalidate(state, node, slot..slot + 1, Change::Content);
    }
    Ok(())
}

/// Finds the frames and markers `id` stops reading whose payer it was, grouped by node, and
/// makes room for every attribution carrying out `plans` will record. No plan changes the payer
/// of another's frames, so this can all be done before anything changes.
fn reserve_records<F>(
    state: &mut FamilyState<F>,
    id: NodeId,
    plans: &Plans<'_, F>,
) -> VmResult<SmallVec<[(NodeId, u64); 2]>> {
    let left = plans.iter().filter_map(|(_, _, plan)| match *plan {
        Plan::Fresh { left, .. } | Plan::Zero { left, .. } => left,
        Plan::Swap { node, slot, .. } => Some((node, slot)),
        Plan::Own | Plan::Take { .. } => None,
    });
    // Only the payer leaving can change who pays: the oldest reader is otherwise still reading.
    let matters = |&(node, slot): &(NodeId, u64)| left_matters(state, id, node, slot);
    let mut left_behind = SmallVec::new();
    let count = left.clone().filter(matters).count();
    left_behind
        .try_reserve(count)
        .map_err(|_| VmError::NoMemory)?;
    left_behind.extend(left.filter(matters));
    // Grouped by node for the reservation below; each is settled on its own, in any order.
    left_behind.sort_unstable_by_key(|&(node, _)| node);
    reserve_settling(state, &left_behind, |_, _| true)?;
    let entering = plans
        .iter()
        .filter(|(_, _, plan)| {
            matches!(
                plan,
                Plan::Take { .. } | Plan::Fresh { .. } | Plan::Swap { .. }
            )
        })
        .count();
    reserve_noting(state, id, Some(id), entering)?;
    Ok(left_behind)
}

/// Whether `id` no longer reading slot `slot` of `node` needs attention afterwards: a frame whose
/// payer it was (the oldest reader is otherwise still reading), or a zero marker.
fn left_matters<F>(state: &FamilyState<F>, id: NodeId, node: NodeId, slot: u64) -> bool {
    state.node(node).pages.get(slot).is_none() || stored(state, node, slot) == Some(id)
}

/// Gives node `id` a frame of its own at every page of `pages`, as a write fault would (a frame
/// still shared stays with `id` and its other readers get the copy, see [`Plan::Swap`]). All or
/// nothing. For pinning, whose frames must be the VMO's own.
pub(crate) fn fault_commit<S: FrameSource>(
    state: &mut FamilyState<S::Frame>,
    frames: &S,
    id: NodeId,
    pages: core::ops::Range<u64>,
) -> VmResult<()> {
    let spans = pages.map(|page| {
        let span = PageSpan {
            page,
            in_page: 0,
            len: PAGE_SIZE,
            in_range: 0,
        };
        (span, Want::FaultCommit { at: None })
    });
    apply(state, frames, id, spans)
}
