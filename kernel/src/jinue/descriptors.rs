//! A Jinue process's descriptor table: a fixed number of slots, each naming a process with a set
//! of permissions. Slot 0 starts out as the process itself (JINUE_DESC_SELF_PROCESS, every
//! permission), kept as a marker rather than a reference so that a process never owns itself.
//! The descriptor a process was created through is its *owner* descriptor: only it may destroy
//! the process or mint new descriptors for it.

use alloc::sync::Arc;

use crate::platform::KernelPlatform;
use crate::process::Process;

/// Descriptors per process (JINUE_DESC_NUM).
pub const DESCRIPTORS: usize = 12;

/// JINUE_PERM_* bits.
pub mod perm {
    /// Send messages.
    pub const SEND: u32 = 1 << 0;
    /// Receive messages.
    pub const RECEIVE: u32 = 1 << 1;
    /// Map memory into the process (MCLONE's destination).
    pub const MAP: u32 = 1 << 2;
    /// Open descriptors in the process (DUP, MINT).
    pub const OPEN: u32 = 1 << 3;
    /// Create threads in the process.
    pub const CREATE_THREAD: u32 = 1 << 4;
    /// Start threads.
    pub const START: u32 = 1 << 5;
    /// Await threads.
    pub const AWAIT: u32 = 1 << 6;
    /// What a descriptor of a process may carry.
    pub const PROCESS: u32 = CREATE_THREAD | MAP | OPEN;
    /// Every permission (the self descriptor).
    pub const ALL: u32 = SEND | RECEIVE | MAP | OPEN | CREATE_THREAD | START | AWAIT;
}

/// What a descriptor names.
pub enum Target<P: KernelPlatform> {
    /// The process whose table holds the descriptor.
    SelfProcess,
    /// Another process (or the same one, reached through a copy).
    Process(Arc<Process<P>>),
}

impl<P: KernelPlatform> Clone for Target<P> {
    fn clone(&self) -> Self {
        match self {
            Target::SelfProcess => Target::SelfProcess,
            Target::Process(process) => Target::Process(process.clone()),
        }
    }
}

/// One open descriptor.
pub struct Descriptor<P: KernelPlatform> {
    /// What it names.
    pub target: Target<P>,
    /// JINUE_PERM_* bits.
    pub perms: u32,
    /// Whether it is the descriptor the object was created through.
    pub owner: bool,
    /// The value given to MINT.
    pub cookie: usize,
}

impl<P: KernelPlatform> Clone for Descriptor<P> {
    fn clone(&self) -> Self {
        Descriptor {
            target: self.target.clone(),
            perms: self.perms,
            owner: self.owner,
            cookie: self.cookie,
        }
    }
}

/// The slots of one process.
pub struct DescriptorTable<P: KernelPlatform> {
    slots: [Option<Descriptor<P>>; DESCRIPTORS],
}

impl<P: KernelPlatform> DescriptorTable<P> {
    /// A table whose slot 0 is the process itself with every permission.
    pub fn new() -> Self {
        let mut slots: [Option<Descriptor<P>>; DESCRIPTORS] = Default::default();
        slots[0] = Some(Descriptor {
            target: Target::SelfProcess,
            perms: perm::ALL,
            owner: false,
            cookie: 0,
        });
        DescriptorTable { slots }
    }

    /// The descriptor in slot `fd`, if it is in range and open.
    pub fn get(&self, fd: usize) -> Option<&Descriptor<P>> {
        self.slots.get(fd)?.as_ref()
    }

    /// Whether slot `fd` is in range and free.
    pub fn is_free(&self, fd: usize) -> bool {
        matches!(self.slots.get(fd), Some(None))
    }

    /// Puts a descriptor in a free slot `fd` (checked by the caller).
    pub fn put(&mut self, fd: usize, descriptor: Descriptor<P>) {
        if let Some(slot) = self.slots.get_mut(fd) {
            *slot = Some(descriptor);
        }
    }

    /// Empties slot `fd`, returning what it held.
    pub fn take(&mut self, fd: usize) -> Option<Descriptor<P>> {
        self.slots.get_mut(fd)?.take()
    }

    /// Empties every slot (a destroyed process holds nothing).
    pub fn clear(&mut self) -> [Option<Descriptor<P>>; DESCRIPTORS] {
        core::mem::take(&mut self.slots)
    }
}

impl<P: KernelPlatform> Default for DescriptorTable<P> {
    fn default() -> Self {
        Self::new()
    }
}
