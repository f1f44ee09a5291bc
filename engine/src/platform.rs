//! What an embedder chooses when it puts the engine into its kernel: where frames come from and
//! which lock guards a clone family. Engine types are generic over one [`Platform`] so that those
//! choices travel together.

use crate::frame_source::FrameSource;
use crate::memory_frames::InMemoryFrames;

/// The platform choices the engine is built with. Implemented by zero-sized marker types.
pub trait Platform: Send + Sync + 'static {
    /// Where frames come from.
    type Frames: FrameSource;
    /// The lock that guards a family of VMOs. Held only for short, bounded engine work, never
    /// while user memory is touched.
    type RawMutex: lock_api::RawMutex + Send + Sync + 'static;
}

/// The frame type of a platform.
pub type FrameOf<P> = <<P as Platform>::Frames as FrameSource>::Frame;

/// Heap frames and spin locks: the platform for tests, tools and anyone who wants VMOs as plain
/// data structures in a `no_std + alloc` environment.
#[derive(Debug)]
pub enum InMemoryPlatform {}

impl Platform for InMemoryPlatform {
    type Frames = InMemoryFrames;
    type RawMutex = spin::Mutex<()>;
}
