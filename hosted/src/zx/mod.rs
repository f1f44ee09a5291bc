//! A Rust API over the calling program's own kernel objects, in the spirit of Fuchsia's `zx`
//! crate: owned handles that close themselves ([`Handle`], [`Vmo`], [`Vmar`]), status codes as
//! a real error type ([`Status`], [`Result`]), and mapped memory as an owned, bounds-checked
//! view ([`Mapping`]) that unmaps itself when dropped.
//!
//! Everything here calls the crate's own C functions ([`crate::c_abi`]), so Rust and C share
//! one code path: the same argument checks, the same handling of hostile pointers, and the same
//! bounce buffers for memory that lies inside a mapping (a kernel copy never holds an engine
//! lock while it touches mapped memory). Bad input is always an `Err(Status)`, never a panic.
//!
//! ```
//! use zircon::zx::{self, Vmar, VmarFlags, Vmo};
//!
//! fn main() -> zx::Result<()> {
//!     let vmo = Vmo::create(4096)?;
//!     let flags = VmarFlags::PERM_READ | VmarFlags::PERM_WRITE;
//!     let mapping = Vmar::root_self().map(flags, 0, &vmo, 0, 4096)?;
//!     mapping.write_at(0, b"hello")?; // a plain store into real memory
//!
//!     let snapshot = vmo.snapshot(0, 4096)?; // O(1): no page is copied yet
//!     mapping.write_at(0, b"HELLO")?; // faults, copies the page, then writes
//!
//!     let mut seen = [0u8; 5];
//!     snapshot.read(&mut seen, 0)?;
//!     assert_eq!(&seen, b"hello"); // the snapshot keeps what it saw
//!     vmo.read(&mut seen, 0)?;
//!     assert_eq!(&seen, b"HELLO");
//!     Ok(())
//! } // the mapping unmaps itself, then both handles close
//! ```
//!
//! The option words ([`VmoOptions`], [`VmoChildOptions`], [`VmarFlags`], [`VmoInfoFlags`])
//! are [`bitflags`] types over `u32`. Build one from a raw word with `from_bits_retain`, which
//! keeps unknown bits so the kernel decides what to reject.

#![warn(missing_docs)]
#![warn(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod handle;
mod mapping;
mod status;
mod vmar;
mod vmo;

pub use self::handle::{Handle, HandleBasicInfo, Koid, ObjectType, Rights, SAME_RIGHTS};
pub use self::mapping::Mapping;
pub use self::status::{Result, Status};
pub use self::vmar::{Vmar, VmarFlags, VmarInfo};
pub use self::vmo::{Vmo, VmoChildOptions, VmoInfo, VmoInfoFlags, VmoOp, VmoOptions};
