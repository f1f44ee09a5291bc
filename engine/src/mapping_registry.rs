//! Mappings as their VMO's family sees them: each mapping of a VMO in the family leaves a record
//! here (which node, which pages, at which address of which address space), so that an operation
//! that changes what a page shows can take the stale translations away, under the family lock,
//! before anyone can use them.
//!
//! A translation is stale when the page it was made for now reads a different frame (a copy, a
//! decommit, a zero, a shrink) or when it allows writes to a frame that someone else now shares
//! (a snapshot). Removing more than necessary is always safe (the next access faults and gets a
//! fresh translation); removing less never is.

use alloc::sync::Arc;
use core::ops::Range;

use hashbrown::HashMap;

use crate::address_space::{MmuFull, PageTarget, Perms};
use crate::clone_tree::content_target;
use crate::content_tree::path_ranges;
use crate::error::{VmError, VmResult};
use crate::family::{FamilyState, NodeId};
use crate::geometry::PAGE_SIZE;

const PAGE: u64 = PAGE_SIZE as u64;

/// An address space's translations, lockable on their own (the lock order is address space,
/// then family, then these).
pub(crate) trait Translations: Send + Sync {
    fn map(&self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull>;
    fn unmap(&self, vaddr: u64, len: u64);
    fn restrict(&self, vaddr: u64, len: u64, allowed: Perms);
    /// See [`Mmu::placement`](crate::Mmu::placement).
    fn placement(&self, vaddr: u64, mapping: (u64, u64)) -> Option<u64> {
        let _ = (vaddr, mapping);
        None
    }
}

/// Identifies a mapping's record within its family.
pub(crate) type RecordKey = u64;

/// Pages `first_page..first_page + pages` of VMO `node` appear at `base` in `space`.
pub(crate) struct MappingRecord {
    pub node: NodeId,
    pub first_page: u64,
    pub pages: u64,
    pub base: u64,
    pub space: Arc<dyn Translations>,
}

/// The records of one family.
#[derive(Default)]
pub(crate) struct Registry {
    records: HashMap<RecordKey, MappingRecord>,
    next_key: RecordKey,
}

/// What an operation did to the pages it reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// They may read a different frame now: translations must go.
    Content,
    /// Their frames may be shared now: translations may still read but not write.
    Shared,
}

impl Registry {
    /// Adds a record.
    pub fn insert(&mut self, record: MappingRecord) -> VmResult<RecordKey> {
        self.records.try_reserve(1).map_err(|_| VmError::NoMemory)?;
        self.next_key += 1;
        self.records.insert(self.next_key, record);
        Ok(self.next_key)
    }

    /// Makes room for `count` more records, so that the inserts that follow cannot fail.
    pub fn reserve(&mut self, count: usize) -> VmResult<()> {
        self.records
            .try_reserve(count)
            .map_err(|_| VmError::NoMemory)
    }

    /// Removes a record.
    pub fn remove(&mut self, key: RecordKey) -> Option<MappingRecord> {
        self.records.remove(&key)
    }

    /// A record, for changing its window.
    pub fn get_mut(&mut self, key: RecordKey) -> Option<&mut MappingRecord> {
        self.records.get_mut(&key)
    }

    /// Mappings of VMO `node`.
    pub fn count_of(&self, node: NodeId) -> u64 {
        self.records.values().filter(|r| r.node == node).count() as u64
    }

    /// Distinct address spaces VMO `node` is mapped into.
    pub fn spaces_of(&self, node: NodeId) -> u64 {
        let mut seen: smallvec::SmallVec<[*const (); 4]> = smallvec::SmallVec::new();
        for record in self.records.values().filter(|r| r.node == node) {
            let space = Arc::as_ptr(&record.space) as *const ();
            if !seen.contains(&space) {
                seen.push(space);
            }
        }
        seen.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Takes away the translations that `change` to pages `pages` of node `changed` made stale, in
/// every mapping of the family whose pages are read through that node.
pub(crate) fn invalidate<F>(
    state: &FamilyState<F>,
    changed: NodeId,
    pages: Range<u64>,
    change: Change,
) {
    if state.mappings.is_empty() || pages.is_empty() {
        return;
    }
    for record in state.mappings.records.values() {
        let (target, base) = content_target(state, record.node);
        let start = base + record.first_page;
        let window = start..start + record.pages;
        // A snapshot only takes writes away from the VMO whose pages became shared; VMOs
        // reading through it never had write access to those frames.
        let hit = match change {
            Change::Shared => (target == changed).then_some((window, 0)),
            Change::Content => path_ranges(state, target, window)
                .find(|(node, _, _)| *node == changed)
                .map(|(_, range, shift)| (range, shift)),
        };
        let Some((range, shift)) = hit else { continue };
        let (from, to) = (range.start.max(pages.start), range.end.min(pages.end));
        if from >= to {
            continue;
        }
        // `from - shift` is a page of the target inside the record's window.
        let vaddr = record.base + (from - shift - start) * PAGE;
        let end = vaddr + (to - from) * PAGE;
        // The page a fault is resolving gets its new translation right after, under this same
        // lock: removing the old one first would only cost a host call.
        let skipped = state
            .faulting
            .filter(|&(space, page)| {
                Arc::as_ptr(&record.space) as *const () as usize == space
                    && (vaddr..end).contains(&page)
            })
            .map(|(_, page)| page);
        let pieces = match skipped {
            Some(page) => [(vaddr, page), (page + PAGE, end)],
            None => [(vaddr, end), (end, end)],
        };
        for (from, to) in pieces.into_iter().filter(|(from, to)| from < to) {
            match change {
                Change::Content => record.space.unmap(from, to - from),
                Change::Shared => {
                    record
                        .space
                        .restrict(from, to - from, Perms::READ | Perms::EXECUTE)
                }
            }
        }
    }
}
