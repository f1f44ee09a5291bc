//! Owned handles: a [`Handle`] is one of the calling program's handle values, closed when it is
//! dropped, with the calls every kind of object answers (duplicate, replace, basic info, name).
//! [`Vmo`](super::Vmo) and [`Vmar`](super::Vmar) wrap one.

use std::ffi::c_void;
use std::fmt;

use vm_kernel::zircon::{ZX_INFO_HANDLE_BASIC, ZX_PROP_NAME};
use vm_kernel::HANDLE_INVALID;

use super::status::{Result, Status};
use crate::c_abi;

/// Handle rights (`zx_rights_t`), the kernel's own type.
pub use vm_kernel::Rights;

/// `ZX_RIGHT_SAME_RIGHTS`: given to [`Handle::duplicate`] or [`Handle::replace`], keeps every
/// right of the original.
pub const SAME_RIGHTS: Rights = Rights::from_bits_retain(vm_kernel::rights::SAME_RIGHTS);

/// A kernel object id (`zx_koid_t`): unique, never reused; 0 means none.
pub type Koid = u64;

/// `ZX_MAX_NAME_LEN`: a name's buffer, terminating NUL included.
const MAX_NAME_LEN: usize = vm_kernel::name::MAX_NAME_LEN;

/// The type of a kernel object (`zx_obj_type_t`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct ObjectType(u32);

impl ObjectType {
    /// `ZX_OBJ_TYPE_PROCESS`.
    pub const PROCESS: ObjectType = ObjectType(1);
    /// `ZX_OBJ_TYPE_VMO`.
    pub const VMO: ObjectType = ObjectType(3);
    /// `ZX_OBJ_TYPE_JOB`.
    pub const JOB: ObjectType = ObjectType(17);
    /// `ZX_OBJ_TYPE_VMAR`.
    pub const VMAR: ObjectType = ObjectType(18);

    /// The type with the raw value `raw`.
    pub const fn from_raw(raw: u32) -> ObjectType {
        ObjectType(raw)
    }

    /// The raw `zx_obj_type_t` value.
    pub const fn into_raw(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ObjectType::PROCESS => f.write_str("ObjectType::PROCESS"),
            ObjectType::VMO => f.write_str("ObjectType::VMO"),
            ObjectType::JOB => f.write_str("ObjectType::JOB"),
            ObjectType::VMAR => f.write_str("ObjectType::VMAR"),
            ObjectType(raw) => write!(f, "ObjectType({raw})"),
        }
    }
}

/// `zx_info_handle_basic_t`: what a handle refers to and what it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleBasicInfo {
    /// The object's koid.
    pub koid: Koid,
    /// The handle's rights.
    pub rights: Rights,
    /// The object's type.
    pub object_type: ObjectType,
    /// A related object: a VMAR's process, a process's job; 0 for a VMO.
    pub related_koid: Koid,
}

/// An owned handle of the calling program: closed when dropped.
///
/// A `Handle` may be invalid (`ZX_HANDLE_INVALID`, see [`Handle::invalid`]); every call on it
/// then fails with [`Status::BAD_HANDLE`], and dropping it does nothing.
#[derive(PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Handle(u32);

impl Handle {
    /// `ZX_HANDLE_INVALID`: a handle that refers to nothing.
    pub const fn invalid() -> Handle {
        Handle(HANDLE_INVALID)
    }

    /// Takes ownership of the raw handle value `raw`.
    ///
    /// # Safety
    /// `raw` must be `ZX_HANDLE_INVALID` or a live handle value of the calling program that
    /// nothing else will close or use as its own: the new `Handle` closes it when dropped. In
    /// particular it must not be the value of `zx_vmar_root_self()` or `zx_job_default()`,
    /// which the runtime owns. If the value is then used as a [`Vmar`](super::Vmar), it must
    /// be a VMAR of the calling program's own address space.
    pub const unsafe fn from_raw(raw: u32) -> Handle {
        Handle(raw)
    }

    /// The raw handle value, still owned by `self`.
    pub const fn raw(&self) -> u32 {
        self.0
    }

    /// Gives up ownership: returns the raw value, which the caller must close.
    pub fn into_raw(self) -> u32 {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    /// Whether this is `ZX_HANDLE_INVALID`.
    pub const fn is_invalid(&self) -> bool {
        self.0 == HANDLE_INVALID
    }

    /// `zx_handle_duplicate`: a new handle to the same object with `rights` ([`SAME_RIGHTS`]
    /// keeps them all). Needs the DUPLICATE right; asking for a right the handle lacks is
    /// [`Status::INVALID_ARGS`].
    pub fn duplicate(&self, rights: Rights) -> Result<Handle> {
        let mut out = HANDLE_INVALID;
        // SAFETY: `out` is a live local the call may write a handle value to.
        Status::ok(unsafe { c_abi::zx_handle_duplicate(self.0, rights.bits(), &mut out) })?;
        // SAFETY: the call succeeded, so `out` is a new handle that only we hold.
        Ok(unsafe { Handle::from_raw(out) })
    }

    /// `zx_handle_replace`: a new handle to the same object with `rights`; `self` is consumed
    /// whatever the outcome.
    pub fn replace(self, rights: Rights) -> Result<Handle> {
        // The kernel consumes the original once it found it (even when the rights are wrong);
        // a value it did not find was dead already. Either way there is nothing left to close.
        let original = self.into_raw();
        let mut out = HANDLE_INVALID;
        // SAFETY: `out` is a live local the call may write a handle value to.
        Status::ok(unsafe { c_abi::zx_handle_replace(original, rights.bits(), &mut out) })?;
        // SAFETY: the call succeeded, so `out` is a new handle that only we hold.
        Ok(unsafe { Handle::from_raw(out) })
    }

    /// `zx_handle_close`, reporting its status (dropping the handle closes it silently).
    pub fn close(self) -> Result<()> {
        Status::ok(c_abi::zx_handle_close(self.into_raw()))
    }

    /// `zx_object_get_info(ZX_INFO_HANDLE_BASIC)`: needs no right.
    pub fn basic_info(&self) -> Result<HandleBasicInfo> {
        let mut record = [0u8; 32];
        get_info(self.0, ZX_INFO_HANDLE_BASIC, &mut record)?;
        Ok(HandleBasicInfo {
            koid: u64_at(&record, 0),
            rights: Rights::from_bits_retain(u32_at(&record, 8)),
            object_type: ObjectType(u32_at(&record, 12)),
            related_koid: u64_at(&record, 16),
        })
    }

    /// The koid of the object the handle refers to.
    pub fn koid(&self) -> Result<Koid> {
        Ok(self.basic_info()?.koid)
    }

    /// `zx_object_get_property(ZX_PROP_NAME)`: the object's name (needs GET_PROPERTY). Bytes
    /// that are not UTF-8 are replaced by U+FFFD.
    pub fn name(&self) -> Result<String> {
        let mut name = [0u8; MAX_NAME_LEN];
        // SAFETY: `name` is a live local array, writable for its whole length.
        Status::ok(unsafe {
            c_abi::zx_object_get_property(
                self.0,
                ZX_PROP_NAME,
                name.as_mut_ptr().cast::<c_void>(),
                name.len(),
            )
        })?;
        let len = name
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(name.len());
        Ok(String::from_utf8_lossy(&name[..len]).into_owned())
    }

    /// `zx_object_set_property(ZX_PROP_NAME)`: renames the object (needs SET_PROPERTY); a name
    /// longer than 31 bytes is cut.
    pub fn set_name(&self, name: &str) -> Result<()> {
        // SAFETY: `name` is a live string, readable for its whole length.
        Status::ok(unsafe {
            c_abi::zx_object_set_property(
                self.0,
                ZX_PROP_NAME,
                name.as_ptr().cast::<c_void>(),
                name.len(),
            )
        })
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.is_invalid() {
            // Nothing to report to: an error here means the value was already dead.
            let _ = c_abi::zx_handle_close(self.0);
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({:#x})", self.0)
    }
}

impl Default for Handle {
    /// The invalid handle.
    fn default() -> Handle {
        Handle::invalid()
    }
}

/// `zx_object_get_info` for a single-record topic into `record`.
pub(super) fn get_info(handle: u32, topic: u32, record: &mut [u8]) -> Result<()> {
    // SAFETY: `record` is a live, exclusively borrowed buffer, writable for its length; the
    // optional `actual` and `avail` counts are not asked for (NULL).
    Status::ok(unsafe {
        c_abi::zx_object_get_info(
            handle,
            topic,
            record.as_mut_ptr().cast::<c_void>(),
            record.len(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    })
}

/// The little-endian `u64` field at byte `at` of an info record (the kernel's encoding).
pub(super) fn u64_at(record: &[u8], at: usize) -> u64 {
    let mut field = [0u8; 8];
    field.copy_from_slice(&record[at..at + 8]);
    u64::from_le_bytes(field)
}

/// The little-endian `u32` field at byte `at` of an info record.
pub(super) fn u32_at(record: &[u8], at: usize) -> u32 {
    let mut field = [0u8; 4];
    field.copy_from_slice(&record[at..at + 4]);
    u32::from_le_bytes(field)
}

/// The NUL-terminated name at `[at, at + 32)` of an info record.
pub(super) fn name_at(record: &[u8], at: usize) -> String {
    let field = &record[at..at + MAX_NAME_LEN];
    let len = field
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(field.len());
    String::from_utf8_lossy(&field[..len]).into_owned()
}

/// The methods and conversions every typed handle shares (`Vmo`, `Vmar`), like Fuchsia's
/// `impl_handle_based!`: `$name` wraps a [`Handle`] to an object of kind `$what`.
macro_rules! handle_based {
    ($name:ident, $what:literal) => {
        impl $name {
            #[doc = concat!("The handle's basic info (koid, rights, type, related koid) of the ", $what, ".")]
            pub fn basic_info(&self) -> $crate::zx::Result<$crate::zx::HandleBasicInfo> {
                self.0.basic_info()
            }

            #[doc = concat!("The ", $what, "'s koid.")]
            pub fn koid(&self) -> $crate::zx::Result<$crate::zx::Koid> {
                self.0.koid()
            }

            /// The raw handle value, still owned by `self`.
            pub fn raw(&self) -> u32 {
                self.0.raw()
            }

            /// Gives up ownership of the raw handle value, which the caller must close.
            pub fn into_raw(self) -> u32 {
                self.0.into_raw()
            }

            /// The underlying handle.
            pub fn as_handle(&self) -> &$crate::zx::Handle {
                &self.0
            }

            /// The underlying handle, owned.
            pub fn into_handle(self) -> $crate::zx::Handle {
                self.0
            }
        }

        impl From<$crate::zx::Handle> for $name {
            #[doc = concat!("Treats `handle` as a ", $what, " handle; calls fail with [`Status::WRONG_TYPE`](crate::zx::Status::WRONG_TYPE) if it is not.")]
            fn from(handle: $crate::zx::Handle) -> $name {
                $name(handle)
            }
        }

        impl From<$name> for $crate::zx::Handle {
            fn from(typed: $name) -> $crate::zx::Handle {
                typed.0
            }
        }

        impl AsRef<$crate::zx::Handle> for $name {
            fn as_ref(&self) -> &$crate::zx::Handle {
                &self.0
            }
        }
    };
}
pub(crate) use handle_based;
