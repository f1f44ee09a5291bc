//! The `zx_` functions of `include/zircon/syscalls.h`.

use std::ffi::{c_char, c_void};

use vm_kernel::status::*;
use vm_kernel::{HandleValue, Status, UserBuffer, UserBytes};

use super::{guarded, out_ok, status, store, store_handle, with_user_buffer, with_user_bytes};
use crate::platform::monotonic_now;
use crate::runtime::Runtime;

type Handle = HandleValue;
type Time = i64;

/// `zx_vmo_create`.
///
/// # Safety
/// `out`, if plausible, must be writable (the C contract of every function here: pointers the
/// library cannot reject must be valid for what the header says).
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_create(size: u64, options: u32, out: *mut Handle) -> Status {
    guarded(|| {
        let result = Runtime::get().syscalls().vmo_create(size, options);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_vmo_read`.
///
/// # Safety
/// `buffer`, if plausible, must be writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_read(
    handle: Handle,
    buffer: *mut c_void,
    offset: u64,
    buffer_size: usize,
) -> Status {
    guarded(|| {
        let call = |buffer: UserBuffer<'_>| {
            status(Runtime::get().syscalls().vmo_read(handle, buffer, offset))
        };
        // SAFETY: the caller's contract for `buffer`.
        unsafe { with_user_buffer(buffer, buffer_size, call) }
    })
}

/// `zx_vmo_write`.
///
/// # Safety
/// `buffer`, if plausible, must be readable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_write(
    handle: Handle,
    buffer: *const c_void,
    offset: u64,
    buffer_size: usize,
) -> Status {
    guarded(|| {
        let call = |bytes: UserBytes<'_>| {
            status(Runtime::get().syscalls().vmo_write(handle, bytes, offset))
        };
        // SAFETY: the caller's contract for `buffer`.
        unsafe { with_user_bytes(buffer, buffer_size, call) }
    })
}

/// `zx_vmo_get_size`.
///
/// # Safety
/// `size`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_get_size(handle: Handle, size: *mut u64) -> Status {
    guarded(|| match Runtime::get().syscalls().vmo_get_size(handle) {
        Err(status) => status,
        // SAFETY: the caller's contract for `size`.
        Ok(value) if unsafe { store(size, value) } => ZX_OK,
        Ok(_) => ZX_ERR_INVALID_ARGS,
    })
}

/// `zx_vmo_set_size`.
#[no_mangle]
pub extern "C" fn zx_vmo_set_size(handle: Handle, size: u64) -> Status {
    guarded(|| status(Runtime::get().syscalls().vmo_set_size(handle, size)))
}

/// `zx_vmo_op_range`.
///
/// # Safety
/// `buffer`, if plausible, must be writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_op_range(
    handle: Handle,
    op: u32,
    offset: u64,
    size: u64,
    buffer: *mut c_void,
    buffer_size: usize,
) -> Status {
    guarded(|| {
        let call = |buffer: UserBuffer<'_>| {
            status(
                Runtime::get()
                    .syscalls()
                    .vmo_op_range(handle, op, offset, size, buffer),
            )
        };
        // SAFETY: the caller's contract for `buffer`.
        unsafe { with_user_buffer(buffer, buffer_size, call) }
    })
}

/// `zx_vmo_create_child`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_create_child(
    handle: Handle,
    options: u32,
    offset: u64,
    size: u64,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result = Runtime::get()
            .syscalls()
            .vmo_create_child(handle, options, offset, size);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_vmo_clone`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_vmo_clone(
    handle: Handle,
    options: u32,
    offset: u64,
    size: u64,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result = Runtime::get()
            .syscalls()
            .vmo_clone(handle, options, offset, size);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_handle_close`.
#[no_mangle]
pub extern "C" fn zx_handle_close(handle: Handle) -> Status {
    guarded(|| status(Runtime::get().syscalls().handle_close(handle)))
}

/// `zx_handle_duplicate`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_handle_duplicate(
    handle: Handle,
    rights: u32,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result = Runtime::get().syscalls().handle_duplicate(handle, rights);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_handle_replace`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_handle_replace(
    handle: Handle,
    rights: u32,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result = Runtime::get().syscalls().handle_replace(handle, rights);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_object_get_info`. `actual` and `avail` may be NULL (Zircon treats them as optional).
///
/// # Safety
/// `buffer`, if plausible, must be writable for `buffer_size` bytes; `actual` and `avail`, if
/// plausible, writable.
#[no_mangle]
pub unsafe extern "C" fn zx_object_get_info(
    handle: Handle,
    topic: u32,
    buffer: *mut c_void,
    buffer_size: usize,
    actual: *mut usize,
    avail: *mut usize,
) -> Status {
    guarded(|| {
        let call = |buffer: UserBuffer<'_>| {
            let (status, counts) = Runtime::get()
                .syscalls()
                .object_get_info(handle, topic, buffer);
            if let Some(counts) = counts {
                for (ptr, value) in [(actual, counts.actual), (avail, counts.avail)] {
                    // SAFETY: the caller's contract for `actual` and `avail`.
                    if !ptr.is_null() && !unsafe { store(ptr, value) } {
                        return ZX_ERR_INVALID_ARGS;
                    }
                }
            }
            status
        };
        // SAFETY: the caller's contract for `buffer`.
        unsafe { with_user_buffer(buffer, buffer_size, call) }
    })
}

/// `zx_object_get_property`.
///
/// # Safety
/// `value`, if plausible, must be writable for `value_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn zx_object_get_property(
    handle: Handle,
    property: u32,
    value: *mut c_void,
    value_size: usize,
) -> Status {
    guarded(|| {
        let call = |buffer: UserBuffer<'_>| {
            status(
                Runtime::get()
                    .syscalls()
                    .object_get_property(handle, property, buffer),
            )
        };
        // SAFETY: the caller's contract for `value`.
        unsafe { with_user_buffer(value, value_size, call) }
    })
}

/// `zx_object_set_property`.
///
/// # Safety
/// `value`, if plausible, must be readable for `value_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn zx_object_set_property(
    handle: Handle,
    property: u32,
    value: *const c_void,
    value_size: usize,
) -> Status {
    guarded(|| {
        let call = |bytes: UserBytes<'_>| {
            status(
                Runtime::get()
                    .syscalls()
                    .object_set_property(handle, property, bytes),
            )
        };
        // SAFETY: the caller's contract for `value`.
        unsafe { with_user_bytes(value, value_size, call) }
    })
}

/// `zx_object_signal`.
#[no_mangle]
pub extern "C" fn zx_object_signal(handle: Handle, clear_mask: u32, set_mask: u32) -> Status {
    guarded(|| {
        status(
            Runtime::get()
                .syscalls()
                .object_signal(handle, clear_mask, set_mask),
        )
    })
}

/// `zx_object_wait_one`. `observed` may be NULL (optional in Zircon).
///
/// # Safety
/// `observed`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_object_wait_one(
    handle: Handle,
    signals: u32,
    deadline: Time,
    observed: *mut u32,
) -> Status {
    guarded(|| {
        let result = Runtime::get()
            .syscalls()
            .object_wait_one(handle, signals, deadline);
        if let Some(active) = result.observed {
            // SAFETY: the caller's contract for `observed`.
            if !observed.is_null() && !unsafe { store(observed, active) } {
                return ZX_ERR_INVALID_ARGS;
            }
        }
        result.status
    })
}

/// `zx_clock_get_monotonic`: nanoseconds, never decreasing.
#[no_mangle]
pub extern "C" fn zx_clock_get_monotonic() -> Time {
    monotonic_now()
}

/// `zx_deadline_after`: now plus `nanoseconds`, saturating at `ZX_TIME_INFINITE`.
#[no_mangle]
pub extern "C" fn zx_deadline_after(nanoseconds: i64) -> Time {
    monotonic_now().saturating_add(nanoseconds)
}

/// `zx_vmar_root_self`: the calling program's root VMAR.
#[no_mangle]
pub extern "C" fn zx_vmar_root_self() -> Handle {
    Runtime::get().root_vmar()
}

/// `zx_vmar_map`. A NULL or unusable `mapped_addr` is `ZX_ERR_INVALID_ARGS` after every other
/// check, and the new mapping is removed again (Zircon's copy-out).
///
/// # Safety
/// `mapped_addr`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_vmar_map(
    handle: Handle,
    options: u32,
    vmar_offset: usize,
    vmo: Handle,
    vmo_offset: u64,
    len: usize,
    mapped_addr: *mut usize,
) -> Status {
    guarded(|| {
        let syscalls = Runtime::get().syscalls();
        let result = syscalls.vmar_map(
            handle,
            options,
            vmar_offset as u64,
            vmo,
            vmo_offset,
            len as u64,
        );
        match result {
            Err(status) => status,
            // SAFETY: the caller's contract for `mapped_addr`.
            Ok(addr) if unsafe { store(mapped_addr, addr as usize) } => ZX_OK,
            Ok(addr) => {
                let rounded = vm_engine::round_up_to_page(len as u64).unwrap_or(len as u64);
                let _ = syscalls.vmar_unmap(handle, addr, rounded);
                ZX_ERR_INVALID_ARGS
            }
        }
    })
}

/// `zx_vmar_unmap`.
#[no_mangle]
pub extern "C" fn zx_vmar_unmap(handle: Handle, addr: usize, len: usize) -> Status {
    guarded(|| {
        status(
            Runtime::get()
                .syscalls()
                .vmar_unmap(handle, addr as u64, len as u64),
        )
    })
}

/// `zx_vmar_protect`.
#[no_mangle]
pub extern "C" fn zx_vmar_protect(handle: Handle, options: u32, addr: usize, len: usize) -> Status {
    guarded(|| {
        status(
            Runtime::get()
                .syscalls()
                .vmar_protect(handle, options, addr as u64, len as u64),
        )
    })
}

/// `zx_vmar_allocate`. Unusable out-pointers are `ZX_ERR_INVALID_ARGS` after every other check,
/// and the new VMAR is destroyed again.
///
/// # Safety
/// `child_vmar` and `child_addr`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_vmar_allocate(
    parent_vmar: Handle,
    options: u32,
    offset: usize,
    size: usize,
    child_vmar: *mut Handle,
    child_addr: *mut usize,
) -> Status {
    guarded(|| {
        let syscalls = Runtime::get().syscalls();
        match syscalls.vmar_allocate(parent_vmar, options, offset as u64, size as u64) {
            Err(status) => status,
            Ok((child, addr)) => {
                if out_ok(child_vmar) && out_ok(child_addr) {
                    // SAFETY: both plausible, hence writable by the caller's contract.
                    unsafe {
                        store(child_vmar, child);
                        store(child_addr, addr as usize);
                    }
                    ZX_OK
                } else {
                    let _ = syscalls.vmar_destroy(child);
                    let _ = syscalls.handle_close(child);
                    ZX_ERR_INVALID_ARGS
                }
            }
        }
    })
}

/// `zx_vmar_destroy`.
#[no_mangle]
pub extern "C" fn zx_vmar_destroy(handle: Handle) -> Status {
    guarded(|| status(Runtime::get().syscalls().vmar_destroy(handle)))
}

/// `zx_job_default`: the job the calling program's process runs in.
#[no_mangle]
pub extern "C" fn zx_job_default() -> Handle {
    Runtime::get().job()
}

/// `zx_process_create`.
///
/// # Safety
/// `name`, if plausible, must be readable for `name_size` bytes; `proc_handle` and
/// `vmar_handle`, if plausible, writable.
#[no_mangle]
pub unsafe extern "C" fn zx_process_create(
    job: Handle,
    name: *const c_char,
    name_size: usize,
    options: u32,
    proc_handle: *mut Handle,
    vmar_handle: *mut Handle,
) -> Status {
    guarded(|| {
        // Zircon reads at most ZX_MAX_NAME_LEN bytes of the name.
        let name_size = name_size.min(vm_kernel::name::MAX_NAME_LEN);
        let call = |name: UserBytes<'_>| {
            let syscalls = Runtime::get().syscalls();
            match syscalls.process_create(job, name, options) {
                Err(status) => status,
                Ok((process, vmar)) => {
                    if out_ok(proc_handle) && out_ok(vmar_handle) {
                        // SAFETY: both plausible, hence writable by the caller's contract.
                        unsafe {
                            store(proc_handle, process);
                            store(vmar_handle, vmar);
                        }
                        ZX_OK
                    } else {
                        let _ = syscalls.handle_close(vmar);
                        let _ = syscalls.handle_close(process);
                        ZX_ERR_INVALID_ARGS
                    }
                }
            }
        };
        // SAFETY: the caller's contract for `name`.
        unsafe { with_user_bytes(name.cast(), name_size, call) }
    })
}

/// `zx_process_read_memory`. `actual` may be NULL (it is optional here, as in Zircon's
/// out-pointer handling of `zx_object_get_info`).
///
/// # Safety
/// `buffer`, if plausible, must be writable for `buffer_size` bytes; `actual`, if plausible,
/// writable.
#[no_mangle]
pub unsafe extern "C" fn zx_process_read_memory(
    handle: Handle,
    vaddr: usize,
    buffer: *mut c_void,
    buffer_size: usize,
    actual: *mut usize,
) -> Status {
    guarded(|| {
        let call = |buffer: UserBuffer<'_>| {
            let result =
                Runtime::get()
                    .syscalls()
                    .process_read_memory(handle, vaddr as u64, buffer);
            // SAFETY: the caller's contract for `actual`.
            unsafe { store_count(actual, result) }
        };
        // SAFETY: the caller's contract for `buffer`.
        unsafe { with_user_buffer(buffer, buffer_size, call) }
    })
}

/// `zx_process_write_memory`. `actual` may be NULL.
///
/// # Safety
/// `buffer`, if plausible, must be readable for `buffer_size` bytes; `actual`, if plausible,
/// writable.
#[no_mangle]
pub unsafe extern "C" fn zx_process_write_memory(
    handle: Handle,
    vaddr: usize,
    buffer: *const c_void,
    buffer_size: usize,
    actual: *mut usize,
) -> Status {
    guarded(|| {
        let call = |bytes: UserBytes<'_>| {
            let result =
                Runtime::get()
                    .syscalls()
                    .process_write_memory(handle, vaddr as u64, bytes);
            // SAFETY: the caller's contract for `actual`.
            unsafe { store_count(actual, result) }
        };
        // SAFETY: the caller's contract for `buffer`.
        unsafe { with_user_bytes(buffer, buffer_size, call) }
    })
}

/// Stores a byte count at `actual` when the pointer is usable (it is optional).
///
/// # Safety
/// `actual`, if plausible, must be writable.
unsafe fn store_count(actual: *mut usize, result: Result<usize, Status>) -> Status {
    match result {
        Ok(count) => {
            // SAFETY: forwarded from this function's contract.
            unsafe { store(actual, count) };
            ZX_OK
        }
        Err(status) => status,
    }
}
