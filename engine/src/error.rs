//! The engine's error enum: what can go wrong inside the memory system, independent of any
//! personality. The kernel layer maps each variant to a personality's status code; the mapping
//! noted on each variant is the Zircon one.

use core::fmt;

/// Why an engine operation was refused. A refused operation has changed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmError {
    /// A size, offset or range is beyond what the VMO or the engine allows, or its arithmetic
    /// overflows (`ZX_ERR_OUT_OF_RANGE`).
    OutOfRange,
    /// A frame or page-list metadata could not be allocated (`ZX_ERR_NO_MEMORY`).
    NoMemory,
    /// A malformed argument: a misaligned offset or length where alignment is required, or an
    /// empty range where one is needed (`ZX_ERR_INVALID_ARGS`).
    InvalidArgs,
    /// The VMO cannot perform this operation at all (`ZX_ERR_NOT_SUPPORTED`).
    NotSupported,
    /// The VMO was not created resizable (`ZX_ERR_UNAVAILABLE`).
    NotResizable,
    /// The caller's output buffer cannot hold the answer (`ZX_ERR_BUFFER_TOO_SMALL`).
    BufferTooSmall,
    /// A lookup met a page that is not committed (`ZX_ERR_NO_MEMORY`, as Zircon reports it).
    NotCommitted,
    /// A specific placement collides with an existing region or mapping
    /// (`ZX_ERR_ALREADY_EXISTS`).
    AlreadyExists,
    /// No free range of the address region is large enough (`ZX_ERR_NO_RESOURCES`).
    NoResources,
    /// The address region was destroyed, or pinned pages stand in the way: a decommit, a
    /// shrink or a snapshot that would free or move them (`ZX_ERR_BAD_STATE`).
    BadState,
    /// A permission beyond what the region or the mapping allows (`ZX_ERR_ACCESS_DENIED`).
    AccessDenied,
    /// Part of the range has no mapping (`ZX_ERR_NOT_FOUND`).
    NotFound,
    /// Not possible right now: a page is already pinned the most times allowed
    /// (`ZX_ERR_UNAVAILABLE`).
    Unavailable,
    /// A page the operation needs belongs to a pager-backed VMO and has not been supplied yet
    /// (see [`Vmo::missing_range`](crate::Vmo::missing_range)). Nothing changed: the caller asks
    /// the pager for the missing range, waits until it is supplied and tries again. Never shown
    /// to users as such; a caller that cannot wait reports it as `ZX_ERR_BAD_STATE`, Zircon's
    /// status for a pager that cannot populate the pages.
    ShouldWait,
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VmError::OutOfRange => "range or size out of range",
            VmError::NoMemory => "out of memory",
            VmError::InvalidArgs => "invalid arguments",
            VmError::NotSupported => "operation not supported on this VMO",
            VmError::NotResizable => "VMO is not resizable",
            VmError::BufferTooSmall => "output buffer too small",
            VmError::NotCommitted => "page in range is not committed",
            VmError::AlreadyExists => "range already in use",
            VmError::NoResources => "no free range large enough",
            VmError::BadState => "address region destroyed or pages pinned",
            VmError::AccessDenied => "permission not allowed here",
            VmError::NotFound => "range not mapped",
            VmError::ShouldWait => "pages not supplied by the pager yet",
            VmError::Unavailable => "page pinned too many times",
        })
    }
}

/// Shorthand for engine results.
pub type VmResult<T> = Result<T, VmError>;
