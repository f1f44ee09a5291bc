//! Status codes as a Rust error type: [`Status`] wraps a `zx_status_t` (the numbers of
//! spec/zircon.md section 1, shared with the C library), and [`Result`] is what every call of
//! this API returns.

use std::fmt;

use vm_kernel::status as raw;

/// The outcome of a call: `Ok` with its value, or the status code it failed with.
pub type Result<T> = std::result::Result<T, Status>;

/// A Zircon status code (`zx_status_t`). Calls of this API report failures as `Err(Status)`,
/// so an `Err` never holds [`Status::OK`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Status(i32);

/// Every status this module can name, with its C spelling.
const NAMES: &[(Status, &str)] = &[
    (Status::OK, "ZX_OK"),
    (Status::INTERNAL, "ZX_ERR_INTERNAL"),
    (Status::NOT_SUPPORTED, "ZX_ERR_NOT_SUPPORTED"),
    (Status::NO_RESOURCES, "ZX_ERR_NO_RESOURCES"),
    (Status::NO_MEMORY, "ZX_ERR_NO_MEMORY"),
    (Status::INVALID_ARGS, "ZX_ERR_INVALID_ARGS"),
    (Status::BAD_HANDLE, "ZX_ERR_BAD_HANDLE"),
    (Status::WRONG_TYPE, "ZX_ERR_WRONG_TYPE"),
    (Status::BAD_SYSCALL, "ZX_ERR_BAD_SYSCALL"),
    (Status::OUT_OF_RANGE, "ZX_ERR_OUT_OF_RANGE"),
    (Status::BUFFER_TOO_SMALL, "ZX_ERR_BUFFER_TOO_SMALL"),
    (Status::BAD_STATE, "ZX_ERR_BAD_STATE"),
    (Status::TIMED_OUT, "ZX_ERR_TIMED_OUT"),
    (Status::SHOULD_WAIT, "ZX_ERR_SHOULD_WAIT"),
    (Status::CANCELED, "ZX_ERR_CANCELED"),
    (Status::NOT_FOUND, "ZX_ERR_NOT_FOUND"),
    (Status::ALREADY_EXISTS, "ZX_ERR_ALREADY_EXISTS"),
    (Status::UNAVAILABLE, "ZX_ERR_UNAVAILABLE"),
    (Status::ACCESS_DENIED, "ZX_ERR_ACCESS_DENIED"),
];

impl Status {
    /// `ZX_OK`: success.
    pub const OK: Status = Status(raw::ZX_OK);
    /// `ZX_ERR_INTERNAL`: something went wrong inside the kernel or the library.
    pub const INTERNAL: Status = Status(raw::ZX_ERR_INTERNAL);
    /// `ZX_ERR_NOT_SUPPORTED`: the operation is not supported on this object.
    pub const NOT_SUPPORTED: Status = Status(raw::ZX_ERR_NOT_SUPPORTED);
    /// `ZX_ERR_NO_RESOURCES`: a resource limit was reached (handles, address space).
    pub const NO_RESOURCES: Status = Status(raw::ZX_ERR_NO_RESOURCES);
    /// `ZX_ERR_NO_MEMORY`: memory could not be allocated (the frame limit was reached).
    pub const NO_MEMORY: Status = Status(raw::ZX_ERR_NO_MEMORY);
    /// `ZX_ERR_INVALID_ARGS`: an argument is invalid.
    pub const INVALID_ARGS: Status = Status(raw::ZX_ERR_INVALID_ARGS);
    /// `ZX_ERR_BAD_HANDLE`: the value is not a live handle of the calling program.
    pub const BAD_HANDLE: Status = Status(raw::ZX_ERR_BAD_HANDLE);
    /// `ZX_ERR_WRONG_TYPE`: the handle refers to an object of another type.
    pub const WRONG_TYPE: Status = Status(raw::ZX_ERR_WRONG_TYPE);
    /// `ZX_ERR_BAD_SYSCALL`: unknown system call.
    pub const BAD_SYSCALL: Status = Status(raw::ZX_ERR_BAD_SYSCALL);
    /// `ZX_ERR_OUT_OF_RANGE`: an offset or size lies beyond what the object holds, or
    /// overflows.
    pub const OUT_OF_RANGE: Status = Status(raw::ZX_ERR_OUT_OF_RANGE);
    /// `ZX_ERR_BUFFER_TOO_SMALL`: an output buffer is too small.
    pub const BUFFER_TOO_SMALL: Status = Status(raw::ZX_ERR_BUFFER_TOO_SMALL);
    /// `ZX_ERR_BAD_STATE`: the object is in the wrong state (for example a destroyed VMAR).
    pub const BAD_STATE: Status = Status(raw::ZX_ERR_BAD_STATE);
    /// `ZX_ERR_TIMED_OUT`: a deadline passed.
    pub const TIMED_OUT: Status = Status(raw::ZX_ERR_TIMED_OUT);
    /// `ZX_ERR_SHOULD_WAIT`: the operation would block.
    pub const SHOULD_WAIT: Status = Status(raw::ZX_ERR_SHOULD_WAIT);
    /// `ZX_ERR_CANCELED`: the handle waited on was closed.
    pub const CANCELED: Status = Status(-23);
    /// `ZX_ERR_NOT_FOUND`: something was not found (for example nothing mapped to protect).
    pub const NOT_FOUND: Status = Status(raw::ZX_ERR_NOT_FOUND);
    /// `ZX_ERR_ALREADY_EXISTS`: something is already there (a specific placement collides).
    pub const ALREADY_EXISTS: Status = Status(raw::ZX_ERR_ALREADY_EXISTS);
    /// `ZX_ERR_UNAVAILABLE`: the object cannot do this now or ever (resizing a VMO that is
    /// not resizable).
    pub const UNAVAILABLE: Status = Status(raw::ZX_ERR_UNAVAILABLE);
    /// `ZX_ERR_ACCESS_DENIED`: a right or a permission is missing.
    pub const ACCESS_DENIED: Status = Status(raw::ZX_ERR_ACCESS_DENIED);

    /// The status with the raw value `raw`.
    pub const fn from_raw(raw: i32) -> Status {
        Status(raw)
    }

    /// The raw `zx_status_t` value.
    pub const fn into_raw(self) -> i32 {
        self.0
    }

    /// `Ok(())` for `ZX_OK`, `Err` with the status otherwise: turns a C return value into a
    /// [`Result`].
    pub fn ok(raw: i32) -> Result<()> {
        if raw == raw::ZX_OK {
            Ok(())
        } else {
            Err(Status(raw))
        }
    }

    /// The C name of the status (`"ZX_ERR_BAD_HANDLE"`), if it is one this module knows.
    pub fn name(self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(status, _)| *status == self)
            .map(|&(_, name)| name)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown status {}", self.0),
        }
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Status({name})"),
            None => write!(f, "Status({})", self.0),
        }
    }
}

impl std::error::Error for Status {}

impl From<Status> for i32 {
    fn from(status: Status) -> i32 {
        status.into_raw()
    }
}
