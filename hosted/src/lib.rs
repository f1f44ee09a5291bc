//! The hosted runtime: the engine and kernel layers running inside a Linux process, and the C
//! library (`libzircon.a` / `libzircon.so`) built on them. It is the only crate with
//! host-specific and `unsafe` code: frames in a memfd, the calling program's address space as a
//! reserved host range whose faults a SIGSEGV handler resolves, and the C ABI's pointer handling.
//!
//! Rust programs use the same runtime through [`Runtime`] and the kernel's [`Syscalls`].
//!
//! [`Syscalls`]: vm_kernel::Syscalls

pub mod c_abi;
mod fault_handler;
pub mod host_mmu;
pub mod memfd_frames;
pub mod platform;
pub mod runtime;
pub mod userfault;
pub mod zx;

pub use memfd_frames::MemfdFrames;
pub use platform::HostPlatform;
pub use runtime::Runtime;
pub use vm_engine as engine;
pub use vm_kernel as kernel;

/// The README's examples, compiled and run as doc tests so that the README stays true (here,
/// where both the engine and the hosted runtime they use are available).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
