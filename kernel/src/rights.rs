//! Handle rights (`zx_rights_t`) and the default sets each kind of object is created with
//! (spec/zircon.md section 1).

use bitflags::bitflags;

bitflags! {
    /// What a handle lets its holder do with the object it refers to.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u32 {
        /// The handle may be duplicated.
        const DUPLICATE = 1 << 0;
        /// The handle may be transferred to another process.
        const TRANSFER = 1 << 1;
        /// Read the object (a VMO's bytes; mapping readable).
        const READ = 1 << 2;
        /// Write the object (a VMO's bytes; mapping writable).
        const WRITE = 1 << 3;
        /// Map executable.
        const EXECUTE = 1 << 4;
        /// Map at all.
        const MAP = 1 << 5;
        /// Read properties (the name).
        const GET_PROPERTY = 1 << 6;
        /// Change properties.
        const SET_PROPERTY = 1 << 7;
        /// Enumerate children.
        const ENUMERATE = 1 << 8;
        /// Destroy the object.
        const DESTROY = 1 << 9;
        /// Set and clear user signals.
        const SIGNAL = 1 << 12;
        /// Wait on signals.
        const WAIT = 1 << 14;
        /// Query `zx_object_get_info` topics beyond the handle itself.
        const INSPECT = 1 << 15;
        /// Change a resizable VMO's size.
        const RESIZE = 1 << 22;
    }
}

/// `ZX_RIGHT_SAME_RIGHTS`: in `zx_handle_duplicate` / `replace`, keep every right.
pub const SAME_RIGHTS: u32 = 1 << 31;

impl Rights {
    /// A VMO created by `zx_vmo_create` (seed 003's eight plus the generic SIGNAL, WAIT and
    /// INSPECT: `0xD0FF`); resizable ones add RESIZE.
    pub const DEFAULT_VMO: Rights = Rights::DUPLICATE
        .union(Rights::TRANSFER)
        .union(Rights::READ)
        .union(Rights::WRITE)
        .union(Rights::EXECUTE)
        .union(Rights::MAP)
        .union(Rights::GET_PROPERTY)
        .union(Rights::SET_PROPERTY)
        .union(Rights::SIGNAL)
        .union(Rights::WAIT)
        .union(Rights::INSPECT);

    /// A VMO created by `mx_vmo_create`: Magenta's bits 0..7 (RESIZE is added, Magenta VMOs
    /// being resizable).
    pub const MAGENTA_VMO: Rights = Rights::from_bits_truncate(0xFF);

    /// A process handle from `zx_process_create`.
    pub const DEFAULT_PROCESS: Rights = Rights::DUPLICATE
        .union(Rights::TRANSFER)
        .union(Rights::READ)
        .union(Rights::WRITE)
        .union(Rights::GET_PROPERTY)
        .union(Rights::SET_PROPERTY)
        .union(Rights::ENUMERATE)
        .union(Rights::DESTROY)
        .union(Rights::SIGNAL)
        .union(Rights::WAIT)
        .union(Rights::INSPECT);

    /// A VMAR handle (a root VMAR, or one from `zx_vmar_allocate` before its CAN_MAP_* limits).
    pub const DEFAULT_VMAR: Rights = Rights::DUPLICATE
        .union(Rights::TRANSFER)
        .union(Rights::READ)
        .union(Rights::WRITE)
        .union(Rights::EXECUTE)
        .union(Rights::MAP)
        .union(Rights::WAIT)
        .union(Rights::INSPECT);

    /// The job handle of `zx_job_default`.
    pub const DEFAULT_JOB: Rights = Rights::DUPLICATE
        .union(Rights::TRANSFER)
        .union(Rights::READ)
        .union(Rights::WRITE)
        .union(Rights::GET_PROPERTY)
        .union(Rights::SET_PROPERTY)
        .union(Rights::ENUMERATE)
        .union(Rights::SIGNAL)
        .union(Rights::WAIT)
        .union(Rights::INSPECT);

    /// A resource handle (Zircon's `ZX_DEFAULT_RESOURCE_RIGHTS`).
    pub const DEFAULT_RESOURCE: Rights = Rights::TRANSFER
        .union(Rights::DUPLICATE)
        .union(Rights::WRITE)
        .union(Rights::INSPECT);

    /// An IOMMU handle from `zx_iommu_create` (`ZX_DEFAULT_IOMMU_RIGHTS`).
    pub const DEFAULT_IOMMU: Rights = Rights::TRANSFER
        .union(Rights::DUPLICATE)
        .union(Rights::INSPECT);

    /// A BTI handle from `zx_bti_create` (`ZX_DEFAULT_BTI_RIGHTS`).
    pub const DEFAULT_BTI: Rights = Rights::TRANSFER
        .union(Rights::DUPLICATE)
        .union(Rights::INSPECT)
        .union(Rights::READ)
        .union(Rights::WRITE)
        .union(Rights::GET_PROPERTY)
        .union(Rights::SET_PROPERTY)
        .union(Rights::MAP);

    /// A pinned memory token's handle from `zx_bti_pin` (`ZX_DEFAULT_PMT_RIGHTS`): it can be
    /// inspected, not duplicated.
    pub const DEFAULT_PMT: Rights = Rights::INSPECT;

    /// A port handle from `zx_port_create` (`ZX_DEFAULT_PORT_RIGHTS`: no WAIT, a port is read
    /// with `zx_port_wait`, which needs READ).
    pub const DEFAULT_PORT: Rights = Rights::DUPLICATE
        .union(Rights::TRANSFER)
        .union(Rights::READ)
        .union(Rights::WRITE)
        .union(Rights::INSPECT);

    /// A pager handle from `zx_pager_create` (`ZX_DEFAULT_PAGER_RIGHTS`: no DUPLICATE, no
    /// WAIT).
    pub const DEFAULT_PAGER: Rights = Rights::TRANSFER
        .union(Rights::INSPECT)
        .union(Rights::GET_PROPERTY)
        .union(Rights::SET_PROPERTY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_sets_are_the_specified_numbers() {
        assert_eq!(Rights::DEFAULT_VMO.bits(), 0xD0FF);
        assert_eq!(Rights::MAGENTA_VMO.bits(), 0xFF);
        assert_eq!(Rights::RESIZE.bits(), 1 << 22);
        assert_eq!(Rights::DEFAULT_RESOURCE.bits(), 0x800B);
        assert_eq!(Rights::DEFAULT_IOMMU.bits(), 0x8003);
        assert_eq!(Rights::DEFAULT_BTI.bits(), 0x80EF);
        assert_eq!(Rights::DEFAULT_PMT.bits(), 0x8000);
    }
}
