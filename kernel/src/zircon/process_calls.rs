//! `zx_process_create` and the calls that reach another process's memory through its address
//! space (`zx_process_read_memory`, `zx_process_write_memory`).

use alloc::sync::Arc;

use vm_engine::{Access, AccessError, AddressSpace, Perms};

use crate::handle_table::HandleValue;
use crate::name::Name;
use crate::object::{Object, ObjectType};
use crate::platform::KernelPlatform;
use crate::process::Process;
use crate::rights::Rights;
use crate::status::*;
use crate::user::{UserBuffer, UserBytes};

use super::abi::MAX_PROCESS_MEMORY_CALL;

use super::{require, Syscalls};

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// `zx_process_create`, in Zircon's order: options must be 0 (`INVALID_ARGS`); the name is
    /// read (`INVALID_ARGS` for a bad pointer; longer names are cut to 31 bytes); then the job
    /// handle (`BAD_HANDLE`, `WRONG_TYPE`, WRITE: `ACCESS_DENIED`, standing in for Zircon's
    /// MANAGE_PROCESS). Returns the process handle and its root VMAR handle.
    pub fn process_create(
        &self,
        job: HandleValue,
        name: UserBytes<'_>,
        options: u32,
    ) -> Result<(HandleValue, HandleValue), Status> {
        if options != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let name = Name::new(name.bytes().ok_or(ZX_ERR_INVALID_ARGS)?);
        let (object, rights) = self.lookup(job)?;
        if object.object_type() != ObjectType::Job {
            return Err(ZX_ERR_WRONG_TYPE);
        }
        require(rights, Rights::WRITE)?;
        let process = self.kernel.create_process(name)?;
        let vmar = Object::Vmar(process.root_vmar().clone());
        let process_handle = self.add_handle(Object::Process(process), Rights::DEFAULT_PROCESS)?;
        match self.add_handle(vmar, Rights::DEFAULT_VMAR) {
            Ok(vmar_handle) => Ok((process_handle, vmar_handle)),
            Err(status) => {
                let _ = self.handle_close(process_handle);
                Err(status)
            }
        }
    }

    /// `zx_process_read_memory`: the process handle (`BAD_HANDLE`, `WRONG_TYPE`, READ and WRITE:
    /// `ACCESS_DENIED`); a length of 0 or above 64 MiB (`INVALID_ARGS`); then as a thread of
    /// that process would fault: no mapping at `vaddr` (`NO_MEMORY`), a mapping without read
    /// permission (`ACCESS_DENIED`), a page past the end of the mapped VMO (`OUT_OF_RANGE`), no
    /// frame (`NO_MEMORY`); a bad buffer (`INVALID_ARGS`). The copy stops at the end of the
    /// mapping that holds `vaddr` and at the first page that fails after the first; returns the
    /// bytes copied.
    pub fn process_read_memory(
        &self,
        process: HandleValue,
        vaddr: u64,
        buffer: UserBuffer<'_>,
    ) -> Result<usize, Status> {
        let space = self.process_for_memory(process, Rights::READ | Rights::WRITE)?;
        let len = self.memory_call_len(space.address_space(), vaddr, buffer.len(), Access::Read)?;
        let bytes = buffer.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
        let space = space.address_space();
        // Pages a pager has not supplied yet are waited for, as the process's thread would.
        finish(crate::pager::copy_waiting(space, vaddr, |at, done| {
            space.read(at, &mut bytes[done..len])
        }))
    }

    /// `zx_process_write_memory`: as [`Syscalls::process_read_memory`], with the WRITE right on
    /// the handle and write permission on the mapping (`ACCESS_DENIED` otherwise); a write
    /// copies on write exactly as `zx_vmo_write` would.
    pub fn process_write_memory(
        &self,
        process: HandleValue,
        vaddr: u64,
        buffer: UserBytes<'_>,
    ) -> Result<usize, Status> {
        let space = self.process_for_memory(process, Rights::WRITE)?;
        let len =
            self.memory_call_len(space.address_space(), vaddr, buffer.len(), Access::Write)?;
        let bytes = buffer.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
        let space = space.address_space();
        finish(crate::pager::copy_waiting(space, vaddr, |at, done| {
            space.write(at, &bytes[done..len])
        }))
    }

    fn process_for_memory(
        &self,
        process: HandleValue,
        needed: Rights,
    ) -> Result<Arc<Process<P>>, Status> {
        let (object, rights) = self.lookup(process)?;
        let Object::Process(process) = object else {
            return Err(ZX_ERR_WRONG_TYPE);
        };
        require(rights, needed)?;
        Ok(process)
    }

    /// The length one call moves: `len` checked, then cut at the end of the mapping at `vaddr`,
    /// whose permissions must allow the access.
    fn memory_call_len(
        &self,
        space: &AddressSpace<P>,
        vaddr: u64,
        len: usize,
        access: Access,
    ) -> Result<usize, Status> {
        if len == 0 || len > MAX_PROCESS_MEMORY_CALL {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let mapping = space.mapping_at(vaddr).ok_or(ZX_ERR_NO_MEMORY)?;
        let needed = match access {
            Access::Write => Perms::WRITE,
            _ => Perms::READ,
        };
        if !mapping.perms.contains(needed) {
            return Err(ZX_ERR_ACCESS_DENIED);
        }
        let mapped = mapping.base + mapping.len - vaddr;
        Ok(usize::try_from(mapped).map_or(len, |mapped| len.min(mapped)))
    }
}

/// The status of an access through an address space that copied nothing.
fn access_status(error: AccessError) -> Status {
    match error {
        AccessError::Unmapped | AccessError::NoMemory => ZX_ERR_NO_MEMORY,
        AccessError::Denied => ZX_ERR_ACCESS_DENIED,
        AccessError::BeyondEnd => ZX_ERR_OUT_OF_RANGE,
        // Left only when the page's pager will not supply it (detached, or closed).
        AccessError::ShouldWait { .. } => ZX_ERR_BAD_STATE,
    }
}

/// Bytes copied if any were; otherwise why none could be.
fn finish((done, stopped): (usize, Option<AccessError>)) -> Result<usize, Status> {
    match stopped {
        Some(error) if done == 0 => Err(access_status(error)),
        _ => Ok(done),
    }
}
