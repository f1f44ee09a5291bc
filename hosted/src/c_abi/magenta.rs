//! The `mx_` functions of `include/magenta/syscalls.h`: the Magenta calls, most of them the
//! Zircon call under its old name.

use std::ffi::c_void;

use vm_kernel::status::*;
use vm_kernel::{HandleValue, Status, UserBuffer, UserBytes};

use super::{guarded, out_ok, store, store_handle, with_user_buffer, with_user_bytes, zircon};
use crate::runtime::Runtime;

type Handle = HandleValue;

/// `mx_vmo_create`: a resizable VMO with Magenta's rights.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn mx_vmo_create(size: u64, options: u32, out: *mut Handle) -> Status {
    guarded(|| {
        let result = Runtime::get().syscalls().mx_vmo_create(size, options);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `mx_vmo_read`: reads up to the VMO's end; `actual` receives the bytes read.
///
/// # Safety
/// `data`, if plausible, must be writable for `len` bytes; `actual`, if plausible, writable.
#[no_mangle]
pub unsafe extern "C" fn mx_vmo_read(
    handle: Handle,
    data: *mut c_void,
    offset: u64,
    len: usize,
    actual: *mut usize,
) -> Status {
    guarded(|| {
        let call = |buffer: UserBuffer<'_>| {
            let result =
                Runtime::get()
                    .syscalls()
                    .mx_vmo_read(handle, buffer, offset, out_ok(actual));
            match result {
                // SAFETY: `actual` was found plausible, hence writable by the caller's contract.
                Ok(read) => {
                    unsafe { store(actual, read) };
                    ZX_OK
                }
                Err(status) => status,
            }
        };
        // SAFETY: the caller's contract for `data`.
        unsafe { with_user_buffer(data, len, call) }
    })
}

/// `mx_vmo_write`: writes up to the VMO's end; `actual` receives the bytes written.
///
/// # Safety
/// `data`, if plausible, must be readable for `len` bytes; `actual`, if plausible, writable.
#[no_mangle]
pub unsafe extern "C" fn mx_vmo_write(
    handle: Handle,
    data: *const c_void,
    offset: u64,
    len: usize,
    actual: *mut usize,
) -> Status {
    guarded(|| {
        let call = |bytes: UserBytes<'_>| {
            let result =
                Runtime::get()
                    .syscalls()
                    .mx_vmo_write(handle, bytes, offset, out_ok(actual));
            match result {
                // SAFETY: `actual` was found plausible, hence writable by the caller's contract.
                Ok(written) => {
                    unsafe { store(actual, written) };
                    ZX_OK
                }
                Err(status) => status,
            }
        };
        // SAFETY: the caller's contract for `data`.
        unsafe { with_user_bytes(data, len, call) }
    })
}

/// `mx_vmo_get_size`.
///
/// # Safety
/// `size`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn mx_vmo_get_size(handle: Handle, size: *mut u64) -> Status {
    // SAFETY: forwarded contract.
    unsafe { zircon::zx_vmo_get_size(handle, size) }
}

/// `mx_vmo_set_size`.
#[no_mangle]
pub extern "C" fn mx_vmo_set_size(handle: Handle, size: u64) -> Status {
    zircon::zx_vmo_set_size(handle, size)
}

/// `mx_vmo_op_range`.
///
/// # Safety
/// `buffer`, if plausible, must be writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn mx_vmo_op_range(
    handle: Handle,
    op: u32,
    offset: u64,
    size: u64,
    buffer: *mut c_void,
    buffer_size: usize,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe { zircon::zx_vmo_op_range(handle, op, offset, size, buffer, buffer_size) }
}

/// `mx_vmo_clone`: the one-way clone with Magenta's rights.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn mx_vmo_clone(
    handle: Handle,
    options: u32,
    offset: u64,
    size: u64,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result = Runtime::get()
            .syscalls()
            .mx_vmo_clone(handle, options, offset, size);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `mx_handle_close`.
#[no_mangle]
pub extern "C" fn mx_handle_close(handle: Handle) -> Status {
    zircon::zx_handle_close(handle)
}

/// `mx_handle_duplicate`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn mx_handle_duplicate(
    handle: Handle,
    rights: u32,
    out: *mut Handle,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe { zircon::zx_handle_duplicate(handle, rights, out) }
}
