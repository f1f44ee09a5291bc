//! [`HostMmu`]: translations of the calling program's own address space, made real with host
//! mappings inside a range the runtime reserved (`PROT_NONE` wherever nothing is translated).
//!
//! Most translations live in *windows*: a window is one shared mapping of a stretch of the frame
//! file, registered with a userfaultfd (see `userfault`), in which page `i` can only ever show
//! the file page at the window's offset plus `i`. The window has no page-table entry wherever
//! nothing is translated, so any access there faults into the runtime (SIGBUS), and a translation
//! to the right frame is one page-table entry: installed, write-protected or lifted by one ioctl,
//! removed by `MADV_DONTNEED`, with no host mapping created, split or merged. A window is opened
//! over the free stretch of the reservation around the first page a mapping translates (within
//! that mapping), lined up with that page's frame; the engine asks [`Mmu::placement`] before a
//! write fault commits a page, so that new frames land where the window shows them. Windows
//! outlive the mappings they were opened for (their line-up stays useful to the next mapping
//! there); an empty window whose line-up does not fit the next translation is opened afresh.
//!
//! Every other translation (zeros, execute permission, a frame that is not the one its window
//! shows there, or every translation when the host has no userfaultfd) is an *island*: a host
//! mapping of its own, `mmap(MAP_FIXED | MAP_SHARED)` of the frame's page (the zero page as a
//! private anonymous page, read-only), with `mprotect` for permission changes and the
//! reservation put back when it goes.
//!
//! Linux refuses more than `vm.max_map_count` (about 65 000) mappings per process. Neighbouring
//! islands with the same permissions merge into one host mapping when their frames are
//! neighbours in the file (or both are zero pages), so the MMU counts *runs* of mergeable
//! islands, plus windows, and keeps them under a budget: when a new one would exceed it, every
//! translation is dropped (the engine allows an MMU to forget translations at any time; the
//! next accesses fault them back in).
//!
//! After `fork()`, the child's copy of the runtime forgets every translation (the runtime's
//! `atfork` handler puts the reservation back in the child) and makes islands only: the
//! userfaultfd belongs to the parent.

use std::any::Any;
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::mm::{
    madvise, mmap, mmap_anonymous, mprotect, Advice, MapFlags, MprotectFlags, ProtFlags,
};
use vm_engine::{Mmu, MmuFull, PageTarget, Perms, SoftwareMmu, PAGE_SIZE};

use crate::userfault::Userfault;

const PAGE: u64 = PAGE_SIZE as u64;

/// Host mappings (runs of islands, and windows) allowed at once by default: each costs at most
/// two (itself and the reservation after it), so this stays far below `vm.max_map_count`.
pub const DEFAULT_RUN_BUDGET: usize = 16_384;

/// Forks this process has gone through, counted in the child (see [`forget_after_fork`]).
static FORKS: AtomicU64 = AtomicU64::new(0);

/// Tells every MMU of this process that it is a fork's child: the caller has just put the
/// reservation back over all of them, so their translations are gone.
pub fn forget_after_fork() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Replaces whatever `[vaddr, vaddr + len)`, a range of the runtime's reservation, holds with a
/// fresh inaccessible mapping: what removing translations means.
pub(crate) fn put_back_reservation(vaddr: u64, len: u64) {
    // SAFETY: callers pass ranges of the reservation, which only the MMU maps into.
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

/// A window's extent and line-up: it shows file offset `offset + (vaddr - start)` at `vaddr`.
#[derive(Clone, Copy, Debug)]
struct Window {
    end: u64,
    offset: u64,
}

/// The MMU of the calling program's address space.
pub struct HostMmu {
    file: RawFd,
    file_len: u64,
    base: u64,
    size: u64,
    /// Translations that are islands.
    islands: SoftwareMmu,
    /// Runs of mergeable islands.
    runs: usize,
    /// Translations shown through windows.
    windowed: SoftwareMmu,
    /// Windows by start address.
    windows: BTreeMap<u64, Window>,
    /// `None`: islands only.
    userfault: Option<Userfault>,
    /// The page and mapping the engine last asked a placement for: a window opened for that
    /// page stays inside that mapping.
    pending: Option<(u64, (u64, u64))>,
    forks_seen: u64,
    budget: usize,
    /// Times the budget made it drop every translation.
    pub evictions: u64,
}

impl std::fmt::Debug for HostMmu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostMmu")
            .field("base", &self.base)
            .field("size", &self.size)
            .field("islands", &self.islands.len())
            .field("runs", &self.runs)
            .field("windowed", &self.windowed.len())
            .field("windows", &self.windows.len())
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

/// Whether two island translations, the second one page after the first, share one host
/// mapping.
fn mergeable(left: (PageTarget, Perms), right: (PageTarget, Perms)) -> bool {
    left.1 == right.1
        && match (left.0, right.0) {
            (PageTarget::Zeros, PageTarget::Zeros) => true,
            (PageTarget::Frame(a), PageTarget::Frame(b)) => a.checked_add(PAGE) == Some(b),
            _ => false,
        }
}

/// Consecutive pages of `pages` (in address order) as `(start, pages)` runs.
fn runs_of(pages: impl IntoIterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for page in pages {
        match runs.last_mut() {
            Some((start, count)) if *start + *count * PAGE == page => *count += 1,
            _ => runs.push((page, 1)),
        }
    }
    runs
}

impl HostMmu {
    /// An MMU for the reserved range `[base, base + size)`, mapping frames of `file`, with
    /// islands only (see [`HostMmu::with_userfault`]).
    ///
    /// # Safety
    /// `[base, base + size)` must be a host range reserved for this MMU alone (nothing else may
    /// map or use it), and `file` must stay open (and keep its length) as long as the MMU exists.
    pub unsafe fn new(file: BorrowedFd<'_>, base: u64, size: u64, budget: usize) -> Self {
        let file_len = rustix::fs::fstat(file).map_or(0, |stat| stat.st_size as u64);
        HostMmu {
            file: file.as_raw_fd(),
            file_len: file_len - file_len % PAGE,
            base,
            size,
            islands: SoftwareMmu::new(),
            runs: 0,
            windowed: SoftwareMmu::new(),
            windows: BTreeMap::new(),
            userfault: None,
            pending: None,
            forks_seen: FORKS.load(Ordering::Relaxed),
            budget,
            evictions: 0,
        }
    }

    /// Shows translations through windows of `userfault` from now on.
    pub fn with_userfault(mut self, userfault: Option<Userfault>) -> Self {
        self.userfault = userfault;
        self
    }

    /// Whether translations go through windows.
    pub fn uses_windows(&self) -> bool {
        self.userfault.is_some()
    }

    /// Host mappings the translations currently need, at most (runs, windows and the
    /// reservation pieces between them).
    pub fn host_mappings(&self) -> usize {
        2 * (self.runs + self.windows.len()) + 1
    }

    /// Whether the page at `vaddr` is translated through a window (not as an island).
    pub fn is_windowed(&self, vaddr: u64) -> bool {
        self.windowed.translation(vaddr).is_some()
    }

    /// Translations shown through windows and as islands.
    pub fn counts(&self) -> (usize, usize) {
        (self.windowed.len(), self.islands.len())
    }

    /// In a fork's child: nothing is translated any more, and no window can be used.
    fn check_fork(&mut self) {
        let forks = FORKS.load(Ordering::Relaxed);
        if forks != self.forks_seen {
            self.forks_seen = forks;
            self.islands = SoftwareMmu::new();
            self.windowed = SoftwareMmu::new();
            self.windows.clear();
            self.runs = 0;
            self.userfault = None;
        }
    }

    fn starts_run(&self, vaddr: u64) -> bool {
        let Some(here) = self.islands.translation(vaddr) else {
            return false;
        };
        match vaddr
            .checked_sub(PAGE)
            .and_then(|left| self.islands.translation(left))
        {
            Some(left) => !mergeable(left, here),
            None => true,
        }
    }

    /// Runs of islands starting in `[from, to)`.
    fn starts_in(&self, from: u64, to: u64) -> usize {
        self.islands
            .translations_in(from, to)
            .filter(|&(vaddr, _, _)| self.starts_run(vaddr))
            .count()
    }

    /// Puts the reservation back over `[vaddr, vaddr + len)`.
    fn reserve(&self, vaddr: u64, len: u64) {
        // The engine only translates addresses of its address space, which is our reservation.
        put_back_reservation(vaddr, len);
    }

    /// Removes the page-table entries of window pages `[vaddr, vaddr + len)`.
    fn zap(&self, vaddr: u64, len: u64) {
        // SAFETY: window pages of our reservation; dropping their entries loses nothing (the
        // bytes live in the file) and the next access faults into the runtime.
        if unsafe { madvise(vaddr as *mut _, len as usize, Advice::LinuxDontNeed) }.is_err() {
            // An entry left in place would be a stale translation: put the reservation back.
            self.reserve(vaddr, len);
        }
    }

    /// Drops every translation and window (to stay within the budget).
    fn evict_all(&mut self) {
        self.reserve(self.base, self.size);
        self.islands = SoftwareMmu::new();
        self.windowed = SoftwareMmu::new();
        self.windows.clear();
        self.runs = 0;
        self.evictions += 1;
    }

    /// The window showing `vaddr`, by start address.
    fn window_at(&self, vaddr: u64) -> Option<(u64, Window)> {
        self.windows
            .range(..=vaddr)
            .next_back()
            .filter(|(_, window)| vaddr < window.end)
            .map(|(&start, &window)| (start, window))
    }

    /// Takes page `vaddr` out of its window's record (an island is about to replace it).
    fn cut_window(&mut self, vaddr: u64) {
        let Some((start, window)) = self.window_at(vaddr) else {
            return;
        };
        self.windows.remove(&start);
        if start < vaddr {
            self.windows.insert(
                start,
                Window {
                    end: vaddr,
                    offset: window.offset,
                },
            );
        }
        if vaddr + PAGE < window.end {
            self.windows.insert(
                vaddr + PAGE,
                Window {
                    end: window.end,
                    offset: window.offset + (vaddr + PAGE - start),
                },
            );
        }
        self.windowed.unmap(vaddr, PAGE);
    }

    /// Opens a window showing file offset `frame` at `vaddr` (a page of the bare reservation),
    /// over the free stretch around it within the file (and within the mapping the engine last
    /// asked a placement for, if it was for this page). False if the host refuses.
    fn open_window(&mut self, vaddr: u64, frame: u64) -> bool {
        let Some(userfault) = &self.userfault else {
            return false;
        };
        if frame >= self.file_len || self.runs + self.windows.len() + 1 > self.budget {
            return false;
        }
        let mut lo = self.base.max(vaddr.saturating_sub(frame));
        let mut hi = (self.base + self.size).min(vaddr + (self.file_len - frame));
        if let Some((_, window)) = self.windows.range(..vaddr).next_back() {
            lo = lo.max(window.end);
        }
        if let Some((&start, _)) = self.windows.range(vaddr..).next() {
            hi = hi.min(start);
        }
        if let Some((island, _, _)) = self.islands.translations_in(lo, vaddr).next_back() {
            lo = lo.max(island + PAGE);
        }
        if let Some((island, _, _)) = self.islands.translations_in(vaddr, hi).next() {
            hi = hi.min(island);
        }
        if let Some((page, (start, end))) = self.pending {
            if page == vaddr && start <= vaddr && vaddr < end {
                lo = lo.max(start);
                hi = hi.min(end);
            }
        }
        let offset = frame - (vaddr - lo);
        // SAFETY: `[lo, hi)` is bare reservation of ours (no window, no island there), and the
        // file range it shows lies inside the file, which outlives the MMU.
        let mapped = unsafe {
            mmap(
                lo as *mut _,
                (hi - lo) as usize,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED | MapFlags::FIXED | MapFlags::NORESERVE,
                BorrowedFd::borrow_raw(self.file),
                offset,
            )
        };
        if mapped.is_err() {
            return false;
        }
        if userfault.register(lo, hi - lo).is_err() {
            self.reserve(lo, hi - lo);
            return false;
        }
        self.windows.insert(lo, Window { end: hi, offset });
        true
    }

    /// Shows `frame` at `vaddr` with `perms` (read, or read and write) through a window if one
    /// can show it there; false if it must be an island.
    fn map_windowed(&mut self, vaddr: u64, frame: u64, perms: Perms) -> bool {
        let lined_up = match self.window_at(vaddr) {
            Some((start, window)) if window.offset + (vaddr - start) == frame => true,
            Some((start, window)) => {
                // A window whose line-up fits nothing translated there: line it up afresh.
                if self
                    .windowed
                    .translations_in(start, window.end)
                    .next()
                    .is_some()
                {
                    return false;
                }
                self.windows.remove(&start);
                self.reserve(start, window.end - start);
                self.open_window(vaddr, frame)
            }
            None => self.open_window(vaddr, frame),
        };
        let Some(userfault) = self.userfault.as_ref().filter(|_| lined_up) else {
            return false;
        };
        let writable = perms.contains(Perms::WRITE);
        let installed = match self.windowed.translation(vaddr) {
            // Only the protection changes.
            Some((_, old)) if old != perms => userfault.write_protect(vaddr, PAGE, !writable),
            // Nothing there yet, or the same translation asked again because the host dropped
            // the entry (reclaim): install it, or change its protection if it is there after all.
            _ => userfault
                .install(vaddr, PAGE, writable)
                .or_else(|_| userfault.write_protect(vaddr, PAGE, !writable)),
        };
        if installed.is_err() {
            self.zap(vaddr, PAGE);
            self.windowed.unmap(vaddr, PAGE);
            return false;
        }
        // Recording cannot fail: the book has no limit.
        let _ = self.windowed.map(vaddr, PageTarget::Frame(frame), perms);
        true
    }

    /// Makes `vaddr` an island translating to `target` with `perms`.
    fn map_island(&mut self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull> {
        self.cut_window(vaddr);
        let around = (vaddr, vaddr + 2 * PAGE);
        let before = self.starts_in(around.0, around.1);
        let mut old = self.islands.translation(vaddr);
        self.islands.map(vaddr, target, perms)?;
        let after = self.starts_in(around.0, around.1);
        if self.runs + self.windows.len() + after > self.budget + before {
            self.evict_all();
            // The page lost its host mapping with the others: it must be installed afresh.
            old = None;
            self.islands.map(vaddr, target, perms)?;
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
            _ => self.install_island(vaddr, target, perms),
        };
        if let Err(full) = installed {
            // Keep the book true to the host: whatever was there is gone either way.
            self.unmap(vaddr, PAGE);
            return Err(full);
        }
        Ok(())
    }

    fn install_island(&self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull> {
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

    /// Removes the island translations in `[vaddr, end)`.
    fn unmap_islands(&mut self, vaddr: u64, end: u64) {
        let pages: Vec<u64> = self
            .islands
            .translations_in(vaddr, end)
            .map(|(at, _, _)| at)
            .collect();
        if pages.is_empty() {
            return;
        }
        let before = self.starts_in(vaddr, end.saturating_add(PAGE));
        self.islands.unmap(vaddr, end - vaddr);
        let after = self.starts_in(vaddr, end.saturating_add(PAGE));
        self.runs = self.runs + after - before;
        for (start, count) in runs_of(pages) {
            self.reserve(start, count * PAGE);
        }
    }
}

impl Mmu for HostMmu {
    fn map(&mut self, vaddr: u64, target: PageTarget, perms: Perms) -> Result<(), MmuFull> {
        self.check_fork();
        let windowable = self.userfault.is_some()
            && (perms == Perms::READ || perms == Perms::READ | Perms::WRITE);
        // An island stays one (its window was cut around it) until the page is unmapped.
        if let (true, PageTarget::Frame(frame)) = (windowable, target) {
            if self.islands.translation(vaddr).is_none() && self.map_windowed(vaddr, frame, perms) {
                return Ok(());
            }
        }
        self.map_island(vaddr, target, perms)
    }

    fn unmap(&mut self, vaddr: u64, len: u64) {
        self.check_fork();
        let end = vaddr.saturating_add(len);
        let shown: Vec<u64> = self
            .windowed
            .translations_in(vaddr, end)
            .map(|(at, _, _)| at)
            .collect();
        if !shown.is_empty() {
            self.windowed.unmap(vaddr, len);
            for (start, count) in runs_of(shown) {
                self.zap(start, count * PAGE);
            }
        }
        self.unmap_islands(vaddr, end);
    }

    fn restrict(&mut self, vaddr: u64, len: u64, allowed: Perms) {
        self.check_fork();
        let end = vaddr.saturating_add(len);
        // Window pages: write protection set, or the entry dropped if reading is no longer
        // allowed (a window entry always reads).
        let lowered: Vec<(u64, Perms)> = self
            .windowed
            .translations_in(vaddr, end)
            .filter(|&(_, _, perms)| !allowed.contains(perms))
            .map(|(at, _, perms)| (at, perms & allowed))
            .collect();
        let (readable, unreadable): (Vec<_>, Vec<_>) = lowered
            .into_iter()
            .partition(|(_, perms)| perms.contains(Perms::READ));
        for (start, count) in runs_of(unreadable.iter().map(|&(at, _)| at)) {
            self.windowed.unmap(start, count * PAGE);
            self.zap(start, count * PAGE);
        }
        let protect = runs_of(readable.iter().map(|&(at, _)| at));
        if let Some(userfault) = &self.userfault {
            for &(start, count) in &protect {
                if userfault.write_protect(start, count * PAGE, true).is_err() {
                    // A translation keeping more access than the engine allows must never be.
                    self.zap(start, count * PAGE);
                    self.windowed.unmap(start, count * PAGE);
                }
            }
        }
        self.windowed.restrict(vaddr, len, allowed);
        // Islands: one host call per run of neighbouring pages that end with the same
        // permissions.
        let lowered: Vec<(u64, Perms)> = self
            .islands
            .translations_in(vaddr, end)
            .filter(|&(_, _, perms)| !allowed.contains(perms))
            .map(|(at, _, perms)| (at, perms & allowed))
            .collect();
        if lowered.is_empty() {
            return;
        }
        let before = self.starts_in(vaddr, end.saturating_add(PAGE));
        self.islands.restrict(vaddr, len, allowed);
        let after = self.starts_in(vaddr, end.saturating_add(PAGE));
        self.runs = self.runs + after - before;
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

    fn placement(&mut self, vaddr: u64, mapping: (u64, u64)) -> Option<u64> {
        self.check_fork();
        self.userfault.as_ref()?;
        self.pending = Some((vaddr, mapping));
        let (start, window) = self.window_at(vaddr)?;
        Some(window.offset + (vaddr - start))
    }

    fn translation(&self, vaddr: u64) -> Option<(PageTarget, Perms)> {
        self.windowed
            .translation(vaddr)
            .or_else(|| self.islands.translation(vaddr))
    }

    fn for_each_translation(&self, visit: &mut dyn FnMut(u64, PageTarget, Perms)) {
        self.windowed.for_each_translation(visit);
        self.islands.for_each_translation(visit);
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

    /// What the host's page table says of the page at `vaddr`: (an entry is present, it is
    /// write-protected by the userfaultfd), from `/proc/self/pagemap`.
    fn entry(vaddr: u64) -> (bool, bool) {
        use std::os::unix::fs::FileExt;
        let pagemap = std::fs::File::open("/proc/self/pagemap").unwrap();
        let mut word = [0u8; 8];
        pagemap.read_exact_at(&mut word, vaddr / PAGE * 8).unwrap();
        let word = u64::from_le_bytes(word);
        (word & (1 << 63) != 0, word & (1 << 57) != 0)
    }

    /// An MMU with windows over a fresh reservation of `pages` pages, or `None` (the test is
    /// skipped) where the host has no userfaultfd.
    fn windowed_mmu(frames: &MemfdFrames, pages: usize) -> Option<(HostMmu, u64)> {
        let Some(userfault) = Userfault::open() else {
            eprintln!("skipped: this host gives no userfaultfd");
            return None;
        };
        let base = reserve(pages);
        // SAFETY: the range was reserved for this MMU alone; the file outlives it.
        let mmu = unsafe { HostMmu::new(frames.file(), base, pages as u64 * PAGE, 64) };
        Some((mmu.with_userfault(Some(userfault)), base))
    }

    #[test]
    fn window_entries_are_installed_protected_lifted_and_zapped_without_new_mappings() {
        let frames = MemfdFrames::with_limit(16).unwrap();
        let mut a = frames.allocate_zeroed().unwrap();
        frames.write(&mut a, 0, b"window");
        let fa = frames.physical_address(&a);
        let Some((mut mmu, base)) = windowed_mmu(&frames, 8) else {
            return;
        };
        let at = base + 2 * PAGE;
        assert_eq!(
            mmu.placement(at, (base, base + 8 * PAGE)),
            None,
            "no window yet"
        );
        mmu.map(at, PageTarget::Frame(fa), Perms::READ).unwrap();
        assert_eq!(
            mmu.counts(),
            (1, 0),
            "shown through a window, not an island"
        );
        assert_eq!(mmu.windows.len(), 1);
        assert_eq!(
            entry(at),
            (true, true),
            "read-only: present and write-protected"
        );
        // SAFETY: the page is mapped and readable (checked just above).
        assert_eq!(
            unsafe { std::slice::from_raw_parts(at as *const u8, 6) },
            b"window"
        );
        // The window is lined up with the frame: its neighbours' preferred frames follow it,
        // within the mapping the placement was asked for.
        assert_eq!(
            mmu.placement(at + PAGE, (base, base + 8 * PAGE)),
            Some(fa + PAGE)
        );
        mmu.map(at, PageTarget::Frame(fa), Perms::READ | Perms::WRITE)
            .unwrap();
        assert_eq!(entry(at), (true, false), "write protection lifted in place");
        // SAFETY: the page is now mapped writable.
        unsafe { (at as *mut u8).write(b'W') };
        let mut back = [0u8; 1];
        frames.read(&a, 0, &mut back);
        assert_eq!(&back, b"W", "the write went to the frame");
        mmu.restrict(base, 8 * PAGE, Perms::READ);
        assert_eq!(
            entry(at),
            (true, true),
            "a snapshot write-protects it again"
        );
        mmu.unmap(at, PAGE);
        assert_eq!(mmu.counts(), (0, 0));
        assert!(!entry(at).0, "the entry is gone: the next access faults");
        assert_eq!(
            mmu.windows.len(),
            1,
            "the window stays for the next mapping there"
        );
        assert_eq!(mmu.host_mappings(), 3);
        frames.release(a);
    }

    #[test]
    fn an_entry_the_host_dropped_is_installed_again_when_the_same_translation_is_asked() {
        // Reclaim can clear a window entry behind the MMU's back; the fault that follows asks
        // for the translation the book already has, and must get an entry again (or the access
        // would fault for ever).
        let frames = MemfdFrames::with_limit(16).unwrap();
        let mut a = frames.allocate_zeroed().unwrap();
        frames.write(&mut a, 0, b"again");
        let fa = frames.physical_address(&a);
        let Some((mut mmu, base)) = windowed_mmu(&frames, 4) else {
            return;
        };
        for perms in [Perms::READ, Perms::READ | Perms::WRITE] {
            mmu.map(base, PageTarget::Frame(fa), perms).unwrap();
            mmu.zap(base, PAGE);
            assert!(!entry(base).0, "dropped behind the MMU's back");
            mmu.map(base, PageTarget::Frame(fa), perms).unwrap();
            let writable = perms.contains(Perms::WRITE);
            assert_eq!(entry(base), (true, !writable), "{perms:?}");
            // SAFETY: the page is mapped readable.
            assert_eq!(
                unsafe { std::slice::from_raw_parts(base as *const u8, 5) },
                b"again"
            );
            mmu.unmap(base, PAGE);
        }
        frames.release(a);
    }

    #[test]
    fn a_frame_the_window_does_not_show_there_is_an_island_cut_out_of_it() {
        let frames = MemfdFrames::with_limit(16).unwrap();
        let a = frames.allocate_zeroed().unwrap();
        let mut b = frames.allocate_zeroed().unwrap();
        let mut c = frames.allocate_zeroed().unwrap();
        frames.write(&mut c, 0, b"island");
        let (fa, fc) = (frames.physical_address(&a), frames.physical_address(&c));
        let Some((mut mmu, base)) = windowed_mmu(&frames, 8) else {
            return;
        };
        mmu.map(base, PageTarget::Frame(fa), Perms::READ).unwrap();
        // Page 1 of the window shows `b`'s offset; `c` there must be an island.
        mmu.map(base + PAGE, PageTarget::Frame(fc), Perms::READ)
            .unwrap();
        assert_eq!(mmu.counts(), (1, 1));
        assert_eq!(mmu.windows.len(), 2, "the window is cut around the island");
        // SAFETY: the island is mapped readable.
        assert_eq!(
            unsafe { std::slice::from_raw_parts((base + PAGE) as *const u8, 6) },
            b"island"
        );
        assert_eq!(
            mmu.placement(base + 2 * PAGE, (base, base + 8 * PAGE)),
            Some(fa + 2 * PAGE),
            "the rest of the window keeps its line-up"
        );
        assert_eq!(mmu.placement(base + PAGE, (base, base + 8 * PAGE)), None);
        // Once empty, a window lined up with nothing translated there is lined up afresh.
        mmu.unmap(base, 8 * PAGE);
        assert_eq!(mmu.counts(), (0, 0));
        frames.write(&mut b, 0, b"fresh");
        let fb = frames.physical_address(&b);
        mmu.map(base + 5 * PAGE, PageTarget::Frame(fb), Perms::READ)
            .unwrap();
        assert_eq!(mmu.counts(), (1, 0), "a window again, not an island");
        // SAFETY: the page is mapped readable.
        assert_eq!(
            unsafe { std::slice::from_raw_parts((base + 5 * PAGE) as *const u8, 5) },
            b"fresh"
        );
        mmu.unmap(base, 8 * PAGE);
        for frame in [a, b, c] {
            frames.release(frame);
        }
    }

    #[test]
    fn frames_can_be_had_where_the_window_shows_them() {
        let frames = MemfdFrames::with_limit(16).unwrap();
        let mut a = frames.allocate_zeroed().unwrap();
        frames.write(&mut a, 0, b"copied");
        let fa = frames.physical_address(&a);
        let copy = frames
            .allocate_copy_at(&a, fa + 5 * PAGE)
            .expect("a never-used frame can be had");
        assert_eq!(frames.physical_address(&copy), fa + 5 * PAGE);
        let mut back = [0u8; 6];
        frames.read(&copy, 0, &mut back);
        assert_eq!(&back, b"copied");
        assert!(frames.allocate_zeroed_at(fa + 5 * PAGE).is_none(), "in use");
        assert!(frames.allocate_zeroed_at(fa).is_none(), "in use");
        assert!(frames.allocate_zeroed_at(0).is_none(), "the zero frame");
        assert!(
            frames.allocate_zeroed_at(fa + 1).is_none(),
            "not a frame boundary"
        );
        assert!(
            frames.allocate_zeroed_at(1 << 40).is_none(),
            "beyond the file"
        );
        // The frames skipped over are free frames now, handed out zeroed.
        let skipped = frames
            .allocate_zeroed_at(fa + 2 * PAGE)
            .expect("skipped is free");
        frames.read(&skipped, 0, &mut back);
        assert_eq!(back, [0; 6]);
        assert_eq!(frames.frames_in_use(), 3);
        frames.set_limit(3);
        assert!(
            frames.allocate_zeroed_at(fa + 3 * PAGE).is_none(),
            "over the limit"
        );
        for frame in [a, copy, skipped] {
            frames.release(frame);
        }
        assert_eq!(frames.frames_in_use(), 0);
    }
}
