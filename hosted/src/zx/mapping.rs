//! Mapped memory as an owned value: a [`Mapping`] is a range of the calling program's address
//! space showing a VMO's pages, made by [`Vmar::map`](super::Vmar::map) and unmapped when
//! dropped. It reads and writes its bytes directly (plain loads and stores; the runtime's
//! SIGSEGV handler resolves the faults), bounds- and permission-checked, and hands out slices
//! only through `unsafe` calls whose contracts say what else can change the bytes.

use std::fmt;
use std::ptr;

use super::handle::Handle;
use super::status::{Result, Status};
use super::vmar::VmarFlags;
use crate::c_abi;

/// The VMAR handle a [`Mapping`] is unmapped through.
pub(super) enum UnmapWith {
    /// The runtime's root VMAR handle: borrowed, never closed.
    Root(u32),
    /// A duplicate of the handle of the VMAR the mapping was made in, owned by the mapping so
    /// that it stays valid (and means the same VMAR) for as long as the mapping lives.
    Owned(Handle),
}

impl UnmapWith {
    fn raw(&self) -> u32 {
        match self {
            UnmapWith::Root(raw) => *raw,
            UnmapWith::Owned(handle) => handle.raw(),
        }
    }
}

/// An owned mapping of a VMO into the calling program's memory: `len()` bytes from
/// `addr()` show the VMO's bytes from the mapped offset. Dropping it unmaps the range.
///
/// # What can be touched
/// [`read_at`](Mapping::read_at) and [`write_at`](Mapping::write_at) check the range and the
/// permissions the mapping has (those it was made with, or last set with
/// [`protect`](Mapping::protect)) and return a [`Status`] rather than touch memory that would
/// kill the process. Every page of a `Mapping` can be touched for as long as it lives:
/// [`Vmar::map`](super::Vmar::map) refuses resizable VMOs and ranges past the VMO's end, and
/// the calls that could unmap or downgrade the range behind its back are `unsafe`.
///
/// One limit remains, the same as for any store into mapped memory on Zircon: a store that
/// needs a new frame (the first write to a page, or a write to a page shared with a snapshot)
/// when the runtime's frame limit is reached cannot complete, and kills the process with
/// SIGSEGV instead of returning [`Status::NO_MEMORY`]. [`Vmo::write`](super::Vmo::write)
/// reports `NO_MEMORY` as a status.
///
/// # Shared memory
/// The bytes are not a Rust allocation: they are the VMO's pages, shared with the kernel, with
/// every other mapping of the VMO and with other threads. They change when the VMO is written
/// or mapped elsewhere (a write, a zero, a decommit: decommitted pages read as zeros), and a
/// snapshot taken of the VMO keeps what they were. This type reaches them only through raw
/// pointers, never through references (except the `unsafe` [`as_slice`](Mapping::as_slice)
/// and [`as_mut_slice`](Mapping::as_mut_slice)).
///
/// A `Mapping` is `Send` and `Sync`: threads may read and write through one `&Mapping` at once.
/// Accesses to disjoint bytes are independent. Accesses to the same bytes at the same time
/// (here, through another mapping, or by the VMO's own calls) are not ordered by anything in
/// this type: as with memory shared between processes, a read that races a write may see any
/// mix of old and new bytes. Order such accesses with your own synchronization.
pub struct Mapping {
    addr: usize,
    len: usize,
    /// The permissions of the whole range, `PERM_*` bits only.
    perms: VmarFlags,
    /// `None` only while [`Mapping::unmap`] runs, so that `Drop` does not unmap twice.
    vmar: Option<UnmapWith>,
}

// `Mapping` holds only integers and a handle value: `Send` and `Sync` follow, and are meant
// (the memory is reached through raw pointers; see "Shared memory" above).
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Mapping>();
};

impl Mapping {
    /// Takes ownership of the mapped range `[addr, addr + len)` (page aligned, inside a VMO
    /// that cannot shrink, mapped with `perms` in the VMAR `vmar` refers to).
    pub(super) fn new(addr: usize, len: usize, perms: VmarFlags, vmar: UnmapWith) -> Mapping {
        Mapping {
            addr,
            len,
            perms,
            vmar: Some(vmar),
        }
    }

    /// The address of the first mapped byte (page aligned).
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The number of mapped bytes: the length asked for, rounded up to a page.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping has no byte (never: a mapping covers at least one page).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapping's current permissions (`PERM_*` bits).
    pub fn perms(&self) -> VmarFlags {
        self.perms
    }

    /// The raw value of the VMAR handle the mapping is unmapped through: the root VMAR's, or
    /// the mapping's own duplicate of the handle it was made with.
    pub fn vmar_raw(&self) -> u32 {
        self.vmar
            .as_ref()
            .map_or(vm_kernel::HANDLE_INVALID, UnmapWith::raw)
    }

    /// A pointer to the first mapped byte. Reading through it needs `PERM_READ`; see
    /// [`as_slice`](Mapping::as_slice) for what else can change the bytes.
    pub fn as_ptr(&self) -> *const u8 {
        ptr::with_exposed_provenance(self.addr)
    }

    /// A mutable pointer to the first mapped byte. Writing through it needs `PERM_WRITE`.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        ptr::with_exposed_provenance_mut(self.addr)
    }

    /// Checks that `[offset, offset + count)` lies inside the mapping.
    fn check_range(&self, offset: usize, count: usize) -> Result<()> {
        match offset.checked_add(count) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(Status::OUT_OF_RANGE),
        }
    }

    /// Copies the mapped bytes at `[offset, offset + buf.len())` into `buf`.
    ///
    /// [`Status::ACCESS_DENIED`] if the mapping is not readable, [`Status::OUT_OF_RANGE`] if
    /// the range leaves the mapping (or overflows); reading 0 bytes at `len()` is fine.
    /// Uncommitted pages read as zeros.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        if !self.perms.contains(VmarFlags::PERM_READ) {
            return Err(Status::ACCESS_DENIED);
        }
        self.check_range(offset, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        // SAFETY: the source `[addr + offset, addr + offset + buf.len())` lies inside this
        // mapping (checked above), which is readable (checked above) and stays mapped with
        // these permissions while `self` is borrowed: only `Drop`, `unmap(self)` and
        // `protect(&mut self)` change that, or unsafe calls whose contracts exclude live
        // `Mapping`s. Its pages lie inside a VMO that cannot shrink (`Vmar::map` checked), so
        // every fault resolves in the runtime's handler, which takes engine locks this thread
        // does not hold. The destination is `buf`, valid for writes of its length; it cannot
        // overlap the source, as a slice of this mapping's bytes comes only from
        // `as_mut_slice(&mut self)`, which cannot coexist with this `&self` borrow.
        unsafe {
            ptr::copy_nonoverlapping(self.as_ptr().add(offset), buf.as_mut_ptr(), buf.len());
        }
        Ok(())
    }

    /// Copies `buf` into the mapped bytes at `[offset, offset + buf.len())`: a store into the
    /// VMO's pages, which commits (or, after a snapshot, copies) each page as a write fault
    /// would.
    ///
    /// [`Status::ACCESS_DENIED`] if the mapping is not writable (for example after
    /// [`protect`](Mapping::protect) made it read-only), [`Status::OUT_OF_RANGE`] if the range
    /// leaves the mapping (or overflows). With every frame in use, a store that needs a new
    /// frame kills the process (see [`Mapping`]); [`Vmo::write`](super::Vmo::write) reports
    /// [`Status::NO_MEMORY`] instead.
    pub fn write_at(&self, offset: usize, buf: &[u8]) -> Result<()> {
        if !self.perms.contains(VmarFlags::PERM_WRITE) {
            return Err(Status::ACCESS_DENIED);
        }
        self.check_range(offset, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        // SAFETY: the destination lies inside this mapping (checked above), which is writable
        // (checked above) and stays mapped with these permissions while `self` is borrowed, in
        // a VMO that cannot shrink: every fault resolves in the runtime's handler, as for
        // `read_at`. The source is `buf`, valid for reads of its length. They do not overlap:
        // `buf` could only alias these bytes through `as_slice`, whose contract forbids
        // writing them while the slice lives.
        unsafe {
            ptr::copy_nonoverlapping(buf.as_ptr(), self.as_mut_ptr().add(offset), buf.len());
        }
        Ok(())
    }

    /// `zx_vmar_protect` on the whole mapping: its permissions become `perms` (`PERM_*` bits
    /// only, else [`Status::INVALID_ARGS`]), lower or higher, but never above what the VMO
    /// handle allowed when it was mapped ([`Status::ACCESS_DENIED`]). On error nothing
    /// changes. Takes `&mut self`, so no access through this mapping is under way meanwhile.
    pub fn protect(&mut self, perms: VmarFlags) -> Result<()> {
        if !VmarFlags::PERMS.contains(perms) {
            return Err(Status::INVALID_ARGS);
        }
        Status::ok(c_abi::zx_vmar_protect(
            self.vmar_raw(),
            perms.bits(),
            self.addr,
            self.len,
        ))?;
        self.perms = perms;
        Ok(())
    }

    /// Unmaps the range now and reports the status (dropping the mapping does the same
    /// silently).
    pub fn unmap(mut self) -> Result<()> {
        let vmar = self.vmar.take();
        let raw = vmar
            .as_ref()
            .map_or(vm_kernel::HANDLE_INVALID, UnmapWith::raw);
        Status::ok(c_abi::zx_vmar_unmap(raw, self.addr, self.len))
    }

    /// The mapped bytes as a shared slice.
    ///
    /// # Safety
    /// For as long as the slice lives:
    /// - the mapping must be readable (`PERM_READ`, see [`perms`](Mapping::perms)): touching
    ///   a page without the permission kills the process;
    /// - the bytes must not change. Rust assumes that the bytes behind a `&[u8]` are frozen,
    ///   but these are the VMO's bytes, and other mappings of the same VMO, the VMO's own
    ///   writes (`write`, `zero`, `decommit`, also through a slice child or parent sharing its
    ///   pages) and other threads (through this mapping's `write_at` or any of the above) may
    ///   change them. The caller must rule all of that out;
    /// - the range must stay mapped with its permissions: no `unsafe`
    ///   [`Vmar::unmap`](super::Vmar::unmap), [`Vmar::protect`](super::Vmar::protect) or
    ///   [`Vmar::destroy`](super::Vmar::destroy) over it;
    /// - every page must lie within the VMO: a page past the VMO's end kills the process
    ///   when touched. Mappings made by [`Vmar::map`](super::Vmar::map) always satisfy this
    ///   (they refuse resizable VMOs and ranges past the end).
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the range is non-null, page aligned and mapped for `len` bytes for as long as
        // `self` is borrowed; `len` is below 2^47, so it fits `isize`. Readability and the
        // bytes not changing are the caller's obligations (above).
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len) }
    }

    /// The mapped bytes as an exclusive slice.
    ///
    /// # Safety
    /// For as long as the slice lives:
    /// - the mapping must be readable and writable (`PERM_READ | PERM_WRITE`): touching a
    ///   page without the permission kills the process;
    /// - nothing else may read or write the bytes. Rust assumes that a `&mut [u8]` is the
    ///   only way to its bytes, but other mappings of the same VMO, the VMO's own calls
    ///   (`read`, `write`, `zero`, `decommit`, also through a slice child or parent sharing
    ///   its pages) and other threads reach the same memory. The caller must rule all of that
    ///   out. Passing the slice itself to a call is fine: `vmo.read(slice, offset)` on the
    ///   same VMO copies through a private buffer and never deadlocks;
    /// - the range must stay mapped with its permissions, and every page must lie within the
    ///   VMO, as for [`as_slice`](Mapping::as_slice).
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as for `as_slice`, and the slice is exclusive as far as Rust code reaching
        // it through this mapping goes (`&mut self`); everything else is the caller's
        // obligation (above).
        unsafe { std::slice::from_raw_parts_mut(self.as_mut_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Some(vmar) = self.vmar.take() {
            // Nothing to report to: an error means the range was already gone.
            let _ = c_abi::zx_vmar_unmap(vmar.raw(), self.addr, self.len);
        }
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping")
            .field("addr", &format_args!("{:#x}", self.addr))
            .field("len", &self.len)
            .field("perms", &self.perms)
            .finish()
    }
}
