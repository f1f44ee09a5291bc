//! The region tree of one address space: each region (VMAR) covers a range of addresses and
//! holds, in address order, sub-regions and mappings that never overlap. Pure bookkeeping: this
//! file places, finds and removes entries; `address_space` tells the VMOs and the MMU.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::ops::Range;

use super::mmu::Perms;
use crate::error::{VmError, VmResult};
use crate::geometry::PAGE_SIZE;
use crate::mapping_registry::RecordKey;
use crate::platform::Platform;
use crate::vmo::Vmo;

const PAGE: u64 = PAGE_SIZE as u64;

/// Something a mapping keeps alive for as long as it exists (the kernel passes its VMO object,
/// so that a mapped VMO stays open after its last handle closes).
pub type KeepAlive = Arc<dyn Any + Send + Sync>;

/// Index of a region in its tree's arena.
pub(crate) type RegionIndex = usize;

/// A run of pages of a VMO at an address.
pub(crate) struct Mapping<P: Platform> {
    pub base: u64,
    pub len: u64,
    pub vmo: Arc<Vmo<P>>,
    /// Offset in the VMO of the byte at `base`.
    pub vmo_offset: u64,
    pub perms: Perms,
    /// What the VMO handle allowed when the range was mapped: `protect` never goes above it.
    pub max_perms: Perms,
    /// This mapping's record in the VMO's family.
    pub key: RecordKey,
    pub keep_alive: Option<KeepAlive>,
}

impl<P: Platform> Mapping<P> {
    pub fn end(&self) -> u64 {
        self.base + self.len
    }

    /// The VMO page shown at `vaddr` (which lies inside the mapping).
    pub fn vmo_page(&self, vaddr: u64) -> u64 {
        (self.vmo_offset + (vaddr - self.base)) / PAGE
    }

    /// The piece `[from, to)` of this mapping (inside it), sharing its VMO and keep-alive; the
    /// record key is the caller's to fill.
    pub fn piece(&self, from: u64, to: u64, key: RecordKey) -> Mapping<P> {
        Mapping {
            base: from,
            len: to - from,
            vmo: self.vmo.clone(),
            vmo_offset: self.vmo_offset + (from - self.base),
            perms: self.perms,
            max_perms: self.max_perms,
            key,
            keep_alive: self.keep_alive.clone(),
        }
    }
}

/// What a region holds at an address.
pub(crate) enum Child<P: Platform> {
    Region(RegionIndex),
    Mapping(Mapping<P>),
}

/// A VMAR.
pub(crate) struct Region<P: Platform> {
    pub base: u64,
    pub size: u64,
    /// Permissions mappings inside may have (the CAN_MAP_READ/WRITE/EXECUTE options).
    pub allows: Perms,
    /// Whether specific placements are allowed inside (CAN_MAP_SPECIFIC).
    pub specific: bool,
    pub parent: Option<RegionIndex>,
    /// Keyed by base address.
    pub children: BTreeMap<u64, Child<P>>,
    /// Distinguishes this region from later occupants of the same arena slot.
    pub serial: u64,
}

impl<P: Platform> Region<P> {
    pub fn end(&self) -> u64 {
        self.base + self.size
    }
}

/// Every region of an address space; index `root` is the root VMAR.
pub(crate) struct Tree<P: Platform> {
    regions: Vec<Option<Region<P>>>,
    vacant: Vec<RegionIndex>,
    next_serial: u64,
    /// Mappings in the whole tree (each piece of a split mapping counts).
    pub mapping_count: usize,
}

impl<P: Platform> Tree<P> {
    /// A tree with only a root region covering `[base, base + size)`, allowing everything.
    pub fn new(base: u64, size: u64) -> Self {
        let mut tree = Tree {
            regions: Vec::new(),
            vacant: Vec::new(),
            next_serial: 0,
            mapping_count: 0,
        };
        tree.add(base, size, Perms::all(), true, None);
        tree
    }

    /// Adds a region (not yet entered in its parent's children) and returns its index and
    /// serial.
    pub fn add(
        &mut self,
        base: u64,
        size: u64,
        allows: Perms,
        specific: bool,
        parent: Option<RegionIndex>,
    ) -> (RegionIndex, u64) {
        self.next_serial += 1;
        let region = Region {
            base,
            size,
            allows,
            specific,
            parent,
            children: BTreeMap::new(),
            serial: self.next_serial,
        };
        match self.vacant.pop() {
            Some(index) => {
                self.regions[index] = Some(region);
                (index, self.next_serial)
            }
            None => {
                self.regions.push(Some(region));
                (self.regions.len() - 1, self.next_serial)
            }
        }
    }

    /// The live region a handle with this index and serial names, or `BadState` when it was
    /// destroyed.
    pub fn region(&self, index: RegionIndex, serial: u64) -> VmResult<&Region<P>> {
        match self.regions.get(index) {
            Some(Some(region)) if region.serial == serial => Ok(region),
            _ => Err(VmError::BadState),
        }
    }

    /// A region known to exist.
    pub fn get(&self, index: RegionIndex) -> &Region<P> {
        match self.regions.get(index) {
            Some(Some(region)) => region,
            _ => unreachable!("region {index} exists"),
        }
    }

    /// A region known to exist, for changing.
    pub fn get_mut(&mut self, index: RegionIndex) -> &mut Region<P> {
        match self.regions.get_mut(index) {
            Some(Some(region)) => region,
            _ => unreachable!("region {index} exists"),
        }
    }

    /// Takes a region out of the arena (its children must be gone already).
    pub fn remove(&mut self, index: RegionIndex) {
        if let Some(slot) = self.regions.get_mut(index) {
            if slot.take().is_some() {
                self.vacant.push(index);
            }
        }
    }

    /// The range a child of a region covers.
    pub fn child_range(&self, child: &Child<P>) -> Range<u64> {
        match child {
            Child::Region(index) => {
                let region = self.get(*index);
                region.base..region.end()
            }
            Child::Mapping(mapping) => mapping.base..mapping.end(),
        }
    }

    /// Bases of the children of `region` that overlap `range`, in address order (`NoMemory` if
    /// the list cannot be allocated).
    pub fn overlapping(&self, region: RegionIndex, range: Range<u64>) -> VmResult<Vec<u64>> {
        let children = &self.get(region).children;
        // The child starting last at or before `range.start` may reach into the range.
        let before = children
            .range(..=range.start)
            .next_back()
            .filter(|(_, child)| self.child_range(child).end > range.start)
            .map(|(&base, _)| base);
        let rest = children
            .range(range.start..range.end)
            .map(|(&base, _)| base)
            .filter(move |&base| Some(base) != before);
        // Reserved fallibly: running out of memory here is `NoMemory`, not an abort.
        let mut bases = Vec::new();
        bases
            .try_reserve(usize::from(before.is_some()) + rest.clone().count())
            .map_err(|_| VmError::NoMemory)?;
        bases.extend(before.into_iter().chain(rest));
        Ok(bases)
    }

    /// The lowest address in `region` where `size` bytes aligned to `align` are free.
    pub fn find_gap(&self, region: RegionIndex, size: u64, align: u64) -> Option<u64> {
        let r = self.get(region);
        let mut cursor = r.base;
        let fits = |from: u64, limit: u64| {
            let start = from.checked_add(align - 1)? & !(align - 1);
            (start.checked_add(size)? <= limit).then_some(start)
        };
        for child in r.children.values() {
            let range = self.child_range(child);
            if let Some(start) = fits(cursor, range.start) {
                return Some(start);
            }
            cursor = range.end;
        }
        fits(cursor, r.end())
    }

    /// The mapping covering `vaddr` anywhere below `region`, with the region that holds it.
    pub fn mapping_at(&self, mut region: RegionIndex, vaddr: u64) -> Option<&Mapping<P>> {
        loop {
            let (_, child) = self.get(region).children.range(..=vaddr).next_back()?;
            if !self.child_range(child).contains(&vaddr) {
                return None;
            }
            match child {
                Child::Region(index) => region = *index,
                Child::Mapping(mapping) => return Some(mapping),
            }
        }
    }

    /// Every region below `region` (itself included), parents before children.
    pub fn subtree(&self, region: RegionIndex) -> Vec<RegionIndex> {
        let mut order = alloc::vec![region];
        let mut next = 0;
        while let Some(&index) = order.get(next) {
            next += 1;
            for child in self.get(index).children.values() {
                if let Child::Region(sub) = child {
                    order.push(*sub);
                }
            }
        }
        order
    }

    /// Every mapping of the whole tree.
    pub fn all_mappings(&self) -> impl Iterator<Item = &Mapping<P>> {
        self.regions.iter().flatten().flat_map(|region| {
            region.children.values().filter_map(|child| match child {
                Child::Mapping(mapping) => Some(mapping),
                Child::Region(_) => None,
            })
        })
    }
}
