//! Kernel object ids: unique for the life of a kernel, never reused, the first one 1024 (lower
//! values are reserved, as in Zircon).

use core::sync::atomic::{AtomicU64, Ordering};

/// A kernel object id (`zx_koid_t`). 0 means "none".
pub type Koid = u64;

/// Hands out koids in increasing order.
#[derive(Debug)]
pub struct KoidAllocator {
    next: AtomicU64,
}

impl KoidAllocator {
    /// The first koid handed out.
    pub const FIRST: Koid = 1024;

    /// An allocator whose first koid is [`KoidAllocator::FIRST`].
    pub const fn new() -> Self {
        KoidAllocator {
            next: AtomicU64::new(Self::FIRST),
        }
    }

    /// A koid no object had before. 2^64 - 1024 allocations cannot happen in the life of a
    /// machine, so wrapping is not a concern.
    pub fn allocate(&self) -> Koid {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

impl Default for KoidAllocator {
    fn default() -> Self {
        Self::new()
    }
}
