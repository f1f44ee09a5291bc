//! The SIGSEGV and SIGBUS handler that makes the calling program's mappings work: a fault
//! inside the runtime's reserved range (SIGSEGV from the reservation or an island, SIGBUS from a
//! userfaultfd window, see `host_mmu`) is resolved by the engine in the faulting thread (which
//! installs the page and returns, so the access is retried); a fault the mapping does not allow,
//! or at an address with no mapping, crashes the program with SIGSEGV as the real kernel would.
//! Faults anywhere else go to whatever handler was installed before (or the default action).
//!
//! The handler runs on the faulting thread's own stack (no `SA_ONSTACK`): resolving a fault
//! needs more than a small alternate stack, and a stack overflow dies of SIGSEGV either way.
//! It takes the engine's locks, so the runtime never touches a program's memory while holding
//! one (see `c_abi::bounce`).
//!
//! A page of a pager-backed VMO that its pager has not supplied yet is waited for here, in the
//! faulting thread, exactly as a system call waits (see `vm_kernel::pager`): the page request
//! goes to the pager's port, the thread sleeps until another thread supplies the page, and the
//! fault is resolved again. If the pager will not supply it (the VMO was detached, the pager
//! closed), the access dies of the fault, as on Zircon.

use std::sync::OnceLock;

use vm_engine::{Access, AccessError, AddressSpace};

use crate::platform::HostPlatform;
use crate::runtime::Runtime;

/// The handlers that were installed before ours, for SIGSEGV and SIGBUS.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();

/// Installs the handler once; later calls do nothing.
pub fn install() {
    PREVIOUS.get_or_init(|| [take_over(libc::SIGSEGV), take_over(libc::SIGBUS)]);
}

/// Makes `handler` the action of `signal`; returns the action it replaces.
fn take_over(signal: libc::c_int) -> libc::sigaction {
    // SAFETY: plain-data structs zero-initialised as sigaction(2) expects; `handler` has the
    // SA_SIGINFO signature; the previous action is saved before anything can chain to it (a
    // fault in our range before `PREVIOUS` is set resolves without chaining).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        let mut previous: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, &action, &mut previous) != 0 {
            previous.sa_sigaction = libc::SIG_DFL;
        }
        previous
    }
}

/// What the faulting access was, from the x86-64 page-fault error code.
#[cfg(target_arch = "x86_64")]
fn access_of(context: *mut libc::c_void) -> Access {
    // SAFETY: the kernel passes a valid ucontext_t to an SA_SIGINFO handler.
    let error =
        unsafe { (*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs[libc::REG_ERR as usize] };
    if error & 0x10 != 0 {
        Access::Execute
    } else if error & 0x2 != 0 {
        Access::Write
    } else {
        Access::Read
    }
}

/// Elsewhere: a fault on a page that already has a translation must be a write.
#[cfg(not(target_arch = "x86_64"))]
fn access_of(_context: *mut libc::c_void) -> Access {
    Access::Read
}

extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for SIGSEGV.
    let address = unsafe { (*info).si_addr() } as u64;
    if let Some(runtime) = Runtime::running() {
        if runtime.owns_address(address) {
            let space = runtime.process().address_space();
            let mut access = access_of(context);
            if !cfg!(target_arch = "x86_64")
                && space.with_mmu(|mmu| mmu.translation(address)).is_some()
            {
                access = Access::Write;
            }
            if resolve(space, address, access).is_ok() {
                return;
            }
            // Not allowed: die of SIGSEGV at this address, as on the real kernel. A window page
            // faults with SIGBUS: make it inaccessible so that the retried access is a SIGSEGV.
            if signal == libc::SIGBUS {
                let page = address & !(vm_engine::PAGE_SIZE as u64 - 1);
                // SAFETY: a page of the runtime's reservation; the program is about to die.
                unsafe {
                    libc::mmap(
                        page as *mut libc::c_void,
                        vm_engine::PAGE_SIZE,
                        libc::PROT_NONE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
            }
            default_action(libc::SIGSEGV);
            return;
        }
    }
    chain(signal, info, context);
}

/// Resolves a fault at `address` of `space` for `access`, first waiting for the pager of a page
/// that is not supplied yet (as often as it takes: the page may go again before the retry).
/// Also used by the C ABI to fault in a user buffer before a call copies into it.
pub(crate) fn resolve(
    space: &AddressSpace<HostPlatform>,
    address: u64,
    access: Access,
) -> Result<(), AccessError> {
    loop {
        match space.fault(address, access) {
            Err(error @ AccessError::ShouldWait { .. }) => {
                if vm_kernel::pager::wait_for_mapped(space, address).is_err() {
                    return Err(error);
                }
            }
            outcome => return outcome,
        }
    }
}

/// Restores the default action, so that the retried access kills the program.
fn default_action(signal: libc::c_int) {
    // SAFETY: resetting a signal to SIG_DFL is async-signal-safe.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
    }
}

/// Passes a fault that is not ours to the handler installed before.
fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(previous) = PREVIOUS.get() else {
        return default_action(signal);
    };
    let previous = &previous[usize::from(signal == libc::SIGBUS)];
    match previous.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => default_action(signal),
        address if previous.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this
            // signature; we pass it exactly what we were given.
            let previous: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(address) };
            previous(signal, info, context);
        }
        address => {
            // SAFETY: a handler installed without SA_SIGINFO takes only the signal number.
            let previous: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(address) };
            previous(signal);
        }
    }
}
