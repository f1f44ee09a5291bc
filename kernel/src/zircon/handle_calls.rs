//! `zx_handle_close`, `zx_handle_duplicate`, `zx_handle_replace`: handles may be copied with
//! fewer rights, never more.

use crate::handle_table::{HandleValue, HANDLE_INVALID};
use crate::platform::KernelPlatform;
use crate::rights::{Rights, SAME_RIGHTS};
use crate::status::{Status, ZX_ERR_INVALID_ARGS};

use super::{require, Syscalls};

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// `zx_handle_close`: `ZX_HANDLE_INVALID` is accepted and does nothing.
    pub fn handle_close(&self, handle: HandleValue) -> Result<(), Status> {
        if handle == HANDLE_INVALID {
            return Ok(());
        }
        let entry = self.kernel.handles.remove(self.process, handle)?;
        // Waiters on this handle find it gone and return ZX_ERR_CANCELED.
        entry.object.signals().notify();
        // The object (and with the last handle, the VMO's pages) goes after the table lock.
        drop(entry);
        Ok(())
    }

    /// `zx_handle_duplicate`: needs DUPLICATE; `rights` must be SAME_RIGHTS or a subset of the
    /// handle's.
    pub fn handle_duplicate(
        &self,
        handle: HandleValue,
        rights: u32,
    ) -> Result<HandleValue, Status> {
        let (object, held) = self.lookup(handle)?;
        require(held, Rights::DUPLICATE)?;
        let rights = reduced(held, rights)?;
        self.add_handle(object, rights)
    }

    /// `zx_handle_replace`: a new handle with `rights` (a subset, or SAME_RIGHTS) for the same
    /// object. The original is consumed whatever happens once it was found: asking for more
    /// rights closes it and returns `ZX_ERR_INVALID_ARGS`, as Zircon does.
    pub fn handle_replace(&self, handle: HandleValue, rights: u32) -> Result<HandleValue, Status> {
        let (object, held) = self.lookup(handle)?;
        match reduced(held, rights) {
            Ok(rights) => {
                let replacement = self.kernel.handles.replace(self.process, handle, rights)?;
                // The original value is gone: waiters on it return ZX_ERR_CANCELED, as they do
                // after a close (found by the loom model of kernel/tests/loom_signals.rs).
                object.signals().notify();
                Ok(replacement)
            }
            Err(status) => {
                // Closing cannot fail for a handle just found, unless another thread closed it
                // meanwhile, which leaves the same outcome.
                let _ = self.handle_close(handle);
                Err(status)
            }
        }
    }
}

/// The rights a copy gets: `held` for SAME_RIGHTS, else `wanted` if it asks for nothing more.
fn reduced(held: Rights, wanted: u32) -> Result<Rights, Status> {
    if wanted == SAME_RIGHTS {
        return Ok(held);
    }
    match Rights::from_bits(wanted) {
        Some(wanted) if held.contains(wanted) => Ok(wanted),
        _ => Err(ZX_ERR_INVALID_ARGS),
    }
}
