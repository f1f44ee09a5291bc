//! A deliberately naive reference model of the engine's VMOs, for the property tests to run side
//! by side with the engine. Every VMO is a size, a resizable flag and a sparse map from page index
//! to that page's bytes; one counter says how many frames the whole system holds, against an
//! optional limit. Nothing here is clever: each operation checks its arguments in the order the
//! engine documents (`engine/src/vmo.rs`), asks for every frame it needs before changing
//! anything, and then changes plain maps. Where the engine and this file disagree, this file is
//! meant to be the one that is obviously right.
//!
//! The model is laid out for copy-on-write clones to join later (`DESIGN.md`, "How we know it
//! works"): VMOs live in one [`Model`] and are addressed by a [`VmoId`] given in creation order
//! (the oldest living holder of a shared version is charged for it); every question "which frames
//! must this operation allocate", "what does this VMO see at this page", "make this page the VMO's
//! own" and "drop this VMO's page" goes through one helper each ([`Model::frames_needed`],
//! [`Model::page`], [`Model::own_page`], [`Model::release_page`]). A page then becomes a version
//! id (or "inherit from the parent") instead of bytes, and only those helpers and the accounting
//! in [`Model::info`] have to learn about sharing.

use std::collections::BTreeMap;
use std::ops::Range;

use vm_engine::VmError;

/// Bytes in a page. Restated rather than imported so that the model does not inherit a wrong
/// constant from the code it checks; the tests assert that both agree.
pub const PAGE: u64 = 4096;

/// The largest VMO size, restated for the same reason as [`PAGE`].
pub const MAX_VMO_SIZE: u64 = 1 << 48;

/// The bytes of one committed page.
pub type PageBytes = Box<[u8; PAGE as usize]>;

/// A VMO's identity. Ids grow with creation and are never reused, so that ordering them orders
/// VMOs by age, which copy-on-write accounting will need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VmoId(pub u64);

/// What the model reports about a VMO, field for field what the engine's `VmoInfo` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    pub size: u64,
    pub committed_bytes: u64,
    pub populated_bytes: u64,
    pub resizable: bool,
}

/// One VMO of the model.
#[derive(Debug)]
pub struct ModelVmo {
    size: u64,
    resizable: bool,
    /// Committed pages, each holding its own frame. Invariant: every key is below
    /// `size / PAGE`.
    pages: BTreeMap<u64, PageBytes>,
}

/// Every VMO and the frame counter they share.
#[derive(Debug, Default)]
pub struct Model {
    vmos: BTreeMap<VmoId, ModelVmo>,
    next_id: u64,
    /// Frames held by all live VMOs together. Kept as its own counter (rather than summed on
    /// demand) because with clones it stops being a plain sum over VMOs; [`Model::check`]
    /// recomputes it from scratch.
    frames_in_use: u64,
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

/// `size` rounded up to pages, if that fits a `u64` and stays within [`MAX_VMO_SIZE`].
fn checked_size(size: u64) -> Result<u64, VmError> {
    match size.checked_add(PAGE - 1) {
        Some(padded) if padded / PAGE * PAGE <= MAX_VMO_SIZE => Ok(padded / PAGE * PAGE),
        _ => Err(VmError::OutOfRange),
    }
}

impl Model {
    /// A model with no VMO, no frame in use and no limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames held by all live VMOs.
    pub fn frames_in_use(&self) -> u64 {
        self.frames_in_use
    }

    /// Sets (`Some`) or removes (`None`) the frame limit. Frames already in use stay in use.
    pub fn set_frame_limit(&mut self, limit: Option<u64>) {
        self.frame_limit = limit;
    }

    /// Live VMOs, oldest first.
    pub fn live(&self) -> impl Iterator<Item = VmoId> + '_ {
        self.vmos.keys().copied()
    }

    /// Whether `id` names a live VMO.
    pub fn is_live(&self, id: VmoId) -> bool {
        self.vmos.contains_key(&id)
    }

    fn vmo(&self, id: VmoId) -> &ModelVmo {
        match self.vmos.get(&id) {
            Some(vmo) => vmo,
            None => panic!("model: {id:?} is not a live VMO"),
        }
    }

    fn vmo_mut(&mut self, id: VmoId) -> &mut ModelVmo {
        match self.vmos.get_mut(&id) {
            Some(vmo) => vmo,
            None => panic!("model: {id:?} is not a live VMO"),
        }
    }

    /// Size in bytes.
    pub fn size(&self, id: VmoId) -> u64 {
        self.vmo(id).size
    }

    /// Size, accounting and flags. Without sharing, a VMO is charged for exactly the pages it
    /// holds, and those are also all it can see.
    pub fn info(&self, id: VmoId) -> ModelInfo {
        let vmo = self.vmo(id);
        let committed = vmo.pages.len() as u64 * PAGE;
        ModelInfo {
            size: vmo.size,
            committed_bytes: committed,
            populated_bytes: committed,
            resizable: vmo.resizable,
        }
    }

    /// Whether `page` of `id` holds a frame.
    pub fn is_committed(&self, id: VmoId, page: u64) -> bool {
        self.vmo(id).pages.contains_key(&page)
    }

    /// Indices of the committed pages of `id`, ascending.
    pub fn committed_pages(&self, id: VmoId) -> Vec<u64> {
        self.vmo(id).pages.keys().copied().collect()
    }

    /// The bytes `id` sees at `page` (`None`: all zeros).
    pub fn page(&self, id: VmoId, page: u64) -> Option<&[u8; PAGE as usize]> {
        self.vmo(id).pages.get(&page).map(|bytes| &**bytes)
    }

    /// How many new frames `id` needs so that every page in `pages` is its own: the pages it does
    /// not hold. Counted from the committed pages in the range, so a huge range costs nothing.
    fn frames_needed(&self, id: VmoId, pages: Range<u64>) -> u64 {
        let held = self.vmo(id).pages.range(pages.clone()).count() as u64;
        pages.end - pages.start - held
    }

    /// Succeeds if `needed` more frames fit under the limit. An operation that needs no frame
    /// never fails for lack of memory, even when a lowered limit is already exceeded.
    fn reserve(&self, needed: u64) -> Result<(), VmError> {
        match self.frame_limit {
            Some(limit) if needed > 0 && self.frames_in_use + needed > limit => {
                Err(VmError::NoMemory)
            }
            _ => Ok(()),
        }
    }

    /// `page` of `id` as a frame of its own, allocating a zeroed one if needed. Callers have
    /// reserved the frame already.
    fn own_page(&mut self, id: VmoId, page: u64) -> &mut [u8; PAGE as usize] {
        let vmo = self.vmos.get_mut(&id).expect("own_page on a dead VMO");
        assert!(page < vmo.size / PAGE, "model: page {page} past the end");
        let fresh = !vmo.pages.contains_key(&page);
        if fresh {
            self.frames_in_use += 1;
        }
        vmo.pages
            .entry(page)
            .or_insert_with(|| Box::new([0; PAGE as usize]))
    }

    /// Drops `id`'s frame at `page`, if it has one.
    fn release_page(&mut self, id: VmoId, page: u64) {
        if self.vmo_mut(id).pages.remove(&page).is_some() {
            self.frames_in_use -= 1;
        }
    }

    /// Drops every frame `id` holds in `pages`.
    fn release_pages(&mut self, id: VmoId, pages: Range<u64>) {
        let held: Vec<u64> = self.vmo(id).pages.range(pages).map(|(&p, _)| p).collect();
        for page in held {
            self.release_page(id, page);
        }
    }

    /// A new VMO of `size` bytes rounded up to pages, with nothing committed.
    pub fn create(&mut self, size: u64, resizable: bool) -> Result<VmoId, VmError> {
        let size = checked_size(size)?;
        let id = VmoId(self.next_id);
        self.next_id += 1;
        self.vmos.insert(
            id,
            ModelVmo {
                size,
                resizable,
                pages: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    /// Closes `id`, freeing every frame it holds.
    pub fn close(&mut self, id: VmoId) {
        self.release_pages(id, 0..u64::MAX);
        self.vmos.remove(&id);
    }

    /// `len` bytes from `offset`; pages never committed read as zeros.
    pub fn read(&self, id: VmoId, offset: u64, len: usize) -> Result<Vec<u8>, VmError> {
        let bytes = checked_range(offset, len as u64, self.size(id))?;
        let mut out = Vec::with_capacity(len);
        for page in touched_pages(&bytes) {
            let page_start = page * PAGE;
            let from = bytes.start.max(page_start) - page_start;
            let to = bytes.end.min(page_start + PAGE) - page_start;
            match self.page(id, page) {
                Some(frame) => out.extend_from_slice(&frame[from as usize..to as usize]),
                None => out.resize(out.len() + (to - from) as usize, 0),
            }
        }
        Ok(out)
    }

    /// Writes `data` at `offset`; every page it touches becomes committed, whatever it writes.
    pub fn write(&mut self, id: VmoId, offset: u64, data: &[u8]) -> Result<(), VmError> {
        let bytes = checked_range(offset, data.len() as u64, self.size(id))?;
        let pages = touched_pages(&bytes);
        self.reserve(self.frames_needed(id, pages.clone()))?;
        for page in pages {
            let page_start = page * PAGE;
            let from = bytes.start.max(page_start);
            let to = bytes.end.min(page_start + PAGE);
            let src = &data[(from - bytes.start) as usize..(to - bytes.start) as usize];
            let frame = self.own_page(id, page);
            frame[(from - page_start) as usize..(to - page_start) as usize].copy_from_slice(src);
        }
        Ok(())
    }

    /// Commits every page `[offset, offset + len)` touches; new pages hold zeros.
    pub fn commit(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let bytes = checked_range(offset, len, self.size(id))?;
        let pages = touched_pages(&bytes);
        self.reserve(self.frames_needed(id, pages.clone()))?;
        for page in pages {
            self.own_page(id, page);
        }
        Ok(())
    }

    /// Frees the pages of a page-aligned range. Range first, then an empty range succeeds
    /// whatever its alignment, then alignment.
    pub fn decommit(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let bytes = checked_range(offset, len, self.size(id))?;
        if bytes.is_empty() {
            return Ok(());
        }
        if offset % PAGE != 0 || len % PAGE != 0 {
            return Err(VmError::InvalidArgs);
        }
        self.release_pages(id, touched_pages(&bytes));
        Ok(())
    }

    /// Zeroes exactly `[offset, offset + len)`: committed pages the range covers entirely are
    /// freed, committed pages it covers in part have those bytes zeroed, nothing is allocated.
    pub fn zero(&mut self, id: VmoId, offset: u64, len: u64) -> Result<(), VmError> {
        let bytes = checked_range(offset, len, self.size(id))?;
        let held: Vec<u64> = self
            .vmo(id)
            .pages
            .range(touched_pages(&bytes))
            .map(|(&p, _)| p)
            .collect();
        for page in held {
            let page_start = page * PAGE;
            let from = bytes.start.max(page_start) - page_start;
            let to = bytes.end.min(page_start + PAGE) - page_start;
            if from == 0 && to == PAGE {
                self.release_page(id, page);
            } else {
                self.own_page(id, page)[from as usize..to as usize].fill(0);
            }
        }
        Ok(())
    }

    /// The pages whose addresses a lookup of `[offset, offset + len)` into a buffer of
    /// `buffer_len` entries reports, in order. Checks: empty length, range, buffer room, then
    /// every page committed.
    pub fn lookup(
        &self,
        id: VmoId,
        offset: u64,
        len: u64,
        buffer_len: usize,
    ) -> Result<Vec<u64>, VmError> {
        if len == 0 {
            return Err(VmError::InvalidArgs);
        }
        let bytes = checked_range(offset, len, self.size(id))?;
        let pages = touched_pages(&bytes);
        if (buffer_len as u64) < pages.end - pages.start {
            return Err(VmError::BufferTooSmall);
        }
        // The buffer check bounds this loop by the caller's buffer.
        let pages: Vec<u64> = pages.collect();
        if pages.iter().any(|&page| !self.is_committed(id, page)) {
            return Err(VmError::NotCommitted);
        }
        Ok(pages)
    }

    /// Changes the size to `size` rounded up to pages. Shrinking frees the pages past the new
    /// end, so growing again shows zeros.
    pub fn set_size(&mut self, id: VmoId, size: u64) -> Result<(), VmError> {
        if !self.vmo(id).resizable {
            return Err(VmError::NotResizable);
        }
        let size = checked_size(size)?;
        self.release_pages(id, size / PAGE..u64::MAX);
        self.vmo_mut(id).size = size;
        Ok(())
    }

    /// Checks the model against itself: the frame counter equals the frames held, every page
    /// lies inside its VMO, every size is whole pages within the maximum.
    pub fn check(&self) {
        let held: u64 = self.vmos.values().map(|vmo| vmo.pages.len() as u64).sum();
        assert_eq!(held, self.frames_in_use, "model: frame counter drifted");
        for (id, vmo) in &self.vmos {
            assert_eq!(vmo.size % PAGE, 0, "model: {id:?} size not whole pages");
            assert!(vmo.size <= MAX_VMO_SIZE, "model: {id:?} too large");
            if let Some((&last, _)) = vmo.pages.last_key_value() {
                assert!(
                    last < vmo.size / PAGE,
                    "model: {id:?} holds a page past its end"
                );
            }
        }
    }
}
