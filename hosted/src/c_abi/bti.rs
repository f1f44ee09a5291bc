//! The device-memory functions of `include/zircon/syscalls.h` (`zx_iommu_create`,
//! `zx_bti_create`, `zx_bti_pin`, `zx_bti_release_quarantine`, `zx_pmt_unpin`,
//! `zx_vmo_create_contiguous`, `zx_vmo_create_physical`) and `zx_take_startup_handle` of
//! `include/zircon/process.h`, through which a program gets the root resource.
//!
//! The runtime's "physical memory" is its frame file: a physical address is a file offset, as
//! `ZX_VMO_OP_LOOKUP` and `zx_bti_pin` report them, and `zx_vmo_create_physical` may cover any of
//! it but the first page (the zero frame every untouched page maps).

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use vm_kernel::status::*;
use vm_kernel::zircon::ZX_IOMMU_MAX_DESC_LEN;
use vm_kernel::{HandleValue, Status, UserBuffer, UserBytes, HANDLE_INVALID};

use super::{guarded, status, store, store_handle, with_user_buffer, with_user_bytes};
use crate::runtime::Runtime;

type Handle = HandleValue;

/// `PA_HND(PA_RESOURCE, 0)` of `<zircon/processargs.h>`: the root resource's startup handle.
pub const PA_RESOURCE_HANDLE: u32 = 0x3F;

/// Whether the program has taken its root resource (it gets one, once).
static ROOT_RESOURCE_TAKEN: AtomicBool = AtomicBool::new(false);

/// `zx_take_startup_handle`: `PA_HND(PA_RESOURCE, 0)` returns a handle to the root resource
/// the first time it is asked for; every later call, and every other `hnd_info`, returns
/// `ZX_HANDLE_INVALID` (the program received no such handle, or took it already).
#[no_mangle]
pub extern "C" fn zx_take_startup_handle(hnd_info: u32) -> Handle {
    let take = || {
        if hnd_info != PA_RESOURCE_HANDLE || ROOT_RESOURCE_TAKEN.swap(true, Ordering::AcqRel) {
            return HANDLE_INVALID;
        }
        let runtime = Runtime::get();
        match runtime.kernel().create_root_resource(runtime.process()) {
            Ok(handle) => handle,
            Err(_) => {
                // No handle could be made (the table is full): the program may ask again.
                ROOT_RESOURCE_TAKEN.store(false, Ordering::Release);
                HANDLE_INVALID
            }
        }
    };
    catch_unwind(AssertUnwindSafe(take)).unwrap_or(HANDLE_INVALID)
}

/// `zx_iommu_create`.
///
/// # Safety
/// `desc`, if plausible and `desc_size` at most `ZX_IOMMU_MAX_DESC_LEN`, must be readable for
/// `desc_size` bytes; `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_iommu_create(
    resource: Handle,
    kind: u32,
    desc: *const c_void,
    desc_size: usize,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let call = |bytes: UserBytes<'_>| {
            let result = Runtime::get()
                .syscalls()
                .iommu_create(resource, kind, bytes);
            // SAFETY: the caller's contract for `out`.
            unsafe { store_handle(out, result) }
        };
        if desc_size > ZX_IOMMU_MAX_DESC_LEN {
            // Refused before the descriptor is read, as Zircon does: never touch it.
            return call(UserBytes::invalid(desc_size));
        }
        // SAFETY: the caller's contract for `desc`.
        unsafe { with_user_bytes(desc, desc_size, call) }
    })
}

/// `zx_bti_create`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_bti_create(
    iommu: Handle,
    options: u32,
    bti_id: u64,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result = Runtime::get().syscalls().bti_create(iommu, options, bti_id);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_bti_pin`. If `pmt` cannot receive the token's handle, the pages are unpinned again and
/// the call fails with `ZX_ERR_INVALID_ARGS` (Zircon's cleanup), so nothing stays pinned
/// without a token.
///
/// # Safety
/// `addrs`, if plausible, must be writable for `num_addrs` addresses; `pmt`, if plausible,
/// must be writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn zx_bti_pin(
    handle: Handle,
    options: u32,
    vmo: Handle,
    offset: u64,
    size: u64,
    addrs: *mut u64,
    num_addrs: usize,
    pmt: *mut Handle,
) -> Status {
    guarded(|| {
        let call = |buffer: UserBuffer<'_>| {
            let syscalls = Runtime::get().syscalls();
            match syscalls.bti_pin(handle, options, vmo, offset, size, buffer, num_addrs) {
                Err(status) => status,
                // SAFETY: the caller's contract for `pmt`.
                Ok(token) if unsafe { store(pmt, token) } => ZX_OK,
                Ok(token) => {
                    // Consumes the handle and unpins: no quarantine for a token never given out.
                    let _ = syscalls.pmt_unpin(token);
                    ZX_ERR_INVALID_ARGS
                }
            }
        };
        match num_addrs.checked_mul(8) {
            // SAFETY: the caller's contract for `addrs`.
            Some(len) => unsafe { with_user_buffer(addrs.cast::<c_void>(), len, call) },
            // No memory holds that many: the count cannot be right either.
            None => call(UserBuffer::invalid(usize::MAX)),
        }
    })
}

/// `zx_bti_release_quarantine`.
#[no_mangle]
pub extern "C" fn zx_bti_release_quarantine(handle: Handle) -> Status {
    guarded(|| status(Runtime::get().syscalls().bti_release_quarantine(handle)))
}

/// `zx_pmt_unpin`: always consumes `handle`.
#[no_mangle]
pub extern "C" fn zx_pmt_unpin(handle: Handle) -> Status {
    guarded(|| status(Runtime::get().syscalls().pmt_unpin(handle)))
}

/// `zx_vmo_create_contiguous`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_create_contiguous(
    bti: Handle,
    size: usize,
    alignment_log2: u32,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result =
            Runtime::get()
                .syscalls()
                .vmo_create_contiguous(bti, size as u64, alignment_log2);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_vmo_create_physical`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_create_physical(
    resource: Handle,
    paddr: usize,
    size: usize,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result =
            Runtime::get()
                .syscalls()
                .vmo_create_physical(resource, paddr as u64, size as u64);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}
