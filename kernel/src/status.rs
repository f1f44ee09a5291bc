//! Zircon status codes (Magenta uses the same numbers) and how engine errors map onto them.

use vm_engine::VmError;

/// A Zircon status code, `zx_status_t`.
pub type Status = i32;

/// Success.
pub const ZX_OK: Status = 0;
/// Something went wrong inside the kernel.
pub const ZX_ERR_INTERNAL: Status = -1;
/// The operation is not supported.
pub const ZX_ERR_NOT_SUPPORTED: Status = -2;
/// A resource limit was reached.
pub const ZX_ERR_NO_RESOURCES: Status = -3;
/// Memory could not be allocated.
pub const ZX_ERR_NO_MEMORY: Status = -4;
/// An argument is invalid.
pub const ZX_ERR_INVALID_ARGS: Status = -10;
/// A handle is not a live handle of the calling process.
pub const ZX_ERR_BAD_HANDLE: Status = -11;
/// A handle refers to an object of the wrong type.
pub const ZX_ERR_WRONG_TYPE: Status = -12;
/// Unknown system call.
pub const ZX_ERR_BAD_SYSCALL: Status = -13;
/// A value is out of range.
pub const ZX_ERR_OUT_OF_RANGE: Status = -14;
/// An output buffer is too small.
pub const ZX_ERR_BUFFER_TOO_SMALL: Status = -15;
/// The object is in the wrong state for the operation.
pub const ZX_ERR_BAD_STATE: Status = -20;
/// A deadline passed.
pub const ZX_ERR_TIMED_OUT: Status = -21;
/// The operation would block.
pub const ZX_ERR_SHOULD_WAIT: Status = -22;
/// Something was not found.
pub const ZX_ERR_NOT_FOUND: Status = -25;
/// Something already exists.
pub const ZX_ERR_ALREADY_EXISTS: Status = -26;
/// The object cannot do this now or ever.
pub const ZX_ERR_UNAVAILABLE: Status = -28;
/// A right is missing.
pub const ZX_ERR_ACCESS_DENIED: Status = -30;

/// The Zircon status an engine error is reported as.
pub fn from_vm_error(error: VmError) -> Status {
    match error {
        VmError::OutOfRange => ZX_ERR_OUT_OF_RANGE,
        VmError::NoMemory | VmError::NotCommitted => ZX_ERR_NO_MEMORY,
        VmError::InvalidArgs => ZX_ERR_INVALID_ARGS,
        VmError::NotSupported => ZX_ERR_NOT_SUPPORTED,
        VmError::NotResizable => ZX_ERR_UNAVAILABLE,
        VmError::BufferTooSmall => ZX_ERR_BUFFER_TOO_SMALL,
        VmError::AlreadyExists => ZX_ERR_ALREADY_EXISTS,
        VmError::NoResources => ZX_ERR_NO_RESOURCES,
        VmError::BadState => ZX_ERR_BAD_STATE,
        VmError::AccessDenied => ZX_ERR_ACCESS_DENIED,
        VmError::NotFound => ZX_ERR_NOT_FOUND,
        VmError::Unavailable => ZX_ERR_UNAVAILABLE,
        // Only reaches here where nobody could wait for the pager: Zircon's status for pages
        // a pager cannot populate.
        VmError::ShouldWait => ZX_ERR_BAD_STATE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_error_maps_to_a_distinct_documented_code() {
        let all = [
            (VmError::OutOfRange, -14),
            (VmError::NoMemory, -4),
            (VmError::InvalidArgs, -10),
            (VmError::NotSupported, -2),
            (VmError::NotResizable, -28),
            (VmError::BufferTooSmall, -15),
            (VmError::NotCommitted, -4),
            (VmError::AlreadyExists, -26),
            (VmError::NoResources, -3),
            (VmError::BadState, -20),
            (VmError::AccessDenied, -30),
            (VmError::NotFound, -25),
            (VmError::Unavailable, -28),
            (VmError::ShouldWait, -20),
        ];
        for (error, code) in all {
            assert_eq!(from_vm_error(error), code, "{error:?}");
        }
    }
}
