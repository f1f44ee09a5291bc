//! A deliberately naive reference model of the engine's VMOs and their copy-on-write clones, for
//! the property tests to run side by side with the engine. Nothing here is clever: a page is a
//! *version* id (its bytes live in one global table), "empty", "inherit from my parent",
//! "zero marker" or "lost"; a snapshot copies version ids eagerly; every question (what does this
//! VMO see, which versions can anyone see, who is charged for them) is answered by brute force
//! over every VMO. Each operation checks its arguments in the order the engine documents
//! (`engine/src/vmo.rs`), decides page by page what it needs before changing anything, and then
//! changes plain maps. Where the engine and this file disagree, this file is meant to be the one
//! that is obviously right.
//!
//! The rules, in the words the tests use:
//! - *Observing* VMOs are those with a live handle (slices excepted) and closed non-slice VMOs a
//!   live slice still views. Frames in use are the distinct versions some observing VMO's view
//!   shows at some page; a version is charged to the oldest observing VMO that shows it.
//! - A one-way clone's page is `Inherit` until the clone writes, commits or zeroes it: it then
//!   shows its parent's current view (below the clone's `limit`, zeros past it).
//! - A write or commit of a page keeps the version the VMO sees when nobody else can see that
//!   version (other than the VMO's own one-way descendants reading through it): in place if the
//!   VMO holds it, "moved down" if it inherits it from a closed parent. Otherwise it needs a new
//!   version, which costs one frame.
//! - Content that no observing VMO can see any more is gone for good (its frame is free). A
//!   closed VMO kept only because one-way clones read through it therefore *loses* such pages:
//!   they become [`Page::Lost`], which reads as zeros. Whether a one-way clone that decommits may
//!   see such a page again is the one question these rules leave to [`Model::decommit_reexposes_lost`].

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use vm_engine::{ChildKind, VmError};

/// Bytes in a page. Restated rather than imported so that the model does not inherit a wrong
/// constant from the code it checks; the tests assert that both agree.
pub const PAGE: u64 = 4096;

/// The largest VMO size, restated for the same reason as [`PAGE`].
pub const MAX_VMO_SIZE: u64 = 1 << 48;

/// The bytes of one committed page.
pub type PageBytes = Box<[u8; PAGE as usize]>;

/// A VMO's identity. Ids grow with creation and are never reused, so that ordering them orders
/// VMOs by age, which accounting needs (the oldest observing VMO is charged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VmoId(pub u64);

/// One page's content as a value: two pages that show the same version share one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64);

/// What the model reports about a VMO, field for field what the engine's `VmoInfo` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    pub size: u64,
    pub committed_bytes: u64,
    pub populated_bytes: u64,
    pub resizable: bool,
    pub kind: Option<ChildKind>,
    pub num_children: u64,
}

/// The state of one page of a non-slice VMO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    /// Reads zeros (roots and snapshots: never written, decommitted or zeroed).
    Empty,
    /// Shows this version.
    Holds(Version),
    /// One-way clones only: shows the parent's view at `offset + page` below `limit`, zeros past
    /// it.
    Inherit,
    /// Reads zeros and never inherits again (a zeroed page of a one-way clone).
    ZeroMarker,
    /// A closed VMO's page that no observing VMO could see any more: its content is gone. Reads
    /// as zeros.
    Lost,
}

/// A one-way clone's view of its parent, in pages of the parent (a non-slice VMO).
#[derive(Clone, Copy, Debug)]
struct Link {
    parent: VmoId,
    offset: u64,
    limit: u64,
}

#[derive(Clone, Debug)]
enum Body {
    /// A VMO with pages of its own. Pages not in the map are `Inherit` when `link` is set (a
    /// one-way clone) and `Empty` otherwise. Invariant: every key is below the size. (A one-way
    /// clone's `ZeroMarker` at or past its `limit` reads the same as `Inherit` there; it is kept
    /// anyway, because the engine keeps its marker too and the guards ask about them.)
    Pages {
        pages: BTreeMap<u64, Page>,
        link: Option<Link>,
    },
    /// A window onto `target`'s pages starting `offset` pages in; `target` is never a slice.
    Slice { target: VmoId, offset: u64 },
}

/// One VMO of the model. A record exists while the VMO does in the engine's user tree: while it
/// is open or has an existing child.
#[derive(Clone, Debug)]
struct ModelVmo {
    size: u64,
    resizable: bool,
    kind: Option<ChildKind>,
    open: bool,
    user_parent: Option<VmoId>,
    /// The root VMO this one descends from.
    family: VmoId,
    body: Body,
}

impl ModelVmo {
    fn pages(&self) -> u64 {
        self.size / PAGE
    }

    fn link(&self) -> Option<Link> {
        match self.body {
            Body::Pages { link, .. } => link,
            Body::Slice { .. } => None,
        }
    }

    fn is_slice(&self) -> bool {
        matches!(self.body, Body::Slice { .. })
    }

    /// The state of `page` of a non-slice VMO.
    fn page(&self, page: u64) -> Page {
        match &self.body {
            Body::Pages { pages, link } => match pages.get(&page) {
                Some(&state) => state,
                None if link.is_some() => Page::Inherit,
                None => Page::Empty,
            },
            Body::Slice { .. } => unreachable!("model: pages of a slice"),
        }
    }

    /// Sets `page` of a non-slice VMO (a state equal to the default leaves no entry).
    fn set_page(&mut self, page: u64, state: Page) {
        assert!(page < self.pages(), "model: page {page} past the end");
        let Body::Pages { pages, link } = &mut self.body else {
            unreachable!("model: pages of a slice");
        };
        let default = match link {
            Some(_) => Page::Inherit,
            None => Page::Empty,
        };
        if state == default {
            pages.remove(&page);
        } else {
            pages.insert(page, state);
        }
    }

    /// The explicit entries of a non-slice VMO.
    fn entries(&self) -> &BTreeMap<u64, Page> {
        match &self.body {
            Body::Pages { pages, .. } => pages,
            Body::Slice { .. } => unreachable!("model: pages of a slice"),
        }
    }

    fn entries_mut(&mut self) -> &mut BTreeMap<u64, Page> {
        match &mut self.body {
            Body::Pages { pages, .. } => pages,
            Body::Slice { .. } => unreachable!("model: pages of a slice"),
        }
    }
}

/// What every VMO sees, computed from scratch: for each non-slice VMO, the pages whose view is a
/// version; and which VMOs observe.
struct Views {
    maps: BTreeMap<VmoId, BTreeMap<u64, Version>>,
    observers: BTreeSet<VmoId>,
}

impl Views {
    /// Every version some observing VMO shows.
    fn visible(&self) -> BTreeSet<Version> {
        self.observers
            .iter()
            .flat_map(|o| self.maps[o].values().copied())
            .collect()
    }
}

/// What one page of a write, commit or zero will do, decided before anything changes.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Nothing changes.
    Nothing,
    /// The VMO ends up holding this version (it held it already, or it was the last to see it);
    /// no frame.
    Keep(Version),
    /// A new version, a copy of `base` (or zeros): one frame.
    Fresh(Option<Version>),
    /// The page becomes this state; no frame.
    Set(Page),
}

/// Every VMO, every version's bytes, and the frame limit.
#[derive(Clone, Debug, Default)]
pub struct Model {
    vmos: BTreeMap<VmoId, ModelVmo>,
    versions: BTreeMap<Version, PageBytes>,
    next_id: u64,
    next_version: u64,
    /// `None`: no limit.
    frame_limit: Option<u64>,
}

/// `[offset, offset + len)` if it neither overflows nor passes `size`; an empty range at
/// `offset == size` is valid.
fn checked_range(offset: u64, len: u64, size: u64) -> Result<Range<u64>, VmError> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(offset..end),
        _ => Err(VmError::OutOfRange),
    }
}

/// Pages that `bytes` touches, partly or wholly. The range was checked against a VMO size of at
/// most 2^48, so rounding its end up cannot overflow.
fn touched_pages(bytes: &Range<u64>) -> Range<u64> {
    if bytes.is_empty() {
        return 0..0;
    }
    bytes.start / PAGE..bytes.end.div_ceil(PAGE)
}

/// The part of `page` that `bytes` covers, as offsets within the page.
fn part_of(page: u64, bytes: &Range<u64>) -> Range<usize> {
    let start = page * PAGE;
    let from = bytes.start.max(start) - start;
    let to = bytes.end.min(start + PAGE) - start;
    from as usize..to as usize
}

/// `size` rounded up to pages, if that fits a `u64` and stays within [`MAX_VMO_SIZE`].
fn checked_size(size: u64) -> Result<u64, VmError> {
    match size.checked_add(PAGE - 1) {
        Some(padded) if padded / PAGE * PAGE <= MAX_VMO_SIZE => Ok(padded / PAGE * PAGE),
        _ => Err(VmError::OutOfRange),
    }
}

/// One page of an operation: the page, what happens to it, and the bytes written into it (at
/// which place of the page), if any.
type PagePlan<'a> = (u64, Plan, Option<(Range<usize>, &'a [u8])>);

impl Model {
    /// A model with no VMO, no frame in use and no limit.
    pub fn new() -> Self {
        Self::default()
    }

    // -- Looking things up ---------------------------------------------------------------------

    fn vmo(&self, id: VmoId) -> &ModelVmo {
        match self.vmos.get(&id) {
            Some(vmo) => vmo,
            None => panic!("model: {id:?} does not exist"),
        }
    }

    fn vmo_mut(&mut self, id: VmoId) -> &mut ModelVmo {
        match self.vmos.get_mut(&id) {
            Some(vmo) => vmo,
            None => panic!("model: {id:?} does not exist"),
        }
    }

    /// VMOs with a live handle, oldest first.
    pub fn live(&self) -> impl Iterator<Item = VmoId> + '_ {
        self.vmos.iter().filter(|(_, v)| v.open).map(|(&id, _)| id)
    }

    /// The root VMO `id` descends from: VMOs with the same root share an engine family.
    pub fn family(&self, id: VmoId) -> VmoId {
        self.vmo(id).family
    }

    /// Size in bytes.
    pub fn size(&self, id: VmoId) -> u64 {
        self.vmo(id).size
    }

    /// Whether `id` is a one-way clone or a slice of one: a zero of it must mark every page it
    /// covers (the engine visits each), so callers keep such ranges short.
    pub fn zero_marks_every_page(&self, id: VmoId) -> bool {
        let (target, _) = self.target(id);
        self.vmo(target).link().is_some()
    }

    /// The non-slice VMO whose pages `id` shows and the page where `id`'s window starts in it.
    fn target(&self, id: VmoId) -> (VmoId, u64) {
        match self.vmo(id).body {
            Body::Slice { target, offset } => (target, offset),
            Body::Pages { .. } => (id, 0),
        }
    }

    /// What non-slice `id` shows at `page` (`None`: zeros).
    fn view_of_target(&self, mut id: VmoId, mut page: u64) -> Option<Version> {
        loop {
            let vmo = self.vmo(id);
            assert!(page < vmo.pages(), "model: view of {id:?} past its end");
            match vmo.page(page) {
                Page::Holds(version) => return Some(version),
                Page::Inherit => match vmo.link() {
                    Some(link) if page < link.limit => {
                        (id, page) = (link.parent, link.offset + page)
                    }
                    _ => return None,
                },
                Page::Empty | Page::ZeroMarker | Page::Lost => return None,
            }
        }
    }

    /// What `id` (any VMO) shows at `page` (`None`: zeros).
    pub fn view(&self, id: VmoId, page: u64) -> Option<Version> {
        assert!(page < self.vmo(id).pages(), "model: view past the end");
        let (target, base) = self.target(id);
        self.view_of_target(target, base + page)
    }

    /// The bytes `id` shows at `page` (`None`: all zeros).
    pub fn page(&self, id: VmoId, page: u64) -> Option<&[u8; PAGE as usize]> {
        self.view(id, page).map(|v| &*self.versions[&v])
    }

    /// Whether the chain of pages `(id, page)` reads through passes through `(via, via_page)`.
    fn reads_through(&self, mut id: VmoId, mut page: u64, via: VmoId, via_page: u64) -> bool {
        loop {
            if (id, page) == (via, via_page) {
                return true;
            }
            let vmo = self.vmo(id);
            match (vmo.page(page), vmo.link()) {
                (Page::Inherit, Some(link)) if page < link.limit => {
                    (id, page) = (link.parent, link.offset + page);
                }
                _ => return false,
            }
        }
    }

    fn is_observing(&self, id: VmoId) -> bool {
        let vmo = self.vmo(id);
        !vmo.is_slice()
            && (vmo.open
                || self.vmos.values().any(|s| {
                    s.open && matches!(s.body, Body::Slice { target, .. } if target == id)
                }))
    }

    /// Every non-slice VMO's versions by page, and the observing VMOs.
    fn views(&self) -> Views {
        let mut maps: BTreeMap<VmoId, BTreeMap<u64, Version>> = BTreeMap::new();
        // Parents are older than their children, so their maps are ready first.
        for (&id, vmo) in &self.vmos {
            if vmo.is_slice() {
                continue;
            }
            let mut map: BTreeMap<u64, Version> = vmo
                .entries()
                .iter()
                .filter_map(|(&p, &state)| match state {
                    Page::Holds(v) => Some((p, v)),
                    _ => None,
                })
                .collect();
            if let Some(link) = vmo.link() {
                let parent = &maps[&link.parent];
                for (&at, &version) in parent.range(link.offset..link.offset + link.limit) {
                    let page = at - link.offset;
                    if vmo.page(page) == Page::Inherit {
                        map.insert(page, version);
                    }
                }
            }
            maps.insert(id, map);
        }
        let observers = self
            .vmos
            .keys()
            .copied()
            .filter(|&id| self.is_observing(id))
            .collect();
        Views { maps, observers }
    }

    /// Frames in use: the distinct versions observing VMOs show.
    pub fn frames_in_use(&self) -> u64 {
        self.views().visible().len() as u64
    }

    /// Versions some observing VMO shows, for callers remembering frame addresses.
    pub fn visible_versions(&self) -> BTreeSet<Version> {
        self.views().visible()
    }

    /// Pages of `id` whose view is a version.
    pub fn version_pages(&self, id: VmoId) -> Vec<u64> {
        let views = self.views();
        let (target, base) = self.target(id);
        let window = base..base + self.vmo(id).pages();
        views.maps[&target]
            .range(window)
            .map(|(&p, _)| p - base)
            .collect()
    }

    /// Size, accounting, kind and children of every VMO with a live handle.
    pub fn infos(&self) -> BTreeMap<VmoId, ModelInfo> {
        let views = self.views();
        // The oldest observing VMO showing each version is charged for it.
        let mut charged: BTreeMap<Version, VmoId> = BTreeMap::new();
        for &o in &views.observers {
            for &v in views.maps[&o].values() {
                charged.entry(v).or_insert(o);
            }
        }
        self.live()
            .map(|id| {
                let vmo = self.vmo(id);
                let (target, base) = self.target(id);
                let window = base..base + vmo.pages();
                let shown = &views.maps[&target];
                let populated = shown.range(window).count() as u64;
                let committed = if vmo.is_slice() {
                    // The oldest open slice of a closed target reports the target's charge.
                    let oldest_slice = self
                        .vmos
                        .iter()
                        .filter(|(_, s)| {
                            s.open && matches!(s.body, Body::Slice { target: t, .. } if t == target)
                        })
                        .map(|(&slice, _)| slice)
                        .min();
                    if !self.vmo(target).open && oldest_slice == Some(id) {
                        shown.values().filter(|v| charged[v] == target).count() as u64
                    } else {
                        0
                    }
                } else {
                    shown.values().filter(|v| charged[v] == id).count() as u64
                };
                let num_children = self
                    .vmos
                    .values()
                    .filter(|c| c.user_parent == Some(id))
                    .count() as u64;
                let info = ModelInfo {
                    size: vmo.size,
                    committed_bytes: committed * PAGE,
                    populated_bytes: populated * PAGE,
                    resizable: vmo.resizable,
                    kind: vmo.kind,
                    num_children,
                };
                (id, info)
            })
            .collect()
    }

    // -- Frames --------------------------------------------------------------------------------

    /// Sets (`Some`) or removes (`None`) the frame limit. Frames already in use stay in use.
    pub fn set_frame_limit(&mut self, limit: Option<u64>) {
        self.frame_limit = limit;
    }

    /// Succeeds if `needed` more frames fit under the limit. An operation that needs no frame
    /// never fails for lack of memory, even when a lowered limit is already exceeded.
    fn reserve(&self, views: &Views, needed: u64) -> Result<(), VmError> {
        match self.frame_limit {
            Some(limit) if needed > 0 && views.visible().len() as u64 + needed > limit => {
                Err(VmError::NoMemory)
            }
            _ => Ok(()),
        }
    }

    /// Whether an observing VMO shows `version` other than by reading through `(id, page)`.
    fn seen_elsewhere(&self, views: &Views, version: Version, id: VmoId, page: u64) -> bool {
        views.observers.iter().any(|&o| {
            views.maps[&o]
                .iter()
                .any(|(&at, &v)| v == version && !self.reads_through(o, at, id, page))
        })
    }

    /// What making page `page` of non-slice `id` its own takes (a write or a commit).
    fn plan_own(&self, views: &Views, id: VmoId, page: u64) -> Plan {
        match self.view_of_target(id, page) {
            None => Plan::Fresh(None),
            Some(v) if self.seen_elsewhere(views, v, id, page) => Plan::Fresh(Some(v)),
            Some(v) => Plan::Keep(v),
        }
    }

    /// Runs `plans` on non-slice `id` if their frames fit: all or nothing. Each plan may come
    /// with bytes to write at a place in the page.
    fn execute(
        &mut self,
        views: &Views,
        id: VmoId,
        plans: Vec<PagePlan<'_>>,
    ) -> Result<(), VmError> {
        let needed = plans
            .iter()
            .filter(|(_, plan, _)| matches!(plan, Plan::Fresh(_)))
            .count() as u64;
        self.reserve(views, needed)?;
        for (page, plan, bytes) in plans {
            let version = match plan {
                Plan::Nothing => continue,
                Plan::Set(state) => {
                    self.vmo_mut(id).set_page(page, state);
                    continue;
                }
                Plan::Keep(v) => {
                    // Any other page holding `v` is one nobody can see any more.
                    for (&other, vmo) in self.vmos.iter_mut() {
                        if other == id || vmo.is_slice() {
                            continue;
                        }
                        for state in vmo.entries_mut().values_mut() {
                            if *state == Page::Holds(v) {
                                *state = Page::Lost;
                            }
                        }
                    }
                    v
                }
                Plan::Fresh(base) => {
                    let bytes = match base {
                        Some(base) => self.versions[&base].clone(),
                        None => Box::new([0; PAGE as usize]),
                    };
                    let v = Version(self.next_version);
                    self.next_version += 1;
                    self.versions.insert(v, bytes);
                    v
                }
            };
            self.vmo_mut(id).set_page(page, Page::Holds(version));
            if let Some((at, bytes)) = bytes {
                match self.versions.get_mut(&version) {
                    Some(frame) => frame[at].copy_from_slice(bytes),
                    None => unreachable!("model: version without bytes"),
                }
            }
        }
        Ok(())
    }

    /// Whether slot `(id, page)` of a non-slice VMO is read by an observing VMO (itself, or a
    /// one-way descendant reading through it).
    fn slot_observed(&self, views: &Views, id: VmoId, page: u64) -> bool {
        if views.observers.contains(&id) {
            return true;
        }
        self.vmos.iter().any(|(&child, vmo)| match vmo.link() {
            Some(link) if link.parent == id => page
                .checked_sub(link.offset)
                .filter(|&at| at < link.limit && vmo.page(at) == Page::Inherit)
                .is_some_and(|at| self.slot_observed(views, child, at)),
            _ => false,
        })
    }

    /// After every change: pages of VMOs that do not observe, which no observing VMO can see
    /// any more, are lost; versions no page holds are forgotten.
    fn collect(&mut self) {
        let views = self.views();
        let visible = views.visible();
        let mut lost: Vec<(VmoId, u64)> = Vec::new();
        for (&id, vmo) in &self.vmos {
            if vmo.is_slice() || views.observers.contains(&id) {
                continue;
            }
            for (&page, &state) in vmo.entries() {
                let gone = match state {
                    Page::Holds(v) => !visible.contains(&v),
                    Page::ZeroMarker => !self.slot_observed(&views, id, page),
                    _ => false,
                };
                if gone {
                    lost.push((id, page));
                }
            }
        }
        for (id, page) in lost {
            self.vmo_mut(id).set_page(page, Page::Lost);
        }
        let held: BTreeSet<Version> = self
            .vmos
            .values()
            .filter(|v| !v.is_slice())
            .flat_map(|v| v.entries().values())
            .filter_map(|state| match state {
                Page::Holds(v) => Some(*v),
                _ => None,
            })
            .collect();
        self.versions.retain(|v, _| held.contains(v));
    }

    // -- Operations ----------------------------------------------------------------------------

    fn add(&mut self, vmo: ModelVmo) -> VmoId {
        let id = VmoId(self.next_id);
        self.next_id += 1;
        let family = vmo.user_parent.map_or(id, |p| self.vmo(p).family);
        self.vmos.insert(id, ModelVmo { family, ..vmo });
        id
    }

    /// A new VMO of `size` bytes rounded up to pages, with nothing committed.
    pub fn create(&mut self, size: u64, resizable: bool) -> Result<VmoId, VmError> {
        let size = checked_size(size)?;
        Ok(self.add(ModelVmo {
            size,
            resizable,
            kind: None,
            open: true,
            user_parent: None,
            family: VmoId(0),
            body: Body::Pages {
                pages: BTreeMap::new(),
                link: None,
            },
        }))
    }

    /// A child of `parent` of `kind`: a window of `size` bytes (rounded up) at `offset`.
    pub fn create_child(
        &mut self,
        parent: VmoId,
        kind: ChildKind,
        offset: u64,
        size: u64,
        resizable: bool,
    ) -> Result<VmoId, VmError> {
        let size = checked_size(size)?;
        if offset % PAGE != 0 {
            return Err(VmError::InvalidArgs);
        }
        offset.checked_add(size).ok_or(VmError::OutOfRange)?;
        if kind == ChildKind::Slice && resizable {
            return Err(VmError::InvalidArgs);
        }
        let (target, base) = self.target(parent);
        let parent_size = self.size(parent);
        let (offset, pages) = (offset / PAGE, size / PAGE);
        // Pages of the child that see the parent's window: zeros past the parent's end.
        let limit = pages.min((parent_size / PAGE).saturating_sub(offset));
        let body = match kind {
            ChildKind::Slice => {
                if offset + pages > parent_size / PAGE {
                    return Err(VmError::OutOfRange);
                }
                if self.vmo(target).resizable {
                    return Err(VmError::NotSupported);
                }
                Body::Slice {
                    target,
                    offset: base + offset,
                }
            }
            ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite => {
                // An eager copy of the version ids the parent shows.
                let views = self.views();
                let start = base + offset;
                let shown: Vec<(u64, Version)> = views.maps[&target]
                    .range(start..start + limit)
                    .map(|(&p, &v)| (p - start, v))
                    .collect();
                // Below a one-way clone the engine copies every shown page into new frames: new
                // versions with the same bytes.
                let fresh = self.vmo(target).kind == Some(ChildKind::OneWay);
                if fresh {
                    self.reserve(&views, shown.len() as u64)?;
                }
                let pages = shown
                    .into_iter()
                    .map(|(p, v)| {
                        if !fresh {
                            return (p, Page::Holds(v));
                        }
                        let copy = Version(self.next_version);
                        self.next_version += 1;
                        let bytes = self.versions[&v].clone();
                        self.versions.insert(copy, bytes);
                        (p, Page::Holds(copy))
                    })
                    .collect();
                Body::Pages { pages, link: None }
            }
            ChildKind::OneWay => Body::Pages {
                pages: BTreeMap::new(),
                link: Some(Link {
                    parent: target,
                    offset: base + offset,
                    limit,
                }),
            },
        };
        let id = self.add(ModelVmo {
            size,
            resizable,
            kind: Some(kind),
            open: true,
            user_parent: Some(parent),
            family: VmoId(0),
            body,
        });
        self.collect();
        Ok(id)
    }

    /// Closes the handle to `id`. The record stays while it has existing children.
    pub fn close(&mut self, id: VmoId) {
        let vmo = self.vmo_mut(id);
        assert!(vmo.open, "model: {id:?} closed twice");
        vmo.open = false;
        let mut at = Some(id);
        while let Some(id) = at {
            let vmo = self.vmo(id);
            if vmo.open || self.vmos.values().any(|c| c.user_parent == Some(id)) {
                break;
            }
            at = vmo.user_parent;
            self.vmos.remove(&id);
        }
        self.collect();
    }

    /// `len` bytes from `offset`; pages showing no version read as zeros.
    pub fn read(&self, id: VmoId, offset: u64, len: usize) -> Result<Vec<u8>, VmError> {
        let bytes = checked_range(offset, len as u64, self.size(id))?;
        let mut out = Vec::with_capacity(len);
        for page in touched_pages(&bytes) {
            let part = part_of(page, &bytes);
            match self.page(id, page) {
                Some(frame) => out.extend_from_slice(&frame[part]),
                None => out.resize(out.len() + part.len(), 0),
            }
        }
        Ok(out)
    }

    /// Writes `data` at `offset`; every page it touches becomes the VMO's own.
    pub fn write(&mut self, id: VmoId, offset: u64, data: &[u8]) -> Result<(), VmError> {
        let bytes = checked_range(offset, data.len() as u64, self.size(id))?;
        let (target, base) = self.target(id);
        let views = self.views();
        let plans = touched_pages(&bytes)
            .map(|page| {
                let part = part_of(page, &bytes);
                let start = (page * PAGE + part.start as u64 - bytes.start) as usize;
                let src = &data[start..start + part.len()];
                (
                    base + page,
                    self.plan_own(&views, target, base + page),
                    Some((part, src)),
                )
            })
            .collect();
        self.execute(&views, target, plans)?;
        self.collect();
        Ok(())
    }

    /// Commits every page `[offset, offset + len)` touches: each becomes the VMO's own, with the
    /// content it showed.
    pub fn commit(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let bytes = checked_range(offset, len, self.size(id))?;
        let (target, base) = self.target(id);
        let views = self.views();
        let plans = touched_pages(&bytes)
            .map(|page| {
                (
                    base + page,
                    self.plan_own(&views, target, base + page),
                    None,
                )
            })
            .collect();
        self.execute(&views, target, plans)?;
        self.collect();
        Ok(())
    }

    /// Whether an existing child of `id` is not a slice.
    fn has_non_slice_child(&self, id: VmoId) -> bool {
        self.vmos
            .values()
            .any(|c| c.user_parent == Some(id) && !c.is_slice())
    }

    /// Frees the pages of a page-aligned range: a one-way clone shows its parent there again,
    /// anything else zeros. Range first, then an empty range succeeds, then snapshots and VMOs
    /// with non-slice children refuse, then alignment.
    pub fn decommit(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let bytes = checked_range(offset, len, self.size(id))?;
        if bytes.is_empty() {
            return Ok(());
        }
        let (target, base) = self.target(id);
        let snapshot = matches!(
            self.vmo(target).kind,
            Some(ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite)
        );
        // A snapshot taken through a slice shares the target's pages just as a direct child
        // would, so it counts as one, open or closed.
        if snapshot || self.has_non_slice_child(target) || self.has_snapshot_through_slice(target) {
            return Err(VmError::NotSupported);
        }
        if offset % PAGE != 0 || len % PAGE != 0 {
            return Err(VmError::InvalidArgs);
        }
        let pages = touched_pages(&bytes);
        let range = base + pages.start..base + pages.end;
        let entries = self.vmo_mut(target).entries_mut();
        let held: Vec<u64> = entries.range(range).map(|(&p, _)| p).collect();
        for page in held {
            entries.remove(&page);
        }
        self.collect();
        Ok(())
    }

    /// Whether the VMO `id` shows pages of has a snapshot child created through one of its
    /// slices (which then shares its pages, so decommit refuses).
    pub fn has_snapshot_through_slice(&self, id: VmoId) -> bool {
        let (target, _) = self.target(id);
        // Below a one-way clone snapshots are eager copies and share nothing.
        if self.vmo(target).kind == Some(ChildKind::OneWay) {
            return false;
        }
        self.vmos.values().any(|c| {
            matches!(
                c.kind,
                Some(ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite)
            ) && c
                .user_parent
                .is_some_and(|p| self.vmo(p).is_slice() && self.target(p).0 == target)
        })
    }

    /// Zeroes exactly `[offset, offset + len)`. Whole pages lose their content without a frame
    /// (a one-way clone keeps a zero marker so its parent cannot show through); a partly covered
    /// page showing a version is written with zeros (which may need a frame), one showing zeros
    /// is left alone except that a one-way clone marks it.
    pub fn zero(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let bytes = checked_range(offset, len, self.size(id))?;
        let (target, base) = self.target(id);
        let one_way = self.vmo(target).link().is_some();
        let whole_state = if one_way {
            Page::ZeroMarker
        } else {
            Page::Empty
        };
        let touched = touched_pages(&bytes);
        // Pages worth visiting: those with an entry, the edges, and for a one-way clone every
        // page (each gets a marker).
        let mut visit: BTreeSet<u64> = self
            .vmo(target)
            .entries()
            .range(base + touched.start..base + touched.end)
            .map(|(&p, _)| p - base)
            .collect();
        if !touched.is_empty() {
            visit.extend([touched.start, touched.end - 1]);
        }
        if one_way {
            // The callers keep these ranges short, as the engine visits every page too.
            assert!(
                touched.end - touched.start <= 1 << 20,
                "model: zero range too long"
            );
            visit.extend(touched.clone());
        }
        const ZEROS: [u8; PAGE as usize] = [0; PAGE as usize];
        let views = self.views();
        let plans = visit
            .into_iter()
            .map(|page| {
                let part = part_of(page, &bytes);
                let at = base + page;
                let plan = if part.len() == PAGE as usize {
                    Plan::Set(whole_state)
                } else {
                    match self.view_of_target(target, at) {
                        None if one_way => Plan::Set(Page::ZeroMarker),
                        None => Plan::Nothing,
                        Some(_) => self.plan_own(&views, target, at),
                    }
                };
                let len = part.len();
                (at, plan, Some((part, &ZEROS[..len])))
            })
            .collect();
        self.execute(&views, target, plans)?;
        self.collect();
        Ok(())
    }

    /// The versions a lookup of `[offset, offset + len)` into a buffer of `buffer_len` entries
    /// reports, in order. Checks: empty length, range, buffer room, then every page showing a
    /// version.
    pub fn lookup(
        &self,
        id: VmoId,
        offset: u64,
        len: u64,
        buffer_len: usize,
    ) -> Result<Vec<Version>, VmError> {
        if len == 0 {
            return Err(VmError::InvalidArgs);
        }
        let bytes = checked_range(offset, len, self.size(id))?;
        let pages = touched_pages(&bytes);
        if (buffer_len as u64) < pages.end - pages.start {
            return Err(VmError::BufferTooSmall);
        }
        // The buffer check bounds this loop by the caller's buffer.
        pages
            .map(|page| self.view(id, page).ok_or(VmError::NotCommitted))
            .collect()
    }

    /// Changes the size to `size` rounded up to pages. Shrinking drops the pages past the new
    /// end and clips for ever what this VMO and its one-way clones see of their parents.
    pub fn set_size(&mut self, id: VmoId, size: u64) -> Result<(), VmError> {
        if !self.vmo(id).resizable {
            return Err(VmError::NotResizable);
        }
        let size = checked_size(size)?;
        let pages = size / PAGE;
        let vmo = self.vmo_mut(id);
        vmo.entries_mut().retain(|&p, _| p < pages);
        vmo.size = size;
        if let Body::Pages {
            link: Some(link), ..
        } = &mut vmo.body
        {
            link.limit = link.limit.min(pages);
        }
        let children: Vec<VmoId> = self
            .vmos
            .iter()
            .filter(|(_, c)| c.link().is_some_and(|l| l.parent == id))
            .map(|(&c, _)| c)
            .collect();
        for child in children {
            if let Body::Pages {
                link: Some(link), ..
            } = &mut self.vmo_mut(child).body
            {
                link.limit = link.limit.min(pages.saturating_sub(link.offset));
            }
        }
        self.collect();
        Ok(())
    }

    /// Checks the model against itself.
    pub fn check(&self) {
        let views = self.views();
        for (id, vmo) in &self.vmos {
            assert_eq!(vmo.size % PAGE, 0, "model: {id:?} size not whole pages");
            assert!(vmo.size <= MAX_VMO_SIZE, "model: {id:?} too large");
            if let Some(parent) = vmo.user_parent {
                assert!(self.vmos.contains_key(&parent), "model: {id:?} orphaned");
            }
            assert!(
                vmo.open || self.vmos.values().any(|c| c.user_parent == Some(*id)),
                "model: {id:?} kept for nothing"
            );
            match &vmo.body {
                Body::Slice { target, offset } => {
                    let target = self.vmo(*target);
                    assert!(!target.is_slice(), "model: slice of a slice record");
                    assert!(
                        offset + vmo.pages() <= target.pages(),
                        "model: slice too long"
                    );
                }
                Body::Pages { pages, link } => {
                    if let Some((&last, _)) = pages.last_key_value() {
                        assert!(
                            last < vmo.pages(),
                            "model: {id:?} holds a page past its end"
                        );
                    }
                    for state in pages.values() {
                        if let Page::Holds(v) = state {
                            assert!(self.versions.contains_key(v), "model: unknown version");
                        }
                    }
                    if let Some(link) = link {
                        let parent = self.vmo(link.parent);
                        assert!(!parent.is_slice(), "model: one-way clone of a slice record");
                        assert!(link.limit <= vmo.pages(), "model: limit past the end");
                        assert!(
                            link.limit == 0 || link.offset + link.limit <= parent.pages(),
                            "model: {id:?} inherits past its parent's end"
                        );
                    }
                }
            }
            // A VMO shows each version at most once.
            if let Some(map) = views.maps.get(id) {
                let distinct: BTreeSet<_> = map.values().collect();
                assert_eq!(
                    distinct.len(),
                    map.len(),
                    "model: {id:?} shows a version twice"
                );
            }
        }
    }
}
