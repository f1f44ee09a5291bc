//! Virtual memory objects: [`Vmo`] owns a VMO handle and offers the VMO system calls (read,
//! write, size, `op_range`, children, info, name) as methods, with their option words
//! ([`VmoOptions`], [`VmoChildOptions`], [`VmoOp`]) and the parsed `zx_info_vmo_t`
//! ([`VmoInfo`]).

use std::ffi::c_void;
use std::fmt;

use bitflags::bitflags;
use vm_kernel::zircon as abi;
use vm_kernel::HANDLE_INVALID;

use super::handle::{self, Handle, Koid, Rights};
use super::status::{Result, Status};
use crate::c_abi;

bitflags! {
    /// Options of [`Vmo::create_with_options`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct VmoOptions: u32 {
        /// `ZX_VMO_RESIZABLE`: the VMO may later change size ([`Vmo::set_size`]).
        const RESIZABLE = abi::ZX_VMO_RESIZABLE;
    }
}

bitflags! {
    /// Options of [`Vmo::create_child`]: exactly one type (`SNAPSHOT`,
    /// `SNAPSHOT_AT_LEAST_ON_WRITE` or `SLICE`), optionally with `RESIZABLE` or `NO_WRITE`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct VmoChildOptions: u32 {
        /// `ZX_VMO_CHILD_SNAPSHOT`: the child behaves as an eager copy of the range; writes to
        /// either side are never seen by the other.
        const SNAPSHOT = abi::ZX_VMO_CHILD_SNAPSHOT;
        /// `ZX_VMO_CHILD_RESIZABLE`: the child may be resized.
        const RESIZABLE = abi::ZX_VMO_CHILD_RESIZABLE;
        /// `ZX_VMO_CHILD_SLICE`: the child is a window on the parent's own pages.
        const SLICE = abi::ZX_VMO_CHILD_SLICE;
        /// `ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE` (also `ZX_VMO_CHILD_COPY_ON_WRITE`): copy on
        /// write at least; on anonymous VMOs the same as `SNAPSHOT`.
        const SNAPSHOT_AT_LEAST_ON_WRITE = abi::ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE;
        /// `ZX_VMO_CHILD_NO_WRITE`: the child's handle has no WRITE right.
        const NO_WRITE = abi::ZX_VMO_CHILD_NO_WRITE;
    }
}

bitflags! {
    /// `zx_info_vmo_t.flags`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct VmoInfoFlags: u32 {
        /// `ZX_INFO_VMO_TYPE_PAGED`: backed by pages (every VMO here).
        const PAGED = abi::ZX_INFO_VMO_TYPE_PAGED;
        /// `ZX_INFO_VMO_RESIZABLE`.
        const RESIZABLE = abi::ZX_INFO_VMO_RESIZABLE;
        /// `ZX_INFO_VMO_IS_COW_CLONE`: a snapshot or a copy-on-write clone.
        const IS_COW_CLONE = abi::ZX_INFO_VMO_IS_COW_CLONE;
        /// `ZX_INFO_VMO_VIA_HANDLE`: the record was read through a handle.
        const VIA_HANDLE = abi::ZX_INFO_VMO_VIA_HANDLE;
        /// `ZX_INFO_VMO_VIA_MAPPING`: the record was read through a mapping.
        const VIA_MAPPING = 1 << 4;
        /// `ZX_INFO_VMO_PAGER_BACKED`.
        const PAGER_BACKED = 1 << 5;
        /// `ZX_INFO_VMO_CONTIGUOUS`.
        const CONTIGUOUS = 1 << 6;
        /// `ZX_INFO_VMO_IMMUTABLE`: a `NO_WRITE` snapshot, which nothing can change.
        const IMMUTABLE = abi::ZX_INFO_VMO_IMMUTABLE;
    }
}

/// An operation of [`Vmo::op_range`] (`ZX_VMO_OP_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct VmoOp(u32);

impl VmoOp {
    /// `ZX_VMO_OP_COMMIT`: commit every page of the range (needs WRITE).
    pub const COMMIT: VmoOp = VmoOp(abi::ZX_VMO_OP_COMMIT);
    /// `ZX_VMO_OP_DECOMMIT`: free the VMO's own pages of the page-aligned range, which then
    /// read as zeros (needs WRITE).
    pub const DECOMMIT: VmoOp = VmoOp(abi::ZX_VMO_OP_DECOMMIT);
    /// `ZX_VMO_OP_LOCK`: not supported on these VMOs.
    pub const LOCK: VmoOp = VmoOp(abi::ZX_VMO_OP_LOCK);
    /// `ZX_VMO_OP_UNLOCK`: not supported on these VMOs.
    pub const UNLOCK: VmoOp = VmoOp(abi::ZX_VMO_OP_UNLOCK);
    /// `ZX_VMO_OP_CACHE_SYNC`: a range-checked no-op (needs READ).
    pub const CACHE_SYNC: VmoOp = VmoOp(abi::ZX_VMO_OP_CACHE_SYNC);
    /// `ZX_VMO_OP_CACHE_INVALIDATE`: a range-checked no-op (needs READ).
    pub const CACHE_INVALIDATE: VmoOp = VmoOp(abi::ZX_VMO_OP_CACHE_INVALIDATE);
    /// `ZX_VMO_OP_CACHE_CLEAN`: a range-checked no-op (needs READ).
    pub const CACHE_CLEAN: VmoOp = VmoOp(abi::ZX_VMO_OP_CACHE_CLEAN);
    /// `ZX_VMO_OP_CACHE_CLEAN_INVALIDATE`: a range-checked no-op (needs READ).
    pub const CACHE_CLEAN_INVALIDATE: VmoOp = VmoOp(abi::ZX_VMO_OP_CACHE_CLEAN_INVALIDATE);
    /// `ZX_VMO_OP_ZERO`: zero exactly the range, byte for byte (needs WRITE).
    pub const ZERO: VmoOp = VmoOp(abi::ZX_VMO_OP_ZERO);
    /// `ZX_VMO_OP_TRY_LOCK`: not supported on these VMOs.
    pub const TRY_LOCK: VmoOp = VmoOp(abi::ZX_VMO_OP_TRY_LOCK);
    /// `ZX_VMO_OP_DONT_NEED`: not supported on these VMOs.
    pub const DONT_NEED: VmoOp = VmoOp(abi::ZX_VMO_OP_DONT_NEED);
    /// `ZX_VMO_OP_ALWAYS_NEED`: not supported on these VMOs.
    pub const ALWAYS_NEED: VmoOp = VmoOp(abi::ZX_VMO_OP_ALWAYS_NEED);

    /// The operation with the raw number `raw` (unknown numbers are the kernel's to reject).
    pub const fn from_raw(raw: u32) -> VmoOp {
        VmoOp(raw)
    }

    /// The raw `ZX_VMO_OP_*` number.
    pub const fn into_raw(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for VmoOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VmoOp({})", self.0)
    }
}

/// `zx_info_vmo_t` (the `ZX_INFO_VMO` topic), parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmoInfo {
    /// The VMO's koid.
    pub koid: Koid,
    /// The VMO's name.
    pub name: String,
    /// Size in bytes (a multiple of the page size).
    pub size: u64,
    /// The parent's koid for a child, 0 for a root VMO.
    pub parent_koid: Koid,
    /// Live children.
    pub num_children: u64,
    /// Mappings of the VMO in any address space.
    pub num_mappings: u64,
    /// Address spaces mapping the VMO (at least 1).
    pub share_count: u64,
    /// Type and origin flags.
    pub flags: VmoInfoFlags,
    /// Bytes of the pages this VMO is charged for: every page in use is charged to exactly
    /// one VMO (a page shared with a snapshot to the oldest one that sees it).
    pub committed_bytes: u64,
    /// The rights of the handle the record was read through.
    pub handle_rights: Rights,
    /// The cache policy (`ZX_CACHE_POLICY_CACHED`, 0).
    pub cache_policy: u32,
    /// Bytes of bookkeeping the VMO's page lists use.
    pub metadata_bytes: u64,
    /// Changes of `committed_bytes` reported (always 0 here).
    pub committed_change_events: u64,
    /// Bytes of every committed page the VMO can see, shared or not.
    pub populated_bytes: u64,
}

impl VmoInfo {
    /// Parses a `ZX_INFO_VMO` (version 3) record.
    fn parse(record: &[u8; 128]) -> VmoInfo {
        VmoInfo {
            koid: handle::u64_at(record, 0),
            name: handle::name_at(record, 8),
            size: handle::u64_at(record, 40),
            parent_koid: handle::u64_at(record, 48),
            num_children: handle::u64_at(record, 56),
            num_mappings: handle::u64_at(record, 64),
            share_count: handle::u64_at(record, 72),
            flags: VmoInfoFlags::from_bits_retain(handle::u32_at(record, 80)),
            committed_bytes: handle::u64_at(record, 88),
            handle_rights: Rights::from_bits_retain(handle::u32_at(record, 96)),
            cache_policy: handle::u32_at(record, 100),
            metadata_bytes: handle::u64_at(record, 104),
            committed_change_events: handle::u64_at(record, 112),
            populated_bytes: handle::u64_at(record, 120),
        }
    }
}

/// An owned VMO handle: a sparse, possibly resizable array of pages. Closed when dropped (the
/// VMO itself lives on while another handle or a mapping holds it).
#[derive(Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Vmo(Handle);

impl Vmo {
    /// `zx_vmo_create`: a VMO of `size` bytes (rounded up to a page), all reading as zeros and
    /// none committed. A size beyond the implementation's maximum is [`Status::OUT_OF_RANGE`].
    pub fn create(size: u64) -> Result<Vmo> {
        Vmo::create_with_options(size, VmoOptions::empty())
    }

    /// `zx_vmo_create` with `ZX_VMO_RESIZABLE`: the handle also has the RESIZE right.
    pub fn create_resizable(size: u64) -> Result<Vmo> {
        Vmo::create_with_options(size, VmoOptions::RESIZABLE)
    }

    /// `zx_vmo_create` with any options (unknown bits are [`Status::INVALID_ARGS`]).
    pub fn create_with_options(size: u64, options: VmoOptions) -> Result<Vmo> {
        let mut out = HANDLE_INVALID;
        // SAFETY: `out` is a live local the call may write a handle value to.
        Status::ok(unsafe { c_abi::zx_vmo_create(size, options.bits(), &mut out) })?;
        // SAFETY: the call succeeded, so `out` is a new handle that only we hold.
        Ok(Vmo(unsafe { Handle::from_raw(out) }))
    }

    /// `zx_vmo_read`: fills `buf` from the VMO's bytes at `offset` (needs READ). Uncommitted
    /// pages read as zeros; a range past the end is [`Status::OUT_OF_RANGE`]. `buf` may lie in
    /// a mapping, even of this same VMO: the library copies through a private buffer.
    pub fn read(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        // SAFETY: `buf` is a live, exclusively borrowed slice, writable for its length.
        Status::ok(unsafe {
            c_abi::zx_vmo_read(
                self.raw(),
                buf.as_mut_ptr().cast::<c_void>(),
                offset,
                buf.len(),
            )
        })
    }

    /// Reads `len` bytes at `offset` into a new vector: [`Status::OUT_OF_RANGE`] past the end,
    /// [`Status::NO_MEMORY`] if the vector cannot be allocated.
    pub fn read_to_vec(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let end = offset.checked_add(len as u64).ok_or(Status::OUT_OF_RANGE)?;
        if end > self.size()? {
            return Err(Status::OUT_OF_RANGE);
        }
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(len)
            .map_err(|_| Status::NO_MEMORY)?;
        bytes.resize(len, 0);
        self.read(&mut bytes, offset)?;
        Ok(bytes)
    }

    /// `zx_vmo_write`: writes `buf` at `offset` (needs WRITE), committing the pages it touches.
    /// A range past the end is [`Status::OUT_OF_RANGE`]. `buf` may lie in a mapping.
    pub fn write(&self, buf: &[u8], offset: u64) -> Result<()> {
        // SAFETY: `buf` is a live slice, readable for its length.
        Status::ok(unsafe {
            c_abi::zx_vmo_write(self.raw(), buf.as_ptr().cast::<c_void>(), offset, buf.len())
        })
    }

    /// `zx_vmo_get_size`: the size in bytes (needs no right).
    pub fn size(&self) -> Result<u64> {
        let mut size = 0u64;
        // SAFETY: `size` is a live local the call may write.
        Status::ok(unsafe { c_abi::zx_vmo_get_size(self.raw(), &mut size) })?;
        Ok(size)
    }

    /// `zx_vmo_set_size`: resizes a resizable VMO (needs WRITE and RESIZE), rounding up to a
    /// page; [`Status::UNAVAILABLE`] for a VMO that is not resizable. Shrinking frees the
    /// pages past the new end; growing exposes zeros.
    pub fn set_size(&self, size: u64) -> Result<()> {
        Status::ok(c_abi::zx_vmo_set_size(self.raw(), size))
    }

    /// `zx_vmo_op_range` for an operation that takes no buffer (every one but
    /// `ZX_VMO_OP_LOOKUP`, which this then reports as [`Status::BUFFER_TOO_SMALL`]).
    pub fn op_range(&self, op: VmoOp, offset: u64, size: u64) -> Result<()> {
        // SAFETY: no buffer: a NULL pointer with length 0, which the library never touches.
        Status::ok(unsafe {
            c_abi::zx_vmo_op_range(
                self.raw(),
                op.into_raw(),
                offset,
                size,
                std::ptr::null_mut(),
                0,
            )
        })
    }

    /// Commits every page of `[offset, offset + size)` (rounded out to pages; needs WRITE).
    pub fn commit(&self, offset: u64, size: u64) -> Result<()> {
        self.op_range(VmoOp::COMMIT, offset, size)
    }

    /// Frees the VMO's own pages of the page-aligned range `[offset, offset + size)`, which then
    /// read as zeros, also through mappings (needs WRITE). [`Status::NOT_SUPPORTED`] on a
    /// snapshot or on a VMO with snapshot children.
    pub fn decommit(&self, offset: u64, size: u64) -> Result<()> {
        self.op_range(VmoOp::DECOMMIT, offset, size)
    }

    /// Zeroes exactly `[offset, offset + size)`, freeing the pages it covers entirely where it
    /// can (needs WRITE).
    pub fn zero(&self, offset: u64, size: u64) -> Result<()> {
        self.op_range(VmoOp::ZERO, offset, size)
    }

    /// `zx_vmo_create_child`: a child VMO of `size` bytes seeing the parent from `offset` (page
    /// aligned). Needs DUPLICATE and READ. See [`VmoChildOptions`] for the kinds.
    pub fn create_child(&self, options: VmoChildOptions, offset: u64, size: u64) -> Result<Vmo> {
        let mut out = HANDLE_INVALID;
        // SAFETY: `out` is a live local the call may write a handle value to.
        Status::ok(unsafe {
            c_abi::zx_vmo_create_child(self.raw(), options.bits(), offset, size, &mut out)
        })?;
        // SAFETY: the call succeeded, so `out` is a new handle that only we hold.
        Ok(Vmo(unsafe { Handle::from_raw(out) }))
    }

    /// A snapshot of `[offset, offset + size)`: [`Vmo::create_child`] with
    /// [`VmoChildOptions::SNAPSHOT`]. O(1); later writes to either side are never seen by the
    /// other, whether they go through `write` or through a mapping.
    pub fn snapshot(&self, offset: u64, size: u64) -> Result<Vmo> {
        self.create_child(VmoChildOptions::SNAPSHOT, offset, size)
    }

    /// `zx_object_get_info(ZX_INFO_VMO)`: sizes, accounting and family (needs INSPECT).
    pub fn info(&self) -> Result<VmoInfo> {
        let mut record = [0u8; 128];
        handle::get_info(self.raw(), abi::ZX_INFO_VMO, &mut record)?;
        Ok(VmoInfo::parse(&record))
    }

    /// The VMO's name (needs GET_PROPERTY); see [`Handle::name`].
    pub fn name(&self) -> Result<String> {
        self.0.name()
    }

    /// Renames the VMO (needs SET_PROPERTY); a name longer than 31 bytes is cut. Children
    /// created later inherit it.
    pub fn set_name(&self, name: &str) -> Result<()> {
        self.0.set_name(name)
    }

    /// A new handle to the same VMO with `rights` ([`SAME_RIGHTS`](super::SAME_RIGHTS) keeps
    /// them; needs DUPLICATE).
    pub fn duplicate(&self, rights: Rights) -> Result<Vmo> {
        self.0.duplicate(rights).map(Vmo)
    }
}

super::handle::handle_based!(Vmo, "VMO");
