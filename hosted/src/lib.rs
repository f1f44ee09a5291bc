//! The hosted runtime: the engine and kernel layers running inside a Linux process, with frames
//! in a memfd, VMOs mapped into the process's own memory, and the C library (`libzircon`) built
//! on top. It is the only crate allowed host-specific and `unsafe` code.
//!
//! At this stage it re-exports the layers below; the C ABI and the real mappings arrive with the
//! system-call and hosted-runtime work.

pub use vm_engine as engine;
pub use vm_kernel as kernel;
