//! The `zx_pager_*` and `zx_port_*` functions of `include/zircon/syscalls.h`, with the packet
//! layout of `include/zircon/syscalls/port.h`. Like the other `zx_` functions: raw arguments are
//! decoded once (a packet pointer becomes a 48-byte user buffer), the kernel layer runs the call
//! as the program's process, and results go to the out-pointers, an unusable one being
//! `ZX_ERR_INVALID_ARGS` after every other check (a handle created for it is closed again).
//!
//! `zx_port_wait` and the VMO calls on pager-backed VMOs block the calling thread until another
//! thread queues a packet or supplies the pages; nothing here holds a lock while blocked.

use std::ffi::c_void;

use vm_kernel::port::PACKET_SIZE;
use vm_kernel::{HandleValue, Status, UserBuffer, UserBytes};

use super::{guarded, status, store_handle, with_user_buffer, with_user_bytes};
use crate::runtime::Runtime;

type Handle = HandleValue;
type Time = i64;

/// `zx_pager_create`.
///
/// # Safety
/// `out`, if plausible, must be writable (the C contract of every function here: pointers the
/// library cannot reject must be valid for what the header says).
#[no_mangle]
pub unsafe extern "C" fn zx_pager_create(options: u32, out: *mut Handle) -> Status {
    guarded(|| {
        let result = Runtime::get().syscalls().pager_create(options);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_pager_create_vmo`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_pager_create_vmo(
    pager: Handle,
    options: u32,
    port: Handle,
    key: u64,
    size: u64,
    out: *mut Handle,
) -> Status {
    guarded(|| {
        let result = Runtime::get()
            .syscalls()
            .pager_create_vmo(pager, options, port, key, size);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_pager_detach_vmo`.
#[no_mangle]
pub extern "C" fn zx_pager_detach_vmo(pager: Handle, vmo: Handle) -> Status {
    guarded(|| status(Runtime::get().syscalls().pager_detach_vmo(pager, vmo)))
}

/// `zx_pager_supply_pages`.
#[no_mangle]
pub extern "C" fn zx_pager_supply_pages(
    pager: Handle,
    pager_vmo: Handle,
    offset: u64,
    length: u64,
    aux_vmo: Handle,
    aux_offset: u64,
) -> Status {
    guarded(|| {
        status(
            Runtime::get()
                .syscalls()
                .pager_supply_pages(pager, pager_vmo, offset, length, aux_vmo, aux_offset),
        )
    })
}

/// `zx_port_create`.
///
/// # Safety
/// `out`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn zx_port_create(options: u32, out: *mut Handle) -> Status {
    guarded(|| {
        let result = Runtime::get().syscalls().port_create(options);
        // SAFETY: the caller's contract for `out`.
        unsafe { store_handle(out, result) }
    })
}

/// `zx_port_wait`. An unusable `packet` is `ZX_ERR_INVALID_ARGS` before the wait, so that no
/// packet is dequeued and lost.
///
/// # Safety
/// `packet`, if plausible, must be writable for a `zx_port_packet_t` (48 bytes).
#[no_mangle]
pub unsafe extern "C" fn zx_port_wait(
    handle: Handle,
    deadline: Time,
    packet: *mut c_void,
) -> Status {
    guarded(|| {
        let call = |buffer: UserBuffer<'_>| {
            status(
                Runtime::get()
                    .syscalls()
                    .port_wait(handle, deadline, buffer),
            )
        };
        // SAFETY: the caller's contract for `packet`.
        unsafe { with_user_buffer(packet, PACKET_SIZE, call) }
    })
}

/// `zx_port_queue`.
///
/// # Safety
/// `packet`, if plausible, must be readable for a `zx_port_packet_t` (48 bytes).
#[no_mangle]
pub unsafe extern "C" fn zx_port_queue(handle: Handle, packet: *const c_void) -> Status {
    guarded(|| {
        let call =
            |bytes: UserBytes<'_>| status(Runtime::get().syscalls().port_queue(handle, bytes));
        // SAFETY: the caller's contract for `packet`.
        unsafe { with_user_bytes(packet, PACKET_SIZE, call) }
    })
}
