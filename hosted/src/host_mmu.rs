//! [`HostMmu`]: translations of the calling program's own address space, made real with host
//! mappings inside a range the runtime reserved (`PROT_NONE` wherever nothing is translated).
//!
//! A frame is installed with `mmap(MAP_FIXED | MAP_SHARED)` of its page of the frame file; the
//! zero page as a fresh private anonymous page, read-only; removing a translation puts the
//! reservation back. The MMU keeps its own list of translations (as [`SoftwareMmu`] does) so
//! that it lowers permissions only where something is translated and can count host mappings.
//!
//! Linux refuses more than `vm.max_map_count` (about 65 000) mappings per process. Neighbouring
//! translations with the same permissions merge into one host mapping when their frames are
//! neighbours in the file (or both are zero pages), so the MMU counts *runs* of mergeable
//! translations and keeps them under a budget: when a new translation would exceed it, every
//! translation is dropped (the engine allows an MMU to forget translations at any time; the
//! next accesses fault them back in).

use std::any::Any;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use rustix::mm::{mmap, mmap_anonymous, mprotect, MapFlags, MprotectFlags, ProtFlags};
use vm_engine::{Mmu, MmuFull, PageTarget, Perms, SoftwareMmu, PAGE_SIZE};

const PAGE: u64 = PAGE_SIZE as u64;

/// Runs of translations allowed at once by default: each run costs at most two host mappings
/// (itself and the reservation after it), so this stays far below `vm.max_map_count`.
pub const DEFAULT_RUN_BUDGET: usize = 16_384;

/// The MMU of the calling program's address space.
pub struct HostMmu {
    file: RawFd,
    base: u64,
    size: u64,
    book: SoftwareMmu,
    runs: usize,
    budget: usize,
    /// Times the budget made it drop every translation.
    pub evictions: u64,
}

impl std::fmt::Debug for HostMmu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostMmu")
            .field("base", &self.base)
            .field("size", &self.size)
            .field("translations", &self.book.len())
            .field("runs", &self.runs)
            .finish()
    }
}

fn prot(perms: Perms) -> ProtFlags {
    let mut prot = ProtFlags::empty();
    if perms.contains(Perms::READ) {
        prot |= ProtFlags::READ;
    }
    if perms.contains(Perms::WRITE) {
        prot |= ProtFlags::WRITE;
    }
    if perms.contains(Perms::EXECUTE) {
        prot |= ProtFlags::EXEC;
    }
    prot
}

fn mprotect_flags(perms: Perms) -> MprotectFlags {
    MprotectFlags::from_bits_truncate(prot(perms).bits())
}

/// Whether two translations, the second one page after the first, share one host mapping.
fn mergeable(left: (PageTarget, Perms), right: (PageTarget, Perms)) -> bool {
    left.1 == right.1
        && match (left.0, right.0) {
            (PageTarget::Zeros, PageTarget::Zeros) => true,
            (PageTarget::Frame(a), PageTarget::Frame(b)) => a.checked_add(PAGE) == Some(b),
            _ => false,
        }
}

impl HostMmu {
    /// An MMU for the reserved range `[base, base + size)`, mapping frames of `file`.
    ///
    /// # Safety
    /// `[base, base + size)` must be a host range reserved for this MMU alone (nothing else may
    /// map or use it), and `file` must stay open as long as the MMU exists.
    pub unsafe fn new(file: BorrowedFd<'_>, base: u64, size: u64, budget: usize) -> Self {
        HostMmu {
            file: file.as_raw_fd(),
            base,
            size,
            book: SoftwareMmu::new(),
            runs: 0,
            budget,
            evictions: 0,
        }
    }

    /// Host mappings the translations currently need, at most (runs and the reservation pieces
    /// between them).
    pub fn host_mappings(&self) -> usize {
        2 * self.runs + 1
    }

    fn starts_run(&self, vaddr: u64) -> bool {
        let Some(here) = self.book.translation(vaddr) else {
            return false;
        };
        match vaddr
            .checked_sub(PAGE)
            .and_then(|left| self.book.translation(left))
        {
            Some(left) => !mergeable(left, here),
            None => true,
        }
    }

    /// Runs starting in `[from, to)`.
    fn starts_in(&self, from: u64, to: u64) -> usize {
        self.book
            .translations_in(from, to)
            .filter(|&(vaddr, _, _)| self.starts_run(vaddr))
            .count()
    }

    /// Puts the reservation back over `[vaddr, vaddr + len)`.
    fn reserve(&self, vaddr: u64, len: u64) {
        // SAFETY: the range lies in the reservation this MMU owns (the engine only translates
        // addresses of its address space, which is that reservation); replacing whatever is
        // there with a fresh inaccessible mapping is what removing a translation means.
        let result = unsafe {
            mmap_anonymous(
                vaddr as *mut _,
                len as usize,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::NORESERVE,
            )
        };
        if result.is_err() {
            // Cannot happen for a range we own short of the host running out of mappings; a
            // mapping left in place would be a stale translation, which must never be.
            std::process::abort();
        }
    }

    /// Drops every translation (to stay within the budget).
    fn evict_all(&mut self) {
        self.reserve(self.base, self.size);
        self.book = SoftwareMmu::new();
        self.runs = 0;
        self.evictions += 1;
    }

    fn install(&self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull> {
        let result = match target {
            // SAFETY: `vaddr` is a page of our reservation (see `reserve`); the frame's page
            // lies inside the file, which outlives the MMU.
            PageTarget::Frame(offset) => unsafe {
                mmap(
                    vaddr as *mut _,
                    PAGE_SIZE,
                    prot(perms),
                    // Populated now: the access that faulted is retried at once, and would
                    // otherwise take a second (minor) fault to fill the page table.
                    MapFlags::SHARED | MapFlags::FIXED | MapFlags::POPULATE,
                    BorrowedFd::borrow_raw(self.file),
                    offset,
                )
            },
            // SAFETY: as above; a fresh private anonymous page reads as zeros.
            PageTarget::Zeros => unsafe {
                mmap_anonymous(
                    vaddr as *mut _,
                    PAGE_SIZE,
                    prot(perms - Perms::WRITE),
                    MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::NORESERVE,
                )
            },
        };
        result.map(|_| ()).map_err(|_| MmuFull)
    }
}

impl Mmu for HostMmu {
    fn map(&mut self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull> {
        let around = (vaddr, vaddr + 2 * PAGE);
        let before = self.starts_in(around.0, around.1);
        let mut old = self.book.translation(vaddr);
        self.book.map(vaddr, target, perms)?;
        let after = self.starts_in(around.0, around.1);
        if self.runs + after > self.budget + before {
            self.evict_all();
            // The page lost its host mapping with the others: it must be installed afresh.
            old = None;
            self.book.map(vaddr, target, perms)?;
            self.runs = 1;
        } else {
            self.runs = self.runs + after - before;
        }
        let installed = match old {
            // The same page with other permissions (a write fault on a frame the mapping
            // already showed): only the protection changes.
            Some((same, _)) if same == target => {
                let perms = match target {
                    PageTarget::Zeros => perms - Perms::WRITE,
                    PageTarget::Frame(_) => perms,
                };
                // SAFETY: a page of our reservation holding a translation this MMU installed.
                unsafe { mprotect(vaddr as *mut _, PAGE_SIZE, mprotect_flags(perms)) }
                    .map_err(|_| MmuFull)
            }
            _ => self.install(vaddr, target, perms),
        };
        if let Err(full) = installed {
            // Keep the book true to the host: whatever was there is gone either way.
            self.unmap(vaddr, PAGE);
            return Err(full);
        }
        Ok(())
    }

    fn unmap(&mut self, vaddr: u64, len: u64) {
        let end = vaddr.saturating_add(len);
        if self.book.translations_in(vaddr, end).next().is_none() {
            return;
        }
        let before = self.starts_in(vaddr, end.saturating_add(PAGE));
        self.book.unmap(vaddr, len);
        let after = self.starts_in(vaddr, end.saturating_add(PAGE));
        self.runs = self.runs + after - before;
        self.reserve(vaddr, len);
    }

    fn restrict(&mut self, vaddr: u64, len: u64, allowed: Perms) {
        let end = vaddr.saturating_add(len);
        let lowered: Vec<(u64, Perms)> = self
            .book
            .translations_in(vaddr, end)
            .filter(|&(_, _, perms)| !allowed.contains(perms))
            .map(|(at, _, perms)| (at, perms & allowed))
            .collect();
        if lowered.is_empty() {
            return;
        }
        let before = self.starts_in(vaddr, end.saturating_add(PAGE));
        self.book.restrict(vaddr, len, allowed);
        let after = self.starts_in(vaddr, end.saturating_add(PAGE));
        self.runs = self.runs + after - before;
        // One host call per run of neighbouring pages that end with the same permissions.
        let mut i = 0;
        while i < lowered.len() {
            let (start, perms) = lowered[i];
            let mut next = i + 1;
            while next < lowered.len()
                && lowered[next].0 == lowered[next - 1].0 + PAGE
                && lowered[next].1 == perms
            {
                next += 1;
            }
            let pages = (next - i) as u64;
            // SAFETY: pages of our reservation that hold translations this MMU installed.
            let result = unsafe {
                mprotect(
                    start as *mut _,
                    (pages * PAGE) as usize,
                    mprotect_flags(perms),
                )
            };
            if result.is_err() {
                // A translation keeping more access than the engine allows must never be.
                std::process::abort();
            }
            i = next;
        }
    }

    fn translation(&self, vaddr: u64) -> Option<(PageTarget, Perms)> {
        self.book.translation(vaddr)
    }

    fn for_each_translation(&self, visit: &mut dyn FnMut(u64, PageTarget, Perms)) {
        self.book.for_each_translation(visit);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memfd_frames::MemfdFrames;
    use vm_engine::FrameSource;

    /// A reserved range of `pages` pages, never unmapped (tests are short-lived processes).
    fn reserve(pages: usize) -> u64 {
        // SAFETY: a new inaccessible private mapping at an address the host picks.
        unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                pages * PAGE_SIZE,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )
        }
        .expect("reservation") as u64
    }

    #[test]
    fn a_page_evicted_while_its_permissions_change_is_installed_again() {
        let frames = MemfdFrames::with_limit(8).unwrap();
        let mut a = frames.allocate_zeroed().unwrap();
        let mut b = frames.allocate_zeroed().unwrap();
        frames.write(&mut a, 0, b"first");
        frames.write(&mut b, 0, b"second");
        let (fa, fb) = (frames.physical_address(&a), frames.physical_address(&b));
        assert_eq!(fb, fa + PAGE, "neighbouring frames");
        let base = reserve(4);
        // SAFETY: the range was reserved for this MMU alone; the file outlives it.
        let mut mmu = unsafe { HostMmu::new(frames.file(), base, 4 * PAGE, 1) };
        mmu.map(base, PageTarget::Frame(fa), Perms::READ).unwrap();
        mmu.map(base + PAGE, PageTarget::Frame(fb), Perms::READ)
            .unwrap();
        assert_eq!(mmu.runs, 1, "one mergeable run");
        // Raising one page's permissions splits the run: over budget, everything is dropped,
        // and the page must still end up showing its frame, writable.
        mmu.map(
            base + PAGE,
            PageTarget::Frame(fb),
            Perms::READ | Perms::WRITE,
        )
        .unwrap();
        assert_eq!(mmu.evictions, 1);
        assert!(mmu.translation(base).is_none());
        let page = (base + PAGE) as *mut u8;
        // SAFETY: the page is mapped read/write to frame `b` (checked by the test itself).
        unsafe {
            assert_eq!(std::slice::from_raw_parts(page, 6), b"second");
            page.write(b'S');
        }
        let mut back = [0u8; 1];
        frames.read(&b, 0, &mut back);
        assert_eq!(
            &back, b"S",
            "the write went to the frame, not to an anonymous page"
        );
        mmu.unmap(base, 4 * PAGE);
        frames.release(a);
        frames.release(b);
    }
}
