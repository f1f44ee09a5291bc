//! [`SoftwareMmu`]: translations kept in an ordered map, for tests and for address spaces that
//! no host thread runs in (their memory is reached through the engine's access calls). It counts
//! what it is asked to do so that tests can see how many faults and shootdowns an operation
//! causes.

use alloc::collections::BTreeMap;
use core::any::Any;

use super::mmu::{Mmu, MmuFull, PageTarget, Perms};
use crate::geometry::PAGE_SIZE;

const PAGE: u64 = PAGE_SIZE as u64;

/// A map from virtual page to translation, with operation counters.
#[derive(Debug, Default)]
pub struct SoftwareMmu {
    translations: BTreeMap<u64, (PageTarget, Perms)>,
    limit: Option<usize>,
    /// Translations installed.
    pub maps: u64,
    /// Translations removed (each page counts).
    pub unmaps: u64,
    /// Translations whose permissions were lowered (each page counts).
    pub restricts: u64,
}

impl SoftwareMmu {
    /// An MMU with no translation.
    pub fn new() -> Self {
        Self::default()
    }

    /// An MMU that refuses to hold more than `limit` translations at once, as a host with a
    /// mapping budget would.
    pub fn with_limit(limit: usize) -> Self {
        SoftwareMmu {
            limit: Some(limit),
            ..Self::default()
        }
    }

    /// How many pages have a translation.
    pub fn len(&self) -> usize {
        self.translations.len()
    }

    /// Whether no page has a translation.
    pub fn is_empty(&self) -> bool {
        self.translations.is_empty()
    }

    /// The translations of pages in `[from, to)`, in address order.
    pub fn translations_in(
        &self,
        from: u64,
        to: u64,
    ) -> impl DoubleEndedIterator<Item = (u64, PageTarget, Perms)> + '_ {
        self.translations
            .range(from..to.max(from))
            .map(|(&vaddr, &(target, perms))| (vaddr, target, perms))
    }
}

impl Mmu for SoftwareMmu {
    fn map(&mut self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull> {
        let full = self
            .limit
            .is_some_and(|limit| self.translations.len() >= limit);
        if full && !self.translations.contains_key(&vaddr) {
            return Err(MmuFull);
        }
        self.translations.insert(vaddr, (target, perms));
        self.maps += 1;
        Ok(())
    }

    fn unmap(&mut self, vaddr: u64, len: u64) {
        let end = vaddr.saturating_add(len);
        // Removing one key at a time keeps this proportional to the translations present, not
        // to the length of the range.
        while let Some((&page, _)) = self.translations.range(vaddr..end).next() {
            self.translations.remove(&page);
            self.unmaps += 1;
        }
    }

    fn restrict(&mut self, vaddr: u64, len: u64, allowed: Perms) {
        let end = vaddr.saturating_add(len);
        for (_, (_, perms)) in self.translations.range_mut(vaddr..end) {
            if !allowed.contains(*perms) {
                *perms &= allowed;
                self.restricts += 1;
            }
        }
    }

    fn translation(&self, vaddr: u64) -> Option<(PageTarget, Perms)> {
        self.translations.get(&(vaddr & !(PAGE - 1))).copied()
    }

    fn for_each_translation(&self, visit: &mut dyn FnMut(u64, PageTarget, Perms)) {
        for (&vaddr, &(target, perms)) in &self.translations {
            visit(vaddr, target, perms);
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
