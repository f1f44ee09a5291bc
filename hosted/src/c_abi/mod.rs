//! The C library: `extern "C"` functions with the names, types and numbers of the headers under
//! `include/`. Each one decodes its raw arguments once (pointers become [`UserBuffer`]s or
//! checked out-pointers), calls the kernel layer as the calling program's process, and encodes
//! the result. No function can unwind into C: a panic would be a bug, and is reported as
//! `ZX_ERR_INTERNAL` instead of aborting the program.
//!
//! Pointers: NULL, the page at address 0, and ranges that wrap or leave the user half of the
//! address space are rejected as the kernel would reject an unmapped address
//! (`ZX_ERR_INVALID_ARGS`). Any other pointer is trusted to be valid for its length, as the
//! C contract of these functions requires.

pub mod magenta;
pub mod zircon;

pub use self::magenta::*;
pub use self::zircon::*;

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use vm_kernel::status::{ZX_ERR_INTERNAL, ZX_ERR_INVALID_ARGS, ZX_OK};
use vm_kernel::{HandleValue, Status, UserBuffer, UserBytes};

use crate::runtime::Runtime;

/// Lowest address treated as possibly valid: nothing is ever mapped in the first page.
const FIRST_USER_ADDRESS: usize = 4096;
/// End of the user half of the x86-64 / AArch64 address space.
const USER_ADDRESS_END: usize = 1 << 47;

/// Whether `[address, address + len)` may be user memory.
fn plausible(address: usize, len: usize) -> bool {
    address >= FIRST_USER_ADDRESS
        && address
            .checked_add(len)
            .is_some_and(|end| end <= USER_ADDRESS_END)
}

/// Runs a call body; a panic becomes `ZX_ERR_INTERNAL` instead of unwinding into C.
fn guarded(body: impl FnOnce() -> Status) -> Status {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(ZX_ERR_INTERNAL)
}

/// A buffer the kernel fills from `len` bytes at `ptr`.
///
/// # Safety
/// If `ptr` passes [`plausible`], the caller guarantees `len` bytes there are writable and not
/// aliased by Rust references for the duration of the call (the C contract).
unsafe fn user_buffer<'a>(ptr: *mut c_void, len: usize) -> UserBuffer<'a> {
    if len == 0 {
        return UserBuffer::new(&mut []);
    }
    if !plausible(ptr as usize, len) {
        return UserBuffer::invalid(len);
    }
    // SAFETY: non-null, below 2^47 so `len` fits isize, and valid for `len` writable bytes by
    // the caller's contract (stated above).
    UserBuffer::new(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<u8>(), len) })
}

/// Bytes the kernel reads from `len` bytes at `ptr`.
///
/// # Safety
/// If `ptr` passes [`plausible`], the caller guarantees `len` bytes there are readable for
/// the duration of the call.
unsafe fn user_bytes<'a>(ptr: *const c_void, len: usize) -> UserBytes<'a> {
    if len == 0 {
        return UserBytes::new(&[]);
    }
    if !plausible(ptr as usize, len) {
        return UserBytes::invalid(len);
    }
    // SAFETY: non-null, below 2^47 so `len` fits isize, and valid for `len` readable bytes by
    // the caller's contract.
    UserBytes::new(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// Whether `ptr` may receive a `T`.
fn out_ok<T>(ptr: *mut T) -> bool {
    plausible(ptr as usize, std::mem::size_of::<T>())
}

/// Stores `value` at `ptr`; `false` (nothing stored) if the pointer is not plausible.
///
/// # Safety
/// If `ptr` passes [`plausible`], the caller guarantees it points at writable memory for a `T`.
unsafe fn store<T>(ptr: *mut T, value: T) -> bool {
    if !out_ok(ptr) {
        return false;
    }
    // SAFETY: plausible, hence writable for a `T` by the caller's contract; unaligned writes
    // are allowed so that a misaligned but valid pointer works as it does on Zircon.
    unsafe { ptr.write_unaligned(value) };
    true
}

/// Stores a new handle at `out`, or closes it and reports `ZX_ERR_INVALID_ARGS` when `out`
/// cannot receive it (Zircon's copy-out), so a bad out-pointer leaks nothing.
///
/// # Safety
/// As for [`store`].
unsafe fn store_handle(out: *mut HandleValue, result: Result<HandleValue, Status>) -> Status {
    match result {
        Err(status) => status,
        // SAFETY: forwarded from this function's contract.
        Ok(handle) if unsafe { store(out, handle) } => ZX_OK,
        Ok(handle) => {
            let _ = Runtime::get().syscalls().handle_close(handle);
            ZX_ERR_INVALID_ARGS
        }
    }
}

/// The status of a call that returns nothing.
fn status(result: Result<(), Status>) -> Status {
    match result {
        Ok(()) => ZX_OK,
        Err(status) => status,
    }
}
