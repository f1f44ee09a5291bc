//! The port system calls: `zx_port_create`, `zx_port_wait` and `zx_port_queue` (user packets).
//! Check orders follow Zircon's syscall code: the handle first (BAD_HANDLE, WRONG_TYPE, then the
//! right: ACCESS_DENIED), then the packet's memory (INVALID_ARGS).

use alloc::sync::Arc;

use crate::handle_table::HandleValue;
use crate::object::Object;
use crate::platform::{KernelPlatform, Time};
use crate::port::{Port, PortPacket, PACKET_SIZE, ZX_PORT_BIND_TO_INTERRUPT};
use crate::rights::Rights;
use crate::status::{Status, ZX_ERR_INVALID_ARGS, ZX_ERR_WRONG_TYPE};
use crate::user::{UserBuffer, UserBytes};

use super::{require, Syscalls};

impl<P: KernelPlatform> Syscalls<'_, P> {
    /// A port handle with at least `needed` rights.
    pub(crate) fn port(&self, handle: HandleValue, needed: Rights) -> Result<Arc<Port<P>>, Status> {
        let (object, rights) = self.lookup(handle)?;
        let Object::Port(port) = object else {
            return Err(ZX_ERR_WRONG_TYPE);
        };
        require(rights, needed)?;
        Ok(port)
    }

    /// `zx_port_create`: options 0 or ZX_PORT_BIND_TO_INTERRUPT (`ZX_ERR_INVALID_ARGS`
    /// otherwise). The handle has Zircon's default port rights.
    pub fn port_create(&self, options: u32) -> Result<HandleValue, Status> {
        if options & !ZX_PORT_BIND_TO_INTERRUPT != 0 {
            return Err(ZX_ERR_INVALID_ARGS);
        }
        let port = Port::new(self.kernel.allocate_koid());
        self.add_handle(Object::Port(Arc::new(port)), Rights::DEFAULT_PORT)
    }

    /// `zx_port_wait`: needs READ; then `packet` must be room for a `zx_port_packet_t`
    /// (`ZX_ERR_INVALID_ARGS`, checked before waiting so that no packet is dequeued and lost);
    /// then waits for the oldest packet until `deadline` (`ZX_ERR_TIMED_OUT`) and writes it.
    pub fn port_wait(
        &self,
        handle: HandleValue,
        deadline: Time,
        packet: UserBuffer<'_>,
    ) -> Result<(), Status> {
        let port = self.port(handle, Rights::READ)?;
        let out = packet
            .bytes()
            .filter(|out| out.len() >= PACKET_SIZE)
            .ok_or(ZX_ERR_INVALID_ARGS)?;
        let received = port.queue().wait(deadline)?;
        out[..PACKET_SIZE].copy_from_slice(&received.to_bytes());
        Ok(())
    }

    /// `zx_port_queue`: needs WRITE; then `packet` must be a readable `zx_port_packet_t`
    /// (`ZX_ERR_INVALID_ARGS`). Its type becomes ZX_PKT_TYPE_USER; key, status and payload are
    /// the caller's. `ZX_ERR_SHOULD_WAIT` while the port holds
    /// [`MAX_USER_PACKETS`](crate::port::MAX_USER_PACKETS) user packets.
    pub fn port_queue(&self, handle: HandleValue, packet: UserBytes<'_>) -> Result<(), Status> {
        let port = self.port(handle, Rights::WRITE)?;
        let bytes = packet
            .bytes()
            .and_then(|bytes| <&[u8; PACKET_SIZE]>::try_from(bytes).ok())
            .ok_or(ZX_ERR_INVALID_ARGS)?;
        port.queue().queue_user(PortPacket::from_bytes(bytes))
    }
}
