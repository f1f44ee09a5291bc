//! Calls on any object: `zx_object_get_info`, `zx_object_get_property` / `set_property`,
//! `zx_object_signal` and `zx_object_wait_one`.

use crate::handle_table::HandleValue;
use crate::name::{Name, MAX_NAME_LEN};
use crate::object::Object;
use crate::platform::{KernelPlatform, Time};
use crate::rights::Rights;
use crate::signals::{SignalSet, WaitFailure, USER_SIGNALS};
use crate::status::*;
use crate::user::{UserBuffer, UserBytes};

use super::abi::*;
use super::info::{self, InfoRecord};
use super::{require, Syscalls};

/// ZX_SIGNAL_HANDLE_CLOSED, reported in `observed` when a wait is canceled.
const SIGNAL_HANDLE_CLOSED: SignalSet = 1 << 23;

/// What `zx_object_get_info` reports besides its status: the counts it writes to `actual`
/// and `avail` when those pointers are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoCounts {
    /// Records written.
    pub actual: usize,
    /// Records available.
    pub avail: usize,
}

/// The outcome of `zx_object_wait_one`: its status and the signals to store in `observed`
/// (`None` when the call failed before waiting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitResult {
    /// ZX_OK, ZX_ERR_TIMED_OUT, ZX_ERR_CANCELED or a handle error.
    pub status: Status,
    /// The signals active when the wait ended.
    pub observed: Option<SignalSet>,
}

/// `ZX_ERR_CANCELED`: the handle waited on was closed (Zircon's value).
pub const ZX_ERR_CANCELED: Status = -23;

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// The record a topic returns for a handle, after the topic's handle checks.
    pub fn info_record(&self, handle: HandleValue, topic: u32) -> Result<InfoRecord, Status> {
        let version = match topic {
            ZX_INFO_HANDLE_BASIC => {
                let (object, rights) = self.lookup(handle)?;
                return Ok(info::handle_basic(&object, rights));
            }
            ZX_INFO_VMAR => {
                let (object, rights) = self.lookup(handle)?;
                let Object::Vmar(vmar) = object else {
                    return Err(ZX_ERR_WRONG_TYPE);
                };
                require(rights, Rights::INSPECT)?;
                let region = vmar.region();
                let base = region.base().map_err(from_vm_error)?;
                let len = region.size().map_err(from_vm_error)?;
                return Ok(info::vmar(base, len));
            }
            ZX_INFO_VMO_V1 => info::VMO_V1_SIZE,
            ZX_INFO_VMO_V2 => info::VMO_V2_SIZE,
            ZX_INFO_VMO => info::VMO_V3_SIZE,
            _ => return Err(ZX_ERR_NOT_SUPPORTED),
        };
        let (vmo, rights) = self.vmo(handle, Rights::INSPECT)?;
        Ok(info::vmo(&vmo, rights, version))
    }

    /// `zx_object_get_info` for single-record topics: `ZX_ERR_NOT_SUPPORTED` for an unknown
    /// topic, the handle checks, then the record is copied if `buffer` holds it; `actual` and
    /// `avail` are reported even when it does not (`ZX_ERR_BUFFER_TOO_SMALL`).
    pub fn object_get_info(
        &self,
        handle: HandleValue,
        topic: u32,
        buffer: UserBuffer<'_>,
    ) -> (Status, Option<InfoCounts>) {
        let record = match self.info_record(handle, topic) {
            Ok(record) => record,
            Err(status) => return (status, None),
        };
        let bytes = record.as_bytes();
        if buffer.len() < bytes.len() {
            let counts = InfoCounts {
                actual: 0,
                avail: 1,
            };
            return (ZX_ERR_BUFFER_TOO_SMALL, Some(counts));
        }
        let Some(out) = buffer.bytes() else {
            return (ZX_ERR_INVALID_ARGS, None);
        };
        out[..bytes.len()].copy_from_slice(bytes);
        let counts = InfoCounts {
            actual: 1,
            avail: 1,
        };
        (ZX_OK, Some(counts))
    }

    /// `zx_object_get_property`: needs GET_PROPERTY; ZX_PROP_NAME is the only property; the
    /// buffer must hold ZX_MAX_NAME_LEN bytes.
    pub fn object_get_property(
        &self,
        handle: HandleValue,
        property: u32,
        buffer: UserBuffer<'_>,
    ) -> Result<(), Status> {
        let (object, rights) = self.lookup(handle)?;
        require(rights, Rights::GET_PROPERTY)?;
        if property != ZX_PROP_NAME {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        if buffer.len() < MAX_NAME_LEN {
            return Err(ZX_ERR_BUFFER_TOO_SMALL);
        }
        let out = buffer.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
        out[..MAX_NAME_LEN].copy_from_slice(object.name().as_bytes());
        Ok(())
    }

    /// `zx_object_set_property`: needs SET_PROPERTY; a name longer than 31 bytes is cut.
    pub fn object_set_property(
        &self,
        handle: HandleValue,
        property: u32,
        value: UserBytes<'_>,
    ) -> Result<(), Status> {
        let (object, rights) = self.lookup(handle)?;
        require(rights, Rights::SET_PROPERTY)?;
        if property != ZX_PROP_NAME {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let bytes = value.bytes().ok_or(ZX_ERR_INVALID_ARGS)?;
        if object.set_name(Name::new(bytes)) {
            Ok(())
        } else {
            Err(ZX_ERR_NOT_SUPPORTED)
        }
    }

    /// `zx_object_signal`: needs SIGNAL; only user signals may be set or cleared.
    pub fn object_signal(
        &self,
        handle: HandleValue,
        clear: SignalSet,
        set: SignalSet,
    ) -> Result<(), Status> {
        let (object, rights) = self.lookup(handle)?;
        require(rights, Rights::SIGNAL)?;
        if (clear | set) & !USER_SIGNALS != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        object.signals().change_user(clear, set);
        Ok(())
    }

    /// `zx_object_wait_one`: needs WAIT; blocks until one of `signals` is active (ZX_OK), the
    /// deadline passes (`ZX_ERR_TIMED_OUT`) or the handle is closed by another thread
    /// (`ZX_ERR_CANCELED`), reporting the active signals in each case.
    pub fn object_wait_one(
        &self,
        handle: HandleValue,
        signals: SignalSet,
        deadline: Time,
    ) -> WaitResult {
        let failed = |status| WaitResult {
            status,
            observed: None,
        };
        let (object, rights) = match self.lookup(handle) {
            Ok(found) => found,
            Err(status) => return failed(status),
        };
        if let Err(status) = require(rights, Rights::WAIT) {
            return failed(status);
        }
        let koid = object.koid();
        let derived = || object.derived_signals();
        let still_open = || self.kernel.handles.refers_to(self.process, handle, koid);
        match object
            .signals()
            .wait(signals, deadline, &derived, &still_open)
        {
            Ok(active) => WaitResult {
                status: ZX_OK,
                observed: Some(active),
            },
            Err(WaitFailure::TimedOut(active)) => WaitResult {
                status: ZX_ERR_TIMED_OUT,
                observed: Some(active),
            },
            Err(WaitFailure::Canceled) => WaitResult {
                status: ZX_ERR_CANCELED,
                observed: Some(
                    object.signals().user() | object.derived_signals() | SIGNAL_HANDLE_CLOSED,
                ),
            },
        }
    }
}
