//! The functions of `include/jinue/jinue.h`: the raw register entry `jinue_syscall` and the
//! library functions, both running the kernel's Jinue calls as the calling program's process.
//! Structures the calls point to (MCLONE's and MINT's arguments) are read here, with the same
//! pointer checks and bounce buffers as every other call; a pointer that does not name readable
//! user memory reaches the kernel as "no arguments" (EINVAL at the spec's place).

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use vm_kernel::jinue::{function, Errno, JinueResult, MCloneArgs, MintArgs};
use vm_kernel::UserBytes;

use super::{out_ok, store, with_user_bytes};
use crate::runtime::Runtime;

/// `jinue_syscall_args_t`: four pointer-sized registers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JinueSyscallArgs {
    /// Function number in, result (or -1) out.
    pub arg0: usize,
    /// First argument in, error number out on failure.
    pub arg1: usize,
    /// Second argument.
    pub arg2: usize,
    /// Third argument.
    pub arg3: usize,
}

/// Size of `jinue_mclone_args_t` (LP64): three pointer-sized fields and an `int`, padded.
const MCLONE_ARGS_SIZE: usize = 32;
/// Size of `jinue_mint_args_t` (LP64): three `int`s, padding, a `uintptr_t`.
const MINT_ARGS_SIZE: usize = 24;

fn word(bytes: &[u8], at: usize) -> usize {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    usize::from_ne_bytes(raw)
}

fn int(bytes: &[u8], at: usize) -> i32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[at..at + 4]);
    i32::from_ne_bytes(raw)
}

/// Reads a structure of `size` bytes at `address` of the caller's memory and decodes it.
///
/// # Safety
/// A plausible address outside the runtime's mappings must be readable for `size` bytes.
unsafe fn read_struct<T>(
    address: usize,
    size: usize,
    decode: impl FnOnce(&[u8]) -> T,
) -> Option<T> {
    let call = |bytes: UserBytes<'_>| bytes.bytes().map(decode);
    // SAFETY: forwarded from this function's contract.
    unsafe { with_user_bytes(address as *const c_void, size, call) }
}

/// Runs one call from raw registers.
///
/// # Safety
/// As [`read_struct`] for the pointers the call's registers carry.
unsafe fn dispatch(registers: JinueSyscallArgs) -> JinueResult {
    let JinueSyscallArgs {
        arg0,
        arg1,
        arg2,
        arg3,
    } = registers;
    let mclone = (arg0 == function::MCLONE)
        .then(|| {
            // SAFETY: forwarded contract for the pointer in `arg3`.
            unsafe {
                read_struct(arg3, MCLONE_ARGS_SIZE, |b| MCloneArgs {
                    src_addr: word(b, 0) as u64,
                    dest_addr: word(b, 8) as u64,
                    length: word(b, 16) as u64,
                    prot: int(b, 24),
                })
            }
        })
        .flatten();
    let mint = (arg0 == function::MINT)
        .then(|| {
            // SAFETY: forwarded contract for the pointer in `arg2`.
            unsafe {
                read_struct(arg2, MINT_ARGS_SIZE, |b| MintArgs {
                    process: int(b, 0),
                    fd: int(b, 4),
                    perms: int(b, 8),
                    cookie: word(b, 16),
                })
            }
        })
        .flatten();
    let runtime = Runtime::get();
    runtime
        .kernel()
        .jinue(runtime.process())
        .call(arg0, arg1, arg2, mclone, mint, arg3)
}

/// Runs a call body; a panic (a bug) is reported as EIO rather than unwinding into C.
fn guarded(body: impl FnOnce() -> JinueResult) -> JinueResult {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(Err(Errno::Io))
}

/// `jinue_syscall`: registers in, registers out, in place. On success `arg0` is the result (0);
/// on failure `arg0` is -1 and `arg1` the error number. A NULL or unusable `args` is ignored:
/// there is nowhere to report anything.
///
/// # Safety
/// `args`, if plausible, must be readable and writable; pointers the call's registers carry, if
/// plausible, must be readable for their structure's size.
#[no_mangle]
pub unsafe extern "C" fn jinue_syscall(args: *mut JinueSyscallArgs) {
    if !out_ok(args) {
        return;
    }
    // SAFETY: plausible (and, inside a mapping, mapped writable), hence valid by the contract.
    let registers = unsafe { args.read_unaligned() };
    // SAFETY: forwarded contract for the pointers in the registers.
    let result = guarded(|| unsafe { dispatch(registers) });
    let out = match result {
        Ok(value) => JinueSyscallArgs {
            arg0: value,
            ..registers
        },
        Err(errno) => JinueSyscallArgs {
            arg0: usize::MAX,
            arg1: errno as usize,
            ..registers
        },
    };
    // SAFETY: as for the read above.
    unsafe { args.write_unaligned(out) };
}

/// Reports a library call's result: 0, or -1 with the error number stored through `perrno`.
///
/// # Safety
/// `perrno`, if plausible, must be writable.
unsafe fn finish(result: JinueResult, perrno: *mut c_int) -> c_int {
    match result {
        Ok(_) => 0,
        Err(errno) => {
            if !perrno.is_null() {
                // SAFETY: forwarded from this function's contract.
                unsafe { store(perrno, errno as c_int) };
            }
            -1
        }
    }
}

/// A descriptor argument as the register would carry it (a negative `int` stays negative).
fn register(value: c_int) -> usize {
    value as isize as usize
}

/// Runs a library call with its arguments in registers, as the raw entry would.
///
/// # Safety
/// As for [`dispatch`]; `perrno`, if plausible, must be writable.
unsafe fn library_call(registers: JinueSyscallArgs, perrno: *mut c_int) -> c_int {
    // SAFETY: forwarded contracts.
    unsafe { finish(guarded(|| dispatch(registers)), perrno) }
}

/// `jinue_create_process`.
///
/// # Safety
/// `perrno`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn jinue_create_process(fd: c_int, perrno: *mut c_int) -> c_int {
    let registers = JinueSyscallArgs {
        arg0: function::CREATE_PROCESS,
        arg1: register(fd),
        ..Default::default()
    };
    // SAFETY: no pointer in the registers; `perrno` by the contract.
    unsafe { library_call(registers, perrno) }
}

/// `jinue_mclone`: the arguments go in a structure in this function's own memory.
///
/// # Safety
/// `perrno`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn jinue_mclone(
    src: c_int,
    dest: c_int,
    src_addr: *mut c_void,
    dest_addr: *mut c_void,
    length: usize,
    prot: c_int,
    perrno: *mut c_int,
) -> c_int {
    let args = MCloneArgs {
        src_addr: src_addr as u64,
        dest_addr: dest_addr as u64,
        length: length as u64,
        prot,
    };
    let result = guarded(|| {
        let runtime = Runtime::get();
        runtime
            .kernel()
            .jinue(runtime.process())
            .mclone(register(src), register(dest), Some(args))
    });
    // SAFETY: `perrno` by the contract.
    unsafe { finish(result, perrno) }
}

/// `jinue_dup`.
///
/// # Safety
/// `perrno`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn jinue_dup(
    process: c_int,
    src: c_int,
    dest: c_int,
    perrno: *mut c_int,
) -> c_int {
    let registers = JinueSyscallArgs {
        arg0: function::DUP,
        arg1: register(process),
        arg2: register(src),
        arg3: register(dest),
    };
    // SAFETY: no pointer in the registers; `perrno` by the contract.
    unsafe { library_call(registers, perrno) }
}

/// `jinue_close`.
///
/// # Safety
/// `perrno`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn jinue_close(fd: c_int, perrno: *mut c_int) -> c_int {
    let registers = JinueSyscallArgs {
        arg0: function::CLOSE,
        arg1: register(fd),
        ..Default::default()
    };
    // SAFETY: no pointer in the registers; `perrno` by the contract.
    unsafe { library_call(registers, perrno) }
}

/// `jinue_destroy`.
///
/// # Safety
/// `perrno`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn jinue_destroy(fd: c_int, perrno: *mut c_int) -> c_int {
    let registers = JinueSyscallArgs {
        arg0: function::DESTROY,
        arg1: register(fd),
        ..Default::default()
    };
    // SAFETY: no pointer in the registers; `perrno` by the contract.
    unsafe { library_call(registers, perrno) }
}

/// `jinue_mint`: the arguments go in a structure in this function's own memory.
///
/// # Safety
/// `perrno`, if plausible, must be writable.
#[no_mangle]
pub unsafe extern "C" fn jinue_mint(
    owner: c_int,
    process: c_int,
    fd: c_int,
    perms: c_int,
    cookie: usize,
    perrno: *mut c_int,
) -> c_int {
    let args = MintArgs {
        process,
        fd,
        perms,
        cookie,
    };
    let result = guarded(|| {
        let runtime = Runtime::get();
        runtime
            .kernel()
            .jinue(runtime.process())
            .mint(register(owner), Some(args))
    });
    // SAFETY: `perrno` by the contract.
    unsafe { finish(result, perrno) }
}
