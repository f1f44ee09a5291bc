//! The Magenta personality (seed 000 and spec/zircon.md section 5): the `mx_` calls that differ
//! from their Zircon successors. VMOs are resizable by default and carry Magenta's rights;
//! reads and writes report how many bytes they moved and are trimmed at the VMO's end (a range
//! starting past the end is `MX_ERR_OUT_OF_RANGE`); `mx_vmo_clone` is the one-way clone.
//! The calls that did not change (sizes, `op_range`, handle close and duplicate) are the
//! Zircon ones.

use crate::handle_table::HandleValue;
use crate::object::Object;
use crate::platform::KernelPlatform;
use crate::rights::Rights;
use crate::status::*;
use crate::user::{UserBuffer, UserBytes};
use crate::zircon::Syscalls;

/// `mx_vmo_clone`: copy-on-write, the only defined option.
pub const MX_VMO_CLONE_COPY_ON_WRITE: u32 = 1 << 0;

/// Where a Magenta transfer of `len` bytes at `offset` ends in a VMO of `size` bytes: cut at
/// the end, `OUT_OF_RANGE` only if it starts past it.
fn trimmed(offset: u64, len: usize, size: u64) -> Result<usize, Status> {
    let room = size.checked_sub(offset).ok_or(ZX_ERR_OUT_OF_RANGE)?;
    Ok(len.min(usize::try_from(room).unwrap_or(usize::MAX)))
}

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// `mx_vmo_create`: options must be 0; the VMO is resizable, with the Magenta rights and
    /// RESIZE.
    pub fn mx_vmo_create(&self, size: u64, options: u32) -> Result<HandleValue, Status> {
        if options != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        // The engine checks the size (OUT_OF_RANGE).
        let vmo = self.new_vmo(size, true)?;
        self.add_handle(Object::Vmo(vmo), Rights::MAGENTA_VMO | Rights::RESIZE)
    }

    /// `mx_vmo_read`: needs READ; reads up to the VMO's end and returns the bytes read. A NULL
    /// `actual` is `INVALID_ARGS` after every other check (nothing is read then).
    pub fn mx_vmo_read(
        &self,
        handle: HandleValue,
        buffer: UserBuffer<'_>,
        offset: u64,
        actual_valid: bool,
    ) -> Result<usize, Status> {
        let (vmo, _) = self.vmo(handle, Rights::READ)?;
        let len = trimmed(offset, buffer.len(), vmo.vmo().size())?;
        let out = buffer.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
        if !actual_valid {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        vmo.vmo()
            .read(offset, &mut out[..len])
            .map_err(from_vm_error)?;
        Ok(len)
    }

    /// `mx_vmo_write`: needs WRITE; writes up to the VMO's end and returns the bytes written.
    /// A NULL `actual` is `INVALID_ARGS` after every other check (nothing is written then).
    pub fn mx_vmo_write(
        &self,
        handle: HandleValue,
        buffer: UserBytes<'_>,
        offset: u64,
        actual_valid: bool,
    ) -> Result<usize, Status> {
        let (vmo, _) = self.vmo(handle, Rights::WRITE)?;
        let len = trimmed(offset, buffer.len(), vmo.vmo().size())?;
        let bytes = buffer.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
        if !actual_valid {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        vmo.vmo()
            .write(offset, &bytes[..len])
            .map_err(from_vm_error)?;
        Ok(len)
    }

    /// `mx_vmo_clone`: the handle (`BAD_HANDLE`, `WRONG_TYPE`, DUPLICATE and READ:
    /// `ACCESS_DENIED`); options must be exactly COPY_ON_WRITE (0 or an unknown bit:
    /// `INVALID_ARGS`); offset alignment (`INVALID_ARGS`); range (`OUT_OF_RANGE`). The clone is
    /// one-way, resizable, with the parent's rights plus WRITE, EXECUTE, MAP and RESIZE.
    pub fn mx_vmo_clone(
        &self,
        handle: HandleValue,
        options: u32,
        offset: u64,
        size: u64,
    ) -> Result<HandleValue, Status> {
        let (parent, parent_rights) = self.vmo(handle, Rights::DUPLICATE | Rights::READ)?;
        if options != MX_VMO_CLONE_COPY_ON_WRITE {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let rights = parent_rights | Rights::WRITE | Rights::EXECUTE | Rights::MAP | Rights::RESIZE;
        self.legacy_clone(&parent, offset, size, true, rights)
    }
}
