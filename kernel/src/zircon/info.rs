//! The records of `zx_object_get_info` in their C layout (LP64, little-endian, offsets of
//! spec/zircon.md section 1), built here so the C ABI only copies bytes.

use vm_engine::ChildKind;

use crate::object::Object;
use crate::platform::KernelPlatform;
use crate::rights::Rights;
use crate::vmo_object::{VmoObject, VmoOrigin};

use super::abi::*;

/// Size of `zx_info_handle_basic_t`.
pub const HANDLE_BASIC_SIZE: usize = 32;
/// Size of `zx_info_vmar_t`.
pub const VMAR_SIZE: usize = 16;
/// Size of `zx_info_vmo_t` for each topic version.
pub const VMO_V1_SIZE: usize = 104;
/// See [`VMO_V1_SIZE`].
pub const VMO_V2_SIZE: usize = 120;
/// See [`VMO_V1_SIZE`].
pub const VMO_V3_SIZE: usize = 128;

/// `zx_info_vmar_t`: base u64 @0, len u64 @8.
pub fn vmar(base: u64, len: u64) -> InfoRecord {
    let mut record = InfoRecord::new(VMAR_SIZE);
    record.put_u64(0, base);
    record.put_u64(8, len);
    record
}

/// One info record, ready to copy out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoRecord {
    bytes: [u8; VMO_V3_SIZE],
    len: usize,
}

impl InfoRecord {
    /// The record's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn new(len: usize) -> Self {
        InfoRecord {
            bytes: [0; VMO_V3_SIZE],
            len,
        }
    }

    fn put_u32(&mut self, at: usize, value: u32) {
        self.bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    fn put_u64(&mut self, at: usize, value: u64) {
        self.bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }

    /// A little-endian u64 field (for tests and tools reading records back).
    pub fn u64_at(&self, at: usize) -> u64 {
        let mut field = [0; 8];
        field.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_le_bytes(field)
    }

    /// A little-endian u32 field.
    pub fn u32_at(&self, at: usize) -> u32 {
        let mut field = [0; 4];
        field.copy_from_slice(&self.bytes[at..at + 4]);
        u32::from_le_bytes(field)
    }
}

/// `zx_info_handle_basic_t`: koid @0, rights @8, type @12, related_koid @16, reserved @24.
pub(crate) fn handle_basic<P: KernelPlatform>(object: &Object<P>, rights: Rights) -> InfoRecord {
    let mut record = InfoRecord::new(HANDLE_BASIC_SIZE);
    record.put_u64(0, object.koid());
    record.put_u32(8, rights.bits());
    record.put_u32(12, object.object_type() as u32);
    record.put_u64(16, object.related_koid());
    record
}

/// `zx_info_vmo_t` cut to `len` bytes (the topic's version).
pub(crate) fn vmo<P: KernelPlatform>(vmo: &VmoObject<P>, rights: Rights, len: usize) -> InfoRecord {
    let info = vmo.vmo().info();
    let physical = vmo.vmo().backing() == vm_engine::Backing::Physical;
    // ZX_INFO_VMO_TYPE_PHYSICAL is 0: a physical VMO simply lacks TYPE_PAGED.
    let mut flags = ZX_INFO_VMO_VIA_HANDLE;
    if !physical {
        flags |= ZX_INFO_VMO_TYPE_PAGED;
    }
    if super::bti_calls::is_contiguous(vmo) {
        flags |= ZX_INFO_VMO_CONTIGUOUS;
    }
    if info.resizable {
        flags |= ZX_INFO_VMO_RESIZABLE;
    }
    if matches!(
        vmo.origin(),
        VmoOrigin::LegacyClone
            | VmoOrigin::Child(ChildKind::Snapshot | ChildKind::SnapshotAtLeastOnWrite)
    ) {
        flags |= ZX_INFO_VMO_IS_COW_CLONE;
    }
    if vmo.is_immutable() {
        flags |= ZX_INFO_VMO_IMMUTABLE;
    }
    // Zircon asks the family's root page source: clones and slices of a pager-backed VMO
    // report the flag too.
    if vmo.vmo().backing() == vm_engine::Backing::Pager {
        flags |= ZX_INFO_VMO_PAGER_BACKED;
    }
    let mut record = InfoRecord::new(len);
    record.put_u64(0, vmo.koid());
    record.bytes[8..40].copy_from_slice(vmo.name().as_bytes());
    record.put_u64(40, info.size);
    record.put_u64(48, vmo.parent_koid());
    record.put_u64(56, info.num_children);
    record.put_u64(64, info.num_mappings);
    // Zircon's share_count: address spaces mapping it, but never below 1.
    record.put_u64(72, info.mapped_spaces.max(1));
    record.put_u32(80, flags);
    record.put_u64(88, info.committed_bytes);
    record.put_u32(96, rights.bits());
    // cache_policy: ZX_CACHE_POLICY_CACHED, but physical VMOs start uncached as in Zircon.
    let cache_policy = if physical {
        ZX_CACHE_POLICY_UNCACHED
    } else {
        0
    };
    record.put_u32(100, cache_policy);
    record.put_u64(104, vmo.vmo().page_list_metadata_bytes() as u64);
    record.put_u64(112, 0); // committed_change_events
    record.put_u64(120, info.populated_bytes);
    record.len = len;
    record
}
