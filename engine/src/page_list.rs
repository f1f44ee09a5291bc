//! A VMO's sparse page list: which of its pages hold a frame.
//!
//! Pages are grouped in chunks of [`CHUNK_PAGES`] consecutive pages; a hash map finds a chunk by
//! its index, and a chunk exists only while it holds something. A VMO of 2^40 bytes with three
//! scattered pages therefore costs three chunks, and a densely committed VMO costs about 8.5
//! bytes of metadata per page (a slot is one pointer-sized `Option<Frame>`, plus the chunk's
//! bitmap and its share of the table).
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

/// Up to [`CHUNK_PAGES`] consecutive page slots.
struct Chunk<F> {
    slots: [Option<F>; CHUNK_PAGES as usize],
    /// Bit `i` is set exactly when `slots[i]` holds a frame.
    occupied: u16,
}

impl<F> Chunk<F> {
    fn empty() -> Self {
        Chunk {
            slots: core::array::from_fn(|_| None),
            occupied: 0,
        }
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

    /// The frame at `page`, if any, for writing.
    pub fn get_mut(&mut self, page: u64) -> Option<&mut F> {
        let (chunk, slot) = split(page);
        self.chunks.get_mut(&chunk)?[0].slots[slot].as_mut()
    }

    /// Whether `page` holds a frame.
    pub fn contains(&self, page: u64) -> bool {
        self.get(page).is_some()
    }

    /// Makes sure frames can be inserted at every page of `pages` without allocating. On failure
    /// the list is exactly as it was.
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
                    if self.chunks.get(&chunk).is_some_and(|c| c[0].occupied == 0) {
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

    /// Puts `frame` at `page` and returns the frame that was there. The page must have been
    /// reserved (or already hold a frame); otherwise this falls back to an allocation that cannot
    /// report failure.
    pub fn insert_reserved(&mut self, page: u64, frame: F) -> Option<F> {
        let (chunk, slot) = split(page);
        debug_assert!(
            self.chunks.contains_key(&chunk),
            "insert into an unreserved chunk"
        );
        let chunk = &mut self
            .chunks
            .entry(chunk)
            .or_insert_with(|| Box::new([Chunk::empty()]))[0];
        let previous = chunk.slots[slot].replace(frame);
        if previous.is_none() {
            chunk.occupied |= 1 << slot;
            self.frames += 1;
        }
        previous
    }

    /// Removes and returns the frame at `page`.
    pub fn remove(&mut self, page: u64) -> Option<F> {
        let (index, slot) = split(page);
        let chunk = &mut self.chunks.get_mut(&index)?[0];
        let frame = chunk.slots[slot].take()?;
        chunk.occupied &= !(1 << slot);
        self.frames -= 1;
        if chunk.occupied == 0 {
            self.chunks.remove(&index);
        }
        Some(frame)
    }

    /// Removes every frame whose page lies in `pages`, handing each to `release`. Costs the
    /// smaller of the chunks the range spans and the chunks the list holds.
    pub fn remove_range(&mut self, pages: Range<u64>, mut release: impl FnMut(u64, F)) {
        if pages.is_empty() || self.frames == 0 {
            return;
        }
        let first_chunk = pages.start / CHUNK_PAGES;
        let last_chunk = (pages.end - 1) / CHUNK_PAGES;
        let removed = &mut 0u64;
        let mut empty_chunk = |index: u64, chunk: &mut Chunk<F>| {
            let base = index * CHUNK_PAGES;
            let mut bits = chunk.occupied;
            while bits != 0 {
                let slot = bits.trailing_zeros() as u64;
                bits &= bits - 1;
                if pages.contains(&(base + slot)) {
                    if let Some(frame) = chunk.slots[slot as usize].take() {
                        chunk.occupied &= !(1 << slot);
                        *removed += 1;
                        release(base + slot, frame);
                    }
                }
            }
            chunk.occupied != 0
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

    /// Frames held at pages in `pages`. Costs the smaller of the chunks the range spans and the
    /// chunks the list holds.
    pub fn count_in(&self, pages: Range<u64>) -> u64 {
        if pages.is_empty() || self.frames == 0 {
            return 0;
        }
        let first_chunk = pages.start / CHUNK_PAGES;
        let last_chunk = (pages.end - 1) / CHUNK_PAGES;
        let in_range = |index: u64, chunk: &Chunk<F>| {
            let base = index * CHUNK_PAGES;
            let mut bits = chunk.occupied;
            let mut count = 0;
            while bits != 0 {
                let slot = bits.trailing_zeros() as u64;
                bits &= bits - 1;
                count += u64::from(pages.contains(&(base + slot)));
            }
            count
        };
        if last_chunk - first_chunk < self.chunks.len() as u64 {
            (first_chunk..=last_chunk)
                .filter_map(|index| self.chunks.get(&index).map(|c| in_range(index, &c[0])))
                .sum()
        } else {
            self.chunks
                .iter()
                .filter(|(index, _)| (first_chunk..=last_chunk).contains(index))
                .map(|(&index, chunk)| in_range(index, &chunk[0]))
                .sum()
        }
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
            assert!(list.chunks.values().all(|c| c[0].occupied != 0));
        }
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
