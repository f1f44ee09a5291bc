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

pub mod bti;
pub mod jinue;
pub mod magenta;
pub mod pager;
pub mod zircon;

pub use self::bti::*;
pub use self::jinue::*;
pub use self::magenta::*;
pub use self::pager::*;
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

/// Whether a call's outcome is a success (then a bounced output buffer is copied back).
trait Outcome {
    fn succeeded(&self) -> bool;
}

impl Outcome for Status {
    fn succeeded(&self) -> bool {
        *self == ZX_OK
    }
}

impl<T> Outcome for Result<T, Status> {
    fn succeeded(&self) -> bool {
        self.is_ok()
    }
}

impl<T> Outcome for (Status, T) {
    fn succeeded(&self) -> bool {
        self.0 == ZX_OK
    }
}

/// Whether every page of `[address, address + len)` that lies in the program's own address
/// space is mapped with the permission the copy needs, faulting each in through the engine for
/// that access, so that touching it afterwards cannot crash the program.
fn mapped_for(address: usize, len: usize, write: bool) -> bool {
    let Some(runtime) = Runtime::running() else {
        return true;
    };
    let space = runtime.process().address_space();
    let page = vm_engine::PAGE_SIZE;
    let mut at = address & !(page - 1);
    while at < address + len {
        if runtime.owns_address(at as u64) {
            let Some(mapping) = space.mapping_at(at as u64) else {
                return false;
            };
            let needed = if write {
                vm_engine::Perms::READ | vm_engine::Perms::WRITE
            } else {
                vm_engine::Perms::READ
            };
            // A page the call will write is faulted in for writing now, so that running out of
            // frames is an error here rather than a crash in the copy back.
            let access = if write {
                vm_engine::Access::Write
            } else {
                vm_engine::Access::Read
            };
            // A page its pager has not supplied yet is waited for, as the copy would wait.
            if !mapping.perms.contains(needed)
                || crate::fault_handler::resolve(space, at as u64, access).is_err()
            {
                return false;
            }
        }
        at += page;
    }
    true
}

/// Runs `call` with a buffer the kernel fills from `len` bytes at `ptr`.
///
/// A buffer inside the program's own address space (a mapped VMO) is bounced: the kernel fills
/// a private copy while it holds engine locks, and the copy goes to the program's memory only
/// after the call succeeded, with no lock held, since touching it may fault into the engine.
///
/// # Safety
/// If `ptr` passes [`plausible`] and lies outside the runtime's reserved range, the caller
/// guarantees `len` bytes there are writable and not aliased by Rust references for the
/// duration of the call (the C contract).
unsafe fn with_user_buffer<R: Outcome>(
    ptr: *mut c_void,
    len: usize,
    call: impl FnOnce(UserBuffer<'_>) -> R,
) -> R {
    if len == 0 {
        return call(UserBuffer::new(&mut []));
    }
    if !plausible(ptr as usize, len) {
        return call(UserBuffer::invalid(len));
    }
    if Runtime::running().is_some_and(|runtime| runtime.overlaps(ptr as u64, len)) {
        if !mapped_for(ptr as usize, len, true) {
            return call(UserBuffer::invalid(len));
        }
        let mut bounce = Vec::new();
        if bounce.try_reserve_exact(len).is_err() {
            return call(UserBuffer::invalid(len));
        }
        // SAFETY: every page is mapped readable (checked above); faults resolve in the handler,
        // as no engine lock is held here. Bytes the call leaves alone are copied back as they were.
        bounce.extend_from_slice(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) });
        let outcome = call(UserBuffer::new(&mut bounce));
        if outcome.succeeded() {
            // SAFETY: the pages were mapped writable when checked; the copy runs with no lock.
            unsafe { std::ptr::copy_nonoverlapping(bounce.as_ptr(), ptr.cast::<u8>(), len) };
        }
        return outcome;
    }
    // SAFETY: non-null, below 2^47 so `len` fits isize, and valid for `len` writable bytes by
    // the caller's contract (stated above).
    call(UserBuffer::new(unsafe {
        std::slice::from_raw_parts_mut(ptr.cast::<u8>(), len)
    }))
}

/// Runs `call` with the bytes the kernel reads from `len` bytes at `ptr` (bounced, like
/// [`with_user_buffer`], when they lie in the program's own address space).
///
/// # Safety
/// If `ptr` passes [`plausible`] and lies outside the reserved range, the caller guarantees
/// `len` bytes there are readable for the duration of the call.
unsafe fn with_user_bytes<R>(
    ptr: *const c_void,
    len: usize,
    call: impl FnOnce(UserBytes<'_>) -> R,
) -> R {
    if len == 0 {
        return call(UserBytes::new(&[]));
    }
    if !plausible(ptr as usize, len) {
        return call(UserBytes::invalid(len));
    }
    if Runtime::running().is_some_and(|runtime| runtime.overlaps(ptr as u64, len)) {
        if !mapped_for(ptr as usize, len, false) {
            return call(UserBytes::invalid(len));
        }
        let mut bounce = Vec::new();
        if bounce.try_reserve_exact(len).is_err() {
            return call(UserBytes::invalid(len));
        }
        // SAFETY: every page is mapped readable (checked above); faults resolve in the handler,
        // as no engine lock is held here.
        bounce.extend_from_slice(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) });
        return call(UserBytes::new(&bounce));
    }
    // SAFETY: non-null, below 2^47 so `len` fits isize, and valid for `len` readable bytes by
    // the caller's contract.
    call(UserBytes::new(unsafe {
        std::slice::from_raw_parts(ptr.cast::<u8>(), len)
    }))
}

/// Whether `ptr` may receive a `T` (inside the program's own address space: only where a
/// writable mapping is).
fn out_ok<T>(ptr: *mut T) -> bool {
    let len = std::mem::size_of::<T>();
    plausible(ptr as usize, len) && mapped_for(ptr as usize, len, true)
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
