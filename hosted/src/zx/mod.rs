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

#![warn(missing_docs)]
#![warn(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

/// Defines an option word: a `u32` newtype with named bits, set operations and a `Debug` that
/// names the bits it knows. Unknown bits are kept, so the kernel decides what to reject.
macro_rules! option_bits {
    (
        $(#[$meta:meta])*
        pub struct $name:ident;
        $(
            $(#[$flag_meta:meta])*
            const $flag:ident = $value:expr;
        )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(u32);

        impl $name {
            $(
                $(#[$flag_meta])*
                pub const $flag: $name = $name($value);
            )*

            /// No bit set.
            pub const fn empty() -> Self {
                $name(0)
            }

            /// The option word `bits`, unknown bits included (the kernel rejects those it
            /// does not accept).
            pub const fn from_bits_retain(bits: u32) -> Self {
                $name(bits)
            }

            /// The raw option word.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// Whether every bit of `other` is set here.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether any bit of `other` is set here.
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// The bits of both.
            pub const fn union(self, other: Self) -> Self {
                $name(self.0 | other.0)
            }

            /// The bits set in both.
            pub const fn intersection(self, other: Self) -> Self {
                $name(self.0 & other.0)
            }

            /// The bits of `self` that are not in `other`.
            pub const fn difference(self, other: Self) -> Self {
                $name(self.0 & !other.0)
            }
        }

        impl ::core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, other: Self) -> Self {
                self.union(other)
            }
        }

        impl ::core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, other: Self) {
                *self = self.union(other);
            }
        }

        impl ::core::ops::BitAnd for $name {
            type Output = Self;
            fn bitand(self, other: Self) -> Self {
                self.intersection(other)
            }
        }

        impl ::core::ops::Sub for $name {
            type Output = Self;
            fn sub(self, other: Self) -> Self {
                self.difference(other)
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut rest = self.0;
                let mut first = true;
                write!(f, "{}(", stringify!($name))?;
                $(
                    if $value != 0 && rest & $value == $value {
                        if !first {
                            f.write_str(" | ")?;
                        }
                        f.write_str(stringify!($flag))?;
                        rest &= !$value;
                        first = false;
                    }
                )*
                if rest != 0 || first {
                    if !first {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{rest:#x}")?;
                }
                f.write_str(")")
            }
        }
    };
}

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
