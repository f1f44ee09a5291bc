//! The hosted runtime: the engine and kernel layers running inside a Linux process, and the C
//! library (`libzircon.a` / `libzircon.so`) built on them. It is the only crate allowed
//! host-specific and `unsafe` code, all of it in the C ABI's pointer handling for now.
//!
//! Rust programs use the same runtime through [`Runtime`] and the kernel's [`Syscalls`]; VMOs
//! mapped into the process's own memory arrive with the address-space work.
//!
//! [`Syscalls`]: vm_kernel::Syscalls

pub mod c_abi;
pub mod platform;
pub mod runtime;

pub use platform::HostPlatform;
pub use runtime::Runtime;
pub use vm_engine as engine;
pub use vm_kernel as kernel;
