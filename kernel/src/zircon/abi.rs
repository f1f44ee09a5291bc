//! The option, topic and property numbers of the Zircon system calls (spec/zircon.md
//! section 1), as the C headers define them.

/// `zx_vmo_create`: the VMO may be resized.
pub const ZX_VMO_RESIZABLE: u32 = 1 << 1;

/// `zx_vmo_create_child`: a snapshot.
pub const ZX_VMO_CHILD_SNAPSHOT: u32 = 1 << 0;
/// `zx_vmo_create_child`: the child is resizable.
pub const ZX_VMO_CHILD_RESIZABLE: u32 = 1 << 2;
/// `zx_vmo_create_child`: a slice.
pub const ZX_VMO_CHILD_SLICE: u32 = 1 << 3;
/// `zx_vmo_create_child`: at least copy-on-write.
pub const ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE: u32 = 1 << 4;
/// `zx_vmo_create_child`: the child's handle has no WRITE right.
pub const ZX_VMO_CHILD_NO_WRITE: u32 = 1 << 5;

/// `zx_vmo_clone`: copy-on-write (required).
pub const ZX_VMO_CLONE_COPY_ON_WRITE: u32 = 1 << 0;
/// `zx_vmo_clone`: the clone cannot be resized.
pub const ZX_VMO_CLONE_NON_RESIZEABLE: u32 = 1 << 1;

/// `zx_vmo_op_range` operations.
pub const ZX_VMO_OP_COMMIT: u32 = 1;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_DECOMMIT: u32 = 2;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_LOCK: u32 = 3;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_UNLOCK: u32 = 4;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_LOOKUP: u32 = 5;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_CACHE_SYNC: u32 = 6;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_CACHE_INVALIDATE: u32 = 7;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_CACHE_CLEAN: u32 = 8;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_CACHE_CLEAN_INVALIDATE: u32 = 9;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_ZERO: u32 = 10;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_TRY_LOCK: u32 = 11;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_DONT_NEED: u32 = 12;
/// See [`ZX_VMO_OP_COMMIT`].
pub const ZX_VMO_OP_ALWAYS_NEED: u32 = 13;

/// `zx_object_get_property`: the object's name.
pub const ZX_PROP_NAME: u32 = 3;

/// `zx_object_get_info` topics.
pub const ZX_INFO_HANDLE_BASIC: u32 = 2;
/// See [`ZX_INFO_HANDLE_BASIC`]: a VMAR's base and length (needs INSPECT).
pub const ZX_INFO_VMAR: u32 = 7;
/// See [`ZX_INFO_HANDLE_BASIC`].
pub const ZX_INFO_VMO_V1: u32 = 23;
/// See [`ZX_INFO_HANDLE_BASIC`].
pub const ZX_INFO_VMO_V2: u32 = 0x1000_0017;
/// See [`ZX_INFO_HANDLE_BASIC`].
pub const ZX_INFO_VMO: u32 = 0x2000_0017;

/// `zx_info_vmo_t.flags`.
pub const ZX_INFO_VMO_TYPE_PAGED: u32 = 1 << 0;
/// See [`ZX_INFO_VMO_TYPE_PAGED`].
pub const ZX_INFO_VMO_RESIZABLE: u32 = 1 << 1;
/// See [`ZX_INFO_VMO_TYPE_PAGED`].
pub const ZX_INFO_VMO_IS_COW_CLONE: u32 = 1 << 2;
/// See [`ZX_INFO_VMO_TYPE_PAGED`].
pub const ZX_INFO_VMO_VIA_HANDLE: u32 = 1 << 3;
/// See [`ZX_INFO_VMO_TYPE_PAGED`].
pub const ZX_INFO_VMO_IMMUTABLE: u32 = 1 << 8;
/// See [`ZX_INFO_VMO_TYPE_PAGED`]: physically contiguous (contiguous and physical VMOs).
pub const ZX_INFO_VMO_CONTIGUOUS: u32 = 1 << 6;
/// `zx_info_vmo_t.cache_policy` of physical VMOs (Zircon maps them uncached by default).
pub const ZX_CACHE_POLICY_UNCACHED: u32 = 1;
/// See [`ZX_INFO_VMO_TYPE_PAGED`]: the VMO's pages come from a user pager (also set on its
/// clones and slices, which read them through it).
pub const ZX_INFO_VMO_PAGER_BACKED: u32 = 1 << 5;

/// `zx_vmar_map` / `protect`: mapping permissions.
pub const ZX_VM_PERM_READ: u32 = 1 << 0;
/// See [`ZX_VM_PERM_READ`].
pub const ZX_VM_PERM_WRITE: u32 = 1 << 1;
/// See [`ZX_VM_PERM_READ`].
pub const ZX_VM_PERM_EXECUTE: u32 = 1 << 2;
/// `zx_vmar_allocate`: prefer placing children close together (a hint; accepted and ignored).
pub const ZX_VM_COMPACT: u32 = 1 << 3;
/// Place at the given offset.
pub const ZX_VM_SPECIFIC: u32 = 1 << 4;
/// `zx_vmar_map`: place at the given offset, replacing mappings there.
pub const ZX_VM_SPECIFIC_OVERWRITE: u32 = 1 << 5;
/// `zx_vmar_allocate`: specific placements allowed inside.
pub const ZX_VM_CAN_MAP_SPECIFIC: u32 = 1 << 6;
/// `zx_vmar_allocate`: readable mappings allowed inside.
pub const ZX_VM_CAN_MAP_READ: u32 = 1 << 7;
/// `zx_vmar_allocate`: writable mappings allowed inside.
pub const ZX_VM_CAN_MAP_WRITE: u32 = 1 << 8;
/// `zx_vmar_allocate`: executable mappings allowed inside.
pub const ZX_VM_CAN_MAP_EXECUTE: u32 = 1 << 9;
/// `zx_vmar_map`: install translations for the pages already committed.
pub const ZX_VM_MAP_RANGE: u32 = 1 << 10;
/// `zx_vmar_map`: refuse a resizable VMO.
pub const ZX_VM_REQUIRE_NON_RESIZABLE: u32 = 1 << 11;
/// The alignment field: `n << ZX_VM_ALIGN_BASE` asks for a base aligned to `1 << n`
/// (`n` in 10..=32; 0 means a page).
pub const ZX_VM_ALIGN_BASE: u32 = 24;
/// Mask of the alignment field.
pub const ZX_VM_ALIGN_MASK: u32 = 0xff << ZX_VM_ALIGN_BASE;

/// `zx_process_read_memory` / `write_memory`: the most bytes one call may move (Zircon's limit).
pub const MAX_PROCESS_MEMORY_CALL: usize = 64 << 20;
