//! A VMO's sparse page list: which of its pages hold a frame.
//!
//! Pages are grouped in chunks of [`CHUNK_PAGES`] consecutive pages; a hash map finds a chunk by
//! its index, and a chunk exists only while it holds something. A VMO of 2^40 bytes with three
//! scattered pages therefore costs three chunks, and a densely committed VMO costs about 8.5
//! bytes of metadata per page (a slot is one pointer-sized `Option<Frame>`, plus the chunk's
//! bitmap and its share of the table).
//!
//! Besides frames, a slot can carry the markers clone trees need (see `CLONE-TREES.md` in the
//! shared design): two split bits per slot, saying which child of a hidden node no longer looks
//! at the slot, and a zero marker, saying a visible VMO reads zeros there whatever its ancestors
//! hold. They are per-chunk bitmaps, so a slot stays one pointer.
//!
//! Every allocation the list makes is fallible: [`PageList::reserve`] makes room for a set of
//! pages up front, so that an operation can allocate everything it needs, then mutate without
//! any further way to fail. The whole list is a plain value: a new parent can take it over in
//! O(1) by moving it.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem;
use core::ops::Range;

use hashbrown::HashMap;

use crate::error::{VmError, VmResult};

/// Pages per chunk, as in Zircon's page-list nodes.
pub const CHUNK_PAGES: u64 = 16;

/// One of the two children of a hidden node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The VMO that was snapshotted.
    Left = 0,
    /// The snapshot.
    Right = 1,
}

impl Side {
    /// The other child.
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

/// The split bits of a slot: which children of a hidden node have stopped looking at it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Splits(u8);

impl Splits {
    /// Whether `side` has stopped looking at the slot.
    pub fn has(self, side: Side) -> bool {
        self.0 & (1 << side as u8) != 0
    }

    /// Whether neither side looks at the slot any more.
    pub fn both(self) -> bool {
        self.0 == 0b11
    }

    /// Whether no side has split off.
    pub fn none(self) -> bool {
        self.0 == 0
    }
}

/// What a slot holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry<'a, F> {
    /// Nothing: readers look further up.
    Empty,
    /// A frame, with the split bits of a hidden node's slot (always clear in visible nodes).
    Page(&'a F, Splits),
    /// No frame, but some side of a hidden node has left the ancestors' content here.
    Mark(Splits),
    /// A visible VMO reads zeros here whatever its ancestors hold.
    Zero,
}

// An entry only borrows its frame, so it copies whatever the frame type.
impl<F> Clone for Entry<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for Entry<'_, F> {}

/// Up to [`CHUNK_PAGES`] consecutive page slots.
struct Chunk<F> {
    slots: [Option<F>; CHUNK_PAGES as usize],
    /// Bit `i` is set exactly when `slots[i]` holds a frame.
    occupied: u16,
    /// Bit `i`: slot `i` is a zero marker (never together with a frame or split bits).
    zero: u16,
    /// `split[side]` bit `i`: that side has left slot `i`.
    split: [u16; 2],
}

impl<F> Chunk<F> {
    fn empty() -> Self {
        Chunk {
            slots: core::array::from_fn(|_| None),
            occupied: 0,
            zero: 0,
            split: [0; 2],
        }
    }

    /// Whether anything is left in the chunk.
    fn in_use(&self) -> bool {
        self.occupied | self.zero | self.split[0] | self.split[1] != 0
    }

    fn splits(&self, slot: usize) -> Splits {
        Splits((self.split[0] >> slot & 1) as u8 | ((self.split[1] >> slot & 1) as u8) << 1)
    }

    /// Clears every marker of a slot and takes its frame.
    fn clear(&mut self, slot: usize) -> Option<F> {
        let bit = !(1u16 << slot);
        self.zero &= bit;
        self.split[0] &= bit;
        self.split[1] &= bit;
        self.occupied &= bit;
        self.slots[slot].take()
    }

    /// Bits of every slot holding anything.
    fn used_slots(&self) -> u16 {
        self.occupied | self.zero | self.split[0] | self.split[1]
    }
}

/// A chunk on the heap behind a thin pointer, allocated fallibly.
type ChunkBox<F> = Box<[Chunk<F>; 1]>;

fn try_new_chunk<F>() -> VmResult<ChunkBox<F>> {
    let mut storage = Vec::new();
    storage
        .try_reserve_exact(1)
        .map_err(|_| VmError::NoMemory)?;
    storage.push(Chunk::empty());
    match storage.into_boxed_slice().try_into() {
        Ok(chunk) => Ok(chunk),
        // The vector holds exactly one chunk.
        Err(_) => unreachable!("a one-element slice converts to a one-element array"),
    }
}

fn split(page: u64) -> (u64, usize) {
    (page / CHUNK_PAGES, (page % CHUNK_PAGES) as usize)
}

/// The frames of one VMO, indexed by page number.
pub struct PageList<F> {
    chunks: HashMap<u64, ChunkBox<F>>,
    frames: u64,
    /// Above every page whose slot was ever filled since the list was last emptied: an upper
    /// bound that lets range operations past the last page cost nothing.
    end_bound: u64,
}

impl<F> Default for PageList<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F> PageList<F> {
    /// An empty list; allocates nothing.
    pub fn new() -> Self {
        PageList {
            chunks: HashMap::new(),
            frames: 0,
            end_bound: 0,
        }
    }

    /// Frames held.
    pub fn frame_count(&self) -> u64 {
        self.frames
    }

    /// Whether no frame is held.
    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// The frame at `page`, if any.
    pub fn get(&self, page: u64) -> Option<&F> {
        let (chunk, slot) = split(page);
        self.chunks.get(&chunk)?[0].slots[slot].as_ref()
    }

    /// What the slot at `page` holds.
    pub fn entry(&self, page: u64) -> Entry<'_, F> {
        let (index, slot) = split(page);
        let Some(chunk) = self.chunks.get(&index) else {
            return Entry::Empty;
        };
        let chunk = &chunk[0];
        if let Some(frame) = &chunk.slots[slot] {
            Entry::Page(frame, chunk.splits(slot))
        } else if chunk.zero & (1 << slot) != 0 {
            Entry::Zero
        } else if !chunk.splits(slot).none() {
            Entry::Mark(chunk.splits(slot))
        } else {
            Entry::Empty
        }
    }

    /// The frame at `page`, if any, for writing.
    pub fn get_mut(&mut self, page: u64) -> Option<&mut F> {
        let (chunk, slot) = split(page);
        self.chunks.get_mut(&chunk)?[0].slots[slot].as_mut()
    }

    /// Whether `page` holds a frame.
    pub fn contains(&self, page: u64) -> bool {
        self.get(page).is_some()
    }

    /// Makes sure frames or markers can be put at every page of `pages` without allocating, until
    /// the list is next changed in any other way (removals drop chunks left empty). On failure the
    /// list is exactly as it was.
    pub fn reserve(&mut self, pages: impl Iterator<Item = u64> + Clone) -> VmResult<()> {
        for page in pages.clone() {
            let (chunk, _) = split(page);
            if self.chunks.contains_key(&chunk) {
                continue;
            }
            if let Err(error) = self.try_add_chunk(chunk) {
                // Outside a reservation no chunk is empty, so every empty chunk among these
                // pages is one this call created.
                for page in pages {
                    let (chunk, _) = split(page);
                    if self.chunks.get(&chunk).is_some_and(|c| !c[0].in_use()) {
                        self.chunks.remove(&chunk);
                    }
                }
                return Err(error);
            }
        }
        Ok(())
    }

    fn try_add_chunk(&mut self, index: u64) -> VmResult<()> {
        self.chunks.try_reserve(1).map_err(|_| VmError::NoMemory)?;
        let chunk = try_new_chunk()?;
        self.chunks.insert(index, chunk);
        Ok(())
    }

    /// The chunk holding `page`'s slot, which a reservation (or an entry) must have created;
    /// otherwise it is made with an allocation that cannot report failure. Also raises the end
    /// bound, since the caller is about to fill the slot.
    fn reserved_chunk(&mut self, page: u64) -> (&mut Chunk<F>, usize) {
        self.end_bound = self.end_bound.max(page + 1);
        let (index, slot) = split(page);
        debug_assert!(
            self.chunks.contains_key(&index),
            "slot of an unreserved chunk"
        );
        let chunk = self
            .chunks
            .entry(index)
            .or_insert_with(|| Box::new([Chunk::empty()]));
        (&mut chunk[0], slot)
    }

    /// Puts `frame` at `page` and returns the frame that was there. The page must have been
    /// reserved (or already hold a frame); otherwise this falls back to an allocation that cannot
    /// report failure.
    pub fn insert_reserved(&mut self, page: u64, frame: F) -> Option<F> {
        let (chunk, slot) = self.reserved_chunk(page);
        // A frame replaces a zero marker; split bits stay (a frame moved into a mark keeps them).
        chunk.zero &= !(1 << slot);
        let previous = chunk.slots[slot].replace(frame);
        if previous.is_none() {
            chunk.occupied |= 1 << slot;
            self.frames += 1;
        }
        previous
    }

    /// Makes `page` a zero marker and returns the frame it held. The page must have been
    /// reserved (or hold something already).
    pub fn set_zero_reserved(&mut self, page: u64) -> Option<F> {
        let (chunk, slot) = self.reserved_chunk(page);
        let frame = chunk.clear(slot);
        chunk.zero |= 1 << slot;
        if frame.is_some() {
            self.frames -= 1;
        }
        frame
    }

    /// Sets `side`'s split bit at `page` and returns the slot's split bits afterwards. The page
    /// must have been reserved (or hold something already).
    pub fn set_split_reserved(&mut self, page: u64, side: Side) -> Splits {
        let (chunk, slot) = self.reserved_chunk(page);
        chunk.split[side as usize] |= 1 << slot;
        chunk.splits(slot)
    }

    /// Clears `side`'s split bit at `page`, dropping the slot if nothing else is left in it.
    pub fn clear_split(&mut self, page: u64, side: Side) {
        let (index, slot) = split(page);
        if let Some(chunk) = self.chunks.get_mut(&index) {
            chunk[0].split[side as usize] &= !(1 << slot);
            if !chunk[0].in_use() {
                self.chunks.remove(&index);
            }
        }
    }

    /// Takes the frame at `page` and leaves its split bits behind (as a mark, if any are set).
    pub fn take_frame(&mut self, page: u64) -> Option<F> {
        let (index, slot) = split(page);
        let chunk = &mut self.chunks.get_mut(&index)?[0];
        let frame = chunk.slots[slot].take()?;
        chunk.occupied &= !(1 << slot);
        self.frames -= 1;
        if !chunk.in_use() {
            self.chunks.remove(&index);
        }
        Some(frame)
    }

    /// Empties the slot at `page`, markers included, and returns its frame.
    pub fn remove(&mut self, page: u64) -> Option<F> {
        let (index, slot) = split(page);
        let chunk = &mut self.chunks.get_mut(&index)?[0];
        let frame = chunk.clear(slot);
        if frame.is_some() {
            self.frames -= 1;
        }
        if !chunk.in_use() {
            self.chunks.remove(&index);
        }
        frame
    }

    /// Empties every slot whose page lies in `pages`, markers included, handing each frame to
    /// `release`. Costs the smaller of the chunks the range spans and the chunks the list holds.
    pub fn remove_range(&mut self, pages: Range<u64>, mut release: impl FnMut(u64, F)) {
        let pages = pages.start..pages.end.min(self.end_bound);
        if pages.is_empty() || self.chunks.is_empty() {
            return;
        }
        let first_chunk = pages.start / CHUNK_PAGES;
        let last_chunk = (pages.end - 1) / CHUNK_PAGES;
        let removed = &mut 0u64;
        let mut empty_chunk = |index: u64, chunk: &mut Chunk<F>| {
            let base = index * CHUNK_PAGES;
            let mut bits = chunk.used_slots();
            while bits != 0 {
                let slot = bits.trailing_zeros() as u64;
                bits &= bits - 1;
                if pages.contains(&(base + slot)) {
                    if let Some(frame) = chunk.clear(slot as usize) {
                        *removed += 1;
                        release(base + slot, frame);
                    }
                }
            }
            chunk.in_use()
        };
        if last_chunk - first_chunk < self.chunks.len() as u64 {
            for index in first_chunk..=last_chunk {
                if let Some(chunk) = self.chunks.get_mut(&index) {
                    if !empty_chunk(index, &mut chunk[0]) {
                        self.chunks.remove(&index);
                    }
                }
            }
        } else {
            self.chunks.retain(|&index, chunk| {
                !(first_chunk..=last_chunk).contains(&index) || empty_chunk(index, &mut chunk[0])
            });
        }
        self.frames -= *removed;
    }

    /// Calls `visit` with every chunk that may hold pages of `pages`, costing the smaller of the
    /// chunks the range spans and the chunks the list holds.
    fn visit_chunks_in(&self, pages: &Range<u64>, mut visit: impl FnMut(u64, &Chunk<F>)) {
        let end = pages.end.min(self.end_bound);
        if pages.start >= end || self.chunks.is_empty() {
            return;
        }
        let first_chunk = pages.start / CHUNK_PAGES;
        let last_chunk = (end - 1) / CHUNK_PAGES;
        if last_chunk - first_chunk < self.chunks.len() as u64 {
            for index in first_chunk..=last_chunk {
                if let Some(chunk) = self.chunks.get(&index) {
                    visit(index, &chunk[0]);
                }
            }
        } else {
            for (&index, chunk) in &self.chunks {
                if (first_chunk..=last_chunk).contains(&index) {
                    visit(index, &chunk[0]);
                }
            }
        }
    }

    /// Calls `visit` with every page in `pages` whose slot holds anything, in no particular order.
    pub fn for_each_in(&self, pages: Range<u64>, mut visit: impl FnMut(u64)) {
        self.visit_chunks_in(&pages, |index, chunk| {
            let mut bits = chunk.used_slots();
            while bits != 0 {
                let page = index * CHUNK_PAGES + bits.trailing_zeros() as u64;
                bits &= bits - 1;
                if pages.contains(&page) {
                    visit(page);
                }
            }
        });
    }

    /// Every page in `pages` whose slot holds anything, collected so that the caller may change
    /// the list (or the family) while going through them.
    pub fn used_in(&self, pages: Range<u64>) -> Vec<u64> {
        let mut used = Vec::new();
        self.for_each_in(pages, |page| used.push(page));
        used
    }

    /// Frames held at pages in `pages`.
    pub fn count_in(&self, pages: Range<u64>) -> u64 {
        self.count_slots_in(pages, |chunk| chunk.occupied)
    }

    /// Pages in `pages` whose slot holds anything: what [`PageList::used_in`] would collect.
    pub fn used_count_in(&self, pages: Range<u64>) -> u64 {
        self.count_slots_in(pages, Chunk::used_slots)
    }

    /// Pages in `pages` whose bit is set in `bits_of` their chunk.
    fn count_slots_in(&self, pages: Range<u64>, bits_of: impl Fn(&Chunk<F>) -> u16) -> u64 {
        let mut count = 0;
        self.visit_chunks_in(&pages, |index, chunk| {
            let mut bits = bits_of(chunk);
            while bits != 0 {
                let page = index * CHUNK_PAGES + bits.trailing_zeros() as u64;
                bits &= bits - 1;
                count += u64::from(pages.contains(&page));
            }
        });
        count
    }

    /// Empties the list, handing every frame to `release`.
    pub fn remove_all(&mut self, mut release: impl FnMut(u64, F)) {
        for (index, mut chunk) in self.chunks.drain() {
            let chunk = &mut chunk[0];
            for (slot, frame) in chunk.slots.iter_mut().enumerate() {
                if let Some(frame) = frame.take() {
                    release(index * CHUNK_PAGES + slot as u64, frame);
                }
            }
        }
        self.frames = 0;
        self.end_bound = 0;
    }

    /// Slots in use (frames and markers): what moving this list's entries elsewhere costs.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Empties the list, handing every frame and every zero marker to `take` (a zero marker as
    /// `None`); split bits are dropped.
    pub fn drain_entries(&mut self, mut take: impl FnMut(u64, Option<F>)) {
        for (index, mut chunk) in self.chunks.drain() {
            let chunk = &mut chunk[0];
            let mut bits = chunk.occupied | chunk.zero;
            while bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                take(index * CHUNK_PAGES + slot as u64, chunk.slots[slot].take());
            }
        }
        self.frames = 0;
        self.end_bound = 0;
    }

    /// Every page that holds a frame, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &F)> {
        self.chunks.iter().flat_map(|(&index, chunk)| {
            chunk[0]
                .slots
                .iter()
                .enumerate()
                .filter_map(move |(slot, frame)| {
                    frame
                        .as_ref()
                        .map(|f| (index * CHUNK_PAGES + slot as u64, f))
                })
        })
    }

    /// Bytes of metadata the list occupies: the hash table and the chunks.
    pub fn metadata_bytes(&self) -> usize {
        self.chunks.allocation_size() + self.chunks.len() * mem::size_of::<Chunk<F>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_with(pages: &[u64]) -> PageList<Box<u64>> {
        let mut list = PageList::new();
        list.reserve(pages.iter().copied()).unwrap();
        for &page in pages {
            assert!(list.insert_reserved(page, Box::new(page)).is_none());
        }
        list
    }

    #[test]
    fn sparse_pages_cost_one_chunk_each() {
        let far_apart = [0, 1 << 20, 1 << 27, (1 << 28) - 1];
        let list = list_with(&far_apart);
        assert_eq!(list.frame_count(), 4);
        assert_eq!(list.chunks.len(), 4);
        for page in far_apart {
            assert_eq!(list.get(page).map(|b| **b), Some(page));
        }
        assert!(list.get(2).is_none());
        assert!(list.metadata_bytes() < 4096);
    }

    #[test]
    fn dense_metadata_stays_under_16_bytes_a_page() {
        for pages in [16u64, 1000, 65_536, 262_144] {
            let list = list_with(&(0..pages).collect::<Vec<_>>());
            let per_page = list.metadata_bytes() as f64 / pages as f64;
            assert!(per_page <= 16.0, "{pages} pages: {per_page} bytes a page");
        }
    }

    #[test]
    fn remove_range_takes_exactly_the_range_either_way_it_iterates() {
        let pages: Vec<u64> = (0..100).chain([5000, 70_000]).collect();
        // A narrow range (visits chunk indices) and a wide one (visits the table).
        for range in [10..40, 0..u64::MAX / 2] {
            let mut list = list_with(&pages);
            let mut removed = Vec::new();
            list.remove_range(range.clone(), |page, frame| {
                assert_eq!(page, *frame);
                removed.push(page);
            });
            removed.sort();
            let expected: Vec<u64> = pages
                .iter()
                .copied()
                .filter(|p| range.contains(p))
                .collect();
            assert_eq!(removed, expected);
            assert_eq!(list.frame_count() as usize, pages.len() - expected.len());
            assert!(list.chunks.values().all(|c| c[0].in_use()));
        }
    }

    #[test]
    fn markers_live_beside_frames_and_keep_chunks_alive() {
        let mut list: PageList<Box<u64>> = PageList::new();
        list.reserve([1u64, 2, 3].into_iter()).unwrap();
        list.insert_reserved(1, Box::new(1));
        assert_eq!(list.set_split_reserved(1, Side::Left), Splits(0b01));
        assert!(matches!(list.entry(1), Entry::Page(f, s) if **f == 1 && s.has(Side::Left)));
        // A frame taken out leaves its split bits behind as a mark.
        assert_eq!(list.take_frame(1).map(|b| *b), Some(1));
        assert_eq!(list.entry(1), Entry::Mark(Splits(0b01)));
        assert!(list.set_split_reserved(1, Side::Right).both());
        list.clear_split(1, Side::Left);
        list.clear_split(1, Side::Right);
        assert_eq!(list.entry(1), Entry::Empty);
        assert_eq!(
            list.chunks.len(),
            0,
            "an empty chunk is dropped, reservation or not"
        );
        // A zero marker replaces a frame, and a frame replaces a zero marker.
        list.reserve([2u64, 3].into_iter()).unwrap();
        list.insert_reserved(2, Box::new(2));
        assert_eq!(list.set_zero_reserved(2).map(|b| *b), Some(2));
        assert_eq!(list.entry(2), Entry::Zero);
        assert_eq!(list.frame_count(), 0);
        assert_eq!(list.chunks.len(), 1, "a zero marker keeps its chunk");
        list.insert_reserved(2, Box::new(22));
        assert!(matches!(list.entry(2), Entry::Page(f, s) if **f == 22 && s.none()));
        list.set_split_reserved(3, Side::Right);
        let mut released = Vec::new();
        list.remove_range(0..16, |page, _| released.push(page));
        assert_eq!(released, [2]);
        assert_eq!(list.entry(3), Entry::Empty);
        assert_eq!(list.chunks.len(), 0, "a range removal drops markers too");
    }

    #[test]
    fn count_in_counts_exactly_the_range_either_way_it_iterates() {
        let list = list_with(&[0, 1, 15, 16, 40, 5000]);
        assert_eq!(list.count_in(1..17), 3);
        assert_eq!(list.count_in(0..u64::MAX), 6);
        assert_eq!(list.count_in(41..5000), 0);
        assert_eq!(list.count_in(5..5), 0);
    }

    #[test]
    fn used_count_in_counts_what_used_in_collects() {
        let mut list = list_with(&[0, 17, 40]);
        list.reserve([3u64, 18].into_iter()).unwrap();
        list.set_zero_reserved(3);
        list.set_split_reserved(18, Side::Left);
        for range in [0..u64::MAX, 1..18, 18..41, 41..u64::MAX, 5..5] {
            let collected = list.used_in(range.clone()).len() as u64;
            assert_eq!(list.used_count_in(range), collected);
        }
        assert_eq!(list.used_count_in(0..u64::MAX), 5);
        assert_eq!(list.count_in(0..u64::MAX), 3, "markers are not frames");
    }

    #[test]
    fn remove_and_remove_all_release_everything() {
        let mut list = list_with(&[3, 4, 40]);
        assert_eq!(list.remove(4).map(|b| *b), Some(4));
        assert_eq!(list.remove(4), None);
        let mut seen = Vec::new();
        list.remove_all(|page, _| seen.push(page));
        seen.sort();
        assert_eq!(seen, [3, 40]);
        assert!(list.is_empty());
        assert_eq!(list.chunks.len(), 0);
    }
}
