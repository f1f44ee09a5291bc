//! The Jinue personality (spec/jinue.md, seed 004): descriptors naming processes, and the calls
//! CREATE_PROCESS, DUP, CLOSE, DESTROY, MINT and MCLONE as one process issues them, in the
//! spec's check order. The processes and address spaces are the same objects the Zircon calls
//! use, so MCLONE can share what `zx_vmar_map` mapped.
//!
//! Arguments arrive as the raw register values (`usize`); a descriptor number that is negative
//! or does not fit an `int` is EBADF, as is one at or beyond the table size. Structures in user
//! memory (MCLONE's and MINT's arguments) are read by the caller of these functions (the C ABI),
//! which passes `None` when the pointer does not name user memory (EINVAL at the spec's place).

pub mod descriptors;

use alloc::sync::Arc;

use vm_engine::{MapRequest, Perms, VmError};

use crate::platform::KernelPlatform;
use crate::process::Process;
use crate::{Kernel, Name};
use descriptors::{perm, Descriptor, Target, DESCRIPTORS};

const PAGE: u64 = vm_engine::PAGE_SIZE as u64;

/// A Jinue error number (JINUE_E*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Errno {
    /// Out of memory.
    NoMemory = 1,
    /// No such function.
    NoSys = 2,
    /// A malformed argument.
    Invalid = 3,
    /// A resource is temporarily unavailable.
    Again = 4,
    /// A descriptor is bad, closed or of the wrong kind.
    BadDescriptor = 5,
    /// The object a descriptor names was destroyed.
    Io = 6,
    /// A permission is missing.
    Permission = 7,
}

/// Function numbers (`arg0` on entry).
pub mod function {
    /// Not implemented by this project (ENOSYS), as any other unknown number.
    pub const MMAP: usize = 13;
    /// CREATE_PROCESS.
    pub const CREATE_PROCESS: usize = 14;
    /// MCLONE.
    pub const MCLONE: usize = 15;
    /// DUP.
    pub const DUP: usize = 16;
    /// CLOSE.
    pub const CLOSE: usize = 17;
    /// DESTROY.
    pub const DESTROY: usize = 18;
    /// MINT.
    pub const MINT: usize = 19;
}

/// `jinue_mclone_args_t`, read from the caller's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MCloneArgs {
    /// Start of the source range.
    pub src_addr: u64,
    /// Start of the destination range.
    pub dest_addr: u64,
    /// Bytes.
    pub length: u64,
    /// JINUE_PROT_* bits.
    pub prot: i32,
}

/// `jinue_mint_args_t`, read from the caller's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MintArgs {
    /// Descriptor (in the caller) of the process that receives the new descriptor.
    pub process: i32,
    /// Slot in that process.
    pub fd: i32,
    /// JINUE_PERM_* bits of the new descriptor.
    pub perms: i32,
    /// A value kept with the descriptor.
    pub cookie: usize,
}

/// The result of a call: its return value, or an error number.
pub type JinueResult = Result<usize, Errno>;

/// A descriptor number from a register: negative (as an `int`) or wider than an `int` is EBADF.
fn descriptor_number(value: usize) -> Result<usize, Errno> {
    match i32::try_from(value as isize) {
        Ok(number) if number >= 0 => Ok(number as usize),
        _ => Err(Errno::BadDescriptor),
    }
}

/// As [`descriptor_number`], for a field of a structure.
fn descriptor_field(value: i32) -> Result<usize, Errno> {
    usize::try_from(value).map_err(|_| Errno::BadDescriptor)
}

/// The Jinue calls as one process issues them.
pub struct JinueCalls<'a, P: KernelPlatform> {
    kernel: &'a Kernel<P>,
    process: &'a Arc<Process<P>>,
}

impl<'a, P: KernelPlatform> JinueCalls<'a, P> {
    /// The calls as `process` issues them.
    pub fn new(kernel: &'a Kernel<P>, process: &'a Arc<Process<P>>) -> Self {
        JinueCalls { kernel, process }
    }

    /// The caller's descriptor `fd`: EBADF if out of range or closed.
    fn descriptor(&self, fd: usize) -> Result<Descriptor<P>, Errno> {
        if fd >= DESCRIPTORS {
            return Err(Errno::BadDescriptor);
        }
        self.process
            .descriptors()
            .lock()
            .get(fd)
            .cloned()
            .ok_or(Errno::BadDescriptor)
    }

    /// The process a descriptor names: EIO once destroyed.
    fn target(&self, descriptor: &Descriptor<P>) -> Result<Arc<Process<P>>, Errno> {
        let process = match &descriptor.target {
            Target::SelfProcess => self.process.clone(),
            Target::Process(process) => process.clone(),
        };
        if process.is_destroyed() {
            return Err(Errno::Io);
        }
        Ok(process)
    }

    /// The caller's descriptor `fd` and the process it names.
    fn process_at(&self, fd: usize) -> Result<(Descriptor<P>, Arc<Process<P>>), Errno> {
        let descriptor = self.descriptor(fd)?;
        let process = self.target(&descriptor)?;
        Ok((descriptor, process))
    }

    /// A descriptor of the caller's, rewritten for `holder`'s table: the caller's "self" names
    /// the caller there, and a reference to `holder` itself becomes its "self" (no process
    /// holds a reference to itself).
    fn for_table_of(&self, holder: &Arc<Process<P>>, target: Arc<Process<P>>) -> Target<P> {
        if Arc::ptr_eq(holder, &target) {
            Target::SelfProcess
        } else {
            Target::Process(target)
        }
    }

    /// CREATE_PROCESS(fd): a new, empty process bound to the caller's free slot `fd`, which
    /// becomes its owner descriptor (CREATE_THREAD | MAP | OPEN). EBADF if `fd` is out of range
    /// or in use; EAGAIN if the process cannot be created.
    pub fn create_process(&self, fd: usize) -> JinueResult {
        let fd = descriptor_number(fd)?;
        if !self.process.descriptors().lock().is_free(fd) {
            return Err(Errno::BadDescriptor);
        }
        let created = self
            .kernel
            .create_process(Name::new(b"jinue"))
            .map_err(|_| Errno::Again)?;
        let mut table = self.process.descriptors().lock();
        // Another thread may have taken the slot meanwhile.
        if !table.is_free(fd) {
            return Err(Errno::BadDescriptor);
        }
        table.put(
            fd,
            Descriptor {
                target: Target::Process(created),
                perms: perm::PROCESS,
                owner: true,
                cookie: 0,
            },
        );
        Ok(0)
    }

    /// DUP(process, src, dest): copies the caller's descriptor `src` into slot `dest` of the
    /// process named by `process`. Order: `process` (EBADF, EIO), its OPEN permission (EPERM),
    /// `src` (EBADF if closed, out of range or an owner descriptor; EIO if what it names was
    /// destroyed), `dest` (EBADF if out of range or in use).
    pub fn dup(&self, process: usize, src: usize, dest: usize) -> JinueResult {
        let (process, src, dest) = (
            descriptor_number(process)?,
            descriptor_number(src)?,
            descriptor_number(dest)?,
        );
        let (descriptor, holder) = self.process_at(process)?;
        if descriptor.perms & perm::OPEN == 0 {
            return Err(Errno::Permission);
        }
        let source = self.descriptor(src)?;
        if source.owner {
            return Err(Errno::BadDescriptor);
        }
        let named = self.target(&source)?;
        let copy = Descriptor {
            target: self.for_table_of(&holder, named),
            perms: source.perms,
            owner: false,
            cookie: source.cookie,
        };
        let mut table = holder.descriptors().lock();
        if !table.is_free(dest) {
            return Err(Errno::BadDescriptor);
        }
        table.put(dest, copy);
        Ok(0)
    }

    /// CLOSE(fd): frees the caller's slot; EBADF if it is not open.
    pub fn close(&self, fd: usize) -> JinueResult {
        let fd = descriptor_number(fd)?;
        let closed = self.process.descriptors().lock().take(fd);
        match closed {
            Some(descriptor) => {
                // Dropped outside the lock: it may hold the last reference to a process.
                drop(descriptor);
                Ok(0)
            }
            None => Err(Errno::BadDescriptor),
        }
    }

    /// DESTROY(fd): destroys the process the owner descriptor `fd` names; its mappings and
    /// descriptors go at once, and every descriptor naming it (this one included) answers EIO
    /// afterwards. EBADF if not open, EIO if already destroyed, EPERM for a descriptor that is
    /// not the owner.
    pub fn destroy(&self, fd: usize) -> JinueResult {
        let fd = descriptor_number(fd)?;
        let (descriptor, process) = self.process_at(fd)?;
        if !descriptor.owner {
            return Err(Errno::Permission);
        }
        process.destroy();
        Ok(0)
    }

    /// MINT(owner, args): gives the process named by `args.process` a descriptor, in its slot
    /// `args.fd`, for the object of the caller's owner descriptor `owner`, with `args.perms` and
    /// `args.cookie`. Order: `owner` as a number (EBADF), the arguments' memory (EINVAL), `owner`
    /// (EBADF if closed or not an owner descriptor, EIO if destroyed), `args.process` (EBADF,
    /// EIO), its OPEN permission (EPERM), `args.perms` beyond what a process descriptor may carry
    /// (EINVAL), `args.fd` (EBADF if out of range or in use).
    pub fn mint(&self, owner: usize, args: Option<MintArgs>) -> JinueResult {
        let owner = descriptor_number(owner)?;
        let args = args.ok_or(Errno::Invalid)?;
        let owner_descriptor = self.descriptor(owner)?;
        if !owner_descriptor.owner {
            return Err(Errno::BadDescriptor);
        }
        let object = self.target(&owner_descriptor)?;
        let (process_descriptor, holder) = self.process_at(descriptor_field(args.process)?)?;
        if process_descriptor.perms & perm::OPEN == 0 {
            return Err(Errno::Permission);
        }
        let perms = u32::try_from(args.perms).map_err(|_| Errno::Invalid)?;
        if perms & !perm::PROCESS != 0 {
            return Err(Errno::Invalid);
        }
        let fd = descriptor_field(args.fd)?;
        let minted = Descriptor {
            target: self.for_table_of(&holder, object),
            perms,
            owner: false,
            cookie: args.cookie,
        };
        let mut table = holder.descriptors().lock();
        if !table.is_free(fd) {
            return Err(Errno::BadDescriptor);
        }
        table.put(fd, minted);
        Ok(0)
    }

    /// MCLONE(src, dest, args): makes `[dest_addr, dest_addr + length)` of the destination map
    /// the same memory as `[src_addr, src_addr + length)` of the source, page for page, with
    /// `prot`; where the source has no mapping the destination is left unmapped. Checks in the
    /// spec's order: descriptor numbers (EBADF), the arguments' memory (EINVAL), alignment
    /// (EINVAL), `prot` bits (EINVAL), ranges that wrap or leave the user range (EINVAL), the
    /// source (EBADF, EIO), the destination (EBADF, EIO, EPERM without MAP), then a `prot` above
    /// what a source mapping's VMO handle allowed (EPERM), and memory (ENOMEM, after which the
    /// destination may be partly cloned).
    pub fn mclone(&self, src: usize, dest: usize, args: Option<MCloneArgs>) -> JinueResult {
        let (src, dest) = (descriptor_number(src)?, descriptor_number(dest)?);
        let args = args.ok_or(Errno::Invalid)?;
        let aligned = |value: u64| value % PAGE == 0;
        if !aligned(args.src_addr) || !aligned(args.dest_addr) || !aligned(args.length) {
            return Err(Errno::Invalid);
        }
        let prot = u32::try_from(args.prot).map_err(|_| Errno::Invalid)?;
        let perms = Perms::from_bits(prot).ok_or(Errno::Invalid)?;
        let (base, size) = self.kernel.user_range();
        let inside = |start: u64| {
            start
                .checked_add(args.length)
                .is_some_and(|end| start >= base && end <= base + size)
        };
        if args.length > 0 && (!inside(args.src_addr) || !inside(args.dest_addr)) {
            return Err(Errno::Invalid);
        }
        let (_, source) = self.process_at(src)?;
        let (dest_descriptor, destination) = self.process_at(dest)?;
        if dest_descriptor.perms & perm::MAP == 0 {
            return Err(Errno::Permission);
        }
        if args.length == 0 {
            return Ok(0);
        }
        let src_end = args.src_addr + args.length;
        let pieces = source.address_space().mapped_pieces(args.src_addr, src_end);
        if pieces.iter().any(|piece| !piece.max_perms.contains(perms)) {
            return Err(Errno::Permission);
        }
        let root = destination.address_space().root();
        root.unmap(args.dest_addr, args.length)
            .map_err(|error| match error {
                VmError::NoMemory => Errno::NoMemory,
                _ => Errno::Invalid,
            })?;
        for piece in pieces {
            let at = args.dest_addr + (piece.base - args.src_addr);
            let request = MapRequest {
                offset: Some(at - base),
                overwrite: true,
                vmo: piece.vmo,
                vmo_offset: piece.vmo_offset,
                len: piece.len,
                perms,
                max_perms: piece.max_perms,
                align: PAGE,
                populate: false,
                keep_alive: piece.keep_alive,
            };
            root.map(request).map_err(|error| match error {
                VmError::NoMemory => Errno::NoMemory,
                _ => Errno::Invalid,
            })?;
        }
        Ok(0)
    }

    /// Runs the call `function` with the raw register values, for the raw entry point: MCLONE's
    /// and MINT's structures come already read (`None`: not user memory).
    pub fn call(
        &self,
        function: usize,
        arg1: usize,
        arg2: usize,
        mclone: Option<MCloneArgs>,
        mint: Option<MintArgs>,
        arg3: usize,
    ) -> JinueResult {
        match function {
            function::CREATE_PROCESS => self.create_process(arg1),
            function::MCLONE => self.mclone(arg1, arg2, mclone),
            function::DUP => self.dup(arg1, arg2, arg3),
            function::CLOSE => self.close(arg1),
            function::DESTROY => self.destroy(arg1),
            function::MINT => self.mint(arg1, mint),
            _ => Err(Errno::NoSys),
        }
    }
}
