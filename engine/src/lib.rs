//! The memory system of a capability microkernel as a `no_std` library: virtual memory objects
//! (VMOs) holding sparse pages, grouped in families under one lock each, with frames supplied by
//! the embedder through [`FrameSource`].
//!
//! The engine knows nothing of handles, rights or system-call numbers: it offers typed
//! operations that return [`VmError`], and the kernel layer above turns those into each
//! personality's status codes.
//!
//! ```
//! use std::sync::Arc;
//! use vm_engine::{FrameSource, InMemoryFrames, InMemoryPlatform, Vmo, VmoOptions};
//!
//! let frames = Arc::new(InMemoryFrames::new());
//! let vmo = Vmo::<InMemoryPlatform>::create(frames.clone(), 3 * 4096, VmoOptions::default())?;
//! vmo.write(4096 + 10, b"hello")?;
//! let mut back = [0u8; 5];
//! vmo.read(4096 + 10, &mut back)?;
//! assert_eq!(&back, b"hello");
//! assert_eq!(vmo.info().committed_bytes, 4096);
//! assert_eq!(frames.frames_in_use(), 1);
//! # Ok::<(), vm_engine::VmError>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod accounting;
mod address_space;
mod arena_frames;
mod attribution;
mod clone_tree;
mod content_tree;
mod error;
mod family;
mod family_view;
mod frame_source;
mod geometry;
mod invariants;
mod mapping_registry;
mod memory_frames;
pub mod page_list;
mod pager_pages;
mod physical;
mod pins;
mod platform;
mod vmo;

pub use address_space::{
    Access, AccessError, AddressSpace, KeepAlive, MapRequest, MappedPiece, MappingInfo, Mmu,
    MmuFull, PageTarget, Perms, RegionRequest, SoftwareMmu, Vmar, MAX_MAPPINGS,
};
pub use arena_frames::{ArenaFrame, ArenaFrames, ArenaPlatform, DEFAULT_ARENA_BASE};
pub use error::{VmError, VmResult};
pub use family::Backing;
pub use family_view::{FamilyView, NodeRole, NodeView};
pub use frame_source::{FrameSource, OutOfFrames, PhysicalError};
pub use geometry::{round_up_to_page, MAX_VMO_SIZE, PAGE_SIZE};
pub use memory_frames::{InMemoryFrames, MemoryFrame};
pub use pins::MAX_PIN_COUNT;
pub use platform::{FrameOf, InMemoryPlatform, Platform};
pub use vmo::{ChildKind, Vmo, VmoInfo, VmoOptions};
