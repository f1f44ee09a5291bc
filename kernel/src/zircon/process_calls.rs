//! `zx_process_create` and the address-space calls. Until address spaces exist, the VMAR and
//! process-memory calls check their handle (`BAD_HANDLE`, `WRONG_TYPE`) and then answer
//! `ZX_ERR_NOT_SUPPORTED`.

use crate::handle_table::HandleValue;
use crate::name::Name;
use crate::object::{Object, ObjectType};
use crate::platform::KernelPlatform;
use crate::rights::Rights;
use crate::status::*;
use crate::user::UserBytes;

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
        let process = self.kernel.create_process(name);
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

    /// The handle checks of a call on `handle` that must be of type `expected`.
    pub fn expect_type(&self, handle: HandleValue, expected: ObjectType) -> Result<(), Status> {
        let (object, _) = self.lookup(handle)?;
        if object.object_type() == expected {
            Ok(())
        } else {
            Err(ZX_ERR_WRONG_TYPE)
        }
    }

    /// `zx_vmar_map`, `unmap`, `protect`, `allocate`, `destroy` before address spaces exist.
    pub fn vmar_call(&self, vmar: HandleValue) -> Result<(), Status> {
        self.expect_type(vmar, ObjectType::Vmar)?;
        Err(ZX_ERR_NOT_SUPPORTED)
    }

    /// `zx_process_read_memory` / `write_memory` before address spaces exist.
    pub fn process_memory_call(&self, process: HandleValue) -> Result<(), Status> {
        self.expect_type(process, ObjectType::Process)?;
        Err(ZX_ERR_NOT_SUPPORTED)
    }
}
