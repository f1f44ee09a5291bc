//! Address spaces: a tree of regions (VMARs) holding mappings of VMOs, an MMU that caches the
//! translations, and fault resolution that fills it.
//!
//! A mapping registers with its VMO's family, so that whatever later changes a mapped page (a
//! copy on write elsewhere, a decommit, a zero, a shrink, a snapshot) removes or write-protects
//! the translations it made stale, under the family lock. A fault resolves a page under the same
//! lock and installs its translation before letting go, so the two can never cross.
//!
//! Lock order: the address space's region tree, then a family, then the MMU. Nothing here holds
//! two families' locks, or touches the caller's buffer with the tree or a family locked beyond
//! the copy of one page.
//!
//! Check order of each operation, for the kernel layer to rely on (after its own handle and
//! argument checks):
//! - `map`: region destroyed (`BadState`), a permission the region does not allow
//!   (`AccessDenied`), length 0 or unaligned VMO offset (`InvalidArgs`), length or offset
//!   overflow (`OutOfRange`), specific placement where the region does not allow it
//!   (`AccessDenied`), unaligned or outside the region (`InvalidArgs`), collision
//!   (`AlreadyExists`; with overwrite, a sub-region in the way is `InvalidArgs`), no room
//!   (`NoResources`).
//! - `allocate`: destroyed (`BadState`), size 0 or unaligned (`InvalidArgs`), permissions
//!   beyond the parent's (`AccessDenied`), then placement as for `map`.
//! - `unmap`: unaligned address or length 0 (`InvalidArgs`), destroyed (`BadState`), outside
//!   the region or partly covering a sub-region (`InvalidArgs`). Nothing mapped is fine.
//! - `protect`: the same range checks, then in address order: a gap (`NotFound`), a sub-region
//!   (`InvalidArgs`), a permission above the mapping's ceiling (`AccessDenied`).

mod mmu;
mod software_mmu;
mod tree;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

pub use mmu::{Mmu, MmuFull, PageTarget, Perms};
pub use software_mmu::SoftwareMmu;
pub use tree::KeepAlive;

use crate::error::{VmError, VmResult};
use crate::geometry::{is_page_aligned, PAGE_SIZE};
use crate::mapping_registry::Translations;
use crate::platform::Platform;
use crate::vmo::Vmo;
use tree::{Child, Mapping, RegionIndex, Tree};

const PAGE: u64 = PAGE_SIZE as u64;

/// The most mappings one address space may hold (pieces of split mappings count): a bound on
/// the metadata one process can make the kernel keep, like Linux's `vm.max_map_count`. Beyond
/// it, mapping (or splitting a mapping) fails with `NoMemory`.
pub const MAX_MAPPINGS: usize = 65_536;

/// The MMU of an address space behind its own lock.
struct MmuCell<P: Platform> {
    mmu: lock_api::Mutex<P::RawMutex, alloc::boxed::Box<dyn Mmu>>,
}

impl<P: Platform> Translations for MmuCell<P> {
    fn map(&self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull> {
        self.mmu.lock().map(vaddr, target, perms)
    }

    fn unmap(&self, vaddr: u64, len: u64) {
        self.mmu.lock().unmap(vaddr, len);
    }

    fn restrict(&self, vaddr: u64, len: u64, allowed: Perms) {
        self.mmu.lock().restrict(vaddr, len, allowed);
    }

    fn placement(&self, vaddr: u64, mapping: (u64, u64)) -> Option<u64> {
        self.mmu.lock().placement(vaddr, mapping)
    }
}

struct Shared<P: Platform> {
    tree: lock_api::Mutex<P::RawMutex, Tree<P>>,
    mmu: Arc<MmuCell<P>>,
    /// The same cell, as the families see it.
    translations: Arc<dyn Translations>,
}

impl<P: Platform> Drop for Shared<P> {
    fn drop(&mut self) {
        // Mappings hold their VMOs; the VMOs' families must forget them before they go.
        for mapping in self.tree.get_mut().all_mappings() {
            mapping.vmo.unregister_mapping(mapping.key);
        }
    }
}

/// An address space: the root region and everything below it, with its MMU.
pub struct AddressSpace<P: Platform> {
    shared: Arc<Shared<P>>,
}

/// A region (VMAR) of an address space. A handle: it stays valid as a value after the region
/// is destroyed, and every operation on it then fails with `BadState`.
pub struct Vmar<P: Platform> {
    shared: Arc<Shared<P>>,
    index: RegionIndex,
    serial: u64,
}

impl<P: Platform> Clone for Vmar<P> {
    fn clone(&self) -> Self {
        Vmar {
            shared: self.shared.clone(),
            index: self.index,
            serial: self.serial,
        }
    }
}

impl<P: Platform> fmt::Debug for Vmar<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vmar")
            .field("index", &self.index)
            .field("serial", &self.serial)
            .finish()
    }
}

/// A new sub-region.
#[derive(Clone, Copy, Debug)]
pub struct RegionRequest {
    /// Offset from the parent's base (specific placement), or `None` for anywhere.
    pub offset: Option<u64>,
    /// Bytes, a whole number of pages.
    pub size: u64,
    /// Alignment of the base when placed anywhere (a power of two, at least a page).
    pub align: u64,
    /// Permissions mappings inside may have.
    pub allows: Perms,
    /// Whether specific placements are allowed inside.
    pub can_map_specific: bool,
}

/// A new mapping.
pub struct MapRequest<P: Platform> {
    /// Offset from the region's base (specific placement), or `None` for anywhere.
    pub offset: Option<u64>,
    /// With a specific offset: replace whatever mappings are there instead of failing.
    pub overwrite: bool,
    /// The VMO to map.
    pub vmo: Arc<Vmo<P>>,
    /// Page-aligned offset in the VMO.
    pub vmo_offset: u64,
    /// Bytes, rounded up to pages.
    pub len: u64,
    /// Permissions of the mapping.
    pub perms: Perms,
    /// The most `protect` may ever grant (what the VMO handle allowed).
    pub max_perms: Perms,
    /// Alignment of the base when placed anywhere (a power of two, at least a page).
    pub align: u64,
    /// Install translations for the pages already committed right away.
    pub populate: bool,
    /// Kept alive as long as any part of the mapping exists.
    pub keep_alive: Option<KeepAlive>,
}

/// A mapped piece of a range, with what it takes to map the same memory elsewhere.
pub struct MappedPiece<P: Platform> {
    /// First address of the piece (inside the range asked about).
    pub base: u64,
    /// Bytes.
    pub len: u64,
    /// The VMO mapped there.
    pub vmo: Arc<Vmo<P>>,
    /// Offset in the VMO of the byte at `base`.
    pub vmo_offset: u64,
    /// Current permissions.
    pub perms: Perms,
    /// The most its mapping may ever be granted.
    pub max_perms: Perms,
    /// What the mapping keeps alive.
    pub keep_alive: Option<KeepAlive>,
}

/// Why an access through an address space failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// No mapping covers the address.
    Unmapped,
    /// The mapping does not allow this kind of access.
    Denied,
    /// The address lies in a mapping but past the end of its VMO.
    BeyondEnd,
    /// A frame or a translation could not be had.
    NoMemory,
    /// The page comes from a user pager that has not supplied it yet (the engine's
    /// `VmError::ShouldWait`); nothing changed. `vmo_offset` is the page's offset in the VMO
    /// mapped there: the caller waits for that VMO's missing range
    /// ([`Vmo::missing_range`](crate::Vmo::missing_range)), found through the mapping
    /// ([`AddressSpace::mapped_pieces`]), and retries.
    ShouldWait {
        /// Offset in the mapped VMO of the page (page aligned).
        vmo_offset: u64,
    },
}

/// The kind of access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

impl Access {
    fn needs(self) -> Perms {
        match self {
            Access::Read => Perms::READ,
            Access::Write => Perms::WRITE,
            Access::Execute => Perms::EXECUTE,
        }
    }
}

/// A mapping as reported by [`AddressSpace::mappings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappingInfo {
    /// First address.
    pub base: u64,
    /// Bytes.
    pub len: u64,
    /// Offset in the VMO of the byte at `base`.
    pub vmo_offset: u64,
    /// Current permissions.
    pub perms: Perms,
}

impl<P: Platform> AddressSpace<P> {
    /// An address space whose root region covers `[base, base + size)` (page aligned, not
    /// wrapping), with translations kept by `mmu`.
    pub fn new(base: u64, size: u64, mmu: alloc::boxed::Box<dyn Mmu>) -> VmResult<Self> {
        if !is_page_aligned(base)
            || !is_page_aligned(size)
            || size == 0
            || base.checked_add(size).is_none()
        {
            return Err(VmError::InvalidArgs);
        }
        let mmu = Arc::new(MmuCell::<P> {
            mmu: lock_api::Mutex::new(mmu),
        });
        let translations: Arc<dyn Translations> = mmu.clone();
        Ok(AddressSpace {
            shared: Arc::new(Shared {
                tree: lock_api::Mutex::new(Tree::new(base, size)),
                mmu,
                translations,
            }),
        })
    }

    /// The root region.
    pub fn root(&self) -> Vmar<P> {
        Vmar {
            shared: self.shared.clone(),
            index: 0,
            serial: 1,
        }
    }

    /// Destroys the root region: every mapping goes, every region handle turns `BadState`.
    pub fn destroy(&self) {
        let dropped = {
            let mut tree = self.shared.tree.lock();
            if tree.region(0, 1).is_err() {
                return;
            }
            destroy_region(&mut tree, &self.shared, 0)
        };
        drop(dropped);
    }

    /// Resolves a fault at `vaddr` as the MMU would report it for a thread of this address
    /// space: checks the mapping's permissions and installs a translation.
    pub fn fault(&self, vaddr: u64, access: Access) -> Result<(), AccessError> {
        let tree = self.shared.tree.lock();
        let mapping = tree.mapping_at(0, vaddr).ok_or(AccessError::Unmapped)?;
        if !mapping.perms.contains(access.needs()) {
            return Err(AccessError::Denied);
        }
        let page = vaddr & !(PAGE - 1);
        let vmo_page = mapping.vmo_page(page);
        mapping
            .vmo
            .fault_in(
                vmo_page,
                access == Access::Write,
                mapping.perms,
                page,
                (mapping.base, mapping.end()),
                &*self.shared.translations,
            )
            .map_err(|error| match error {
                VmError::OutOfRange => AccessError::BeyondEnd,
                VmError::ShouldWait => AccessError::ShouldWait {
                    vmo_offset: vmo_page * PAGE,
                },
                _ => AccessError::NoMemory,
            })
    }

    /// Copies memory at `vaddr` into `dst` as a thread of this address space would read it,
    /// faulting pages in. Stops at the first page that fails: returns how many bytes were
    /// copied and, if it stopped early, why.
    pub fn read(&self, vaddr: u64, dst: &mut [u8]) -> (usize, Option<AccessError>) {
        self.access(vaddr, dst.len(), Access::Read, |vmo, offset, done, len| {
            vmo.read(offset, &mut dst[done..done + len])
        })
    }

    /// Copies `src` to memory at `vaddr` as a thread of this address space would write it.
    /// Returns as [`AddressSpace::read`] does.
    pub fn write(&self, vaddr: u64, src: &[u8]) -> (usize, Option<AccessError>) {
        self.access(vaddr, src.len(), Access::Write, |vmo, offset, done, len| {
            vmo.write(offset, &src[done..done + len])
        })
    }

    /// Page by page: find the mapping, make sure the MMU has a translation good for the access
    /// (faulting if not), then copy through the VMO with no lock of this space held.
    fn access(
        &self,
        vaddr: u64,
        len: usize,
        access: Access,
        mut copy: impl FnMut(&Vmo<P>, u64, usize, usize) -> VmResult<()>,
    ) -> (usize, Option<AccessError>) {
        let mut done = 0usize;
        while done < len {
            let Some(at) = vaddr.checked_add(done as u64) else {
                return (done, Some(AccessError::Unmapped));
            };
            let in_page = (at % PAGE) as usize;
            let chunk = (PAGE_SIZE - in_page).min(len - done);
            let (vmo, offset) = {
                let tree = self.shared.tree.lock();
                let Some(mapping) = tree.mapping_at(0, at) else {
                    return (done, Some(AccessError::Unmapped));
                };
                if !mapping.perms.contains(access.needs()) {
                    return (done, Some(AccessError::Denied));
                }
                let page = at - in_page as u64;
                let translated = self.shared.mmu.mmu.lock().translation(page);
                let good = translated.is_some_and(|(_, perms)| {
                    access != Access::Write || perms.contains(Perms::WRITE)
                });
                if !good {
                    let faulted = mapping.vmo.fault_in(
                        mapping.vmo_page(page),
                        access == Access::Write,
                        mapping.perms,
                        page,
                        (mapping.base, mapping.end()),
                        &*self.shared.translations,
                    );
                    match faulted {
                        Ok(()) => {}
                        Err(VmError::OutOfRange) => return (done, Some(AccessError::BeyondEnd)),
                        Err(VmError::ShouldWait) => {
                            let vmo_offset = mapping.vmo_page(page) * PAGE;
                            return (done, Some(AccessError::ShouldWait { vmo_offset }));
                        }
                        Err(_) => return (done, Some(AccessError::NoMemory)),
                    }
                }
                (
                    mapping.vmo.clone(),
                    mapping.vmo_offset + (at - mapping.base),
                )
            };
            match copy(&vmo, offset, done, chunk) {
                Ok(()) => done += chunk,
                // The VMO shrank after the fault.
                Err(VmError::OutOfRange) => return (done, Some(AccessError::BeyondEnd)),
                // The page went again after the fault (a shrink and a regrowth in between).
                Err(VmError::ShouldWait) => {
                    let vmo_offset = offset & !(PAGE - 1);
                    return (done, Some(AccessError::ShouldWait { vmo_offset }));
                }
                Err(_) => return (done, Some(AccessError::NoMemory)),
            }
        }
        (done, None)
    }

    /// The mapping that covers `vaddr`, if any.
    pub fn mapping_at(&self, vaddr: u64) -> Option<MappingInfo> {
        let tree = self.shared.tree.lock();
        tree.mapping_at(0, vaddr).map(|m| MappingInfo {
            base: m.base,
            len: m.len,
            vmo_offset: m.vmo_offset,
            perms: m.perms,
        })
    }

    /// The root region's range.
    pub fn range(&self) -> (u64, u64) {
        let tree = self.shared.tree.lock();
        let root = tree.get(0);
        (root.base, root.size)
    }

    /// The mapped pieces of `[start, end)`, in address order, clipped to the range (mappings in
    /// sub-regions included).
    pub fn mapped_pieces(&self, start: u64, end: u64) -> Vec<MappedPiece<P>> {
        let tree = self.shared.tree.lock();
        let mut pieces: Vec<MappedPiece<P>> = tree
            .all_mappings()
            .filter(|m| m.base < end && m.end() > start)
            .map(|m| {
                let base = m.base.max(start);
                MappedPiece {
                    base,
                    len: m.end().min(end) - base,
                    vmo: m.vmo.clone(),
                    vmo_offset: m.vmo_offset + (base - m.base),
                    perms: m.perms,
                    max_perms: m.max_perms,
                    keep_alive: m.keep_alive.clone(),
                }
            })
            .collect();
        pieces.sort_by_key(|p| p.base);
        pieces
    }

    /// Every mapping, in address order.
    pub fn mappings(&self) -> Vec<MappingInfo> {
        let tree = self.shared.tree.lock();
        let mut all: Vec<MappingInfo> = tree
            .all_mappings()
            .map(|m| MappingInfo {
                base: m.base,
                len: m.len,
                vmo_offset: m.vmo_offset,
                perms: m.perms,
            })
            .collect();
        all.sort_by_key(|m| m.base);
        all
    }

    /// Calls `look` with the MMU, for its owner to inspect (tests downcast it through
    /// [`Mmu::as_any`]).
    pub fn with_mmu<R>(&self, look: impl FnOnce(&dyn Mmu) -> R) -> R {
        look(&**self.shared.mmu.mmu.lock())
    }

    /// Checks every translation the MMU reports against the engine: it lies in a mapping, allows
    /// no more than the mapping, points at exactly the frame (or zeros) the VMO shows there, and
    /// allows writes only where the VMO holds that frame itself. Slow: for tests.
    pub fn check_translations(&self) -> Result<(), String> {
        let tree = self.shared.tree.lock();
        let mut seen = Vec::new();
        self.shared
            .mmu
            .mmu
            .lock()
            .for_each_translation(&mut |vaddr, target, perms| seen.push((vaddr, target, perms)));
        let counted = tree.all_mappings().count();
        if counted != tree.mapping_count {
            return Err(format!(
                "{counted} mappings in the tree, {} counted",
                tree.mapping_count
            ));
        }
        for (vaddr, target, perms) in seen {
            let Some(mapping) = tree.mapping_at(0, vaddr) else {
                return Err(format!("translation at {vaddr:#x} outside every mapping"));
            };
            if !mapping.perms.contains(perms) {
                return Err(format!(
                    "translation at {vaddr:#x} allows {perms:?}, mapping only {:?}",
                    mapping.perms
                ));
            }
            let Some((truth, writable)) = mapping.vmo.current_translation(mapping.vmo_page(vaddr))
            else {
                return Err(format!("translation at {vaddr:#x} beyond its VMO's end"));
            };
            if truth != target {
                return Err(format!(
                    "stale translation at {vaddr:#x}: {target:?}, the VMO shows {truth:?}"
                ));
            }
            if perms.contains(Perms::WRITE) && !writable {
                return Err(format!(
                    "translation at {vaddr:#x} writable but its frame is shared"
                ));
            }
        }
        Ok(())
    }
}

impl<P: Platform> Drop for AddressSpace<P> {
    fn drop(&mut self) {
        self.destroy();
    }
}

impl<P: Platform> Vmar<P> {
    /// First address of the region (also after it was destroyed).
    pub fn base(&self) -> VmResult<u64> {
        Ok(self
            .shared
            .tree
            .lock()
            .region(self.index, self.serial)?
            .base)
    }

    /// Size of the region in bytes.
    pub fn size(&self) -> VmResult<u64> {
        Ok(self
            .shared
            .tree
            .lock()
            .region(self.index, self.serial)?
            .size)
    }

    /// Whether two handles name the same region.
    pub fn same_region(&self, other: &Vmar<P>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
            && self.index == other.index
            && self.serial == other.serial
    }

    /// Whether `other` is a region of the same address space.
    pub fn same_space(&self, space: &AddressSpace<P>) -> bool {
        Arc::ptr_eq(&self.shared, &space.shared)
    }

    /// Creates a sub-region and returns it.
    pub fn allocate(&self, request: RegionRequest) -> VmResult<Vmar<P>> {
        let mut tree = self.shared.tree.lock();
        let parent = tree.region(self.index, self.serial)?;
        if request.size == 0 || !is_page_aligned(request.size) {
            return Err(VmError::InvalidArgs);
        }
        if !parent.allows.contains(request.allows) {
            return Err(VmError::AccessDenied);
        }
        let base = place(
            &tree,
            self.index,
            request.offset,
            request.size,
            request.align,
            false,
        )?;
        let (index, serial) = tree.add(
            base,
            request.size,
            request.allows,
            request.can_map_specific,
            Some(self.index),
        );
        tree.get_mut(self.index)
            .children
            .insert(base, Child::Region(index));
        Ok(Vmar {
            shared: self.shared.clone(),
            index,
            serial,
        })
    }

    /// Maps a VMO and returns the address of its first byte.
    pub fn map(&self, request: MapRequest<P>) -> VmResult<u64> {
        let mut tree = self.shared.tree.lock();
        let region = tree.region(self.index, self.serial)?;
        if !region.allows.contains(request.perms) {
            return Err(VmError::AccessDenied);
        }
        if request.len == 0 || !is_page_aligned(request.vmo_offset) {
            return Err(VmError::InvalidArgs);
        }
        let len = crate::geometry::round_up_to_page(request.len).ok_or(VmError::OutOfRange)?;
        request
            .vmo_offset
            .checked_add(len)
            .ok_or(VmError::OutOfRange)?;
        let base = place(
            &tree,
            self.index,
            request.offset,
            len,
            request.align,
            request.overwrite,
        )?;
        // One more mapping, unless an overwrite removes some first (checked after carving).
        if !request.overwrite && tree.mapping_count >= MAX_MAPPINGS {
            return Err(VmError::NoMemory);
        }
        let keys = request.vmo.register_mappings(
            &self.shared.translations,
            &[(request.vmo_offset / PAGE, len / PAGE, base)],
        )?;
        let mut dropped = Vec::new();
        if request.overwrite {
            match carve(&mut tree, &self.shared, self.index, base..base + len, false) {
                Ok(gone) => dropped = gone,
                Err(error) => {
                    request.vmo.unregister_mapping(keys[0]);
                    return Err(error);
                }
            }
            if tree.mapping_count >= MAX_MAPPINGS {
                // What the overwrite removed stays removed: the caller asked for the range.
                request.vmo.unregister_mapping(keys[0]);
                drop(tree);
                drop(dropped);
                return Err(VmError::NoMemory);
            }
        }
        let mapping = Mapping {
            base,
            len,
            vmo: request.vmo,
            vmo_offset: request.vmo_offset,
            perms: request.perms,
            max_perms: request.max_perms,
            key: keys[0],
            keep_alive: request.keep_alive,
        };
        if request.populate {
            populate(&mapping, &*self.shared.translations);
        }
        tree.get_mut(self.index)
            .children
            .insert(base, Child::Mapping(mapping));
        tree.mapping_count += 1;
        drop(tree);
        drop(dropped);
        Ok(base)
    }

    /// Removes every mapping in `[addr, addr + len)` (length rounded up to pages), splitting
    /// those that reach out of the range, and destroys the sub-regions it covers entirely.
    pub fn unmap(&self, addr: u64, len: u64) -> VmResult<()> {
        let range = self.checked_range(addr, len)?;
        let dropped = {
            let mut tree = self.shared.tree.lock();
            self.check_inside(&tree, &range)?;
            carve(&mut tree, &self.shared, self.index, range, true)?
        };
        drop(dropped);
        Ok(())
    }

    /// Sets the permissions of every mapping in `[addr, addr + len)` (length rounded up to
    /// pages), splitting those that reach out of the range. The range must be covered by
    /// mappings of this region, and `perms` must lie within each one's ceiling.
    pub fn protect(&self, addr: u64, len: u64, perms: Perms) -> VmResult<()> {
        let range = self.checked_range(addr, len)?;
        let mut tree = self.shared.tree.lock();
        self.check_inside(&tree, &range)?;
        let region = tree.get(self.index);
        let mut cursor = range.start;
        let bases = tree.overlapping(self.index, range.clone())?;
        for &base in &bases {
            let Some(child) = region.children.get(&base) else {
                unreachable!("overlapping children exist")
            };
            let covered = tree.child_range(child);
            if covered.start > cursor {
                return Err(VmError::NotFound);
            }
            match child {
                Child::Region(_) => return Err(VmError::InvalidArgs),
                Child::Mapping(mapping) if !mapping.max_perms.contains(perms) => {
                    return Err(VmError::AccessDenied)
                }
                Child::Mapping(_) => {}
            }
            cursor = covered.end;
        }
        if cursor < range.end {
            return Err(VmError::NotFound);
        }
        if !region.allows.contains(perms) {
            return Err(VmError::AccessDenied);
        }
        split_pair(&mut tree, &self.shared, self.index, range.start, range.end)?;
        // After the splits, the mapping that began before the range has a piece at its start.
        for base in bases.into_iter().map(|base| base.max(range.start)) {
            if let Some(Child::Mapping(mapping)) = tree.get_mut(self.index).children.get_mut(&base)
            {
                mapping.perms = perms;
            }
        }
        // Lowered permissions take effect at once; raised ones at the next fault.
        self.shared
            .translations
            .restrict(range.start, range.end - range.start, perms);
        Ok(())
    }

    /// Destroys the region: unmaps everything in it and destroys its sub-regions. Its range
    /// becomes free in the parent. The root region cannot be destroyed this way
    /// (`NotSupported`): the address space's owner destroys it.
    pub fn destroy(&self) -> VmResult<()> {
        let dropped = {
            let mut tree = self.shared.tree.lock();
            let region = tree.region(self.index, self.serial)?;
            let Some(parent) = region.parent else {
                return Err(VmError::NotSupported);
            };
            let base = region.base;
            tree.get_mut(parent).children.remove(&base);
            destroy_region(&mut tree, &self.shared, self.index)
        };
        drop(dropped);
        Ok(())
    }

    /// Page-aligned address, non-zero length rounded up without wrapping.
    fn checked_range(&self, addr: u64, len: u64) -> VmResult<core::ops::Range<u64>> {
        if !is_page_aligned(addr) || len == 0 {
            return Err(VmError::InvalidArgs);
        }
        let len = crate::geometry::round_up_to_page(len).ok_or(VmError::InvalidArgs)?;
        let end = addr.checked_add(len).ok_or(VmError::InvalidArgs)?;
        Ok(addr..end)
    }

    /// The region is alive and the range lies inside it.
    fn check_inside(&self, tree: &Tree<P>, range: &core::ops::Range<u64>) -> VmResult<()> {
        let region = tree.region(self.index, self.serial)?;
        if range.start < region.base || range.end > region.end() {
            return Err(VmError::InvalidArgs);
        }
        Ok(())
    }
}

/// Where a new child of `region` of `size` bytes goes: at `offset` from the region's base, or
/// in the lowest free gap aligned to `align`. With `overwrite`, mappings at a specific place do
/// not count as collisions (the caller removes them).
fn place<P: Platform>(
    tree: &Tree<P>,
    region: RegionIndex,
    offset: Option<u64>,
    size: u64,
    align: u64,
    overwrite: bool,
) -> VmResult<u64> {
    let r = tree.get(region);
    let align = align.max(PAGE);
    let Some(offset) = offset else {
        return tree
            .find_gap(region, size, align)
            .ok_or(VmError::NoResources);
    };
    if !r.specific {
        return Err(VmError::AccessDenied);
    }
    if !is_page_aligned(offset) || offset >= r.size || size > r.size - offset {
        return Err(VmError::InvalidArgs);
    }
    let base = r.base + offset;
    if base % align != 0 {
        return Err(VmError::InvalidArgs);
    }
    for at in tree.overlapping(region, base..base + size)? {
        match r.children.get(&at) {
            Some(Child::Mapping(_)) if overwrite => {}
            Some(Child::Region(_)) if overwrite => return Err(VmError::InvalidArgs),
            _ => return Err(VmError::AlreadyExists),
        }
    }
    Ok(base)
}

/// Splits the mapping of `region` that strictly contains `at`, if any, in two; the right piece
/// gets a record of its own.
fn split_at<P: Platform>(
    tree: &mut Tree<P>,
    shared: &Shared<P>,
    region: RegionIndex,
    at: u64,
) -> VmResult<bool> {
    let tree_count = tree.mapping_count;
    let children = &mut tree.get_mut(region).children;
    let Some((&base, Child::Mapping(mapping))) = children.range_mut(..at).next_back() else {
        return Ok(false);
    };
    if mapping.end() <= at {
        return Ok(false);
    }
    if tree_count >= MAX_MAPPINGS {
        return Err(VmError::NoMemory);
    }
    let first_page = (mapping.vmo_offset + (at - base)) / PAGE;
    let keys = mapping.vmo.register_mappings(
        &shared.translations,
        &[(first_page, (mapping.end() - at) / PAGE, at)],
    )?;
    let right = mapping.piece(at, mapping.end(), keys[0]);
    mapping.len = at - base;
    mapping.vmo.reshape_mapping(
        mapping.key,
        mapping.vmo_offset / PAGE,
        mapping.len / PAGE,
        base,
    );
    children.insert(at, Child::Mapping(right));
    tree.mapping_count += 1;
    Ok(true)
}

/// Undoes a [`split_at`]: the mapping at `at` joins the one before it again.
fn join_at<P: Platform>(tree: &mut Tree<P>, region: RegionIndex, at: u64) {
    let children = &mut tree.get_mut(region).children;
    let Some(Child::Mapping(right)) = children.remove(&at) else {
        return;
    };
    right.vmo.unregister_mapping(right.key);
    if let Some((&base, Child::Mapping(left))) = children.range_mut(..at).next_back() {
        left.len += right.len;
        left.vmo
            .reshape_mapping(left.key, left.vmo_offset / PAGE, left.len / PAGE, base);
    }
    tree.mapping_count -= 1;
}

/// Splits at both ends of a range, or at neither.
fn split_pair<P: Platform>(
    tree: &mut Tree<P>,
    shared: &Shared<P>,
    region: RegionIndex,
    start: u64,
    end: u64,
) -> VmResult<()> {
    let first = split_at(tree, shared, region, start)?;
    if let Err(error) = split_at(tree, shared, region, end) {
        if first {
            join_at(tree, region, start);
        }
        return Err(error);
    }
    Ok(())
}

/// Removes the mappings of `region` inside `range` (splitting those that reach out of it) and,
/// if `destroy_regions`, the sub-regions it covers entirely; a sub-region it covers only partly
/// is `InvalidArgs`, checked before anything changes. Returns what was removed, to be dropped
/// once the tree's lock is gone.
fn carve<P: Platform>(
    tree: &mut Tree<P>,
    shared: &Shared<P>,
    region: RegionIndex,
    range: core::ops::Range<u64>,
    destroy_regions: bool,
) -> VmResult<Vec<Mapping<P>>> {
    let bases = tree.overlapping(region, range.clone())?;
    for base in &bases {
        if let Some(child @ Child::Region(_)) = tree.get(region).children.get(base) {
            let covered = tree.child_range(child);
            let whole = range.start <= covered.start && covered.end <= range.end;
            if !whole || !destroy_regions {
                return Err(VmError::InvalidArgs);
            }
        }
    }
    let mut dropped = Vec::new();
    dropped
        .try_reserve(bases.len())
        .map_err(|_| VmError::NoMemory)?;
    split_pair(tree, shared, region, range.start, range.end)?;
    // After the splits, the piece of a mapping that began before the range begins at its start;
    // every other child inside keeps its base.
    for base in bases.into_iter().map(|base| base.max(range.start)) {
        match tree.get_mut(region).children.remove(&base) {
            Some(Child::Mapping(mapping)) => {
                mapping.vmo.unregister_mapping(mapping.key);
                tree.mapping_count -= 1;
                dropped.push(mapping);
            }
            Some(Child::Region(sub)) => dropped.extend(destroy_region(tree, shared, sub)),
            None => {}
        }
    }
    shared
        .translations
        .unmap(range.start, range.end - range.start);
    Ok(dropped)
}

/// Unmaps everything below `region` and removes it and its sub-regions from the arena (the
/// caller has taken it out of its parent's children). Returns the mappings to drop.
fn destroy_region<P: Platform>(
    tree: &mut Tree<P>,
    shared: &Shared<P>,
    region: RegionIndex,
) -> Vec<Mapping<P>> {
    let (base, size) = {
        let r = tree.get(region);
        (r.base, r.size)
    };
    let mut dropped = Vec::new();
    for index in tree.subtree(region) {
        let children = core::mem::take(&mut tree.get_mut(index).children);
        for child in children.into_values() {
            if let Child::Mapping(mapping) = child {
                mapping.vmo.unregister_mapping(mapping.key);
                tree.mapping_count -= 1;
                dropped.push(mapping);
            }
        }
        tree.remove(index);
    }
    shared.translations.unmap(base, size);
    dropped
}

/// Installs read translations for the pages of a new mapping whose VMO already holds them.
fn populate<P: Platform>(mapping: &Mapping<P>, translations: &dyn Translations) {
    let mut vaddr = mapping.base;
    while vaddr < mapping.end() {
        let page = mapping.vmo_page(vaddr);
        match mapping.vmo.current_translation(page) {
            Some((PageTarget::Frame(_), _)) => {
                // A translation that cannot be had now is made by the first access instead.
                let _ = mapping.vmo.fault_in(
                    page,
                    false,
                    mapping.perms,
                    vaddr,
                    (mapping.base, mapping.end()),
                    translations,
                );
            }
            Some((PageTarget::Zeros, _)) => {}
            None => break,
        }
        vaddr += PAGE;
    }
}
